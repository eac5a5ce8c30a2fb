//! Adam as Keras 2.11+ implements it (`keras.optimizers.Adam`), with AMSGrad: the bias
//! corrections are folded into the step size and ε is added to `√v̂` of the *uncorrected*
//! second moment — `θ −= α_t·m / (√v̂ + ε)`, `α_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)` — which is not the
//! paper's placement (`√(v/(1−β₂ᵗ)) + ε`); with ε = 1e-8 the two differ only for tiny `v`.
//! The original's L2 penalty (`kernel_regularizer=l2(0.01)`: `0.01·Σw²` added to the loss)
//! enters as its gradient `0.02·w` on the kernels only.
//!
//! On the CPU (f32/f64) the moments are plain vectors updated in place, one pass per
//! parameter: as tensor ops the update was a dozen passes and as many fresh 26.6 M-element
//! allocations per step on the full-size thigh network.

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor};
use rayon::prelude::*;

use super::kernels::{self, cpu_storage, slice, Float};
use super::net::Param;
use crate::MlError;

/// The original's `l2(0.01)` on every conv and transposed-conv kernel (never biases or BN).
pub const L2_KERNEL: f64 = 0.01;

#[derive(Debug)]
struct Moments {
    m: Tensor,
    v: Tensor,
    v_hat: Tensor,
}

/// The moments of a CPU parameter (`v_hat` empty without AMSGrad).
#[derive(Debug, Default)]
struct Plain<T> {
    m: Vec<T>,
    v: Vec<T>,
    v_hat: Vec<T>,
}

#[derive(Debug)]
enum State {
    Tensors(Moments),
    F32(Plain<f32>),
    F64(Plain<f64>),
}

/// One step's constants.
#[derive(Clone, Copy, Debug)]
struct Hyper {
    alpha: f64,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    amsgrad: bool,
    /// `2·l2` on a regularised parameter, else 0.
    decay: f64,
}

/// `w − α·m/(√v̂ + ε)` after updating the moments in place with the gradient `g`, the same
/// operations in the same order as the tensor path.
fn update_plain<T: Float>(
    st: &mut Plain<T>,
    w: &[T],
    g: &[T],
    h: Hyper,
) -> candle_core::Result<Vec<T>> {
    let n = w.len();
    if g.len() != n {
        return Err(kernels::err("adam: gradient and parameter sizes differ"));
    }
    if st.m.len() != n {
        st.m = vec![T::default(); n];
        st.v = vec![T::default(); n];
        st.v_hat = if h.amsgrad {
            vec![T::default(); n]
        } else {
            Vec::new()
        };
    }
    let c = |v: f64| T::from_f64(v);
    let (decay, b1, b2, alpha, eps) = (
        c(h.decay),
        c(1.0 - h.beta_1),
        c(1.0 - h.beta_2),
        c(h.alpha),
        c(h.epsilon),
    );
    let regularised = h.decay != 0.0;
    let amsgrad = h.amsgrad;
    const CH: usize = 1 << 14;
    let mut out = vec![T::default(); n];
    let mut v_hat_chunks: Vec<&mut [T]> = if amsgrad {
        st.v_hat.chunks_mut(CH).collect()
    } else {
        Vec::new()
    };
    v_hat_chunks.resize_with(n.div_ceil(CH), || &mut []);
    out.par_chunks_mut(CH)
        .zip(st.m.par_chunks_mut(CH))
        .zip(st.v.par_chunks_mut(CH))
        .zip(v_hat_chunks.into_par_iter())
        .enumerate()
        .for_each(|(k, (((o, m), v), vh))| {
            let at = k * CH;
            for i in 0..o.len() {
                let wi = w[at + i];
                let gi = if regularised {
                    g[at + i] + wi * decay
                } else {
                    g[at + i]
                };
                m[i] += (gi - m[i]) * b1;
                v[i] += (gi * gi - v[i]) * b2;
                let denom = if amsgrad {
                    if v[i] > vh[i] {
                        vh[i] = v[i];
                    }
                    vh[i]
                } else {
                    v[i]
                };
                let root = T::from_f64(denom.to_f64().sqrt());
                o[i] = wi - (m[i] * alpha) / (root + eps);
            }
        });
    Ok(out)
}

