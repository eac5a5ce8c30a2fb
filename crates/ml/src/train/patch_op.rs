//! The network's convs whose kernel equals their stride, as candle custom ops on the CPU with
//! their own backward passes on plain slices around the `gemm` kernel: the patch convs (the
//! encoder's down convs, the bottleneck, the 1×1 head; Keras 'valid') and the transposed convs
//! of the decoder. As tensor ops each was a matmul between a reshuffling copy, a padding copy
//! and a broadcast bias add, and their backward passes as many again plus a strided bias sum.
//!
//! Patch conv: the input's k×k patches side by side make a matrix `P` (a row per output
//! pixel, `k·k·c` columns; the input itself when k = 1), `y = P·W + b`, so `∂W = Pᵀ·G` and
//! `∂P = G·Wᵀ`, scattered back onto the input (rows/columns past `k·(h/k)` get zero).
//! Transposed conv: `Y' = X·W` holds each input pixel's k×k output block (`k·k·c_out`
//! columns), scattered onto the output with the bias; rows/columns past `k·h` (Keras's output
//! padding) get the bias only. Backward gathers `G` back into that block layout `G'`:
//! `∂W = Xᵀ·G'`, `∂X = G'·Wᵀ`. f32 and f64; GPU tensors take the tensor ops.

use candle_core::{CpuStorage, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{self, cpu_storage, gemm, prof, shifted_at_b, slice, Float, Mat};
use super::typed_op::{Cpu, Input, TypedOp3};

/// Per-channel sums of `g` (rows of `c`) as `T`.
fn bias_grad<T: Float>(g: &[T], c: usize) -> Vec<T> {
    kernels::channel_sums(g.len() / c.max(1), c, |row, acc| {
        for (a, &v) in acc.iter_mut().zip(&g[row * c..(row + 1) * c]) {
            *a += v.to_f64();
        }
    })
    .into_iter()
    .map(T::from_f64)
    .collect()
}

/// `dst` (rows of `c`) += the bias, in parallel.
fn add_bias<T: Float>(dst: &mut [T], bias: &[T]) {
    let c = bias.len().max(1);
    dst.par_chunks_mut(c * 256).for_each(|chunk| {
        for px in chunk.chunks_exact_mut(c) {
            for (o, &b) in px.iter_mut().zip(bias) {
                *o += b;
            }
        }
    });
}

#[derive(Clone, Copy, Debug)]
struct PatchGeom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    k: usize,
    cout: usize,
}

impl PatchGeom {
    fn new(x: &Shape, w: &Shape, k: usize) -> candle_core::Result<PatchGeom> {
        let (n, h, wd, c) = x.dims4()?;
        let (rows, cout) = w.dims2()?;
        if k == 0 || rows != k * k * c {
            return Err(kernels::err(format!(
                "patch conv kernel has {rows} rows for {c} channels and k = {k}"
            )));
        }
        Ok(PatchGeom {
            n,
            h,
            w: wd,
            c,
            k,
            cout,
        })
    }
    fn ho(&self) -> usize {
        self.h / self.k
    }
    fn wo(&self) -> usize {
        self.w / self.k
    }
    /// Output pixels.
    fn m(&self) -> usize {
        self.n * self.ho() * self.wo()
    }
    fn kc(&self) -> usize {
        self.k * self.k * self.c
    }
}

/// The patch matrix of `x` (a pooled buffer; give it back).
fn patches<T: Float>(x: &[T], g: PatchGeom) -> Vec<T> {
    let (h, w, c, k, ho, wo, kc) = (g.h, g.w, g.c, g.k, g.ho(), g.wo(), g.kc());
    let mut cols = kernels::take::<T>(g.m() * kc);
    cols.par_chunks_mut(wo * kc)
        .enumerate()
        .for_each(|(row, o)| {
            let (b, oi) = (row / ho, row % ho);
            for oj in 0..wo {
                for ky in 0..k {
                    let src = ((b * h + oi * k + ky) * w + oj * k) * c;
                    let dst = oj * kc + ky * k * c;
                    o[dst..dst + k * c].copy_from_slice(&x[src..src + k * c]);
                }
            }
        });
    cols
}

