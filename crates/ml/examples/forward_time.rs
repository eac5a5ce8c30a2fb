//! Times forward passes of the original's U-Net on the CPU: the legacy kit's narrow thigh model
//! (widths ÷ 8, real imported weights) and the full-width thigh (and leg) networks with random
//! weights, reporting GFLOP/s from the counted convolution FLOPs. `bench/ml/run.sh` runs it
//! next to the original's Keras network (`bench_segnet.py`) and compares the JSON.
//!
//! `cargo run -p dafne-ml --example forward_time -- [REPEATS] [--batches 1,2,8] [--leg]
//! [--no-narrow] [--candle-ops] [--json]` (dev profile: dafne-ml, candle and gemm are optimised by the
//! workspace's profile overrides). `--json` ends with one line:
//! `{"bench":"segnet_rust","timings":{"rust_thigh_b1":{"median_ms":…,"ms_per_crop":…},…}}`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use dafne_ml::keras::import_coscia_unet;
use dafne_ml::{CosciaUnet, UnetConfig};

#[path = "common/process.rs"]
mod process;
use process::{cpu_seconds, load_average, peak_rss_mib};

/// One timing entry, in the peer benchmark's keys (`median_ms`, `min_ms`, `max_ms`, `n`,
/// `ms_per_crop`, `GFLOPs_achieved`) plus CPU seconds and the load average around it.
fn time(label: &str, net: &CosciaUnet, cfg: &UnetConfig, batch: usize, repeats: usize) -> String {
    let [rows, cols] = cfg.input_size;
    let x = Tensor::randn(0f32, 1.0, (batch, rows, cols, 1), &Device::Cpu).unwrap();
    let load_before = load_average();
    net.forward(&x).unwrap(); // warm-up
    let mut times = Vec::new();
    let cpu0 = cpu_seconds();
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        net.forward(&x).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = (cpu_seconds() - cpu0) / times.len() as f64;
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median = if times.len() % 2 == 0 {
        (times[mid - 1] + times[mid]) / 2.0
    } else {
        times[mid]
    };
    let (min, max) = (times[0], times[times.len() - 1]);
    let gflop = batch as f64 * cfg.flops() / 1e9;
    let per_crop = median / batch as f64;
    let load_after = load_average();
    println!(
        "{label}: batch {batch} of {rows}x{cols} crops, {} params, {gflop:.3} GFLOP; forward median {median:.0} ms \
         (min {min:.0}, max {max:.0}, n {}), {per_crop:.0} ms per crop, {:.1} GFLOP/s; {cpu:.3} CPU s per forward; \
         load average {load_before:?} → {load_after:?}; peak RSS so far {:.0} MiB",
        cfg.param_count(),
        times.len(),
        gflop / (median / 1e3),
        peak_rss_mib()
    );
    format!(
        "{{\"median_ms\":{median:.1},\"min_ms\":{min:.1},\"max_ms\":{max:.1},\"n\":{},\"warmup\":1,\
         \"batch\":{batch},\"ms_per_crop\":{per_crop:.1},\"GFLOPs_achieved\":{:.1},\"cpu_s_per_forward\":{cpu:.3},\
         \"loadavg_before\":{load_before:?},\"loadavg_after\":{load_after:?}}}",
        times.len(),
        gflop / (median / 1e3)
    )
}

/// `candle_ops`: through candle's tensor ops (the path before the hand-laid CPU pass, kept for
/// GPUs), for a before/after in one process.
fn random_net(cfg: &UnetConfig, candle_ops: bool) -> CosciaUnet {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    if candle_ops {
        CosciaUnet::new_with_candle_ops(cfg, vb).unwrap()
    } else {
        CosciaUnet::new(cfg, vb).unwrap()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let repeats: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5);
    let batches: Vec<usize> = value("--batches")
        .map(|v| v.split(',').filter_map(|b| b.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2]);
    let threads = rayon::current_num_threads();
    println!(
        "threads: {threads} (rayon), {} available",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let mut entries = Vec::new();
    if !flag("--no-narrow") {
        let (cfg, tensors) = import_coscia_unet(
            &common::layers("thigh_narrow8"),
            common::keras_weights("thigh_narrow8"),
            &Device::Cpu,
        )
        .unwrap();
        let net = CosciaUnet::new(
            &cfg,
            VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu),
        )
        .unwrap();
        let e = time("thigh_narrow8 (kit weights)", &net, &cfg, 1, repeats);
        entries.push(("rust_thigh_narrow8_b1".to_string(), e));
    }
    let mut models = vec![("thigh", UnetConfig::thigh())];
    if flag("--leg") {
        models.push(("leg", UnetConfig::leg()));
    }
    let candle_ops = flag("--candle-ops");
    for (name, cfg) in models {
        let net = random_net(&cfg, candle_ops);
        println!(
            "full-width {name} network built: peak RSS so far {:.0} MiB",
            peak_rss_mib()
        );
        for &batch in &batches {
            // One slice = the left and the mirrored right crop: the original predicts them one
            // by one; batch 2 runs them together.
            let e = time(
                &format!("{name} full width (random weights)"),
                &net,
                &cfg,
                batch,
                repeats,
            );
            let path = if candle_ops { "_candle_ops" } else { "" };
            entries.push((format!("rust_{name}{path}_b{batch}"), e));
        }
    }
    if flag("--json") {
        let timings: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        println!(
            "{{\"bench\":\"segnet_rust\",\"threads\":{threads},\"peak_rss_mib\":{:.0},\"thigh_conv_GFLOP\":{:.3},\"timings\":{{{}}}}}",
            peak_rss_mib(),
            UnetConfig::thigh().flops() / 1e9,
            timings.join(",")
        );
    }
}
