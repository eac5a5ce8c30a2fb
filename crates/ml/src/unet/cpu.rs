//! The forward pass on the CPU, laid out by hand on plain `f32` slices (NHWC) around the `gemm`
//! crate's kernel (the one candle's CPU matmul calls).
//!
//! Why not candle's tensor ops (`graph.rs`, still used on GPUs and as the reference here): on
//! the full-width thigh network they spent about half the time outside the matmul kernel:
//! page faults from a fresh allocation per op, a separate pass per add/ReLU/bias/concat/crop,
//! and a new sum per kernel row. Here:
//! - a 3×3 conv copies its input once into a "three column taps side by side" matrix over the
//!   zero-padded image (ReLU and the decoder's concatenation are applied during that copy) and
//!   runs three matmuls that accumulate into one output (gemm's `read_dst`), one per kernel row;
//!   bias, shortcut and ReLU are applied in the single pass that crops the output (a full
//!   im2col, 9·in columns and one matmul, measured no faster: 3× the copying; so did blocks of
//!   output rows as rayon tasks, each a one-thread matmul kept in cache: more CPU time; and
//!   the images of a batch one per thread with one-thread matmuls: no clear gain under load,
//!   more memory at batch 2);
//! - the patch convs (kernel = stride) run on the input itself when k = 1;
//! - buffers come from a pool that lives for one forward pass, so most passes reuse memory
//!   already mapped instead of faulting in fresh pages.

use rayon::prelude::*;

use super::graph::{self, ConvKind};

