//! What every CPU training op shares as a candle custom op: the dispatch on the element type
//! (f32 for training, f64 for the finite-difference checks, anything else refused with the
//! op's name), the time each pass adds to the step profile, and the trait methods' long
//! signatures. An op writes its forward and backward once, generic over [`Float`], implements
//! [`TypedOp2`] or [`TypedOp3`], and is applied wrapped in [`Cpu`].

use std::time::Instant;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};

use super::kernels::{self, prof, Float};

/// A storage and its layout, as candle hands them to a forward pass.
pub(crate) type Input<'a> = (&'a CpuStorage, &'a Layout);

/// An op of two tensors.
pub(crate) trait TypedOp2: Send + Sync {
    /// The op's name in candle's graph.
    const NAME: &'static str;
    /// What the op is, in error messages.
    const WHAT: &'static str;
    /// Profile slots of the forward and the backward pass ([`prof`]).
    const PROF: [usize; 2];
    fn fwd<T: Float>(&self, a: Input, b: Input) -> candle_core::Result<(CpuStorage, Shape)>;
    /// The gradients of both inputs for the output gradient `grad`.
    fn bwd<T: Float>(
        &self,
        a: &Tensor,
        b: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)>;
}

/// An op of three tensors.
pub(crate) trait TypedOp3: Send + Sync {
    /// The op's name in candle's graph.
    const NAME: &'static str;
    /// What the op is, in error messages.
    const WHAT: &'static str;
    /// Profile slots of the forward and the backward pass ([`prof`]).
    const PROF: [usize; 2];
    fn fwd<T: Float>(&self, s: [Input; 3]) -> candle_core::Result<(CpuStorage, Shape)>;
    /// The gradients of the three inputs for the output gradient `grad`.
    fn bwd<T: Float>(
        &self,
        args: [&Tensor; 3],
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)>;
}

/// A typed op as candle's custom op.
pub(crate) struct Cpu<O>(pub O);

/// Runs `f32` or `f64` by `dtype`, adding the time to profile slot `slot`.
fn dispatch<R>(
    dtype: DType,
    what: &str,
    slot: usize,
    f32: impl FnOnce() -> candle_core::Result<R>,
    f64: impl FnOnce() -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let t = Instant::now();
    let out = match dtype {
        DType::F32 => f32(),
        DType::F64 => f64(),
        _ => Err(kernels::err(format!("{what} runs in f32 or f64"))),
    };
    prof::add(slot, t);
    out
}

impl<O: TypedOp2> CustomOp2 for Cpu<O> {
    fn name(&self) -> &'static str {
        O::NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (a, b) = ((s1, l1), (s2, l2));
        dispatch(
            s1.dtype(),
            O::WHAT,
            O::PROF[0],
            || self.0.fwd::<f32>(a, b),
            || self.0.fwd::<f64>(a, b),
        )
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (da, db) = dispatch(
            a.dtype(),
            O::WHAT,
            O::PROF[1],
            || self.0.bwd::<f32>(a, b, grad),
            || self.0.bwd::<f64>(a, b, grad),
        )?;
        Ok((Some(da), Some(db)))
    }
}

impl<O: TypedOp3> CustomOp3 for Cpu<O> {
    fn name(&self) -> &'static str {
        O::NAME
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
        let s = [(s1, l1), (s2, l2), (s3, l3)];
        dispatch(
            s1.dtype(),
            O::WHAT,
            O::PROF[0],
            || self.0.fwd::<f32>(s),
            || self.0.fwd::<f64>(s),
        )
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (da, db, dc) = dispatch(
            a.dtype(),
            O::WHAT,
            O::PROF[1],
            || self.0.bwd::<f32>([a, b, c], grad),
            || self.0.bwd::<f64>([a, b, c], grad),
        )?;
        Ok((Some(da), Some(db), Some(dc)))
    }
}
