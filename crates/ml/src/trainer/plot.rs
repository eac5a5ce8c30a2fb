//! The loss curve next to a trained package: `loss.csv` (epoch, train_loss, val_loss,
//! seconds) and `loss.png`, a line plot drawn here (the original showed a live matplotlib
//! plot; a file is what a headless trainer can leave). A tiny 3×5 bitmap font labels the axes,
//! so no font or plotting crate is needed.

use std::path::Path;

use crate::train::EpochStats;
use crate::MlError;

pub const LOSS_CSV: &str = "loss.csv";
pub const LOSS_PNG: &str = "loss.png";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MlError + '_ {
    move |source| MlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The CSV text: one row per epoch (counted from 1), an empty `val_loss` when there was no
/// validation.
pub fn loss_csv(epochs: &[EpochStats]) -> String {
    let mut out = String::from("epoch,train_loss,val_loss,seconds\n");
    for e in epochs {
        let val = e.val_loss.map(|v| format!("{v:.6}")).unwrap_or_default();
        out.push_str(&format!(
            "{},{:.6},{},{:.2}\n",
            e.epoch + 1,
            e.train_loss,
            val,
            e.seconds
        ));
    }
    out
}

/// Writes `dir/loss.csv` and `dir/loss.png`.
pub fn write_loss_files(dir: &Path, epochs: &[EpochStats]) -> Result<(), MlError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let csv = dir.join(LOSS_CSV);
    std::fs::write(&csv, loss_csv(epochs)).map_err(io_err(&csv))?;
    let png = dir.join(LOSS_PNG);
    let canvas = loss_plot(epochs);
    let file = std::fs::File::create(&png).map_err(io_err(&png))?;
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        canvas.w as u32,
        canvas.h as u32,
    );
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let to_io = |e: png::EncodingError| MlError::Io {
        path: png.clone(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut writer = encoder.write_header().map_err(to_io)?;
    writer.write_image_data(&canvas.rgb).map_err(to_io)?;
    writer.finish().map_err(to_io)
}

/// An RGB image.
#[derive(Debug)]
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub rgb: Vec<u8>,
}

