//! Key files on disk: secret keys are created 0600, read only when no one else can read
//! them, and held in zeroizing buffers.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::note::{SignerKey, VerifierKey};

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A secret key file is accessible to other users.
    #[error(
        "{path}: secret key file is accessible to other users (mode {mode:04o}); vigil refuses to use it. Run `chmod 600 {path}` if the key was never exposed, otherwise rotate it"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file's content is not a key.
    #[error("{path}: {reason}")]
    Format {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Refusing to overwrite an existing key.
    #[error("{path}: already exists; vigil never overwrites a key file")]
    Exists {
        /// The key file.
        path: PathBuf,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates a file that must not exist yet, with the given mode.
fn create_new(path: &Path, mode: u32) -> Result<fs::File, KeyFileError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                KeyFileError::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })
}

/// Writes a secret key to a new file created with mode 0600 (never overwrites).
pub fn write_secret_key(path: &Path, key: &SignerKey) -> Result<(), KeyFileError> {
    let secret = key.to_secret_string();
    let mut f = create_new(path, 0o600)?;
    // The umask may have narrowed the mode further, never widened it; make it exact.
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_err(path))?;
    f.write_all(secret.as_bytes()).map_err(io_err(path))?;
    f.write_all(b"\n").map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    Ok(())
}

/// Writes a public verifier key (`name+keyid+base64`) to a new file.
pub fn write_public_key(path: &Path, key: &VerifierKey) -> Result<(), KeyFileError> {
    let mut f = create_new(path, 0o644)?;
    writeln!(f, "{key}").map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    Ok(())
}

/// Reads a secret key, refusing files that group or others can access.
pub fn read_secret_key(path: &Path) -> Result<SignerKey, KeyFileError> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io_err(path))?);
    let trimmed = text.strip_suffix('\n').unwrap_or(&text);
    SignerKey::parse(trimmed).map_err(|e| KeyFileError::Format {
        path: path.to_path_buf(),
        reason: format!("not a vigil secret key (expected PRIVATE+KEY+name+keyid+base64): {e}"),
    })
}

/// Reads a verifier key from a file, or takes the argument itself when it is a key string.
pub fn read_public_key(arg: &str) -> Result<VerifierKey, KeyFileError> {
    let path = Path::new(arg);
    if !path.exists()
        && let Ok(k) = VerifierKey::parse(arg)
    {
        return Ok(k);
    }
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    if text.starts_with("PRIVATE+KEY+") {
        return Err(KeyFileError::Format {
            path: path.to_path_buf(),
            reason: "this is a secret key; give the public key (.pub) instead".into(),
        });
    }
    let trimmed = text.strip_suffix('\n').unwrap_or(&text);
    VerifierKey::parse(trimmed).map_err(|e| KeyFileError::Format {
        path: path.to_path_buf(),
        reason: format!("not a vigil public key (expected name+keyid+base64): {e}"),
    })
}

/// The public-key path written beside a secret key (`NAME.key` -> `NAME.pub`).
pub fn public_path_for(secret: &Path) -> PathBuf {
    secret.with_extension("pub")
}
