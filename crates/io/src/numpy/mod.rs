// TEMPORARY STUB written so dicom/ compiles; the NIfTI/NumPy helper replaces this whole file.
use std::path::Path;
use dafne_core::Volume;
#[derive(Debug, thiserror::Error)]
pub enum NumpyError { #[error("not implemented yet")] Todo }
#[derive(Debug)]
pub struct Bundle { pub volume: Volume }
pub fn read_npy_volume(_: &Path) -> Result<Volume, NumpyError> { Err(NumpyError::Todo) }
pub fn write_npy_volume(_: &Volume, _: &Path) -> Result<(), NumpyError> { Err(NumpyError::Todo) }
pub fn read_bundle(_: &Path) -> Result<Bundle, NumpyError> { Err(NumpyError::Todo) }
pub fn write_bundle(_: &Volume, _: &Path) -> Result<(), NumpyError> { Err(NumpyError::Todo) }
