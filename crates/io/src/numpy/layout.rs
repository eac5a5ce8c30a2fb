//! NumPy image arrays (rows, cols, slices[, frames]) <-> the crate's layout (axis 0 = column
//! fastest, then row, slice, frame).
//!
//! Every case is one or two 2-D transposes: C order (H, W, Z) is an (H·W) x Z matrix whose
//! transpose is exactly our [W, H, Z]; Fortran order only swaps rows and columns inside each
//! slice. A tiled transpose does this several times faster than a general axis walk, which
//! strides through the whole array once per slice (and `permute_axes` cannot move the frame
//! axis, which C-order 4-D arrays need).

use dafne_core::{map_voxels, DType, Voxels};

use super::NumpyError;

/// Our dims [W, H, Z, T] for a NumPy image shape (2-D arrays are one slice).
pub(super) fn layout_dims(shape: &[usize]) -> Result<[usize; 4], NumpyError> {
    if shape.contains(&0) {
        return Err(NumpyError::Shape {
            shape: shape.to_vec(),
            reason: "an axis has no elements",
        });
    }
    match *shape {
        [h, w] => Ok([w, h, 1, 1]),
        [h, w, z] => Ok([w, h, z, 1]),
        [h, w, z, t] => Ok([w, h, z, t]),
        _ => Err(NumpyError::Shape {
            shape: shape.to_vec(),
            reason: "expected 2, 3 or 4 axes (rows, columns, slices, frames)",
        }),
    }
}

/// Elements of an array of `shape` (file order) rearranged into our layout; returns our dims.
pub(super) fn to_layout(
    shape: &[usize],
    fortran_order: bool,
    voxels: Voxels,
) -> Result<([usize; 4], Voxels), NumpyError> {
    let dims = layout_dims(shape)?;
    let voxels = map_voxels!(voxels, v => arrange(&v, dims, fortran_order, |&x| x));
    Ok((dims, voxels))
}

/// The raw element bytes of an array of `shape` decoded straight into our layout: decoding and
/// transposing in one pass spares a full-size intermediate (on a 30 MB volume, its page faults
/// alone cost as much as the transpose). `bool` arrays become 0/1 `U8`.
pub(super) fn bytes_to_layout(
    shape: &[usize],
    fortran_order: bool,
    bytes: &[u8],
    dtype: DType,
    big_endian: bool,
    bool: bool,
) -> Result<([usize; 4], Voxels), NumpyError> {
    let dims = layout_dims(shape)?;
    macro_rules! typed {
        ($variant:ident, $t:ty, $n:literal) => {{
            let (elements, _) = bytes.as_chunks::<$n>();
            let values = if big_endian {
                arrange(elements, dims, fortran_order, |b| <$t>::from_be_bytes(*b))
            } else {
                arrange(elements, dims, fortran_order, |b| <$t>::from_le_bytes(*b))
            };
            Voxels::$variant(values)
        }};
    }
    let voxels = match dtype {
        DType::U8 if bool => Voxels::U8(arrange(bytes, dims, fortran_order, |&b| (b != 0) as u8)),
        DType::U8 => Voxels::U8(arrange(bytes, dims, fortran_order, |&b| b)),
        DType::I8 => Voxels::I8(arrange(bytes, dims, fortran_order, |&b| b as i8)),
        DType::U16 => typed!(U16, u16, 2),
        DType::I16 => typed!(I16, i16, 2),
        DType::U32 => typed!(U32, u32, 4),
        DType::I32 => typed!(I32, i32, 4),
        DType::U64 => typed!(U64, u64, 8),
        DType::I64 => typed!(I64, i64, 8),
        DType::F32 => typed!(F32, f32, 4),
        DType::F64 => typed!(F64, f64, 8),
    };
    Ok((dims, voxels))
}

/// Elements in file order (C or Fortran, NumPy shape (H, W, Z[, T])) converted by `f` and laid
/// out as our [W, H, Z, T]. `src` holds exactly W·H·Z·T elements.
fn arrange<S, T: Copy + Default>(
    src: &[S],
    dims: [usize; 4],
    fortran_order: bool,
    f: impl Fn(&S) -> T + Copy,
) -> Vec<T> {
    let [w, h, z, t] = dims;
    let plane = w * h;
    if fortran_order {
        // Fastest-first [H, W, Z, T]: each slice is a W x H matrix (h fastest) to transpose.
        transpose(src, z * t, w, h, f)
    } else if t == 1 {
        // (H·W) x Z, z fastest -> Z x (H·W).
        transpose(src, 1, plane, z, f)
    } else {
        // (H·W) x (Z·T) -> planes ordered (z, t) -> planes reordered to (t, z).
        move_blocks(&transpose(src, 1, plane, z * t, f), z, t, plane)
    }
}

