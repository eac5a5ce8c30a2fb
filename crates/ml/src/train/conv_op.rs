//! The "same" 3×3 convolution (+ bias, optionally ReLU on its input) as a candle custom op
//! with its own backward pass: a training pass keeps only each conv's input and output alive,
//! and both passes run on plain slices around the `gemm` kernel, laid out as the inference pass
//! in `unet/cpu.rs` lays out its forward.
//!
//! Layout: the zero-padded NHWC input is one row-major list of `n·(h+2)·(w+2)` pixels; the
//! three column taps side by side make a matrix `R` (a row per padded pixel, `3·c` columns,
//! one copy per conv, the input's ReLU applied on the way in) and output pixel `p` (on the
//! padded grid) is `Σ_dy R[p + dy·wp] · W_dy`, `W_dy` the kernel rows of tap row `dy`: three
//! gemm calls accumulating into one output. Backward, with `G` the output gradient on the
//! padded grid (zero where the forward computed positions it then cut away):
//! `∂W_dy = R[dy·wp ..]ᵀ · G` (the long pixel dimension split across threads) and
//! `∂R[q] = Σ_dy G[q − dy·wp] · W_dyᵀ` (three accumulating gemm calls into row-shifted
//! destinations), then each column tap is added back onto its input pixel. In f32 (training)
//! all three run instead through the inference pass's Winograd transforms (`unet/winograd.rs`),
//! a quarter of their multiplies: the forward and `∂x` (the conv of `G` with the kernel turned
//! by 180°) as its conv, `∂W` as the conv's adjoint; the weights are transformed at every call,
//! as they change at every step. f64 (the finite-difference checks) runs the taps; other types
//! and GPU tensors take the plain tensor-op path ([`same3x3_plain`]), which the tests compare
//! against.

use candle_core::{CpuStorage, DType, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{self, cpu_storage, gemm, prof, shifted_at_b, slice, zero, Float, Mat};
use super::typed_op::{Cpu, Input, TypedOp3};
use crate::unet::winograd;

/// The tap matrix `R` of `x` (N, H, W, C).
fn taps(x: &Tensor) -> candle_core::Result<Tensor> {
    let (n, h, w, c) = x.dims4()?;
    let (hp, wp) = (h + 2, w + 2);
    let total = n * hp * wp;
    let padded = x.pad_with_zeros(1, 1, 1)?.pad_with_zeros(2, 1, 1)?;
    let flat = padded
        .reshape((total, c))?
        .pad_with_zeros(0, 0, 2 * wp + 2)?;
    let taps = [0, 1, 2]
        .map(|dx| flat.narrow(0, dx, total + 2 * wp))
        .into_iter()
        .collect::<candle_core::Result<Vec<_>>>()?;
    Tensor::cat(&taps, 1)
}

/// `x` (N, H, W, C) convolved with `w` (9·C, C_out), no bias; plain tensor ops.
pub(crate) fn same3x3_plain(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let (n, h, wd, c) = x.dims4()?;
    let cout = w.dim(1)?;
    let (hp, wp) = (h + 2, wd + 2);
    let total = n * hp * wp;
    let row_cols = taps(x)?;
    let mut y = row_cols
        .narrow(0, 0, total)?
        .matmul(&w.narrow(0, 0, 3 * c)?)?;
    for dy in 1..3 {
        let part = row_cols.narrow(0, dy * wp, total)?;
        y = (y + part.matmul(&w.narrow(0, dy * 3 * c, 3 * c)?)?)?;
    }
    y.reshape((n, hp, wp, cout))?
        .narrow(1, 0, h)?
        .narrow(2, 0, wd)?
        .contiguous()
}

/// Sizes of one conv call.
#[derive(Clone, Copy, Debug)]
struct Geom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    cout: usize,
}

