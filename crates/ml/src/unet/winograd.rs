//! The 3×3 'same' convs of the CPU pass as Winograd F(4×4, 3×3) (Lavin & Gray 2016): each
//! 4×4 block of output pixels comes from a 6×6 input patch with 36 multiplications per
//! (input, output) channel pair instead of 144, so the matmul work of a 3×3 conv drops 4×.
//!
//! Layout (everything NHWC, channels innermost so the transforms run on whole channel lanes):
//! - weights `u`, transformed once when the network is built: 36 matrices (in × out), one per
//!   position ξ of the 6×6 transformed patch;
//! - input `v`: per tile, its 36 transformed patches (in channels, padded to a whole lane);
//! - products `m`: per tile, 36 × out channels (padded); the 36 matmuls `m[ξ] = v[ξ]·u[ξ]` read
//!   and write them with a row stride of 36 rows;
//! - the output transform adds the bias, the shortcut and the ReLU as it writes the pixels.
//!
//! Everything is f32. The transform points (0, ±1, ±2) are the standard ones: against the direct conv the pass agrees
//! to a few 1e-6 of the activations' scale (`tests.rs`), and the kit's softmax stays within its
//! parity bound.

use rayon::prelude::*;

use super::cpu::{matmul_mat, matmul_on, Pool, Source};
use crate::matmul::Mat;

/// Channels handled together by the transforms (one or two SIMD registers).
const L: usize = 8;
type Lane = [f32; L];

/// Positions of the transformed patch.
const XI: usize = 36;

