//! The whole per-slice AutoSegment pipeline (resample, N4 bias correction, L/R split, both
//! crops through the network, back to the slice's grid) of the original's full-size Thigh
//! network (random weights: the time does not depend on them) on one slice of the peer
//! benchmark's `volume.npy`, timed next to `bench_segnet.py`'s `dafne_thigh_slice_pipeline`
//! (`bench/ml/run.sh`). Pixel spacing 1.037037 mm, as the peer assumes.
//!
//! `cargo run -p dafne-ml --example pipeline_time -- DATA_DIR [--slice 40] [--repeat 3]`;
//! prints each run's step times, then one JSON line.

use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use dafne_ml::apply::{SegmentOptions, Segmenter, Side, SliceImage};
use dafne_ml::package::Manifest;
use dafne_ml::{CosciaUnet, Package, UnetConfig};

#[path = "common/process.rs"]
mod process;
use process::median;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let data = args
        .first()
        .ok_or("usage: pipeline_time DATA_DIR [--slice N] [--repeat N]")?;
    let slice: usize = value("--slice").map_or(Ok(40), |v| v.parse())?;
    let repeat: usize = value("--repeat").map_or(Ok(3), |v| v.parse())?;

    let bytes = std::fs::read(std::path::Path::new(data).join("volume.npy"))?;
    let array = dafne_io::numpy::read_npy_bytes(&bytes)?;
    let [slices, rows, cols] = array.shape[..] else {
        return Err(format!("volume.npy has shape {:?}, not 3-D", array.shape).into());
    };
    if slice >= slices || array.fortran_order {
        return Err(format!("slice {slice} of a C-order {slices}-slice volume needed").into());
    }
    let plane = rows * cols;
    let values: Vec<f32> = (slice * plane..(slice + 1) * plane)
        .map(|i| array.voxels.get_f64(i).map_or(0.0, |v| v as f32))
        .collect();
    let image = SliceImage {
        values,
        rows,
        cols,
        spacing_mm: [1.037037, 1.037037],
    };

    let cfg = UnetConfig::thigh();
    let varmap = VarMap::new();
    CosciaUnet::new(
        &cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )?;
    let weights = varmap
        .data()
        .lock()
        .map_err(|_| "weights lock")?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let pkg = Package {
        manifest: Manifest::original_thigh(&cfg),
        weights,
    };
    let seg = Segmenter::new(&pkg, &Device::Cpu)?;
    let opts = SegmentOptions {
        split_lr: true,
        side: Side::Both,
    };
    let (mut total, mut bias, mut forward) = (Vec::new(), Vec::new(), Vec::new());
    // One warm-up run (buffer pools, page faults), then `repeat` timed ones.
    for run in 0..=repeat {
        let t = Instant::now();
        let (out, s) = seg.segment_slice_timed(&image, &opts)?;
        let seconds = t.elapsed().as_secs_f64();
        eprintln!(
            "run {run}: {seconds:.3} s = resample {:.3} + N4 {:.3} + split {:.3} + forward (2 crops) {:.3} + rest {:.3}; {} ROIs",
            s.resample_s,
            s.bias_s,
            s.split_s,
            s.forward_s,
            s.rest_s,
            out.masks.len()
        );
        if run > 0 {
            total.push(seconds);
            bias.push(s.bias_s);
            forward.push(s.forward_s);
        }
    }
    println!(
        "{{\"pipeline_median_ms\": {:.1}, \"n4_median_ms\": {:.1}, \"forward_two_crops_median_ms\": {:.1}, \"n\": {repeat}, \"slice\": {slice}}}",
        median(&total) * 1e3,
        median(&bias) * 1e3,
        median(&forward) * 1e3
    );
    Ok(())
}
