//! Editing commands: each one gesture, one undo step, followed by a `RoiModified` event.

use serde::Deserialize;
use specta::Type;
use tauri::{AppHandle, State};

use dafne_session::workspace::{BoolOp, Morphology, Output};

use super::{notify, with_ws, AppState, RoiModified};
use crate::error::{CmdResult, CommandError, ErrorKind};
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

fn slice_of(slice: u32) -> usize {
    slice as usize
}

#[tauri::command]
#[specta::specta]
pub async fn delete_roi(
    app: AppHandle,
    state: State<'_, AppState>,
    roi: u32,
) -> CmdResult<RoiModified> {
    let changed = with_ws(&state, |ws| Ok(ws.delete_roi(roi)?))?;
    Ok(notify(&app, changed))
}

#[tauri::command]
#[specta::specta]
pub async fn rename_roi(
    app: AppHandle,
    state: State<'_, AppState>,
    roi: u32,
    name: String,
) -> CmdResult<RoiModified> {
    let changed = with_ws(&state, |ws| Ok(ws.rename_roi(roi, &name)?))?;
    Ok(notify(&app, changed))
}

/// A deep copy of `roi` named `name`; returns the copy's id.
#[tauri::command]
#[specta::specta]
pub async fn copy_roi(
    app: AppHandle,
    state: State<'_, AppState>,
    roi: u32,
    name: String,
) -> CmdResult<u32> {
    let (changed, id) = with_ws(&state, |ws| Ok(ws.copy_roi(roi, &name)?))?;
    notify(&app, changed);
    Ok(id)
}

/// ROI > Combine's operations.
#[derive(Clone, Copy, Debug, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum BoolOpDto {
    Union,
    Subtraction,
    Intersection,
    Exclusion,
}

/// Where a combination goes: `existing` (a ROI id) or `newName`, exactly one.
#[derive(Clone, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CombineOutputDto {
    pub existing: Option<u32>,
    pub new_name: Option<String>,
}

/// `rois[0] op rois[1] op ...` on every slice, into an existing ROI or a new one; returns the
/// new ROI's id when one was made.
#[tauri::command]
#[specta::specta]
pub async fn combine_rois(
    app: AppHandle,
    state: State<'_, AppState>,
    rois: Vec<u32>,
    op: BoolOpDto,
    output: CombineOutputDto,
) -> CmdResult<Option<u32>> {
    let op = match op {
        BoolOpDto::Union => BoolOp::Union,
        BoolOpDto::Subtraction => BoolOp::Subtraction,
        BoolOpDto::Intersection => BoolOp::Intersection,
        BoolOpDto::Exclusion => BoolOp::Exclusion,
    };
    let output = match (output.existing, output.new_name) {
        (Some(id), None) => Output::Existing(id),
        (None, Some(name)) => Output::New(name),
        _ => {
            return Err(CommandError::new(
                ErrorKind::InvalidInput,
                "a combination goes into either an existing ROI or a new one",
            ))
        }
    };
    let (changed, id) = with_ws(&state, |ws| Ok(ws.combine(rois, op, output)?))?;
    notify(&app, changed);
    Ok(id)
}

/// "Remove overlap" (`r`): `roi` subtracted from every other ROI on `slice`.
#[tauri::command]
#[specta::specta]
pub async fn remove_overlap(
    app: AppHandle,
    state: State<'_, AppState>,
    roi: u32,
    slice: u32,
) -> CmdResult<RoiModified> {
    let changed = with_ws(&state, |ws| Ok(ws.remove_overlap(roi, slice_of(slice))?))?;
    Ok(notify(&app, changed))
}

/// "Clear": empties `roi` on `slice`.
#[tauri::command]
#[specta::specta]
pub async fn clear_slice(
    app: AppHandle,
    state: State<'_, AppState>,
    roi: u32,
    slice: u32,
) -> CmdResult<RoiModified> {
    let changed = with_ws(&state, |ws| Ok(ws.clear_slice(roi, slice_of(slice))?))?;
    Ok(notify(&app, changed))
}

#[derive(Clone, Copy, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum MorphologyDto {
    Grow,
    Shrink,
    Despeckle,
    FillHoles,
}

/// Grow, shrink, despeckle or fill holes (area radius²) on `roi` of `slice`.
#[tauri::command]
#[specta::specta]
pub async fn morphology(
    app: AppHandle,
    state: State<'_, AppState>,
    roi: u32,
    slice: u32,
    op: MorphologyDto,
    radius_px: u32,
) -> CmdResult<RoiModified> {
    let op = match op {
        MorphologyDto::Grow => Morphology::Grow,
        MorphologyDto::Shrink => Morphology::Shrink,
        MorphologyDto::Despeckle => Morphology::Despeckle,
        MorphologyDto::FillHoles => Morphology::FillHoles,
    };
    let changed = with_ws(&state, |ws| {
        Ok(ws.morphology(roi, slice_of(slice), op, radius_px)?)
    })?;
    Ok(notify(&app, changed))
}

/// Auto Threshold on `roi`, or on every ROI of the slice when `roi` is null.
#[tauri::command]
#[specta::specta]
pub async fn auto_threshold(
    app: AppHandle,
    state: State<'_, AppState>,
    roi: Option<u32>,
    slice: u32,
) -> CmdResult<RoiModified> {
    let changed = with_ws(&state, |ws| Ok(ws.auto_threshold(roi, slice_of(slice))?))?;
    Ok(notify(&app, changed))
}
