//! Knot simplification (`getSimplifiedSpline`): repeatedly drop the most crowded knot (the
//! smallest distance to a neighbour) that lies close to the curve its two neighbours on each
//! side make without it; stop at 4 knots or when no knot qualifies.

use super::{pypow2, spline, Contour};

/// Below this neighbour distance a knot counts as part of a cluster and the distance itself is
/// the removal tolerance; otherwise the tolerance is [`TOLERANCE_PX`].
const CLUSTER_PX: f64 = 3.0;
const TOLERANCE_PX: f64 = 0.5;

pub(super) fn simplified(contour: &Contour) -> Contour {
    // The original copies the knots with `addKnots`, which drops knots within 0.1 px of one
    // already copied.
    let mut out = Contour::default();
    for &k in &contour.knots {
        if out.existing_knot(k).is_none() {
            out.knots.push(k);
        }
    }
    loop {
        let n = out.knots.len();
        // an invalid contour (see `Contour::is_valid`) is only de-duplicated
        if n < 5 || !out.is_valid() {
            return out;
        }
        let dist = |a: [f64; 2], b: [f64; 2]| {
            let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
            (dx * dx + dy * dy).sqrt()
        };
        let crowding: Vec<f64> = (0..n)
            .map(|i| {
                let k = out.knots[i];
                let prev = dist(k, out.knots[(i + n - 1) % n]);
                let next = dist(k, out.knots[(i + 1) % n]);
                prev.min(next)
            })
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        // The closest pair of knots always ties. numpy's default argsort is not stable (its
        // order for ties depends on the build and the CPU), so ties go lowest index first:
        // the original with a stable argsort.
        order.sort_by(|&a, &b| crowding[a].total_cmp(&crowding[b]));
        let removable = order.into_iter().find(|&i| {
            let i = i as isize;
            let k = out.knot(i);
            let around = [
                out.knot(i - 2),
                out.knot(i - 1),
                out.knot(i + 1),
                out.knot(i + 2),
            ];
            let mut part = Vec::new();
            spline::spline_part(around, &mut part);
            let c = crowding[i as usize];
            let tol = if c < CLUSTER_PX { c } else { TOLERANCE_PX };
            near(k, &part, tol)
        });
        match removable {
            Some(i) => {
                out.knots.remove(i);
            }
            None => return out,
        }
    }
}

/// Whether `p` lies within `tolerance` of a sample; an empty piece (neighbours less than a
/// pixel apart) always counts as near.
fn near(p: [f64; 2], part: &[[f64; 2]], tolerance: f64) -> bool {
    if part.is_empty() {
        return true;
    }
    let tolsq = pypow2(tolerance);
    part.iter().any(|q| {
        let (dx, dy) = (p[0] - q[0], p[1] - q[1]);
        dx * dx + dy * dy <= tolsq
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knots_on_a_circle_reduce_but_keep_four() {
        let knots: Vec<[f64; 2]> = (0..40)
            .map(|i| {
                let a = i as f64 / 40.0 * std::f64::consts::TAU;
                [30.0 + 20.0 * a.cos(), 30.0 + 20.0 * a.sin()]
            })
            .collect();
        let s = Contour::new(knots).simplified();
        assert!(
            s.knots.len() < 40 && s.knots.len() >= 4,
            "{}",
            s.knots.len()
        );
    }

    #[test]
    fn duplicate_knots_are_dropped_and_small_contours_kept() {
        let c = Contour::new(vec![
            [0.0, 0.0],
            [0.05, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
        ]);
        let s = c.simplified();
        assert_eq!(
            s.knots,
            vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]
        );
    }
}