/// `dst` (m×n, row-major) = [`dst` +] `lhs` (m×k, rows `lhs_rs` apart) · `rhs` (k×n,
/// row-major), on all of rayon's threads.
#[allow(unsafe_code)]
fn matmul(
    dst: &mut [f32],
    lhs: &[f32],
    lhs_rs: usize,
    rhs: &[f32],
    (m, k, n): (usize, usize, usize),
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    assert!(
        lhs_rs >= k && lhs.len() >= (m - 1) * lhs_rs + k,
        "matmul lhs too short"
    );
    assert!(rhs.len() >= k * n, "matmul rhs too short");
    assert!(dst.len() >= m * n, "matmul dst too short");
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above keep every element gemm reads or writes inside the three
    // slices (strides: lhs (1, lhs_rs), rhs (1, n), dst (1, n)); `dst` is borrowed mutably, so
    // it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            1,
            lhs_rs as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Buffers reused within one forward pass.
#[derive(Debug, Default)]
pub(super) struct Pool {
    free: Vec<Vec<f32>>,
}

impl Pool {
    /// A zeroed buffer of `len`: the smallest free one that holds it, else a new one (the largest
    /// free buffer is then dropped, so the pool does not grow without bound).
    fn take(&mut self, len: usize) -> Vec<f32> {
        let fits = (0..self.free.len())
            .filter(|&i| self.free[i].capacity() >= len)
            .min_by_key(|&i| self.free[i].capacity());
        let mut v = match fits {
            Some(i) => self.free.swap_remove(i),
            None => {
                if let Some(i) = (0..self.free.len()).max_by_key(|&i| self.free[i].capacity()) {
                    self.free.swap_remove(i);
                }
                Vec::with_capacity(len)
            }
        };
        v.clear();
        v.resize(len, 0.0);
        v
    }

    fn give(&mut self, v: Vec<f32>) {
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

/// A channel group of a 3×3 conv's input, ReLU'd on the way in or not.
struct Source<'a> {
    act: &'a Act,
    relu: bool,
}

fn copy_relu(dst: &mut [f32], src: &[f32], relu: bool) {
    if relu {
        for (d, v) in dst.iter_mut().zip(src) {
            *d = v.max(0.0);
        }
    } else {
        dst.copy_from_slice(src);
    }
}

/// A conv with its BatchNorm folded (weights from `graph.rs`: (k·k·in, out)).
#[derive(Debug)]
struct Conv {
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
        Ok(Conv {
            weight: to_vec(&g.weight)?,
            bias,
            cin: rows / (k * k).max(1),
            kind: g.kind,
        })
    }

    fn cout(&self) -> usize {
        self.bias.len()
    }

    /// 3×3 'same' conv of the channel-wise concatenation of `sources`, then `+ residual` and
    /// ReLU when asked.
    fn same3x3(
        &self,
        sources: &[Source],
        residual: Option<&Act>,
        relu: bool,
        pool: &mut Pool,
    ) -> Act {
        let Some(first) = sources.first() else {
            return Act {
                data: Vec::new(),
                n: 0,
                h: 0,
                w: 0,
                c: self.cout(),
            };
        };
        let (n, h, w) = (first.act.n, first.act.h, first.act.w);
        let cin = self.cin;
        let cout = self.cout();
        let (hp, wp) = (h + 2, w + 2);
        let kc = 3 * cin;
        // Row p of `taps` = padded pixels p, p+1, p+2 side by side (p runs over the padded
        // images row by row); output pixel (i, j) of kernel row dy then reads row
        // (i + dy)·wp + j. Padding rows/columns stay zero.
        let mut taps = pool.take(n * hp * wp * kc);
        taps.par_chunks_mut(wp * kc)
            .enumerate()
            .for_each(|(row, out)| {
                let (b, i) = (row / hp, row % hp);
                if i == 0 || i > h {
                    return;
                }
                let y = i - 1;
                for j in 0..wp {
                    for dx in 0..3 {
                        let col = j + dx;
                        if col == 0 || col > w {
                            continue;
                        }
                        let px = (b * h + y) * w + col - 1;
                        let mut at = j * kc + dx * cin;
                        for s in sources {
                            let c = s.act.c;
                            copy_relu(
                                &mut out[at..at + c],
                                &s.act.data[px * c..(px + 1) * c],
                                s.relu,
                            );
                            at += c;
                        }
                    }
                }
            });
        // Outputs for every padded position but the last two rows of the last image: rows
        // i ≥ h and columns j ≥ w are garbage, never read.
        let m = n * hp * wp - 2 * wp;
        let mut y = pool.take(n * hp * wp * cout);
        for dy in 0..3 {
            matmul(
                &mut y,
                &taps[dy * wp * kc..],
                kc,
                &self.weight[dy * kc * cout..(dy + 1) * kc * cout],
                (m, kc, cout),
                dy > 0,
            );
        }
        pool.give(taps);
        let mut out = pool.take(n * h * w * cout);
        let bias = &self.bias;
        out.par_chunks_mut(w * cout)
            .enumerate()
            .for_each(|(row, o)| {
                let (b, i) = (row / h, row % h);
                let src = &y[(b * hp + i) * wp * cout..][..w * cout];
                let res = residual.map(|r| &r.data[row * w * cout..][..w * cout]);
                for (p, (o, s)) in o
                    .chunks_exact_mut(cout)
                    .zip(src.chunks_exact(cout))
                    .enumerate()
                {
                    for ((o, s), b) in o.iter_mut().zip(s).zip(bias) {
                        *o = s + b;
                    }
                    if let Some(res) = res {
                        for (o, r) in o.iter_mut().zip(&res[p * cout..(p + 1) * cout]) {
                            *o += r;
                        }
                    }
                    if relu {
                        for o in o.iter_mut() {
                            *o = o.max(0.0);
                        }
                    }
                }
            });
        pool.give(y);
        Act {
            data: out,
            n,
            h,
            w,
            c: cout,
        }
    }

    /// Kernel = stride = k, 'valid'; ReLU after when asked.
    fn patch(&self, x: &Act, relu: bool, pool: &mut Pool) -> Act {
        let k = self.kind.kernel();
        let (n, h, w, cin) = (x.n, x.h, x.w, x.c);
        let (ho, wo) = (h / k, w / k);
        let cout = self.cout();
        let kc = k * k * cin;
        let mut out = pool.take(n * ho * wo * cout);
        if k == 1 {
            matmul(
                &mut out,
                &x.data,
                cin,
                &self.weight,
                (n * h * w, cin, cout),
                false,
            );
        } else {
            let mut cols = pool.take(n * ho * wo * kc);
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
                &cols,
                kc,
                &self.weight,
                (n * ho * wo, kc, cout),
                false,
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
        let mut y = pool.take(n * h * w * kc);
        matmul(
            &mut y,
            &x.data,
            cin,
            &self.weight,
            (n * h * w, cin, kc),
            false,
        );
        let mut out = pool.take(n * out_h * out_w * cout);
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
    let mut h: Option<Act> = None;
    for (i, conv) in convs.iter().enumerate() {
        let residual = (i == last).then_some(shortcut);
        let out = match &h {
            None => conv.same3x3(first, residual, true, pool),
            Some(prev) => conv.same3x3(
                &[Source {
                    act: prev,
                    relu: false,
                }],
                residual,
                true,
                pool,
            ),
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
        })
    }

    /// `x`: (n, h, w, image channels) NHWC. Returns the softmax last, and before it every
    /// level's closing ReLU and the logits when `capture` (names as `graph::Net::run`).
    pub(super) fn run(&self, x: Act, capture: bool) -> Vec<(String, Act)> {
        let mut pool = Pool::default();
        let mut acts = Vec::new();
        let copy = |a: &Act| Act {
            data: a.data.clone(),
            ..*a
        };
        let mut skips: Vec<Act> = Vec::with_capacity(self.encoder.len());
        for (level, (down, block)) in self.encoder.iter().enumerate() {
            let input = skips.last().unwrap_or(&x);
            let y0 = down.patch(input, false, &mut pool);
            let next = res_block(
                block,
                &[Source {
                    act: &y0,
                    relu: true,
                }],
                &y0,
                &mut pool,
            );
            pool.give(y0.data);
            if capture {
                acts.push((format!("Level{}_l", level + 1), copy(&next)));
            }
            skips.push(next);
        }
        let Some(deepest) = skips.last() else {
            return acts;
        };
        let mut h = self.bottleneck.patch(deepest, true, &mut pool);
        if capture {
            acts.push((format!("Level{}_l", self.encoder.len() + 1), copy(&h)));
        }
        for (level, (up, block)) in self.decoder.iter().enumerate().rev() {
            let Some(skip) = skips.pop() else { break };
            let y0 = up.forward(&h, skip.h, skip.w, &mut pool);
            pool.give(std::mem::take(&mut h.data));
            let sources = [
                Source {
                    act: &skip,
                    relu: false,
                },
                Source {
                    act: &y0,
                    relu: true,
                },
            ];
            h = res_block(block, &sources, &y0, &mut pool);
            pool.give(y0.data);
            pool.give(skip.data);
            if capture {
                acts.push((format!("Level{}_r", level + 1), copy(&h)));
            }
        }
        let mut out = self.head.patch(&h, false, &mut pool);
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
