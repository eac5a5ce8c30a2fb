//! Label legends written beside compact label maps, byte for byte as the original writes them: a
//! `Value,Label` CSV and an ITK-SNAP label description file whose colours are matplotlib's `hsv`
//! colormap sampled at `k * (256 / n)` (the original's `cmap(index * step)`), truncated to 0-255.
//!
//! Where the original's files would be ambiguous we differ only for names it could not write
//! back: a CSV name holding a comma, quote or line break is quoted (RFC 4180, which Python's
//! `csv.reader` reads), and line breaks in ITK-SNAP labels become spaces.

use std::collections::BTreeSet;
use std::path::Path;

use super::MaskIoError;
use crate::fs::write_atomically;

/// The CSV legend text: `Value,Label` then one `k,name` row per ROI (k 1-based).
pub fn csv_text(names: &[String]) -> String {
    let mut text = String::from("Value,Label\n");
    for (k, name) in names.iter().enumerate() {
        text.push_str(&format!("{},{}\n", k + 1, csv_field(name)));
    }
    text
}

/// Writes [`csv_text`] atomically.
pub fn write_csv(path: &Path, names: &[String]) -> Result<(), MaskIoError> {
    write_text(path, &csv_text(names))
}

const ITKSNAP_PREAMBLE: &str = "################################################
# ITK-SnAP Label Description File
# File format: 
# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
# Fields: 
#    IDX:   Zero-based index 
#    -R-:   Red color component (0..255)
#    -G-:   Green color component (0..255)
#    -B-:   Blue color component (0..255)
#    -A-:   Label transparency (0.00 .. 1.00)
#    VIS:   Label visibility (0 or 1)
#    MSH:   Label mesh visibility (0 or 1)
#  LABEL:   Label description 
################################################
";

/// The ITK-SNAP label description text: the original's preamble, "Clear Label", then one line
/// per ROI.
pub fn itksnap_text(names: &[String]) -> String {
    let mut text = String::from(ITKSNAP_PREAMBLE);
    text.push_str(&itksnap_line(0, [0, 0, 0], 0, "Clear Label"));
    for (k, name) in names.iter().enumerate() {
        let label = name.replace(['\r', '\n'], " ");
        text.push_str(&itksnap_line(
            k + 1,
            label_colour(k, names.len()),
            1,
            &label,
        ));
    }
    text
}

/// Writes [`itksnap_text`] atomically.
pub fn write_itksnap(path: &Path, names: &[String]) -> Result<(), MaskIoError> {
    write_text(path, &itksnap_text(names))
}

/// Python's `'{id:>5d}{red:>6d}{green:>5d}{blue:>5d}{alpha:>9.2g}{vis:>3d}{mesh:>3d}    "{label}"'`
/// for alpha 0 or 1 (visibility follows alpha, as in the original).
fn itksnap_line(id: usize, [r, g, b]: [u8; 3], alpha: u8, label: &str) -> String {
    format!("{id:>5}{r:>6}{g:>5}{b:>5}{alpha:>9}{alpha:>3}{alpha:>3}    \"{label}\"\n")
}

/// The colour of ROI `index` (0-based) of `count`: matplotlib `hsv` lookup-table entry
/// `index * (256 / count)`, each channel `int(value * 255)`.
pub fn label_colour(index: usize, count: usize) -> [u8; 3] {
    const N: usize = 256;
    let step = N / count.max(1);
    let entry = (index * step).min(N - 1);
    [HSV_RED, HSV_GREEN, HSV_BLUE].map(|data| {
        let v = lookup_table_entry(data, N, entry);
        (v * 255.0) as u8
    })
}

