//! What `dafne info` shows: every series at a path with its geometry, without decoding pixels
//! where the format allows.

use std::path::{Path, PathBuf};

use dafne_core::{Affine, Geometry, Rescale, SeriesInfo, Volume};
use serde::Serialize;

use crate::{dicom, Error, Format, SkippedFile};

#[derive(Debug, Serialize)]
pub struct Description {
    pub path: PathBuf,
    pub series: Vec<SeriesSummary>,
    pub skipped: Vec<SkippedFile>,
    /// The series a picked file belongs to.
    pub selected: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct SeriesSummary {
    pub index: usize,
    #[serde(flatten)]
    pub info: SeriesInfo,
    pub shape: Vec<usize>,
    pub dtype: Option<String>,
    pub spacing_mm: [f64; 3],
    /// Voxel index -> LPS mm (DICOM convention).
    pub affine_lps: Affine,
    /// Voxel index -> RAS mm (NIfTI convention).
    pub affine_ras: Affine,
    /// nibabel-style orientation codes (RAS letters each axis points to).
    pub axcodes: String,
    pub geometry_source: dafne_core::GeometrySource,
    pub slice_axis: usize,
    pub rescale: Rescale,
    pub files: usize,
    pub warnings: Vec<String>,
    /// Why the series cannot be loaded as a volume, if it cannot.
    pub refused: Option<String>,
}

fn summary(
    index: usize,
    info: &SeriesInfo,
    shape: Vec<usize>,
    dtype: Option<&str>,
    geometry: &Geometry,
    rescale: &Rescale,
) -> SeriesSummary {
    SeriesSummary {
        index,
        info: info.clone(),
        shape,
        dtype: dtype.map(str::to_string),
        spacing_mm: geometry.spacing_mm(),
        affine_lps: geometry.affine_lps,
        affine_ras: geometry.affine_ras(),
        axcodes: geometry.axcodes_ras(),
        geometry_source: geometry.source,
        slice_axis: 2,
        rescale: rescale.clone(),
        files: 1,
        warnings: Vec::new(),
        refused: None,
    }
}

fn volume_summary(v: &Volume) -> SeriesSummary {
    let mut s = summary(
        0,
        &v.info,
        v.shape(),
        Some(v.voxels().dtype().name()),
        &v.geometry,
        v.rescale(),
    );
    s.slice_axis = v.slice_axis();
    s
}

/// Describes every series at `path`.
pub fn describe(path: &Path) -> Result<Description, Error> {
    if Format::of_path(path) == Format::Nifti {
        if let Err(crate::nifti::NiftiError::MissingImage { image }) = crate::nifti::read(path) {
            return nifti_header_only(path, &image);
        }
    }
    if Format::of_path(path) != Format::Dicom {
        let loaded = crate::load(path, None)?;
        let mut s = volume_summary(&loaded.volume);
        s.warnings = loaded.warnings;
        return Ok(Description {
            path: path.to_path_buf(),
            series: vec![s],
            skipped: loaded.skipped,
            selected: Some(0),
        });
    }
    let scan = dicom::scan(path).map_err(|source| Error::ReadDicom { source })?;
    let series = scan
        .series
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let d = e.dims;
            let shape = if d[3] == 1 {
                d[..3].to_vec()
            } else {
                d.to_vec()
            };
            let mut s = summary(
                i,
                &e.info,
                shape,
                e.dtype.map(|t| t.name()),
                &e.geometry,
                &e.rescale,
            );
            s.files = e.files.len();
            s.warnings = e.warnings.clone();
            s.refused = e.refused.clone();
            s
        })
        .collect();
    Ok(Description {
        path: path.to_path_buf(),
        series,
        skipped: scan.skipped,
        selected: scan.selected,
    })
}

/// A `.hdr` whose `.img` is missing: what its header says, and why it cannot be loaded.
fn nifti_header_only(path: &Path, image: &Path) -> Result<Description, Error> {
    let h = crate::nifti::read_header(path).map_err(|source| Error::ReadNifti {
        path: path.to_path_buf(),
        source,
    })?;
    let info = SeriesInfo {
        format: match h.version {
            crate::nifti::NiftiVersion::Nifti1 => "NIfTI-1".into(),
            crate::nifti::NiftiVersion::Nifti2 => "NIfTI-2".into(),
        },
        description: h.description.clone(),
        ..SeriesInfo::default()
    };
    let geometry = Geometry::from_ras(h.affine_ras, h.affine_source);
    let mut s = summary(
        0,
        &info,
        h.shape.clone(),
        h.dtype.map(|d| d.name()),
        &geometry,
        &Rescale::Uniform(h.scaling),
    );
    s.refused = Some(format!("the image file is missing: {}", image.display()));
    Ok(Description {
        path: path.to_path_buf(),
        series: vec![s],
        skipped: Vec::new(),
        selected: Some(0),
    })
}
