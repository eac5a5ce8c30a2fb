//! The original Dafne's ROI files (`.p`): a bz2-compressed (or, for old files, plain) Python
//! pickle of `{'classifications', 'roiManager'[, 'roiManagers', 'currentTimepoint']}` or a bare
//! `ROIManager` (reference §2.1).
//!
//! Pickles can run arbitrary code, so nothing here uses a general unpickler: `pickle` is a
//! small VM that knows only the classes these files contain and refuses any other global by
//! name; `numpy` rebuilds the numpy arrays and scalars; `roi_file` maps the value tree onto
//! [`LegacyRoiFile`]. Work and output are bounded (bz2 output, opcode count, string bytes,
//! copies, ROIs + slices + knots, mask pixels), so hostile input gives an error, never a panic,
//! a hang or an allocation storm.
//!
//! Contours are returned as stored (knots, x = column, y = row); rasterising them for slices
//! without a stored mask is dafne-roi's job.
//!
//! `model_file` reads the original's model files (`.model`, a dill pickle of weights, metadata
//! and Python source) through the same VM, returning the source as text that is never run.

mod bz2;
mod model_file;
mod numpy;
mod pickle;
mod roi_file;

pub use model_file::{parse_model_file, read_model_file, LegacyArray, LegacyModelFile};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dafne_core::SliceMask;

/// Decompressed size of a whole ROI file; real files are a few MB.
pub const MAX_DECOMPRESSED_BYTES: usize = 1 << 31;

/// An ROI file as the original reads it back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LegacyRoiFile {
    /// `(rows, cols)` of every mask in the file.
    pub mask_size: Option<(usize, usize)>,
    /// Classification (model name) per slice, as stored ("None" kept).
    pub classifications: Vec<String>,
    /// Autosegmentation restriction boxes per slice: `(row, col, height, width)`.
    pub restrict_boxes: BTreeMap<usize, [usize; 4]>,
    /// The ROIs of the current time point, in file (OrderedDict) order.
    pub rois: Vec<LegacyRoi>,
    /// Every time point's ROIs; empty unless the file is time-resolved.
    pub time_points: BTreeMap<usize, Vec<LegacyRoi>>,
    pub current_time_point: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LegacyRoi {
    pub name: String,
    pub slices: BTreeMap<usize, LegacySlice>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LegacySlice {
    /// Sub-ROIs, each a closed spline's knots `[x, y]` (x = column, y = row), exactly as stored.
    pub contours: Vec<Vec<[f64; 2]>>,
    /// The stored mask (non-zero pixels set); `None` when the file stores none and the mask is
    /// the XOR of the rasterised contours.
    pub mask: Option<SliceMask>,
}

/// A failure reading an ROI or model file.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("cannot read the ROI file ({source}): {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load the ROI file ({source}): {}", path.display())]
    Decode { path: PathBuf, source: DecodeError },
    /// From [`parse_roi_file`], which has no path.
    #[error("cannot load the ROI file: {0}")]
    Bytes(#[source] DecodeError),
    #[error("cannot read the model file ({source}): {}", path.display())]
    ReadModel {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load the model file ({source}): {}", path.display())]
    DecodeModel { path: PathBuf, source: DecodeError },
    /// From [`parse_model_file`], which has no path.
    #[error("cannot load the model file: {0}")]
    ModelBytes(#[source] DecodeError),
}

/// What is wrong with the content of an ROI or model file.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("bz2 data is corrupt: {reason}")]
    Bz2 { reason: String },
    #[error("more than {limit} bytes of pickle data (after decompression)")]
    TooLarge { limit: usize },
    #[error("pickle ends early at byte {offset}")]
    Truncated { offset: usize },
    #[error("unknown or unsupported pickle opcode 0x{opcode:02x} at byte {offset}")]
    Opcode { opcode: u8, offset: usize },
    #[error("the pickle refers to {global:?}, which is not an allowed class; refusing to load it")]
    Forbidden { global: String },
    #[error("the pickle exceeds the {what} limit ({limit})")]
    Limit { what: &'static str, limit: usize },
    #[error("malformed pickle at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: String },
    #[error("not an ROI file: {reason}")]
    Structure { reason: String },
    #[error("not a Dafne model file: {reason}")]
    Model { reason: String },
    #[error("model weight {index}: {reason}")]
    Weight { index: usize, reason: String },
    #[error("ROI {roi:?} slice {slice}: {reason}")]
    Slice {
        roi: String,
        slice: usize,
        reason: String,
    },
}

/// Reads an ROI file written by the original Dafne (any version).
pub fn read_roi_file(path: &Path) -> Result<LegacyRoiFile, LegacyError> {
    let read_error = |source| LegacyError::Read {
        path: path.to_path_buf(),
        source,
    };
    // A plain pickle is read whole: refuse a file larger than any decompressed one may be.
    let len = std::fs::metadata(path).map_err(read_error)?.len();
    if len > MAX_DECOMPRESSED_BYTES as u64 {
        return Err(LegacyError::Decode {
            path: path.to_path_buf(),
            source: DecodeError::TooLarge {
                limit: MAX_DECOMPRESSED_BYTES,
            },
        });
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    decode(&bytes).map_err(|source| LegacyError::Decode {
        path: path.to_path_buf(),
        source,
    })
}

/// [`read_roi_file`] on bytes already in memory.
pub fn parse_roi_file(bytes: &[u8]) -> Result<LegacyRoiFile, LegacyError> {
    decode(bytes).map_err(LegacyError::Bytes)
}

fn decode(bytes: &[u8]) -> Result<LegacyRoiFile, DecodeError> {
    // The original tries bz2 and falls back to a plain pickle.
    let decompressed;
    let data = if bz2::is_bz2(bytes) {
        decompressed = bz2::decompress(bytes, MAX_DECOMPRESSED_BYTES)?;
        decompressed.as_slice()
    } else {
        bytes
    };
    let unpickled = pickle::unpickle(data)?;
    roi_file::convert(&unpickled)
}
