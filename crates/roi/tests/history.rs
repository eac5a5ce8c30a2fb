//! Undo/redo: a long random sequence of edits undone fully restores the initial state bit for
//! bit, redone fully restores the final one; and 200 brush strokes on a 512² x 80 dataset
//! stay far under 100 MB of history.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use dafne_roi::contour::Contour;
use dafne_roi::{BoolOp, Edit, Editor, Mode, Output, RoiSet, SliceMask};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A filled disc: what one brush dab paints.
fn disc(rows: usize, cols: usize, cy: usize, cx: usize, r: usize, into: &mut SliceMask) {
    let r2 = (r * r) as isize;
    for y in cy.saturating_sub(r)..(cy + r + 1).min(rows) {
        for x in cx.saturating_sub(r)..(cx + r + 1).min(cols) {
            let (dy, dx) = (y as isize - cy as isize, x as isize - cx as isize);
            if dy * dy + dx * dx <= r2 {
                into.set(y, x, true);
            }
        }
    }
}

fn stroke(rng: &mut Rng, rows: usize, cols: usize, dabs: usize, radius: usize) -> SliceMask {
    let mut m = SliceMask::new(rows, cols).unwrap();
    let (mut y, mut x) = (rng.below(rows), rng.below(cols));
    for _ in 0..dabs {
        disc(rows, cols, y, x, radius, &mut m);
        y = (y + rng.below(5)).saturating_sub(2).min(rows - 1);
        x = (x + rng.below(5)).saturating_sub(2).min(cols - 1);
    }
    m
}

fn random_edit(rng: &mut Rng, ed: &Editor, n: &mut usize) -> Edit {
    let set = ed.rois();
    let (rows, cols, slices) = (set.rows(), set.cols(), set.slices());
    let ids: Vec<_> = set.rois().iter().map(|r| r.id).collect();
    let pick = rng.below(100);
    if ids.is_empty() || pick < 5 {
        *n += 1;
        return Edit::AddRoi {
            name: format!("roi {n}"),
        };
    }
    let roi = ids[rng.below(ids.len())];
    match pick {
        5..=7 => Edit::DeleteRoi { roi },
        21..=23 => {
            *n += 1;
            Edit::CopyRoi {
                roi,
                name: format!("copy {n}"),
            }
        }
        24..=29 => {
            let other = ids[rng.below(ids.len())];
            let op = [
                BoolOp::Union,
                BoolOp::Subtraction,
                BoolOp::Intersection,
                BoolOp::Exclusion,
            ][rng.below(4)];
            *n += 1;
            let output = if rng.below(2) == 0 {
                Output::Existing(other)
            } else {
                Output::New(format!("combined {n}"))
            };
            Edit::Combine {
                rois: vec![roi, other, ids[rng.below(ids.len())]],
                op,
                output,
            }
        }
        34..=41 => {
            // One to three sub-ROIs of 4-10 knots each (XOR-filled into the mask).
            let contours = (0..1 + rng.below(3))
                .map(|_| {
                    let (cy, cx) = (rng.below(rows) as f64, rng.below(cols) as f64);
                    let radius = 2.0 + rng.below(20) as f64;
                    let k = 4 + rng.below(7);
                    let knots = (0..k)
                        .map(|i| {
                            let a = i as f64 / k as f64 * std::f64::consts::TAU;
                            [cx + radius * a.cos(), cy + radius * a.sin()]
                        })
                        .collect();
                    Contour { knots }
                })
                .collect();
            Edit::Contours {
                roi,
                slice: rng.below(slices),
                contours,
            }
        }
        46..=49 => {
            // An import of two ROIs as one step; sometimes the second name clashes and the
            // whole batch must leave no trace.
            *n += 1;
            let clash = rng.below(3) == 0;
            let second = if clash {
                format!("import {n}")
            } else {
                format!("import {n}b")
            };
            let mut masks = std::collections::BTreeMap::new();
            masks.insert(rng.below(slices), stroke(rng, rows, cols, 5, 4));
            Edit::Batch(vec![
                Edit::InsertRoi {
                    name: format!("import {n}"),
                    masks: masks.clone(),
                },
                Edit::InsertRoi {
                    name: second,
                    masks,
                },
            ])
        }
        30..=33 => Edit::RemoveOverlap {
            roi,
            slice: rng.below(slices),
        },
        8..=10 => {
            *n += 1;
            Edit::RenameRoi {
                roi,
                name: format!("renamed {n}"),
            }
        }
        42..=45 => {
            let r = 3 + rng.below(20);
            let mut keep = stroke(rng, rows, cols, 8, r);
            if rng.below(2) == 0 {
                keep.combine(&SliceMask::full(rows, cols).unwrap(), |a, b| !a & b);
            }
            Edit::KeepOnly {
                rois: vec![roi, ids[rng.below(ids.len())]],
                slice: rng.below(slices),
                patch: keep,
            }
        }
        11..=20 => {
            let r = rng.below(6);
            Edit::EraseAll {
                slice: rng.below(slices),
                patch: stroke(rng, rows, cols, 6, r),
            }
        }
        _ => {
            let mode = [Mode::Add, Mode::Add, Mode::Remove, Mode::Set][rng.below(4)];
            let (dabs, r) = (1 + rng.below(10), rng.below(8));
            Edit::Mask {
                roi,
                slice: rng.below(slices),
                patch: stroke(rng, rows, cols, dabs, r),
                mode,
            }
        }
    }
}

