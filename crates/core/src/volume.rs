//! A loaded image volume: stored voxels, rescale, geometry and what the user sees of the series.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::geometry::Geometry;
use crate::voxels::{Scalar, Voxels};
use crate::with_voxels;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("voxel count {got} does not match dims {dims:?} ({expected} voxels)")]
    Shape {
        dims: [usize; 4],
        expected: usize,
        got: usize,
    },
    #[error("{got} rescale entries for {planes} planes")]
    RescaleLength { planes: usize, got: usize },
    #[error("slice axis {0} is not 0, 1 or 2")]
    SliceAxis(usize),
}

/// real = stored * slope + intercept.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearMap {
    pub slope: f64,
    pub intercept: f64,
}

impl LinearMap {
    pub const IDENTITY: LinearMap = LinearMap {
        slope: 1.0,
        intercept: 0.0,
    };

    pub fn is_identity(&self) -> bool {
        self.slope == 1.0 && self.intercept == 0.0
    }

    #[inline]
    pub fn apply(&self, stored: f64) -> f64 {
        stored * self.slope + self.intercept
    }
}

/// How stored values become real values: one map for the volume, or one per plane (DICOM slices
/// may each carry their own Rescale Slope/Intercept). Planes are indexed `k + dims[2] * t`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rescale {
    Uniform(LinearMap),
    PerPlane(Vec<LinearMap>),
}

impl Rescale {
    /// One map when every plane has the same one.
    pub fn simplified(self) -> Rescale {
        match self {
            Rescale::PerPlane(v) if !v.is_empty() && v.iter().all(|m| *m == v[0]) => {
                Rescale::Uniform(v[0])
            }
            other => other,
        }
    }

    pub fn uniform(&self) -> Option<LinearMap> {
        match self {
            Rescale::Uniform(m) => Some(*m),
            Rescale::PerPlane(_) => None,
        }
    }

    pub fn for_plane(&self, plane: usize) -> LinearMap {
        match self {
            Rescale::Uniform(m) => *m,
            Rescale::PerPlane(v) => v.get(plane).copied().unwrap_or(LinearMap::IDENTITY),
        }
    }
}

/// What a user sees of a series. Never patient identifiers: those stay in the source files.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// "DICOM", "NIfTI-1", "NIfTI-2", "NumPy", ...
    pub format: String,
    pub description: Option<String>,
    pub modality: Option<String>,
    pub series_uid: Option<String>,
    pub series_number: Option<i64>,
    pub series_date: Option<String>,
    pub sop_class: Option<String>,
    pub transfer_syntax: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    /// Voxels along axes 0, 1, 2 and frames (1 for a 3D volume). Axis 0 varies fastest.
    dims: [usize; 4],
    voxels: Voxels,
    rescale: Rescale,
    pub geometry: Geometry,
    /// The axis the user pages through (2 unless reoriented).
    slice_axis: usize,
    pub info: SeriesInfo,
}

impl Volume {
    pub fn new(
        dims: [usize; 4],
        voxels: Voxels,
        rescale: Rescale,
        geometry: Geometry,
        info: SeriesInfo,
    ) -> Result<Self, VolumeError> {
        let expected = dims.iter().product::<usize>();
        if voxels.len() != expected {
            return Err(VolumeError::Shape {
                dims,
                expected,
                got: voxels.len(),
            });
        }
        let rescale = rescale.simplified();
        if let Rescale::PerPlane(v) = &rescale {
            let planes = dims[2] * dims[3];
            if v.len() != planes {
                return Err(VolumeError::RescaleLength {
                    planes,
                    got: v.len(),
                });
            }
        }
        Ok(Volume {
            dims,
            voxels,
            rescale,
            geometry,
            slice_axis: 2,
            info,
        })
    }

    pub fn dims(&self) -> [usize; 4] {
        self.dims
    }

    /// Shape without a trailing frame axis of 1: what a user expects to read.
    pub fn shape(&self) -> Vec<usize> {
        if self.dims[3] == 1 {
            self.dims[..3].to_vec()
        } else {
            self.dims.to_vec()
        }
    }