fn patch_forward<T: Float>(
    x: &[T],
    wt: &[T],
    bias: &[T],
    g: PatchGeom,
) -> candle_core::Result<Vec<T>> {
    if x.len() != g.n * g.h * g.w * g.c || wt.len() != g.kc() * g.cout || bias.len() != g.cout {
        return Err(kernels::err("patch conv: sizes do not match"));
    }
    let (m, kc, cout) = (g.m(), g.kc(), g.cout);
    let mut out = vec![T::default(); m * cout];
    let rhs = Mat {
        data: wt,
        rows: kc,
        cols: cout,
        rs: cout,
        cs: 1,
    };
    if g.k == 1 {
        let lhs = Mat {
            data: x,
            rows: m,
            cols: kc,
            rs: kc,
            cs: 1,
        };
        gemm(&mut out, cout, lhs, rhs, false, true)?;
    } else {
        let cols = patches(x, g);
        let lhs = Mat {
            data: &cols,
            rows: m,
            cols: kc,
            rs: kc,
            cs: 1,
        };
        gemm(&mut out, cout, lhs, rhs, false, true)?;
        kernels::give(cols);
    }
    add_bias(&mut out, bias);
    Ok(out)
}

fn patch_backward<T: Float>(
    x: &[T],
    wt: &[T],
    grad: &[T],
    g: PatchGeom,
) -> candle_core::Result<(Vec<T>, Vec<T>, Vec<T>)> {
    let (h, w, c, k, ho, wo, m, kc, cout) =
        (g.h, g.w, g.c, g.k, g.ho(), g.wo(), g.m(), g.kc(), g.cout);
    if grad.len() != m * cout {
        return Err(kernels::err("patch conv: gradient size does not match"));
    }
    let db = bias_grad(grad, cout);
    let wt_t = Mat {
        data: wt,
        rows: cout,
        cols: kc,
        rs: 1,
        cs: cout,
    };
    let g_mat = Mat {
        data: grad,
        rows: m,
        cols: cout,
        rs: cout,
        cs: 1,
    };
    if k == 1 {
        let dw = shifted_at_b(x, kc, &[0], grad, cout, m)?;
        let mut dx = vec![T::default(); m * kc];
        gemm(&mut dx, kc, g_mat, wt_t, false, true)?;
        return Ok((dx, dw, db));
    }
    let cols = patches(x, g);
    let dw = shifted_at_b(&cols, kc, &[0], grad, cout, m)?;
    kernels::give(cols);
    let mut dcols = kernels::take::<T>(m * kc);
    gemm(&mut dcols, kc, g_mat, wt_t, false, true)?;
    // Rows and columns the patches never covered (h, w not multiples of k) keep zero.
    let mut dx = vec![T::default(); g.n * h * w * c];
    dx.par_chunks_mut(w * c).enumerate().for_each(|(row, o)| {
        let (b, i) = (row / h, row % h);
        let (oi, ky) = (i / k, i % k);
        if oi >= ho {
            return;
        }
        for oj in 0..wo {
            let src = &dcols[((b * ho + oi) * wo + oj) * kc + ky * k * c..][..k * c];
            o[oj * k * c..(oj + 1) * k * c].copy_from_slice(src);
        }
    });
    kernels::give(dcols);
    Ok((dx, dw, db))
}

struct PatchConv {
    k: usize,
}

impl TypedOp3 for PatchConv {
    const NAME: &'static str = "patch-conv";
    const WHAT: &'static str = "patch conv";
    const PROF: [usize; 2] = [prof::PATCH_FWD, prof::PATCH_BWD];

    fn fwd<T: Float>(&self, s: [Input; 3]) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = PatchGeom::new(s[0].1.shape(), s[1].1.shape(), self.k)?;
        let y = patch_forward(
            slice::<T>(s[0].0, s[0].1)?,
            slice::<T>(s[1].0, s[1].1)?,
            slice::<T>(s[2].0, s[2].1)?,
            g,
        )?;
        Ok((T::storage(y), Shape::from((g.n, g.ho(), g.wo(), g.cout))))
    }

    fn bwd<T: Float>(
        &self,
        [x, w, _b]: [&Tensor; 3],
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let g = PatchGeom::new(x.shape(), w.shape(), self.k)?;
        let grad = grad.contiguous()?;
        let (sx, lx) = x.storage_and_layout();
        let (sw, lw) = w.storage_and_layout();
        let (sg, lg) = grad.storage_and_layout();
        let (dx, dw, db) = patch_backward(
            slice::<T>(cpu_storage(&sx)?, lx)?,
            slice::<T>(cpu_storage(&sw)?, lw)?,
            slice::<T>(cpu_storage(&sg)?, lg)?,
            g,
        )?;
        Ok((
            kernels::tensor(dx, x.dims())?,
            kernels::tensor(dw, w.dims())?,
            kernels::tensor(db, &[g.cout])?,
        ))
    }
}

