//! `vigil ledger export`.

use std::path::Path;

use anyhow::Result;
use vigil_ledger::bundle::export;

use super::open_readonly;
use crate::Outcome;
use crate::output::{info, progress};

/// Writes an offline-verifiable bundle.
pub fn run(db: &Path, out: &Path) -> Result<Outcome> {
    let ledger = open_readonly(db)?;
    let pb = progress(ledger.size()?, "exporting");
    let m = export(
        &ledger,
        out,
        concat!("vigil ", env!("CARGO_PKG_VERSION")),
        |done, _| pb.set_position(done),
    )?;
    pb.finish_and_clear();
    info(format!(
        "exported {} entries (root {}) to {}; verify with `vigil ledger verify --bundle {}`",
        m.size,
        m.root,
        out.display(),
        out.display()
    ));
    Ok(Outcome::Ok)
}
