//! NIfTI-1 and NIfTI-2 images: single files (`.nii`, `.nii.gz`) and header/image pairs (`.hdr` +
//! `.img`, either gzipped), in either byte order.
//!
//! Reading follows nibabel: the same header fixes on load (qfac, pixdims, invalid xform codes),
//! the same scaling rules and the same choice of affine (`get_best_affine`). Stored values keep
//! their on-disk type; the header's scaling becomes a [`dafne_core::Rescale::Uniform`].
//! Writing produces NIfTI-1 with both sform and qform set.

mod data;
mod read;
mod write;

use std::path::PathBuf;

pub use read::{read, read_bytes, read_header, NiftiHeaderInfo, NiftiVersion};
pub use write::write;
pub(crate) use write::GZIP_LEVEL;

#[derive(Debug, thiserror::Error)]
pub enum NiftiError {
    /// The message names only the file (the caller adds the full path it was asked for): a
    /// pair's other half is told apart by its name.
    #[error("cannot read {}: {source}", file_name(path))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", file_name(path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the image file of this header/image pair is missing: {}", image.display())]
    MissingImage { image: PathBuf },
    #[error("gzip data is corrupt: {source}")]
    Decompress { source: std::io::Error },
    #[error("not a NIfTI file: {reason}")]
    NotNifti { reason: String },
    #[error("invalid header: {reason}")]
    Header { reason: String },
    #[error("file is truncated: {what} needs {needed} bytes but only {available} are present")]
    Truncated {
        what: &'static str,
        needed: u64,
        available: u64,
    },
    #[error("unsupported datatype {name} (code {code}): only real scalar voxels (integers and floats) can be read")]
    UnsupportedDatatype { code: i16, name: &'static str },
    #[error("unsupported dimensions {shape:?}: at most 4 axes (x, y, z, time) may have more than one voxel")]
    UnsupportedDims { shape: Vec<usize> },
    #[error("image of {bytes} bytes is too large to load")]
    TooLarge { bytes: u128 },
    #[error("cannot write volume as NIfTI-1: {reason}")]
    Unwritable { reason: String },
    #[error("cannot build volume: {source}")]
    Volume { source: dafne_core::VolumeError },
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
