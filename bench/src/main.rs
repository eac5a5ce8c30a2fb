//! `dafne-bench load --data DIR [--repeat N]`: times loading the peer benchmark's inputs
//! (`make_inputs.py`: an 80 x 432² DICOM series, `volume.nii.gz`, `volume.npy`) and prints one
//! JSON line in the peers' format. Peak memory of each load is measured in a child process
//! (`dafne-bench peak KIND PATH`) so that one load's allocations do not hide another's.
//!
//! `dafne-bench morphology --data DIR [--repeat N]`: the ROI morphology tools on the same masks
//! as the peer `bench_morphology.py` (see `morphology.rs`).
//!
//! `dafne-bench stats --data DIR [--repeat N]`: ROI statistics on the inputs of the peer
//! `bench_roi_stats.py` (see `stats.rs`).

mod morphology;
mod stats;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use serde_json::{json, Value};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(repeat: usize, mut f: impl FnMut() -> Result<(), String>) -> Result<Value, String> {
    f()?; // warm-up: page cache and allocator
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    let max = times.iter().copied().fold(0.0, f64::max);
    Ok(
        json!({"median_ms": median(times.clone()), "min_ms": min, "max_ms": max, "n": repeat, "warmup": 1}),
    )
}

fn load(path: &Path, to_f32: bool) -> Result<(), String> {
    let loaded = dafne_io::load(path, None).map_err(|e| e.to_string())?;
    if to_f32 {
        let real = loaded.volume.to_f32();
        std::hint::black_box(&real);
    }
    std::hint::black_box(&loaded.volume);
    Ok(())
}

/// Peak resident memory (VmHWM) and current (VmRSS) of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn peak(kind: &str, path: &Path) -> Result<(), String> {
    let (_, before) = memory();
    load(path, kind.ends_with("_f32"))?;
    let (hwm, _) = memory();
    println!("{}", hwm.saturating_sub(before));
    Ok(())
}

fn peak_in_child(kind: &str, path: &Path) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["peak", kind])
        .arg(path)
        .output()
        .map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| format!("peak {kind}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn run_load(data: &Path, repeat: usize) -> Result<(), String> {
    let inputs = [
        ("dicom", data.join("dicom")),
        ("nifti_gz", data.join("volume.nii.gz")),
        ("npy", data.join("volume.npy")),
    ];
    let mut variants = serde_json::Map::new();
    let mut memory = serde_json::Map::new();
    for (name, path) in &inputs {
        for f32 in [false, true] {
            let key = if f32 {
                format!("{name}_f32")
            } else {
                name.to_string()
            };
            eprintln!("dafne-bench: {key}");
            variants.insert(key.clone(), measure(repeat, || load(path, f32))?);
            memory.insert(key.clone(), json!(peak_in_child(&key, path)?));
        }
    }
    let probe = dafne_io::load(&inputs[0].1, None).map_err(|e| e.to_string())?;
    let f32_bytes = probe.volume.voxel_count() * 4;
    let result = json!({
        "bench": "dafne_load",
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "volume": {"dims": probe.volume.dims(), "dtype": probe.volume.voxels().dtype().name(), "float32_bytes": f32_bytes},
        "variants": variants,
        "peak_rss_bytes": memory,
    });
    println!("{result}");
    Ok(())
}

/// The value after each `--flag` in `args` (flags without a value are ignored).
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn parsed<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match flag(args, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("invalid {name}: {v}")),
    }
}

const USAGE: &str = "usage: dafne-bench load --data DIR [--repeat N] | dafne-bench morphology --data DIR [--repeat N] [--slice 40] [--roi 3] [--min-size 25] | dafne-bench stats --data DIR [--repeat N] | dafne-bench peak KIND PATH";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, kind, path] if cmd == "peak" => peak(kind, Path::new(path)),
        [cmd, rest @ ..] if cmd == "load" => {
            let repeat = flag(rest, "--repeat")
                .and_then(|r| r.parse().ok())
                .unwrap_or(5usize);
            match flag(rest, "--data") {
                Some(d) => run_load(Path::new(d), repeat.max(1)),
                None => Err(USAGE.into()),
            }
        }
        [cmd, rest @ ..] if cmd == "morphology" => (|| {
            let data = flag(rest, "--data").ok_or_else(|| USAGE.to_string())?;
            let options = morphology::Options {
                repeat: parsed(rest, "--repeat", 5usize)?.max(1),
                slice: parsed(rest, "--slice", 40)?,
                roi: parsed(rest, "--roi", 3)?,
                min_size: parsed(rest, "--min-size", 25)?,
            };
            morphology::run(Path::new(data), &options)
        })(),
        [cmd, rest @ ..] if cmd == "stats" => (|| {
            let data = flag(rest, "--data").ok_or_else(|| USAGE.to_string())?;
            stats::run(Path::new(data), parsed(rest, "--repeat", 5usize)?.max(1))
        })(),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
