//! BatchNorm in training mode (batch statistics over N·H·W per channel of an NHWC tensor) as
//! a candle custom op with its own backward pass. Written with tensor ops it left eight
//! activation-sized intermediates per layer in the graph and ran a dozen strided passes; here
//! the forward keeps only its input and output, and both passes are a few plain loops in the
//! tensor's own type (f32 in training, f64 in the gradient checks) with f64 accumulators for
//! the per-channel sums, split across threads:
//! `y = γ·(x − μ)/√(σ² + ε) + β` (σ² biased, as Keras normalises), and
//! `∂x = γ/(M·√(σ² + ε)) · (M·∂y − Σ∂y − x̂·Σ∂y·x̂)`, `∂γ = Σ∂y·x̂`, `∂β = Σ∂y`.
//! The batch moments are computed once, before the op, and travel with it to the backward.
//! GPU tensors take the tensor-op path in `net.rs`.

use candle_core::{CpuStorage, DType, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{self, channel_sums, cpu_storage, prof, slice, Float};
use super::typed_op::{Cpu, Input, TypedOp3};

fn err(why: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("batch norm: {why}"))
}

/// Per-channel mean and biased variance of `x` (rows of `c` channels), two passes.
fn moments<T: Float>(x: &[T], c: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = x.len() / c.max(1);
    let m = rows.max(1) as f64;
    let row = |r: usize| &x[r * c..(r + 1) * c];
    let mean: Vec<f64> = channel_sums(rows, c, |r, acc| {
        for (a, &v) in acc.iter_mut().zip(row(r)) {
            *a += v.to_f64();
        }
    })
    .into_iter()
    .map(|s| s / m)
    .collect();
    let var = channel_sums(rows, c, |r, acc| {
        for ((a, &v), mu) in acc.iter_mut().zip(row(r)).zip(&mean) {
            let d = v.to_f64() - mu;
            *a += d * d;
        }
    })
    .into_iter()
    .map(|s| s / m)
    .collect();
    (mean, var)
}

struct BnTrain {
    mean: Vec<f64>,
    /// `1/√(σ² + ε)`.
    inv: Vec<f64>,
}

impl TypedOp3 for BnTrain {
    const NAME: &'static str = "batch-norm-train";
    const WHAT: &'static str = "batch norm";
    const PROF: [usize; 2] = [prof::BN_FWD, prof::BN_BWD];

