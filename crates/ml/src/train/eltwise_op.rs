//! The residual blocks' elementwise glue as candle custom ops on the CPU: `relu(a + b)` (a
//! block's closing shortcut) and `concat(skip, relu(y))` along channels (a decoder block's
//! input). As tensor ops each left two or three activation-sized intermediates in the graph
//! and its backward pass a few more (ReLU's derivative alone: a zero tensor, a comparison,
//! a cast and a product); here each is one output forward and one pass backward. f32 and f64;
//! other types and GPU tensors take the tensor ops.

use candle_core::{CpuStorage, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{self, cpu_storage, prof, slice, zero, Float};
use super::typed_op::{Cpu, Input, TypedOp2};

const CHUNK: usize = 1 << 14;

struct AddRelu;

impl TypedOp2 for AddRelu {
    const NAME: &'static str = "add-relu";
    const WHAT: &'static str = "add";
    const PROF: [usize; 2] = [prof::ELTWISE_FWD, prof::ELTWISE_BWD];

    fn fwd<T: Float>(&self, a: Input, b: Input) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, y) = (slice::<T>(a.0, a.1)?, slice::<T>(b.0, b.1)?);
        if x.len() != y.len() {
            return Err(kernels::err("add: sizes differ"));
        }
        let z = zero::<T>();
        let mut out = vec![T::default(); x.len()];
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
            .for_each(|(o, (x, y))| {
                for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
                    let s = x + y;
                    *o = if s > z { s } else { z };
                }
            });
        Ok((T::storage(out), a.1.shape().clone()))
    }

    fn bwd<T: Float>(
        &self,
        a: &Tensor,
        b: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let grad = grad.contiguous()?;
        let (sa, la) = a.storage_and_layout();
        let (sb, lb) = b.storage_and_layout();
        let (sg, lg) = grad.storage_and_layout();
        let x = slice::<T>(cpu_storage(&sa)?, la)?;
        let y = slice::<T>(cpu_storage(&sb)?, lb)?;
        let g = slice::<T>(cpu_storage(&sg)?, lg)?;
        if x.len() != y.len() || g.len() != x.len() {
            return Err(kernels::err("add: sizes differ"));
        }
        let z = zero::<T>();
        let mut out = vec![T::default(); x.len()];
        out.par_chunks_mut(CHUNK)
            .zip(
                x.par_chunks(CHUNK)
                    .zip(y.par_chunks(CHUNK))
                    .zip(g.par_chunks(CHUNK)),
            )
            .for_each(|(o, ((x, y), g))| {
                for (((o, &x), &y), &g) in o.iter_mut().zip(x).zip(y).zip(g) {
                    // ReLU's derivative as candle takes it: 1 where the input is ≥ 0.
                    *o = if x + y >= z { g } else { z };
                }
            });
        // ∂(a + b)/∂a = ∂(a + b)/∂b.
        let g = kernels::tensor(out, a.dims())?;
        Ok((g.clone(), g))
    }
}

/// `relu(a + b)`, same shapes.
pub(crate) fn add_relu(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    if a.device().is_cpu() && kernels::supported(a.dtype()) && a.dims() == b.dims() {
        a.contiguous()?.apply_op2(&b.contiguous()?, Cpu(AddRelu))
    } else {
        (a + b)?.relu()
    }
}

struct CatRelu;

impl TypedOp2 for CatRelu {
    const NAME: &'static str = "concat-relu";
    const WHAT: &'static str = "concat";
    const PROF: [usize; 2] = [prof::ELTWISE_FWD, prof::ELTWISE_BWD];

    fn fwd<T: Float>(&self, a: Input, b: Input) -> candle_core::Result<(CpuStorage, Shape)> {
        let (skip, y) = (slice::<T>(a.0, a.1)?, slice::<T>(b.0, b.1)?);
        let (n, h, w, ca) = a.1.shape().dims4()?;
        let cb = b.1.shape().dim(3)?;
        let px = n * h * w;
        if skip.len() != px * ca || y.len() != px * cb {
            return Err(kernels::err("concat: sizes differ"));
        }
        let c = ca + cb;
        let z = zero::<T>();
        let mut out = vec![T::default(); px * c];
        out.par_chunks_mut(256 * c)
            .enumerate()
            .for_each(|(chunk, o)| {
                for (k, o) in o.chunks_exact_mut(c).enumerate() {
                    let p = chunk * 256 + k;
                    o[..ca].copy_from_slice(&skip[p * ca..(p + 1) * ca]);
                    for (o, &v) in o[ca..].iter_mut().zip(&y[p * cb..(p + 1) * cb]) {
                        *o = if v > z { v } else { z };
                    }
                }
            });
        Ok((T::storage(out), Shape::from((n, h, w, c))))
    }

    fn bwd<T: Float>(
        &self,
        a: &Tensor,
        b: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let grad = grad.contiguous()?;
        let (ca, cb) = (a.dim(3)?, b.dim(3)?);
        let c = ca + cb;
        let (sb, lb) = b.storage_and_layout();
        let (sg, lg) = grad.storage_and_layout();
        let y = slice::<T>(cpu_storage(&sb)?, lb)?;
        let g = slice::<T>(cpu_storage(&sg)?, lg)?;
        let px = y.len() / cb.max(1);
        if g.len() != px * c {
            return Err(kernels::err("concat: gradient size differs"));
        }
        let z = zero::<T>();
        let mut da = vec![T::default(); px * ca];
        let mut db = vec![T::default(); px * cb];
        da.par_chunks_mut(256 * ca)
            .zip(db.par_chunks_mut(256 * cb))
            .enumerate()
            .for_each(|(chunk, (da, db))| {
                for (k, (da, db)) in da
                    .chunks_exact_mut(ca)
                    .zip(db.chunks_exact_mut(cb))
                    .enumerate()
                {
                    let p = chunk * 256 + k;
                    let gp = &g[p * c..(p + 1) * c];
                    da.copy_from_slice(&gp[..ca]);
                    for ((d, &gv), &v) in db.iter_mut().zip(&gp[ca..]).zip(&y[p * cb..(p + 1) * cb])
                    {
                        *d = if v >= z { gv } else { z };
                    }
                }
            });
        Ok((
            kernels::tensor(da, a.dims())?,
            kernels::tensor(db, b.dims())?,
        ))
    }
}

/// `concat(skip, relu(y))` along the last axis of two NHWC tensors of the same N, H, W.
pub(crate) fn cat_relu(skip: &Tensor, y: &Tensor) -> candle_core::Result<Tensor> {
    let same_grid = skip.rank() == 4 && y.rank() == 4 && skip.dims()[..3] == y.dims()[..3];
    if skip.device().is_cpu() && kernels::supported(skip.dtype()) && same_grid {
        skip.contiguous()?.apply_op2(&y.contiguous()?, Cpu(CatRelu))
    } else {
        Tensor::cat(&[skip, &y.relu()?], 3)
    }
}
