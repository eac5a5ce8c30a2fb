//! The session file: every ROI, classification and restrict-area box of a dataset, in a
//! documented, versioned format with a checksum (docs/session-format.md), written atomically
//! (temporary file, fsync, rename) so that a crash during a save leaves the previous file
//! intact. Also the autosave schedule and where autosaves live.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dafne_core::SliceMask;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::contour::Contour;
use crate::roiset::{EditError, Roi, RoiId, RoiSet};

pub const MAGIC: &str = "DAFNE-SESSION";
pub const VERSION: u32 = 1;
/// Autosave interval unless configured otherwise.
pub const DEFAULT_AUTOSAVE: Duration = Duration::from_secs(30);
/// A session document larger than this (uncompressed) is refused as corrupt.
const MAX_DOCUMENT_BYTES: u64 = 4 << 30;

/// What a session file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub rois: RoiSet,
    /// Model (classification) per slice, e.g. "Thigh"; slices without one are absent.
    pub classifications: BTreeMap<usize, String>,
    /// Restrict-area box per slice: (row, col, height, width).
    pub restrict_boxes: BTreeMap<usize, [usize; 4]>,
    /// Identifies the dataset (e.g. its series UID) so that recovery offers the right file.
    pub dataset_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot read session file ({source}): {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write session file ({source}): {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a Dafne session file ({reason}): {}", path.display())]
    Format { path: PathBuf, reason: String },
    #[error("session file version {version} is newer than this program understands ({VERSION}): {}", path.display())]
    Version { path: PathBuf, version: u32 },
    #[error("session file is damaged (checksum mismatch): {}", path.display())]
    Checksum { path: PathBuf },
    #[error("session file holds invalid ROIs ({source}): {}", path.display())]
    Rois { path: PathBuf, source: EditError },
}

#[derive(Serialize, Deserialize)]
struct Document {
    format: String,
    version: u32,
    dataset: DatasetDoc,
    rois: Vec<RoiDoc>,
    classifications: BTreeMap<usize, String>,
    restrict_boxes: BTreeMap<usize, [usize; 4]>,
}

#[derive(Serialize, Deserialize)]
struct DatasetDoc {
    rows: usize,
    cols: usize,
    slices: usize,
    id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RoiDoc {
    id: RoiId,
    name: String,
    /// slice -> runs (start, length) over row * cols + col
    masks: BTreeMap<usize, Vec<(u32, u32)>>,
    /// slice -> sub-ROIs -> knots [x (column), y (row)], where contours are in sync
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    contours: BTreeMap<usize, Vec<Vec<[f64; 2]>>>,
}

/// The bytes of a session file.
pub fn encode(session: &Session) -> Vec<u8> {
    let rois = &session.rois;
    let doc = Document {
        format: "dafne-session".into(),
        version: VERSION,
        dataset: DatasetDoc {
            rows: rois.rows(),
            cols: rois.cols(),
            slices: rois.slices(),
            id: session.dataset_id.clone(),
        },
        rois: rois
            .rois()
            .iter()
            .map(|r| RoiDoc {
                id: r.id,
                name: r.name.clone(),
                masks: r
                    .masks
                    .iter()
                    .filter(|(_, m)| !m.is_empty())
                    .map(|(k, m)| (*k, m.runs()))
                    .collect(),
                contours: r
                    .contours
                    .iter()
                    .map(|(k, c)| (*k, c.iter().map(|c| c.knots.clone()).collect()))
                    .collect(),
            })
            .collect(),
        classifications: session.classifications.clone(),
        restrict_boxes: session.restrict_boxes.clone(),
    };
    // Serialising plain structs to a Vec cannot fail.
    let json = serde_json::to_vec(&doc).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(3));
    let _ = gz.write_all(&json);
    let body = gz.finish().unwrap_or_default();
    let digest: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut out = format!("{MAGIC} {VERSION}\n{digest} {}\n", body.len()).into_bytes();
    out.extend(body);
    out
}

/// Parses session file bytes; `path` only names the file in errors.
pub fn decode(bytes: &[u8], path: &Path) -> Result<Session, SessionError> {
    let format = |reason: &str| SessionError::Format {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut lines = bytes.splitn(3, |b| *b == b'\n');
    let first = std::str::from_utf8(lines.next().unwrap_or_default())
        .map_err(|_| format("no header line"))?;
    let second = std::str::from_utf8(lines.next().ok_or_else(|| format("no checksum line"))?)
        .map_err(|_| format("bad checksum line"))?;
    let body = lines.next().ok_or_else(|| format("no content"))?;
    let version: u32 = match first.split_once(' ') {
        Some((MAGIC, v)) => v.trim().parse().map_err(|_| format("bad version"))?,
        _ => return Err(format("no DAFNE-SESSION header")),
    };
    if version > VERSION {
        return Err(SessionError::Version {
            path: path.to_path_buf(),
            version,
        });
    }
    let (digest, length) = second
        .split_once(' ')
        .ok_or_else(|| format("bad checksum line"))?;
    if length.trim().parse::<usize>().ok() != Some(body.len()) {
        return Err(SessionError::Checksum {
            path: path.to_path_buf(),
        });
    }
    let actual: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual != digest {
        return Err(SessionError::Checksum {
            path: path.to_path_buf(),
        });
    }
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_DOCUMENT_BYTES)
        .read_to_end(&mut json)
        .map_err(|e| format(&format!("content does not inflate: {e}")))?;
    let doc: Document = serde_json::from_slice(&json)
        .map_err(|e| format(&format!("content is not a session document: {e}")))?;
    let d = &doc.dataset;
    let invalid = |source| SessionError::Rois {
        path: path.to_path_buf(),
        source,
    };
    let mut rois = Vec::with_capacity(doc.rois.len());
    for r in doc.rois {
        let mut masks = BTreeMap::new();
        for (slice, runs) in r.masks {
            let mask = SliceMask::from_runs(d.rows, d.cols, &runs)
                .map_err(|e| invalid(EditError::Mask(e)))?;
            masks.insert(slice, mask);
        }
        let mut roi = Roi::new(r.id, r.name);
        roi.masks = masks;
        roi.contours = r
            .contours
            .into_iter()
            .map(|(k, subrois)| {
                let subrois = subrois.into_iter().map(|knots| Contour { knots }).collect();
                (k, subrois)
            })
            .collect();
        rois.push(roi);
    }
    let rois = RoiSet::from_rois(d.rows, d.cols, d.slices, rois).map_err(invalid)?;
    Ok(Session {
        rois,
        classifications: doc.classifications,
        restrict_boxes: doc.restrict_boxes,
        dataset_id: doc.dataset.id,
    })
}

pub fn read(path: &Path) -> Result<Session, SessionError> {
    let bytes = std::fs::read(path).map_err(|source| SessionError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, path)
}

/// Writes atomically: the old file stays whole until the new one is complete on disk.
pub fn write(path: &Path, session: &Session) -> Result<(), SessionError> {
    write_bytes(path, &encode(session))
}

/// Writes already encoded session bytes atomically (temporary file, fsync, rename).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), SessionError> {
    let err = |source| SessionError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)?;
        // Make the rename itself durable.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(err)
}