impl Geom {
    fn hp(&self) -> usize {
        self.h + 2
    }
    fn wp(&self) -> usize {
        self.w + 2
    }
    /// Padded pixels.
    fn total(&self) -> usize {
        self.n * self.hp() * self.wp()
    }
    /// Output rows computed (every padded position but the last two rows of the last image:
    /// rows i ≥ h and columns j ≥ w are computed and never read).
    fn m(&self) -> usize {
        self.total() - 2 * self.wp()
    }
    fn kc(&self) -> usize {
        3 * self.c
    }
    fn check(&self, x: usize, w: usize, b: usize) -> candle_core::Result<()> {
        if x != self.n * self.h * self.w * self.c || w != 9 * self.c * self.cout || b != self.cout {
            return Err(kernels::err(
                "3×3 conv: input, kernel and bias sizes do not match",
            ));
        }
        Ok(())
    }
}

fn relu<T: Float>(v: T) -> T {
    let z = zero::<T>();
    if v > z {
        v
    } else {
        z
    }
}

/// The tap matrix `R` of `x` (ReLU'd when `relu_in`), `total` rows of `3·c`.
fn fill_taps<T: Float>(x: &[T], g: Geom, relu_in: bool) -> Vec<T> {
    let (h, w, c, hp, wp, kc) = (g.h, g.w, g.c, g.hp(), g.wp(), g.kc());
    let mut taps = kernels::take::<T>(g.total() * kc);
    taps.par_chunks_mut(wp * kc)
        .enumerate()
        .for_each(|(row, out)| {
            let (b, i) = (row / hp, row % hp);
            if i == 0 || i > h {
                return;
            }
            let src_row = &x[(b * h + i - 1) * w * c..][..w * c];
            for j in 0..wp {
                for dx in 0..3 {
                    let col = j + dx;
                    if col == 0 || col > w {
                        continue;
                    }
                    let src = &src_row[(col - 1) * c..col * c];
                    let dst = &mut out[j * kc + dx * c..][..c];
                    if relu_in {
                        for (d, &v) in dst.iter_mut().zip(src) {
                            *d = relu(v);
                        }
                    } else {
                        dst.copy_from_slice(src);
                    }
                }
            }
        });
    taps
}

fn forward<T: Float>(
    x: &[T],
    wt: &[T],
    bias: &[T],
    g: Geom,
    relu_in: bool,
) -> candle_core::Result<Vec<T>> {
    g.check(x.len(), wt.len(), bias.len())?;
    let (h, w, cout, hp, wp, kc) = (g.h, g.w, g.cout, g.hp(), g.wp(), g.kc());
    let taps = fill_taps(x, g, relu_in);
    let mut y = kernels::take::<T>(g.total() * cout);
    for dy in 0..3 {
        let lhs = Mat {
            data: &taps[dy * wp * kc..],
            rows: g.m(),
            cols: kc,
            rs: kc,
            cs: 1,
        };
        let rhs = Mat {
            data: &wt[dy * kc * cout..(dy + 1) * kc * cout],
            rows: kc,
            cols: cout,
            rs: cout,
            cs: 1,
        };
        gemm(&mut y, cout, lhs, rhs, dy > 0, true)?;
    }
    kernels::give(taps);
    let mut out = vec![T::default(); g.n * h * w * cout];
    out.par_chunks_mut(w * cout)
        .enumerate()
        .for_each(|(row, o)| {
            let (b, i) = (row / h, row % h);
            let src = &y[(b * hp + i) * wp * cout..][..w * cout];
            for (o, s) in o.chunks_exact_mut(cout).zip(src.chunks_exact(cout)) {
                for ((o, &s), &b) in o.iter_mut().zip(s).zip(bias) {
                    *o = s + b;
                }
            }
        });
    kernels::give(y);
    Ok(out)
}

/// ∂b: the output gradient summed over pixels.
fn bias_grad<T: Float>(grad: &[T], g: Geom) -> Vec<T> {
    let cout = g.cout;
    let db = kernels::channel_sums(g.n * g.h * g.w, cout, |row, acc| {
        for (a, &v) in acc.iter_mut().zip(&grad[row * cout..(row + 1) * cout]) {
            *a += v.to_f64();
        }
    });
    db.into_iter().map(T::from_f64).collect()
}

