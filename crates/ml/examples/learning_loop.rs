//! The learning loop, measured: does the model get better on a new kind of scan as the user
//! corrects it, and does the guard refuse a bad update?
//!
//! 1. The demo model (trained on phantom domain A) is scored (Dice per label) on held-out
//!    domain-A slices (a seed it never saw) and on the app's sample dataset (`dafne phantom
//!    --slices 20 --size 432 --seed 1`, what `scripts/run.sh` opens).
//! 2. Domain B (other contrast, noise, bias and proportions): Dice on held-out B slices; then
//!    for k = 5, 10, 20 corrected B slices (ground truth as the user's correction) one
//!    `improve` from the demo model each, and Dice again on the same held-out slices.
//! 3. An update built from deliberately wrong corrections (every ROI's mask given to the next
//!    ROI) must be refused by the guard.
//!
//! Writes `learning_loop.csv`, `learning_loop.md` and `demo_dice.md` under `--out`.
//! Run: `cargo run -p dafne-ml --example learning_loop -- --out DIR [--model DIR]
//! [--heldout N] [--ks 5,10,20] [--skip-loop] [--a-slices N] [--sample-slices N]
//! [--recalibrate BUNDLES_DIR] [--bn frozen|batch]`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use dafne_core::NoProgress;
use dafne_ml::apply::{SegmentOptions, Segmenter, Side, SliceImage};
use dafne_ml::train::{improve, BatchNormMode, Correction, ImproveOptions};
use dafne_ml::Package;
use dafne_phantom::{generate, Domain, PhantomSpec};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Slices of a phantom as the model's input, with their ground truth.
struct Case {
    images: Vec<SliceImage>,
    truth: Vec<Vec<(String, Vec<bool>)>>,
}

fn phantom_case(domain: Domain, seed: u64, slices: usize) -> Res<Case> {
    let spec = PhantomSpec::thigh(slices, domain, seed);
    let p = generate(&spec)?;
    let [cols, rows, depth, _] = p.volume.dims();
    let [sx, sy, _] = p.volume.geometry.spacing_mm();
    let values = p.volume.to_f32();
    let plane = rows * cols;
    let mut images = Vec::new();
    let mut truth = Vec::new();
    for z in 0..depth {
        images.push(SliceImage {
            values: values[z * plane..(z + 1) * plane].to_vec(),
            rows,
            cols,
            spacing_mm: [sy, sx],
        });
        truth.push(
            p.masks
                .iter()
                .map(|m| {
                    let bools = m
                        .slices
                        .get(&z)
                        .map_or_else(|| vec![false; plane], |s| s.to_bools());
                    (m.name.clone(), bools)
                })
                .collect(),
        );
    }
    Ok(Case { images, truth })
}

/// Per-label Dice over all slices (intersections and sizes summed first), labels present in
/// the truth only; and their mean.
fn dice(pkg: &Package, case: &Case) -> Res<(BTreeMap<String, f64>, f64)> {
    let seg = Segmenter::new(pkg, &Device::Cpu)?;
    let opts = SegmentOptions {
        split_lr: pkg.manifest.preprocessing.split_laterality,
        side: Side::Both,
    };
    let out = seg.segment_slices(&case.images, &opts, &NoProgress)?;
    let mut sums: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (pred, truth) in out.iter().zip(&case.truth) {
        for (name, t) in truth {
            let p = pred.masks.iter().find(|(n, _)| n == name).map(|(_, m)| m);
            let inter = p.map_or(0, |p| p.iter().zip(t).filter(|(a, b)| **a && **b).count());
            let size = t.iter().filter(|b| **b).count()
                + p.map_or(0, |p| p.iter().filter(|b| **b).count());
            let e = sums.entry(name.clone()).or_default();
            e.0 += inter;
            e.1 += size;
        }
    }
    let per: BTreeMap<String, f64> = sums
        .into_iter()
        .filter(|(_, (_, size))| *size > 0)
        .map(|(n, (i, s))| (n, 2.0 * i as f64 / s as f64))
        .collect();
    let mean = per.values().sum::<f64>() / per.len().max(1) as f64;
    Ok((per, mean))
}

fn corrections(case: &Case, range: std::ops::Range<usize>, wrong: bool) -> Vec<Correction> {
    range
        .map(|z| {
            let mut masks = case.truth[z].clone();
            if wrong {
                // Every ROI gets the next ROI's mask: plausible shapes, wrong labels.
                let names: Vec<String> = masks.iter().map(|(n, _)| n.clone()).collect();
                masks.rotate_left(1);
                for (m, n) in masks.iter_mut().zip(names) {
                    m.0 = n;
                }
            }
            Correction {
                image: SliceImage {
                    values: case.images[z].values.clone(),
                    rows: case.images[z].rows,
                    cols: case.images[z].cols,
                    spacing_mm: case.images[z].spacing_mm,
                },
                masks,
            }
        })
        .collect()
}

struct Args {
    model: PathBuf,
    out: PathBuf,
    heldout: usize,
    ks: Vec<usize>,
    skip_loop: bool,
    /// Slices of the held-out domain-A case and of the sample dataset (20 as the app's).
    a_slices: usize,
    sample_slices: usize,
    /// Bundles to recalibrate the model's BatchNorm statistics on first (saved to OUT/model).
    recalibrate: Option<PathBuf>,
    /// BatchNorm during incremental learning: "frozen" (default) or "batch".
    batch_norm: BatchNormMode,
}

