use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use dafne_core::PlaneOrientation;

use crate::Error;

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// A DICOM file or folder, .nii/.nii.gz/.hdr, .npy or .npz.
    input: PathBuf,
    /// .nii, .nii.gz, .npy or .npz
    output: PathBuf,
    /// Which series to convert when INPUT holds several (numbers from `dafne info`).
    #[arg(long)]
    series: Option<usize>,
    /// Reorient so that slices are in this plane before writing.
    #[arg(long, value_enum)]
    orient: Option<Plane>,
    /// Reverse the order of slices.
    #[arg(long)]
    invert_slices: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Plane {
    Axial,
    Sagittal,
    Coronal,
}

pub fn run(args: &ConvertArgs) -> Result<ExitCode, Error> {
    let mut loaded = dafne_io::load(&args.input, args.series)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    if !loaded.skipped.is_empty() {
        eprintln!(
            "note: {} file(s) in the folder were not used (see `dafne info`)",
            loaded.skipped.len()
        );
    }
    if let Some(plane) = args.orient {
        let plane = match plane {
            Plane::Axial => PlaneOrientation::Axial,
            Plane::Sagittal => PlaneOrientation::Sagittal,
            Plane::Coronal => PlaneOrientation::Coronal,
        };
        dafne_core::reorient(&mut loaded.volume, plane);
    }
    if args.invert_slices {
        dafne_core::invert_slices(&mut loaded.volume);
    }
    dafne_io::save(&loaded.volume, &args.output)?;
    let v = &loaded.volume;
    eprintln!(
        "wrote {} ({:?} {}, {})",
        args.output.display(),
        v.shape(),
        v.voxels().dtype().name(),
        v.geometry.axcodes_ras()
    );
    Ok(ExitCode::SUCCESS)
}
