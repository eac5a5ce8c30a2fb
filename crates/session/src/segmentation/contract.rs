//! The ML types AutoSegment and Improve model are built on, from `dafne_ml`: the shells reach
//! the network only through here (the app has no direct dependency on candle or dafne-ml).

pub use dafne_ml::apply::{SegmentOptions, Segmenter, Side, SliceImage, SliceSegmentation};
pub use dafne_ml::train::{improve, Correction, ImproveOptions, ImproveReport};
pub use dafne_ml::MlError;