#[test]
fn a_thousand_random_edits_undone_restore_the_initial_state_bit_exactly() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut initial = Editor::new(RoiSet::new(61, 97, 5));
    // A non-empty starting point.
    let (_, id) = initial
        .apply(Edit::AddRoi {
            name: "start".into(),
        })
        .unwrap();
    initial
        .apply(Edit::Mask {
            roi: id.unwrap(),
            slice: 2,
            patch: stroke(&mut rng, 61, 97, 20, 7),
            mode: Mode::Add,
        })
        .unwrap();
    let start = initial.rois().clone();
    let mut ed = Editor::with_limits(start.clone(), 2000, usize::MAX);
    let mut n = 0;
    let mut applied = 0;
    for _ in 0..1000 {
        let edit = random_edit(&mut rng, &ed, &mut n);
        if ed.apply(edit).is_ok() {
            applied += 1;
        }
    }
    assert!(applied > 900, "{applied}");
    let end = ed.rois().clone();
    let steps = ed.undo_steps();
    for _ in 0..steps {
        ed.undo().unwrap();
    }
    assert!(!ed.can_undo());
    assert_eq!(ed.rois().normalized().rois(), start.normalized().rois());
    for _ in 0..steps {
        ed.redo().unwrap();
    }
    assert_eq!(ed.rois().normalized().rois(), end.normalized().rois());
    // A new edit after undo clears redo.
    ed.undo().unwrap();
    let id = ed.rois().rois().first().map(|r| r.id);
    if let Some(roi) = id {
        ed.apply(Edit::Mask {
            roi,
            slice: 0,
            patch: SliceMask::full(61, 97).unwrap(),
            mode: Mode::Set,
        })
        .unwrap();
        assert!(!ed.can_redo());
    }
}

#[test]
fn two_hundred_brush_strokes_on_a_512_by_80_dataset_stay_under_100_mb() {
    let mut rng = Rng(42);
    let mut ed = Editor::new(RoiSet::new(512, 512, 80));
    let (_, id) = ed
        .apply(Edit::AddRoi {
            name: "muscle".into(),
        })
        .unwrap();
    let roi = id.unwrap();
    for _ in 0..200 {
        // A stroke of 30 dabs of radius 10 px, as a user paints.
        let patch = stroke(&mut rng, 512, 512, 30, 10);
        let slice = rng.below(80);
        let (changed, _) = ed
            .apply(Edit::Mask {
                roi,
                slice,
                patch,
                mode: Mode::Add,
            })
            .unwrap();
        assert_eq!(changed.masks, vec![(roi, slice)]);
    }
    assert_eq!(ed.undo_steps(), 200);
    let bytes = ed.history_bytes();
    eprintln!("history of 200 strokes: {bytes} bytes");
    assert!(bytes < 100 << 20, "{bytes}");
    // And far less than 200 copies of a slice (200 x 32 KiB): only the changed words are kept.
    assert!(bytes < 200 * 32 * 1024 / 4, "{bytes}");
    // Undo all of it.
    while ed.undo().is_some() {}
    assert!(ed.rois().normalized().rois()[0].masks.is_empty());
}

#[test]
fn history_is_bounded_by_steps_and_bytes() {
    let mut ed = Editor::with_limits(RoiSet::new(64, 64, 1), 3, usize::MAX);
    let (_, id) = ed.apply(Edit::AddRoi { name: "a".into() }).unwrap();
    for i in 0..10 {
        let mut p = SliceMask::new(64, 64).unwrap();
        p.set(i, i, true);
        ed.apply(Edit::Mask {
            roi: id.unwrap(),
            slice: 0,
            patch: p,
            mode: Mode::Add,
        })
        .unwrap();
    }
    assert_eq!(ed.undo_steps(), 3);
    let mut small = Editor::with_limits(RoiSet::new(64, 64, 1), 200, 1);
    small.apply(Edit::AddRoi { name: "a".into() }).unwrap();
    assert_eq!(small.undo_steps(), 0);
}

