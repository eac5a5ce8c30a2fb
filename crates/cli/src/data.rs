//! Arguments and output helpers every session command shares.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use dafne_session::Dataset;

use crate::Error;

/// The dataset the ROIs belong to.
#[derive(Args, Debug)]
pub struct DataArgs {
    /// The image the ROIs were drawn on (DICOM file or folder, NIfTI, NumPy).
    #[arg(long)]
    pub data: PathBuf,
    /// Which series of DATA when it holds several (numbers from `dafne info`).
    #[arg(long)]
    pub series: Option<usize>,
}

impl DataArgs {
    pub fn open(&self) -> Result<Dataset, Error> {
        let dataset = Dataset::open(&self.data, self.series)?;
        for w in &dataset.warnings {
            eprintln!("warning: {w}");
        }
        Ok(dataset)
    }
}

/// Writes `bytes` to `path` (`-` = standard output).
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let result = if path.as_os_str() == "-" {
        std::io::stdout().write_all(bytes)
    } else {
        std::fs::write(path, bytes)
    };
    result.map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}
