//! The ML types AutoSegment and Improve model are built on, from `dafne_ml` (the names of
//! `/work/wt/prompts/ml-contract.md`).

pub use dafne_ml::apply::{SegmentOptions, Segmenter, Side, SliceImage, SliceSegmentation};
pub use dafne_ml::train::{improve, Correction, ImproveOptions, ImproveReport};
