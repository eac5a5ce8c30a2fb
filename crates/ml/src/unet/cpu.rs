//! The forward pass on the CPU, laid out by hand on plain `f32` slices (NHWC) around the `gemm`
//! crate's kernel (the one candle's CPU matmul calls).
//!
//! Why not candle's tensor ops (`graph.rs`, still used on GPUs and as the reference here): on
//! the full-width thigh network they spent about half the time outside the matmul kernel:
//! page faults from a fresh allocation per op, a separate pass per add/ReLU/bias/concat/crop,
//! and a new sum per kernel row. Here:
//! - the 3×3 convs run as Winograd F(4×4, 3×3) (`winograd.rs`): a quarter of the matmul work;
//!   ReLU and the decoder's concatenation are applied as the input is read, bias, shortcut and
//!   ReLU as the output is written. (Before it, three matmuls over "three column taps side by
//!   side": 0.93 s against 0.49-0.52 s for the full-width thigh at batch 2 on this machine's two
//!   cores; a full im2col was no faster than those taps, and nor were one-thread matmuls per
//!   block of rows or per image);
//! - the patch convs (kernel = stride) run on the input itself when k = 1;
//! - buffers come from a pool kept from one pass to the next, so passes reuse memory already
//!   mapped instead of faulting in fresh pages, and buffers that are overwritten whole are not
//!   zeroed first.

use rayon::prelude::*;

use super::graph::{self, ConvKind};
use super::winograd;
use crate::matmul::{gemm, Mat};

/// `dst` (m×n, rows `dst_rs` apart) = `lhs` (m×k, rows `lhs_rs` apart) · `rhs` (k×n,
/// row-major), on all of rayon's threads.
pub(super) fn matmul(
    dst: &mut [f32],
    dst_rs: usize,
    lhs: &[f32],
    lhs_rs: usize,
    rhs: &[f32],
    mkn: (usize, usize, usize),
) {
    matmul_on(dst, dst_rs, lhs, lhs_rs, rhs, mkn, true);
}

/// [`matmul`] on all of rayon's threads or on the calling thread only (`all_threads` false:
/// for callers that run many independent matmuls side by side).
pub(super) fn matmul_on(
    dst: &mut [f32],
    dst_rs: usize,
    lhs: &[f32],
    lhs_rs: usize,
    rhs: &[f32],
    (m, k, n): (usize, usize, usize),
    all_threads: bool,
) {
    let lhs = Mat {
        data: lhs,
        rows: m,
        cols: k,
        rs: lhs_rs,
        cs: 1,
    };
    let rhs = Mat {
        data: rhs,
        rows: k,
        cols: n,
        rs: n,
        cs: 1,
    };
    matmul_mat(dst, dst_rs, lhs, rhs, all_threads);
}

/// `dst` (rows `dst_rs` apart) = `lhs · rhs`, any strides. The sizes come from the network's
/// own shapes, so operands that do not fit are a bug here: it stops with the reason.
pub(super) fn matmul_mat(
    dst: &mut [f32],
    dst_rs: usize,
    lhs: Mat<f32>,
    rhs: Mat<f32>,
    all_threads: bool,
) {
    if let Err(e) = gemm(dst, dst_rs, lhs, rhs, false, all_threads) {
        panic!("CPU forward pass: {e}");
    }
}

/// Buffers reused within a forward pass and from one pass to the next.
#[derive(Debug, Default)]
pub(super) struct Pool {
    free: Vec<Vec<f32>>,
    /// Buffers kept from the previous pass and not reused yet in this one: dropped at its end,
    /// so the pool holds at most one pass's buffers (a pass at another batch size replaces them).
    stale: Vec<Vec<f32>>,
}

impl Pool {
    /// A zeroed buffer of `len`.
    pub(super) fn take(&mut self, len: usize) -> Vec<f32> {
        let mut v = self.take_dirty(len);
        v.fill(0.0);
        v
    }