/// (∂x before ReLU's derivative, ∂w) through the tap matmuls.
fn tap_grads<T: Float>(
    x: &[T],
    wt: &[T],
    grad: &[T],
    g: Geom,
    relu_in: bool,
) -> candle_core::Result<(Vec<T>, Vec<T>)> {
    let (h, w, c, cout, hp, wp, kc) = (g.h, g.w, g.c, g.cout, g.hp(), g.wp(), g.kc());
    let mut gp = kernels::take::<T>(g.total() * cout);
    gp.par_chunks_mut(wp * cout)
        .enumerate()
        .for_each(|(row, o)| {
            let (b, i) = (row / hp, row % hp);
            if i < h {
                o[..w * cout].copy_from_slice(&grad[(b * h + i) * w * cout..][..w * cout]);
            }
        });
    let taps = fill_taps(x, g, relu_in);
    let dw = shifted_at_b(&taps, kc, &[0, wp, 2 * wp], &gp, cout, g.m())?;
    kernels::give(taps);
    let mut dr = kernels::take::<T>(g.total() * kc);
    for dy in 0..3 {
        let lhs = Mat {
            data: &gp,
            rows: g.m(),
            cols: cout,
            rs: cout,
            cs: 1,
        };
        let rhs = Mat {
            data: &wt[dy * kc * cout..(dy + 1) * kc * cout],
            rows: cout,
            cols: kc,
            rs: 1,
            cs: cout,
        };
        gemm(&mut dr[dy * wp * kc..], kc, lhs, rhs, dy > 0, true)?;
    }
    kernels::give(gp);
    let mut dx = vec![T::default(); g.n * h * w * c];
    dx.par_chunks_mut(w * c).enumerate().for_each(|(row, o)| {
        let b = row / h;
        let y = row % h;
        for (j, o) in o.chunks_exact_mut(c).enumerate() {
            let r = (b * hp + y + 1) * wp + j + 1;
            for t in 0..3 {
                let src = &dr[(r - t) * kc + t * c..][..c];
                for (o, &s) in o.iter_mut().zip(src) {
                    *o += s;
                }
            }
        }
    });
    kernels::give(dr);
    Ok((dx, dw))
}

/// (∂x before ReLU's derivative, ∂w) as the Winograd conv's adjoints: ∂x is the conv of the
/// output gradient with the kernel turned by 180°.
fn winograd_grads(
    x: &[f32],
    wt: &[f32],
    grad: &[f32],
    g: Geom,
    relu_in: bool,
) -> (Vec<f32>, Vec<f32>) {
    let dx = winograd::conv3x3_input_grad_f32(grad, (g.n, g.h, g.w, g.cout), wt, g.c);
    let dw = winograd::conv3x3_weight_grad_f32(x, (g.n, g.h, g.w, g.c), relu_in, grad, g.cout);
    (dx, dw)
}

/// ReLU's derivative as candle takes it (1 where the input is ≥ 0) applied to `dx`.
fn relu_mask<T: Float>(dx: &mut [T], x: &[T], c: usize) {
    let z = zero::<T>();
    dx.par_chunks_mut(c.max(1) * 256)
        .zip(x.par_chunks(c.max(1) * 256))
        .for_each(|(o, xi)| {
            for (o, &v) in o.iter_mut().zip(xi) {
                if v < z {
                    *o = z;
                }
            }
        });
}

struct Same3x3 {
    relu_in: bool,
}

impl Same3x3 {
    fn geom(x: &Shape, w: &Shape) -> candle_core::Result<Geom> {
        let (n, h, wd, c) = x.dims4()?;
        let (rows, cout) = w.dims2()?;
        if rows != 9 * c {
            return Err(kernels::err(format!(
                "3×3 conv kernel has {rows} rows for {c} input channels"
            )));
        }
        Ok(Geom {
            n,
            h,
            w: wd,
            c,
            cout,
        })
    }

