//! App-level commands: preferences (one copy, shared by both windows through
//! `PreferencesChanged`), logs, folders, About, quitting, and the path given at start.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use dafne_session::preferences::{self, Preferences};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, State};
use tauri_specta::Event;

use super::AppState;
use crate::error::{CmdResult, CommandError, ErrorKind};
use crate::logs;

/// What the shell holds beside the workspace: folders, preferences, the quit flag.
#[derive(Debug)]
pub struct ShellState {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub preferences: Mutex<Preferences>,
    /// Set once the user agreed to quit: the close handler lets every window go.
    pub quitting: AtomicBool,
    /// The path given on the command line, opened by the Toolbox at start.
    pub startup_path: Option<String>,
    /// Set when the preferences file was damaged; shown once by the Toolbox.
    pub startup_warning: Mutex<Option<String>>,
}

impl ShellState {
    pub fn preferences(&self) -> Preferences {
        self.preferences
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn autosave_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.preferences().autosave_interval))
    }
}

/// Preferences as the page sees them: the typed keys; unknown keys stay in Rust.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct PreferencesDto {
    pub model_provider: String,
    pub split_laterality: bool,
    pub mouse_scroll_debounce_time: u32,
    pub hide_rois_rightclick: bool,
    pub interpolation: String,
    pub colormap: String,
    #[specta(type = [specta_typescript::Number; 4])]
    pub roi_color: [f64; 4],
    #[specta(type = [specta_typescript::Number; 4])]
    pub roi_same_color: [f64; 4],
    #[specta(type = [specta_typescript::Number; 4])]
    pub roi_other_color: [f64; 4],
    pub use_multiple_other_colors: bool,
    #[specta(type = specta_typescript::Number)]
    pub mask_layer_alpha: f64,
    #[specta(type = [specta_typescript::Number; 4])]
    pub brush_paint_color: [f64; 4],
    #[specta(type = [specta_typescript::Number; 4])]
    pub brush_erase_color: [f64; 4],
    pub autosave_interval: u32,
    pub server_url: String,
    pub il_min_slices: u32,
    pub do_incremental_learning: bool,
    pub advanced_config: bool,
}

impl From<&Preferences> for PreferencesDto {
    fn from(p: &Preferences) -> Self {
        PreferencesDto {
            model_provider: p.model_provider.clone(),
            split_laterality: p.split_laterality,
            mouse_scroll_debounce_time: p.mouse_scroll_debounce_time,
            hide_rois_rightclick: p.hide_rois_rightclick,
            interpolation: p.interpolation.clone(),
            colormap: p.colormap.clone(),
            roi_color: p.roi_color,
            roi_same_color: p.roi_same_color,
            roi_other_color: p.roi_other_color,
            use_multiple_other_colors: p.use_multiple_other_colors,
            mask_layer_alpha: p.mask_layer_alpha,
            brush_paint_color: p.brush_paint_color,
            brush_erase_color: p.brush_erase_color,
            autosave_interval: p.autosave_interval,
            server_url: p.server_url.clone(),
            il_min_slices: p.il_min_slices,
            do_incremental_learning: p.do_incremental_learning,
            advanced_config: p.advanced_config,
        }
    }
}

impl PreferencesDto {
    /// These values over `base` (whose unknown keys are kept).
    fn apply_to(self, base: &Preferences) -> Preferences {
        Preferences {
            model_provider: self.model_provider,
            split_laterality: self.split_laterality,
            mouse_scroll_debounce_time: self.mouse_scroll_debounce_time,
            hide_rois_rightclick: self.hide_rois_rightclick,
            interpolation: self.interpolation,
            colormap: self.colormap,
            roi_color: self.roi_color,
            roi_same_color: self.roi_same_color,
            roi_other_color: self.roi_other_color,
            use_multiple_other_colors: self.use_multiple_other_colors,
            mask_layer_alpha: self.mask_layer_alpha,
            brush_paint_color: self.brush_paint_color,
            brush_erase_color: self.brush_erase_color,
            autosave_interval: self.autosave_interval,
            server_url: self.server_url,
            il_min_slices: self.il_min_slices,
            do_incremental_learning: self.do_incremental_learning,
            advanced_config: self.advanced_config,
            other: base.other.clone(),
        }
    }
}

/// Sent to every window when the preferences change.
#[derive(Clone, Debug, Serialize, Deserialize, Type, tauri_specta::Event)]
pub struct PreferencesChanged {
    pub preferences: PreferencesDto,
}

/// Sent when a window is closed while there are unsaved edits: the Toolbox asks the user and
/// calls `quit_app` on yes.
#[derive(Clone, Debug, Serialize, Deserialize, Type, tauri_specta::Event)]
pub struct CloseRequested {
    pub window: String,
}