    fn fwd<T: Float>(&self, s: [Input; 3]) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice::<T>(s[0].0, s[0].1)?;
        let gamma = slice::<T>(s[1].0, s[1].1)?;
        let beta = slice::<T>(s[2].0, s[2].1)?;
        let c = self.mean.len();
        if c == 0 || gamma.len() != c || beta.len() != c || x.len() % c != 0 {
            return Err(err("channel counts differ"));
        }
        let scale: Vec<f64> = (0..c).map(|i| gamma[i].to_f64() * self.inv[i]).collect();
        let shift: Vec<T> = (0..c)
            .map(|i| T::from_f64(beta[i].to_f64() - self.mean[i] * scale[i]))
            .collect();
        let scale: Vec<T> = scale.into_iter().map(T::from_f64).collect();
        let mut y = vec![T::default(); x.len()];
        y.par_chunks_mut(c * 256)
            .zip(x.par_chunks(c * 256))
            .for_each(|(y, x)| {
                for (y, x) in y.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                    for (((y, &x), &a), &b) in y.iter_mut().zip(x).zip(&scale).zip(&shift) {
                        *y = x * a + b;
                    }
                }
            });
        Ok((T::storage(y), s[0].1.shape().clone()))
    }

    fn bwd<T: Float>(
        &self,
        [x, gamma, _beta]: [&Tensor; 3],
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let grad = grad.contiguous()?;
        let (sx, lx) = x.storage_and_layout();
        let (sg, lg) = gamma.storage_and_layout();
        let (sd, ld) = grad.storage_and_layout();
        let xv = slice::<T>(cpu_storage(&sx)?, lx)?;
        let g = slice::<T>(cpu_storage(&sg)?, lg)?;
        let dy = slice::<T>(cpu_storage(&sd)?, ld)?;
        let c = self.mean.len();
        if g.len() != c || dy.len() != xv.len() || xv.len() % c.max(1) != 0 {
            return Err(err("channel counts differ"));
        }
        let rows = xv.len() / c;
        let m = rows.max(1) as f64;
        let mean: Vec<T> = self.mean.iter().map(|&v| T::from_f64(v)).collect();
        let inv: Vec<T> = self.inv.iter().map(|&v| T::from_f64(v)).collect();
        // Σ∂y and Σ∂y·x̂ in one pass.
        let sums = channel_sums(rows, 2 * c, |r, acc| {
            let (xr, dr) = (&xv[r * c..(r + 1) * c], &dy[r * c..(r + 1) * c]);
            let (db, dg) = acc.split_at_mut(c);
            for i in 0..c {
                let xhat = (xr[i] - mean[i]) * inv[i];
                db[i] += dr[i].to_f64();
                dg[i] += (dr[i] * xhat).to_f64();
            }
        });
        let (dbeta, dgamma) = sums.split_at(c);
        let a: Vec<T> = (0..c)
            .map(|i| T::from_f64(g[i].to_f64() * self.inv[i]))
            .collect();
        let b1: Vec<T> = dbeta.iter().map(|&v| T::from_f64(v / m)).collect();
        let b2: Vec<T> = dgamma.iter().map(|&v| T::from_f64(v / m)).collect();
        let mut dx = vec![T::default(); xv.len()];
        dx.par_chunks_mut(c * 256)
            .zip(xv.par_chunks(c * 256).zip(dy.par_chunks(c * 256)))
            .for_each(|(o, (x, d))| {
                for ((o, x), d) in o
                    .chunks_exact_mut(c)
                    .zip(x.chunks_exact(c))
                    .zip(d.chunks_exact(c))
                {
                    for i in 0..c {
                        let xhat = (x[i] - mean[i]) * inv[i];
                        o[i] = a[i] * (d[i] - b1[i] - xhat * b2[i]);
                    }
                }
            });
        let dgamma: Vec<T> = dgamma.iter().map(|&v| T::from_f64(v)).collect();
        let dbeta: Vec<T> = dbeta.iter().map(|&v| T::from_f64(v)).collect();
        Ok((
            kernels::tensor(dx, x.dims())?,
            kernels::tensor(dgamma, &[c])?,
            kernels::tensor(dbeta, &[c])?,
        ))
    }
}

/// Normalised `x` (.., C) with batch statistics, and those statistics (mean, biased
/// variance). CPU tensors in f32 or f64 only.
pub(crate) fn bn_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> candle_core::Result<(Tensor, Vec<f64>, Vec<f64>)> {
    let x = x.contiguous()?;
    let c = gamma.dim(0)?;
    let t = std::time::Instant::now();
    let (mean, var) = {
        let (s, l) = x.storage_and_layout();
        let s = cpu_storage(&s)?;
        match x.dtype() {
            DType::F32 => moments(slice::<f32>(s, l)?, c),
            DType::F64 => moments(slice::<f64>(s, l)?, c),
            _ => return Err(err("runs in f32 or f64")),
        }
    };
    kernels::prof::add(kernels::prof::BN_FWD, t);
    let inv = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let op = BnTrain {
        mean: mean.clone(),
        inv,
    };
    let y = x.apply_op3(&gamma.contiguous()?, &beta.contiguous()?, Cpu(op))?;
    Ok((y, mean, var))
}

/// [`bn_train`] through plain tensor ops (GPU tensors; autograd differentiates them): the
/// normalised `x` (N, H, W, C), and the detached batch mean and biased variance (C).
pub(crate) fn bn_train_plain(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let (n, h, w, c) = x.dims4()?;
    let flat = x.reshape((n * h * w, c))?;
    let mean = flat.mean_keepdim(0)?;
    let centred = flat.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(0)?;
    let inv = (&var + eps)?.sqrt()?.recip()?;
    let y = centred
        .broadcast_mul(&inv.broadcast_mul(&gamma.reshape((1, c))?)?)?
        .broadcast_add(&beta.reshape((1, c))?)?;
    Ok((
        y.reshape((n, h, w, c))?,
        mean.reshape(c)?.detach(),
        var.reshape(c)?.detach(),
    ))
}

#[cfg(test)]
#[path = "op_tests.rs"]
mod tests;