    fn fwd_typed<T: Float>(&self, s: [Input; 3]) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = Same3x3::geom(s[0].1.shape(), s[1].1.shape())?;
        let y = forward(
            slice::<T>(s[0].0, s[0].1)?,
            slice::<T>(s[1].0, s[1].1)?,
            slice::<T>(s[2].0, s[2].1)?,
            g,
            self.relu_in,
        )?;
        Ok((T::storage(y), Shape::from((g.n, g.h, g.w, g.cout))))
    }

    /// f32: the inference pass's Winograd conv (a quarter of the multiplies).
    fn fwd_winograd(&self, s: [Input; 3]) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = Same3x3::geom(s[0].1.shape(), s[1].1.shape())?;
        let (x, wt, b) = (
            slice::<f32>(s[0].0, s[0].1)?,
            slice::<f32>(s[1].0, s[1].1)?,
            slice::<f32>(s[2].0, s[2].1)?,
        );
        g.check(x.len(), wt.len(), b.len())?;
        let y = winograd::conv3x3_f32(x, (g.n, g.h, g.w, g.c), self.relu_in, wt, b);
        Ok((CpuStorage::F32(y), Shape::from((g.n, g.h, g.w, g.cout))))
    }

    fn bwd_typed<T: Float>(
        &self,
        x: &Tensor,
        w: &Tensor,
        grad: &Tensor,
        grads: Grads<T>,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let g = Same3x3::geom(x.shape(), w.shape())?;
        let grad = grad.contiguous()?;
        let (sx, lx) = x.storage_and_layout();
        let (sw, lw) = w.storage_and_layout();
        let (sg, lg) = grad.storage_and_layout();
        let (x_, w_, grad_) = (
            slice::<T>(cpu_storage(&sx)?, lx)?,
            slice::<T>(cpu_storage(&sw)?, lw)?,
            slice::<T>(cpu_storage(&sg)?, lg)?,
        );
        g.check(x_.len(), w_.len(), g.cout)?;
        if grad_.len() != g.n * g.h * g.w * g.cout {
            return Err(kernels::err("3×3 conv: gradient size does not match"));
        }
        let db = bias_grad(grad_, g);
        let (mut dx, dw) = grads(x_, w_, grad_, g, self.relu_in)?;
        if self.relu_in {
            relu_mask(&mut dx, x_, g.c);
        }
        Ok((
            kernels::tensor(dx, x.dims())?,
            kernels::tensor(dw, w.dims())?,
            kernels::tensor(db, &[g.cout])?,
        ))
    }
}

/// (∂x before ReLU's derivative, ∂w) from (input, kernel, output gradient, sizes, ReLU on the
/// input).
type Grads<T> = fn(&[T], &[T], &[T], Geom, bool) -> candle_core::Result<(Vec<T>, Vec<T>)>;

impl TypedOp3 for Same3x3 {
    const NAME: &'static str = "same3x3-conv";
    const WHAT: &'static str = "3×3 conv";
    const PROF: [usize; 2] = [prof::CONV_FWD, prof::CONV_BWD];

    fn fwd<T: Float>(&self, s: [Input; 3]) -> candle_core::Result<(CpuStorage, Shape)> {
        if T::DTYPE == DType::F32 {
            self.fwd_winograd(s)
        } else {
            self.fwd_typed::<T>(s)
        }
    }

    fn bwd<T: Float>(
        &self,
        [x, w, _b]: [&Tensor; 3],
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        // f32 (training) takes the Winograd adjoints; f64 (the gradient checks) the taps.
        if T::DTYPE == DType::F32 {
            self.bwd_typed::<f32>(x, w, grad, |x, w, g, geom, relu| {
                Ok(winograd_grads(x, w, g, geom, relu))
            })
        } else {
            self.bwd_typed::<T>(x, w, grad, tap_grads::<T>)
        }
    }
}

/// `x` (N, H, W, C), ReLU'd first when `relu_in`, convolved with `w` (9·C, C_out) plus `b`
/// (C_out): the custom op on the CPU in f32/f64, plain tensor ops elsewhere.
pub(crate) fn same3x3(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    relu_in: bool,
) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && kernels::supported(x.dtype()) {
        x.contiguous()?
            .apply_op3(&w.contiguous()?, &b.contiguous()?, Cpu(Same3x3 { relu_in }))
    } else {
        same3x3_reference(x, w, b, relu_in)
    }
}

/// [`same3x3`] through plain tensor ops (autograd differentiates them).
pub(crate) fn same3x3_reference(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    relu_in: bool,
) -> candle_core::Result<Tensor> {
    let x = if relu_in { x.relu()? } else { x.clone() };
    same3x3_plain(&x, w)?.broadcast_add(b)
}
