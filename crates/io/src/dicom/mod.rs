//! DICOM: finding the series in a folder and loading one as a volume.
//!
//! Unlike the original (which stacked every readable file in a folder in InstanceNumber order and
//! ignored Rescale Slope/Intercept), series are separated by SeriesInstanceUID, plane and size;
//! slices are ordered by position along the normal; the slice step comes from
//! ImagePositionPatient; and real values keep their rescale.

mod header;
mod parse;
mod pixels;
mod series;

use std::path::{Path, PathBuf};

use dafne_core::{DType, Volume, Voxels};
use rayon::prelude::*;

pub use header::{read_header, SliceHeader};
pub use pixels::Frames;
pub use series::SeriesEntry;

use crate::{Error, Loaded, SkippedFile};

/// How deep a folder is searched for DICOM files.
const MAX_DEPTH: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum DicomError {
    #[error("not a readable DICOM file ({reason}): {}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("no image to load ({reason}): {}", path.display())]
    NotAnImage { path: PathBuf, reason: String },
    #[error("unsupported image ({reason}): {}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    #[error("cannot decode pixel data ({reason}): {}", path.display())]
    DecodePixels { path: PathBuf, reason: String },
    #[error("cannot list folder ({source}): {}", path.display())]
    ListFolder { path: PathBuf, source: std::io::Error },
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
                let state = s.refused.as_ref().map(|r| format!(" [cannot load: {r}]")).unwrap_or_default();
                format!("  {i}: {what}, {}x{}x{}, {} file(s){state}", d[0], d[1], d[2], s.files.len())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn list_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), DicomError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DicomError::ListFolder { path: dir.to_path_buf(), source })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else { continue };
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
    let (folder, picked, depth) = if path.is_dir() {
        (path.to_path_buf(), None, MAX_DEPTH)
    } else {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        (parent.to_path_buf(), Some(path.to_path_buf()), 0)
    };
    if let Some(file) = &picked {
        // Reading the picked file first gives a precise error when the file itself is the problem.
        std::fs::metadata(file).map_err(|e| DicomError::Parse { path: file.clone(), reason: e.to_string() })?;
    }
    let mut files = Vec::new();
    list_files(&folder, depth, &mut files)?;
    files.sort();
    let results: Vec<Result<SliceHeader, DicomError>> = files.par_iter().map(|f| read_header(f)).collect();
    let mut headers = Vec::new();
    let mut skipped = Vec::new();
    for (file, r) in files.into_iter().zip(results) {
        match r {
            Ok(h) => headers.push(h),
            Err(e) => skipped.push(SkippedFile { path: file, reason: short_reason(&e) }),
        }
    }
    let series = series::build_series(headers);
    let selected = picked.as_ref().and_then(|p| series.iter().position(|s| s.files.iter().any(|f| f == p)));
    if let (Some(p), None) = (&picked, selected) {
        if let Some(s) = skipped.iter().find(|s| &s.path == p) {
            return Err(DicomError::Parse { path: p.clone(), reason: s.reason.clone() });
        }
    }
    Ok(Scan { series, skipped, selected })
}

fn short_reason(e: &DicomError) -> String {
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
    let wrap = |source| Error::ReadDicom { source };
    let scan = scan(path).map_err(wrap)?;
    let count = scan.series.len();
    let index = match (series, scan.selected) {
        (Some(i), _) if i >= count => return Err(wrap(DicomError::NoSuchSeries { index: i, count })),
        (Some(i), _) => i,
        (None, Some(i)) => i,
        (None, None) => {
            let loadable: Vec<usize> = (0..count).filter(|i| scan.series[*i].refused.is_none()).collect();
            match (count, loadable.as_slice()) {
                (0, _) => return Err(wrap(DicomError::NoSeries { path: path.to_path_buf(), skipped: scan.skipped.len() })),
                (1, []) => 0,
                (_, [only]) => *only,
                _ => return Err(wrap(DicomError::SeveralSeries { count, listing: scan.listing() })),
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
                warnings.push(format!("its series cannot be stacked ({reason}); this file was loaded on its own"));
                entry = e;
            }
            None => return Err(wrap(DicomError::Refused { index, reason })),
        }
    }
    let (volume, skipped) = load_entry(&entry).map_err(wrap)?;
    warnings.extend(entry.warnings.iter().cloned());
    if !skipped.is_empty() {
        warnings.push(format!("{} of {} files of this series could not be read and were left out", skipped.len(), entry.files.len()));
    }
    let mut all_skipped = scan.skipped;
    all_skipped.extend(skipped);
    Ok(Loaded { volume, warnings, skipped: all_skipped })
}

