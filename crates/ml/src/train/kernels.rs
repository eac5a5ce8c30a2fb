//! Plain-slice building blocks of the CPU training ops (`conv_op.rs`, `bn_op.rs`,
//! `eltwise_op.rs`): the bounds-checked matmul (`crate::matmul`, shared with the inference
//! pass), a product `Aᵀ·B` over a very long shared dimension split across threads (gemm
//! parallelises only over the output, which for a kernel gradient is a few thousand numbers),
//! and access to a tensor's CPU slice without a copy. Generic over f32 (training) and f64 (the
//! finite-difference gradient checks run the same code).
//!
//! The ops' scratch buffers (tap matrices, padded products and gradients: several
//! activations' worth per conv) come from a per-thread pool, kept while a network trains
//! ([`TrainingHeap`]): fresh allocations of that size are fresh pages from the kernel, and
//! faulting them in cost more than the arithmetic around them.

use std::cell::RefCell;

use candle_core::{CpuStorage, DType, Layout, Storage, Tensor, WithDType};
use rayon::prelude::*;

pub(crate) use crate::matmul::{gemm, Mat};

/// The float types the training ops run in.
pub(crate) trait Float: WithDType + Default {
    /// The storage variant of `v`.
    fn storage(v: Vec<Self>) -> CpuStorage;
    /// Runs `f` on this thread's pool of free buffers of this type.
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
}

thread_local! {
    static POOL_F32: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
    static POOL_F64: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
}

impl Float for f32 {
    fn storage(v: Vec<f32>) -> CpuStorage {
        CpuStorage::F32(v)
    }
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<f32>>) -> R) -> R {
        POOL_F32.with(|p| f(&mut p.borrow_mut()))
    }
}

impl Float for f64 {
    fn storage(v: Vec<f64>) -> CpuStorage {
        CpuStorage::F64(v)
    }
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<f64>>) -> R) -> R {
        POOL_F64.with(|p| f(&mut p.borrow_mut()))
    }
}

/// A zeroed scratch buffer of `len`: the smallest free one of the pool that holds it, else a
/// new one (the largest free one is then dropped, so the pool stays a few buffers).
pub(crate) fn take<T: Float>(len: usize) -> Vec<T> {
    let mut v = T::with_pool(|free| {
        let fits = (0..free.len())
            .filter(|&i| free[i].capacity() >= len)
            .min_by_key(|&i| free[i].capacity());
        match fits {
            Some(i) => free.swap_remove(i),
            None => {
                if let Some(i) = (0..free.len()).max_by_key(|&i| free[i].capacity()) {
                    free.swap_remove(i);
                }
                Vec::new()
            }
        }
    });
    v.clear();
    v.resize(len, T::default());
    v
}

/// Returns a scratch buffer to the pool.
pub(crate) fn give<T: Float>(v: Vec<T>) {
    T::with_pool(|free| free.push(v));
}

/// Frees this thread's scratch buffers.
pub(crate) fn release_pool() {
    f32::with_pool(|free| free.clear());
    f64::with_pool(|free| free.clear());
}

/// Held by a network from its first training pass until it is dropped. While any is held,
/// the scratch pool lives from step to step and glibc's allocator keeps freed memory for
/// reuse (no `mmap` per large block, no trimming): a training step frees and allocates
/// gigabytes of activation-sized blocks, and with a fresh mapping for each the kernel's page
/// faults and page zeroing took a fifth of the step (12 % fewer CPU seconds per step with the
/// memory kept, peak RSS +8 %). The last one dropped restores glibc's defaults and hands the
/// free memory back (`malloc_trim`).
#[derive(Debug)]
pub(crate) struct TrainingHeap(());

static TRAINING_NETS: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

impl TrainingHeap {
    pub(crate) fn new() -> TrainingHeap {
        if let Ok(mut n) = TRAINING_NETS.lock() {
            if *n == 0 {
                keep_freed_memory(true);
            }
            *n += 1;
        }
        TrainingHeap(())
    }
}

