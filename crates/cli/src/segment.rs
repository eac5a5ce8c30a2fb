//! `dafne segment`: AutoSegment from the command line, with one model package for every
//! slice of the range (the app picks a model per slice from its classification). The result
//! is a session file, or a folder of one NIfTI per ROI written exactly as `dafne masks export
//! --format nifti` writes them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use dafne_session::jobs::JobControl;
use dafne_session::masks::{ExportOptions, MaskFormat};
use dafne_session::models::ModelStore;
use dafne_session::segmentation::autosegment::AutosegmentOptions;
use dafne_session::segmentation::PackageModels;
use dafne_session::Workspace;

use crate::Error;

#[derive(Args, Debug)]
pub struct SegmentArgs {
    /// The image (DICOM file or folder, NIfTI, NumPy).
    input: PathBuf,
    /// Which series of INPUT when it holds several (numbers from `dafne info`).
    #[arg(long)]
    series: Option<usize>,
    /// A model package folder (manifest.json + weights.safetensors) or the name of an
    /// installed model (see `dafne models list`).
    #[arg(long)]
    model: String,
    /// A session file (`*.dafne`) or a folder that receives one `<ROI>.nii.gz` per ROI.
    #[arg(long)]
    out: PathBuf,
    /// The classification of the slices ("Thigh", "Thigh, Left"); default: the model's name.
    #[arg(long)]
    classification: Option<String>,
    /// Slices `a:b` as Python slices (a to b-1; either may be left out); default: all.
    #[arg(long)]
    slices: Option<String>,
    /// Separate left and right: ROIs `<name>_R` and `<name>_L` (the default, as the
    /// original's SPLIT_LATERALITY).
    #[arg(long, overrides_with = "no_split_lr")]
    split_lr: bool,
    /// One ROI per label, both sides together.
    #[arg(long, overrides_with = "split_lr")]
    no_split_lr: bool,
    /// Restrict area: segment only inside the box `ROW,COL,HEIGHT,WIDTH` (pixels of the stored
    /// slice) on every slice of the range, as the app's "Restrict area".
    #[arg(long, value_name = "ROW,COL,HEIGHT,WIDTH")]
    restrict: Option<String>,
}

/// `ROW,COL,HEIGHT,WIDTH` as a box inside a `rows × cols` slice.
pub fn parse_box(text: &str, rows: usize, cols: usize) -> Result<[usize; 4], Error> {
    let bad = |why: &str| {
        Error::InvalidInput(format!(
            "--restrict must be ROW,COL,HEIGHT,WIDTH inside the {rows} × {cols} slice: {why} (got {text:?})"
        ))
    };
    let parts: Vec<usize> = text
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("four whole numbers"))?;
    let [row, col, height, width] = parts[..] else {
        return Err(bad("four whole numbers"));
    };
    if height == 0 || width == 0 {
        return Err(bad("the box is empty"));
    }
    if row + height > rows || col + width > cols {
        return Err(bad("the box leaves the slice"));
    }
    Ok([row, col, height, width])
}

/// `a:b` (Python slice, both ends optional) as an inclusive range of `0..slices`.
pub fn parse_slices(text: Option<&str>, slices: usize) -> Result<(usize, usize), Error> {
    let bad = || {
        Error::InvalidInput(format!(
            "--slices must be a:b with 0 <= a < b <= {slices} (got {:?})",
            text.unwrap_or_default()
        ))
    };
    let Some(text) = text else {
        return if slices == 0 {
            Err(bad())
        } else {
            Ok((0, slices - 1))
        };
    };
    let (a, b) = text.split_once(':').ok_or_else(bad)?;
    let num = |s: &str, default: usize| -> Result<usize, Error> {
        if s.trim().is_empty() {
            Ok(default)
        } else {
            s.trim().parse().map_err(|_| bad())
        }
    };
    let (a, b) = (num(a, 0)?, num(b, slices)?);
    if a >= b || b > slices {
        return Err(bad());
    }
    Ok((a, b - 1))
}

/// Opens INPUT as the app's document would.
pub fn open(input: &Path, series: Option<usize>) -> Result<Workspace, Error> {
    let (ws, warnings) = Workspace::open(input, series, None)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(ws)
}

pub fn run(args: &SegmentArgs) -> Result<ExitCode, Error> {
    let mut ws = open(&args.input, args.series)?;
    let slices = ws.dataset().mask_dims().2;
    let (first, last) = parse_slices(args.slices.as_deref(), slices)?;
    let model = ModelStore::open_default()?.resolve(&args.model)?;
    let class = match &args.classification {
        Some(c) => c.clone(),
        None => model.name.clone(),
    };
    let (rows, cols, _) = ws.dataset().mask_dims();
    let restrict = args
        .restrict
        .as_deref()
        .map(|t| parse_box(t, rows, cols))
        .transpose()?;
    for slice in first..=last {
        ws.set_classification(Some(slice), Some(&class))?;
        if restrict.is_some() {
            ws.set_restrict_box(slice, restrict)?;
        }
    }
    let options = AutosegmentOptions {
        split_lr: !args.no_split_lr,
        restrict: restrict.is_some(),
    };
    let mut models = PackageModels::single(&model.dir);
    let started = std::time::Instant::now();
    let (report, _) = ws.autosegment(&mut models, first, last, options, &JobControl::silent())?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    eprintln!(
        "segmented {} slice(s) in {:.1} s: {} ROI(s)",
        report.segmented.len(),
        started.elapsed().as_secs_f64(),
        report.rois.len()
    );
    if is_session_file(&args.out) {
        ws.save(&args.out)?;
    } else {
        let warnings = ws.export_masks(MaskFormat::Nifti, &args.out, &ExportOptions::default())?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
    }
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn is_session_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "dafne")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn slice_ranges_are_python_slices() {
        assert_eq!(parse_slices(None, 10).unwrap(), (0, 9));
        assert_eq!(parse_slices(Some("2:5"), 10).unwrap(), (2, 4));
        assert_eq!(parse_slices(Some(":3"), 10).unwrap(), (0, 2));
        assert_eq!(parse_slices(Some("7:"), 10).unwrap(), (7, 9));
        for bad in ["5:5", "3:11", "x:2", "4"] {
            assert!(parse_slices(Some(bad), 10).is_err(), "{bad}");
        }
    }

    #[test]
    fn restrict_boxes_must_lie_inside_the_slice() {
        assert_eq!(
            parse_box("10, 20,30,40", 100, 80).unwrap(),
            [10, 20, 30, 40]
        );
        for bad in [
            "1,2,3",
            "1,2,3,4,5",
            "0,0,0,5",
            "90,0,20,5",
            "0,50,5,31",
            "a,b,c,d",
        ] {
            assert!(parse_box(bad, 100, 80).is_err(), "{bad}");
        }
    }
}