#[test]
fn bad_edits_change_nothing_and_say_why() {
    let mut ed = Editor::new(RoiSet::new(8, 8, 2));
    let (_, id) = ed.apply(Edit::AddRoi { name: "a".into() }).unwrap();
    let roi = id.unwrap();
    let before = ed.rois().clone();
    let wrong = SliceMask::new(8, 9).unwrap();
    let err = ed
        .apply(Edit::Mask {
            roi,
            slice: 0,
            patch: wrong,
            mode: Mode::Add,
        })
        .unwrap_err();
    assert!(err.to_string().contains("8 x 9"), "{err}");
    let err = ed
        .apply(Edit::Mask {
            roi,
            slice: 5,
            patch: SliceMask::new(8, 8).unwrap(),
            mode: Mode::Add,
        })
        .unwrap_err();
    assert!(err.to_string().contains("slice 5"), "{err}");
    assert!(ed.apply(Edit::AddRoi { name: "a".into() }).is_err());
    assert!(ed.apply(Edit::DeleteRoi { roi: 99 }).is_err());
    assert_eq!(ed.rois(), &before);
    assert_eq!(ed.undo_steps(), 1);
}

fn square(rows: usize, cols: usize, r0: usize, c0: usize, side: usize) -> SliceMask {
    let mut m = SliceMask::new(rows, cols).unwrap();
    for r in r0..r0 + side {
        for c in c0..c0 + side {
            m.set(r, c, true);
        }
    }
    m
}

#[test]
fn combine_copy_and_remove_overlap_follow_the_original_and_undo_as_one_step() {
    let mut ed = Editor::new(RoiSet::new(10, 10, 2));
    let a = ed
        .apply(Edit::AddRoi { name: "A".into() })
        .unwrap()
        .1
        .unwrap();
    let b = ed
        .apply(Edit::AddRoi { name: "B".into() })
        .unwrap()
        .1
        .unwrap();
    ed.apply(Edit::Mask {
        roi: a,
        slice: 0,
        patch: square(10, 10, 0, 0, 4),
        mode: Mode::Add,
    })
    .unwrap();
    ed.apply(Edit::Mask {
        roi: b,
        slice: 0,
        patch: square(10, 10, 2, 2, 4),
        mode: Mode::Add,
    })
    .unwrap();
    ed.apply(Edit::Mask {
        roi: b,
        slice: 1,
        patch: square(10, 10, 5, 5, 2),
        mode: Mode::Add,
    })
    .unwrap();
    let count = |ed: &Editor, name: &str, slice: usize| {
        ed.rois()
            .by_name(name)
            .and_then(|r| r.masks.get(&slice))
            .map_or(0, |m| m.count())
    };
    // 16 + 16 pixels overlapping on 4.
    for (op, expected) in [
        (BoolOp::Union, 28),
        (BoolOp::Subtraction, 12),
        (BoolOp::Intersection, 4),
        (BoolOp::Exclusion, 24),
    ] {
        let name = format!("{op:?}");
        ed.apply(Edit::Combine {
            rois: vec![a, b],
            op,
            output: Output::New(name.clone()),
        })
        .unwrap();
        assert_eq!(count(&ed, &name, 0), expected, "{op:?}");
    }
    assert_eq!(count(&ed, "Union", 1), 4);
    assert!(!ed
        .rois()
        .by_name("Intersection")
        .unwrap()
        .masks
        .contains_key(&1));
    // Into an existing ROI: A = A - B, one undo step restores A.
    let steps = ed.undo_steps();
    ed.apply(Edit::Combine {
        rois: vec![a, b],
        op: BoolOp::Subtraction,
        output: Output::Existing(a),
    })
    .unwrap();
    assert_eq!((count(&ed, "A", 0), ed.undo_steps()), (12, steps + 1));
    ed.undo().unwrap();
    assert_eq!(count(&ed, "A", 0), 16);
    // Copy is deep; remove overlap subtracts A from every other ROI on that slice only.
    let c = ed
        .apply(Edit::CopyRoi {
            roi: b,
            name: "B copy".into(),
        })
        .unwrap()
        .1
        .unwrap();
    ed.apply(Edit::RemoveOverlap { roi: a, slice: 0 }).unwrap();
    assert_eq!(
        (
            count(&ed, "B", 0),
            count(&ed, "B copy", 0),
            count(&ed, "A", 0)
        ),
        (12, 12, 16)
    );
    assert_eq!(count(&ed, "B", 1), 4);
    ed.undo().unwrap();
    assert_eq!((count(&ed, "B", 0), count(&ed, "B copy", 0)), (16, 16));
    assert!(ed.rois().get(c).is_some());
    // Errors: too few ROIs, duplicate output name.
    assert!(ed
        .apply(Edit::Combine {
            rois: vec![a],
            op: BoolOp::Union,
            output: Output::New("x".into())
        })
        .is_err());
    assert!(ed
        .apply(Edit::CopyRoi {
            roi: a,
            name: "B".into()
        })
        .is_err());
}
