//! Deep learning for Dafne on candle (CPU by default; `cuda`/`metal` features forward to
//! candle's).
//!
//! - [`package`]: a model package is data, never code: `manifest.json` (identity, version,
//!   architecture + config, labels, preprocessing, provenance, sha256 of the weights) plus
//!   `weights.safetensors`; loading verifies the hash and refuses unknown architectures
//!   (format: `docs/model-package.md`).
//! - [`unet`]: the original's residual 2-D U-Net ("coscia_unet") for inference: hand-laid
//!   matmuls on the CPU, candle ops on GPUs.
//! - [`device`]: the one place that picks the device (GPU when built in and present, else CPU).
//! - [`apply`]: the original's apply pipeline (resample, pad/cut, N4, split_mirror, both
//!   legs in one batch, paste back) as [`Segmenter`], and its building blocks for training.
//! - [`keras`]: maps the original's Keras weight list onto that U-Net by walking the Keras
//!   layer graph (widths are read, never assumed).
//! - [`legacy`]: imports the original's `.model` files (decoded as data, never run) as packages.
//! - [`trainer`]: a new model from the original's `.npz` bundles (its ModelTrainer).

pub mod apply;
pub mod device;
pub mod keras;
pub mod legacy;
mod matmul;
pub mod package;
pub mod train;
pub mod trainer;
pub mod unet;

pub use apply::{
    pad_or_cut, prepare_slice, zoom, PreparedSlice, SegmentOptions, Segmenter, Side, SliceImage,
    SliceSegmentation,
};
pub use package::{Manifest, Package};
pub use unet::{Config as UnetConfig, CosciaUnet};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MlError {
    #[error("cannot read or write model package file: {source}: {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model package manifest is not valid: {source}: {path}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("model package format version {found} is newer than this program reads ({supported}): {path}")]
    FormatVersion {
        found: u32,
        supported: u32,
        path: PathBuf,
    },
    #[error("weights file does not match the manifest's sha256 (expected {expected}, found {found}): {path}")]
    WeightsHash {
        expected: String,
        found: String,
        path: PathBuf,
    },
    #[error("unknown network architecture {name:?} (this program knows: {known})")]
    UnknownArchitecture { name: String, known: String },
    #[error("architecture config for {name:?} is not valid: {source}")]
    ArchitectureConfig {
        name: String,
        source: serde_json::Error,
    },
    #[error("network configuration is not valid: {why}")]
    BadConfig { why: String },
    #[error("network input has shape {got:?}, expected (batch, {want:?})")]
    InputShape { got: Vec<usize>, want: Vec<usize> },
    #[error("keras model does not have the expected layer graph: {why}")]
    KerasGraph { why: String },
    #[error("input is not valid: {why}")]
    Input { why: String },
    #[error("training failed: {why}")]
    Training { why: String },
    #[error("cancelled")]
    Cancelled,
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
}
