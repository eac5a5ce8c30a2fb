//! Dafne's desktop shell: two windows (Toolbox and Image Window, declared in
//! `tauri.conf.json`) over one shared workspace. All behaviour lives in `dafne-session`;
//! this crate only adapts it to IPC, and runs what a desktop app adds around it: the log
//! files, preferences, the autosave thread, the close prompt and `dafne-app [PATH]`.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod error;
mod ipc;
mod logs;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tauri::{Manager, WindowEvent};
use tauri_specta::Event;

use commands::app::{CloseRequested, ShellState};
use commands::AppState;

/// What the commands see of the engine.
mod workspace {
    pub use dafne_roi::{BrushShape, Changed};
    pub use dafne_session::workspace::{DatasetInfo, PaintStroke, RoiInfo, Workspace};
    pub use dafne_session::SessionError;
}

/// How often the autosave thread looks whether an autosave is due (the interval itself is
/// the preference AUTOSAVE_INTERVAL).
const AUTOSAVE_POLL: Duration = Duration::from_secs(2);

fn main() {
    // `dafne-app [PATH]`, as the original's `dafne [path]`: opened by the Toolbox at start.
    let startup_path = std::env::args_os()
        .nth(1)
        .map(|p| std::path::absolute(&p).unwrap_or_else(|_| PathBuf::from(p)))
        .map(|p| p.display().to_string());
    let ipc = ipc::builder();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::default())
        .manage(commands::jobs::Jobs::default())
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            ipc.mount_events(app);
            let paths = app.path();
            let config_dir = paths.app_config_dir()?;
            let data_dir = paths.app_data_dir()?;
            let log_dir = paths.app_log_dir()?;
            if let Err(e) = logs::init(&log_dir) {
                eprintln!(
                    "dafne: logging is off: cannot open the log files ({e}): {}",
                    log_dir.display()
                );
            }
            let loaded = dafne_session::preferences::load(&config_dir);
            if let Some(w) = &loaded.warning {
                logs::error(w);
            }
            app.manage(ShellState {
                config_dir,
                data_dir,
                log_dir,
                preferences: Mutex::new(loaded.preferences),
                quitting: AtomicBool::new(false),
                startup_path,
                startup_warning: Mutex::new(loaded.warning),
            });
            spawn_autosave(app.handle().clone());
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle();
                let quitting = app
                    .try_state::<ShellState>()
                    .is_some_and(|s| s.quitting.load(Ordering::SeqCst));
                if !quitting && unsaved(app) {
                    api.prevent_close();
                    let _ = CloseRequested {
                        window: window.label().to_string(),
                    }
                    .emit(app);
                } else {
                    // Closing either window quits: both go.
                    logs::info("window closed: quit");
                    app.exit(0);
                }
            }
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("dafne: the app failed to start: {e}");
        std::process::exit(1);
    }
}

fn unsaved(app: &tauri::AppHandle) -> bool {
    let state = app.state::<AppState>();
    let guard = state.0.lock().unwrap_or_else(|p| p.into_inner());
    guard.as_ref().is_some_and(|ws| ws.has_unsaved_changes())
}

/// Writes the autosave whenever it is due, off the UI's path.
fn spawn_autosave(app: tauri::AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("autosave".into())
        .spawn(move || loop {
            std::thread::sleep(AUTOSAVE_POLL);
            let state = app.state::<AppState>();
            let Ok(mut guard) = state.0.lock() else {
                logs::error("autosave stopped: the workspace lock is poisoned");
                return;
            };
            if let Some(ws) = guard.as_mut() {
                match ws.autosave_if_due() {
                    Ok(Some(path)) => logs::info(&format!("autosaved: {}", path.display())),
                    Ok(None) => {}
                    Err(e) => logs::error(&format!("autosave failed: {e}")),
                }
            }
        });
    if let Err(e) = spawned {
        logs::error(&format!("autosave is off: cannot start its thread: {e}"));
    }
}
