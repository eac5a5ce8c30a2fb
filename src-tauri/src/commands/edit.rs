//! Editing commands: each one gesture, one undo step, followed by a `RoiModified` event.

use serde::Deserialize;
use specta::Type;
use tauri::{AppHandle, State};

use super::{notify, with_ws, AppState, RoiModified};
use crate::error::CmdResult;
use crate::workspace::{BrushShape, PaintStroke};

#[derive(Clone, Copy, Debug, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum BrushShapeDto {
    Square,
    Circle,
}

#[derive(Clone, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PaintStrokeDto {
    pub roi: u32,
    pub slice: u32,
    pub shape: BrushShapeDto,
    pub size_px: u32,
    pub erase: bool,
    /// Erasing removes the pixels from every ROI of the slice.
    pub erase_all: bool,
    /// `[x = column, y = row]` in voxel units.
    pub points_ijk: Vec<[f64; 2]>,
    pub intensity_tolerance: Option<f64>,
}

#[tauri::command]
#[specta::specta]
pub async fn add_roi(app: AppHandle, state: State<'_, AppState>, name: String) -> CmdResult<u32> {
    let id = with_ws(&state, |ws| Ok(ws.add_roi(&name)?))?;
    notify(
        &app,
        dafne_roi::Changed {
            masks: vec![],
            rois: vec![id],
        },
    );
    Ok(id)
}

/// One brush gesture, applied as one undo step.
#[tauri::command]
#[specta::specta]
pub async fn paint(
    app: AppHandle,
    state: State<'_, AppState>,
    stroke: PaintStrokeDto,
) -> CmdResult<RoiModified> {
    let shape = match stroke.shape {
        BrushShapeDto::Square => BrushShape::Square,
        BrushShapeDto::Circle => BrushShape::Circle,
    };
    let p = PaintStroke {
        roi: stroke.roi,
        slice: stroke.slice as usize,
        shape,
        size_px: stroke.size_px,
        erase: stroke.erase,
        erase_all: stroke.erase_all,
        points: stroke.points_ijk,
        intensity_tolerance: stroke.intensity_tolerance,
    };
    let changed = with_ws(&state, |ws| Ok(ws.paint(p)?))?;
    Ok(notify(&app, changed))
}

#[tauri::command]
#[specta::specta]
pub async fn undo(app: AppHandle, state: State<'_, AppState>) -> CmdResult<Option<RoiModified>> {
    let changed = with_ws(&state, |ws| Ok(ws.undo()))?;
    Ok(changed.map(|c| notify(&app, c)))
}

#[tauri::command]
#[specta::specta]
pub async fn redo(app: AppHandle, state: State<'_, AppState>) -> CmdResult<Option<RoiModified>> {
    let changed = with_ws(&state, |ws| Ok(ws.redo()))?;
    Ok(changed.map(|c| notify(&app, c)))
}
