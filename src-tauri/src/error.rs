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
        CommandError::new(kind_of(&e), e.to_string())
    }
}

/// What the UI can do about an error. Bad files (wrong size, damaged, not what they claim)
/// are the user's input; `Internal` is kept for what only a bug can cause, because the UI
/// answers it with an emergency save.
fn kind_of(e: &SessionError) -> ErrorKind {
    use dafne_io::legacy::LegacyError;
    use dafne_io::masks::MaskIoError;
    use dafne_roi::session_file::SessionError as FileError;
    match e {
        SessionError::Cancelled => ErrorKind::Cancelled,
        SessionError::OpenDataset(_) | SessionError::InvalidInput(_) => ErrorKind::InvalidInput,
        SessionError::WrongDataset { .. } => ErrorKind::InvalidInput,
        SessionError::Rois(dafne_roi::EditError::NoSuchRoi(_)) => ErrorKind::NotFound,
        SessionError::Rois(_) => ErrorKind::InvalidInput,
        SessionError::Masks(m) => match m {
            MaskIoError::Unsupported { .. } => ErrorKind::Unsupported,
            MaskIoError::Read { .. } | MaskIoError::Write { .. } => ErrorKind::Io,
            MaskIoError::Format { .. }
            | MaskIoError::Shape { .. }
            | MaskIoError::Overlap(_)
            | MaskIoError::TooManyLabels(_) => ErrorKind::InvalidInput,
            _ => ErrorKind::Internal,
        },
        SessionError::SessionFile(f) => match f {
            FileError::Read { .. } | FileError::Write { .. } => ErrorKind::Io,
            _ => ErrorKind::InvalidInput,
        },
        SessionError::Legacy(l) => match l {
            LegacyError::Read { .. } | LegacyError::ReadModel { .. } => ErrorKind::Io,
            _ => ErrorKind::InvalidInput,
        },
        SessionError::Stats(_) => ErrorKind::InvalidInput,
        SessionError::Write { .. } => ErrorKind::Io,
        SessionError::Ml { .. } => ErrorKind::Model,
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

    #[test]
    fn a_mask_of_the_wrong_size_is_bad_input_not_a_bug() {
        let e = CommandError::from(SessionError::Masks(dafne_io::masks::MaskIoError::Shape {
            path: "small.npy".into(),
            expected: vec![256, 256, 20],
            got: vec![2, 2],
            reason: "in-plane size differs".into(),
        }));
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        let e = CommandError::from(SessionError::Masks(dafne_io::masks::MaskIoError::Overlap(
            "a and b".into(),
        )));
        assert_eq!(e.kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn a_damaged_model_is_a_model_error_and_bad_data_is_bad_input() {
        let damaged = dafne_session::segmentation::ml_error(
            "cannot load model \"Thigh\"",
            dafne_ml_error_hash(),
        );
        let e = CommandError::from(damaged);
        assert_eq!(e.kind, ErrorKind::Model);
        assert!(
            e.message
                .starts_with("cannot load model \"Thigh\": weights file"),
            "{}",
            e.message
        );
        let blank = dafne_session::segmentation::ml_error(
            "segmenting slice 3",
            dafne_session::segmentation::MlError::Input {
                why: "slice has no value above zero (blank slice)".into(),
            },
        );
        assert_eq!(CommandError::from(blank).kind, ErrorKind::InvalidInput);
    }

    fn dafne_ml_error_hash() -> dafne_session::segmentation::MlError {
        dafne_session::segmentation::MlError::WeightsHash {
            expected: "ab".into(),
            found: "cd".into(),
            path: "weights.safetensors".into(),
        }
    }
}