/// matplotlib `_cm._hsv_data`: (x, y0, y1) per channel.
const HSV_RED: &[[f64; 3]] = &[
    [0., 1., 1.],
    [0.158730, 1.000000, 1.000000],
    [0.174603, 0.968750, 0.968750],
    [0.333333, 0.031250, 0.031250],
    [0.349206, 0.000000, 0.000000],
    [0.666667, 0.000000, 0.000000],
    [0.682540, 0.031250, 0.031250],
    [0.841270, 0.968750, 0.968750],
    [0.857143, 1.000000, 1.000000],
    [1.0, 1.0, 1.0],
];
const HSV_GREEN: &[[f64; 3]] = &[
    [0., 0., 0.],
    [0.158730, 0.937500, 0.937500],
    [0.174603, 1.000000, 1.000000],
    [0.507937, 1.000000, 1.000000],
    [0.666667, 0.062500, 0.062500],
    [0.682540, 0.000000, 0.000000],
    [1.0, 0., 0.],
];
const HSV_BLUE: &[[f64; 3]] = &[
    [0., 0., 0.],
    [0.333333, 0.000000, 0.000000],
    [0.349206, 0.062500, 0.062500],
    [0.507937, 1.000000, 1.000000],
    [0.841270, 1.000000, 1.000000],
    [0.857143, 0.937500, 0.937500],
    [1.0, 0.09375, 0.09375],
];

/// Entry `i` of matplotlib's `_create_lookup_table(n, data, gamma=1)`, with the same float
/// operations in the same order (so that truncation to 0-255 agrees): sample points
/// `(n - 1) * linspace(0, 1, n)`, found by `searchsorted` (left) among `x * (n - 1)`.
fn lookup_table_entry(data: &[[f64; 3]], n: usize, i: usize) -> f64 {
    let last = data.len() - 1;
    if i == 0 {
        return data[0][2].clamp(0.0, 1.0);
    }
    if i >= n - 1 {
        return data[last][1].clamp(0.0, 1.0);
    }
    let scale = (n - 1) as f64;
    // numpy's linspace: i * (1 / (n - 1)), then times (n - 1).
    let xind = scale * (i as f64 * (1.0 / scale));
    let x = |k: usize| data[k][0] * scale;
    let ind = (0..data.len())
        .find(|&k| x(k) >= xind)
        .unwrap_or(last)
        .max(1);
    let distance = (xind - x(ind - 1)) / (x(ind) - x(ind - 1));
    let value = distance * (data[ind][1] - data[ind - 1][2]) + data[ind - 1][2];
    value.clamp(0.0, 1.0)
}

/// One row of an ITK-SNAP label description file.
#[derive(Clone, Debug, PartialEq)]
pub struct ItkSnapLabel {
    pub value: u32,
    pub rgb: [u8; 3],
    pub alpha: f64,
    pub visible: bool,
    pub mesh_visible: bool,
    pub name: String,
}

/// Reads a `Value,Label` legend: `(value, name)` in file order.
///
/// Tolerant of a UTF-8 BOM, CRLF line ends, quoted fields (RFC 4180), blank lines, spaces around
/// the value, a missing header row and an unquoted name holding commas (the original writes
/// names as they are). A value that is not a non-negative integer, a row without a name or a
/// value given twice is an error naming the line.
pub fn read_csv(path: &Path) -> Result<Vec<(u32, String)>, MaskIoError> {
    let text = read_text(path, "the legend")?;
    let bad = |reason: String| MaskIoError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, (line, fields)) in csv_records(&text)
        .map_err(|(line, reason)| bad(format!("line {line}: {reason}")))?
        .into_iter()
        .enumerate()
    {
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let first = fields[0].trim();
        let value = match first.parse::<u32>() {
            Ok(v) => v,
            // The header row (the original writes `Value,Label` and skips the first row).
            Err(_) if index == 0 => continue,
            Err(_) => {
                return Err(bad(format!(
                    "line {line}: label value {first:?} is not a non-negative integer"
                )))
            }
        };
        if fields.len() < 2 {
            return Err(bad(format!("line {line}: label {value} has no name")));
        }
        if !seen.insert(value) {
            return Err(bad(format!(
                "line {line}: label value {value} appears twice"
            )));
        }
        out.push((value, fields[1..].join(",")));
    }
    Ok(out)
}

