//! One slice of the phantom: which tissue each pixel is, and its signal.
//!
//! Each leg is an ellipse (skin, then subcutaneous fat) around a muscle compartment; the femur
//! sits slightly lateral and posterior of its centre. Muscles are angular sectors around the
//! femur, as they lie in a mid-thigh section (anterior: rectus femoris over the vastus
//! intermedius, flanked by vastus lateralis and medialis; medial: sartorius, adductor longus,
//! gracilis, adductor magnus; posterior: semimembranosus, semitendinosus, biceps femoris long
//! and short heads), separated by fat septa. Sizes shrink down the leg and the borders drift
//! from slice to slice.

use crate::field::{normal_pair, SmoothField, Stream};
use crate::PhantomSpec;

pub use dafne_core::THIGH_LABELS;

/// What a pixel is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tissue {
    Background,
    Skin,
    Fat,
    Cortex,
    Marrow,
    /// Index into [`THIGH_LABELS`].
    Muscle(usize),
}

/// `<long>_R`, `<long>_L` for every label, in label order (the original's split labels).
pub(crate) fn roi_names() -> Vec<String> {
    THIGH_LABELS
        .iter()
        .flat_map(|(_, long)| [format!("{long}_R"), format!("{long}_L")])
        .collect()
}

/// Where each muscle lies around the femur in a mid-thigh section: (muscle index, angle in
/// degrees from anterior, positive towards medial; distance from the femur as a fraction of the
/// compartment's radius; relative size). Each compartment pixel belongs to the muscle whose
/// size-weighted distance is smallest (a weighted Voronoi partition: rounded, convex-ish
/// muscles like real ones), and pixels about as close to two muscles form the fat septa.
const MUSCLES: [(usize, f64, f64, f64); 12] = [
    (2, 0.0, 0.28, 0.75),    // vastus intermedius, on the femur
    (3, 0.0, 0.78, 0.85),    // rectus femoris, superficial anterior
    (0, -62.0, 0.62, 1.3),   // vastus lateralis
    (1, 48.0, 0.6, 1.1),     // vastus medialis
    (4, 96.0, 0.86, 0.6),    // sartorius
    (11, 118.0, 0.55, 0.8),  // adductor longus
    (5, 142.0, 0.88, 0.65),  // gracilis
    (6, 162.0, 0.5, 1.3),    // adductor magnus
    (7, 196.0, 0.76, 0.8),   // semimembranosus
    (8, 216.0, 0.88, 0.9),   // semitendinosus
    (9, 242.0, 0.76, 0.9),   // biceps femoris long head
    (10, 272.0, 0.45, 0.75), // biceps femoris short head
];

struct Leg {
    /// Centre (pixels).
    cx: f64,
    cy: f64,
    /// +1 when medial is towards larger columns (the right leg, on the image's left).
    medial: f64,
    /// Label offset: 0 for `_R`, 1 for `_L`.
    side: usize,
}

/// Per-slice shape parameters shared by both legs.
struct Shape {
    /// mm per "anatomical mm" (fits the phantom to the field of view, shrinks down the leg).
    g: f64,
    semi_u: f64,
    semi_v: f64,
    fat: f64,
    femur_u: f64,
    femur_v: f64,
    cortex_r: f64,
    marrow_r: f64,
    septum: f64,
    /// Muscle centres (u, v in mm from the leg centre) and sizes, after this slice's drift.
    centres: [(usize, f64, f64, f64); 12],
    wobble_phase: f64,
    /// Distance of each leg's centre from the midline (mm).
    offset: f64,
}