/// Kernel = stride = `k`, 'valid': `x` (N, H, W, C), `w` (k·k·C, C_out), `b` (C_out).
pub(crate) fn patch_conv(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    k: usize,
) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && kernels::supported(x.dtype()) {
        x.contiguous()?
            .apply_op3(&w.contiguous()?, &b.contiguous()?, Cpu(PatchConv { k }))
    } else {
        crate::unet::graph::patch_conv(x, w, b, k)
    }
}

#[derive(Clone, Copy, Debug)]
struct UpGeom {
    n: usize,
    h: usize,
    w: usize,
    cin: usize,
    k: usize,
    cout: usize,
    out_h: usize,
    out_w: usize,
}

impl UpGeom {
    /// Input pixels.
    fn m(&self) -> usize {
        self.n * self.h * self.w
    }
    fn kkc(&self) -> usize {
        self.k * self.k * self.cout
    }
    /// Where output pixel (b, oi, oj) comes from: (input pixel, column block), if any.
    fn source(&self, b: usize, oi: usize, oj: usize) -> Option<(usize, usize)> {
        let (i, ky, j, kx) = (oi / self.k, oi % self.k, oj / self.k, oj % self.k);
        (i < self.h && j < self.w).then(|| ((b * self.h + i) * self.w + j, ky * self.k + kx))
    }
}

struct UpConv {
    k: usize,
    out_h: usize,
    out_w: usize,
}

impl UpConv {
    fn geom(&self, x: &Shape, w: &Shape) -> candle_core::Result<UpGeom> {
        let (n, h, wd, cin) = x.dims4()?;
        let (rows, cols) = w.dims2()?;
        let k = self.k;
        if k == 0 || rows != cin || cols % (k * k) != 0 || self.out_h < h * k || self.out_w < wd * k
        {
            return Err(kernels::err("transposed conv: kernel or output size"));
        }
        Ok(UpGeom {
            n,
            h,
            w: wd,
            cin,
            k,
            cout: cols / (k * k),
            out_h: self.out_h,
            out_w: self.out_w,
        })
    }
}

impl TypedOp3 for UpConv {
    const NAME: &'static str = "transposed-conv";
    const WHAT: &'static str = "transposed conv";
    const PROF: [usize; 2] = [prof::PATCH_FWD, prof::PATCH_BWD];