type Rgb = [u8; 3];
const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [215, 215, 215];
const BLUE: Rgb = [31, 119, 180];
const ORANGE: Rgb = [255, 127, 14];

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            rgb: WHITE.repeat(w * h),
        }
    }

    pub fn pixel(&self, x: usize, y: usize) -> Rgb {
        let i = 3 * (y * self.w + x);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = 3 * (y as usize * self.w + x as usize);
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// A line `thick` pixels wide (Bresenham, stamped with a square).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb, thick: i64) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            for ox in 0..thick {
                for oy in 0..thick {
                    self.put(x + ox - thick / 2, y + oy - thick / 2, c);
                }
            }
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Text in the 3×5 font at `scale`, top-left at (x, y).
    fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb, scale: i64) {
        for (k, ch) in s.chars().enumerate() {
            let rows = glyph(ch);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..3 {
                    if bits & (0b100 >> col) != 0 {
                        for ox in 0..scale {
                            for oy in 0..scale {
                                self.put(
                                    x + (k as i64 * 4 + col) * scale + ox,
                                    y + r as i64 * scale + oy,
                                    c,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Width in pixels of `s` at `scale`.
fn text_width(s: &str, scale: i64) -> i64 {
    (s.chars().count() as i64 * 4 - 1) * scale
}

/// 3×5 glyphs, one row per entry, bit 2 = left column.
fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_lowercase() {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        '-' => [0, 0, 7, 0, 0],
        'a' => [2, 5, 7, 5, 5],
        'c' => [3, 4, 4, 4, 3],
        'd' => [1, 1, 7, 5, 7],
        'e' => [7, 4, 6, 4, 7],
        'h' => [5, 5, 7, 5, 5],
        'i' => [7, 2, 2, 2, 7],
        'l' => [4, 4, 4, 4, 7],
        'n' => [6, 5, 5, 5, 5],
        'o' => [2, 5, 5, 5, 2],
        'p' => [6, 5, 6, 4, 4],
        'r' => [6, 5, 6, 5, 5],
        's' => [3, 4, 2, 1, 6],
        't' => [7, 2, 2, 2, 2],
        'v' => [5, 5, 5, 5, 2],
        _ => [0; 5],
    }
}

/// A tick label: few digits, no trailing zeros.
fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{v:.decimals$}")
}

/// 1, 2 or 5 × 10^k, giving about `n` steps over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// Train (blue) and validation (orange) loss against epoch, with axes, ticks and a legend.
pub fn loss_plot(epochs: &[EpochStats]) -> Canvas {
    let (w, h) = (800usize, 500usize);
    let mut c = Canvas::new(w, h);
    let (left, right, top, bottom) = (90i64, w as i64 - 30, 30i64, h as i64 - 70);
    let losses: Vec<f64> = epochs
        .iter()
        .flat_map(|e| std::iter::once(e.train_loss).chain(e.val_loss))
        .filter(|v| v.is_finite())
        .collect();
    let (mut lo, mut hi) = losses
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    lo = lo.min(0.0);
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let ystep = nice_step(hi - lo, 5.0);
    hi = (hi / ystep).ceil() * ystep;
    let first = epochs.first().map_or(1, |e| e.epoch + 1) as f64;
    let last = (epochs.last().map_or(1, |e| e.epoch + 1) as f64).max(first + 1.0);
    let xstep = nice_step(last - first, 8.0).max(1.0);
    let px = |x: f64| left + ((x - first) / (last - first) * (right - left) as f64).round() as i64;
    let py = |y: f64| bottom - ((y - lo) / (hi - lo) * (bottom - top) as f64).round() as i64;

    // Grid and ticks.
    let mut y = lo;
    while y <= hi + ystep * 0.01 {
        let yy = py(y);
        c.line((left, yy), (right, yy), GREY, 1);
        c.line((left - 6, yy), (left, yy), BLACK, 1);
        let label = tick_label(y, ystep);
        c.text(left - 10 - text_width(&label, 2), yy - 5, &label, BLACK, 2);
        y += ystep;
    }
    let mut x = (first / xstep).ceil() * xstep;
    while x <= last + 1e-9 {
        let xx = px(x);
        c.line((xx, top), (xx, bottom), GREY, 1);
        c.line((xx, bottom), (xx, bottom + 6), BLACK, 1);
        let label = tick_label(x, 1.0);
        c.text(
            xx - text_width(&label, 2) / 2,
            bottom + 12,
            &label,
            BLACK,
            2,
        );
        x += xstep;
    }
    c.line((left, top), (left, bottom), BLACK, 2);
    c.line((left, bottom), (right, bottom), BLACK, 2);
    c.text(
        (left + right) / 2 - text_width("epoch", 3) / 2,
        h as i64 - 30,
        "epoch",
        BLACK,
        3,
    );
    c.text(10, top - 20, "loss", BLACK, 3);

    // Curves.
    let series: [(Rgb, Vec<(f64, f64)>); 2] = [
        (
            BLUE,
            epochs
                .iter()
                .map(|e| ((e.epoch + 1) as f64, e.train_loss))
                .collect(),
        ),
        (
            ORANGE,
            epochs
                .iter()
                .filter_map(|e| Some(((e.epoch + 1) as f64, e.val_loss?)))
                .collect(),
        ),
    ];
    for (color, points) in &series {
        let pts: Vec<(i64, i64)> = points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|&(x, v)| (px(x), py(v)))
            .collect();
        for pair in pts.windows(2) {
            c.line(pair[0], pair[1], *color, 3);
        }
        if let [only] = pts[..] {
            c.line(only, only, *color, 7);
        }
    }

    // Legend.
    let (lx, ly) = (right - 190, top + 10);
    c.line((lx, ly + 5), (lx + 40, ly + 5), BLUE, 3);
    c.text(lx + 50, ly, "train", BLACK, 2);
    if epochs.iter().any(|e| e.val_loss.is_some()) {
        c.line((lx, ly + 25), (lx + 40, ly + 25), ORANGE, 3);
        c.text(lx + 50, ly + 20, "validation", BLACK, 2);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(epoch: usize, train: f64, val: Option<f64>) -> EpochStats {
        EpochStats {
            epoch,
            train_loss: train,
            val_loss: val,
            seconds: 1.5,
        }
    }

    #[test]
    fn csv_has_a_row_per_epoch() {
        let csv = loss_csv(&[stats(0, 2.0, Some(2.5)), stats(1, 1.0, None)]);
        assert_eq!(
            csv,
            "epoch,train_loss,val_loss,seconds\n1,2.000000,2.500000,1.50\n2,1.000000,,1.50\n"
        );
    }

    #[test]
    fn plot_draws_both_curves() {
        let epochs: Vec<EpochStats> = (1..=20)
            .map(|e| stats(e, 2.0 / e as f64, Some(2.2 / e as f64 + 0.1)))
            .collect();
        let c = loss_plot(&epochs);
        let count = |color: Rgb| {
            (0..c.h)
                .flat_map(|y| (0..c.w).map(move |x| (x, y)))
                .filter(|&(x, y)| c.pixel(x, y) == color)
                .count()
        };
        assert!(count(BLUE) > 500, "train curve drawn");
        assert!(count(ORANGE) > 500, "validation curve drawn");
        assert!(count(BLACK) > 1000, "axes and labels drawn");
        // Nothing at all and a single epoch draw without panicking.
        loss_plot(&[]);
        loss_plot(&[stats(1, 1.0, None)]);
    }
}
