//! The model store: where the app and the CLI find model packages by name. Two roots are read:
//! the user's folder (writable; every installed or improved model goes there) and the bundled
//! models shipped with the program (read-only). A name resolves to the newest version across
//! both, so an improved model replaces the bundled one without touching it.
//!
//! User layout: `<user>/<name>/<version>/{manifest.json, weights.safetensors}`. The bundled
//! folder may use the same layout or hold packages directly (`<bundled>/<folder>/manifest.json`).
//! Installs write to a hidden temporary folder and rename it, so a crash never leaves half a
//! package under a version number. A damaged package is skipped with a warning: one bad folder
//! must not hide every other model.
//!
//! Where the roots are (first found wins):
//! - user: `$DAFNE_MODELS_DIR`; else the platform data folder + `dafne/models`
//!   (`$XDG_DATA_HOME` or `~/.local/share` on Linux, `~/Library/Application Support` on macOS,
//!   `%APPDATA%` on Windows);
//! - bundled: `$DAFNE_BUNDLED_MODELS`; else next to the executable `../share/dafne/models`,
//!   then `models/`; else the source tree's `models/` (a development build run from the repo).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use dafne_ml::package::MANIFEST_FILE;
use dafne_ml::{Manifest, Package};
use serde::Serialize;

use crate::SessionError;

/// Overrides the user's model folder (tests, the end-to-end run, portable installs).
pub const MODELS_DIR_ENV: &str = "DAFNE_MODELS_DIR";
/// Overrides the bundled models folder.
pub const BUNDLED_MODELS_ENV: &str = "DAFNE_BUNDLED_MODELS";

/// One version of one model, as found on disk.
#[derive(Clone, Debug, Serialize)]
pub struct ModelEntry {
    pub name: String,
    pub id: String,
    pub version: u64,
    /// The package folder (holds `manifest.json` and `weights.safetensors`).
    pub dir: PathBuf,
    /// Shipped with the program (read-only) rather than in the user's folder.
    pub bundled: bool,
    pub manifest: Manifest,
}

/// What a scan found: the packages that read, and why others were skipped.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub entries: Vec<ModelEntry>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ModelStore {
    user_dir: PathBuf,
    bundled_dir: Option<PathBuf>,
}

impl ModelStore {
    /// The user's folder and the bundled folder, found as the module overview says.
    pub fn open_default() -> Result<ModelStore, SessionError> {
        Ok(ModelStore::at(default_user_dir()?, default_bundled_dir()))
    }

    pub fn at(user_dir: PathBuf, bundled_dir: Option<PathBuf>) -> ModelStore {
        ModelStore {
            user_dir,
            bundled_dir,
        }
    }

    pub fn user_dir(&self) -> &Path {
        &self.user_dir
    }

    pub fn bundled_dir(&self) -> Option<&Path> {
        self.bundled_dir.as_deref()
    }

    /// Every readable package version in both roots, with a warning per skipped folder.
    /// Missing roots are empty, not errors.
    pub fn scan(&self) -> Result<Scan, SessionError> {
        let mut scan = Scan::default();
        if let Some(b) = &self.bundled_dir {
            scan_root(b, true, &mut scan)?;
        }
        scan_root(&self.user_dir, false, &mut scan)?;
        Ok(scan)
    }

    /// The newest version of each model (by name, case-insensitive; on equal versions the
    /// user's copy wins), sorted by name. Damaged packages are logged and skipped.
    pub fn list(&self) -> Result<Vec<ModelEntry>, SessionError> {
        Ok(self.list_with_warnings()?.0)
    }

    /// [`ModelStore::list`] plus the warnings, for shells that show them.
    pub fn list_with_warnings(&self) -> Result<(Vec<ModelEntry>, Vec<String>), SessionError> {
        let scan = self.scan()?;
        for w in &scan.warnings {
            tracing::warn!("{w}");
        }
        let mut newest: Vec<ModelEntry> = Vec::new();
        for e in scan.entries {
            match newest.iter_mut().find(|n| same_name(&n.name, &e.name)) {
                Some(n) if newer(&e, n) => *n = e,
                Some(_) => {}
                None => newest.push(e),
            }
        }
        newest.sort_by_key(|e| e.name.to_lowercase());
        Ok((newest, scan.warnings))
    }

