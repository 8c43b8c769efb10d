//! `vigil report DIR`: rebuild DIR/report.html from DIR/summary.json (written by `vigil
//! simulate`), with the fidelity figures of DIR/fidelity.json when `vigil fidelity --out DIR`
//! left one there.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;
use vigil_simulator::fidelity::FidelityReport;
use vigil_simulator::report::{self, Report};
use vigil_simulator::simulate::Summary;

use crate::Outcome;
use crate::output::info;

/// `vigil report`.
#[derive(Args)]
pub struct ReportArgs {
    /// A `vigil simulate --out` folder: summary.json is read, report.html written.
    pub dir: PathBuf,
    /// Write the page here instead of DIR/report.html.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Reads a JSON file vigil wrote; errors name the file, line, column and field.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text =
        fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        let field = field_at(&text, e.line(), e.column())
            .map(|f| format!(", field {f:?}"))
            .unwrap_or_default();
        anyhow::anyhow!(
            "{}: line {}{field}: not {what}: {e}",
            path.display(),
            e.line()
        )
    })
}

/// The name of the object key whose value is at (1-based) `line` and `column`, if any.
fn field_at(text: &str, line: usize, column: usize) -> Option<String> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let upto = text.get(..(start + column).min(text.len()))?;
    let colon = upto.rfind("\":")?;
    let open = upto[..colon].rfind('"')?;
    Some(upto[open + 1..colon].to_string())
}

/// The fidelity report beside a summary, if any.
pub fn fidelity_beside(dir: &Path) -> Result<Option<FidelityReport>> {
    let path = dir.join("fidelity.json");
    if !path.is_file() {
        return Ok(None);
    }
    read_json(&path, "a `vigil fidelity` report").map(Some)
}

/// Writes `DIR/report.html` (or `out`) for a summary.
pub fn write(summary: &Summary, fidelity: Option<&FidelityReport>, out: &Path) -> Result<()> {
    let html = report::render(&Report { summary, fidelity });
    fs::write(out, html).with_context(|| format!("{}: cannot write the report", out.display()))
}

/// Rebuilds the report of a simulation folder.
pub fn run(a: &ReportArgs) -> Result<Outcome> {
    let sp = a.dir.join("summary.json");
    let summary: Summary = read_json(&sp, "a `vigil simulate` summary")?;
    let fidelity = fidelity_beside(&a.dir)?;
    let out = a.out.clone().unwrap_or_else(|| a.dir.join("report.html"));
    write(&summary, fidelity.as_ref(), &out)?;
    info(format!("report: {}", out.display()));
    Ok(Outcome::Ok)
}
