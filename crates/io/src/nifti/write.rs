//! NIfTI-1 writer (`.nii`, `.nii.gz`) and the affine -> quaternion decomposition for the qform.

use std::io::Write;
use std::path::Path;

use dafne_core::{with_voxels, Affine, DType, GeometrySource, LinearMap, Rescale, Volume, Voxels};

use super::NiftiError;

/// Deflate level for `.nii.gz` and `.npz`. With zlib-rs, level 1 is a quick mode (static
/// Huffman codes) that leaves MR volumes 50% larger and no faster to inflate; level 2 gives the
/// size nibabel's default (zlib level 1) gives, at about 1/3 of level 6's time.
pub const GZIP_LEVEL: u32 = 2;

const HEADER_BYTES: usize = 348;
/// Header, then the 4-byte extension flag (no extensions), then the voxels.
const VOX_OFFSET: usize = HEADER_BYTES + 4;
/// NIFTI_UNITS_MM | NIFTI_UNITS_SEC.
const XYZT_UNITS: u8 = 2 | 8;

/// Writes `volume` as NIfTI-1, gzipped when the name ends in `.gz`, atomically (a temporary file
/// in the same folder renamed over `path`).
///
/// Stored values keep their type and a uniform rescale becomes scl_slope/scl_inter; a per-plane
/// rescale cannot be expressed in NIfTI, so then the real values are written as float32. Both
/// sform and qform hold the affine, with code 1 (scanner) when the geometry came from DICOM and
/// 2 (aligned, nibabel's default for new images) otherwise, so a written file always reads back
/// with the same geometry.
pub fn write(volume: &Volume, path: &Path) -> Result<(), NiftiError> {
    let (voxels, scaling) = stored_values(volume);
    let header = header_bytes(volume, voxels.dtype(), scaling)?;
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    crate::fs::write_atomically(path, |out| {
        if gz {
            let mut encoder =
                flate2::write::GzEncoder::new(out, flate2::Compression::new(GZIP_LEVEL));
            encoder.write_all(&header)?;
            write_le(&mut encoder, voxels.as_ref())?;
            encoder.finish()?;
        } else {
            out.write_all(&header)?;
            write_le(out, voxels.as_ref())?;
        }
        Ok(())
    })
    .map_err(|source| NiftiError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Either the stored voxels with their scaling or, when NIfTI cannot express the rescale, real
/// values as float32.
fn stored_values(volume: &Volume) -> (std::borrow::Cow<'_, Voxels>, LinearMap) {
    match volume.rescale() {
        Rescale::Uniform(m) if m.slope != 0.0 && m.slope.is_finite() && m.intercept.is_finite() => {
            (std::borrow::Cow::Borrowed(volume.voxels()), *m)
        }
        _ => (
            std::borrow::Cow::Owned(Voxels::F32(volume.to_f32())),
            LinearMap::IDENTITY,
        ),
    }
}

fn datatype_code(dtype: DType) -> i16 {
    match dtype {
        DType::U8 => 2,
        DType::I16 => 4,
        DType::I32 => 8,
        DType::F32 => 16,
        DType::F64 => 64,
        DType::I8 => 256,
        DType::U16 => 512,
        DType::U32 => 768,
        DType::I64 => 1024,
        DType::U64 => 1280,
    }
}

struct HeaderBlock([u8; VOX_OFFSET]);

impl HeaderBlock {
    fn put(&mut self, offset: usize, bytes: &[u8]) {
        if let Some(dst) = self.0.get_mut(offset..offset + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
    fn i16(&mut self, offset: usize, v: i16) {
        self.put(offset, &v.to_le_bytes());
    }
    fn i32(&mut self, offset: usize, v: i32) {
        self.put(offset, &v.to_le_bytes());
    }
    fn f32(&mut self, offset: usize, v: f64) {
        self.put(offset, &(v as f32).to_le_bytes());
    }
}

fn header_bytes(
    volume: &Volume,
    dtype: DType,
    scaling: LinearMap,
) -> Result<[u8; VOX_OFFSET], NiftiError> {
    let dims = volume.dims();
    let mut dim = [1i16; 8];
    dim[0] = if dims[3] > 1 { 4 } else { 3 };
    for (axis, &n) in dims.iter().enumerate() {
        dim[axis + 1] =
            i16::try_from(n)
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| NiftiError::Unwritable {
                    reason: format!("axis {axis} has {n} voxels; NIfTI-1 allows 1 to 32767"),
                })?;
    }
    let affine = volume.geometry.affine_ras();
    if affine.iter().flatten().any(|v| !v.is_finite()) {
        return Err(NiftiError::Unwritable {
            reason: "the affine has non-finite values".into(),
        });
    }
    let q = quaternion_of(&affine);
    let code: i16 = match volume.geometry.source {
        GeometrySource::Dicom | GeometrySource::DicomFunctionalGroups => 1,
        _ => 2,
    };

    let mut h = HeaderBlock([0; VOX_OFFSET]);
    h.i32(0, HEADER_BYTES as i32);
    for (i, &d) in dim.iter().enumerate() {
        h.i16(40 + 2 * i, d);
    }
    h.i16(70, datatype_code(dtype));
    h.i16(72, (dtype.size_bytes() * 8) as i16);
    let pixdim = [
        q.qfac, q.zooms[0], q.zooms[1], q.zooms[2], 1.0, 1.0, 1.0, 1.0,
    ];
    for (i, &p) in pixdim.iter().enumerate() {
        h.f32(76 + 4 * i, p);
    }
    h.f32(108, VOX_OFFSET as f64);
    h.f32(112, scaling.slope);
    h.f32(116, scaling.intercept);
    h.put(123, &[XYZT_UNITS]);
    if let Some(text) = &volume.info.description {
        h.put(148, truncate_utf8(text, 79).as_bytes());
    }
    h.i16(252, code);
    h.i16(254, code);
    for (i, (b, row)) in q.bcd.iter().zip(&affine).enumerate() {
        h.put(256 + 4 * i, &b.to_le_bytes());
        h.f32(268 + 4 * i, row[3]);
    }
    for (r, row) in affine.iter().take(3).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            h.f32(280 + 16 * r + 4 * c, v);
        }
    }
    h.put(344, b"n+1\0");
    Ok(h.0)
}

fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Voxels as little-endian bytes, a block at a time (no full-size copy).
fn write_le<W: Write>(out: &mut W, voxels: &Voxels) -> std::io::Result<()> {
    if let Voxels::U8(v) = voxels {
        return out.write_all(v);
    }
    const BLOCK: usize = 1 << 16;
    let mut buf = Vec::with_capacity(BLOCK * 8);
    with_voxels!(voxels, v => {
        for chunk in v.chunks(BLOCK) {
            buf.clear();
            for x in chunk {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            out.write_all(&buf)?;
        }
    });
    Ok(())
}

/// The qform parameters of an affine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Quatern {
    pub bcd: [f32; 3],
    pub qfac: f64,
    pub zooms: [f64; 3],
}

/// nifti1_io's `nifti_mat44_to_quatern`: column norms are the zooms, the normalised columns are
/// replaced by the closest orthogonal matrix (polar decomposition, so sheared or rounded oblique
/// matrices still give a rotation), an improper matrix flips its third column (qfac = -1).
pub(super) fn quaternion_of(affine: &Affine) -> Quatern {
    let mut m = [[0.0f64; 3]; 3];
    let mut zooms = [1.0; 3];
    for c in 0..3 {
        let norm = (0..3)
            .map(|r| affine[r][c] * affine[r][c])
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            zooms[c] = norm;
            for r in 0..3 {
                m[r][c] = affine[r][c] / norm;
            }
        } else {
            m[c][c] = 1.0;
        }
    }
    let mut r = closest_orthogonal(m);
    let qfac = if det3(&r) > 0.0 {
        1.0
    } else {
        for row in &mut r {
            row[2] = -row[2];
        }
        -1.0
    };
    let [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = r;
    let trace = r11 + r22 + r33 + 1.0;
    let (a, b, c, d) = if trace > 0.5 {
        let a = 0.5 * trace.sqrt();
        (
            a,
            0.25 * (r32 - r23) / a,
            0.25 * (r13 - r31) / a,
            0.25 * (r21 - r12) / a,
        )
    } else {
        let xd = 1.0 + r11 - (r22 + r33);
        let yd = 1.0 + r22 - (r11 + r33);
        let zd = 1.0 + r33 - (r11 + r22);
        if xd > 1.0 {
            let b = 0.5 * xd.sqrt();
            (
                0.25 * (r32 - r23) / b,
                b,
                0.25 * (r12 + r21) / b,
                0.25 * (r13 + r31) / b,
            )
        } else if yd > 1.0 {
            let c = 0.5 * yd.sqrt();
            (
                0.25 * (r13 - r31) / c,
                0.25 * (r12 + r21) / c,
                c,
                0.25 * (r23 + r32) / c,
            )
        } else {
            let d = 0.5 * zd.sqrt();
            (
                0.25 * (r21 - r12) / d,
                0.25 * (r13 + r31) / d,
                0.25 * (r23 + r32) / d,
                d,
            )
        }
    };
    // The file stores only b, c, d and rebuilds a >= 0 from them.
    let sign = if a < 0.0 { -1.0 } else { 1.0 };
    Quatern {
        bcd: stored_bcd([b * sign, c * sign, d * sign], a.abs()),
        qfac,
        zooms,
    }
}

/// b, c, d rounded to float32 so that a reader rebuilding a = sqrt(1 - b² - c² - d²), in float32
/// (nibabel for NIfTI-1) or float64, lands close to the true `a`. Near a 180° rotation a ≈ 0 and
/// plain rounding can leave 1 - b² - c² - d² at +1e-7, which sqrt turns into a = 3e-4: a
/// visible tilt. Trying a couple of ulps on the two largest components fixes it.
fn stored_bcd(bcd: [f64; 3], a: f64) -> [f32; 3] {
    let error = |q: [f32; 3]| {
        let s32 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2];
        let a32 = (1.0f32 - s32).max(0.0).sqrt() as f64;
        let s64: f64 = q.iter().map(|&v| v as f64 * v as f64).sum();
        let a64 = (1.0 - s64).max(0.0).sqrt();
        (a32 - a).abs().max((a64 - a).abs())
    };
    let rounded = bcd.map(|v| v as f32);
    if error(rounded) <= 1e-7 {
        return rounded;
    }
    let step = |v: f32, n: i32| {
        (0..n.unsigned_abs()).fold(v, |v, _| if n > 0 { v.next_up() } else { v.next_down() })
    };
    let mut order = [0usize, 1, 2];
    order.sort_by(|&x, &y| bcd[y].abs().total_cmp(&bcd[x].abs()));
    let mut best = (error(rounded), rounded);
    for di in -3..=3 {
        for dj in -3..=3 {
            let mut q = rounded;
            q[order[0]] = step(q[order[0]], di);
            q[order[1]] = step(q[order[1]], dj);
            let e = error(q);
            if e < best.0 {
                best = (e, q);
            }
        }
    }
    best.1
}

fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// The orthogonal matrix closest to `m` by Newton's iteration X <- (X + X^-T) / 2, which
/// converges quadratically from a matrix with unit columns.
fn closest_orthogonal(m: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut x = m;
    for _ in 0..100 {
        let det = det3(&x);
        if det.abs() < 1e-12 {
            // Singular (two parallel columns): nudge the diagonal as nifti1_io does.
            for (i, row) in x.iter_mut().enumerate() {
                row[i] += 1e-5;
            }
            continue;
        }
        // Inverse transpose = cofactor matrix / det.
        let cof = |r: usize, c: usize| {
            let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
            let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
            x[r1][c1] * x[r2][c2] - x[r1][c2] * x[r2][c1]
        };
        let mut next = [[0.0; 3]; 3];
        let mut change: f64 = 0.0;
        for (r, row) in next.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = 0.5 * (x[r][c] + cof(r, c) / det);
                change = change.max((*v - x[r][c]).abs());
            }
        }
        x = next;
        if change < 1e-14 {
            break;
        }
    }
    x
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::read::quaternion_to_matrix;
    use super::*;

    fn rebuild(q: &Quatern) -> [[f64; 3]; 3] {
        let [b, c, d] = q.bcd.map(f64::from);
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let r = quaternion_to_matrix([a, b, c, d]);
        let z = [q.zooms[0], q.zooms[1], q.zooms[2] * q.qfac];
        std::array::from_fn(|i| std::array::from_fn(|j| r[i][j] * z[j]))
    }

    #[test]
    fn quaternion_round_trips_oblique_and_improper_matrices() {
        let t = 0.3f64;
        let cases: [[[f64; 3]; 3]; 4] = [
            // LAS (improper), oblique about x, 180° about z (trace case), permuted axes.
            [
                [-2.0, 0.0, 0.0],
                [0.0, 1.973711, -0.355528],
                [0.0, 0.323208, 2.171082],
            ],
            [
                [1.0, 0.0, 0.0],
                [0.0, t.cos() * 0.7, -t.sin() * 5.0],
                [0.0, t.sin() * 0.7, t.cos() * 5.0],
            ],
            [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
            [[0.0, -0.3125, 0.0], [-0.3125, 0.0, 0.0], [0.0, 0.0, 2.0]],
        ];
        for m in cases {
            let mut affine = [[0.0; 4]; 4];
            for r in 0..3 {
                affine[r][..3].copy_from_slice(&m[r]);
            }
            let q = quaternion_of(&affine);
            let back = rebuild(&q);
            for r in 0..3 {
                for c in 0..3 {
                    assert!((back[r][c] - m[r][c]).abs() < 1e-6, "{m:?} -> {back:?}");
                }
            }
        }
    }

    #[test]
    fn half_turns_store_bcd_that_rebuild_a_zero_a() {
        // 180° about an oblique axis in the y-z plane: a = 0, b² + c² + d² = 1.
        let (c, s) = (0.99096f64, 0.134158f64);
        let n = (c * c + s * s).sqrt();
        let d = ((1.0 + c / n) / 2.0).sqrt();
        let cc = s / n / (2.0 * d);
        for bcd in [[0.0, cc, d], [0.6, 0.0, 0.8], [0.0, 0.1, 0.99498743710662]] {
            let q = stored_bcd(bcd, 0.0);
            let s32 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2];
            let s64: f64 = q.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            assert!((1.0f32 - s32).max(0.0).sqrt() < 1e-6, "{bcd:?} -> {q:?}");
            assert!((1.0 - s64).max(0.0).sqrt() < 1e-6, "{bcd:?} -> {q:?}");
        }
    }

    #[test]
    fn shear_is_replaced_by_the_closest_rotation() {
        let m = [[1.0, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let o = closest_orthogonal(m);
        for i in 0..3 {
            for j in 0..3 {
                let dot: f64 = (0..3).map(|k| o[k][i] * o[k][j]).sum();
                assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn descriptions_are_cut_on_character_boundaries() {
        assert_eq!(truncate_utf8("abé", 3), "ab");
        assert_eq!(truncate_utf8("abc", 79), "abc");
    }
}