fn shape(spec: &PhantomSpec, k: usize) -> Shape {
    let d = &spec.domain;
    let [sx, sy, _] = spec.spacing_mm;
    let fov_mm = (spec.cols as f64 * sx).min(spec.rows as f64 * sy);
    let fov = fov_mm / 448.0;
    let z = if spec.slices > 1 {
        k as f64 / (spec.slices - 1) as f64
    } else {
        0.5
    };
    let taper = 1.0 - 0.22 * z;
    let g = fov * d.size * taper;
    let mut stream = crate::field::Stream::new(spec.seed, 11);
    let phase = stream.unit() * std::f64::consts::TAU;
    let (femur_u, femur_v) = (-8.0 * g, 6.0 * g);
    let radius = (70.0 + 78.0) / 2.0 * g - d.fat_mm * fov - 2.0 * g;
    let mut centres = [(0, 0.0, 0.0, 0.0); 12];
    for (i, (m, angle, rho, size)) in MUSCLES.iter().enumerate() {
        let wave = (std::f64::consts::TAU * z + phase + i as f64 * 0.9).sin();
        let a = (angle + 7.0 * wave).to_radians();
        let r = radius * (rho + 0.04 * wave);
        // Proportions change with the domain and along the leg (hamstrings grow distally).
        let grow = if (7..=10).contains(m) {
            1.0 + 0.25 * z
        } else {
            1.0 - 0.1 * z
        };
        // The vastus intermedius follows the domain's deep-muscle thickness.
        let grow = if *m == 2 {
            grow * d.deep_mm / 16.0
        } else {
            grow
        };
        centres[i] = (
            *m,
            femur_u + r * a.sin(),
            femur_v - r * a.cos(),
            size * grow,
        );
    }
    Shape {
        g,
        semi_u: 70.0 * g,
        semi_v: 78.0 * g,
        fat: d.fat_mm * fov * (1.0 - 0.3 * z),
        femur_u,
        femur_v,
        cortex_r: 13.0 * g,
        marrow_r: 8.0 * g,
        septum: d.septum_mm * fov,
        centres,
        wobble_phase: phase + 2.0 * z,
        // Larger thighs sit further apart; both converge towards the knees.
        offset: 95.0 * fov * taper * d.size.sqrt(),
    }
}

fn tissue(s: &Shape, u: f64, v: f64) -> Tissue {
    // u, v in mm from the leg centre; u positive medial, v positive posterior.
    let theta = v.atan2(u);
    let wobble = 1.0 + 0.035 * (3.0 * theta + s.wobble_phase).sin();
    let rho = ((u / s.semi_u).powi(2) + (v / s.semi_v).powi(2)).sqrt() / wobble;
    if rho > 1.0 {
        return Tissue::Background;
    }
    // Depth below the skin surface (approximately, along the radius), mm.
    let depth = (1.0 - rho) * (u * u + v * v).sqrt().max(1e-9) / rho.max(1e-9);
    if depth < 1.6 * s.g.max(0.3) {
        return Tissue::Skin;
    }
    if depth < 1.6 * s.g.max(0.3) + s.fat {
        return Tissue::Fat;
    }
    let (fu, fv) = (u - s.femur_u, v - s.femur_v);
    let r = (fu * fu + fv * fv).sqrt();
    if r < s.marrow_r {
        return Tissue::Marrow;
    }
    if r < s.cortex_r {
        return Tissue::Cortex;
    }
    // Weighted Voronoi: the two nearest muscle centres by distance / size.
    let (mut best, mut best_d, mut second_d) = (0usize, f64::INFINITY, f64::INFINITY);
    for &(m, cu, cv, size) in &s.centres {
        let dist = ((u - cu).powi(2) + (v - cv).powi(2)).sqrt() / size;
        if dist < best_d {
            second_d = best_d;
            best_d = dist;
            best = m;
        } else if dist < second_d {
            second_d = dist;
        }
    }
    // Distances are in mm / size; sizes are about 1, so the gap is about a width in mm.
    if second_d - best_d < s.septum {
        return Tissue::Fat;
    }
    Tissue::Muscle(best)
}

