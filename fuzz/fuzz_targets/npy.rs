//! Any byte string given to the NumPy reader returns Ok or Err, never panics or hangs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = dafne_io::numpy::read_npy_bytes(data);
});