fn step_typed<T: Float>(
    st: &mut Plain<T>,
    w: &Tensor,
    g: &Tensor,
    h: Hyper,
) -> candle_core::Result<Tensor> {
    let new = {
        let (sw, lw) = w.storage_and_layout();
        let (sg, lg) = g.storage_and_layout();
        update_plain(
            st,
            slice(cpu_storage(&sw)?, lw)?,
            slice(cpu_storage(&sg)?, lg)?,
            h,
        )?
    };
    kernels::tensor(new, w.dims())
}

/// The new value of a CPU parameter `w` (f32/f64) for the gradient `g`.
fn step_plain(
    slot: &mut Option<State>,
    w: &Tensor,
    g: &Tensor,
    h: Hyper,
) -> candle_core::Result<Tensor> {
    let g = g.contiguous()?;
    match (w.dtype(), slot) {
        (DType::F32, Some(State::F32(st))) => step_typed(st, w, &g, h),
        (DType::F64, Some(State::F64(st))) => step_typed(st, w, &g, h),
        (DType::F32, slot) => {
            let mut st = Plain::default();
            let new = step_typed(&mut st, w, &g, h)?;
            *slot = Some(State::F32(st));
            Ok(new)
        }
        (DType::F64, slot) => {
            let mut st = Plain::default();
            let new = step_typed(&mut st, w, &g, h)?;
            *slot = Some(State::F64(st));
            Ok(new)
        }
        _ => Err(kernels::err("adam: f32 or f64 only")),
    }
}

#[derive(Debug)]
pub struct Adam {
    pub learning_rate: f64,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub amsgrad: bool,
    step: u64,
    state: Vec<Option<State>>,
}

impl Adam {
    /// The original's settings: β 0.9/0.999, ε 1e-8.
    pub fn new(learning_rate: f64, amsgrad: bool) -> Adam {
        Adam {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            amsgrad,
            step: 0,
            state: Vec::new(),
        }
    }

    /// One update of every parameter that has a gradient (`params` in the same order every
    /// call). `l2` is added as `2·l2·w` on the regularised ones.
    pub fn step(&mut self, params: &[Param], grads: &GradStore, l2: f64) -> Result<(), MlError> {
        self.step += 1;
        let t = self.step as i32;
        let alpha =
            self.learning_rate * (1.0 - self.beta_2.powi(t)).sqrt() / (1.0 - self.beta_1.powi(t));
        if self.state.len() < params.len() {
            self.state.resize_with(params.len(), || None);
        }
        for (p, slot) in params.iter().zip(self.state.iter_mut()) {
            let Some(g) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            let on_cpu = p.var.as_tensor().device().is_cpu();
            if on_cpu && kernels::supported(p.var.dtype()) && p.var.dtype() == g.dtype() {
                let h = Hyper {
                    alpha,
                    beta_1: self.beta_1,
                    beta_2: self.beta_2,
                    epsilon: self.epsilon,
                    amsgrad: self.amsgrad,
                    decay: if p.regularised { 2.0 * l2 } else { 0.0 },
                };
                let t = std::time::Instant::now();
                let w = step_plain(slot, p.var.as_tensor(), g, h)?;
                p.var.set(&w)?;
                kernels::prof::add(kernels::prof::ADAM, t);
                continue;
            }
            // Detached: the moments must not keep every earlier step's graph alive (a
            // tracked `w` made them chain step to step, memory growing without bound).
            let w = &p.var.as_tensor().detach();
            let g = g.detach();
            let g = if p.regularised && l2 != 0.0 {
                (g + (w * (2.0 * l2))?)?
            } else {
                g
            };
            let s = match slot {
                Some(State::Tensors(s)) => s,
                _ => match slot.insert(State::Tensors(Moments {
                    m: w.zeros_like()?,
                    v: w.zeros_like()?,
                    v_hat: w.zeros_like()?,
                })) {
                    State::Tensors(s) => s,
                    _ => continue,
                },
            };
            s.m = (&s.m + ((&g - &s.m)? * (1.0 - self.beta_1))?)?.detach();
            s.v = (&s.v + ((g.sqr()? - &s.v)? * (1.0 - self.beta_2))?)?.detach();
            let v = if self.amsgrad {
                s.v_hat = s.v_hat.maximum(&s.v)?.detach();
                &s.v_hat
            } else {
                &s.v
            };
            let update = ((&s.m * alpha)? / (v.sqrt()? + self.epsilon)?)?;
            p.var.set(&(w - update)?)?;
        }
        Ok(())
    }
}