fn args() -> Res<Args> {
    let mut a = Args {
        model: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/thigh-phantom-demo"
        )),
        out: PathBuf::from("learning-loop"),
        heldout: 10,
        ks: vec![5, 10, 20],
        skip_loop: false,
        a_slices: 8,
        sample_slices: 20,
        recalibrate: None,
        batch_norm: BatchNormMode::Frozen,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => a.model = value()?.into(),
            "--out" => a.out = value()?.into(),
            "--heldout" => a.heldout = value()?.parse()?,
            "--ks" => {
                a.ks = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--skip-loop" => a.skip_loop = true,
            "--a-slices" => a.a_slices = value()?.parse()?,
            "--recalibrate" => a.recalibrate = Some(value()?.into()),
            "--bn" => {
                a.batch_norm = match value()?.as_str() {
                    "frozen" => BatchNormMode::Frozen,
                    "batch" => BatchNormMode::BatchStatistics,
                    other => return Err(format!("--bn frozen|batch, not {other}").into()),
                }
            }
            "--sample-slices" => a.sample_slices = value()?.parse()?,
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    Ok(a)
}

fn main() -> Res<()> {
    let a = args()?;
    std::fs::create_dir_all(&a.out)?;
    let mut demo = Package::load(&a.model, &Device::Cpu)?;
    if let Some(dir) = &a.recalibrate {
        let bundles = dafne_ml::trainer::bundle_paths(dir)?;
        demo = dafne_ml::trainer::recalibrate_package(&demo, &bundles, 5, &NoProgress)?;
        demo.save(&a.out.join("model"))?;
        eprintln!(
            "recalibrated on {} bundles, saved to {}",
            bundles.len(),
            a.out.join("model").display()
        );
    }
    let t = Instant::now();
    eprintln!("model {} ({})", demo.manifest.name, a.model.display());

    // 1. The demo model on domain A.
    let held_a = phantom_case(Domain::a(), 101, a.a_slices)?;
    let sample = phantom_case(Domain::a(), 1, a.sample_slices)?;
    let (per_a, mean_a) = dice(&demo, &held_a)?;
    let (per_s, mean_s) = dice(&demo, &sample)?;
    let mut md = format!(
        "| ROI | held-out domain A (seed 101, {} slices) | sample dataset (seed 1, {} slices) |\n|---|---|---|\n",
        a.a_slices, a.sample_slices
    );
    for (name, d) in &per_a {
        let s = per_s.get(name).map_or("-".into(), |v| format!("{v:.3}"));
        writeln!(md, "| {name} | {d:.3} | {s} |")?;
    }
    writeln!(md, "| **mean** | **{mean_a:.3}** | **{mean_s:.3}** |")?;
    std::fs::write(a.out.join("demo_dice.md"), &md)?;
    println!("{md}");
    eprintln!("[{:.0} s] domain A scored", t.elapsed().as_secs_f64());
    if a.skip_loop {
        return Ok(());
    }

    // 2. Domain B: held-out slices, and a pool of slices the "user" corrects.
    let held_b = phantom_case(Domain::b(), 201, a.heldout)?;
    let max_k = a.ks.iter().copied().max().unwrap_or(0).max(10);
    let pool = phantom_case(Domain::b(), 202, max_k)?;
    let (_, base) = dice(&demo, &held_b)?;
    let mut csv = String::from("corrections,kind,accepted,heldout_dice_before,heldout_dice_after,guard_dice_before,guard_dice_after,reference_dice_before,reference_dice_after,slices_trained,slices_guard,seconds,reason\n");
    let mut table = format!(
        "Demo model on {} held-out domain-B slices (seed 201): mean Dice {base:.3}.\n\n| corrected slices | corrections | accepted | held-out Dice before | after | guard Dice before | after | reference set before | after | trained / guard slices | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        a.heldout
    );
    let mut run = |k: usize, wrong: bool| -> Res<()> {
        let opts = ImproveOptions {
            split_lr: demo.manifest.preprocessing.split_laterality,
            seed: 7,
            batch_norm: a.batch_norm,
            ..ImproveOptions::default()
        };
        let started = Instant::now();
        let (report, updated) =
            improve(&demo, &corrections(&pool, 0..k, wrong), &opts, &NoProgress)?;
        let seconds = started.elapsed().as_secs_f64();
        let after = match &updated {
            Some(pkg) => dice(pkg, &held_b)?.1,
            None => base,
        };
        let kind = if wrong {
            "wrong labels"
        } else {
            "ground truth"
        };
        eprintln!(
            "k={k} {kind}: accepted {} ({}) held-out {base:.3} -> {after:.3}",
            report.accepted, report.reason
        );
        let (rb, ra) = report
            .reference_dice
            .map_or(("-".to_string(), "-".to_string()), |(b, a)| {
                (format!("{b:.3}"), format!("{a:.3}"))
            });
        writeln!(
            csv,
            "{k},{kind},{},{base:.4},{after:.4},{:.4},{:.4},{rb},{ra},{},{},{seconds:.1},\"{}\"",
            report.accepted,
            report.dice_before,
            report.dice_after,
            report.slices_trained,
            report.slices_held_out,
            report.reason.replace('"', "'")
        )?;
        writeln!(
            table,
            "| {k} | {kind} | {} | {base:.3} | {after:.3} | {:.3} | {:.3} | {rb} | {ra} | {} / {} | {seconds:.0} |",
            if report.accepted { "yes" } else { "no" },
            report.dice_before,
            report.dice_after,
            report.slices_trained,
            report.slices_held_out
        )?;
        Ok(())
    };
    for &k in &a.ks {
        run(k.min(pool.images.len()), false)?;
    }
    run(10.min(pool.images.len()), true)?;
    std::fs::write(a.out.join("learning_loop.csv"), &csv)?;
    std::fs::write(a.out.join("learning_loop.md"), &table)?;
    println!("{table}");
    eprintln!(
        "[{:.0} s] done; wrote {}",
        t.elapsed().as_secs_f64(),
        a.out.display()
    );
    Ok(())
}