    fn fwd<T: Float>(&self, s: [Input; 3]) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.geom(s[0].1.shape(), s[1].1.shape())?;
        let x = slice::<T>(s[0].0, s[0].1)?;
        let wt = slice::<T>(s[1].0, s[1].1)?;
        let bias = slice::<T>(s[2].0, s[2].1)?;
        let (cout, kkc) = (g.cout, g.kkc());
        if bias.len() != cout || x.len() != g.m() * g.cin {
            return Err(kernels::err("transposed conv: sizes do not match"));
        }
        let mut y = kernels::take::<T>(g.m() * kkc);
        let lhs = Mat {
            data: x,
            rows: g.m(),
            cols: g.cin,
            rs: g.cin,
            cs: 1,
        };
        let rhs = Mat {
            data: wt,
            rows: g.cin,
            cols: kkc,
            rs: kkc,
            cs: 1,
        };
        gemm(&mut y, kkc, lhs, rhs, false, true)?;
        let mut out = vec![T::default(); g.n * g.out_h * g.out_w * cout];
        out.par_chunks_mut(g.out_w * cout)
            .enumerate()
            .for_each(|(row, o)| {
                let (b, oi) = (row / g.out_h, row % g.out_h);
                for (oj, o) in o.chunks_exact_mut(cout).enumerate() {
                    match g.source(b, oi, oj) {
                        Some((p, blk)) => {
                            let src = &y[p * kkc + blk * cout..][..cout];
                            for ((o, &s), &b) in o.iter_mut().zip(src).zip(bias) {
                                *o = s + b;
                            }
                        }
                        None => o.copy_from_slice(bias),
                    }
                }
            });
        kernels::give(y);
        Ok((T::storage(out), Shape::from((g.n, g.out_h, g.out_w, cout))))
    }

    fn bwd<T: Float>(
        &self,
        [x, w, _b]: [&Tensor; 3],
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let g = self.geom(x.shape(), w.shape())?;
        let grad = grad.contiguous()?;
        let (sx, lx) = x.storage_and_layout();
        let (sw, lw) = w.storage_and_layout();
        let (sg, lg) = grad.storage_and_layout();
        let xv = slice::<T>(cpu_storage(&sx)?, lx)?;
        let wt = slice::<T>(cpu_storage(&sw)?, lw)?;
        let gv = slice::<T>(cpu_storage(&sg)?, lg)?;
        let (cout, kkc, m) = (g.cout, g.kkc(), g.m());
        if gv.len() != g.n * g.out_h * g.out_w * cout {
            return Err(kernels::err("transposed conv: gradient size"));
        }
        let db = bias_grad(gv, cout);
        // G' (a row per input pixel, its k×k output block's gradients).
        let mut gb = kernels::take::<T>(m * kkc);
        gb.par_chunks_mut(kkc).enumerate().for_each(|(p, o)| {
            let (b, rest) = (p / (g.h * g.w), p % (g.h * g.w));
            let (i, j) = (rest / g.w, rest % g.w);
            for ky in 0..g.k {
                let oi = i * g.k + ky;
                let src = &gv[((b * g.out_h + oi) * g.out_w + j * g.k) * cout..][..g.k * cout];
                o[ky * g.k * cout..(ky + 1) * g.k * cout].copy_from_slice(src);
            }
        });
        let dw = shifted_at_b(xv, g.cin, &[0], &gb, kkc, m)?;
        let mut dx = vec![T::default(); m * g.cin];
        let lhs = Mat {
            data: &gb,
            rows: m,
            cols: kkc,
            rs: kkc,
            cs: 1,
        };
        let rhs = Mat {
            data: wt,
            rows: kkc,
            cols: g.cin,
            rs: 1,
            cs: kkc,
        };
        gemm(&mut dx, g.cin, lhs, rhs, false, true)?;
        kernels::give(gb);
        Ok((
            kernels::tensor(dx, x.dims())?,
            kernels::tensor(dw, w.dims())?,
            kernels::tensor(db, &[cout])?,
        ))
    }
}

/// Transposed conv with kernel = stride = `k`: `x` (N, H, W, C_in), `w` (C_in, k·k·C_out,
/// columns (kernel row, kernel column, output channel)), `b` (C_out), output
/// (N, out_rows, out_cols, C_out) with out_rows ≥ k·H, out_cols ≥ k·W.
pub(crate) fn up_conv(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    k: usize,
    (out_rows, out_cols): (usize, usize),
) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && kernels::supported(x.dtype()) {
        let op = UpConv {
            k,
            out_h: out_rows,
            out_w: out_cols,
        };
        x.contiguous()?
            .apply_op3(&w.contiguous()?, &b.contiguous()?, Cpu(op))
    } else {
        up_conv_plain(x, w, b, k, (out_rows, out_cols))
    }
}

/// [`up_conv`] through plain tensor ops (autograd differentiates them).
pub(crate) fn up_conv_plain(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    k: usize,
    (out_rows, out_cols): (usize, usize),
) -> candle_core::Result<Tensor> {
    let (n, h, wd, cin) = x.dims4()?;
    let cout = b.dim(0)?;
    let y = x.reshape((n * h * wd, cin))?.matmul(w)?;
    let y = y
        .reshape((n, h, wd, k, k, cout))?
        .permute((0, 1, 3, 2, 4, 5))?
        .contiguous()?
        .reshape((n, h * k, wd * k, cout))?;
    let y = y.pad_with_zeros(1, 0, out_rows.saturating_sub(h * k))?;
    let y = y.pad_with_zeros(2, 0, out_cols.saturating_sub(wd * k))?;
    y.broadcast_add(b)
}
