//! Which device the networks run on, chosen in one place so that the CLI, the app, training and
//! the benchmarks agree: a GPU when this build has its backend (features `cuda`, `metal`) and
//! the machine has one, else the CPU. `DAFNE_DEVICE=cpu` forces the CPU (comparisons, tests).

use candle_core::{Device, DeviceLocation};

/// The environment variable that overrides [`best`]: `cpu`, `cuda`, `metal`, or `auto`.
pub const DEVICE_ENV: &str = "DAFNE_DEVICE";

/// CUDA device 0, else Metal device 0, else the CPU; a GPU backend that is compiled in but finds
/// no usable device falls through to the next. See [`DEVICE_ENV`].
pub fn best() -> Device {
    let wanted = std::env::var(DEVICE_ENV)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let try_cuda = matches!(wanted.as_str(), "" | "auto" | "cuda");
    let try_metal = matches!(wanted.as_str(), "" | "auto" | "metal");
    if try_cuda && candle_core::utils::cuda_is_available() {
        if let Ok(device) = Device::new_cuda(0) {
            return device;
        }
    }
    if try_metal && candle_core::utils::metal_is_available() {
        if let Ok(device) = Device::new_metal(0) {
            return device;
        }
    }
    Device::Cpu
}

/// A short name for logs and reports: "CPU (2 threads)", "CUDA 0", "Metal 0".
pub fn describe(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cpu => format!("CPU ({} threads)", rayon::current_num_threads()),
        DeviceLocation::Cuda { gpu_id } => format!("CUDA {gpu_id}"),
        DeviceLocation::Metal { gpu_id } => format!("Metal {gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn without_a_gpu_backend_the_best_device_is_the_cpu() {
        if !candle_core::utils::cuda_is_available() && !candle_core::utils::metal_is_available() {
            assert!(best().is_cpu());
        }
        assert!(describe(&Device::Cpu).starts_with("CPU ("));
    }
}
