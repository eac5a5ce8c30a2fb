//! The one call into the `gemm` crate's kernel (the one candle's CPU matmul calls), behind a
//! bounds check: the inference pass (`unet/cpu.rs`, `unet/winograd.rs`) and the training ops
//! (`train/kernels.rs`) multiply through [`gemm`].

use candle_core::WithDType;

fn err(why: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("matmul: {why}"))
}

/// A strided read-only matrix: element (i, j) at `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<T> Mat<'_, T> {
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// `dst` (rows = `lhs.rows`, cols = `rhs.cols`, row stride `dst_rs`, column stride 1)
/// = [`dst` +] `lhs · rhs`, on rayon's threads when `parallel`.
#[allow(unsafe_code)]
pub(crate) fn gemm<T: WithDType>(
    dst: &mut [T],
    dst_rs: usize,
    lhs: Mat<T>,
    rhs: Mat<T>,
    accumulate: bool,
    parallel: bool,
) -> candle_core::Result<()> {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    if rhs.rows != k {
        return Err(err("inner sizes differ"));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let dst_fits = dst_rs >= n && (m - 1) * dst_rs + n <= dst.len();
    if !dst_fits || !lhs.fits() || !rhs.fits() {
        return Err(err("operand past its buffer"));
    }
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                dst[row * dst_rs..row * dst_rs + n].fill(T::from_f64(0.0));
            }
        }
        return Ok(());
    }
    let threads = rayon::current_num_threads();
    let parallelism = if parallel && threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let one = T::from_f64(1.0);
    // SAFETY: the checks above keep every element gemm reads or writes inside the three
    // slices (the largest offsets are (rows−1)·rs + (cols−1)·cs); `dst` is borrowed mutably,
    // so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            one,
            one,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}
