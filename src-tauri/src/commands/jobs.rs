//! Long jobs seen from the page: each runs under an id the page picks, streams `JobProgress`
//! through a `tauri::ipc::Channel`, and stops when the page calls `cancel_job(id)`.

use std::collections::HashMap;
use std::sync::Mutex;

use dafne_session::jobs::{CancelToken, JobControl, JobUpdate};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::{CmdResult, CommandError, ErrorKind};

/// One progress report of a running job: `done` of `total` units of `what`.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
pub struct JobProgress {
    #[specta(type = specta_typescript::Number)]
    pub done: f64,
    #[specta(type = specta_typescript::Number)]
    pub total: f64,
    pub what: String,
}

impl From<JobUpdate> for JobProgress {
    fn from(u: JobUpdate) -> Self {
        JobProgress {
            done: u.done as f64,
            total: u.total as f64,
            what: u.what.to_string(),
        }
    }
}

/// The cancel flags of running jobs, by the page's id.
#[derive(Debug, Default)]
pub struct Jobs(Mutex<HashMap<String, CancelToken>>);

impl Jobs {
    fn lock(&self) -> CmdResult<std::sync::MutexGuard<'_, HashMap<String, CancelToken>>> {
        self.0
            .lock()
            .map_err(|_| CommandError::new(ErrorKind::Internal, "the job list lock is poisoned"))
    }

    /// Registers a job and gives its control, which forwards progress to `channel`. The id
    /// is freed by [`Jobs::finish`].
    pub fn start(&self, id: &str, channel: Channel<JobProgress>) -> CmdResult<JobControl> {
        let token = CancelToken::new();
        let mut jobs = self.lock()?;
        if jobs.contains_key(id) {
            return Err(CommandError::new(
                ErrorKind::InvalidInput,
                format!("a job with id {id:?} is already running"),
            ));
        }
        jobs.insert(id.to_string(), token.clone());
        Ok(JobControl::new(token, move |u| {
            // A closed page cannot show progress; the job goes on to its end or cancel.
            let _ = channel.send(JobProgress::from(u));
        }))
    }

    pub fn finish(&self, id: &str) {
        if let Ok(mut jobs) = self.0.lock() {
            jobs.remove(id);
        }
    }
}

/// Asks the job `id` to stop; false when no such job runs (it may just have ended). The job
/// itself then fails with a `Cancelled` error and changes nothing.
#[tauri::command]
#[specta::specta]
pub async fn cancel_job(jobs: State<'_, Jobs>, id: String) -> CmdResult<bool> {
    Ok(match jobs.lock()?.get(&id) {
        Some(token) => {
            token.cancel();
            true
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::{Arc, Mutex};

    use dafne_session::SessionError;
    use tauri::ipc::InvokeResponseBody;

    use super::*;

    fn channel(sent: Arc<Mutex<Vec<String>>>) -> Channel<JobProgress> {
        Channel::new(move |body| {
            if let InvokeResponseBody::Json(json) = body {
                sent.lock().unwrap().push(json);
            }
            Ok(())
        })
    }

    #[test]
    fn progress_reaches_the_channel_and_ids_are_freed_at_the_end() {
        let jobs = Jobs::default();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let control = jobs.start("open-1", channel(sent.clone())).unwrap();
        control.report(0, 20, "reading files");
        assert_eq!(
            sent.lock().unwrap().as_slice(),
            [r#"{"done":0.0,"total":20.0,"what":"reading files"}"#]
        );
        let again = jobs.start("open-1", channel(sent.clone())).unwrap_err();
        assert_eq!(again.kind, ErrorKind::InvalidInput);
        jobs.finish("open-1");
        assert!(jobs.start("open-1", channel(sent)).is_ok());
    }

    #[test]
    fn cancelling_sets_the_running_jobs_flag_and_maps_to_the_cancelled_kind() {
        let jobs = Jobs::default();
        let control = jobs.start("j", channel(Arc::default())).unwrap();
        let token = jobs.lock().unwrap().get("j").cloned().unwrap();
        token.cancel();
        assert!(control.is_cancelled());
        let e = CommandError::from(SessionError::Cancelled);
        assert_eq!(e.kind, ErrorKind::Cancelled);
        assert_eq!(e.message, "cancelled");
    }
}