fn store(app: &AppHandle, shell: &ShellState, ws: &AppState, p: Preferences) -> CmdResult<()> {
    preferences::save(&shell.config_dir, &p)?;
    let dto = PreferencesDto::from(&p);
    let interval = Duration::from_secs(u64::from(p.autosave_interval));
    *shell.preferences.lock().map_err(|_| {
        CommandError::new(ErrorKind::Internal, "the preferences lock is poisoned")
    })? = p;
    if let Ok(mut guard) = ws.0.lock() {
        if let Some(w) = guard.as_mut() {
            w.set_autosave_interval(interval);
        }
    }
    logs::info("preferences saved");
    let _ = PreferencesChanged { preferences: dto }.emit(app);
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn get_preferences(shell: State<'_, ShellState>) -> CmdResult<PreferencesDto> {
    Ok(PreferencesDto::from(&shell.preferences()))
}

/// Validates, saves (atomically) and broadcasts the preferences.
#[tauri::command]
#[specta::specta]
pub async fn set_preferences(
    app: AppHandle,
    shell: State<'_, ShellState>,
    ws: State<'_, AppState>,
    preferences: PreferencesDto,
) -> CmdResult<PreferencesDto> {
    let p = preferences.apply_to(&shell.preferences());
    store(&app, &shell, &ws, p.clone())?;
    Ok(PreferencesDto::from(&p))
}

/// Restore factory settings. `keep_api_key` keeps the server key (the original's default).
#[tauri::command]
#[specta::specta]
pub async fn reset_preferences(
    app: AppHandle,
    shell: State<'_, ShellState>,
    ws: State<'_, AppState>,
    keep_api_key: bool,
) -> CmdResult<PreferencesDto> {
    let keep: &[&str] = if keep_api_key { &["API_KEY"] } else { &[] };
    let p = preferences::factory(&shell.preferences(), keep);
    store(&app, &shell, &ws, p.clone())?;
    Ok(PreferencesDto::from(&p))
}

/// A warning from start-up (a damaged preferences file), once.
#[tauri::command]
#[specta::specta]
pub async fn startup_warning(shell: State<'_, ShellState>) -> CmdResult<Option<String>> {
    Ok(shell.startup_warning.lock().ok().and_then(|mut w| w.take()))
}

/// The path given on the command line (`dafne-app PATH`), if any.
#[tauri::command]
#[specta::specta]
pub async fn startup_path(shell: State<'_, ShellState>) -> CmdResult<Option<String>> {
    Ok(shell.startup_path.clone())
}

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LogsDto {
    pub folder: String,
    pub output_log: String,
    pub error_log: String,
}

/// The tail (last 200 KiB) of a log file; empty when it does not exist yet.
fn tail(path: &Path) -> String {
    const MAX: usize = 200 * 1024;
    match std::fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(MAX);
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        }
        Err(_) => String::new(),
    }
}

#[tauri::command]
#[specta::specta]
pub async fn read_logs(shell: State<'_, ShellState>) -> CmdResult<LogsDto> {
    Ok(LogsDto {
        folder: shell.log_dir.display().to_string(),
        output_log: tail(&shell.log_dir.join(logs::OUTPUT_LOG)),
        error_log: tail(&shell.log_dir.join(logs::ERROR_LOG)),
    })
}

#[derive(Clone, Copy, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum AppFolder {
    Logs,
    Models,
}

/// Opens one of the app's folders in the system file manager (created first).
#[tauri::command]
#[specta::specta]
pub async fn open_folder(shell: State<'_, ShellState>, folder: AppFolder) -> CmdResult<String> {
    let dir = match folder {
        AppFolder::Logs => shell.log_dir.clone(),
        // Where installed and improved models live (the model store's user folder).
        AppFolder::Models => dafne_session::models::default_user_dir()?,
    };
    let io = |e: std::io::Error| {
        CommandError::new(
            ErrorKind::Io,
            format!("cannot open the folder ({e}): {}", dir.display()),
        )
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let opener = if cfg!(target_os = "windows") {
        "explorer"
    } else if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    // Not waited for: the file manager outlives the call.
    std::process::Command::new(opener)
        .arg(&dir)
        .spawn()
        .map_err(io)?;
    Ok(dir.display().to_string())
}

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AboutDto {
    pub name: String,
    pub version: String,
    pub licence: String,
    pub description: String,
}

#[tauri::command]
#[specta::specta]
pub async fn about() -> CmdResult<AboutDto> {
    Ok(AboutDto {
        name: "Dafne".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        licence: env!("CARGO_PKG_LICENSE").into(),
        description: "Deep Anatomical Federated Network: segmentation of muscle MRI with \
                      deep learning and manual editing. This is a re-implementation in Rust and \
                      TypeScript of the original Dafne (dafne.network)."
            .into(),
    })
}

/// Quits the app (both windows), after the user agreed to lose unsaved edits.
#[tauri::command]
#[specta::specta]
pub async fn quit_app(app: AppHandle, shell: State<'_, ShellState>) -> CmdResult<()> {
    shell.quitting.store(true, Ordering::SeqCst);
    logs::info("quit");
    app.exit(0);
    Ok(())
}
