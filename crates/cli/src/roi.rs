use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use dafne_session::legacy::import_legacy;
use dafne_session::sessions::save_session;

use crate::data::DataArgs;
use crate::Error;

#[derive(Subcommand, Debug)]
pub enum RoiCommand {
    /// Import an ROI file of the original Dafne (`.p`) as a session file.
    ImportLegacy(ImportLegacyArgs),
}

#[derive(Args, Debug)]
pub struct ImportLegacyArgs {
    /// The original's ROI file (bz2-compressed or plain pickle); nothing in it is executed.
    file: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// The session file to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(command: &RoiCommand) -> Result<ExitCode, Error> {
    match command {
        RoiCommand::ImportLegacy(args) => {
            let dataset = args.data.open()?;
            let (session, warnings) = import_legacy(&args.file, &dataset)?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            save_session(&args.out, &session)?;
            eprintln!(
                "wrote {} ({} ROI(s))",
                args.out.display(),
                session.rois.rois().len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