    /// Every version of the model called `name` (case-insensitive; a folder name matches
    /// too), newest first.
    pub fn versions(&self, name: &str) -> Result<Vec<ModelEntry>, SessionError> {
        let scan = self.scan()?;
        for w in &scan.warnings {
            tracing::warn!("{w}");
        }
        // A folder name (`thigh-phantom-demo`) stands for the model inside it, and so for
        // every version of that model wherever it is stored.
        let mut names = vec![name.to_string()];
        names.extend(
            scan.entries
                .iter()
                .filter(|e| folder_matches(e, name))
                .map(|e| e.name.clone()),
        );
        let mut found: Vec<ModelEntry> = scan
            .entries
            .into_iter()
            .filter(|e| names.iter().any(|n| same_name(&e.name, n)))
            .collect();
        found.sort_by(|a, b| {
            b.version
                .cmp(&a.version)
                .then_with(|| a.bundled.cmp(&b.bundled))
        });
        Ok(found)
    }

    /// The newest version of the model called `name`, if any.
    pub fn find(&self, name: &str) -> Result<Option<ModelEntry>, SessionError> {
        Ok(self.versions(name)?.into_iter().next())
    }

    /// A package folder given by path, else the newest version of the model called
    /// `name_or_path`. Not found is an error naming where it looked.
    pub fn resolve(&self, name_or_path: &str) -> Result<ModelEntry, SessionError> {
        let path = Path::new(name_or_path);
        if path.join(MANIFEST_FILE).is_file() {
            let manifest = Package::read_manifest(path)
                .map_err(|e| crate::segmentation::ml_error("cannot read model package", e))?;
            let bundled = self
                .bundled_dir
                .as_ref()
                .is_some_and(|b| path.starts_with(b));
            return Ok(entry(manifest, path.to_path_buf(), bundled));
        }
        if let Some(e) = self.find(name_or_path)? {
            return Ok(e);
        }
        let looked = match &self.bundled_dir {
            Some(b) => format!("{} and {}", self.user_dir.display(), b.display()),
            None => self.user_dir.display().to_string(),
        };
        Err(SessionError::InvalidInput(format!(
            "no model called {name_or_path:?} and no model package folder at that path (models are looked for in {looked})"
        )))
    }

    /// Saves `package` as `<user>/<name>/<version>/` (its manifest's sha256 is updated).
    /// Refuses a version already installed: versions are immutable once written.
    pub fn install(&self, package: &mut Package) -> Result<ModelEntry, SessionError> {
        let manifest = &package.manifest;
        let folder = folder_name(&manifest.name)?;
        let model_dir = self.user_dir.join(&folder);
        let target = model_dir.join(manifest.version.to_string());
        if target.exists() {
            return Err(SessionError::InvalidInput(format!(
                "model {:?} version {} is already installed: {}",
                manifest.name,
                manifest.version,
                target.display()
            )));
        }
        std::fs::create_dir_all(&model_dir).map_err(|source| SessionError::Write {
            path: model_dir.clone(),
            source,
        })?;
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let tmp = model_dir.join(format!(
            ".{}.{}.{stamp}.tmp",
            manifest.version,
            std::process::id()
        ));
        let written = package
            .save(&tmp)
            .map_err(|e| crate::segmentation::ml_error("cannot install model package", e))
            .and_then(|()| {
                std::fs::rename(&tmp, &target).map_err(|source| SessionError::Write {
                    path: target.clone(),
                    source,
                })
            });
        if let Err(e) = written {
            // Best effort: the temporary folder is hidden and never read as a package.
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        Ok(entry(package.manifest.clone(), target, false))
    }
}

/// Reads an original Dafne `.model` file into a package (decoded as data, never run; see
/// [`dafne_ml::legacy`]).
pub fn import_dafne_file(path: &Path) -> Result<Package, SessionError> {
    let bytes = std::fs::read(path).map_err(|source| {
        crate::segmentation::ml_error(
            "cannot import the Dafne model file",
            dafne_ml::MlError::Io {
                path: path.to_path_buf(),
                source,
            },
        )
    })?;
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    dafne_ml::legacy::import_dafne_model(&bytes, &name).map_err(|e| {
        let why = match e {
            dafne_ml::MlError::Input { why } => why,
            other => other.to_string(),
        };
        SessionError::InvalidInput(format!(
            "cannot import the Dafne model file: {why}: {}",
            path.display()
        ))
    })
}

fn entry(manifest: Manifest, dir: PathBuf, bundled: bool) -> ModelEntry {
    ModelEntry {
        name: manifest.name.clone(),
        id: manifest.id.clone(),
        version: manifest.version,
        dir,
        bundled,
        manifest,
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn folder_matches(e: &ModelEntry, name: &str) -> bool {
    // The model's folder: `<name>/<version>/` in the user layout, `<folder>/` bundled flat.
    let own = e.dir.file_name().and_then(|f| f.to_str());
    let folder = match own {
        Some(v) if v.parse::<u64>().is_ok() => e
            .dir
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|f| f.to_str()),
        other => other,
    };
    folder.is_some_and(|f| same_name(f, name))
}

/// `a` replaces `b` as the newest: a higher version, or the user's copy of the same version.
fn newer(a: &ModelEntry, b: &ModelEntry) -> bool {
    a.version > b.version || (a.version == b.version && !a.bundled && b.bundled)
}

/// The folder a model's versions live in: its name, with characters that are not safe in
/// file names replaced. Refuses names that would leave the store ("..", empty).
pub fn folder_name(name: &str) -> Result<String, SessionError> {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        return Err(SessionError::InvalidInput(format!(
            "model name {name:?} cannot be used as a folder name"
        )));
    }
    Ok(cleaned)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|f| f.to_str())
        .is_some_and(|f| f.starts_with('.'))
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, SessionError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(SessionError::InvalidInput(format!(
                "cannot read the model folder: {source}: {}",
                dir.display()
            )))
        }
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !is_hidden(p))
        .collect();
    out.sort();
    Ok(out)
}

