//! `vigil ingest`: sign-in exports of any variant → one normalized Parquet table
//! (schemas/signin.schema.json), so that replays read columns instead of parsing JSON.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context as _, Result};
use vigil_simulator::model::SignIn;
use vigil_simulator::signin::{self, ReadOptions};
use vigil_simulator::table::{TableWriter, WriteError};

use crate::Outcome;
use crate::cli::IngestArgs;
use crate::output::{info, progress_bytes};

/// A hidden file beside `out` (so a folder being read never picks it up); renamed into place
/// only once complete, so a failed run leaves no half table behind.
fn temp_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "signins.parquet".into());
    out.with_file_name(format!(".{name}.vigil-tmp"))
}

/// Reads every export and writes the table.
pub fn run(a: &IngestArgs) -> Result<Outcome> {
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    }
    let tmp = temp_path(&a.out);
    let result = write(a, &tmp);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    let (stats, written) = result?;
    fs::rename(&tmp, &a.out).with_context(|| format!("{}: cannot write", a.out.display()))?;
    for w in &stats.warnings {
        info(format!("warning: {w}"));
    }
    info(format!(
        "{written} sign-ins written to {} ({} duplicates dropped, {} bad records skipped)",
        a.out.display(),
        stats.duplicates,
        stats.skipped
    ));
    Ok(Outcome::Ok)
}

/// Sign-ins handed to the writing thread at a time.
const WRITE_BATCH: usize = 1024;

/// Reads the exports on this thread (which maps records on every core) while another thread
/// builds and writes the table, so that the columns and the Parquet compression overlap with
/// reading.
fn write(a: &IngestArgs, tmp: &Path) -> Result<(signin::ReadStats, u64)> {
    let opts = ReadOptions {
        skip_bad_records: a.skip_bad_records,
        date_order: a.date_order.into(),
    };
    write_table(&a.signins, &opts, tmp, &a.out, true)
}

/// Reads the sign-in exports `signins` (with a progress bar) into a normalized table at `tmp`,
/// streaming: the reader hands batches to a thread that builds the columns and writes them. A
/// write error names `shown` (the file the user asked for); `compressed`: see
/// [`TableWriter::create_with`]. Returns the reader's stats and the rows written. Also how
/// `vigil simulate` replays exports column by column (staged uncompressed).
pub(crate) fn write_table(
    signins: &[PathBuf],
    opts: &ReadOptions,
    tmp: &Path,
    shown: &Path,
    compressed: bool,
) -> Result<(signin::ReadStats, u64)> {
    let mut writer = TableWriter::create_with(tmp, compressed).map_err(|e| named(e, shown))?;
    let bar = progress_bytes(0, "reading sign-ins");
    let (send, receive) = mpsc::sync_channel::<Vec<SignIn>>(4);
    // The reader hands each id once (it keeps the first), so the writer does not check ids
    // again. Emptied batches go back to the reader, so their buffers are reused rather than
    // allocated on one thread and freed on the other for every batch.
    let (give_back, given_back) = mpsc::channel::<Vec<SignIn>>();
    let (stats, wrote) = std::thread::scope(|scope| {
        let writing = scope.spawn(move || -> Result<TableWriter, WriteError> {
            // After a failure the rest is received and dropped, so reading is not blocked.
            let mut failed = None;
            for mut batch in receive {
                for s in &batch {
                    if failed.is_none()
                        && let Err(e) = writer.push_unique(s)
                    {
                        failed = Some(e);
                    }
                }
                batch.clear();
                let _ = give_back.send(batch);
            }
            failed.map_or(Ok(writer), Err)
        });
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let stats = signin::read_signins_with_progress(
            signins,
            opts,
            &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            },
            &mut |s| {
                batch.push(s);
                if batch.len() == WRITE_BATCH {
                    let empty = given_back
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(WRITE_BATCH));
                    let full = std::mem::replace(&mut batch, empty);
                    // The writing thread only stops receiving by panicking (resumed below).
                    let _ = send.send(full);
                }
            },
        );
        if !batch.is_empty() {
            let _ = send.send(batch);
        }
        drop(send);
        let wrote = writing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (stats, wrote)
    });
    bar.finish_and_clear();
    let stats = stats?;
    let writer = wrote.map_err(|e| named(e, shown))?;
    let (written, _) = writer.finish().map_err(|e| named(e, shown))?;
    Ok((stats, written))
}

/// The error as the user named the file (not the temporary one).
fn named(e: WriteError, out: &Path) -> WriteError {
    WriteError {
        path: out.to_path_buf(),
        reason: e.reason,
    }
}
