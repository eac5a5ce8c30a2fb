//! One training step of the full-size thigh network (250², widths 32..512, 26.6 M parameters,
//! random weights) at batch 5, the original's incremental-learning batch: wall time and the
//! process's peak memory, which must stay under 4 GiB (one activation per layer kept for the
//! backward pass, the ops' scratch freed after each step; 10.3 GB before the CPU training ops).
//! Slow and machine-dependent, so ignored; run with
//! `CARGO_INCREMENTAL=0 cargo test -p dafne-ml --test train_timing -- --ignored --nocapture`
//! (`examples/train_step_time.rs` prints the same step's time per op kind and as JSON).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use candle_core::Device;
use dafne_ml::package::IncrementalLearning;
use dafne_ml::train::{train_step, Adam, PreparedSet, TrainCrop, TrainableUnet};
use dafne_ml::UnetConfig;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[test]
#[ignore = "slow: CARGO_INCREMENTAL=0 cargo test -p dafne-ml --test train_timing -- --ignored --nocapture"]
fn full_size_thigh_step_at_batch_5() {
    let cfg = UnetConfig::thigh();
    let [rows, cols] = cfg.input_size;
    let mut net = TrainableUnet::new_random(&cfg, 1, &Device::Cpu).unwrap();
    // DAFNE_TIMING_BATCH picks another batch size (memory grows with it).
    let batch: usize = std::env::var("DAFNE_TIMING_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let crops: Vec<TrainCrop> = (0..batch)
        .map(|k| TrainCrop {
            image: (0..rows * cols)
                .map(|i| ((i * 7919 + k * 104_729) % 600) as f32)
                .collect(),
            labels: (0..rows * cols)
                .map(|i| ((i / cols / 20 + i % cols / 20 + k) % cfg.classes) as u8)
                .collect(),
        })
        .collect();
    let il = IncrementalLearning {
        learning_rate: 1e-3,
        epochs: 5,
        batch_size: 5,
        min_training_images: 5,
        boundary_weight: 10.0,
        boundary_band_px2: 49.0,
        class_frequency_weights: true,
    };
    let before = peak_rss_mib();
    let t = Instant::now();
    let set = PreparedSet::new(&net, &crops, &il).unwrap();
    let weights_s = t.elapsed().as_secs_f64();
    let mut adam = Adam::new(1e-3, true);
    let indices: Vec<usize> = (0..batch).collect();
    let mut steps = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let loss = train_step(&mut net, &mut adam, &set, &indices).unwrap();
        steps.push(t.elapsed().as_secs_f64());
        assert!(loss.is_finite());
    }
    println!(
        "thigh 250² batch {batch}: weight maps {weights_s:.2} s, steps {:.2} s (warm-up) / {:.2} s / {:.2} s, peak RSS {:.0} MiB (before {:.0} MiB), {} threads",
        steps[0],
        steps[1],
        steps[2],
        peak_rss_mib(),
        before,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if batch == 5 {
        let peak = peak_rss_mib();
        assert!(peak < 4096.0, "peak RSS {peak:.0} MiB at batch 5");
    }
}