/// Records of a CSV text with the line each starts on; an unterminated quote is an error.
#[allow(clippy::type_complexity)]
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, (usize, String)> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n' | '\r') => {
                fields.push(std::mem::take(&mut field));
                records.push((start_line, std::mem::take(&mut fields)));
                line += 1;
                start_line = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err((start_line, "a quoted field is not closed".to_string()));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((start_line, fields));
    }
    Ok(records)
}

/// Reads an ITK-SNAP label description file (comments and blank lines skipped).
pub fn read_itksnap(path: &Path) -> Result<Vec<ItkSnapLabel>, MaskIoError> {
    let text = read_text(path, "the label file")?;
    let bad = |reason: String| MaskIoError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = number + 1;
        let (Some(open), Some(close)) = (line.find('"'), line.rfind('"')) else {
            return Err(bad(format!("line {number}: no quoted label")));
        };
        if open == close {
            return Err(bad(format!(
                "line {number}: the label's quote is not closed"
            )));
        }
        let fields: Vec<&str> = line[..open].split_whitespace().collect();
        let [idx, r, g, b, a, vis, msh] = fields[..] else {
            return Err(bad(format!(
                "line {number}: expected 7 numbers before the label, found {}",
                fields.len()
            )));
        };
        let int = |s: &str, what: &str| {
            s.parse::<u32>()
                .map_err(|_| bad(format!("line {number}: {what} {s:?} is not an integer")))
        };
        let channel = |s: &str, what: &str| {
            int(s, what).and_then(|v| {
                u8::try_from(v)
                    .map_err(|_| bad(format!("line {number}: {what} {v} is not in 0..255")))
            })
        };
        let alpha = a
            .parse::<f64>()
            .ok()
            .filter(|x| (0.0..=1.0).contains(x))
            .ok_or_else(|| bad(format!("line {number}: transparency {a:?} is not in 0..1")))?;
        let value = int(idx, "index")?;
        if !seen.insert(value) {
            return Err(bad(format!("line {number}: index {value} appears twice")));
        }
        out.push(ItkSnapLabel {
            value,
            rgb: [
                channel(r, "red")?,
                channel(g, "green")?,
                channel(b, "blue")?,
            ],
            alpha,
            visible: int(vis, "visibility")? != 0,
            mesh_visible: int(msh, "mesh visibility")? != 0,
            name: line[open + 1..close].to_string(),
        });
    }
    Ok(out)
}

fn csv_field(name: &str) -> String {
    if name.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// The UTF-8 text of `path` without a leading BOM; `what` names the file in the error.
fn read_text(path: &Path, what: &str) -> Result<String, MaskIoError> {
    let bytes = std::fs::read(path).map_err(|source| MaskIoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| MaskIoError::Format {
        path: path.to_path_buf(),
        reason: format!("{what} is not UTF-8 text"),
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

fn write_text(path: &Path, text: &str) -> Result<(), MaskIoError> {
    write_atomically(path, |out| std::io::Write::write_all(out, text.as_bytes())).map_err(
        |source| MaskIoError::Write {
            path: path.to_path_buf(),
            source,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hsv_colours_match_matplotlib_entries() {
        // cmap(0), cmap(85), cmap(170) and cmap(51 * k): values from the original's files.
        assert_eq!(label_colour(0, 3), [255, 0, 0]);
        assert_eq!(label_colour(1, 3), [7, 255, 0]);
        assert_eq!(label_colour(2, 3), [0, 15, 255]);
        assert_eq!(label_colour(1, 5), [208, 255, 0]);
        assert_eq!(label_colour(4, 5), [184, 0, 255]);
    }

    #[test]
    fn csv_records_handle_quotes_and_line_ends() {
        let records = csv_records("Value,Label\r\n1,\"a, \"\"b\"\"\"\r\n2,c\n3,\"x\ny\"").unwrap();
        let fields: Vec<Vec<String>> = records.into_iter().map(|(_, f)| f).collect();
        assert_eq!(fields[1], vec!["1", "a, \"b\""]);
        assert_eq!(fields[2], vec!["2", "c"]);
        assert_eq!(fields[3], vec!["3", "x\ny"]);
        assert!(csv_records("1,\"open").is_err());
    }
}
