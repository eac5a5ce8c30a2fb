//! The phantom's promises: reproducible, every muscle of both legs on every slice, labels that
//! never overlap and sit on the right side, contrasts that follow the domain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dafne_core::{NamedMasks, Voxels};
use dafne_phantom::{generate, Domain, PhantomError, PhantomSpec, THIGH_LABELS};

fn values(p: &dafne_phantom::Phantom) -> &[f32] {
    match p.volume.voxels() {
        Voxels::F32(v) => v,
        other => panic!("{:?}", other.dtype()),
    }
}

/// Mean of the image under the interior of a mask (pixels whose 4 neighbours are set too, so
/// partial-volume edges do not count).
fn interior_mean(p: &dafne_phantom::Phantom, roi: &NamedMasks, cols: usize) -> f64 {
    let v = values(p);
    let (mut sum, mut n) = (0.0, 0usize);
    for (&k, m) in &roi.slices {
        for r in 1..m.rows() - 1 {
            for c in 1..m.cols() - 1 {
                if m.get(r, c)
                    && m.get(r - 1, c)
                    && m.get(r + 1, c)
                    && m.get(r, c - 1)
                    && m.get(r, c + 1)
                {
                    sum += f64::from(v[(k * m.rows() + r) * cols + c]);
                    n += 1;
                }
            }
        }
    }
    sum / n as f64
}

#[test]
fn every_muscle_of_both_legs_is_on_every_slice_once_and_on_its_side() {
    let spec = PhantomSpec::thigh(8, Domain::a(), 3);
    let t = std::time::Instant::now();
    let p = generate(&spec).unwrap();
    eprintln!("432 x 432 x 8 phantom: {:?}", t.elapsed());
    assert_eq!(p.volume.dims(), [432, 432, 8, 1]);
    assert_eq!(p.masks.len(), 24);
    assert_eq!(p.masks[0].name, "Vastus Lateralis_R");
    assert_eq!(p.masks[1].name, "Vastus Lateralis_L");
    assert_eq!(p.masks[23].name, format!("{}_L", THIGH_LABELS[11].1));
    for k in 0..8 {
        let mut seen = vec![0u8; 432 * 432];
        for roi in &p.masks {
            let m = roi
                .slices
                .get(&k)
                .unwrap_or_else(|| panic!("{} missing on {k}", roi.name));
            assert!(
                m.count() >= 40,
                "{} has {} px on slice {k}",
                roi.name,
                m.count()
            );
            let right = roi.name.ends_with("_R");
            for r in 0..432 {
                for c in 0..432 {
                    if m.get(r, c) {
                        seen[r * 432 + c] += 1;
                        // The right leg is on the image's left.
                        assert_eq!(c < 216, right, "{} at column {c}", roi.name);
                    }
                }
            }
        }
        assert!(
            seen.iter().all(|&n| n <= 1),
            "overlapping labels on slice {k}"
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_phantom_and_another_seed_another() {
    let spec = |seed| PhantomSpec {
        rows: 96,
        cols: 128,
        slices: 3,
        spacing_mm: [3.5, 3.5, 5.0],
        domain: Domain::a(),
        seed,
    };
    let (a, b, c) = (
        generate(&spec(9)).unwrap(),
        generate(&spec(9)).unwrap(),
        generate(&spec(10)).unwrap(),
    );
    assert_eq!(values(&a), values(&b));
    assert_eq!(a.masks, b.masks);
    assert_ne!(values(&a), values(&c));
    assert_ne!(a.masks, c.masks);
}

#[test]
fn contrast_noise_and_proportions_follow_the_domain() {
    let a = generate(&PhantomSpec::thigh(2, Domain::a(), 1)).unwrap();
    let b = generate(&PhantomSpec::thigh(2, Domain::b(), 1)).unwrap();
    let muscle = |p: &dafne_phantom::Phantom| {
        let means: Vec<f64> = p.masks.iter().map(|r| interior_mean(p, r, 432)).collect();
        means.iter().sum::<f64>() / means.len() as f64
    };
    let (ma, mb) = (muscle(&a), muscle(&b));
    // Muscle means near the domain's, whatever the bias field does locally.
    assert!((ma / 360.0 - 1.0).abs() < 0.15, "{ma}");
    assert!((mb / 430.0 - 1.0).abs() < 0.2, "{mb}");
    // Fat is the brightest tissue; B has less fat-muscle contrast than A.
    let brightest = |p: &dafne_phantom::Phantom| {
        let mut v = values(p).to_vec();
        v.sort_by(f32::total_cmp);
        f64::from(v[v.len() * 99 / 100])
    };
    assert!(brightest(&a) / ma > brightest(&b) / mb);
    // B's thighs are larger (more leg above the noise floor) and fatter (fewer muscle voxels
    // per leg voxel).
    let legs = |p: &dafne_phantom::Phantom| values(p).iter().filter(|&&v| v > 200.0).count();
    let muscle_voxels =
        |p: &dafne_phantom::Phantom| p.masks.iter().map(NamedMasks::count).sum::<usize>();
    assert!(legs(&b) > legs(&a), "{} vs {}", legs(&b), legs(&a));
    let share = |p: &dafne_phantom::Phantom| muscle_voxels(p) as f64 / legs(p) as f64;
    assert!(share(&b) < share(&a), "{} vs {}", share(&b), share(&a));
    // The mixed domain lies between.
    let mid = Domain::mix(&Domain::a(), &Domain::b(), 0.5);
    assert!(mid.muscle > 360.0 && mid.muscle < 430.0);
}

#[test]
fn impossible_sizes_are_refused() {
    let mut spec = PhantomSpec::thigh(1, Domain::a(), 1);
    spec.rows = 10;
    assert!(matches!(
        generate(&spec),
        Err(PhantomError::TooSmall { .. })
    ));
    let mut spec = PhantomSpec::thigh(1, Domain::a(), 1);
    spec.spacing_mm = [1.0, f64::NAN, 1.0];
    assert!(matches!(generate(&spec), Err(PhantomError::Spacing(_))));
    let mut spec = PhantomSpec::thigh(0, Domain::a(), 1);
    spec.slices = 0;
    assert!(generate(&spec).is_err());
}
