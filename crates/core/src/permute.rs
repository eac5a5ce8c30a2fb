//! Moving voxels between axis orders: the one routine behind reorienting, inverting slices and
//! converting C-order arrays into the crate's layout.

use crate::geometry::Affine;

/// How the axes of a new array are taken from an old one: new axis `a` walks old axis
/// `source[a]`, backwards when `flip[a]`. The frame axis (3) is never moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisMap {
    pub source: [usize; 3],
    pub flip: [bool; 3],
}

impl AxisMap {
    pub const IDENTITY: AxisMap = AxisMap {
        source: [0, 1, 2],
        flip: [false; 3],
    };

    pub fn is_identity(&self) -> bool {
        *self == Self::IDENTITY
    }

    /// Whether `source` is a permutation of 0..3.
    pub fn is_valid(&self) -> bool {
        let mut seen = [false; 3];
        for &s in &self.source {
            if s > 2 || seen[s] {
                return false;
            }
            seen[s] = true;
        }
        true
    }

    pub fn new_dims(&self, dims: [usize; 4]) -> [usize; 4] {
        [
            dims[self.source[0]],
            dims[self.source[1]],
            dims[self.source[2]],
            dims[3],
        ]
    }

    /// The affine of the permuted array, so each voxel keeps its place in patient space.
    pub fn apply_to_affine(&self, affine: &Affine, old_dims: [usize; 4]) -> Affine {
        let mut out = *affine;
        for r in 0..4 {
            out[r][3] = affine[r][3];
        }
        for (a, &src) in self.source.iter().enumerate() {
            let sign = if self.flip[a] { -1.0 } else { 1.0 };
            for r in 0..4 {
                out[r][a] = affine[r][src] * sign;
            }
            if self.flip[a] {
                let last = old_dims[src].saturating_sub(1) as f64;
                for r in 0..3 {
                    out[r][3] += affine[r][src] * last;
                }
            }
        }
        out
    }
}

/// Returns the data rearranged by `map`, with the new dims. `dims` are fastest-first.
pub fn permute_axes<T: Copy>(data: &[T], dims: [usize; 4], map: &AxisMap) -> (Vec<T>, [usize; 4]) {
    let new_dims = map.new_dims(dims);
    if map.is_identity() {
        return (data.to_vec(), new_dims);
    }
    let old_strides = [1, dims[0], dims[0] * dims[1], dims[0] * dims[1] * dims[2]];
    // Per new axis: the old stride to step by and the old offset of its first element.
    let mut step = [0isize; 3];
    let mut base = 0isize;
    for a in 0..3 {
        let s = old_strides[map.source[a]] as isize;
        if map.flip[a] {
            step[a] = -s;
            base += s * (dims[map.source[a]] as isize - 1);
        } else {
            step[a] = s;
        }
    }
    let total = new_dims.iter().product::<usize>();
    let mut out = Vec::with_capacity(total);
    for t in 0..new_dims[3] {
        let t_off = base + (t * old_strides[3]) as isize;
        for k in 0..new_dims[2] {
            let k_off = t_off + k as isize * step[2];
            for j in 0..new_dims[1] {
                let row = k_off + j as isize * step[1];
                if step[0] == 1 {
                    let start = row as usize;
                    out.extend_from_slice(&data[start..start + new_dims[0]]);
                } else {
                    out.extend(
                        (0..new_dims[0] as isize).map(|i| data[(row + i * step[0]) as usize]),
                    );
                }
            }
        }
    }
    (out, new_dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_and_flip_move_each_voxel_to_its_new_index() {
        // dims 2 x 3 x 4: value = i + 10 j + 100 k
        let dims = [2, 3, 4, 1];
        let data: Vec<i32> = (0..24)
            .map(|n| (n % 2) + 10 * ((n / 2) % 3) + 100 * (n / 6))
            .collect();
        let map = AxisMap {
            source: [2, 0, 1],
            flip: [true, false, false],
        };
        let (out, nd) = permute_axes(&data, dims, &map);
        assert_eq!(nd, [4, 2, 3, 1]);
        for k in 0..3 {
            for j in 0..2 {
                for i in 0..4 {
                    let v = out[i + 4 * (j + 2 * k)];
                    // new i walks old k backwards, new j = old i, new k = old j
                    assert_eq!(v, j as i32 + 10 * k as i32 + 100 * (3 - i) as i32);
                }
            }
        }
    }

    #[test]
    fn affine_follows_the_voxels() {
        let affine = [
            [2.0, 0.0, 0.0, 5.0],
            [0.0, 3.0, 0.0, 6.0],
            [0.0, 0.0, 4.0, 7.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let map = AxisMap {
            source: [1, 0, 2],
            flip: [false, false, true],
        };
        let a = map.apply_to_affine(&affine, [10, 20, 30, 1]);
        // new voxel (0,0,0) is old (0,0,29)
        assert_eq!([a[0][3], a[1][3], a[2][3]], [5.0, 6.0, 7.0 + 4.0 * 29.0]);
        assert_eq!(a[0][1], 2.0);
        assert_eq!(a[1][0], 3.0);
        assert_eq!(a[2][2], -4.0);
    }
}