/// Reads `root/<name>/<version>/` packages and, in the bundled folder, `root/<folder>/`
/// packages too.
fn scan_root(root: &Path, bundled: bool, scan: &mut Scan) -> Result<(), SessionError> {
    for model_dir in subdirs(root)? {
        if model_dir.join(MANIFEST_FILE).is_file() {
            read_into(&model_dir, bundled, scan);
            continue;
        }
        let versions = match subdirs(&model_dir) {
            Ok(v) => v,
            Err(e) => {
                scan.warnings.push(format!("model folder skipped: {e}"));
                continue;
            }
        };
        for version_dir in versions {
            read_into(&version_dir, bundled, scan);
        }
    }
    Ok(())
}

fn read_into(dir: &Path, bundled: bool, scan: &mut Scan) {
    match Package::read_manifest(dir) {
        Ok(m) => scan.entries.push(entry(m, dir.to_path_buf(), bundled)),
        Err(e) => scan.warnings.push(format!("model package skipped: {e}")),
    }
}

fn non_empty_env(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The platform's per-user data folder (without the app's name).
fn platform_data_dir() -> Option<PathBuf> {
    let home = non_empty_env("HOME");
    if cfg!(windows) {
        non_empty_env("APPDATA")
    } else if cfg!(target_os = "macos") {
        home.map(|h| h.join("Library").join("Application Support"))
    } else {
        non_empty_env("XDG_DATA_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| home.map(|h| h.join(".local").join("share")))
    }
}

/// The user's model folder: `$DAFNE_MODELS_DIR`, else `<platform data>/dafne/models`.
pub fn default_user_dir() -> Result<PathBuf, SessionError> {
    if let Some(dir) = non_empty_env(MODELS_DIR_ENV) {
        return Ok(dir);
    }
    platform_data_dir()
        .map(|d| d.join("dafne").join("models"))
        .ok_or_else(|| {
            SessionError::InvalidInput(format!(
                "cannot find the user's data folder (no HOME); set {MODELS_DIR_ENV}"
            ))
        })
}

/// The bundled models folder, if one exists (see the module overview for the order).
pub fn default_bundled_dir() -> Option<PathBuf> {
    if let Some(dir) = non_empty_env(BUNDLED_MODELS_ENV) {
        return Some(dir);
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    let mut candidates = Vec::new();
    if let Some(d) = exe_dir {
        candidates.push(d.join("..").join("share").join("dafne").join("models"));
        candidates.push(d.join("models"));
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("models"),
    );
    candidates.into_iter().find(|c| c.is_dir())
}
