use std::path::PathBuf;

use crate::dicom::DicomError;
use crate::nifti::NiftiError;
use crate::numpy::NumpyError;

/// A file that was looked at but not used, and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SkippedFile {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user stopped the read; nothing was loaded.
    #[error("cancelled")]
    Cancelled,
    #[error("cannot read DICOM: {source}")]
    ReadDicom { source: DicomError },
    #[error("cannot read NIfTI: {source}: {}", path.display())]
    ReadNifti { path: PathBuf, source: NiftiError },
    #[error("cannot read NumPy file: {source}: {}", path.display())]
    ReadNumpy { path: PathBuf, source: NumpyError },
    #[error("cannot write NIfTI: {source}: {}", path.display())]
    WriteNifti { path: PathBuf, source: NiftiError },
    #[error("cannot write NumPy file: {source}: {}", path.display())]
    WriteNumpy { path: PathBuf, source: NumpyError },
    #[error("unknown output format (use .nii, .nii.gz, .npy or .npz): {}", path.display())]
    UnsupportedOutput { path: PathBuf },
}