impl Drop for TrainingHeap {
    fn drop(&mut self) {
        release_pool();
        if let Ok(mut n) = TRAINING_NETS.lock() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                keep_freed_memory(false);
            }
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn keep_freed_memory(keep: bool) {
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_MAX: i32 = -4;
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's allocator tuning calls, thread-safe (they take the arena lock); they
    // change where later blocks come from, never a live block. Failures leave the defaults.
    unsafe {
        if keep {
            mallopt(M_MMAP_MAX, 0);
            mallopt(M_TRIM_THRESHOLD, i32::MAX);
        } else {
            // glibc's defaults.
            mallopt(M_MMAP_MAX, 65536);
            mallopt(M_TRIM_THRESHOLD, 128 * 1024);
            malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory(_keep: bool) {}

pub(crate) fn err(why: impl std::fmt::Display) -> candle_core::Error {
    candle_core::Error::Msg(format!("training op: {why}"))
}

/// The contiguous values of a CPU storage as `T`.
pub(crate) fn slice<'a, T: Float>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [T]> {
    let (a, b) = l
        .contiguous_offsets()
        .ok_or_else(|| err("needs contiguous inputs"))?;
    let all = T::cpu_storage_as_slice(s)?;
    all.get(a..b).ok_or_else(|| err("layout past its storage"))
}

/// A CPU tensor's storage (keep the guard alive while its slice is used).
pub(crate) fn cpu_storage(s: &Storage) -> candle_core::Result<&CpuStorage> {
    match s {
        Storage::Cpu(c) => Ok(c),
        _ => Err(err("expects a CPU tensor")),
    }
}

/// A tensor of `shape` over `data`, on the CPU, no copy.
pub(crate) fn tensor<T: Float>(data: Vec<T>, shape: &[usize]) -> candle_core::Result<Tensor> {
    Tensor::from_vec(data, shape, &candle_core::Device::Cpu)
}

/// Whether the fast path takes `dtype`.
pub(crate) fn supported(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::F64)
}

/// `T::from_f64(0.0)`, shorter.
pub(crate) fn zero<T: Float>() -> T {
    T::from_f64(0.0)
}

/// `Σ_t a_tᵀ · b` for the three (or more) row-shifted views `a_t` of one matrix: with `a` of
/// rows `cols_a` wide, `a_t` = rows `shifts[t] ..+ k`, `b` = `k` rows of `n`. The result holds
/// the products one after the other (`shifts.len()` blocks of `cols_a × n`). The long
/// dimension `k` is split into one part per thread (each a one-thread gemm), then summed.
pub(crate) fn shifted_at_b<T: Float>(
    a: &[T],
    cols_a: usize,
    shifts: &[usize],
    b: &[T],
    n: usize,
    k: usize,
) -> candle_core::Result<Vec<T>> {
    let block = cols_a * n;
    let parts = rayon::current_num_threads().clamp(1, k.div_ceil(1024).max(1));
    let step = k.div_ceil(parts);
    let partials = (0..parts)
        .into_par_iter()
        .map(|p| {
            let (k0, k1) = (p * step, ((p + 1) * step).min(k));
            let mut out = vec![T::default(); block * shifts.len()];
            if k1 <= k0 {
                return Ok(out);
            }
            for (t, &shift) in shifts.iter().enumerate() {
                let start = (shift + k0) * cols_a;
                let lhs = Mat {
                    data: a
                        .get(start..)
                        .ok_or_else(|| err("shifted rows past the matrix"))?,
                    rows: cols_a,
                    cols: k1 - k0,
                    rs: 1,
                    cs: cols_a,
                };
                let rhs = Mat {
                    data: &b[k0 * n..],
                    rows: k1 - k0,
                    cols: n,
                    rs: n,
                    cs: 1,
                };
                gemm(&mut out[t * block..], n, lhs, rhs, false, false)?;
            }
            Ok(out)
        })
        .collect::<candle_core::Result<Vec<Vec<T>>>>()?;
    let mut parts = partials.into_iter();
    let mut total = parts.next().unwrap_or_default();
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    Ok(total)
}

/// Per-channel sums (f64) over `rows` rows of `c` channels: `add(row, acc)` adds one row's
/// contributions to `acc`; the rows are split across threads.
pub(crate) fn channel_sums(
    rows: usize,
    c: usize,
    add: impl Fn(usize, &mut [f64]) + Sync,
) -> Vec<f64> {
    let chunk = 2048usize;
    let parts = (0..rows.div_ceil(chunk))
        .into_par_iter()
        .map(|p| {
            let mut acc = vec![0f64; c];
            for row in p * chunk..((p + 1) * chunk).min(rows) {
                add(row, &mut acc);
            }
            acc
        })
        .collect::<Vec<_>>();
    let mut total = vec![0f64; c];
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

/// Wall time spent in each kind of training op since the last [`take_op_seconds`], for the
/// step-time breakdown of `examples/train_step_time.rs` (a clock read per op call).
pub(crate) mod prof {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    pub(crate) const NAMES: [&str; 9] = [
        "conv3x3_forward",
        "conv3x3_backward",
        "batchnorm_forward",
        "batchnorm_backward",
        "relu_add_concat_forward",
        "relu_add_concat_backward",
        "adam",
        "patch_and_transposed_conv_forward",
        "patch_and_transposed_conv_backward",
    ];
    pub(crate) const CONV_FWD: usize = 0;
    pub(crate) const CONV_BWD: usize = 1;
    pub(crate) const BN_FWD: usize = 2;
    pub(crate) const BN_BWD: usize = 3;
    pub(crate) const ELTWISE_FWD: usize = 4;
    pub(crate) const ELTWISE_BWD: usize = 5;
    pub(crate) const ADAM: usize = 6;
    pub(crate) const PATCH_FWD: usize = 7;
    pub(crate) const PATCH_BWD: usize = 8;

    static NANOS: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];

    pub(crate) fn add(kind: usize, since: Instant) {
        if let Some(n) = NANOS.get(kind) {
            n.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
    }

    /// Seconds per kind since the last call, and resets them.
    pub(crate) fn take() -> Vec<(&'static str, f64)> {
        NAMES
            .iter()
            .zip(&NANOS)
            .map(|(name, n)| (*name, n.swap(0, Ordering::Relaxed) as f64 / 1e9))
            .collect()
    }
}
