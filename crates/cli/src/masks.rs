use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use dafne_io::masks::label_map::Overlap;
use dafne_session::masks::{add_imported, export_masks, import_masks, ExportOptions, MaskFormat};
use dafne_session::sessions::{new_session, open_session, save_session};

use crate::data::DataArgs;
use crate::Error;

#[derive(Subcommand, Debug)]
pub enum MasksCommand {
    /// Write the masks of a session in one of the exchange formats.
    Export(ExportArgs),
    /// Read masks (NumPy, NIfTI, label maps, DICOM series, DICOM SEG, or a folder of them)
    /// into a session file.
    Import(ImportArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// a folder of <ROI>.npy
    Npy,
    /// one .npz, a key per ROI
    Npz,
    /// the original's data + mask bundle (.npz)
    Bundle,
    /// a folder of <ROI>.nii.gz
    Nifti,
    /// one label-map NIfTI + <file>.csv legend + ITK-SNAP labels
    CompactNifti,
    /// one label-map DICOM series + legend.csv
    CompactDicom,
    /// one DICOM mask series per ROI
    Dicom,
    /// one DICOM Segmentation object
    Seg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OverlapArg {
    /// the later ROI in the list keeps shared voxels
    LastWins,
    /// the earlier ROI keeps them
    FirstWins,
    /// fail when ROIs overlap
    Refuse,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The session file holding the ROIs.
    session: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, value_enum)]
    format: Format,
    /// A file (npz, bundle, compact-nifti, seg) or a folder (the others).
    #[arg(long)]
    out: PathBuf,
    /// Label maps only: which ROI keeps voxels that several ROIs claim (reported either way).
    #[arg(long, value_enum, default_value = "last-wins")]
    overlap: OverlapArg,
    /// Only these ROIs, comma-separated, in this order.
    #[arg(long, value_delimiter = ',')]
    rois: Vec<String>,
    /// Free text stored in a bundle.
    #[arg(long)]
    comment: Option<String>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A mask file or a folder of masks.
    path: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// The session file to write.
    #[arg(long)]
    out: PathBuf,
    /// Add the masks to the ROIs of this session instead of starting an empty one.
    #[arg(long)]
    into: Option<PathBuf>,
}

pub fn run(command: &MasksCommand) -> Result<ExitCode, Error> {
    match command {
        MasksCommand::Export(args) => export(args),
        MasksCommand::Import(args) => import(args),
    }
}

fn export(args: &ExportArgs) -> Result<ExitCode, Error> {
    let dataset = args.data.open()?;
    let (session, warnings) = open_session(&args.session, &dataset)?;
    let format = match args.format {
        Format::Npy => MaskFormat::Npy,
        Format::Npz => MaskFormat::Npz,
        Format::Bundle => MaskFormat::Bundle,
        Format::Nifti => MaskFormat::Nifti,
        Format::CompactNifti => MaskFormat::CompactNifti,
        Format::CompactDicom => MaskFormat::CompactDicom,
        Format::Dicom => MaskFormat::Dicom,
        Format::Seg => MaskFormat::Seg,
    };
    let options = ExportOptions {
        overlap: match args.overlap {
            OverlapArg::LastWins => Overlap::LastWins,
            OverlapArg::FirstWins => Overlap::FirstWins,
            OverlapArg::Refuse => Overlap::Refuse,
        },
        rois: args.rois.clone(),
        comment: args.comment.clone(),
    };
    let more = export_masks(&session.rois, &dataset, format, &args.out, &options)?;
    for w in warnings.iter().chain(&more) {
        eprintln!("warning: {w}");
    }
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn import(args: &ImportArgs) -> Result<ExitCode, Error> {
    let dataset = args.data.open()?;
    let mut session = match &args.into {
        Some(path) => {
            let (session, warnings) = open_session(path, &dataset)?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            session
        }
        None => new_session(&dataset),
    };
    let (masks, warnings) = import_masks(&args.path, &dataset)?;
    let count = masks.len();
    let renamed = add_imported(&mut session, masks)?;
    for w in warnings.iter().chain(&renamed) {
        eprintln!("warning: {w}");
    }
    save_session(&args.out, &session)?;
    eprintln!("wrote {} ({count} ROI(s) imported)", args.out.display());
    Ok(ExitCode::SUCCESS)
}
