//! Running the real `vigil` binary and reading what it showed the user (shared by every
//! module of this test binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// What one run of `vigil` showed the user.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn code(self, want: i32) -> Out {
        assert_eq!(
            self.code, want,
            "expected exit {want}, got {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(self) -> Out {
        self.code(0)
    }

    /// Exit 2 with a message naming every one of `parts`, and no panic.
    #[track_caller]
    pub fn input_error(self, parts: &[&str]) -> Out {
        let out = self.code(2);
        for p in parts {
            assert!(
                out.stderr.contains(p),
                "the error message does not name {p:?}:\n{}",
                out.stderr
            );
        }
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        out
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    pub fn ndjson(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// Both streams, for "never printed" checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// `vigil ARGS` in `dir` with `stdin` as its input (five minutes at most; `VIGIL_LEDGER_KEY`
/// from the environment of the test run is not passed on).
pub fn vigil_stdin(dir: &Path, args: &[&str], stdin: &str) -> Out {
    let out = assert_cmd::Command::cargo_bin("vigil")
        .unwrap()
        .current_dir(dir)
        .env_remove("VIGIL_LEDGER_KEY")
        .args(args)
        .write_stdin(stdin)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    Out {
        code: out
            .status
            .code()
            .unwrap_or_else(|| panic!("vigil {args:?} was killed: {:?}", out.status)),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// `vigil ARGS` in `dir` with empty input.
pub fn vigil(dir: &Path, args: &[&str]) -> Out {
    vigil_stdin(dir, args, "")
}
