//! DICOM: finding the series in a folder and loading one as a volume.
//!
//! Unlike the original (which stacked every readable file in a folder in InstanceNumber order and
//! ignored Rescale Slope/Intercept), series are separated by SeriesInstanceUID, plane and size;
//! slices are ordered by position along the normal; the slice step comes from
//! ImagePositionPatient; and real values keep their rescale.

mod header;
mod j2k;
mod lengths;
mod load;
mod parse;
mod pixels;
mod rle;
mod series;
pub mod source;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use header::{read_header, SliceHeader};
pub use pixels::Frames;
pub use series::SeriesEntry;

use crate::{Error, Loaded, SkippedFile};

/// How deep a folder is searched for DICOM files.
const MAX_DEPTH: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum DicomError {
    /// The user stopped the read (see [`crate::progress::Progress::cancelled`]).
    #[error("cancelled")]
    Cancelled,
    #[error("not a readable DICOM file ({reason}): {}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("no image to load ({reason}): {}", path.display())]
    NotAnImage { path: PathBuf, reason: String },
    #[error("unsupported image ({reason}): {}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    #[error("cannot decode pixel data ({reason}): {}", path.display())]
    DecodePixels { path: PathBuf, reason: String },
    #[error("cannot list folder ({source}): {}", path.display())]
    ListFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no DICOM image series found ({skipped} file(s) skipped): {}", path.display())]
    NoSeries { path: PathBuf, skipped: usize },
    #[error("{count} series found; choose one with --series N:\n{listing}")]
    SeveralSeries { count: usize, listing: String },
    #[error("series {index} does not exist ({count} series found)")]
    NoSuchSeries { index: usize, count: usize },
    #[error("series {index} cannot be loaded: {reason}")]
    Refused { index: usize, reason: String },
    #[error("image size differs from the rest of its series: {}", path.display())]
    Inconsistent { path: PathBuf },
}

/// Every series in a folder, plus the files that were not used.
#[derive(Debug)]
pub struct Scan {
    pub series: Vec<SeriesEntry>,
    pub skipped: Vec<SkippedFile>,
    /// The series the picked file belongs to, when a file (not a folder) was given.
    pub selected: Option<usize>,
}

