//! Dafne's desktop shell: two windows (Toolbox and Image Window, declared in
//! `tauri.conf.json`) over one shared workspace. All behaviour lives in `dafne-session`;
//! this crate only adapts it to IPC.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod error;
mod ipc;

/// What the commands see of the engine.
mod workspace {
    pub use dafne_roi::{BrushShape, Changed};
    pub use dafne_session::workspace::{DatasetInfo, PaintStroke, RoiInfo, Workspace};
    pub use dafne_session::SessionError;
}

fn main() {
    let ipc = ipc::builder();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(commands::AppState::default())
        .manage(commands::jobs::Jobs::default())
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            ipc.mount_events(app);
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("dafne: the app failed to start: {e}");
        std::process::exit(1);
    }
}
