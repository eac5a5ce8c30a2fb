//! The app's two log files, as the original's (`dafne_output.log`, `dafne_error.log` in the
//! platform log folder, truncated at each start): what the app did (datasets opened, by size
//! only; saves; autosaves) and what failed. Never patient data: callers pass sizes and paths.
//! A panic hook writes the panic to the error log before the default hook runs.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

pub const OUTPUT_LOG: &str = "dafne_output.log";
pub const ERROR_LOG: &str = "dafne_error.log";

struct Files {
    output: File,
    error: File,
}

static FILES: OnceLock<Mutex<Files>> = OnceLock::new();

/// Opens (truncates) both logs in `dir` and installs the panic hook. A log that cannot be
/// opened leaves logging off: the app runs without it.
pub fn init(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let files = Files {
        output: File::create(dir.join(OUTPUT_LOG))?,
        error: File::create(dir.join(ERROR_LOG))?,
    };
    let _ = FILES.set(Mutex::new(files));
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        error(&format!("panic: {info}"));
        default(info);
    }));
    info(&format!("Dafne {} started", env!("CARGO_PKG_VERSION")));
    Ok(())
}

/// "2026-11-27 17:48:27.061Z": UTC, so log lines sort and read the same on every machine.
fn stamp() -> String {
    let (t, millis) = dafne_core::UtcTime::now();
    utc(t, millis)
}

fn utc(t: dafne_core::UtcTime, millis: u32) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{millis:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn write(to_error: bool, line: &str) {
    let Some(files) = FILES.get() else { return };
    // A poisoned lock only means another thread panicked mid-line: keep logging.
    let mut files = files.lock().unwrap_or_else(|p| p.into_inner());
    let f = if to_error {
        &mut files.error
    } else {
        &mut files.output
    };
    let _ = writeln!(f, "[{}] {line}", stamp());
    let _ = f.flush();
}

pub fn info(line: &str) {
    write(false, line);
}

/// Errors go to both logs, so the output log reads as the whole story.
pub fn error(line: &str) {
    write(false, &format!("ERROR {line}"));
    write(true, line);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    #[test]
    fn timestamps_are_utc_dates() {
        assert_eq!(
            super::utc(dafne_core::UtcTime::from_unix(0), 0),
            "1970-01-01 00:00:00.000Z"
        );
        assert_eq!(
            super::utc(dafne_core::UtcTime::from_unix(951_782_400), 5),
            "2000-02-29 00:00:00.005Z"
        );
        assert_eq!(
            super::utc(dafne_core::UtcTime::from_unix(1_795_801_707), 61),
            "2026-11-27 17:48:27.061Z"
        );
    }

    #[test]
    fn lines_go_to_their_files() {
        let dir = std::env::temp_dir().join(format!("dafne-logs-{}", std::process::id()));
        super::init(&dir).unwrap();
        super::info("saved 3 ROIs");
        super::error("cannot write x");
        let out = std::fs::read_to_string(dir.join(super::OUTPUT_LOG)).unwrap();
        let err = std::fs::read_to_string(dir.join(super::ERROR_LOG)).unwrap();
        assert!(
            out.contains("started")
                && out.contains("saved 3 ROIs")
                && out.contains("ERROR cannot write x")
        );
        assert!(err.contains("cannot write x") && !err.contains("saved 3 ROIs"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
