// TEMPORARY STUB (the NIfTI/NumPy helper replaces this whole folder when its work compiles).
use std::path::Path;
use dafne_core::Volume;
#[derive(Debug, thiserror::Error)]
pub enum NiftiError { #[error("not implemented yet")] Todo }
pub fn read(_: &Path) -> Result<Volume, NiftiError> { Err(NiftiError::Todo) }
pub fn write(_: &Volume, _: &Path) -> Result<(), NiftiError> { Err(NiftiError::Todo) }
