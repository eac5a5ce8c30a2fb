//! Brush dabs against the original's own `BrushPatches.py` (run by
//! `tests/reference/brush_reference.py` with `moveBrushPatch`'s positioning rule): every size
//! 0-20 of both shapes at random fractional positions, pixel for pixel. Circles are compared
//! everywhere, edges included (the original shifts with zero fill, as we clip); squares away
//! from the top and left edges, where the original's negative slice start wraps around (a bug
//! we do not copy).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dafne_roi::{Brush, BrushShape};
use serde_json::{json, Value};

mod common;
use common::{run_reference, Rng};

const ROWS: usize = 61;
const COLS: usize = 77;

#[test]
fn every_brush_size_paints_the_pixels_the_original_paints() {
    let mut rng = Rng(20_240_611);
    let mut dabs = Vec::new();
    for size in 0..=20u32 {
        for _ in 0..12 {
            // Circles: anywhere, also across the edges. Squares: not past the top/left edge.
            let (x, y) = (
                rng.uniform(-3.0, COLS as f64 + 3.0),
                rng.uniform(-3.0, ROWS as f64 + 3.0),
            );
            dabs.push(("circle", size, x, y));
            let margin = f64::from(size) / 2.0 + 1.0;
            let (x, y) = (
                rng.uniform(margin, COLS as f64 + 2.0),
                rng.uniform(margin, ROWS as f64 + 2.0),
            );
            dabs.push(("square", size, x, y));
        }
        // Exact halves, where rounding half to even matters.
        dabs.push(("square", size, 20.5, 31.5));
        dabs.push(("circle", size, 21.5, 30.5));
    }
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("request.json");
    let response = dir.path().join("response.json");
    let cases: Vec<Value> = dabs
        .iter()
        .map(|(k, s, x, y)| json!([k, s, x, y]))
        .collect();
    std::fs::write(
        &request,
        json!({"rows": ROWS, "cols": COLS, "dabs": cases}).to_string(),
    )
    .unwrap();
    run_reference("brush_reference.py", [&request, &response]);
    let expected: Vec<Vec<usize>> =
        serde_json::from_str(&std::fs::read_to_string(&response).unwrap()).unwrap();
    assert_eq!(expected.len(), dabs.len());
    let mut painted = 0;
    for ((kind, size, x, y), original) in dabs.iter().zip(expected) {
        let shape = if *kind == "square" {
            BrushShape::Square
        } else {
            BrushShape::Circle
        };
        let ours: Vec<usize> = match Brush::new(shape, *size).dab_mask(*x, *y, ROWS, COLS) {
            Some(mask) => (0..ROWS * COLS)
                .filter(|&i| mask.get(i / COLS, i % COLS))
                .collect(),
            None => Vec::new(),
        };
        assert_eq!(ours, original, "{kind} size {size} at ({x}, {y})");
        painted += ours.len();
    }
    assert!(painted > 10_000, "{painted}");
}
