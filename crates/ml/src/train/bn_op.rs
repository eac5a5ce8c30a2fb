//! BatchNorm in training mode (batch statistics over N·H·W per channel of an NHWC tensor) as
//! a candle custom op with its own backward pass. Written with tensor ops it left eight
//! activation-sized intermediates per layer in the graph and ran a dozen strided passes; here
//! the forward keeps only its input and output, and both passes are a few plain loops:
//! `y = γ·(x − μ)/√(σ² + ε) + β` (σ² biased, as Keras normalises), and
//! `∂x = γ/(M·√(σ² + ε)) · (M·∂y − Σ∂y − x̂·Σ∂y·x̂)`, `∂γ = Σ∂y·x̂`, `∂β = Σ∂y`.
//! GPU tensors take the tensor-op path in `net.rs`.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};

fn err(why: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("batch norm: {why}"))
}

fn values(s: &CpuStorage, l: &Layout) -> candle_core::Result<Vec<f64>> {
    let (a, b) = l
        .contiguous_offsets()
        .ok_or_else(|| err("needs contiguous inputs"))?;
    match s {
        CpuStorage::F32(v) => Ok(v[a..b].iter().map(|&x| f64::from(x)).collect()),
        CpuStorage::F64(v) => Ok(v[a..b].to_vec()),
        _ => Err(err("runs in f32 or f64")),
    }
}

fn tensor_values(t: &Tensor) -> candle_core::Result<Vec<f64>> {
    t.flatten_all()?.to_dtype(DType::F64)?.to_vec1()
}

/// Per-channel mean and biased variance of `x` (M rows of `c` channels).
pub(crate) fn moments(x: &[f64], c: usize) -> (Vec<f64>, Vec<f64>) {
    let m = (x.len() / c.max(1)).max(1) as f64;
    let mut mean = vec![0f64; c];
    for row in x.chunks_exact(c) {
        for (s, v) in mean.iter_mut().zip(row) {
            *s += v;
        }
    }
    mean.iter_mut().for_each(|s| *s /= m);
    let mut var = vec![0f64; c];
    for row in x.chunks_exact(c) {
        for ((s, v), mu) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v - mu) * (v - mu);
        }
    }
    var.iter_mut().for_each(|s| *s /= m);
    (mean, var)
}

struct BnTrain {
    eps: f64,
}

impl CustomOp3 for BnTrain {
    fn name(&self) -> &'static str {
        "batch-norm-train"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = values(s1, l1)?;
        let gamma = values(s2, l2)?;
        let beta = values(s3, l3)?;
        let c = gamma.len();
        if c == 0 || beta.len() != c || x.len() % c != 0 {
            return Err(err("channel counts differ"));
        }
        let (mean, var) = moments(&x, c);
        let scale: Vec<f64> = (0..c)
            .map(|i| gamma[i] / (var[i] + self.eps).sqrt())
            .collect();
        let shift: Vec<f64> = (0..c).map(|i| beta[i] - mean[i] * scale[i]).collect();
        let mut y = x;
        for row in y.chunks_exact_mut(c) {
            for ((v, a), b) in row.iter_mut().zip(&scale).zip(&shift) {
                *v = *v * a + b;
            }
        }
        let storage = match s1 {
            CpuStorage::F64(_) => CpuStorage::F64(y),
            _ => CpuStorage::F32(y.into_iter().map(|v| v as f32).collect()),
        };
        Ok((storage, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let xv = tensor_values(x)?;
        let g = tensor_values(gamma)?;
        let dy = tensor_values(grad)?;
        let c = g.len();
        let m = (xv.len() / c.max(1)).max(1) as f64;
        let (mean, var) = moments(&xv, c);
        let inv: Vec<f64> = var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect();
        let mut dbeta = vec![0f64; c];
        let mut dgamma = vec![0f64; c];
        for (row, drow) in xv.chunks_exact(c).zip(dy.chunks_exact(c)) {
            for i in 0..c {
                let xhat = (row[i] - mean[i]) * inv[i];
                dbeta[i] += drow[i];
                dgamma[i] += drow[i] * xhat;
            }
        }
        let mut dx = vec![0f64; xv.len()];
        for ((row, drow), out) in xv
            .chunks_exact(c)
            .zip(dy.chunks_exact(c))
            .zip(dx.chunks_exact_mut(c))
        {
            for i in 0..c {
                let xhat = (row[i] - mean[i]) * inv[i];
                out[i] = g[i] * inv[i] / m * (m * drow[i] - dbeta[i] - xhat * dgamma[i]);
            }
        }
        let dev = x.device();
        let dt = x.dtype();
        let dx = Tensor::from_vec(dx, x.shape(), dev)?.to_dtype(dt)?;
        let dgamma = Tensor::from_vec(dgamma, c, dev)?.to_dtype(dt)?;
        let dbeta = Tensor::from_vec(dbeta, c, dev)?.to_dtype(dt)?;
        Ok((Some(dx), Some(dgamma), Some(dbeta)))
    }
}

/// Normalised `x` (.., C) with batch statistics, and those statistics (mean, biased
/// variance, detached). CPU only.
pub(crate) fn bn_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> candle_core::Result<(Tensor, Vec<f64>, Vec<f64>)> {
    let x = x.contiguous()?;
    let y = x.apply_op3(gamma, beta, BnTrain { eps })?;
    let c = gamma.dim(0)?;
    let (mean, var) = moments(&tensor_values(&x.detach())?, c);
    Ok((y, mean, var))
}
