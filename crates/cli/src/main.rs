//! `dafne`: the headless command line. `main` parses and delegates; each subcommand lives in
//! its own module.

mod convert;
mod data;
mod improve;
mod info;
mod masks;
mod models;
mod phantom;
mod roi;
mod segment;
mod stats;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "dafne",
    version,
    about = "Dafne: segmentation of MR images, headless"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every series found at PATH (a file or a folder) with its geometry.
    Info(info::InfoArgs),
    /// Convert an image (DICOM series, NIfTI, NumPy) to .nii, .nii.gz, .npy or .npz.
    Convert(convert::ConvertArgs),
    /// ROI files: import the original Dafne's `.p` files.
    #[command(subcommand)]
    Roi(roi::RoiCommand),
    /// Masks in and out: NumPy, NIfTI, label maps, DICOM series, DICOM SEG.
    #[command(subcommand)]
    Masks(masks::MasksCommand),
    /// Generate a thigh phantom (image + exact muscle masks) for demos, training and tests.
    Phantom(phantom::PhantomArgs),
    /// AutoSegment: segment slices with a model package (session file or NIfTI per ROI).
    Segment(segment::SegmentArgs),
    /// Incremental learning: improve a model package from corrected masks of an image.
    Improve(improve::ImproveArgs),
    /// Model packages: list the store, show one, import the original's `.model` files.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Statistics of every ROI of a session (global or per slice) as CSV.
    Stats(stats::StatsArgs),
    /// Train a new model package from a folder of `.npz` bundles (the original's ModelTrainer).
    Train(train::TrainArgs),
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Io(#[from] dafne_io::Error),
    #[error(transparent)]
    Session(#[from] dafne_session::SessionError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    InvalidInput(String),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn run() -> Result<ExitCode, Error> {
    let cli = Cli::parse();
    match cli.command {
        Command::Info(args) => info::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Stats(args) => stats::run(&args),
        Command::Roi(command) => roi::run(&command),
        Command::Masks(command) => masks::run(&command),
        Command::Phantom(args) => phantom::run(&args),
        Command::Segment(args) => segment::run(&args),
        Command::Improve(args) => improve::run(&args),
        Command::Models(command) => models::run(&command),
        Command::Train(args) => train::run(&args),
    }
}

/// `dafne models list | head` closes stdout early: Rust ignores SIGPIPE, so the next
/// `println!` panics. That is the reader's choice, not a failure: end quietly, as Unix tools
/// do.
fn end_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    end_quietly_when_stdout_closes();
    match run() {
        Ok(code) => code,
        Err(e) => {
            let mut said = e.to_string();
            eprintln!("error: {said}");
            // Most messages already quote their cause; print only causes not said yet.
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let text = s.to_string();
                if !said.contains(&text) {
                    eprintln!("  caused by: {text}");
                    said.push_str(&text);
                }
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