/// Reads a whole file (header and pixels) and decodes its stored values.
pub fn decode_file(path: &Path) -> Result<(SliceHeader, Frames), DicomError> {
    let bytes = std::fs::read(path).map_err(|e| DicomError::Parse { path: path.to_path_buf(), reason: e.to_string() })?;
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

/// Decodes every file of an entry in parallel and stacks the slices.
fn load_entry(entry: &SeriesEntry) -> Result<(Volume, Vec<SkippedFile>), DicomError> {
    let [cols, rows, _, _] = entry.dims;
    let plane = rows * cols;
    let decoded: Vec<Result<Frames, DicomError>> = entry
        .files
        .par_iter()
        .map(|f| {
            let (h, frames) = decode_file(f)?;
            if h.rows != rows || h.cols != cols || h.samples_per_pixel != 1 {
                return Err(if h.samples_per_pixel != 1 {
                    DicomError::Unsupported { path: f.clone(), reason: format!("{} samples per pixel (colour images are not volumes)", h.samples_per_pixel) }
                } else {
                    DicomError::Inconsistent { path: f.clone() }
                });
            }
            Ok(frames)
        })
        .collect();
    let mut skipped = Vec::new();
    let mut slices = Vec::new();
    let mut rescale_planes = Vec::new();
    let maps = match &entry.rescale {
        dafne_core::Rescale::PerPlane(m) => m.clone(),
        dafne_core::Rescale::Uniform(m) => vec![*m; entry.files.len().max(entry.dims[2])],
    };
    for (i, (file, r)) in entry.files.iter().zip(decoded).enumerate() {
        match r {
            Ok(f) => {
                slices.push(f.voxels);
                rescale_planes.push(maps.get(i).copied().unwrap_or(dafne_core::LinearMap::IDENTITY));
            }
            Err(e) => skipped.push(SkippedFile { path: file.clone(), reason: short_reason(&e) }),
        }
    }
    // A missing slice in the middle would silently shift everything after it: refuse instead.
    if !skipped.is_empty() && (slices.is_empty() || entry.files.len() > 1) {
        let first = &skipped[0];
        let inner = skipped.len() < entry.files.len() && !ends_only(entry, &skipped);
        if slices.is_empty() || inner {
            return Err(DicomError::DecodePixels {
                path: first.path.clone(),
                reason: format!("{} of {} slices unreadable ({}); the series cannot be stacked without them", skipped.len(), entry.files.len(), first.reason),
            });
        }
    }
    let mut voxels = concat(slices, entry.dtype.unwrap_or(DType::U16));
    let mut dims = entry.dims;
    dims[2] = voxels.len() / plane.max(1);
    let mut geometry = entry.geometry.clone();
    if let Some(order) = &entry.frame_order {
        voxels = reorder_frames(voxels, plane, order);
    }
    if let Some(first_kept) = first_kept_index(entry, &skipped) {
        // Dropped leading slices move the origin by whole steps.
        for r in 0..3 {
            geometry.affine_lps[r][3] += geometry.affine_lps[r][2] * first_kept as f64;
        }
    }
    let rescale = if entry.frame_order.is_some() || entry.files.len() == 1 {
        entry.rescale.clone()
    } else {
        dafne_core::Rescale::PerPlane(rescale_planes)
    };
    let volume = Volume::new(dims, voxels, rescale, geometry, entry.info.clone())
        .map_err(|e| DicomError::DecodePixels { path: entry.files[0].clone(), reason: e.to_string() })?;
    Ok((volume, skipped))
}

/// Whether every unreadable file is at the start or end of the stack (safe to drop).
fn ends_only(entry: &SeriesEntry, skipped: &[SkippedFile]) -> bool {
    let bad: Vec<usize> = skipped.iter().filter_map(|s| entry.files.iter().position(|f| *f == s.path)).collect();
    let n = entry.files.len();
    let lead = (0..n).take_while(|i| bad.contains(i)).count();
    let trail = (0..n).rev().take_while(|i| bad.contains(i)).count();
    lead + trail >= bad.len()
}

fn first_kept_index(entry: &SeriesEntry, skipped: &[SkippedFile]) -> Option<usize> {
    let lead = entry.files.iter().take_while(|f| skipped.iter().any(|s| &s.path == *f)).count();
    (lead > 0).then_some(lead)
}

fn concat(slices: Vec<Voxels>, dtype: DType) -> Voxels {
    macro_rules! cat {
        ($variant:ident) => {{
            let total = slices.iter().map(|s| s.len()).sum();
            let mut out = Vec::with_capacity(total);
            for s in slices {
                if let Voxels::$variant(v) = s {
                    out.extend_from_slice(&v);
                }
            }
            Voxels::$variant(out)
        }};
    }
    match dtype {
        DType::U8 => cat!(U8),
        DType::I8 => cat!(I8),
        DType::U16 => cat!(U16),
        DType::I16 => cat!(I16),
        DType::U32 => cat!(U32),
        DType::I32 => cat!(I32),
        DType::U64 => cat!(U64),
        DType::I64 => cat!(I64),
        DType::F32 => cat!(F32),
        DType::F64 => cat!(F64),
    }
}

fn reorder_frames(voxels: Voxels, plane: usize, order: &[usize]) -> Voxels {
    dafne_core::map_voxels!(voxels, v => {
        let mut out = Vec::with_capacity(v.len());
        for &f in order {
            if let Some(chunk) = v.get(f * plane..(f + 1) * plane) {
                out.extend_from_slice(chunk);
            }
        }
        out
    })
}
