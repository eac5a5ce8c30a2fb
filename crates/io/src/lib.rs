//! Reading and writing image volumes: DICOM series (every common transfer syntax), NIfTI-1/2
//! and NumPy `.npy`/`.npz`. Every reader returns a [`dafne_core::Volume`] with stored values
//! kept exactly and geometry in LPS; corrupt input gives an error, never a panic.
//!
//! Also masks in and out of every exchange format ([`masks`]: NumPy, NIfTI, label maps with
//! legends, DICOM mask series, DICOM SEG) and the original Dafne's ROI files ([`legacy`]: a
//! restricted pickle reader that never executes anything).

mod describe;
pub mod dicom;
mod error;
mod fs;
pub mod legacy;
pub mod masks;
pub mod nifti;
pub mod numpy;
pub mod progress;
mod values;

use std::path::{Path, PathBuf};

use dafne_core::Volume;

pub use describe::{describe, Description, SeriesSummary};
pub use error::{Error, SkippedFile};
pub use progress::{NoProgress, Progress};

/// File formats this crate can read, picked from the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Dicom,
    Nifti,
    Npy,
    Npz,
}

impl Format {
    /// The format a path names, from its extension; anything else (a folder, a file without a
    /// known extension) is taken as DICOM, which is how scanners name their files.
    pub fn of_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".nii")
            || name.ends_with(".nii.gz")
            || name.ends_with(".hdr")
            || name.ends_with(".img")
            || name.ends_with(".hdr.gz")
            || name.ends_with(".img.gz")
        {
            Format::Nifti
        } else if name.ends_with(".npy") {
            Format::Npy
        } else if name.ends_with(".npz") {
            Format::Npz
        } else {
            Format::Dicom
        }
    }
}

/// A volume with what the user should know about how it was read.
#[derive(Debug)]
pub struct Loaded {
    pub volume: Volume,
    /// Things that were handled but deserve a look (duplicates dropped, geometry missing, ...).
    pub warnings: Vec<String>,
    /// Files in the folder that were not used, with the reason.
    pub skipped: Vec<SkippedFile>,
}

impl Loaded {
    pub fn clean(volume: Volume) -> Loaded {
        Loaded {
            volume,
            warnings: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

/// Loads one volume from a file or folder. For DICOM, `series` picks one of the series that
/// [`dicom::scan`] finds; without it, a file path loads the series that file belongs to and a
/// folder path loads its only series (several series in a folder is an error that lists them).
pub fn load(path: &Path, series: Option<usize>) -> Result<Loaded, Error> {
    load_with(path, series, &NoProgress)
}

/// [`load`] for a long job: reports progress (DICOM: files read, then slices decoded; NIfTI
/// and NumPy: start and end) and gives up with [`Error::Cancelled`] when asked. A cancel that
/// comes after the last check still returns the volume: the caller decides what to keep.
pub fn load_with(
    path: &Path,
    series: Option<usize>,
    progress: &dyn Progress,
) -> Result<Loaded, Error> {
    if progress.cancelled() {
        return Err(Error::Cancelled);
    }
    let format = Format::of_path(path);
    if format == Format::Dicom {
        return dicom::load_with(path, series, progress);
    }
    let counter = progress::Counter::start(progress, 1, "reading file");
    let loaded = match format {
        Format::Dicom => dicom::load_with(path, series, progress),
        Format::Nifti => nifti::read(path)
            .map(Loaded::clean)
            .map_err(|source| Error::ReadNifti {
                path: path.to_path_buf(),
                source,
            }),
        Format::Npy => numpy::read_npy_volume(path)
            .map(Loaded::clean)
            .map_err(|source| Error::ReadNumpy {
                path: path.to_path_buf(),
                source,
            }),
        Format::Npz => numpy::read_bundle(path)
            .map(|b| Loaded::clean(b.volume))
            .map_err(|source| Error::ReadNumpy {
                path: path.to_path_buf(),
                source,
            }),
    }?;
    counter.tick();
    Ok(loaded)
}

/// Writes a volume in the format its extension names (`.nii`, `.nii.gz`, `.npy`, `.npz`).
pub fn save(volume: &Volume, path: &Path) -> Result<(), Error> {
    let err_path = || PathBuf::from(path);
    match Format::of_path(path) {
        Format::Nifti => nifti::write(volume, path).map_err(|source| Error::WriteNifti {
            path: err_path(),
            source,
        }),
        Format::Npy => numpy::write_npy_volume(volume, path).map_err(|source| Error::WriteNumpy {
            path: err_path(),
            source,
        }),
        Format::Npz => numpy::write_bundle(volume, path).map_err(|source| Error::WriteNumpy {
            path: err_path(),
            source,
        }),
        Format::Dicom => Err(Error::UnsupportedOutput { path: err_path() }),
    }
}
