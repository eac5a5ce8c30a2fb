//! Times one forward pass of the original's U-Net on one crop: the legacy kit's narrow thigh
//! model (widths ÷ 8, real imported weights) and the full-width thigh network (random
//! weights), and reports GFLOP/s from the counted convolution FLOPs.
//!
//! `cargo run -p dafne-ml --example forward_time [-- REPEATS]` (dev profile: candle and gemm
//! are optimised by the workspace's `[profile.dev.package."*"]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use dafne_ml::keras::import_coscia_unet;
use dafne_ml::{CosciaUnet, UnetConfig};

/// CPU seconds (user + system, all threads) this process has used: under a shared machine's
/// load, CPU time per forward is steadier than wall time. Linux only; 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / 100.0 // USER_HZ
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Peak resident memory of the process so far (VmHWM), MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn time(label: &str, net: &CosciaUnet, cfg: &UnetConfig, batch: usize, repeats: usize) {
    let [rows, cols] = cfg.input_size;
    let x = Tensor::randn(0f32, 1.0, (batch, rows, cols, 1), &Device::Cpu).unwrap();
    net.forward(&x).unwrap(); // warm-up
    let mut best = f64::INFINITY;
    let mut total = 0.0;
    let cpu0 = cpu_seconds();
    for _ in 0..repeats {
        let t = Instant::now();
        net.forward(&x).unwrap();
        let s = t.elapsed().as_secs_f64();
        best = best.min(s);
        total += s;
    }
    let cpu = (cpu_seconds() - cpu0) / repeats as f64;
    let gflop = batch as f64 * cfg.flops() / 1e9;
    println!(
        "{label}: batch {batch} of {rows}x{cols} crops, {} params, {gflop:.3} GFLOP; forward best {best:.3} s, mean {:.3} s over {repeats} \
         ({:.1} GFLOP/s at best); {cpu:.3} CPU s per forward; load average {}; peak RSS so far {:.0} MiB",
        cfg.param_count(),
        total / repeats as f64,
        gflop / best,
        load_average(),
        peak_rss_mib()
    );
}

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    println!(
        "threads: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
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
    time("thigh_narrow8 (kit weights)", &net, &cfg, 1, repeats);

    let cfg = UnetConfig::thigh();
    let varmap = VarMap::new();
    let net = CosciaUnet::new(
        &cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    println!(
        "full-width network built: peak RSS so far {:.0} MiB",
        peak_rss_mib()
    );
    time("thigh full width (random weights)", &net, &cfg, 1, repeats);
    // One slice = the left and the mirrored right crop: the original predicts them one by one.
    time("thigh full width (random weights)", &net, &cfg, 2, repeats);
}