/// G (6×3): the weight transform u = G g Gᵀ.
const G: [[f32; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// The folded 3×3 weights `(9·cin, cout)` (row `(ky·3 + kx)·cin + ci`) as 36 matrices
/// `(cin, cout)`, position ξ = 6·i + j first. Runs over whole rows of output channels (the
/// training ops transform their weights at every step).
pub(crate) fn transform_weights(weight: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut u = vec![0f32; XI * cin * cout];
    if cin == 0 || cout == 0 {
        return u;
    }
    // Per input channel, its row in each of the 36 matrices.
    let mut rows: Vec<Vec<&mut [f32]>> = (0..cin).map(|_| Vec::with_capacity(XI)).collect();
    for plane in u.chunks_exact_mut(cin * cout) {
        for (ci, row) in plane.chunks_exact_mut(cout).enumerate() {
            rows[ci].push(row);
        }
    }
    rows.into_par_iter().enumerate().for_each(|(ci, mut out)| {
        let g = |ky: usize, kx: usize| &weight[((ky * 3 + kx) * cin + ci) * cout..][..cout];
        // t[i][kx] = Σ_ky G[i][ky] g[ky][kx], then u[i][j] = Σ_kx t[i][kx] G[j][kx].
        let mut t = vec![0f32; 3 * cout];
        for (i, gi) in G.iter().enumerate() {
            t.fill(0.0);
            for (kx, t) in t.chunks_exact_mut(cout).enumerate() {
                for (ky, &c) in gi.iter().enumerate() {
                    if c != 0.0 {
                        for (t, &v) in t.iter_mut().zip(g(ky, kx)) {
                            *t += c * v;
                        }
                    }
                }
            }
            for (j, gj) in G.iter().enumerate() {
                let o = &mut out[i * 6 + j];
                o.fill(0.0);
                for (kx, &c) in gj.iter().enumerate() {
                    if c != 0.0 {
                        for (o, &v) in o.iter_mut().zip(&t[kx * cout..(kx + 1) * cout]) {
                            *o += c * v;
                        }
                    }
                }
            }
        }
    });
    u
}

fn lanes_op(a: &Lane, f: impl Fn(usize) -> f32) -> Lane {
    let mut out = *a;
    for (l, o) in out.iter_mut().enumerate() {
        *o = f(l);
    }
    out
}

/// Bᵀ x for one column or row of six lanes.
#[inline(always)]
fn bt(x: [&Lane; 6]) -> [Lane; 6] {
    let [x0, x1, x2, x3, x4, x5] = x;
    [
        lanes_op(x0, |l| 4.0 * x0[l] - 5.0 * x2[l] + x4[l]),
        lanes_op(x0, |l| -4.0 * (x1[l] + x2[l]) + x3[l] + x4[l]),
        lanes_op(x0, |l| 4.0 * (x1[l] - x2[l]) - x3[l] + x4[l]),
        lanes_op(x0, |l| 2.0 * (x3[l] - x1[l]) - x2[l] + x4[l]),
        lanes_op(x0, |l| 2.0 * (x1[l] - x3[l]) - x2[l] + x4[l]),
        lanes_op(x0, |l| 4.0 * x1[l] - 5.0 * x3[l] + x5[l]),
    ]
}

/// Aᵀ m for one column or row of six lanes: four outputs.
#[inline(always)]
fn at(m: [&Lane; 6]) -> [Lane; 4] {
    let [m0, m1, m2, m3, m4, m5] = m;
    [
        lanes_op(m0, |l| m0[l] + m1[l] + m2[l] + m3[l] + m4[l]),
        lanes_op(m0, |l| m1[l] - m2[l] + 2.0 * (m3[l] - m4[l])),
        lanes_op(m0, |l| m1[l] + m2[l] + 4.0 * (m3[l] + m4[l])),
        lanes_op(m0, |l| m1[l] - m2[l] + 8.0 * (m3[l] - m4[l]) + m5[l]),
    ]
}

/// Bᵀ d B of one 6×6 patch of lanes (`d[r][c]`).
#[inline(always)]
fn input_transform(d: &[[Lane; 6]; 6]) -> [[Lane; 6]; 6] {
    let mut t = [[[0f32; L]; 6]; 6];
    for c in 0..6 {
        let col = bt([&d[0][c], &d[1][c], &d[2][c], &d[3][c], &d[4][c], &d[5][c]]);
        for (i, v) in col.into_iter().enumerate() {
            t[i][c] = v;
        }
    }
    let mut v = [[[0f32; L]; 6]; 6];
    for i in 0..6 {
        let r = &t[i];
        v[i] = bt([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
    }
    v
}

/// Aᵀ m A of one tile's products: 4×4 output lanes.
#[inline(always)]
fn output_transform(m: &[[Lane; 6]; 6]) -> [[Lane; 4]; 4] {
    let mut t = [[[0f32; L]; 6]; 4];
    for c in 0..6 {
        let col = at([&m[0][c], &m[1][c], &m[2][c], &m[3][c], &m[4][c], &m[5][c]]);
        for (i, v) in col.into_iter().enumerate() {
            t[i][c] = v;
        }
    }
    let mut y = [[[0f32; L]; 4]; 4];
    for i in 0..4 {
        let r = &t[i];
        y[i] = at([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
    }
    y
}

/// The planes of a transformed buffer (36 planes, each `tile_rows` rows of tiles of `row_len`
/// floats) cut by row of tiles: per row, its part of each of the 36 planes, so that rows can
/// be transformed in parallel.
fn tile_rows(buf: &mut [f32], tile_rows: usize, row_len: usize) -> Vec<Vec<&mut [f32]>> {
    let mut rows: Vec<Vec<&mut [f32]>> = (0..tile_rows).map(|_| Vec::with_capacity(XI)).collect();
    if row_len == 0 || tile_rows == 0 {
        return rows;
    }
    for plane in buf.chunks_exact_mut(tile_rows * row_len) {
        for (row, part) in rows.iter_mut().zip(plane.chunks_exact_mut(row_len)) {
            row.push(part);
        }
    }
    rows
}

/// The input transform Bᵀ d B of every 6×6 patch of the channel-wise concatenation of
/// `sources` (`n` images of `h`×`w`, NHWC), one row of tiles per task: plane ξ holds every
/// tile's ξ, `cin_p` floats per tile (the channels padded to whole lanes with zeros).
fn transform_input(
    sources: &[Source],
    cin_p: usize,
    (n, h, w): (usize, usize, usize),
    pool: &mut Pool,
) -> Vec<f32> {
    let (th, tw) = (h.div_ceil(4), w.div_ceil(4));
    let tiles = n * th * tw;
    let mut v = pool.take_dirty(XI * tiles * cin_p);
    tile_rows(&mut v, n * th, tw * cin_p)
        .into_par_iter()
        .enumerate()
        .for_each(|(tile_row, mut planes)| {
            let (b, ti) = (tile_row / th, tile_row % th);
            // The six input rows this row of tiles reads, one column of zeros on the left and
            // enough on the right, the sources' channels side by side (ReLU'd where asked).
            let row_len = (4 * tw + 2) * cin_p;
            let mut rows = vec![0f32; 6 * row_len];
            for (r, row) in rows.chunks_exact_mut(row_len).enumerate() {
                let Some(y) = (4 * ti + r).checked_sub(1).filter(|&y| y < h) else {
                    continue;
                };
                for (x, px) in row[cin_p..].chunks_exact_mut(cin_p).take(w).enumerate() {
                    let at = (b * h + y) * w + x;
                    let mut px = px;
                    for s in sources {
                        let sc = s.c;
                        let (dst, rest) = px.split_at_mut(sc);
                        let src = &s.data[at * sc..(at + 1) * sc];
                        if s.relu {
                            for (d, v) in dst.iter_mut().zip(src) {
                                *d = v.max(0.0);
                            }
                        } else {
                            dst.copy_from_slice(src);
                        }
                        px = rest;
                    }
                }
            }
            for tj in 0..tw {
                for cb in (0..cin_p).step_by(L) {
                    let mut d = [[[0f32; L]; 6]; 6];
                    for (r, row) in d.iter_mut().enumerate() {
                        for (c, lane) in row.iter_mut().enumerate() {
                            let at = r * row_len + (4 * tj + c) * cin_p + cb;
                            lane.copy_from_slice(&rows[at..at + L]);
                        }
                    }
                    let t = input_transform(&d);
                    for (i, row) in t.iter().enumerate() {
                        for (j, lane) in row.iter().enumerate() {
                            planes[i * 6 + j][tj * cin_p + cb..][..L].copy_from_slice(lane);
                        }
                    }
                }
            }
        });

    v
}

/// A 3×3 conv through [`transform_weights`]' `u` of the channel-wise concatenation of
/// `sources` (`n` images of `h`×`w`, NHWC), then `+ bias`, `+ residual` (NHWC, `bias.len()`
/// channels) and ReLU when asked. Returns the output, NHWC.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv3x3(
    u: &[f32],
    bias: &[f32],
    cin: usize,
    sources: &[Source],
    (n, h, w): (usize, usize, usize),
    residual: Option<&[f32]>,
    relu: bool,
    pool: &mut Pool,
) -> Vec<f32> {
    let cout = bias.len();
    let (th, tw) = (h.div_ceil(4), w.div_ceil(4));
    let tiles = n * th * tw;
    let cin_p = cin.div_ceil(L) * L;
    let cout_p = cout.div_ceil(L) * L;

    let v = transform_input(sources, cin_p, (n, h, w), pool);

    // The 36 products, each over all tiles.
    // The padding columns are never written: zeroed, so the output transform reads numbers.
    let mut m = if cout_p == cout {
        pool.take_dirty(XI * tiles * cout_p)
    } else {
        pool.take(XI * tiles * cout_p)
    };
    // Side by side, each on one thread: 36 matmuls each split over the threads wait for one
    // another 36 times (measured slower on the deep levels, whose matmuls are small).
    m.par_chunks_mut(tiles * cout_p)
        .enumerate()
        .for_each(|(xi, m)| {
            matmul_on(
                m,
                cout_p,
                &v[xi * tiles * cin_p..],
                cin_p,
                &u[xi * cin * cout..(xi + 1) * cin * cout],
                (tiles, cin, cout),
                false,
            );
        });
    pool.give(v);

    // Output transform, one row of tiles (four image rows) per task.
    let mut out = pool.take_dirty(n * h * w * cout);
    let mut groups: Vec<Vec<&mut [f32]>> = Vec::with_capacity(n * th);
    let mut rows = out.chunks_mut(w * cout);
    for _ in 0..n {
        for ti in 0..th {
            let count = (h - 4 * ti).min(4);
            groups.push(rows.by_ref().take(count).collect());
        }
    }
    groups
        .into_par_iter()
        .enumerate()
        .for_each(|(tile_row, mut out_rows)| {
            let (b, ti) = (tile_row / th, tile_row % th);
            for tj in 0..tw {
                let tile = ((b * th + ti) * tw + tj) * cout_p;
                let cols = (w - 4 * tj).min(4);
                for cb in (0..cout_p).step_by(L) {
                    let mut mt = [[[0f32; L]; 6]; 6];
                    for (i, row) in mt.iter_mut().enumerate() {
                        for (j, lane) in row.iter_mut().enumerate() {
                            lane.copy_from_slice(
                                &m[(i * 6 + j) * tiles * cout_p + tile + cb..][..L],
                            );
                        }
                    }
                    let y = output_transform(&mt);
                    let lanes = (cout - cb).min(L);
                    for (yi, row) in out_rows.iter_mut().enumerate() {
                        let img_row = (b * h + 4 * ti + yi) * w;
                        for (xj, lane) in y[yi].iter().enumerate().take(cols) {
                            let x = 4 * tj + xj;
                            let o = &mut row[x * cout + cb..][..lanes];
                            let bias = &bias[cb..cb + lanes];
                            for ((o, v), b) in o.iter_mut().zip(lane).zip(bias) {
                                *o = v + b;
                            }
                            if let Some(res) = residual {
                                let r = &res[(img_row + x) * cout + cb..][..lanes];
                                for (o, r) in o.iter_mut().zip(r) {
                                    *o += r;
                                }
                            }
                            if relu {
                                for o in o.iter_mut() {
                                    *o = o.max(0.0);
                                }
                            }
                        }
                    }
                }
            }
        });
    pool.give(m);
    out
}

/// For the training ops: `x` (n, h, w, c) NHWC, ReLU'd first when `relu_in`, convolved with
/// `weight` (9·c, cout) plus `bias`.
pub(crate) fn conv3x3_f32(
    x: &[f32],
    (n, h, w, c): (usize, usize, usize, usize),
    relu_in: bool,
    weight: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let u = transform_weights(weight, c, bias.len());
    let source = Source {
        data: x,
        c,
        relu: relu_in,
    };
    let mut pool = Pool::default();
    conv3x3(&u, bias, c, &[source], (n, h, w), None, false, &mut pool)
}

/// The gradient of [`conv3x3_f32`] with respect to its (ReLU'd) input, for the output gradient
/// `grad` (n, h, w, cout): the same conv of `grad` with the kernel turned by 180° and its
/// channel axes swapped.
pub(crate) fn conv3x3_input_grad_f32(
    grad: &[f32],
    (n, h, w, cout): (usize, usize, usize, usize),
    weight: &[f32],
    cin: usize,
) -> Vec<f32> {
    // Turned kernel, tap t = ky·3 + kx reads tap 8 − t: (9·cout, cin).
    let mut turned = vec![0f32; 9 * cout * cin];
    turned
        .par_chunks_mut((cout * cin).max(1))
        .enumerate()
        .for_each(|(tap, dst)| {
            let src = &weight[(8 - tap) * cin * cout..][..cin * cout];
            for (ci, row) in src.chunks_exact(cout.max(1)).enumerate() {
                for (co, &v) in row.iter().enumerate() {
                    dst[co * cin + ci] = v;
                }
            }
        });
    let u = transform_weights(&turned, cout, cin);
    let zero_bias = vec![0f32; cin];
    let source = Source {
        data: grad,
        c: cout,
        relu: false,
    };
    let mut pool = Pool::default();
    conv3x3(
        &u,
        &zero_bias,
        cout,
        &[source],
        (n, h, w),
        None,
        false,
        &mut pool,
    )
}

/// A g (A 6×4, the adjoint of [`at`]) for one column or row of four lanes: six outputs.
#[inline(always)]
fn a(g: [&Lane; 4]) -> [Lane; 6] {
    let [g0, g1, g2, g3] = g;
    [
        *g0,
        lanes_op(g0, |l| g0[l] + g1[l] + g2[l] + g3[l]),
        lanes_op(g0, |l| g0[l] - g1[l] + g2[l] - g3[l]),
        lanes_op(g0, |l| g0[l] + 2.0 * g1[l] + 4.0 * g2[l] + 8.0 * g3[l]),
        lanes_op(g0, |l| g0[l] - 2.0 * g1[l] + 4.0 * g2[l] - 8.0 * g3[l]),
        *g3,
    ]
}

/// A dY Aᵀ of every 4×4 tile of the output gradient `grad` (`n` images of `h`×`w`, `cout`
/// channels, NHWC), laid out as [`transform_input`]'s planes with `cout_p` floats per tile.
fn transform_output_grad(
    grad: &[f32],
    cout: usize,
    cout_p: usize,
    (n, h, w): (usize, usize, usize),
    pool: &mut Pool,
) -> Vec<f32> {
    let (th, tw) = (h.div_ceil(4), w.div_ceil(4));
    let tiles = n * th * tw;
    let mut gt = pool.take_dirty(XI * tiles * cout_p);
    tile_rows(&mut gt, n * th, tw * cout_p)
        .into_par_iter()
        .enumerate()
        .for_each(|(tile_row, mut planes)| {
            let (b, ti) = (tile_row / th, tile_row % th);
            for tj in 0..tw {
                for cb in (0..cout_p).step_by(L) {
                    let lanes = cout.saturating_sub(cb).min(L);
                    // The tile's 4×4 gradient, zero past the image and the channels.
                    let mut d = [[[0f32; L]; 4]; 4];
                    for (r, row) in d.iter_mut().enumerate() {
                        let y = 4 * ti + r;
                        if y >= h {
                            break;
                        }
                        for (c, lane) in row.iter_mut().enumerate() {
                            let x = 4 * tj + c;
                            if x >= w {
                                break;
                            }
                            let at = ((b * h + y) * w + x) * cout + cb;
                            lane[..lanes].copy_from_slice(&grad[at..at + lanes]);
                        }
                    }
                    let mut t = [[[0f32; L]; 4]; 6];
                    for c in 0..4 {
                        let col = a([&d[0][c], &d[1][c], &d[2][c], &d[3][c]]);
                        for (i, v) in col.into_iter().enumerate() {
                            t[i][c] = v;
                        }
                    }
                    for (i, r) in t.iter().enumerate() {
                        for (j, lane) in a([&r[0], &r[1], &r[2], &r[3]]).iter().enumerate() {
                            planes[i * 6 + j][tj * cout_p + cb..][..L].copy_from_slice(lane);
                        }
                    }
                }
            }
        });
    gt
}

/// For the training ops: the gradient of [`conv3x3_f32`] with respect to its weight, `(9·c,
/// cout)` as the weight is laid out, for the output gradient `grad` (n, h, w, cout): the
/// adjoint of the Winograd conv, Gᵀ [Σ_tiles (Bᵀ d B) ⊙ (A dY Aᵀ)] G, the sum over tiles as
/// 36 matmuls (channels in × tiles · tiles × channels out), a quarter of the direct form's
/// multiplies.
pub(crate) fn conv3x3_weight_grad_f32(
    x: &[f32],
    (n, h, w, c): (usize, usize, usize, usize),
    relu_in: bool,
    grad: &[f32],
    cout: usize,
) -> Vec<f32> {
    let tiles = n * h.div_ceil(4) * w.div_ceil(4);
    let cin_p = c.div_ceil(L) * L;
    let cout_p = cout.div_ceil(L) * L;
    let mut pool = Pool::default();
    let source = Source {
        data: x,
        c,
        relu: relu_in,
    };
    let v = transform_input(&[source], cin_p, (n, h, w), &mut pool);
    let gt = transform_output_grad(grad, cout, cout_p, (n, h, w), &mut pool);
    // ∂u per position ξ: (c × cout) = v_ξᵀ · gt_ξ, side by side, one thread each.
    let mut du = vec![0f32; XI * c * cout];
    du.par_chunks_mut((c * cout).max(1))
        .enumerate()
        .for_each(|(xi, du)| {
            let lhs = Mat {
                data: &v[xi * tiles * cin_p..],
                rows: c,
                cols: tiles,
                rs: 1,
                cs: cin_p,
            };
            let rhs = Mat {
                data: &gt[xi * tiles * cout_p..],
                rows: tiles,
                cols: cout,
                rs: cout_p,
                cs: 1,
            };
            matmul_mat(du, cout, lhs, rhs, false);
        });
    pool.give(v);
    pool.give(gt);
    // ∂g = Gᵀ ∂u G per channel pair: t[i][kx] = Σ_j ∂u[i][j] G[j][kx], then
    // ∂g[ky][kx] = Σ_i G[i][ky] t[i][kx]; one input channel (nine kernel rows) per task.
    let per_channel: Vec<Vec<f32>> = (0..c)
        .into_par_iter()
        .map(|ci| {
            let du = |xi: usize| &du[(xi * c + ci) * cout..][..cout];
            let mut t = vec![0f32; 6 * 3 * cout];
            for i in 0..6 {
                for (j, gj) in G.iter().enumerate() {
                    for (kx, &coef) in gj.iter().enumerate() {
                        if coef != 0.0 {
                            let t = &mut t[(i * 3 + kx) * cout..][..cout];
                            for (t, &v) in t.iter_mut().zip(du(i * 6 + j)) {
                                *t += coef * v;
                            }
                        }
                    }
                }
            }
            let mut out = vec![0f32; 9 * cout];
            for (i, gi) in G.iter().enumerate() {
                for (ky, &coef) in gi.iter().enumerate() {
                    if coef == 0.0 {
                        continue;
                    }
                    for kx in 0..3 {
                        let o = &mut out[(ky * 3 + kx) * cout..][..cout];
                        for (o, &v) in o.iter_mut().zip(&t[(i * 3 + kx) * cout..][..cout]) {
                            *o += coef * v;
                        }
                    }
                }
            }
            out
        })
        .collect();
    let mut dw = vec![0f32; 9 * c * cout];
    for (ci, rows) in per_channel.iter().enumerate() {
        for (tap, row) in rows.chunks_exact(cout.max(1)).enumerate() {
            dw[(tap * c + ci) * cout..][..cout].copy_from_slice(row);
        }
    }
    dw
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::super::cpu::Act;
    use super::*;

    /// A reproducible value in [-1, 1) per index.
    fn value(seed: u64, i: usize) -> f32 {
        let mut z = seed
            .wrapping_add(i as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn act(seed: u64, n: usize, h: usize, w: usize, c: usize) -> Act {
        let data = (0..n * h * w * c).map(|i| value(seed, i)).collect();
        Act { data, n, h, w, c }
    }

    /// The 3×3 'same' conv by its definition, in f64.
    fn direct(
        weight: &[f32],
        bias: &[f32],
        input: &[(Act, bool)],
        residual: Option<&Act>,
        relu: bool,
    ) -> Vec<f64> {
        let (n, h, w) = (input[0].0.n, input[0].0.h, input[0].0.w);
        let cin: usize = input.iter().map(|(a, _)| a.c).sum();
        let cout = bias.len();
        let mut out = vec![0f64; n * h * w * cout];
        for b in 0..n {
            for y in 0..h {
                for x in 0..w {
                    for co in 0..cout {
                        let mut sum = f64::from(bias[co]);
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (Some(sy), Some(sx)) =
                                    ((y + ky).checked_sub(1), (x + kx).checked_sub(1))
                                else {
                                    continue;
                                };
                                if sy >= h || sx >= w {
                                    continue;
                                }
                                let mut ci = 0;
                                for (a, r) in input {
                                    for c in 0..a.c {
                                        let mut v = a.data[((b * h + sy) * w + sx) * a.c + c];
                                        if *r {
                                            v = v.max(0.0);
                                        }
                                        let wv = weight[((ky * 3 + kx) * cin + ci) * cout + co];
                                        sum += f64::from(v) * f64::from(wv);
                                        ci += 1;
                                    }
                                }
                            }
                        }
                        let at = ((b * h + y) * w + x) * cout + co;
                        if let Some(r) = residual {
                            sum += f64::from(r.data[at]);
                        }
                        out[at] = if relu { sum.max(0.0) } else { sum };
                    }
                }
            }
        }
        out
    }

    #[test]
    fn winograd_equals_the_direct_conv() {
        // Sizes that are not multiples of the 4×4 tile, channel counts that are not multiples
        // of a lane, two sources (one ReLU'd on the way in), a shortcut, a batch of two.
        for (n, h, w, c1, c2, cout) in [
            (2, 13, 10, 5, 6, 9),
            (1, 4, 4, 8, 0, 8),
            (1, 1, 1, 3, 0, 2),
            (1, 7, 23, 16, 16, 17),
        ] {
            let cin = c1 + c2;
            let weight: Vec<f32> = (0..9 * cin * cout).map(|i| value(7, i)).collect();
            let bias: Vec<f32> = (0..cout).map(|i| value(8, i)).collect();
            let mut input = vec![(act(1, n, h, w, c1), false)];
            if c2 > 0 {
                input.push((act(2, n, h, w, c2), true));
            }
            let residual = act(3, n, h, w, cout);
            for (res, relu) in [(None, false), (Some(&residual), true)] {
                let want = direct(&weight, &bias, &input, res, relu);
                let u = transform_weights(&weight, cin, cout);
                let sources: Vec<Source> = input
                    .iter()
                    .map(|(act, relu)| Source {
                        data: &act.data,
                        c: act.c,
                        relu: *relu,
                    })
                    .collect();
                let mut pool = Pool::default();
                let res = res.map(|r| r.data.as_slice());
                let got = conv3x3(&u, &bias, cin, &sources, (n, h, w), res, relu, &mut pool);
                assert_eq!(got.len(), n * h * w * cout);
                let scale = want.iter().fold(1f64, |m, v| m.max(v.abs()));
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let diff = (f64::from(*g) - w).abs();
                    assert!(
                        diff <= 1e-5 * scale,
                        "{n}x{h}x{w} {cin}->{cout} at {i}: {g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn weight_grad_equals_the_direct_sum() {
        for (n, h, w, c, cout, relu_in) in [
            (2, 13, 10, 5, 9, true),
            (1, 4, 4, 8, 8, false),
            (1, 1, 1, 3, 2, false),
            (3, 17, 22, 16, 17, true),
        ] {
            let x = act(4, n, h, w, c);
            let grad = act(5, n, h, w, cout);
            let got = conv3x3_weight_grad_f32(&x.data, (n, h, w, c), relu_in, &grad.data, cout);
            // ∂w[(ky·3 + kx)·c + ci][co] = Σ_pixels x[y + ky − 1][x + kx − 1][ci] · grad[y][x][co].
            let mut want = vec![0f64; 9 * c * cout];
            for b in 0..n {
                for y in 0..h {
                    for xx in 0..w {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (Some(sy), Some(sx)) =
                                    ((y + ky).checked_sub(1), (xx + kx).checked_sub(1))
                                else {
                                    continue;
                                };
                                if sy >= h || sx >= w {
                                    continue;
                                }
                                for ci in 0..c {
                                    let mut v = x.data[((b * h + sy) * w + sx) * c + ci];
                                    if relu_in {
                                        v = v.max(0.0);
                                    }
                                    for co in 0..cout {
                                        let g = grad.data[((b * h + y) * w + xx) * cout + co];
                                        want[((ky * 3 + kx) * c + ci) * cout + co] +=
                                            f64::from(v) * f64::from(g);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let scale = want.iter().fold(1f64, |m, v| m.max(v.abs()));
            let worst = got
                .iter()
                .zip(&want)
                .fold(0f64, |m, (g, w)| m.max((f64::from(*g) - w).abs()));
            assert!(
                worst <= 1e-5 * scale,
                "{n}x{h}x{w} {c}->{cout}: worst {worst} of {scale}"
            );
        }
    }
}
