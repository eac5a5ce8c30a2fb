//! NumPy files: `.npy` arrays (versions 1-3, every integer/float/bool dtype, both byte orders,
//! C or Fortran order) and the original Dafne's `.npz` "numpy bundle" (image, resolution,
//! affine, comment, masks).
//!
//! A NumPy image array is (rows, cols, slices[, frames]), as the original Dafne holds it: array
//! axis 0 (rows) is our axis 1, array axis 1 (columns) our axis 0, slices stay axis 2.

mod layout;
mod npy;
mod npz;

use std::path::{Path, PathBuf};

use dafne_core::{Geometry, GeometrySource, Rescale, SeriesInfo, Volume, VolumeError, Voxels};

pub use npy::{npy_bytes, read_npy_bytes, NpyArray};
pub(crate) use npy::{read_npy_layout, unicode_npy_bytes};
pub(crate) use npz::{npz_members, write_npz};
pub use npz::{
    read_bundle, read_bundle_bytes, write_bundle, write_bundle_parts, Bundle, BundleMask,
    BundleParts, Contrast,
};

#[derive(Debug, thiserror::Error)]
pub enum NumpyError {
    /// The caller adds the path to the message.
    #[error("cannot read file: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write file: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a .npy array: {reason}")]
    NotNpy { reason: String },
    #[error("unsupported .npy format version {major}.{minor}")]
    Version { major: u8, minor: u8 },
    #[error("invalid .npy header: {reason}")]
    Header { reason: String },
    #[error("unsupported dtype {descr:?}: {reason}")]
    UnsupportedDtype { descr: String, reason: &'static str },
    #[error("array data is truncated: shape {shape:?} needs {needed} bytes but only {available} are present")]
    Truncated {
        shape: Vec<usize>,
        needed: u128,
        available: u64,
    },
    #[error("array of shape {shape:?} cannot be an image: {reason}")]
    Shape {
        shape: Vec<usize>,
        reason: &'static str,
    },
    #[error("cannot read npz archive: {source}")]
    Zip { source: zip::result::ZipError },
    #[error("cannot decompress npz member {name:?}: {source}")]
    Inflate {
        name: String,
        source: std::io::Error,
    },
    #[error("npz member {name:?} is unreadable: {source}")]
    Member {
        name: String,
        source: Box<NumpyError>,
    },
    #[error("npz member {name:?} is corrupt: it claims {claimed} bytes but {reason}")]
    MemberSize {
        name: String,
        claimed: u64,
        reason: &'static str,
    },
    #[error("bundle has no 'data' or 'image' array")]
    MissingData,
    #[error("bundle entry {key:?} is invalid: {reason}")]
    BundleEntry { key: String, reason: String },
    #[error("cannot build volume: {source}")]
    Volume { source: VolumeError },
}

/// Reads a `.npy` image: no geometry in the file, so identity orientation and 1 mm spacing
/// ([`GeometrySource::Missing`]).
pub fn read_npy_volume(path: &Path) -> Result<Volume, NumpyError> {
    let bytes = std::fs::read(path).map_err(|source| NumpyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, dims, voxels) = npy::read_npy_layout(&bytes)?;
    let geometry = Geometry::from_spacing([1.0; 3], GeometrySource::Missing);
    let info = SeriesInfo {
        format: "NumPy".into(),
        ..SeriesInfo::default()
    };
    npz::new_volume(dims, voxels, geometry, info)
}

/// Writes a volume as a C-order (rows, cols, slices[, frames]) `.npy`: stored values when the
/// rescale is the identity, real values as float32 otherwise. Geometry is not kept.
pub fn write_npy_volume(volume: &Volume, path: &Path) -> Result<(), NumpyError> {
    let array = volume_array(volume);
    write_npy(&array, path)
}

/// Writes an array as `.npy`, atomically.
pub fn write_npy(array: &NpyArray, path: &Path) -> Result<(), NumpyError> {
    let count = array
        .shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n));
    if count != Some(array.voxels.len()) {
        return Err(NumpyError::Shape {
            shape: array.shape.clone(),
            reason: "element count does not match the shape",
        });
    }
    let bytes = npy_bytes(array);
    crate::fs::write_atomically(path, |out| std::io::Write::write_all(out, &bytes)).map_err(
        |source| NumpyError::Write {
            path: path.to_path_buf(),
            source,
        },
    )
}

/// The C-order NumPy array of a volume (real values as float32 unless the rescale is identity).
fn volume_array(volume: &Volume) -> NpyArray {
    let dims = volume.dims();
    let voxels = match volume.rescale() {
        Rescale::Uniform(m) if m.is_identity() => {
            dafne_core::map_voxels!(volume.voxels(), v => layout::to_c_order(v, dims))
        }
        _ => Voxels::F32(layout::to_c_order(&volume.to_f32(), dims)),
    };
    NpyArray {
        shape: layout::numpy_shape(dims),
        voxels,
        fortran_order: false,
    }
}