    /// A buffer of `len` whose values are left over from earlier use, for callers that write
    /// every element (zeroing hundreds of MB per pass costs tens of ms). It is a free one of
    /// exactly that capacity (every pass asks for the same sizes in the same order), else the
    /// smallest free one that holds it without wasting more than half, else a new one.
    pub(super) fn take_dirty(&mut self, len: usize) -> Vec<f32> {
        let fits = |list: &Vec<Vec<f32>>| {
            (0..list.len())
                .filter(|&i| (len..=2 * len).contains(&list[i].capacity()))
                .min_by_key(|&i| list[i].capacity())
        };
        let mut v = if let Some(i) = fits(&self.free) {
            self.free.swap_remove(i)
        } else if let Some(i) = fits(&self.stale) {
            self.stale.swap_remove(i)
        } else {
            Vec::with_capacity(len)
        };
        v.truncate(len);
        v.resize(len, 0.0);
        v
    }

    /// Marks every free buffer as left over from an earlier pass.
    fn start_pass(&mut self) {
        self.stale.append(&mut self.free);
    }

    /// Drops the left-over buffers this pass did not reuse.
    fn end_pass(&mut self) {
        self.stale.clear();
    }

    pub(super) fn give(&mut self, v: Vec<f32>) {
        self.free.push(v);
    }
}

/// An activation: `n` images of `h`×`w` pixels × `c` channels, NHWC.
#[derive(Debug)]
pub(super) struct Act {
    pub(super) data: Vec<f32>,
    pub(super) n: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) c: usize,
}

/// A channel group of a 3×3 conv's input (NHWC, `c` channels), ReLU'd on the way in or not.
pub(crate) struct Source<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) c: usize,
    pub(crate) relu: bool,
}

impl<'a> Source<'a> {
    fn of(act: &'a Act, relu: bool) -> Source<'a> {
        Source {
            data: &act.data,
            c: act.c,
            relu,
        }
    }
}

/// A conv with its BatchNorm folded.
#[derive(Debug)]
pub(super) struct Conv {
    /// Patch convs: (k·k·in, out) as `graph.rs` folds them. 3×3 convs: the 36 matrices of
    /// `winograd::transform_weights`.
    weight: Vec<f32>,
    bias: Vec<f32>,
    cin: usize,
    kind: ConvKind,
}

impl Conv {
    fn from_graph(g: &graph::ConvBn) -> candle_core::Result<Conv> {
        let (rows, cout) = g.weight.dims2()?;
        let k = g.kind.kernel();
        let bias = to_vec(&g.bias)?;
        if bias.len() != cout {
            return Err(candle_core::Error::Msg(
                "conv bias does not match its weight".into(),
            ));
        }
        let cin = rows / (k * k).max(1);
        let weight = to_vec(&g.weight)?;
        let weight = match g.kind {
            ConvKind::Same3x3 => winograd::transform_weights(&weight, cin, cout),
            ConvKind::Patch(_) => weight,
        };
        Ok(Conv {
            weight,
            bias,
            cin,
            kind: g.kind,
        })
    }

    fn cout(&self) -> usize {
        self.bias.len()
    }

    /// 3×3 'same' conv of the channel-wise concatenation of `sources` (`n` images of `h`×`w`),
    /// then `+ residual` and ReLU when asked.
    fn same3x3(
        &self,
        (n, h, w): (usize, usize, usize),
        sources: &[Source],
        residual: Option<&Act>,
        relu: bool,
        pool: &mut Pool,
    ) -> Act {
        let data = winograd::conv3x3(
            &self.weight,
            &self.bias,
            self.cin,
            sources,
            (n, h, w),
            residual.map(|r| r.data.as_slice()),
            relu,
            pool,
        );
        Act {
            data,
            n,
            h,
            w,
            c: self.cout(),
        }
    }

