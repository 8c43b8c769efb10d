//! Input errors shared by every simulator reader (policies, named locations, directory,
//! sign-ins, scores, thresholds).
//!
//! Every variant names the file; variants that concern one record also name it (a policy id
//! and display name, an array index, a line) and, where one field is at fault, the field's
//! dotted Graph path. The CLI maps all of them to exit code 2. Messages read like
//! `policies/CA001.json: policy 8a1c… (CA001 Require MFA): field conditions.users.includeUsers:
//! expected an array of strings`.

use std::path::{Path, PathBuf};

/// An input file that cannot be read or does not have the expected content.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file or folder cannot be read.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file or folder.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes are not text in a supported encoding (UTF-8, UTF-16LE/BE).
    #[error("{}: {reason}", file.display())]
    Encoding {
        /// The file.
        file: PathBuf,
        /// What is wrong, with the byte offset.
        reason: String,
    },
    /// The text is not valid JSON.
    #[error("{}: line {line}, column {column}: invalid JSON: {reason}", file.display())]
    Json {
        /// The file.
        file: PathBuf,
        /// 1-based line of the decoded text.
        line: usize,
        /// 1-based column (in characters) of the decoded text.
        column: usize,
        /// The parser's message.
        reason: String,
    },
    /// The file as a whole has the wrong shape (e.g. neither a policy, an array nor a list).
    #[error("{}: {reason}", file.display())]
    Format {
        /// The file or folder.
        file: PathBuf,
        /// What was expected.
        reason: String,
    },
    /// One field of one record is missing or invalid.
    #[error("{}: {record}: field {field}: {reason}", file.display())]
    Field {
        /// The file.
        file: PathBuf,
        /// The record, e.g. `policy 8a1c… (CA001 Require MFA)`, `user 3 (id …)`, `line 12`.
        record: String,
        /// Dotted path of the field, e.g. `conditions.users.includeUsers`.
        field: String,
        /// What is wrong, e.g. `expected an array of strings`.
        reason: String,
    },
    /// Two records share an id that must be unique.
    #[error("{}: {record}: duplicate {what}, already defined in {}", file.display(), first.display())]
    Duplicate {
        /// The file holding the second occurrence.
        file: PathBuf,
        /// The second record.
        record: String,
        /// What is duplicated, e.g. `policy id 8a1c…`.
        what: String,
        /// The file holding the first occurrence (may equal `file`).
        first: PathBuf,
    },
}

impl InputError {
    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            InputError::Io { file, .. }
            | InputError::Encoding { file, .. }
            | InputError::Json { file, .. }
            | InputError::Format { file, .. }
            | InputError::Field { file, .. }
            | InputError::Duplicate { file, .. } => file,
        }
    }

    /// An [`InputError::Io`] for `file`.
    pub fn io(file: &Path, source: std::io::Error) -> InputError {
        InputError::Io {
            file: file.to_path_buf(),
            source,
        }
    }

    /// An [`InputError::Json`] from a serde_json error (its position refers to the decoded text).
    pub fn json(file: &Path, e: &serde_json::Error) -> InputError {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let reason = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
        InputError::Json {
            file: file.to_path_buf(),
            line,
            column,
            reason,
        }
    }

    /// An [`InputError::Field`].
    pub fn field(
        file: &Path,
        record: impl Into<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> InputError {
        InputError::Field {
            file: file.to_path_buf(),
            record: record.into(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An [`InputError::Format`].
    pub fn format(file: &Path, reason: impl Into<String>) -> InputError {
        InputError::Format {
            file: file.to_path_buf(),
            reason: reason.into(),
        }
    }
}
