//! Voxel index <-> patient millimetres. The canonical frame is DICOM's LPS; NIfTI's RAS is a view.

use serde::{Deserialize, Serialize};

/// A 4x4 homogeneous matrix, row-major: `affine[row][col]`.
pub type Affine = [[f64; 4]; 4];

/// Where the voxel-to-patient mapping came from, so a user can tell a measured geometry from a
/// guessed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeometrySource {
    /// ImagePositionPatient / ImageOrientationPatient / PixelSpacing of every slice.
    Dicom,
    /// Per-frame functional groups of an enhanced (multi-frame) DICOM object.
    DicomFunctionalGroups,
    NiftiSform,
    NiftiQform,
    /// Neither sform nor qform set: nibabel's fallback from pixdim, centred on the volume.
    NiftiFallback,
    /// An affine stored next to the array (the original's npz bundle).
    NumpyAffine,
    /// Nothing in the file says where the voxels are: identity orientation, spacing as known.
    Missing,
}

/// The voxel-to-patient mapping of a volume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    /// Maps (i, j, k, 1) voxel indices to LPS millimetres.
    pub affine_lps: Affine,
    pub source: GeometrySource,
}

pub const IDENTITY: Affine = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// LPS <-> RAS: negate the first two world rows. Its own inverse.
pub fn flip_lps_ras(a: &Affine) -> Affine {
    let mut out = *a;
    for row in out.iter_mut().take(2) {
        for v in row.iter_mut() {
            *v = -*v;
        }
    }
    out
}

pub fn matmul(a: &Affine, b: &Affine) -> Affine {
    let mut out = [[0.0; 4]; 4];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    out
}

impl Geometry {
    pub fn new(affine_lps: Affine, source: GeometrySource) -> Self {
        Geometry { affine_lps, source }
    }

    /// Identity orientation with the given spacing: what is known when a file carries no geometry.
    pub fn from_spacing(spacing_mm: [f64; 3], source: GeometrySource) -> Self {
        let mut a = IDENTITY;
        for (axis, s) in spacing_mm.iter().enumerate() {
            a[axis][axis] = *s;
        }
        Geometry::new(a, source)
    }

    /// The same mapping into RAS millimetres (the NIfTI convention).
    pub fn affine_ras(&self) -> Affine {
        flip_lps_ras(&self.affine_lps)
    }

    pub fn from_ras(affine_ras: Affine, source: GeometrySource) -> Self {
        Geometry::new(flip_lps_ras(&affine_ras), source)
    }

    /// Voxel size along each axis: the length of each affine column.
    pub fn spacing_mm(&self) -> [f64; 3] {
        let a = &self.affine_lps;
        [0, 1, 2].map(|c| (0..3).map(|r| a[r][c] * a[r][c]).sum::<f64>().sqrt())
    }

    /// Unit vector (LPS) along which voxel axis `axis` increases.
    pub fn direction(&self, axis: usize) -> [f64; 3] {
        let a = &self.affine_lps;
        let n = self.spacing_mm()[axis];
        let n = if n > 0.0 { n } else { 1.0 };
        [a[0][axis] / n, a[1][axis] / n, a[2][axis] / n]
    }

    /// Patient position (LPS mm) of a voxel index.
    pub fn index_to_lps(&self, ijk: [f64; 3]) -> [f64; 3] {
        let a = &self.affine_lps;
        [0, 1, 2].map(|r| a[r][0] * ijk[0] + a[r][1] * ijk[1] + a[r][2] * ijk[2] + a[r][3])
    }

    /// Orientation codes as nibabel's `aff2axcodes` gives them: for each voxel axis, the RAS
    /// direction (R/L, A/P, S/I) it points to, e.g. "LAS". A dominant component is picked per axis
    /// without reusing a world axis, as nibabel's `io_orientation` does for near-orthogonal data.
    pub fn axcodes_ras(&self) -> String {
        let ras = self.affine_ras();
        let mut used = [false; 3];
        let mut codes = ['?'; 3];
        // Assign axes in order of how clearly they align with a world axis.
        let mut order: Vec<(usize, usize, f64)> = (0..3)
            .flat_map(|axis| (0..3).map(move |world| (axis, world, ras[world][axis].abs())))
            .collect();
        order.sort_by(|a, b| b.2.total_cmp(&a.2));
        let mut done = [false; 3];
        for (axis, world, mag) in order {
            if done[axis] || used[world] || mag == 0.0 {
                continue;
            }
            done[axis] = true;
            used[world] = true;
            let positive = ras[world][axis] > 0.0;
            codes[axis] = match (world, positive) {
                (0, true) => 'R',
                (0, false) => 'L',
                (1, true) => 'A',
                (1, false) => 'P',
                (2, true) => 'S',
                _ => 'I',
            };
        }
        codes.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lps_ras_views_agree_and_axcodes_match_nibabel_convention() {
        // nibabel's anatomical.nii: RAS affine diag(-2, 2, 2) is "LAS".
        let ras = [
            [-2.0, 0.0, 0.0, 32.0],
            [0.0, 2.0, 0.0, -40.0],
            [0.0, 0.0, 2.0, -16.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let g = Geometry::from_ras(ras, GeometrySource::NiftiSform);
        assert_eq!(g.axcodes_ras(), "LAS");
        assert_eq!(g.affine_ras(), ras);
        assert_eq!(g.affine_lps[0][0], 2.0);
        assert_eq!(g.spacing_mm(), [2.0, 2.0, 2.0]);
        assert_eq!(g.index_to_lps([1.0, 0.0, 0.0]), [-30.0, 40.0, -16.0]);
    }
}
