//! What the Image Window draws: the dataset's layout, slice pixels, masks, labels. (Opening a
//! dataset is File → Load data: `files::load_data`.)

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use super::{with_ws, AppState, RawBytes};
use crate::error::{CmdResult, ErrorKind};
use crate::workspace::{DatasetInfo, RoiInfo};

#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DatasetInfoDto {
    pub rows: u32,
    pub cols: u32,
    pub slices: u32,
    // Finite by construction: typed as plain numbers (serde_json would send NaN as null).
    #[specta(type = [specta_typescript::Number; 3])]
    pub spacing_mm: [f64; 3],
    #[specta(type = [specta_typescript::Number; 2])]
    pub window: [f32; 2],
    pub description: String,
    /// Voxel (column, row, slice) to patient LPS mm, row-major 4 x 4.
    #[specta(type = [[specta_typescript::Number; 4]; 4])]
    pub affine_lps: [[f64; 4]; 4],
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<DatasetInfo> for DatasetInfoDto {
    fn from(i: DatasetInfo) -> Self {
        DatasetInfoDto {
            rows: to_u32(i.rows),
            cols: to_u32(i.cols),
            slices: to_u32(i.slices),
            spacing_mm: i.spacing_mm,
            window: i.window,
            description: i.description,
            affine_lps: i.affine_lps,
        }
    }
}

/// Sent to every window when a dataset has been opened.
#[derive(Clone, Debug, Serialize, Deserialize, Type, tauri_specta::Event)]
pub struct DatasetOpened {
    pub info: DatasetInfoDto,
}

#[derive(Clone, Debug, Serialize, Type)]
pub struct RoiInfoDto {
    pub id: u32,
    pub name: String,
    /// Voxels over all slices (f64: may pass 2^32 on large series).
    #[specta(type = specta_typescript::Number)]
    pub voxels: f64,
}

impl From<RoiInfo> for RoiInfoDto {
    fn from(r: RoiInfo) -> Self {
        RoiInfoDto {
            id: r.id,
            name: r.name,
            voxels: r.voxels as f64,
        }
    }
}

#[tauri::command]
#[specta::specta]
pub async fn dataset_info(state: State<'_, AppState>) -> CmdResult<Option<DatasetInfoDto>> {
    match with_ws(&state, |ws| Ok(ws.info().into())) {
        Ok(i) => Ok(Some(i)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The slice's real values, row-major, f32 little endian.
#[tauri::command]
#[specta::specta]
pub async fn slice_pixels(state: State<'_, AppState>, slice: u32) -> CmdResult<RawBytes> {
    with_ws(&state, |ws| Ok(RawBytes(ws.slice_f32_le(slice as usize)?)))
}

#[tauri::command]
#[specta::specta]
pub async fn roi_list(state: State<'_, AppState>) -> CmdResult<Vec<RoiInfoDto>> {
    with_ws(&state, |ws| {
        Ok(ws.roi_list().into_iter().map(Into::into).collect())
    })
}

/// The ROI's mask on `slice`, row-major, one byte (0/1) per pixel.
#[tauri::command]
#[specta::specta]
pub async fn roi_mask(state: State<'_, AppState>, roi: u32, slice: u32) -> CmdResult<RawBytes> {
    with_ws(&state, |ws| Ok(RawBytes(ws.mask_u8(roi, slice as usize)?)))
}

/// Per pixel (u16 little endian): 1-based index in `roi_list` of the last ROI covering it.
#[tauri::command]
#[specta::specta]
pub async fn slice_labels(state: State<'_, AppState>, slice: u32) -> CmdResult<RawBytes> {
    with_ws(&state, |ws| Ok(RawBytes(ws.labels_u16_le(slice as usize)?)))
}
