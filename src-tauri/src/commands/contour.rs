//! Contour mode and the per-slice metadata: a ROI's sub-ROIs (knots) on a slice, the knot
//! edits (each one undo step, then `RoiModified`), the slice's classification and its
//! restrict-area box.

use dafne_session::workspace::ContourOp;
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, State};

use super::{notify, with_ws, AppState, RoiModified};
use crate::error::{CmdResult, CommandError, ErrorKind};

/// A sub-ROI's knots `[x = column, y = row]` in voxels.
#[derive(Clone, Debug, Serialize, Type)]
pub struct SubRoiDto {
    // Finite by construction (the edits refuse NaN): plain numbers.
    #[specta(type = Vec<[specta_typescript::Number; 2]>)]
    pub knots: Vec<[f64; 2]>,
    /// The drawn curve through the knots, pixel centres (empty under 4 knots).
    #[specta(type = Vec<[specta_typescript::Number; 2]>)]
    pub curve: Vec<[f64; 2]>,
}

/// The sub-ROIs of `roi` on `slice`: stored, or traced from the mask.
#[tauri::command]
#[specta::specta]
pub async fn roi_contours(
    state: State<'_, AppState>,
    roi: u32,
    slice: u32,
) -> CmdResult<Vec<SubRoiDto>> {
    let contours = with_ws(&state, |ws| Ok(ws.contours(roi, slice as usize)?))?;
    Ok(contours
        .into_iter()
        .map(|c| SubRoiDto {
            curve: c.curve(),
            knots: c.knots,
        })
        .collect())
}

/// One contour gesture on sub-ROI `sub` (points in voxels, `[x, y]`).
#[derive(Clone, Debug, Deserialize, Type)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ContourOpDto {
    AddKnot {
        sub: u32,
        at: [f64; 2],
    },
    MoveKnot {
        sub: u32,
        from: [f64; 2],
        to: [f64; 2],
    },
    RemoveKnot {
        sub: u32,
        at: [f64; 2],
    },
    Translate {
        sub: u32,
        by: [f64; 2],
    },
    Rotate {
        sub: u32,
        angle_rad: f64,
    },
    Snap {
        sub: u32,
    },
    Simplify {
        sub: u32,
    },
    DeleteSubRoi {
        sub: u32,
    },
}

impl From<ContourOpDto> for ContourOp {
    fn from(o: ContourOpDto) -> Self {
        let s = |sub: u32| sub as usize;
        match o {
            ContourOpDto::AddKnot { sub, at } => ContourOp::AddKnot { sub: s(sub), at },
            ContourOpDto::MoveKnot { sub, from, to } => ContourOp::MoveKnot {
                sub: s(sub),
                from,
                to,
            },
            ContourOpDto::RemoveKnot { sub, at } => ContourOp::RemoveKnot { sub: s(sub), at },
            ContourOpDto::Translate { sub, by } => ContourOp::Translate { sub: s(sub), by },
            ContourOpDto::Rotate { sub, angle_rad } => ContourOp::Rotate {
                sub: s(sub),
                angle_rad,
            },
            ContourOpDto::Snap { sub } => ContourOp::Snap { sub: s(sub) },
            ContourOpDto::Simplify { sub } => ContourOp::Simplify { sub: s(sub) },
            ContourOpDto::DeleteSubRoi { sub } => ContourOp::DeleteSubRoi { sub: s(sub) },
        }
    }
}

#[tauri::command]
#[specta::specta]
pub async fn edit_contour(
    app: AppHandle,
    state: State<'_, AppState>,
    roi: u32,
    slice: u32,
    op: ContourOpDto,
) -> CmdResult<RoiModified> {
    let changed = with_ws(&state, |ws| {
        Ok(ws.edit_contour(roi, slice as usize, op.into())?)
    })?;
    Ok(notify(&app, changed))
}

/// What the Toolbox and the Image Window show for one slice besides the ROIs.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SliceMetaDto {
    pub classification: Option<String>,
    /// Every classification used in the session (the combo's entries besides "None").
    pub classification_names: Vec<String>,
    /// (row, col, height, width) in pixels; null: the whole image.
    pub restrict_box: Option<[u32; 4]>,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[tauri::command]
#[specta::specta]
pub async fn slice_meta(state: State<'_, AppState>, slice: u32) -> CmdResult<SliceMetaDto> {
    with_ws(&state, |ws| {
        let slice = slice as usize;
        if slice >= ws.info().slices {
            return Err(CommandError::new(
                ErrorKind::InvalidInput,
                format!("slice {slice} is outside the dataset"),
            ));
        }
        Ok(SliceMetaDto {
            classification: ws.classification(slice).map(str::to_string),
            classification_names: ws.classification_names(),
            restrict_box: ws.restrict_box(slice).map(|b| b.map(to_u32)),
        })
    })
}

/// Sets the classification of `slice`, or of every slice when `slice` is null; a null or
/// "None" classification clears it. Emits an empty `RoiModified` so both windows refresh.
#[tauri::command]
#[specta::specta]
pub async fn set_classification(
    app: AppHandle,
    state: State<'_, AppState>,
    slice: Option<u32>,
    classification: Option<String>,
) -> CmdResult<()> {
    with_ws(&state, |ws| {
        Ok(ws.set_classification(slice.map(|s| s as usize), classification.as_deref())?)
    })?;
    notify(&app, Default::default());
    Ok(())
}

/// Sets (or with null resets) the restrict-area box of `slice`.
#[tauri::command]
#[specta::specta]
pub async fn set_restrict_box(
    app: AppHandle,
    state: State<'_, AppState>,
    slice: u32,
    area: Option<[u32; 4]>,
) -> CmdResult<()> {
    let area = area.map(|b| b.map(|v| v as usize));
    with_ws(&state, |ws| Ok(ws.set_restrict_box(slice as usize, area)?))?;
    notify(&app, Default::default());
    Ok(())
}

/// "Copy to all" (the box of `slice` on every slice) or, with `reset`, "Reset all".
#[tauri::command]
#[specta::specta]
pub async fn restrict_box_to_all(
    app: AppHandle,
    state: State<'_, AppState>,
    slice: u32,
    reset: bool,
) -> CmdResult<()> {
    with_ws(&state, |ws| {
        if reset {
            ws.reset_all_restrict_boxes();
            Ok(())
        } else {
            Ok(ws.copy_restrict_box_to_all(slice as usize)?)
        }
    })?;
    notify(&app, Default::default());
    Ok(())
}
