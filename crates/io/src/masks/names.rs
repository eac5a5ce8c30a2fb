//! ROI names <-> file names, folder names and `.npz` keys, reversibly: the one naming scheme
//! of every mask writer and reader (NumPy, NIfTI and the per-ROI DICOM series folders).
//!
//! A ROI name is used as it is when it is a valid file name on every common system (the
//! original's files are named that way, and so is everything an ordinary name gives). Otherwise
//! the offending characters are percent-escaped as `%XX` (upper-case hex of the byte):
//!
//! - `%` itself (so that decoding is unambiguous), `/`, `\`, control characters (NUL included)
//!   and the characters Windows refuses: `< > : " | ? *`;
//! - a leading `.` (a hidden file, or `.`/`..`) and a leading or trailing space;
//! - the first letter of a name Windows reserves (`CON`, `PRN`, `AUX`, `NUL`, `COM1`-`COM9`,
//!   `LPT1`-`LPT9`, any case, with or without an extension): `CON` -> `%43ON`;
//! - in a plain `.npz`, the first letter of a key the importer reads as something else
//!   (`affine`, `orientation`, `resolution`, `comment`, `contrast_names`, `image`, `data`,
//!   `data<N>`, `mask_…`): `affine` -> `%61ffine`.
//!
//! A folder name ([`encode_folder`]) also escapes a trailing `.`, which Windows drops from
//! folder names (in a file name the extension follows it).
//!
//! The empty name is written as a lone `%`. Decoding turns every `%XX` back into its byte and
//! leaves any other `%` alone, so names from other writers that contain a bare `%` survive
//! (a name written elsewhere that literally contains `%2F` reads back as `/`).

/// The file stem (or key) for a ROI name.
pub fn encode(name: &str) -> String {
    if name.is_empty() {
        return "%".to_string();
    }
    let mut out = String::with_capacity(name.len());
    let last = name.chars().count() - 1;
    for (i, c) in name.chars().enumerate() {
        let escape = matches!(
            c,
            '%' | '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*'
        ) || c.is_control()
            || (i == 0 && c == '.')
            || ((i == 0 || i == last) && c == ' ');
        if escape && c.is_ascii() {
            out.push_str(&format!("%{:02X}", c as u32));
        } else if escape {
            // Non-ASCII control characters (C1): escape every UTF-8 byte.
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    if is_reserved_on_windows(&out) {
        escape_first(&out)
    } else {
        out
    }
}

/// The folder name for a ROI (the DICOM series export): [`encode`], and a trailing `.`
/// escaped too.
pub fn encode_folder(name: &str) -> String {
    let stem = encode(name);
    match stem.strip_suffix('.') {
        Some(head) => format!("{head}%2E"),
        None => stem,
    }
}

/// The key for a ROI in a plain `.npz` (one array per ROI): [`encode`], and keys the importer
/// would skip or rename get their first letter escaped.
pub fn encode_npz_key(name: &str) -> String {
    let key = encode(name);
    if is_special_npz_key(&key) {
        escape_first(&key)
    } else {
        key
    }
}

/// The ROI name of a file stem or key written by [`encode`] (or by anyone else).
pub fn decode(stem: &str) -> String {
    if stem == "%" {
        return String::new();
    }
    let bytes = stem.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = bytes.get(i + 1..i + 3).and_then(hex_byte) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        // Escapes that do not form UTF-8 were not written by us: keep the stem as it is.
        Err(_) => stem.to_string(),
    }
}

/// Keys of a plain `.npz` that are not ROIs: the original's `affine` and `orientation`, and what
/// a bundle holds besides masks.
pub fn is_special_npz_key(key: &str) -> bool {
    matches!(
        key,
        "affine" | "orientation" | "resolution" | "comment" | "contrast_names" | "image" | "data"
    ) || key.starts_with("mask_")
        || key
            .strip_prefix("data")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    if !pair.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u8::from_str_radix(text, 16).ok()
}

fn escape_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii() => format!("%{:02X}{}", c as u32, chars.as_str()),
        _ => s.to_string(),
    }
}

fn is_reserved_on_windows(stem: &str) -> bool {
    let base = stem.split('.').next().unwrap_or("").to_ascii_uppercase();
    let base = base.trim_end();
    matches!(base, "CON" | "PRN" | "AUX" | "NUL")
        || ((base.starts_with("COM") || base.starts_with("LPT"))
            && base.len() == 4
            && base.as_bytes()[3].is_ascii_digit()
            && base.as_bytes()[3] != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_kept_and_awkward_ones_round_trip() {
        for name in [
            "Vastus Lateralis_R",
            "Muscle é",
            "VL or Muscle (union)",
            "a.b",
        ] {
            assert_eq!(encode(name), name);
        }
        let cases = [
            ("", "%"),
            ("a/b", "a%2Fb"),
            ("a\\b", "a%5Cb"),
            ("nul\0byte", "nul%00byte"),
            (".hidden", "%2Ehidden"),
            ("..", "%2E."),
            ("CON", "%43ON"),
            ("com1.x", "%63om1.x"),
            ("50%", "50%25"),
            (" padded ", "%20padded%20"),
            ("what?", "what%3F"),
        ];
        for (name, stem) in cases {
            assert_eq!(encode(name), stem, "{name:?}");
            assert_eq!(decode(stem), name, "{stem:?}");
        }
        for (name, folder) in [
            ("trail.", "trail%2E"),
            ("..", "%2E%2E"),
            (".", "%2E"),
            ("a.b", "a.b"),
            ("", "%"),
        ] {
            assert_eq!(encode_folder(name), folder, "{name:?}");
            assert_eq!(decode(folder), name, "{folder:?}");
        }
        for name in [
            "Vastus Lateralis_R",
            "Muscle é",
            "VL or Muscle (union)",
            "a/b\\c:d*e?f\"g<h>i|j",
            "100%",
            " lead",
            "trail. ",
            "CON",
        ] {
            let folder = encode_folder(name);
            assert!(
                !folder.contains(['/', '\\', ':', '*', '?', '"', '<', '>', '|']),
                "{folder}"
            );
            assert!(
                !folder.starts_with(['.', ' ']) && !folder.ends_with(['.', ' ']),
                "{folder}"
            );
            assert_eq!(decode(&folder), name);
        }
        assert_eq!(encode_npz_key("affine"), "%61ffine");
        assert_eq!(decode(&encode_npz_key("mask_x")), "mask_x");
        assert_eq!(encode_npz_key("data2"), "%64ata2");
        assert_eq!(encode_npz_key("database"), "database");
        // A bare % from another writer is kept.
        assert_eq!(decode("50% fat"), "50% fat");
    }
}
