//! Any byte string given to the DICOM reader returns Ok or Err, never panics or hangs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = dafne_io::dicom::decode_bytes(data);
});
