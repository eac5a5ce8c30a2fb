//! The IPC surface: each command adapts one `Workspace` call (argument shapes in, DTOs or raw
//! bytes out) and holds no logic of its own. Pixels and masks leave as raw little-endian bytes
//! (`tauri::ipc::Response` → an `ArrayBuffer` in the page), never as JSON arrays. Edits emit
//! `roi-modified` to every window so the Toolbox and the Image Window stay in step.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::ipc::Response;
use tauri::{AppHandle, Emitter, State};

use crate::error::{CmdResult, CommandError, ErrorKind};
use crate::workspace::{BrushShape, Changed, DatasetInfo, PaintStroke, RoiInfo, Workspace};

/// The open dataset, if any. One lock: commands are short and the UI serialises gestures.
#[derive(Debug, Default)]
pub struct AppState(Mutex<Option<Workspace>>);

pub const EVENT_DATASET_OPENED: &str = "dataset-opened";
pub const EVENT_ROI_MODIFIED: &str = "roi-modified";

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetInfoDto {
    pub rows: usize,
    pub cols: usize,
    pub slices: usize,
    pub spacing_mm: [f64; 3],
    pub window: [f32; 2],
    pub description: String,
}

impl From<DatasetInfo> for DatasetInfoDto {
    fn from(i: DatasetInfo) -> Self {
        DatasetInfoDto {
            rows: i.rows,
            cols: i.cols,
            slices: i.slices,
            spacing_mm: i.spacing_mm,
            window: i.window,
            description: i.description,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct OpenReply {
    pub info: DatasetInfoDto,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RoiInfoDto {
    pub id: u32,
    pub name: String,
    pub voxels: usize,
}

impl From<RoiInfo> for RoiInfoDto {
    fn from(r: RoiInfo) -> Self {
        RoiInfoDto {
            id: r.id,
            name: r.name,
            voxels: r.voxels,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrushShapeDto {
    Square,
    Circle,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaintStrokeDto {
    pub roi: u32,
    pub slice: usize,
    pub shape: BrushShapeDto,
    pub size_px: u32,
    pub erase: bool,
    /// Erasing removes the pixels from every ROI of the slice.
    pub erase_all: bool,
    /// `[x = column, y = row]` in voxel units.
    pub points_ijk: Vec<[f64; 2]>,
    pub intensity_tolerance: Option<f64>,
}

/// What changed, for the windows to redraw: `(roi, slice)` pairs and ROIs added/removed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChangedDto {
    pub masks: Vec<(u32, usize)>,
    pub rois: Vec<u32>,
}

impl From<Changed> for ChangedDto {
    fn from(c: Changed) -> Self {
        ChangedDto {
            masks: c.masks,
            rois: c.rois,
        }
    }
}

fn with_ws<T>(state: &AppState, f: impl FnOnce(&mut Workspace) -> CmdResult<T>) -> CmdResult<T> {
    let mut guard = state
        .0
        .lock()
        .map_err(|_| CommandError::new(ErrorKind::Internal, "the workspace lock is poisoned"))?;
    f(guard.as_mut().ok_or_else(CommandError::no_dataset)?)
}

fn notify(app: &AppHandle, changed: &ChangedDto) {
    // A window that is gone cannot miss anything it could show.
    let _ = app.emit(EVENT_ROI_MODIFIED, changed);
}

#[tauri::command]
pub async fn open_dataset(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    series: Option<usize>,
) -> CmdResult<OpenReply> {
    let (ws, warnings) = Workspace::open(&PathBuf::from(path), series, None)?;
    let info = DatasetInfoDto::from(ws.info());
    *state
        .0
        .lock()
        .map_err(|_| CommandError::new(ErrorKind::Internal, "the workspace lock is poisoned"))? =
        Some(ws);
    let _ = app.emit(EVENT_DATASET_OPENED, &info);
    Ok(OpenReply { info, warnings })
}

#[tauri::command]
pub async fn dataset_info(state: State<'_, AppState>) -> CmdResult<Option<DatasetInfoDto>> {
    match with_ws(&state, |ws| Ok(ws.info().into())) {
        Ok(i) => Ok(Some(i)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The slice's real values, row-major, f32 little endian.
#[tauri::command]
pub async fn slice_pixels(state: State<'_, AppState>, slice: usize) -> CmdResult<Response> {
    with_ws(&state, |ws| Ok(Response::new(ws.slice_f32_le(slice)?)))
}

#[tauri::command]
pub async fn roi_list(state: State<'_, AppState>) -> CmdResult<Vec<RoiInfoDto>> {
    with_ws(&state, |ws| {
        Ok(ws.roi_list().into_iter().map(Into::into).collect())
    })
}

#[tauri::command]
pub async fn add_roi(app: AppHandle, state: State<'_, AppState>, name: String) -> CmdResult<u32> {
    let id = with_ws(&state, |ws| Ok(ws.add_roi(&name)?))?;
    notify(
        &app,
        &ChangedDto {
            masks: vec![],
            rois: vec![id],
        },
    );
    Ok(id)
}

/// One brush gesture, applied as one undo step.
#[tauri::command]
pub async fn paint(
    app: AppHandle,
    state: State<'_, AppState>,
    stroke: PaintStrokeDto,
) -> CmdResult<ChangedDto> {
    let shape = match stroke.shape {
        BrushShapeDto::Square => BrushShape::Square,
        BrushShapeDto::Circle => BrushShape::Circle,
    };
    let p = PaintStroke {
        roi: stroke.roi,
        slice: stroke.slice,
        shape,
        size_px: stroke.size_px,
        erase: stroke.erase,
        erase_all: stroke.erase_all,
        points: stroke.points_ijk,
        intensity_tolerance: stroke.intensity_tolerance,
    };
    let changed: ChangedDto = with_ws(&state, |ws| Ok(ws.paint(p)?.into()))?;
    notify(&app, &changed);
    Ok(changed)
}

/// The ROI's mask on `slice`, row-major, one byte (0/1) per pixel.
#[tauri::command]
pub async fn roi_mask(state: State<'_, AppState>, roi: u32, slice: usize) -> CmdResult<Response> {
    with_ws(&state, |ws| Ok(Response::new(ws.mask_u8(roi, slice)?)))
}

/// Per pixel (u16 little endian): 1-based index in `roi_list` of the last ROI covering it.
#[tauri::command]
pub async fn slice_labels(state: State<'_, AppState>, slice: usize) -> CmdResult<Response> {
    with_ws(&state, |ws| Ok(Response::new(ws.labels_u16_le(slice)?)))
}

#[tauri::command]
pub async fn undo(app: AppHandle, state: State<'_, AppState>) -> CmdResult<Option<ChangedDto>> {
    let changed = with_ws(&state, |ws| Ok(ws.undo().map(ChangedDto::from)))?;
    if let Some(c) = &changed {
        notify(&app, c);
    }
    Ok(changed)
}

#[tauri::command]
pub async fn redo(app: AppHandle, state: State<'_, AppState>) -> CmdResult<Option<ChangedDto>> {
    let changed = with_ws(&state, |ws| Ok(ws.redo().map(ChangedDto::from)))?;
    if let Some(c) = &changed {
        notify(&app, c);
    }
    Ok(changed)
}
