//! The one error type every command returns: a stable `kind` the UI can branch on and a
//! human-readable `message` it shows. Serialised as `{ kind, message }`.

use serde::Serialize;

use crate::workspace::SessionError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, specta::Type)]
pub enum ErrorKind {
    /// No dataset open, no such ROI.
    NotFound,
    /// Out-of-range slice, bad brush, wrong shape, a file that is not what it claims.
    InvalidInput,
    /// A format or feature this build does not handle.
    Unsupported,
    /// Reading or writing a file failed.
    Io,
    /// A model could not be loaded or run.
    #[allow(dead_code, reason = "the deep-learning commands return it")]
    Model,
    /// The user cancelled a long job.
    #[allow(dead_code, reason = "long jobs (segmentation, learning) return it")]
    Cancelled,
    /// A bug: the UI should show it and save the ROIs.
    Internal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
        }
    }

    pub fn no_dataset() -> Self {
        Self::new(ErrorKind::NotFound, "no dataset is open")
    }
}

impl From<SessionError> for CommandError {
    fn from(e: SessionError) -> Self {
        let kind = match &e {
            SessionError::Cancelled => ErrorKind::Cancelled,
            SessionError::OpenDataset(_) | SessionError::InvalidInput(_) => ErrorKind::InvalidInput,
            SessionError::WrongDataset { .. } => ErrorKind::InvalidInput,
            SessionError::Rois(dafne_roi::EditError::NoSuchRoi(_)) => ErrorKind::NotFound,
            SessionError::Rois(_) => ErrorKind::InvalidInput,
            SessionError::Masks(dafne_io::masks::MaskIoError::Unsupported { .. }) => {
                ErrorKind::Unsupported
            }
            SessionError::Write { .. } => ErrorKind::Io,
            _ => ErrorKind::Internal,
        };
        CommandError::new(kind, e.to_string())
    }
}

pub type CmdResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn serialises_as_kind_and_message_for_the_ui() {
        let e = CommandError::from(SessionError::InvalidInput("slice 9 is outside".into()));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({ "kind": "InvalidInput", "message": "slice 9 is outside" })
        );
        let e = CommandError::from(SessionError::Rois(dafne_roi::EditError::NoSuchRoi(7)));
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.message, "invalid ROIs: no ROI with id 7");
    }
}