/// Where the autosave of a dataset lives: beside the data ([`autosave_beside`]), or in
/// `fallback_dir` ([`autosave_in`]) when the data's folder is read-only.
pub fn autosave_path(data: &Path, fallback_dir: Option<&Path>) -> PathBuf {
    let beside = autosave_beside(data);
    let writable = beside
        .parent()
        .and_then(|d| std::fs::metadata(d).ok())
        .is_some_and(|m| !m.permissions().readonly());
    match (writable, fallback_dir) {
        (false, Some(dir)) => autosave_in(data, dir),
        _ => beside,
    }
}

/// The autosave beside the data: `<data>.dafne-autosave`, or `.dafne-autosave` inside a DICOM
/// folder.
pub fn autosave_beside(data: &Path) -> PathBuf {
    if data.is_dir() {
        data.join(".dafne-autosave")
    } else {
        let name = data
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        data.with_file_name(format!("{name}.dafne-autosave"))
    }
}

/// The autosave of `data` in an app folder, named by a digest of the data's path.
pub fn autosave_in(data: &Path, dir: &Path) -> PathBuf {
    let key: String = Sha256::digest(data.to_string_lossy().as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join(format!("{key}.dafne-autosave"))
}

/// Decides when to autosave: at most every `interval`, and only when something changed.
#[derive(Debug)]
pub struct Autosave {
    interval: Duration,
    last_save: Instant,
    saved_steps: Option<usize>,
}

impl Autosave {
    pub fn new(interval: Duration, now: Instant) -> Self {
        Autosave {
            interval,
            last_save: now,
            saved_steps: None,
        }
    }

    /// `change_count` is any counter that moves with every edit (e.g. edits applied so far).
    pub fn due(&self, now: Instant, change_count: usize) -> bool {
        self.saved_steps != Some(change_count)
            && now.duration_since(self.last_save) >= self.interval
    }

    pub fn saved(&mut self, now: Instant, change_count: usize) {
        self.last_save = now;
        self.saved_steps = Some(change_count);
    }
}