    pub fn voxels(&self) -> &Voxels {
        &self.voxels
    }

    pub fn into_voxels(self) -> Voxels {
        self.voxels
    }

    pub fn rescale(&self) -> &Rescale {
        &self.rescale
    }

    pub fn slice_axis(&self) -> usize {
        self.slice_axis
    }

    pub fn set_slice_axis(&mut self, axis: usize) -> Result<(), VolumeError> {
        if axis > 2 {
            return Err(VolumeError::SliceAxis(axis));
        }
        self.slice_axis = axis;
        Ok(())
    }

    pub fn voxel_count(&self) -> usize {
        self.voxels.len()
    }

    /// Real values (rescale applied) as f32: what display, statistics and models consume.
    pub fn to_f32(&self) -> Vec<f32> {
        let plane = self.dims[0] * self.dims[1];
        with_voxels!(&self.voxels, v => real_f32(v, plane, &self.rescale))
    }

    /// The real value of one voxel.
    pub fn real_value(&self, ijkt: [usize; 4]) -> Option<f64> {
        let d = self.dims;
        if (0..4).any(|a| ijkt[a] >= d[a]) {
            return None;
        }
        let plane = ijkt[2] + d[2] * ijkt[3];
        let index = ijkt[0] + d[0] * (ijkt[1] + d[1] * plane);
        self.voxels
            .get_f64(index)
            .map(|s| self.rescale.for_plane(plane).apply(s))
    }

    /// Replaces the voxels, dims and geometry in one step (used by reorientation).
    pub(crate) fn replace_data(
        &mut self,
        dims: [usize; 4],
        voxels: Voxels,
        rescale: Rescale,
        geometry: Geometry,
    ) {
        self.dims = dims;
        self.voxels = voxels;
        self.rescale = rescale;
        self.geometry = geometry;
    }
}

/// Real values, one plane per task: the output's pages are first touched (faulted in) by the
/// threads that fill them, which is most of the cost of a fresh 60 MB buffer.
fn real_f32<T: Scalar>(stored: &[T], plane: usize, rescale: &Rescale) -> Vec<f32> {
    let plane = plane.max(1);
    let mut out = vec![0f32; stored.len()];
    out.par_chunks_mut(plane)
        .zip(stored.par_chunks(plane))
        .enumerate()
        .for_each(|(p, (dst, src))| {
            let m = rescale.for_plane(p);
            if m.is_identity() {
                dst.iter_mut()
                    .zip(src)
                    .for_each(|(d, x)| *d = x.to_f64() as f32);
            } else {
                let (s, i) = (m.slope as f32, m.intercept as f32);
                dst.iter_mut()
                    .zip(src)
                    .for_each(|(d, x)| *d = x.to_f64() as f32 * s + i);
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::GeometrySource;

    #[test]
    fn per_plane_rescale_applies_to_its_own_slice() {
        let g = Geometry::from_spacing([1.0; 3], GeometrySource::Missing);
        let maps = vec![
            LinearMap {
                slope: 2.0,
                intercept: 1.0,
            },
            LinearMap {
                slope: 0.5,
                intercept: -1.0,
            },
        ];
        let v = Volume::new(
            [2, 1, 2, 1],
            Voxels::I16(vec![1, 2, 4, 8]),
            Rescale::PerPlane(maps),
            g,
            SeriesInfo::default(),
        )
        .unwrap();
        assert_eq!(v.to_f32(), vec![3.0, 5.0, 1.0, 3.0]);
        assert_eq!(v.real_value([1, 0, 1, 0]), Some(3.0));
        assert_eq!(v.real_value([2, 0, 0, 0]), None);
    }

    #[test]
    fn wrong_voxel_count_is_refused() {
        let g = Geometry::from_spacing([1.0; 3], GeometrySource::Missing);
        let err = Volume::new(
            [2, 2, 2, 1],
            Voxels::U8(vec![0; 7]),
            Rescale::Uniform(LinearMap::IDENTITY),
            g,
            SeriesInfo::default(),
        );
        assert!(matches!(err, Err(VolumeError::Shape { got: 7, .. })));
    }
}
