//! The data model every other crate shares: a [`Volume`] of voxels with the stored type kept
//! exactly, the rescale that turns stored values into real ones, and the [`Geometry`] that places
//! each voxel in patient space (LPS millimetres, with a RAS view for NIfTI).
//!
//! [`SliceMask`] is the bit-packed 2-D mask every ROI is made of (editing lives in dafne-roi,
//! import and export in dafne-io).
//!
//! Memory layout is the same everywhere: axis 0 varies fastest, then axis 1, axis 2 and the
//! frame axis (time or contrast). For DICOM, axis 0 is the column, axis 1 the row and axis 2 the
//! slice, as in ITK and NIfTI. No IO, no async, no GPU here.

mod civil;
mod geometry;
mod labels;
mod mask;
mod named;
mod permute;
mod progress;
mod reorient;
mod volume;
mod voxels;

pub use civil::UtcTime;
pub use geometry::{flip_lps_ras, matmul, Affine, Geometry, GeometrySource};
pub use labels::{LEG_LABELS, THIGH_LABELS};
pub use mask::{BoundingBox, MaskError, SliceMask, MAX_PIXELS, WORD_BITS};
pub use named::NamedMasks;
pub use permute::{permute_axes, AxisMap};
pub use progress::{NoProgress, Progress};
pub use reorient::{invert_slices, reorient, PlaneOrientation};
pub use volume::{LinearMap, Rescale, SeriesInfo, Volume, VolumeError};
pub use voxels::{DType, Voxels};
