//! The IPC surface, one module per area. Each command adapts one `Workspace` call (argument
//! shapes in, DTOs or raw bytes out) and holds no logic of its own. Every command is listed in
//! [`crate::ipc::builder`], which also generates `ui/src/bindings.ts`.

pub mod app;
pub mod contour;
pub mod edit;
pub mod files;
pub mod jobs;
pub mod ml;
pub mod view;

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::ipc::{InvokeResponseBody, IpcResponse};
use tauri::AppHandle;
use tauri_specta::Event;

use crate::error::{CmdResult, CommandError, ErrorKind};
use crate::workspace::{Changed, Workspace};

/// The open dataset, if any. One lock: commands are short and the UI serialises gestures.
#[derive(Debug, Default)]
pub struct AppState(pub Mutex<Option<Workspace>>);

/// Bulk data (pixels, masks) as raw bytes: an `ArrayBuffer` in the page, never a JSON array.
pub struct RawBytes(pub Vec<u8>);

impl IpcResponse for RawBytes {
    fn body(self) -> tauri::Result<InvokeResponseBody> {
        Ok(InvokeResponseBody::Raw(self.0))
    }
}

impl Type for RawBytes {
    fn definition(_: &mut specta::Types) -> specta::datatype::DataType {
        specta::datatype::DataType::Reference(specta_typescript::define("ArrayBuffer"))
    }
}

/// Sent to every window after an edit, so the Toolbox and the Image Window stay in step:
/// `(roi, slice)` pairs whose masks changed and ROIs added, removed or renamed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type, tauri_specta::Event)]
pub struct RoiModified {
    pub masks: Vec<(u32, u32)>,
    pub rois: Vec<u32>,
}

impl From<Changed> for RoiModified {
    fn from(c: Changed) -> Self {
        RoiModified {
            masks: c
                .masks
                .into_iter()
                .map(|(roi, slice)| (roi, u32::try_from(slice).unwrap_or(u32::MAX)))
                .collect(),
            rois: c.rois,
        }
    }
}

/// Runs `f` on the open workspace.
pub fn with_ws<T>(
    state: &AppState,
    f: impl FnOnce(&mut Workspace) -> CmdResult<T>,
) -> CmdResult<T> {
    let mut guard = state
        .0
        .lock()
        .map_err(|_| CommandError::new(ErrorKind::Internal, "the workspace lock is poisoned"))?;
    f(guard.as_mut().ok_or_else(CommandError::no_dataset)?)
}

/// Tells every window what changed; returns the same for the caller.
pub fn notify(app: &AppHandle, changed: Changed) -> RoiModified {
    let event = RoiModified::from(changed);
    // A window that is gone cannot miss anything it could show.
    let _ = event.emit(app);
    event
}
