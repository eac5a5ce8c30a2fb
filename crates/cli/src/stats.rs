use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use dafne_session::sessions::open_session;
use dafne_session::statistics::statistics_csv;

use crate::data::DataArgs;
use crate::Error;

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// The session file (`.dafne`) holding the ROIs.
    session: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// One row per ROI and slice instead of one per ROI.
    #[arg(long)]
    slicewise: bool,
    /// Where to write the CSV; `-` writes to standard output.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: &StatsArgs) -> Result<ExitCode, Error> {
    let dataset = args.data.open()?;
    let (session, warnings) = open_session(&args.session, &dataset)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let csv = statistics_csv(&session, &dataset, args.slicewise)?;
    crate::data::write_output(&args.out, csv.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