/// Our layout with `dims` [W, H, Z, T] -> C-order elements of shape (H, W, Z[, T]).
pub(super) fn to_c_order<T: Copy + Default>(data: &[T], dims: [usize; 4]) -> Vec<T> {
    let [w, h, z, t] = dims;
    let plane = w * h;
    if t == 1 {
        transpose(data, 1, z, plane, |&x| x)
    } else {
        transpose(&move_blocks(data, t, z, plane), 1, z * t, plane, |&x| x)
    }
}

/// The NumPy shape (H, W, Z[, T]) of a volume with our `dims`.
pub(super) fn numpy_shape(dims: [usize; 4]) -> Vec<usize> {
    let [w, h, z, t] = dims;
    if t == 1 {
        vec![h, w, z]
    } else {
        vec![h, w, z, t]
    }
}

/// Transposes `batches` consecutive `rows` x `cols` matrices (row-major), converting each element
/// with `f`.
///
/// Values move in tiles of 64 source rows: each tile (at most 64 x 256 values) stays in cache
/// while every output row receives a contiguous run of 64 values, so each byte crosses the memory
/// bus once in each direction.
fn transpose<S, T: Copy + Default>(
    src: &[S],
    batches: usize,
    rows: usize,
    cols: usize,
    f: impl Fn(&S) -> T,
) -> Vec<T> {
    const TILE_ROWS: usize = 64;
    const TILE_COLS: usize = 256;
    let matrix = rows * cols;
    let mut dst = vec![T::default(); matrix * batches];
    if matrix == 0 {
        return dst;
    }
    for (s, d) in src.chunks_exact(matrix).zip(dst.chunks_exact_mut(matrix)) {
        for r0 in (0..rows).step_by(TILE_ROWS) {
            let r1 = (r0 + TILE_ROWS).min(rows);
            let tile = &s[r0 * cols..r1 * cols];
            for c0 in (0..cols).step_by(TILE_COLS) {
                for c in c0..(c0 + TILE_COLS).min(cols) {
                    let out = &mut d[c * rows + r0..c * rows + r1];
                    for (o, v) in out.iter_mut().zip(tile[c..].iter().step_by(cols)) {
                        *o = f(v);
                    }
                }
            }
        }
    }
    dst
}

/// Transposes a `rows` x `cols` matrix whose elements are runs of `block` values.
fn move_blocks<T: Copy + Default>(src: &[T], rows: usize, cols: usize, block: usize) -> Vec<T> {
    let mut dst = vec![T::default(); src.len()];
    for r in 0..rows {
        for c in 0..cols {
            let from = (r * cols + c) * block;
            let to = (c * rows + r) * block;
            if let (Some(d), Some(s)) = (dst.get_mut(to..to + block), src.get(from..from + block)) {
                d.copy_from_slice(s);
            }
        }
    }
    dst
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Value encoding the NumPy index (h, w, z, t).
    fn code(h: usize, w: usize, z: usize, t: usize) -> u32 {
        (h * 1000 + w * 100 + z * 10 + t) as u32
    }

    #[test]
    fn c_and_fortran_arrays_land_on_the_same_voxels() {
        let (h, w, z, t) = (5, 3, 4, 2);
        let mut c = Vec::new();
        for a in 0..h {
            for b in 0..w {
                for k in 0..z {
                    for f in 0..t {
                        c.push(code(a, b, k, f));
                    }
                }
            }
        }
        let mut fo = Vec::new();
        for f in 0..t {
            for k in 0..z {
                for b in 0..w {
                    for a in 0..h {
                        fo.push(code(a, b, k, f));
                    }
                }
            }
        }
        let shape = [h, w, z, t];
        let (dims, from_c) = to_layout(&shape, false, Voxels::U32(c.clone())).unwrap();
        let (_, from_f) = to_layout(&shape, true, Voxels::U32(fo)).unwrap();
        assert_eq!(dims, [w, h, z, t]);
        assert_eq!(from_c, from_f);
        let Voxels::U32(ours) = from_c else { panic!() };
        for f in 0..t {
            for k in 0..z {
                for a in 0..h {
                    for b in 0..w {
                        assert_eq!(ours[b + w * (a + h * (k + z * f))], code(a, b, k, f));
                    }
                }
            }
        }
        assert_eq!(to_c_order(&ours, dims), c);
    }

    #[test]
    fn three_d_round_trip() {
        let (h, w, z) = (37, 41, 3);
        let c: Vec<u16> = (0..(h * w * z) as u16).collect();
        let (dims, v) = to_layout(&[h, w, z], false, Voxels::U16(c.clone())).unwrap();
        let Voxels::U16(ours) = v else { panic!() };
        assert_eq!(ours[1], c[z]); // (h=0, w=1, z=0)
        assert_eq!(to_c_order(&ours, dims), c);
    }
}