    /// Kernel = stride = k, 'valid'; ReLU after when asked.
    fn patch(&self, x: &Act, relu: bool, pool: &mut Pool) -> Act {
        let k = self.kind.kernel();
        let (n, h, w, cin) = (x.n, x.h, x.w, x.c);
        let (ho, wo) = (h / k, w / k);
        let cout = self.cout();
        let kc = k * k * cin;
        let mut out = pool.take_dirty(n * ho * wo * cout);
        if k == 1 {
            matmul(
                &mut out,
                cout,
                &x.data,
                cin,
                &self.weight,
                (n * h * w, cin, cout),
            );
        } else {
            let mut cols = pool.take_dirty(n * ho * wo * kc);
            cols.par_chunks_mut(wo * kc)
                .enumerate()
                .for_each(|(row, o)| {
                    let (b, oi) = (row / ho, row % ho);
                    for oj in 0..wo {
                        for ky in 0..k {
                            let src = ((b * h + oi * k + ky) * w + oj * k) * cin;
                            let dst = oj * kc + ky * k * cin;
                            o[dst..dst + k * cin].copy_from_slice(&x.data[src..src + k * cin]);
                        }
                    }
                });
            matmul(
                &mut out,
                cout,
                &cols,
                kc,
                &self.weight,
                (n * ho * wo, kc, cout),
            );
            pool.give(cols);
        }
        let bias = &self.bias;
        out.par_chunks_mut(cout * 256).for_each(|chunk| {
            for px in chunk.chunks_exact_mut(cout) {
                for (o, b) in px.iter_mut().zip(bias) {
                    *o += b;
                    if relu {
                        *o = o.max(0.0);
                    }
                }
            }
        });
        Act {
            data: out,
            n,
            h: ho,
            w: wo,
            c: cout,
        }
    }
}

/// A transposed conv with kernel = stride and its BatchNorm folded: (in, k·k·out).
#[derive(Debug)]
struct UpConv {
    weight: Vec<f32>,
    bias: Vec<f32>,
    stride: usize,
}

impl UpConv {
    /// Rows/columns past k·(input size) get the bias only (Keras's output padding).
    fn forward(&self, x: &Act, out_h: usize, out_w: usize, pool: &mut Pool) -> Act {
        let (n, h, w, cin) = (x.n, x.h, x.w, x.c);
        let k = self.stride;
        let cout = self.bias.len();
        let kc = k * k * cout;
        let mut y = pool.take_dirty(n * h * w * kc);
        matmul(&mut y, kc, &x.data, cin, &self.weight, (n * h * w, cin, kc));
        let mut out = pool.take_dirty(n * out_h * out_w * cout);
        let bias = &self.bias;
        out.par_chunks_mut(out_w * cout)
            .enumerate()
            .for_each(|(row, o)| {
                let (b, oi) = (row / out_h, row % out_h);
                let (i, ky) = (oi / k, oi % k);
                for (oj, o) in o.chunks_exact_mut(cout).enumerate() {
                    let (j, kx) = (oj / k, oj % k);
                    if i < h && j < w {
                        let src = &y[((b * h + i) * w + j) * kc + (ky * k + kx) * cout..][..cout];
                        for ((o, s), b) in o.iter_mut().zip(src).zip(bias) {
                            *o = s + b;
                        }
                    } else {
                        o.copy_from_slice(bias);
                    }
                }
            });
        pool.give(y);
        Act {
            data: out,
            n,
            h: out_h,
            w: out_w,
            c: cout,
        }
    }
}

fn to_vec(t: &candle_core::Tensor) -> candle_core::Result<Vec<f32>> {
    t.to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()
}

/// Runs the convs of a residual block: the first reads `first` (channel groups), each conv is
/// followed by ReLU, the last one after adding `shortcut`.
fn res_block(convs: &[Conv], first: &[Source], shortcut: &Act, pool: &mut Pool) -> Act {
    let last = convs.len().saturating_sub(1);
    let dims = (shortcut.n, shortcut.h, shortcut.w);
    let mut h: Option<Act> = None;
    for (i, conv) in convs.iter().enumerate() {
        let residual = (i == last).then_some(shortcut);
        let out = match &h {
            None => conv.same3x3(dims, first, residual, true, pool),
            Some(prev) => conv.same3x3(dims, &[Source::of(prev, false)], residual, true, pool),
        };
        if let Some(old) = h.replace(out) {
            pool.give(old.data);
        }
    }
    h.unwrap_or(Act {
        data: Vec::new(),
        n: 0,
        h: 0,
        w: 0,
        c: 0,
    })
}

/// The network's folded weights as plain vectors.
#[derive(Debug)]
pub(super) struct Net {
    /// (down conv, block convs), top level first.
    encoder: Vec<(Conv, Vec<Conv>)>,
    bottleneck: Conv,
    /// (up conv, block convs), top level first.
    decoder: Vec<(UpConv, Vec<Conv>)>,
    head: Conv,
    /// Buffers kept from one pass to the next: a fresh pass would fault in a few hundred MB of
    /// new pages (tens of ms on the full-width network). Holds at most one pass's working set.
    pool: std::sync::Mutex<Pool>,
}

impl Net {
    pub(super) fn from_graph(g: &graph::Net) -> candle_core::Result<Net> {
        let block = |b: &graph::ResBlock| {
            b.convs
                .iter()
                .map(Conv::from_graph)
                .collect::<candle_core::Result<Vec<_>>>()
        };
        let encoder = g
            .encoder
            .iter()
            .map(|l| Ok((Conv::from_graph(&l.down)?, block(&l.block)?)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let decoder = g
            .decoder
            .iter()
            .map(|l| {
                let up = UpConv {
                    weight: to_vec(&l.up.weight)?,
                    bias: to_vec(&l.up.bias)?,
                    stride: l.up.stride,
                };
                Ok((up, block(&l.block)?))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Net {
            encoder,
            bottleneck: Conv::from_graph(&g.bottleneck)?,
            decoder,
            head: Conv::from_graph(&g.head)?,
            pool: Default::default(),
        })
    }

    /// `x`: (n, h, w, image channels) NHWC. Returns the softmax last, and before it every
    /// level's closing ReLU and the logits when `capture` (names as `graph::Net::run`).
    pub(super) fn run(&self, x: Act, capture: bool) -> Vec<(String, Act)> {
        // Taken out for the pass, so a concurrent pass just starts with an empty pool.
        let mut pool = self
            .pool
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        pool.start_pass();
        let acts = self.pass(x, capture, &mut pool);
        pool.end_pass();
        if let Ok(mut kept) = self.pool.lock() {
            *kept = pool;
        }
        acts
    }

    fn pass(&self, x: Act, capture: bool, pool: &mut Pool) -> Vec<(String, Act)> {
        let mut acts = Vec::new();
        let copy = |a: &Act| Act {
            data: a.data.clone(),
            ..*a
        };
        let mut skips: Vec<Act> = Vec::with_capacity(self.encoder.len());
        for (level, (down, block)) in self.encoder.iter().enumerate() {
            let input = skips.last().unwrap_or(&x);
            let y0 = down.patch(input, false, pool);
            let next = res_block(block, &[Source::of(&y0, true)], &y0, pool);
            pool.give(y0.data);
            if capture {
                acts.push((format!("Level{}_l", level + 1), copy(&next)));
            }
            skips.push(next);
        }
        let Some(deepest) = skips.last() else {
            return acts;
        };
        let mut h = self.bottleneck.patch(deepest, true, pool);
        if capture {
            acts.push((format!("Level{}_l", self.encoder.len() + 1), copy(&h)));
        }
        for (level, (up, block)) in self.decoder.iter().enumerate().rev() {
            let Some(skip) = skips.pop() else { break };
            let y0 = up.forward(&h, skip.h, skip.w, pool);
            pool.give(std::mem::take(&mut h.data));
            let sources = [Source::of(&skip, false), Source::of(&y0, true)];
            h = res_block(block, &sources, &y0, pool);
            pool.give(y0.data);
            pool.give(skip.data);
            if capture {
                acts.push((format!("Level{}_r", level + 1), copy(&h)));
            }
        }
        let mut out = self.head.patch(&h, false, pool);
        if capture {
            acts.push(("logits".into(), copy(&out)));
        }
        let classes = out.c.max(1);
        out.data.par_chunks_mut(classes * 256).for_each(|chunk| {
            for px in chunk.chunks_exact_mut(classes) {
                let max = px.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let mut sum = 0.0;
                for v in px.iter_mut() {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                for v in px.iter_mut() {
                    *v /= sum;
                }
            }
        });
        acts.push(("softmax".into(), out));
        acts
    }
}
