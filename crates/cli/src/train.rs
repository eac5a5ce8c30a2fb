//! `dafne train`: a new model package from a folder of the original's `.npz` bundles (its
//! ModelTrainer, headless), with the loss curve (`loss.csv`, `loss.png`) in the package folder.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use clap::Args;
use dafne_core::Progress;
use dafne_ml::trainer::{bundle_paths, train_from_bundles, write_loss_files, TrainerOptions};

use crate::Error;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// A folder of `.npz` bundles (`data`, `resolution`, `mask_<ROI>`), or one bundle.
    bundles: PathBuf,
    /// The package folder to write (manifest.json, weights.safetensors, loss.csv, loss.png).
    #[arg(long)]
    out: PathBuf,
    /// The model's display name.
    #[arg(long, default_value = "New model")]
    name: String,
    /// Most epochs to run.
    #[arg(long, default_value_t = 400)]
    epochs: usize,
    /// Epochs the validation loss may rise before training stops (0: never stop early, keep
    /// the last epoch's weights).
    #[arg(long, default_value_t = 5)]
    patience: usize,
    /// Epochs before early stopping is considered.
    #[arg(long, default_value_t = 10)]
    min_epochs: usize,
    /// Filters of the first level (each level doubles them).
    #[arg(long, default_value_t = 32)]
    base_width: usize,
    #[arg(long, default_value_t = 5)]
    levels: usize,
    /// 3×3 conv layers per residual block.
    #[arg(long, default_value_t = 2)]
    res_convs: usize,
    #[arg(long, default_value_t = 5)]
    batch_size: usize,
    #[arg(long, default_value_t = 0.009765)]
    learning_rate: f64,
    /// Fraction of the bundles kept for validation (default: 20 % under 10 bundles, else 10 %).
    #[arg(long)]
    validation_fraction: Option<f64>,
    /// Largest network input (px); the resolution is coarsened to fit the field of view.
    #[arg(long, default_value_t = 256)]
    max_input_px: usize,
    /// Split the legs as the original's Thigh and Leg models do: ROIs named `<muscle>_R` and
    /// `<muscle>_L` train one class, each slice gives one mirrored crop per leg, and the
    /// model segments both legs with `_R`/`_L` names.
    #[arg(long)]
    split_laterality: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Licence written into the manifest.
    #[arg(long, default_value = "unspecified")]
    licence: String,
    #[arg(long, default_value = "")]
    description: String,
}

/// Prints a line when a phase starts, every 10 % of it, and at its end; while training, at
/// the end of every epoch (the engine counts batches of all `epochs`).
struct LinePrinter {
    state: Mutex<(&'static str, u64)>,
    start: Instant,
    epochs: u64,
}

impl Progress for LinePrinter {
    fn report(&self, done: u64, total: u64, what: &'static str) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let per_epoch = total / self.epochs.max(1);
        if what == "training" && per_epoch > 0 {
            if done.is_multiple_of(per_epoch) {
                eprintln!(
                    "[{:7.1} s] epoch {} done",
                    self.start.elapsed().as_secs_f64(),
                    done / per_epoch
                );
            }
            return;
        }
        let tenth = (done * 10).checked_div(total).unwrap_or(10);
        if state.0 != what || tenth > state.1 || (done == total && state.1 < 11) {
            let last = done == total;
            *state = (what, if last { 11 } else { tenth });
            eprintln!(
                "[{:7.1} s] {what}: {done}/{total}",
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    fn cancelled(&self) -> bool {
        false
    }
}

pub fn run(args: &TrainArgs) -> Result<ExitCode, Error> {
    let ml = |e: dafne_ml::MlError| Error::InvalidInput(e.to_string());
    let bundles = bundle_paths(&args.bundles).map_err(ml)?;
    if bundles.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no .npz bundles in {}",
            args.bundles.display()
        )));
    }
    let opts = TrainerOptions {
        base_width: args.base_width,
        levels: args.levels,
        res_convs: args.res_convs,
        max_epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        patience: args.patience,
        min_epochs: args.min_epochs,
        validation_fraction: args.validation_fraction,
        seed: args.seed,
        name: args.name.clone(),
        max_input_px: args.max_input_px,
        split_laterality: args.split_laterality,
        licence: args.licence.clone(),
        description: args.description.clone(),
    };
    eprintln!("training on {} bundles", bundles.len());
    let printer = LinePrinter {
        state: Mutex::new(("", 0)),
        start: Instant::now(),
        epochs: args.epochs as u64,
    };
    let (mut package, report) = train_from_bundles(&bundles, &opts, &printer).map_err(ml)?;
    for dropped in &report.dropped {
        eprintln!("dropped {dropped}");
    }
    for b in &report.bundles {
        let role = if b.validation {
            "validation"
        } else {
            "training"
        };
        eprintln!("{}: {} slices ({role})", b.name, b.slices);
    }
    let split = if args.split_laterality {
        let canvas = package.manifest.preprocessing.canvas_px;
        format!(", one crop per leg of a {canvas} x {canvas} px canvas")
    } else {
        String::new()
    };
    eprintln!(
        "model: {} labels, {} x {} px at {:.3} mm{split}",
        report.labels.len(),
        report.crop_px[0],
        report.crop_px[1],
        report.resolution_mm
    );
    eprintln!("epoch  train_loss  val_loss  seconds");
    for e in &report.epochs {
        let val = e.val_loss.map_or("-".to_string(), |v| format!("{v:.4}"));
        eprintln!(
            "{:5}  {:10.4}  {val:>8}  {:7.1}",
            e.epoch + 1,
            e.train_loss,
            e.seconds
        );
    }
    package.save(&args.out).map_err(ml)?;
    write_loss_files(&args.out, &report.epochs).map_err(ml)?;
    eprintln!("wrote {} ({:.0} s)", args.out.display(), report.seconds);
    Ok(ExitCode::SUCCESS)
}
