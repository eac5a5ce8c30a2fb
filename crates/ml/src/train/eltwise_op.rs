//! The residual blocks' elementwise glue as candle custom ops on the CPU: `relu(a + b)` (a
//! block's closing shortcut) and `concat(skip, relu(y))` along channels (a decoder block's
//! input). As tensor ops each left two or three activation-sized intermediates in the graph
//! and its backward pass a few more (ReLU's derivative alone: a zero tensor, a comparison,
//! a cast and a product); here each is one output forward and one pass backward. f32 and f64;
//! other types and GPU tensors take the tensor ops.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{self, cpu_storage, slice, zero, Float};

const CHUNK: usize = 1 << 14;

struct AddRelu;

impl AddRelu {
    fn fwd_typed<T: Float>(
        a: (&CpuStorage, &Layout),
        b: (&CpuStorage, &Layout),
    ) -> candle_core::Result<(CpuStorage, Shape)> {
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

    fn bwd_typed<T: Float>(a: &Tensor, b: &Tensor, grad: &Tensor) -> candle_core::Result<Tensor> {
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
        kernels::tensor(out, a.dims())
    }
}

impl CustomOp2 for AddRelu {
    fn name(&self) -> &'static str {
        "add-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let t = std::time::Instant::now();
        let out = match s1 {
            CpuStorage::F32(_) => AddRelu::fwd_typed::<f32>((s1, l1), (s2, l2)),
            CpuStorage::F64(_) => AddRelu::fwd_typed::<f64>((s1, l1), (s2, l2)),
            _ => Err(kernels::err("add runs in f32 or f64")),
        };
        kernels::prof::add(kernels::prof::ELTWISE_FWD, t);
        out
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let t = std::time::Instant::now();
        let g = match a.dtype() {
            DType::F32 => AddRelu::bwd_typed::<f32>(a, b, grad)?,
            DType::F64 => AddRelu::bwd_typed::<f64>(a, b, grad)?,
            _ => return Err(kernels::err("add runs in f32 or f64")),
        };
        kernels::prof::add(kernels::prof::ELTWISE_BWD, t);
        Ok((Some(g.clone()), Some(g)))
    }
}

/// `relu(a + b)`, same shapes.
pub(crate) fn add_relu(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    if a.device().is_cpu() && kernels::supported(a.dtype()) && a.dims() == b.dims() {
        a.contiguous()?.apply_op2(&b.contiguous()?, AddRelu)
    } else {
        (a + b)?.relu()
    }
}

struct CatRelu;

impl CatRelu {
    fn fwd_typed<T: Float>(
        a: (&CpuStorage, &Layout),
        b: (&CpuStorage, &Layout),
    ) -> candle_core::Result<(CpuStorage, Shape)> {
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

    fn bwd_typed<T: Float>(
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

impl CustomOp2 for CatRelu {
    fn name(&self) -> &'static str {
        "concat-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let t = std::time::Instant::now();
        let out = match s1 {
            CpuStorage::F32(_) => CatRelu::fwd_typed::<f32>((s1, l1), (s2, l2)),
            CpuStorage::F64(_) => CatRelu::fwd_typed::<f64>((s1, l1), (s2, l2)),
            _ => Err(kernels::err("concat runs in f32 or f64")),
        };
        kernels::prof::add(kernels::prof::ELTWISE_FWD, t);
        out
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let t = std::time::Instant::now();
        let (da, db) = match a.dtype() {
            DType::F32 => CatRelu::bwd_typed::<f32>(a, b, grad)?,
            DType::F64 => CatRelu::bwd_typed::<f64>(a, b, grad)?,
            _ => return Err(kernels::err("concat runs in f32 or f64")),
        };
        kernels::prof::add(kernels::prof::ELTWISE_BWD, t);
        Ok((Some(da), Some(db)))
    }
}

/// `concat(skip, relu(y))` along the last axis of two NHWC tensors of the same N, H, W.
pub(crate) fn cat_relu(skip: &Tensor, y: &Tensor) -> candle_core::Result<Tensor> {
    let same_grid = skip.rank() == 4 && y.rank() == 4 && skip.dims()[..3] == y.dims()[..3];
    if skip.device().is_cpu() && kernels::supported(skip.dtype()) && same_grid {
        skip.contiguous()?.apply_op2(&y.contiguous()?, CatRelu)
    } else {
        Tensor::cat(&[skip, &y.relu()?], 3)
    }
}
