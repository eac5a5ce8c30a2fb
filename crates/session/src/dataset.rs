//! An opened dataset: the volume, where it came from, and a stable identity.

use std::path::{Path, PathBuf};

use dafne_core::Volume;
use sha2::{Digest, Sha256};

use crate::jobs::JobControl;
use crate::SessionError;

#[derive(Debug)]
pub struct Dataset {
    /// What the user opened (a DICOM file or folder, a NIfTI or NumPy file).
    pub path: PathBuf,
    /// The series picked when `path` holds several.
    pub series: Option<usize>,
    pub volume: Volume,
    /// What the loader handled but the user should know.
    pub warnings: Vec<String>,
}

impl Dataset {
    pub fn open(path: &Path, series: Option<usize>) -> Result<Dataset, SessionError> {
        Dataset::open_with(path, series, &JobControl::silent())
    }

    /// [`Dataset::open`] as a long job: progress to `job`, [`SessionError::Cancelled`] when
    /// it is cancelled before the volume is complete.
    pub fn open_with(
        path: &Path,
        series: Option<usize>,
        job: &JobControl,
    ) -> Result<Dataset, SessionError> {
        let loaded = dafne_io::load_with(path, series, job).map_err(|e| match e {
            dafne_io::Error::Cancelled => SessionError::Cancelled,
            e => SessionError::OpenDataset(e),
        })?;
        let mut warnings = loaded.warnings;
        if !loaded.skipped.is_empty() {
            warnings.push(format!(
                "{} file(s) in the folder were not used (see `dafne info`)",
                loaded.skipped.len()
            ));
        }
        Ok(Dataset {
            path: path.to_path_buf(),
            series,
            volume: loaded.volume,
            warnings,
        })
    }

    /// (rows, cols, slices) of every ROI mask on this dataset.
    pub fn mask_dims(&self) -> (usize, usize, usize) {
        let d = self.volume.dims();
        (d[1], d[0], d[2])
    }

    /// A stable identity for matching sessions and autosaves to data: the DICOM series UID
    /// when there is one, else a digest of the file name; always with the grid size, so a
    /// reoriented or cropped copy is a different dataset.
    pub fn id(&self) -> String {
        let (rows, cols, slices) = self.mask_dims();
        let source = match &self.volume.info.series_uid {
            Some(uid) => format!("series:{uid}"),
            None => {
                let name = self
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let digest: String = Sha256::digest(name.as_bytes())
                    .iter()
                    .take(8)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("file:{digest}")
            }
        };
        format!("{source};grid:{rows}x{cols}x{slices}")
    }
}
