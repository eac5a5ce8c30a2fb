//! Reorienting a volume to a standard plane and inverting slices, keeping every voxel where it
//! was in patient space (the affine moves with the data).

use serde::{Deserialize, Serialize};

use crate::map_voxels;
use crate::permute::{permute_axes, AxisMap};
use crate::volume::{LinearMap, Rescale, Volume};
use crate::voxels::Voxels;

/// The plane the user pages through. Axis conventions follow the original's reformat
/// (Axial: rows A->P, columns R->L, slices I->S; Sagittal: rows S->I, columns P->A, slices R->L;
/// Coronal: rows S->I, columns R->L, slices A->P), written here as the LPS direction each of our
/// axes 0 (column), 1 (row), 2 (slice) points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaneOrientation {
    Axial,
    Sagittal,
    Coronal,
}

impl PlaneOrientation {
    /// For each new axis: (LPS world axis, +1 or -1).
    fn targets(self) -> [(usize, f64); 3] {
        match self {
            PlaneOrientation::Axial => [(0, 1.0), (1, 1.0), (2, 1.0)],
            PlaneOrientation::Sagittal => [(1, -1.0), (2, -1.0), (0, 1.0)],
            PlaneOrientation::Coronal => [(0, 1.0), (2, -1.0), (1, 1.0)],
        }
    }
}

/// Which old axis best matches each world axis, assigned greedily by alignment so that an
/// oblique volume still maps each world axis to exactly one voxel axis.
fn world_to_voxel_axis(volume: &Volume) -> ([usize; 3], [f64; 3]) {
    let dirs = [0, 1, 2].map(|a| volume.geometry.direction(a));
    let mut pairs: Vec<(usize, usize, f64)> = Vec::with_capacity(9);
    for (axis, d) in dirs.iter().enumerate() {
        for (world, c) in d.iter().enumerate() {
            pairs.push((axis, world, *c));
        }
    }
    pairs.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    let mut axis_of_world = [usize::MAX; 3];
    let mut sign_of_world = [1.0; 3];
    let mut axis_used = [false; 3];
    for (axis, world, c) in pairs {
        if axis_used[axis] || axis_of_world[world] != usize::MAX {
            continue;
        }
        axis_used[axis] = true;
        axis_of_world[world] = axis;
        sign_of_world[world] = if c < 0.0 { -1.0 } else { 1.0 };
    }
    (axis_of_world, sign_of_world)
}

/// Rearranges the voxels so that axis 2 is the slice axis of `plane`.
pub fn reorient(volume: &mut Volume, plane: PlaneOrientation) {
    let (axis_of_world, sign_of_world) = world_to_voxel_axis(volume);
    let targets = plane.targets();
    let map = AxisMap {
        source: targets.map(|(world, _)| axis_of_world[world]),
        flip: targets.map(|(world, sign)| sign_of_world[world] != sign),
    };
    apply(volume, &map);
}

/// Reverses the order of slices along the slice axis.
pub fn invert_slices(volume: &mut Volume) {
    let mut flip = [false; 3];
    flip[volume.slice_axis()] = true;
    apply(
        volume,
        &AxisMap {
            source: [0, 1, 2],
            flip,
        },
    );
}

fn apply(volume: &mut Volume, map: &AxisMap) {
    if map.is_identity() || !map.is_valid() {
        if map.is_identity() {
            let _ = volume.set_slice_axis(2);
        }
        return;
    }
    let dims = volume.dims();
    let rescale = remap_rescale(volume, map);
    let voxels = match (&rescale, volume.rescale()) {
        // Per-plane maps cannot follow planes that are cut across: bake them into real values.
        (None, _) => Voxels::F32(permute_axes(&volume.to_f32(), dims, map).0),
        (Some(_), _) => map_voxels!(volume.voxels(), v => permute_axes(v, dims, map).0),
    };
    let mut geometry = volume.geometry.clone();
    geometry.affine_lps = map.apply_to_affine(&volume.geometry.affine_lps, dims);
    let rescale = rescale.unwrap_or(Rescale::Uniform(LinearMap::IDENTITY));
    volume.replace_data(map.new_dims(dims), voxels, rescale, geometry);
    let _ = volume.set_slice_axis(2);
}

/// The rescale after the move, or None when it has to be baked into the voxels.
fn remap_rescale(volume: &Volume, map: &AxisMap) -> Option<Rescale> {
    match volume.rescale() {
        Rescale::Uniform(m) => Some(Rescale::Uniform(*m)),
        Rescale::PerPlane(maps) if map.source[2] == 2 => {
            let [_, _, nk, nt] = volume.dims();
            let mut out = Vec::with_capacity(maps.len());
            for t in 0..nt {
                for k in 0..nk {
                    let old_k = if map.flip[2] { nk - 1 - k } else { k };
                    out.push(maps[old_k + nk * t]);
                }
            }
            Some(Rescale::PerPlane(out))
        }
        Rescale::PerPlane(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Geometry, GeometrySource};
    use crate::volume::SeriesInfo;

    fn sagittal_volume() -> Volume {
        // A DICOM-like sagittal stack: columns go P (+y), rows go I (-z), slices go L (+x).
        let affine = [
            [0.0, 0.0, 3.0, -10.0],
            [0.5, 0.0, 0.0, -20.0],
            [0.0, -0.7, 0.0, 30.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let dims = [4, 5, 6, 1];
        let data: Vec<i16> = (0..120).collect();
        Volume::new(
            dims,
            Voxels::I16(data),
            Rescale::Uniform(LinearMap::IDENTITY),
            Geometry::new(affine, GeometrySource::Dicom),
            SeriesInfo::default(),
        )
        .unwrap()
    }

    fn positions(v: &Volume) -> Vec<(i64, [i64; 3])> {
        let d = v.dims();
        let mut out = Vec::new();
        for k in 0..d[2] {
            for j in 0..d[1] {
                for i in 0..d[0] {
                    let p = v.geometry.index_to_lps([i as f64, j as f64, k as f64]);
                    let val = v.real_value([i, j, k, 0]).unwrap() as i64;
                    out.push((val, p.map(|x| (x * 1000.0).round() as i64)));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn reorient_keeps_every_voxel_in_place_and_sets_the_plane() {
        let before = positions(&sagittal_volume());
        for plane in [
            PlaneOrientation::Axial,
            PlaneOrientation::Coronal,
            PlaneOrientation::Sagittal,
        ] {
            let mut v = sagittal_volume();
            reorient(&mut v, plane);
            assert_eq!(positions(&v), before, "{plane:?}");
            let codes = v.geometry.axcodes_ras();
            let expected = match plane {
                PlaneOrientation::Axial => "LPS",
                PlaneOrientation::Sagittal => "AIL",
                PlaneOrientation::Coronal => "LIP",
            };
            assert_eq!(codes, expected);
        }
        let mut v = sagittal_volume();
        invert_slices(&mut v);
        assert_eq!(positions(&v), before);
        assert_eq!(v.geometry.axcodes_ras(), "PIR");
    }
}
