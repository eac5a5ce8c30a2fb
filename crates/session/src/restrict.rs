//! Per-slice restrict-area boxes ("autosegment subregion", reference §1.10) and per-slice
//! classifications. A box is (row, col, height, width) in pixels; a slice without one uses the
//! whole image.

use crate::{Session, SessionError};

/// A box that lies inside a `rows x cols` slice and is not empty.
pub fn check_box(rows: usize, cols: usize, b: [usize; 4]) -> Result<(), SessionError> {
    let [row, col, height, width] = b;
    let fits = height > 0
        && width > 0
        && row.checked_add(height).is_some_and(|end| end <= rows)
        && col.checked_add(width).is_some_and(|end| end <= cols);
    if !fits {
        return Err(SessionError::InvalidInput(format!(
            "restrict area (row {row}, col {col}, height {height}, width {width}) does not fit \
             a slice of {rows} x {cols}"
        )));
    }
    Ok(())
}

fn check_slice(session: &Session, slice: usize) -> Result<(), SessionError> {
    let slices = session.rois.slices();
    if slice >= slices {
        return Err(SessionError::InvalidInput(format!(
            "slice {slice} is outside the dataset ({slices} slices)"
        )));
    }
    Ok(())
}

/// Sets (or with `None` resets to the whole image) the box of one slice.
pub fn set_box(
    session: &mut Session,
    slice: usize,
    b: Option<[usize; 4]>,
) -> Result<(), SessionError> {
    check_slice(session, slice)?;
    match b {
        Some(b) => {
            check_box(session.rois.rows(), session.rois.cols(), b)?;
            session.restrict_boxes.insert(slice, b);
        }
        None => {
            session.restrict_boxes.remove(&slice);
        }
    }
    Ok(())
}

/// "Copy to all": the box of `slice` on every slice (or no box anywhere when it has none).
pub fn copy_box_to_all(session: &mut Session, slice: usize) -> Result<(), SessionError> {
    check_slice(session, slice)?;
    let b = session.restrict_boxes.get(&slice).copied();
    session.restrict_boxes.clear();
    if let Some(b) = b {
        session
            .restrict_boxes
            .extend((0..session.rois.slices()).map(|s| (s, b)));
    }
    Ok(())
}

/// Sets the classification (the model to use) of a slice; `None` or "None" clears it.
pub fn set_classification(
    session: &mut Session,
    slice: usize,
    class: Option<&str>,
) -> Result<(), SessionError> {
    check_slice(session, slice)?;
    match class
        .map(str::trim)
        .filter(|c| !c.is_empty() && *c != "None")
    {
        Some(c) => {
            session.classifications.insert(slice, c.to_string());
        }
        None => {
            session.classifications.remove(&slice);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dafne_roi::RoiSet;

    fn session() -> Session {
        Session {
            rois: RoiSet::new(64, 48, 3),
            classifications: Default::default(),
            restrict_boxes: Default::default(),
            dataset_id: None,
        }
    }

    #[test]
    fn boxes_must_fit_the_slice() {
        let mut s = session();
        set_box(&mut s, 1, Some([10, 6, 40, 42])).unwrap();
        assert!(set_box(&mut s, 1, Some([10, 7, 40, 42])).is_err());
        assert!(set_box(&mut s, 1, Some([0, 0, 0, 5])).is_err());
        assert!(set_box(&mut s, 3, Some([0, 0, 5, 5])).is_err());
        assert!(set_box(&mut s, 0, Some([usize::MAX, 0, 2, 2])).is_err());
        assert_eq!(s.restrict_boxes.len(), 1);
        copy_box_to_all(&mut s, 1).unwrap();
        assert_eq!(s.restrict_boxes.len(), 3);
        set_box(&mut s, 2, None).unwrap();
        assert_eq!(s.restrict_boxes.keys().copied().collect::<Vec<_>>(), [0, 1]);
        copy_box_to_all(&mut s, 2).unwrap();
        assert!(s.restrict_boxes.is_empty());
    }

    #[test]
    fn classification_none_clears() {
        let mut s = session();
        set_classification(&mut s, 0, Some("Thigh")).unwrap();
        set_classification(&mut s, 1, Some("None")).unwrap();
        assert_eq!(s.classifications.len(), 1);
        set_classification(&mut s, 0, None).unwrap();
        assert!(s.classifications.is_empty());
    }
}