impl Scan {
    /// One line per series, for messages and `dafne info`.
    pub fn listing(&self) -> String {
        self.series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let d = s.dims;
                let what = s.info.description.as_deref().unwrap_or("(no description)");
                let state = s
                    .refused
                    .as_ref()
                    .map(|r| format!(" [cannot load: {r}]"))
                    .unwrap_or_default();
                format!(
                    "  {i}: {what}, {}x{}x{}, {} file(s){state}",
                    d[0],
                    d[1],
                    d[2],
                    s.files.len()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn list_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), DicomError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DicomError::ListFolder {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth > 0 {
                list_files(&path, depth - 1, out)?;
            }
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Finds every series under `path` (a folder, searched recursively) or in the folder of `path`
/// (a file, whose series becomes `selected`). Reads headers only.
pub fn scan(path: &Path) -> Result<Scan, DicomError> {
    scan_with(path, &crate::progress::NoProgress)
}

/// [`scan`], reporting files read and stopping early when cancelled.
pub fn scan_with(path: &Path, progress: &dyn crate::Progress) -> Result<Scan, DicomError> {
    let (folder, picked, depth) = if path.is_dir() {
        (path.to_path_buf(), None, MAX_DEPTH)
    } else {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        (parent.to_path_buf(), Some(path.to_path_buf()), 0)
    };
    if let Some(file) = &picked {
        // Reading the picked file first gives a precise error when the file itself is the problem.
        std::fs::metadata(file).map_err(|e| DicomError::Parse {
            path: file.clone(),
            reason: e.to_string(),
        })?;
    }
    let mut files = Vec::new();
    list_files(&folder, depth, &mut files)?;
    files.sort();
    let counter = crate::progress::Counter::start(progress, files.len(), "reading files");
    let results: Vec<Result<SliceHeader, DicomError>> = files
        .par_iter()
        .map(|f| {
            if counter.cancelled() {
                return Err(DicomError::Cancelled);
            }
            let r = read_header(f);
            counter.tick();
            r
        })
        .collect();
    if counter.cancelled() {
        return Err(DicomError::Cancelled);
    }
    let mut headers = Vec::new();
    let mut skipped = Vec::new();
    for (file, r) in files.into_iter().zip(results) {
        match r {
            Ok(h) => headers.push(h),
            Err(e) => skipped.push(SkippedFile {
                path: file,
                reason: short_reason(&e),
            }),
        }
    }
    let series = series::build_series(headers);
    let selected = picked
        .as_ref()
        .and_then(|p| series.iter().position(|s| s.files.iter().any(|f| f == p)));
    if let (Some(p), None) = (&picked, selected) {
        if let Some(s) = skipped.iter().find(|s| &s.path == p) {
            return Err(DicomError::Parse {
                path: p.clone(),
                reason: s.reason.clone(),
            });
        }
    }
    Ok(Scan {
        series,
        skipped,
        selected,
    })
}

pub(crate) fn short_reason(e: &DicomError) -> String {
    match e {
        DicomError::Parse { reason, .. }
        | DicomError::NotAnImage { reason, .. }
        | DicomError::Unsupported { reason, .. }
        | DicomError::DecodePixels { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Loads one series (see [`crate::load`] for how it is chosen).
pub fn load(path: &Path, series: Option<usize>) -> Result<Loaded, Error> {
    load_with(path, series, &crate::progress::NoProgress)
}

/// [`load`], reporting files read and slices decoded and stopping early when cancelled.
pub fn load_with(
    path: &Path,
    series: Option<usize>,
    progress: &dyn crate::Progress,
) -> Result<Loaded, Error> {
    let wrap = |source| match source {
        DicomError::Cancelled => Error::Cancelled,
        source => Error::ReadDicom { source },
    };
    let scan = scan_with(path, progress).map_err(wrap)?;
    let count = scan.series.len();
    let index = match (series, scan.selected) {
        (Some(i), _) if i >= count => {
            return Err(wrap(DicomError::NoSuchSeries { index: i, count }))
        }
        (Some(i), _) => i,
        (None, Some(i)) => i,
        (None, None) => {
            let loadable: Vec<usize> = (0..count)
                .filter(|i| scan.series[*i].refused.is_none())
                .collect();
            match (count, loadable.as_slice()) {
                (0, _) => {
                    return Err(wrap(DicomError::NoSeries {
                        path: path.to_path_buf(),
                        skipped: scan.skipped.len(),
                    }))
                }
                (1, []) => 0,
                (_, [only]) => *only,
                _ => {
                    return Err(wrap(DicomError::SeveralSeries {
                        count,
                        listing: scan.listing(),
                    }))
                }
            }
        }
    };
    let mut entry = scan.series[index].clone();
    let mut warnings = Vec::new();
    if let Some(reason) = entry.refused.clone() {
        // A file the user picked still loads on its own when its series cannot be stacked.
        let single = (series.is_none() && path.is_file())
            .then(|| read_header(path).ok())
            .flatten()
            .and_then(|h| series::build_series(vec![h]).into_iter().next())
            .filter(|e| e.refused.is_none());
        match single {
            Some(e) => {
                warnings.push(format!(
                    "its series cannot be stacked ({reason}); this file was loaded on its own"
                ));
                entry = e;
            }
            None => return Err(wrap(DicomError::Refused { index, reason })),
        }
    }
    let (volume, skipped) = load::load_entry(&entry, progress).map_err(wrap)?;
    warnings.extend(entry.warnings.iter().cloned());
    if !skipped.is_empty() {
        warnings.push(format!(
            "{} of {} files of this series could not be read and were left out",
            skipped.len(),
            entry.files.len()
        ));
    }
    let mut all_skipped = scan.skipped;
    all_skipped.extend(skipped);
    Ok(Loaded {
        volume,
        warnings,
        skipped: all_skipped,
    })
}

/// Reads a whole file (header and pixels) and decodes its stored values.
pub fn decode_file(path: &Path) -> Result<(SliceHeader, Frames), DicomError> {
    let bytes = std::fs::read(path).map_err(|e| DicomError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    decode_in(&bytes, path)
}

/// Parses and decodes a DICOM file held in memory (used by the fuzz target).
pub fn decode_bytes(bytes: &[u8]) -> Result<Frames, DicomError> {
    decode_in(bytes, Path::new("<memory>")).map(|(_, f)| f)
}

fn decode_in(bytes: &[u8], path: &Path) -> Result<(SliceHeader, Frames), DicomError> {
    let obj = parse::parse_object(bytes, path)?;
    let h = header::header_of(&obj, path)?;
    let frames = pixels::decode(&obj, &h)?;
    Ok((h, frames))
}
