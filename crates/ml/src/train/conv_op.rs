//! The "same" 3×3 convolution as a candle custom op with its own backward pass, so a training
//! pass keeps only each conv's input and output alive instead of every intermediate of the
//! im2col (padding copies, the three-tap matrix, three partial products: ~13 activations'
//! worth per conv, which put the full-size thigh at batch 5 past 15 GB). The backward pass
//! recomputes the tap matrix it needs.
//!
//! Layout as in `unet.rs`: the zero-padded NHWC input is one row-major list of pixels with
//! `2·(w+2)+2` zero rows appended; the three column taps side by side make a matrix `R`
//! (`total + 2·wp` rows, `3·c` columns) and output pixel `p` (on the padded grid) is
//! `Σ_dy R[p + dy·wp] · W_dy`, `W_dy` the kernel rows of tap row `dy`. So
//! `∂W_dy = R[dy·wp ..]ᵀ · G` and `∂R[q] = Σ_dy G[q − dy·wp] · W_dyᵀ`, then each column tap
//! is shifted back onto the padded input. GPU tensors take the plain tensor-op path.

use candle_core::{CpuStorage, CustomOp2, DType, Device, Layout, Shape, Tensor};

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

/// Gradients of [`same3x3_plain`] with respect to `x` and `w` for the output gradient `g`.
fn same3x3_backward(x: &Tensor, w: &Tensor, g: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
    let (n, h, wd, c) = x.dims4()?;
    let cout = w.dim(1)?;
    let (hp, wp) = (h + 2, wd + 2);
    let total = n * hp * wp;
    // Output gradient on the padded grid: the positions computed and cut away get zero.
    let gp = g
        .pad_with_zeros(1, 0, 2)?
        .pad_with_zeros(2, 0, 2)?
        .reshape((total, cout))?;
    let row_cols = taps(x)?;
    let mut dw = Vec::with_capacity(3);
    let mut d_rows: Option<Tensor> = None;
    for dy in 0..3 {
        let r = row_cols.narrow(0, dy * wp, total)?;
        dw.push(r.t()?.matmul(&gp)?);
        let w_dy = w.narrow(0, dy * 3 * c, 3 * c)?;
        let part = gp
            .matmul(&w_dy.t()?)?
            .pad_with_zeros(0, dy * wp, (2 - dy) * wp)?;
        d_rows = Some(match d_rows {
            None => part,
            Some(acc) => (acc + part)?,
        });
    }
    drop(row_cols);
    let dw = Tensor::cat(&dw, 0)?;
    let Some(d_rows) = d_rows else {
        return Err(candle_core::Error::Msg("no kernel rows".into()));
    };
    let mut d_flat: Option<Tensor> = None;
    for dx in 0..3 {
        let part = d_rows.narrow(1, dx * c, c)?.pad_with_zeros(0, dx, 2 - dx)?;
        d_flat = Some(match d_flat {
            None => part,
            Some(acc) => (acc + part)?,
        });
    }
    let Some(d_flat) = d_flat else {
        return Err(candle_core::Error::Msg("no kernel columns".into()));
    };
    let dx = d_flat
        .narrow(0, 0, total)?
        .reshape((n, hp, wp, c))?
        .narrow(1, 1, h)?
        .narrow(2, 1, wd)?
        .contiguous()?;
    Ok((dx, dw))
}

fn to_tensor(s: &CpuStorage, l: &Layout) -> candle_core::Result<Tensor> {
    let Some((a, b)) = l.contiguous_offsets() else {
        return Err(candle_core::Error::Msg(
            "same3x3 conv needs contiguous inputs".into(),
        ));
    };
    match s {
        CpuStorage::F32(v) => Tensor::from_slice(&v[a..b], l.shape(), &Device::Cpu),
        CpuStorage::F64(v) => Tensor::from_slice(&v[a..b], l.shape(), &Device::Cpu),
        _ => Err(candle_core::Error::Msg(
            "same3x3 conv runs in f32 or f64".into(),
        )),
    }
}

struct Same3x3;

impl CustomOp2 for Same3x3 {
    fn name(&self) -> &'static str {
        "same3x3-conv"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = same3x3_plain(&to_tensor(s1, l1)?, &to_tensor(s2, l2)?)?;
        let shape = y.shape().clone();
        let flat = y.flatten_all()?;
        let storage = match flat.dtype() {
            DType::F64 => CpuStorage::F64(flat.to_vec1()?),
            _ => CpuStorage::F32(flat.to_dtype(DType::F32)?.to_vec1()?),
        };
        Ok((storage, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dw) = same3x3_backward(&x.detach(), &w.detach(), &grad.detach())?;
        Ok((Some(dx), Some(dw)))
    }
}

/// `x` (N, H, W, C) convolved with `w` (9·C, C_out), no bias: the custom op on the CPU, plain
/// tensor ops elsewhere.
pub(crate) fn same3x3(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op2(&w.contiguous()?, Same3x3)
    } else {
        same3x3_plain(x, w)
    }
}
