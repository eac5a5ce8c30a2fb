//! Masks in and out of files: one [`NamedMasks`] per ROI, in the layouts users exchange
//! (NumPy, NIfTI, compact label maps with a legend, DICOM series, DICOM SEG). Every writer is
//! atomic per file; every reader checks the shape against the dataset and aligns through the
//! affines when the mask volume was written on another grid.
//!
//! Overlapping ROIs in a label map are resolved by an explicit [`label_map::Overlap`] policy
//! and reported, never summed (the original's label aliasing, reference §7.3).

pub mod label_map;
pub mod legend;

pub mod codes;
pub mod dicom_series;
pub mod dicom_source;
pub mod seg;
pub mod seg_read;
pub mod uid;

use std::path::PathBuf;

pub use dafne_core::NamedMasks;

/// Every failure of mask import and export.
#[derive(Debug, thiserror::Error)]
pub enum MaskIoError {
    #[error("cannot read masks ({source}): {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write masks ({source}): {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not what its name says, or is damaged.
    #[error("not a usable mask file ({reason}): {}", path.display())]
    Format { path: PathBuf, reason: String },
    /// The mask does not fit the dataset and cannot be aligned to it.
    #[error("mask of {got:?} does not fit the dataset of {expected:?} ({reason}): {}", path.display())]
    Shape {
        path: PathBuf,
        expected: Vec<usize>,
        got: Vec<usize>,
        reason: String,
    },
    /// What was asked cannot be done with this data (e.g. DICOM export of a NIfTI dataset).
    #[error("{reason}: {}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    /// ROIs overlap and the policy says to refuse.
    #[error("ROIs overlap ({0}); choose which ROI wins")]
    Overlap(String),
    #[error(transparent)]
    Mask(#[from] dafne_core::MaskError),
    #[error("more ROIs ({0}) than a label map can hold (65535)")]
    TooManyLabels(usize),
}