/// The image and the label of every pixel of slice `k` (label = 2 x muscle + side + 1).
pub(crate) fn slice(spec: &PhantomSpec, k: usize) -> (Vec<f32>, Vec<u8>) {
    let d = &spec.domain;
    let (rows, cols) = (spec.rows, spec.cols);
    let [sx, sy, _] = spec.spacing_mm;
    let s = shape(spec, k);
    let offset = s.offset;
    let legs = [
        Leg {
            cx: cols as f64 / 2.0 - offset / sx,
            cy: rows as f64 / 2.0,
            medial: 1.0,
            side: 0,
        },
        Leg {
            cx: cols as f64 / 2.0 + offset / sx,
            cy: rows as f64 / 2.0,
            medial: -1.0,
            side: 1,
        },
    ];
    let mut muscle_means = [0f32; 12];
    let mut stream = Stream::new(spec.seed, 7);
    for m in muscle_means.iter_mut() {
        *m = d.muscle * (1.0 + d.muscle_spread * stream.signed() as f32);
    }
    let bias = SmoothField::new(spec.seed, 3, 6, 0.004);
    let texture = SmoothField::new(spec.seed ^ k as u64, 5, 24, 0.12);
    let noise_key = spec.seed ^ (k as u64).wrapping_mul(0x9E37_79B9);
    let mut image = vec![0f32; rows * cols];
    let mut labels = vec![0u8; rows * cols];
    for row in 0..rows {
        for col in 0..cols {
            let (x_mm, y_mm) = (col as f64 * sx, row as f64 * sy);
            let mut t = Tissue::Background;
            let mut label = 0u8;
            for leg in &legs {
                let u = (col as f64 - leg.cx) * sx * leg.medial;
                let v = (row as f64 - leg.cy) * sy;
                let here = tissue(&s, u, v);
                if here != Tissue::Background {
                    t = here;
                    if let Tissue::Muscle(m) = here {
                        label = (2 * m + leg.side + 1) as u8;
                    }
                    break;
                }
            }
            let mean = match t {
                Tissue::Background => 0.0,
                Tissue::Skin => d.skin,
                Tissue::Fat => d.fat,
                Tissue::Cortex => d.cortex,
                Tissue::Marrow => d.marrow,
                Tissue::Muscle(m) => {
                    let tex = texture.at(x_mm, y_mm) as f32;
                    muscle_means[m] * (1.0 + d.texture * tex)
                }
            };
            image[row * cols + col] = mean;
            labels[row * cols + col] = label;
        }
    }
    // Partial volume: edges are a voxel wide in a real scan, not a step.
    let image = blur_121(&image, rows, cols);
    let sigma = f64::from(d.noise_sigma);
    let mut out = vec![0f32; rows * cols];
    for row in 0..rows {
        for col in 0..cols {
            let (x_mm, y_mm) = (col as f64 * sx, row as f64 * sy);
            let gain = (f64::from(d.bias) * bias.at(x_mm, y_mm)).exp();
            let signal = f64::from(image[row * cols + col]) * gain;
            let (n1, n2) = normal_pair(noise_key, (row * cols + col) as u64);
            // Rician: the magnitude of a complex signal with Gaussian noise in both channels.
            let value = ((signal + sigma * n1).powi(2) + (sigma * n2).powi(2)).sqrt();
            out[row * cols + col] = value as f32;
        }
    }
    (out, labels)
}

/// Separable [1 2 1] / 4 smoothing, edges clamped.
fn blur_121(image: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let at = |v: &[f32], r: usize, c: usize| v[r * cols + c];
    let mut tmp = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let (l, rr) = (c.saturating_sub(1), (c + 1).min(cols - 1));
            tmp[r * cols + c] =
                0.25 * at(image, r, l) + 0.5 * at(image, r, c) + 0.25 * at(image, r, rr);
        }
    }
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        let (u, d) = (r.saturating_sub(1), (r + 1).min(rows - 1));
        for c in 0..cols {
            out[r * cols + c] =
                0.25 * at(&tmp, u, c) + 0.5 * at(&tmp, r, c) + 0.25 * at(&tmp, d, c);
        }
    }
    out
}
