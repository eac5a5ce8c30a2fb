//! Any byte string given to the legacy ROI file reader (bz2 + restricted pickle VM) returns Ok
//! or Err, never panics, hangs or allocates without bound.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = dafne_io::legacy::parse_roi_file(data);
});
