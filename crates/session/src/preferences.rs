//! The user's preferences (reference §1.16): the original's keys and defaults where they apply
//! to this app, stored as JSON (`preferences.json` in the platform's config folder) instead of
//! the original's pickle. Saves are atomic (temp file + rename); a damaged file is moved aside
//! and the defaults used, with a warning; keys this version does not know are kept as they were,
//! so an older app never erases what a newer one wrote. The server API key is not here: it goes
//! to the OS keyring.
//!
//! DICOM_SORT is left out on purpose: the loader always sorts slices along the plane normal,
//! which is what the original's "SlicePosition" meant and never did.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SessionError;

/// The file name inside the config folder.
pub const FILE_NAME: &str = "preferences.json";

/// An RGBA colour, each channel 0..=1 (as the original stores them).
pub type Rgba = [f64; 4];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", default)]
pub struct Preferences {
    /// "Local", "Remote" or "Mixed".
    pub model_provider: String,
    pub split_laterality: bool,
    /// 0..=1000 ms.
    pub mouse_scroll_debounce_time: u32,
    pub hide_rois_rightclick: bool,
    /// One of [`INTERPOLATIONS`].
    pub interpolation: String,
    /// One of [`COLORMAPS`].
    pub colormap: String,
    pub roi_color: Rgba,
    pub roi_same_color: Rgba,
    pub roi_other_color: Rgba,
    pub use_multiple_other_colors: bool,
    /// 0..=1.
    pub mask_layer_alpha: f64,
    pub brush_paint_color: Rgba,
    pub brush_erase_color: Rgba,
    /// 1..=1000 s.
    pub autosave_interval: u32,
    pub server_url: String,
    /// 1..=50.
    pub il_min_slices: u32,
    pub do_incremental_learning: bool,
    pub advanced_config: bool,
    /// Keys this version does not know, kept as read.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

pub const MODEL_PROVIDERS: [&str; 3] = ["Local", "Remote", "Mixed"];
pub const INTERPOLATIONS: [&str; 7] = [
    "none", "nearest", "bilinear", "bicubic", "spline36", "catrom", "lanczos",
];
pub const COLORMAPS: [&str; 5] = ["gray", "viridis", "magma", "gist_yarg", "hsv"];

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            model_provider: "Local".into(),
            split_laterality: true,
            mouse_scroll_debounce_time: 200,
            hide_rois_rightclick: true,
            interpolation: "spline36".into(),
            colormap: "gray".into(),
            roi_color: [1.0, 0.0, 0.0, 0.5],
            roi_same_color: [1.0, 1.0, 0.0, 0.5],
            roi_other_color: [0.0, 0.0, 1.0, 0.4],
            use_multiple_other_colors: true,
            mask_layer_alpha: 0.4,
            brush_paint_color: [1.0, 0.0, 0.0, 0.6],
            brush_erase_color: [0.0, 0.0, 1.0, 0.6],
            autosave_interval: 30,
            server_url: "https://www.dafne.network/api/".into(),
            il_min_slices: 5,
            do_incremental_learning: true,
            advanced_config: false,
            other: BTreeMap::new(),
        }
    }
}

impl Preferences {
    /// Checks every value's range; the message names the key and the allowed values.
    pub fn validate(&self) -> Result<(), SessionError> {
        let bad = |key: &str, allowed: &str| {
            Err(SessionError::InvalidInput(format!(
                "preference {key} must be {allowed}"
            )))
        };
        if !MODEL_PROVIDERS.contains(&self.model_provider.as_str()) {
            return bad("MODEL_PROVIDER", "one of Local, Remote, Mixed");
        }
        if self.mouse_scroll_debounce_time > 1000 {
            return bad("MOUSE_SCROLL_DEBOUNCE_TIME", "0 to 1000 ms");
        }
        if !INTERPOLATIONS.contains(&self.interpolation.as_str()) {
            return bad("INTERPOLATION", &INTERPOLATIONS.join(", "));
        }
        if !COLORMAPS.contains(&self.colormap.as_str()) {
            return bad("COLORMAP", &COLORMAPS.join(", "));
        }
        let colours = [
            ("ROI_COLOR", self.roi_color),
            ("ROI_SAME_COLOR", self.roi_same_color),
            ("ROI_OTHER_COLOR", self.roi_other_color),
            ("BRUSH_PAINT_COLOR", self.brush_paint_color),
            ("BRUSH_ERASE_COLOR", self.brush_erase_color),
        ];
        for (key, c) in colours {
            if !c.iter().all(|v| (0.0..=1.0).contains(v)) {
                return bad(key, "four channels between 0 and 1");
            }
        }
        if !(0.0..=1.0).contains(&self.mask_layer_alpha) {
            return bad("MASK_LAYER_ALPHA", "between 0 and 1");
        }
        if !(1..=1000).contains(&self.autosave_interval) {
            return bad("AUTOSAVE_INTERVAL", "1 to 1000 s");
        }
        if !(1..=50).contains(&self.il_min_slices) {
            return bad("IL_MIN_SLICES", "1 to 50");
        }
        if self.server_url.trim().is_empty() {
            return bad("SERVER_URL", "a URL");
        }
        Ok(())
    }
}

/// What [`load`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub preferences: Preferences,
    /// Set when the file was damaged or out of range and the defaults are used instead.
    pub warning: Option<String>,
}

/// Reads `dir/preferences.json`. A missing file gives the defaults; a damaged or invalid one
/// is renamed to `preferences.json.damaged-<unix seconds>` (kept for the user) and the
/// defaults are used with a warning. Never fails.
pub fn load(dir: &Path) -> Loaded {
    let path = dir.join(FILE_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::default(),
        Err(e) => {
            return Loaded {
                preferences: Preferences::default(),
                warning: Some(format!(
                    "cannot read the preferences ({e}); using the defaults: {}",
                    path.display()
                )),
            }
        }
    };
    let parsed = serde_json::from_slice::<Preferences>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|p| p.validate().map(|()| p).map_err(|e| e.to_string()));
    match parsed {
        Ok(preferences) => Loaded {
            preferences,
            warning: None,
        },
        Err(reason) => {
            let aside = set_aside(&path);
            Loaded {
                preferences: Preferences::default(),
                warning: Some(format!(
                    "the preferences file is damaged ({reason}); using the defaults, the file was kept as {}",
                    aside.display()
                )),
            }
        }
    }
}

fn set_aside(path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".damaged-{stamp}"));
    let aside = PathBuf::from(name);
    match std::fs::rename(path, &aside) {
        Ok(()) => aside,
        Err(_) => path.to_path_buf(),
    }
}

/// Validates and writes `dir/preferences.json` atomically (the folder is created).
pub fn save(dir: &Path, preferences: &Preferences) -> Result<(), SessionError> {
    preferences.validate()?;
    let path = dir.join(FILE_NAME);
    let write = |source| SessionError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write)?;
    let text = serde_json::to_string_pretty(preferences)
        .map_err(|e| SessionError::InvalidInput(format!("cannot encode the preferences: {e}")))?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write(e));
    }
    Ok(())
}

/// Factory settings; with `keep` the given keys keep their current values (the original's
/// "Keep the API key" keeps `API_KEY`, which lives in the keyring; any other stored key can be
/// named).
pub fn factory(current: &Preferences, keep: &[&str]) -> Preferences {
    let mut fresh = Preferences::default();
    for key in keep {
        if let Some(v) = current.other.get(*key) {
            fresh.other.insert((*key).to_string(), v.clone());
        }
    }
    fresh
}
