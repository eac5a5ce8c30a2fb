//! `dafne`: the headless command line. `main` parses and delegates; each subcommand lives in
//! its own module.

mod convert;
mod info;

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
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Io(#[from] dafne_io::Error),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn run() -> Result<ExitCode, Error> {
    let cli = Cli::parse();
    match cli.command {
        Command::Info(args) => info::run(&args),
        Command::Convert(args) => convert::run(&args),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
