//! Any byte string given to the legacy model file reader (restricted pickle VM + model mapping)
//! returns Ok or Err, never panics, hangs or allocates without bound.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = dafne_io::legacy::parse_model_file(data);
});
