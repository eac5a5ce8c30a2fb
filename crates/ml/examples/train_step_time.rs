//! Times training steps of the original's U-Net on the CPU (forward in training mode, the
//! original's weighted loss, backward, Adam/AMSGrad: `dafne_ml::train::train_step`, what
//! incremental learning and the trainer run per batch), on random weights and synthetic crops,
//! and prints the step time, the process's peak memory, GFLOP/s (3× the forward's counted
//! convolution FLOPs, as `bench_incremental.py` counts them) and where one step's time goes.
//! `bench/ml/run.sh` runs it next to the original's Keras step (`bench_incremental.py`).
//!
//! `cargo run -p dafne-ml --example train_step_time -- [--steps N] [--batch B] [--leg]
//! [--json]` (defaults: 3 steps, the first a warm-up; batch 5, Dafne's incremental-learning
//! batch; the full-size thigh network, 250², 26.6 M parameters). The dev profile optimises
//! dafne-ml, candle and gemm (workspace profile overrides). `--json` ends with one line:
//! `{"bench":"incremental_rust","timings":{"rust_train_step_b5":{"median_ms":…},…},…}`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use candle_core::{Device, Tensor};
use dafne_ml::package::IncrementalLearning;
use dafne_ml::train::net::take_op_seconds;
use dafne_ml::train::{loss, train_step, Adam, PreparedSet, TrainCrop, TrainableUnet, L2_KERNEL};
use dafne_ml::UnetConfig;

#[path = "common/process.rs"]
mod process;
use process::{cpu_seconds, load_average, median, peak_rss_mib};

/// Synthetic crops: a textured image and blocky labels over every class.
fn crops(cfg: &UnetConfig, batch: usize) -> Vec<TrainCrop> {
    let [rows, cols] = cfg.input_size;
    (0..batch)
        .map(|k| TrainCrop {
            image: (0..rows * cols)
                .map(|i| ((i * 7919 + k * 104_729) % 600) as f32)
                .collect(),
            labels: (0..rows * cols)
                .map(|i| ((i / cols / 20 + i % cols / 20 + k) % cfg.classes) as u8)
                .collect(),
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let steps = value("--steps").unwrap_or(3).max(2);
    let batch = value("--batch").unwrap_or(5).max(1);
    let leg = args.iter().any(|a| a == "--leg");
    let json = args.iter().any(|a| a == "--json");
    let (name, cfg) = if leg {
        ("leg", UnetConfig::leg())
    } else {
        ("thigh", UnetConfig::thigh())
    };
    let [rows, cols] = cfg.input_size;
    let mut net = TrainableUnet::new_random(&cfg, 1, &Device::Cpu).unwrap();
    let params: usize = net.params().iter().map(|p| p.var.elem_count()).sum();
    let data = crops(&cfg, batch);
    let il = IncrementalLearning {
        learning_rate: 1e-3,
        epochs: 5,
        batch_size: batch,
        min_training_images: 1,
        boundary_weight: 10.0,
        boundary_band_px2: 49.0,
        class_frequency_weights: true,
    };
    let set = PreparedSet::new(&net, &data, &il).unwrap();
    let mut adam = Adam::new(1e-3, true);
    let indices: Vec<usize> = (0..batch).collect();
    let load_before = load_average();
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    for step in 0..steps {
        let (t, c) = (Instant::now(), cpu_seconds());
        let loss = train_step(&mut net, &mut adam, &set, &indices).unwrap();
        times.push(t.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - c);
        assert!(loss.is_finite(), "loss {loss}");
        eprintln!(
            "step {step}: {:.2} s ({:.1} CPU s), loss {loss:.4e}",
            times[step], cpu[step]
        );
    }
    let load_after = load_average();
    let peak = peak_rss_mib();

    // One more step in phases (the same work as train_step, moving statistics left alone).
    let x: Vec<f32> = data.iter().flat_map(|c| c.image.iter().copied()).collect();
    let x = Tensor::from_vec(x, (batch, rows, cols, 1), &Device::Cpu).unwrap();
    let w: Vec<f32> = set.weights().iter().flatten().copied().collect();
    let w = Tensor::from_vec(w, (batch, rows, cols), &Device::Cpu).unwrap();
    let labels: Vec<&[u8]> = data.iter().map(|c| c.labels.as_slice()).collect();
    let t = loss::one_hot(&labels, cfg.classes, rows, cols, net.dtype(), &Device::Cpu).unwrap();
    take_op_seconds();
    let t0 = Instant::now();
    let logits = net.logits_batch_stats(&x).unwrap();
    let forward_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let l = loss::weighted_cross_entropy(&logits, &t, &w).unwrap();
    let _ = l.to_scalar::<f32>().unwrap();
    let loss_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let grads = l.backward().unwrap();
    drop(logits);
    let backward_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    adam.step(&net.params(), &grads, L2_KERNEL).unwrap();
    let adam_s = t0.elapsed().as_secs_f64();
    drop(grads);
    let ops = take_op_seconds();

    let timed = &times[1..];
    let med = median(timed);
    let cpu_med = median(&cpu[1..]);
    let gflop = 3.0 * cfg.flops() * batch as f64 / 1e9;
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let op_json = ops
        .iter()
        .map(|(k, v)| format!("\"{k}\":{v:.3}"))
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "{name} {rows}x{cols}, batch {batch}, {params} parameters, {gflop:.0} GFLOP per step: median {med:.2} s \
         over {} steps after a warm-up ({cpu_med:.1} CPU s), {:.1} GFLOP/s, peak RSS {peak:.0} MiB, \
         {threads} threads, load {load_before:?} -> {load_after:?}",
        timed.len(),
        gflop / med
    );
    println!(
        "one step in phases: forward {forward_s:.2} s, loss {loss_s:.2} s, backward {backward_s:.2} s, \
         adam {adam_s:.2} s; inside: {}",
        ops.iter()
            .map(|(k, v)| format!("{k} {v:.2} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if json {
        println!(
            "{{\"bench\":\"incremental_rust\",\"config\":\"{name}\",\"batch\":{batch},\"params\":{params},\
             \"threads\":{threads},\"gflop_per_step\":{gflop:.1},\"step_s\":[{}],\"cpu_s\":[{}],\
             \"peak_rss_mib\":{peak:.0},\"load_before\":[{}],\"load_after\":[{}],\
             \"timings\":{{\"rust_train_step_b{batch}\":{{\"median_ms\":{:.0},\"min_ms\":{:.0},\"max_ms\":{:.0},\
             \"n\":{},\"warmup\":1,\"ms_per_crop\":{:.1},\"GFLOPs_achieved\":{:.1},\"cpu_s_per_step\":{cpu_med:.2}}}}},\
             \"phases_s\":{{\"forward\":{forward_s:.3},\"loss\":{loss_s:.3},\"backward\":{backward_s:.3},\
             \"adam\":{adam_s:.3}}},\"ops_s\":{{{op_json}}}}}",
            fmt(&times),
            fmt(&cpu),
            fmt(&load_before),
            fmt(&load_after),
            med * 1e3,
            timed.iter().copied().fold(f64::INFINITY, f64::min) * 1e3,
            timed.iter().copied().fold(0.0, f64::max) * 1e3,
            timed.len(),
            med * 1e3 / batch as f64,
            gflop / med
        );
    }
}
