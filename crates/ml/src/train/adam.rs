//! Adam as Keras 2.11+ implements it (`keras.optimizers.Adam`), with AMSGrad: the bias
//! corrections are folded into the step size and ε is added to `√v̂` of the *uncorrected*
//! second moment — `θ −= α_t·m / (√v̂ + ε)`, `α_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)` — which is not the
//! paper's placement (`√(v/(1−β₂ᵗ)) + ε`); with ε = 1e-8 the two differ only for tiny `v`.
//! The original's L2 penalty (`kernel_regularizer=l2(0.01)`: `0.01·Σw²` added to the loss)
//! enters as its gradient `0.02·w` on the kernels only.

use candle_core::backprop::GradStore;
use candle_core::Tensor;

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

#[derive(Debug)]
pub struct Adam {
    pub learning_rate: f64,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub amsgrad: bool,
    step: u64,
    state: Vec<Option<Moments>>,
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
                Some(s) => s,
                None => slot.insert(Moments {
                    m: w.zeros_like()?,
                    v: w.zeros_like()?,
                    v_hat: w.zeros_like()?,
                }),
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
