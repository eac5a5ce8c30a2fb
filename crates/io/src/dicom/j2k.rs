//! JPEG 2000 (lossless and lossy) through the pure-Rust OpenJPEG port, with the image size
//! checked against the DICOM header before any sample is copied (dicom-pixeldata's adapter
//! indexes past its buffer when they disagree: fuzz finding).

/// Decodes one frame into little-endian, sample-interleaved bytes.
pub fn decode_frame(
    stream: &[u8],
    rows: usize,
    cols: usize,
    samples: usize,
    bytes_per_sample: usize,
) -> Result<Vec<u8>, String> {
    let image = jpeg2k::Image::from_bytes(stream).map_err(|e| format!("JPEG 2000: {e}"))?;
    let components = image.components();
    if components.len() < samples {
        return Err(format!(
            "JPEG 2000 image has {} components, the header says {samples}",
            components.len()
        ));
    }
    let pixels = rows * cols;
    let mut out = vec![0u8; pixels * samples * bytes_per_sample];
    for (s, component) in components.iter().take(samples).enumerate() {
        let (w, h) = (component.width() as usize, component.height() as usize);
        let data = component.data();
        if w != cols || h != rows || data.len() != pixels {
            return Err(format!(
                "JPEG 2000 image is {w} x {h}, the header says {cols} x {rows}"
            ));
        }
        for (p, v) in data.iter().enumerate() {
            let at = (p * samples + s) * bytes_per_sample;
            let bytes = v.to_le_bytes();
            out[at..at + bytes_per_sample].copy_from_slice(&bytes[..bytes_per_sample.min(4)]);
        }
    }
    Ok(out)
}
