//! Label legends written beside compact label maps, as the original writes them: a `Value,Label`
//! CSV and an ITK-SNAP label description file.
//!
//! TODO(masks helper): ITK-SNAP colours exactly as the original (matplotlib `hsv`), checked
//! against `dafne-legacy/exports/*_itk-snap.txt`.

use std::path::Path;

use super::MaskIoError;
use crate::fs::write_atomically;

/// `Value,Label` then one `k,name` row per ROI (k 1-based).
pub fn write_csv(path: &Path, names: &[String]) -> Result<(), MaskIoError> {
    let mut text = String::from("Value,Label\n");
    for (k, name) in names.iter().enumerate() {
        text.push_str(&format!("{},{}\n", k + 1, name));
    }
    write_text(path, &text)
}

/// ITK-SNAP label description file: "Clear Label" then one line per ROI.
pub fn write_itksnap(path: &Path, names: &[String]) -> Result<(), MaskIoError> {
    let mut text = String::new();
    text.push_str("    0     0    0    0        0  0  0    \"Clear Label\"\n");
    for (k, name) in names.iter().enumerate() {
        let [r, g, b] = hue_colour(k, names.len());
        text.push_str(&format!(
            "{:>5} {:>5} {:>4} {:>4}        1  1  1    \"{}\"\n",
            k + 1,
            r,
            g,
            b,
            name
        ));
    }
    write_text(path, &text)
}

fn hue_colour(k: usize, n: usize) -> [u8; 3] {
    let h = k as f64 / n.max(1) as f64 * 6.0;
    let x = (1.0 - (h % 2.0 - 1.0).abs()) * 255.0;
    let x = x.round() as u8;
    match h as u32 {
        0 => [255, x, 0],
        1 => [x, 255, 0],
        2 => [0, 255, x],
        3 => [0, x, 255],
        4 => [x, 0, 255],
        _ => [255, 0, x],
    }
}

fn write_text(path: &Path, text: &str) -> Result<(), MaskIoError> {
    write_atomically(path, |out| std::io::Write::write_all(out, text.as_bytes())).map_err(
        |source| MaskIoError::Write {
            path: path.to_path_buf(),
            source,
        },
    )
}
