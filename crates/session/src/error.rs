use std::path::PathBuf;

/// Every failure of an application command.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The user stopped a long job; nothing changed.
    #[error("cancelled")]
    Cancelled,
    #[error("cannot open dataset: {0}")]
    OpenDataset(#[source] dafne_io::Error),
    #[error(transparent)]
    SessionFile(#[from] dafne_roi::session_file::SessionError),
    /// A session (or mask import) made on another dataset.
    #[error("session of {got} does not fit the dataset of {expected} (rows x cols x slices): {}", path.display())]
    WrongDataset {
        path: PathBuf,
        expected: String,
        got: String,
    },
    #[error("{0}")]
    InvalidInput(String),
    #[error(transparent)]
    Legacy(#[from] dafne_io::legacy::LegacyError),
    #[error(transparent)]
    Masks(#[from] dafne_io::masks::MaskIoError),
    #[error("cannot compute statistics: {0}")]
    Stats(#[from] dafne_roi::stats::StatsError),
    #[error("invalid ROIs: {0}")]
    Rois(#[from] dafne_roi::EditError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A model package could not be read, written or run (what was being done, then why).
    #[error("{context}: {source}")]
    Ml {
        context: String,
        source: dafne_ml::MlError,
    },
}
