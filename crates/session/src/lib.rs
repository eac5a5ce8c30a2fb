//! Application services: the body of every command the desktop app and the `dafne` CLI share,
//! independent of any host (no Tauri, no HTTP, no terminal). A shell parses its input, calls
//! one function here and presents the result.
//!
//! - [`dataset`]: open a dataset and name it stably ([`Dataset::id`]) so that sessions and
//!   autosaves are matched to the data they were made on;
//! - [`sessions`]: read a session file checked against its dataset, start an empty one;
//! - [`legacy`]: the original's `.p` ROI files;
//! - [`masks`]: masks in and out in every format;
//! - [`models`]: the model store (the user's and the bundled model packages, by name);
//! - [`preferences`]: the user's preferences, stored as JSON;
//! - [`recovery`]: find the autosave of a dataset when it is opened again, clean up what a
//!   killed save left behind;
//! - [`restrict`]: per-slice restrict-area boxes and classifications;
//! - [`segmentation`]: AutoSegment and Improve model (which model, orientation, crops,
//!   the user's corrections as training data);
//! - [`statistics`]: the statistics CSV;
//! - [`tools`]: editing tools that read the pixels (Auto Threshold);
//! - [`workspace`]: the open document of the app (dataset, ROIs with undo, metadata,
//!   autosave): every app command is one of its methods.

pub mod dataset;
mod error;
pub mod jobs;
pub mod legacy;
pub mod masks;
pub mod models;
pub mod preferences;
pub mod recovery;
pub mod restrict;
pub mod segmentation;
pub mod sessions;
pub mod statistics;
pub mod tools;
pub mod workspace;

pub use dafne_roi::session_file::Session;
pub use dataset::Dataset;
pub use error::SessionError;
pub use workspace::Workspace;
