//! `dafne improve`: incremental learning from the command line. The masks (any format `dafne
//! masks import` reads) are the user's corrections of INPUT; the slices that have any become
//! training data for the package, with the held-out guard deciding whether the new version is
//! kept. An accepted version is written to NEWPKG; a refused one writes nothing (exit code 2).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use dafne_session::jobs::JobControl;
use dafne_session::models::ModelStore;
use dafne_session::segmentation::improve::describe;
use dafne_session::segmentation::{load_package, save_package};

use crate::segment::{open, parse_slices};
use crate::Error;

#[derive(Args, Debug)]
pub struct ImproveArgs {
    /// The image (DICOM file or folder, NIfTI, NumPy).
    input: PathBuf,
    /// Which series of INPUT when it holds several.
    #[arg(long)]
    series: Option<usize>,
    /// The corrected masks of INPUT (a mask file or a folder of them).
    #[arg(long)]
    masks: PathBuf,
    /// The model package to improve: a folder, or the name of an installed model.
    #[arg(long)]
    model: String,
    /// The folder that receives the new version when it is accepted.
    #[arg(long)]
    out: PathBuf,
    /// Slices `a:b` as Python slices; default: all slices with masks.
    #[arg(long)]
    slices: Option<String>,
    /// Fewer slices with masks than this: no training (the original's IL_MIN_SLICES).
    #[arg(long, default_value_t = 5)]
    min_slices: usize,
    /// Train on one ROI per label, both sides together (default: `_R`/`_L` as the original).
    #[arg(long)]
    no_split_lr: bool,
}

pub fn run(args: &ImproveArgs) -> Result<ExitCode, Error> {
    let mut ws = open(&args.input, args.series)?;
    let (warnings, _) = ws.import_masks(&args.masks)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let slices = ws.dataset().mask_dims().2;
    let (first, last) = parse_slices(args.slices.as_deref(), slices)?;
    let model = ModelStore::open_default()?.resolve(&args.model)?;
    let name = model.name.clone();
    for slice in first..=last {
        ws.set_classification(Some(slice), Some(&name))?;
    }
    let mut written = false;
    let outcomes = ws.improve_model(
        Some(&name),
        args.min_slices,
        !args.no_split_lr,
        &mut |_| load_package(&model.dir),
        &mut |p| {
            written = true;
            save_package(p, &args.out)
        },
        &JobControl::silent(),
    )?;
    for o in &outcomes {
        eprintln!("{}", describe(o));
    }
    if written {
        eprintln!("wrote {}", args.out.display());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("the update was not kept: nothing written");
        Ok(ExitCode::from(2))
    }
}
