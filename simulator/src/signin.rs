//! Reading sign-in exports into normalized [`SignIn`] records.
//!
//! Every `--signins` path is a file or a folder (read recursively, files in bytewise path
//! order, names starting with `.` skipped). The variant is told from the content, never the
//! extension:
//!
//! | content | `source_variant` |
//! |---|---|
//! | Graph list page(s) `{"value":[...]}`, one or several back to back (`@odata.nextLink` ignored) | `graph` |
//! | a JSON array of signIn objects (the portal's JSON download) | `json-array` |
//! | NDJSON, one signIn object per line | `ndjson` |
//! | one signIn object on its own | `json-object` |
//! | diagnostic-settings records: `{"records":[...]}` blobs, or one record per line (Storage, Event Hub, Elastic) | `diagnostic` |
//! | normalized Parquet (`PAR1`, written by `vigil ingest`; see [`crate::table`]) | as stored |
//! | a Log Analytics query API response `{"tables":[{"columns":[...],"rows":[[...]]}]}` (rows as records) | `json-array` |
//! | the portal's CSV download (`Date (UTC)`, `Request ID`, ... columns; [`portal`]) | `portal-csv` |
//! | the portal's `*_AuthDetails_*` CSV side file: joined to its download's sign-ins, holds none | — |
//! | a Log Analytics CSV export (`Id`, `TimeGenerated [UTC]`, ...; [`delimited`]) | `log-analytics-csv` |
//!
//! Files may be gzip-compressed (told by the magic bytes, whatever the name) and UTF-8 (BOM or
//! not) or UTF-16 with a BOM. A file whose first non-blank line is one complete JSON value is
//! read line by line (NDJSON: a bad line can be skipped; runs of lines are mapped on every
//! core and handed over in input order); any other JSON file is read as a
//! stream of documents, with the records of a page, blob or array handed over one at a time,
//! so no file is ever held as one JSON tree. Graph list pages (a page on a line, or a file of
//! pages up to 64 MiB, held as bytes) are split into their records, which are mapped on every
//! core; a page with anything the fast path declines is read by the stream reader, from the
//! same bytes. A file that does not start with `{` or `[` is CSV
//! (`,`, `;` or tab), read row by row. Side files are read before everything else, so their
//! steps are joined wherever they sort.
//!
//! Duplicate JSON keys keep the last value and produce one warning per file naming the keys.
//! A sign-in id seen before (in any file) is dropped and counted; the sink receives only the
//! first. A record without an id gets one derived from its content (`derived-` and 32 hex
//! digits of its SHA-256), with a warning: an identical record read again is then a duplicate.
//!
//! Locale dates with slashes (`11/14/2025 1:48:53 AM`) are read month first unless
//! [`ReadOptions::date_order`] says day first. A date that only the other order can read (a
//! number above 12 where the month goes) stops reading with an error naming the file, record
//! and field and the `--date-order` that would read it; a file whose dates never show the
//! order (no day above 12) is read in the chosen order with a warning.
//!
//! # Mapping
//!
//! Keys are matched without regard to case (Graph camelCase, Log Analytics and PowerShell
//! PascalCase). For diagnostic records the signIn fields are read from `properties` and the
//! envelope supplies fallbacks (`time`, `category`, `callerIpAddress`, `resultType`,
//! `resultDescription`, `correlationId`). Each field's sources are listed in
//! `schemas/signin.schema.json`. "Absent" in any encoding (null, `""`, `{}`, a missing key, the
//! all-zero GUID in `userId`, `servicePrincipalId` and `deviceDetail.deviceId`) is `None`;
//! nothing is defaulted. An empty list (`appliedConditionalAccessPolicies: []`,
//! `networkLocationDetails: []`) is information and stays `Some(vec![])`.
//!
//! `kind`: the diagnostic `category` or Log Analytics table (`SignInLogs`,
//! `NonInteractiveUserSignInLogs`, `ServicePrincipalSignInLogs` and
//! `MicrosoftServicePrincipalSignInLogs`, `ManagedIdentitySignInLogs`, with or without `AAD`),
//! else the first of `signInEventTypes`, else `isInteractive: true` → interactive; otherwise
//! `None`. Diagnostic records of other categories (AuditLogs, RiskyUsers, ...) are not sign-ins:
//! they are ignored with a warning.
//!
//! `authentication_methods`: the distinct `authenticationMethod` of every
//! `authenticationDetails` step with `succeeded: true`, in log order (`Some([])` when steps
//! exist but none succeeded); when the log has no steps (absent or `[]`, as in every
//! non-interactive record) the beta `authenticationMethodsUsed` list if non-empty; else `None`.
//!
//! `mfa_satisfied`, the first rule that applies:
//! 1. `Some(true)` if an `authenticationDetails` step has `succeeded: true` and either its
//!    `authenticationStepRequirement` mentions multifactor authentication (contains
//!    "multifactor", "multi-factor" or "mfa", any case), its `authenticationMethod` names a
//!    second factor or a multifactor credential (contains "sms", "text message", "voice",
//!    "phone call", "authenticator", "mobile app", "oath", "verification code", "fido",
//!    "passkey", "windows hello" or "passwordless"), or its `authenticationStepResultDetail`
//!    says "MFA requirement satisfied", "MFA completed" or "MFA successfully completed";
//! 2. `Some(true)` if `mfaDetail.authMethod` is present and the sign-in succeeded (error code 0);
//! 3. `Some(true)` if `authenticationRequirement` is `multiFactorAuthentication` and the
//!    sign-in succeeded;
//! 4. `Some(false)` if `authenticationRequirement` is `singleFactorAuthentication` and the
//!    sign-in succeeded;
//! 5. `Some(false)` if the error code says an MFA requirement was not met (50072, 50074, 50076,
//!    50078, 50079: enroll, challenge not passed, MFA required, MFA expired, register);
//! 6. otherwise `None`: other failed or interrupted sign-ins without a succeeded second factor,
//!    workload identities, and logs without these fields say nothing.
//!
//! "Succeeded" means `status.errorCode` (else the numeric `resultType`) is 0.
//!
//! `primary_auth_fresh` (for sign-in frequency "every time", SEMANTICS.md Rule 8.2): take the
//! first `authenticationDetails` step with `succeeded: true` whose
//! `authenticationStepRequirement` mentions "primary", else the first step with
//! `succeeded: true`. `Some(false)` when that step was satisfied by a token
//! (`authenticationMethod` "Previously satisfied", or `authenticationStepResultDetail`
//! containing "by claim in the token"), `Some(true)` otherwise; `None` when no step succeeded
//! or the log has no steps (every non-interactive record).
//!
//! `authentication_contexts`: the `id` of each `authenticationContextClassReferences` entry
//! (Graph beta, Log Analytics `AuthenticationContextClassReferences`); `Some([])` for an empty
//! list, `None` when the field is absent (Graph v1.0 has no such field).

pub(crate) mod delimited;
pub(crate) mod fast;
pub(crate) mod input;
pub(crate) mod json;
mod map;
mod portal;
pub(crate) mod time;

pub use time::DateOrder;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::de::DeserializeSeed;
use serde_json::Value;

use crate::error::InputError;
use crate::model::SignIn;
use input::{Meter, Opened, Start, is_one_value, open, rejoin, start, starts_json};
use json::{Container, Receiver, TopSeed, nested_records};
use map::{FieldError, Mapped};

/// How tolerant the reader is, and how it reads locale dates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Skip and count records that cannot be read (a bad NDJSON line or CSV row, a record
    /// without an id or with an invalid field) instead of failing. A JSON syntax error inside
    /// a multi-line document still fails: the rest of the document cannot be found reliably.
    /// So does a date that contradicts [`ReadOptions::date_order`]: it shows that the whole
    /// file would be misread.
    pub skip_bad_records: bool,
    /// How locale dates with slashes (`3/4/2026 1:48:53 AM`) are read: month first unless
    /// told otherwise.
    pub date_order: DateOrder,
}

/// What reading produced, besides the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Sign-ins handed to the sink (each id once).
    pub records: usize,
    /// Sign-ins dropped because their id had been read before.
    pub duplicates: usize,
    /// Records skipped as unreadable (only with [`ReadOptions::skip_bad_records`]).
    pub skipped: usize,
    /// Things the user should know, one line each, each naming its file.
    pub warnings: Vec<String>,
}

/// Reads every sign-in in `paths` (files or folders) and hands each, in file order, to `sink`.
///
/// Errors name the file and, where one record is at fault, its line or record number and the
/// field; all are input errors (exit code 2).
pub fn read_signins(
    paths: &[PathBuf],
    opts: &ReadOptions,
    sink: &mut dyn FnMut(SignIn),
) -> Result<ReadStats, InputError> {
    read_signins_with_progress(paths, opts, &mut |_, _| {}, sink)
}

/// [`read_signins`], reporting progress as (bytes read, bytes in all files) every few
/// megabytes. Compressed files count their compressed bytes.
pub fn read_signins_with_progress(
    paths: &[PathBuf],
    opts: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
    sink: &mut dyn FnMut(SignIn),
) -> Result<ReadStats, InputError> {
    let (files, mut meter) = Meter::over(paths, progress)?;
    let mut stats = ReadStats::default();

    // The portal's authentication-details side files first, wherever they are in the list:
    // their steps are joined to the sign-ins of the download, and they hold no sign-ins.
    let mut steps = portal::AuthSteps::default();
    let mut is_side = Vec::with_capacity(files.len());
    for file in &files {
        is_side.push(delimited::read_side_file(
            file, opts, &mut steps, &mut stats, &mut meter,
        )?);
    }

    // Files are read in a pipeline: while one file's sign-ins are handed over, the next
    // [`FILES_AHEAD`] files are already open, their first lines read, and a Graph list page on
    // such a line is being mapped on every core. Each file's outcome (its sign-ins, warnings or
    // error) still comes in file order, only after every file before it.
    let fast = !general_only();
    let order = opts.date_order;
    let mut to_open = files
        .iter()
        .zip(&is_side)
        .filter(|(_, side)| !**side)
        .map(|(file, _)| (file, open_ahead(file, fast, order)));
    let mut ahead: std::collections::VecDeque<_> = to_open.by_ref().take(FILES_AHEAD).collect();
    let mut seen = SeenIds::default();
    while let Some((file, opening)) = ahead.pop_front() {
        ahead.extend(to_open.next());
        read_file(
            file, opening, opts, &mut seen, &mut stats, &mut steps, &mut meter, sink,
        )?;
    }
    let unjoined = steps.unjoined();
    if unjoined > 0 {
        let names: Vec<String> = files
            .iter()
            .zip(&is_side)
            .filter(|(_, side)| **side)
            .map(|(f, _)| f.display().to_string())
            .collect();
        stats.warnings.push(format!(
            "{}: {unjoined} of {} authentication step(s) name no sign-in of the portal CSV \
             downloads read; they were not used",
            names.join(", "),
            steps.steps
        ));
    }
    (meter.report)(meter.total, meter.total);
    Ok(stats)
}

/// Sign-in ids read so far. Ids are GUIDs, kept as 16 bytes (case-insensitive) so that ten
/// million sign-ins fit in a few hundred megabytes; any other id is kept as written.
#[derive(Default)]
pub(crate) struct SeenIds {
    guids: HashSet<u128>,
    others: HashSet<String>,
}

impl SeenIds {
    /// `true` the first time an id is seen.
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        match parse_guid(id) {
            Some(g) => self.guids.insert(g),
            None => self.others.insert(id.to_string()),
        }
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case) as a number.
fn parse_guid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut value: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let digit = char::from(c).to_digit(16)?;
        value = (value << 4) | u128::from(digit);
    }
    Some(value)
}

/// Files opened and mapped ahead of the one whose sign-ins are being handed over.
const FILES_AHEAD: usize = 2;

/// A file opened, and its first line read, ahead of its turn; the bytes read from it are
/// counted on their own until then.
struct Opening {
    counter: Rc<Cell<u64>>,
    first: Result<First, InputError>,
    /// The Graph list page that is the whole first line, being mapped by the fast path on
    /// another thread (which splits it into records, then maps them on every core): the
    /// line back, and its sign-ins unless the general path must read it ([`map_pages`]).
    page: Option<std::thread::JoinHandle<MappedLine>>,
}

/// A line given back with its records as the fast path mapped them ([`map_pages`]).
type MappedLine = (Vec<u8>, Option<Vec<Mapped>>);

/// How a file starts.
enum First {
    /// A normalized Parquet table.
    Table,
    /// Nothing but blanks.
    Empty,
    /// Text, from its first non-blank line.
    Text(Start),
}

/// Opens `file`, reads its first line and, when that line may be a whole Graph list page and
/// the fast path is on (`fast`), starts mapping it.
fn open_ahead(file: &Path, fast: bool, order: DateOrder) -> Opening {
    let counter = Rc::new(Cell::new(0));
    let mut first = open(file, &counter).and_then(|opened| match opened {
        Opened::Table => Ok(First::Table),
        Opened::Text(input) => Ok(start(input, file)?.map_or(First::Empty, First::Text)),
    });
    let page = match &mut first {
        Ok(First::Text(start)) if fast && start.complete && starts_json(&start.first) => {
            let line = std::mem::take(&mut start.first);
            Some(std::thread::spawn(move || {
                let mapped = map_pages(&line, true, order);
                (line, mapped)
            }))
        }
        _ => None,
    };
    Opening {
        counter,
        first,
        page,
    }
}

impl Opening {
    /// Waits for the first line's page to be mapped: the line back in its place, and the
    /// page's sign-ins when the fast path took it.
    fn settle(&mut self) -> Option<Vec<Mapped>> {
        let (line, mapped) = self
            .page
            .take()?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if let Ok(First::Text(start)) = &mut self.first {
            start.first = line;
        }
        mapped
    }
}

impl Drop for Opening {
    /// A file left unread (an earlier one failed) does not leave its mapping running.
    fn drop(&mut self) {
        if let Some(page) = self.page.take() {
            let _ = page.join();
        }
    }
}

/// Reads one file, opened ahead ([`open_ahead`]). Errors and warnings name the file.
#[allow(clippy::too_many_arguments)]
fn read_file(
    file: &Path,
    mut opening: Opening,
    opts: &ReadOptions,
    seen: &mut SeenIds,
    stats: &mut ReadStats,
    steps: &mut portal::AuthSteps,
    meter: &mut Meter,
    sink: &mut dyn FnMut(SignIn),
) -> Result<(), InputError> {
    let first_page = opening.settle();
    meter.counter = Rc::clone(&opening.counter);
    let first = std::mem::replace(&mut opening.first, Ok(First::Empty));
    let start = match first? {
        First::Table => {
            read_table(file, seen, stats, sink)?;
            meter.file_done(file);
            return Ok(());
        }
        First::Empty => {
            stats.warnings.push(format!(
                "{}: no sign-ins (the file is empty)",
                file.display()
            ));
            meter.file_done(file);
            return Ok(());
        }
        First::Text(start) => start,
    };

    // A first line that is a whole Graph list page the fast path takes is one value too (and
    // is not parsed twice to find that out).
    let mut state = FileState {
        file,
        opts,
        sink,
        seen,
        stats,
        meter,
        steps,
        line_mode: start.complete && (first_page.is_some() || is_one_value(&start.first)),
        line: LineSource::Fixed(start.line_no),
        variant: None,
        index: 0,
        duplicate_keys: BTreeSet::new(),
        assumed_utc: 0,
        locale_dates: 0,
        locale_confirmed: false,
        derived_ids: 0,
        other_categories: BTreeMap::new(),
        skipped: 0,
        first_skip: None,
        fatal: None,
    };
    if !starts_json(&start.first) {
        state.line_mode = false;
        state.read_csv(start)?;
    } else if state.line_mode && !general_only() {
        read_lines(&mut state, start, first_page)?;
    } else if !state.line_mode
        && !general_only()
        && start.first.trim_ascii_start().starts_with(b"{")
    {
        read_whole_pages(&mut state, start)?;
    } else {
        read_json(&mut state, start)?;
    }
    state.finish();
    meter.file_done(file);
    Ok(())
}

/// Reads a normalized Parquet file (`vigil ingest`, [`crate::table`]): its rows are already
/// sign-ins, only ids seen before are dropped.
fn read_table(
    file: &Path,
    seen: &mut SeenIds,
    stats: &mut ReadStats,
    sink: &mut dyn FnMut(SignIn),
) -> Result<(), InputError> {
    let table = crate::table::TableFile::open(file)?;
    if table.rows() == 0 {
        stats.warnings.push(format!(
            "{}: no sign-ins (the file is empty)",
            file.display()
        ));
    }
    table.read_rows(&mut |s| {
        if seen.insert(&s.id) {
            stats.records += 1;
            sink(s);
        } else {
            stats.duplicates += 1;
        }
    })
}

/// Where the parser's current line comes from.
pub(crate) enum LineSource {
    /// NDJSON: the line being parsed.
    Fixed(usize),
    /// A document stream: newlines counted so far by [`CountingReader`].
    Counted(Rc<Cell<usize>>),
}

impl LineSource {
    /// The 1-based line the parser is on.
    pub(crate) fn now(&self) -> usize {
        match self {
            LineSource::Fixed(n) => *n,
            LineSource::Counted(newlines) => newlines.get() + 1,
        }
    }
}

/// Counts the newlines that pass through, so records can be located by line.
///
/// serde_json reads a `Read` one byte at a time, so this reader keeps its own buffer: each
/// byte then costs a copy, not a chain of calls through the layers below.
struct CountingReader {
    inner: Box<dyn BufRead>,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    newlines: Rc<Cell<usize>>,
}

impl CountingReader {
    fn new(inner: Box<dyn BufRead>, newlines: Rc<Cell<usize>>) -> CountingReader {
        CountingReader {
            inner,
            buf: vec![0; 1 << 16].into_boxed_slice(),
            pos: 0,
            len: 0,
            newlines,
        }
    }
}

impl Read for CountingReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.len {
            self.len = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        let n = out.len().min(self.len - self.pos);
        let chunk = &self.buf[self.pos..self.pos + n];
        out[..n].copy_from_slice(chunk);
        let seen = chunk.iter().filter(|&&b| b == b'\n').count();
        if seen > 0 {
            self.newlines.set(self.newlines.get() + seen);
        }
        self.pos += n;
        Ok(n)
    }
}

/// A receiver of one file's JSON records, as [`read_json`] drives it.
pub(crate) trait JsonFile: Receiver {
    /// The file being read (for messages).
    fn file(&self) -> &Path;
    /// Where the parser's line numbers come from from now on.
    fn set_line(&mut self, line: LineSource);
    /// The error the receiver stored before it stopped the parser, if any.
    fn take_fatal(&mut self) -> Option<InputError>;
    /// Whether unreadable records are skipped rather than fatal.
    fn skips_bad_records(&self) -> bool;
    /// Counts one skipped record, remembering the first reason.
    fn skip(&mut self, summary: String);
}

/// Reads a JSON file from its start: line by line when its first non-blank line is one
/// complete value (NDJSON: a bad line can be skipped), else as a stream of documents.
pub(crate) fn read_json<F: JsonFile>(f: &mut F, start: Start) -> Result<(), InputError> {
    if start.complete && is_one_value(&start.first) {
        let file = f.file().to_path_buf();
        let io_err = |e| InputError::io(&file, e);
        let Start {
            first,
            mut line_no,
            mut rest,
            ..
        } = start;
        read_line(f, &first, line_no)?;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if rest.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
                break;
            }
            line_no += 1;
            if !buf.iter().all(u8::is_ascii_whitespace) {
                read_line(f, &buf, line_no)?;
            }
        }
        Ok(())
    } else {
        let mut head = start.blank;
        head.extend_from_slice(&start.first);
        read_documents(f, rejoin(head, start.rest))
    }
}

#[cfg(test)]
thread_local! {
    /// Tests compare the fast path with reading every line by the general path.
    static GENERAL_ONLY: Cell<bool> = const { Cell::new(false) };
}

#[cfg(test)]
fn general_only() -> bool {
    GENERAL_ONLY.with(Cell::get)
}

#[cfg(not(test))]
fn general_only() -> bool {
    false
}

/// Bytes of NDJSON lines mapped together, on every core, while the sign-ins of the lines
/// before them are handed over in order. Two such runs are held at a time.
const BATCH_BYTES: usize = 4 << 20;

/// The largest file (or NDJSON line) of Graph list pages read whole and mapped on every core;
/// a larger one is streamed by the general path, one record at a time.
pub(crate) const PAGES_BYTES: usize = 64 << 20;

/// Graph list page(s) in `bytes` (`single`: exactly one, as on an NDJSON line), each record
/// mapped by the fast path on every core: the sign-ins in order, or `None` when the general
/// path must read the whole of `bytes` (a record or anything around them it declines).
fn map_pages(bytes: &[u8], single: bool, order: DateOrder) -> Option<Vec<Mapped>> {
    use rayon::prelude::*;
    if bytes.len() > PAGES_BYTES || !bytes.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let elements = fast::page_elements(bytes, single)?;
    elements
        .par_iter()
        .with_min_len(16)
        .map(|&(a, b)| fast::map_element(&bytes[a..b], order))
        .collect()
}

/// What the fast path made of one NDJSON line.
enum Taken {
    /// A record.
    One(Mapped),
    /// The records of a Graph list page.
    Page(Vec<Mapped>),
}

/// A run of NDJSON lines: their bytes back to back, and each line's (start, end, number).
#[derive(Default)]
struct Lines {
    bytes: Vec<u8>,
    lines: Vec<(usize, usize, usize)>,
    /// The first line's page, already mapped (see [`read_file`]).
    first_page: Option<Vec<Mapped>>,
}

impl Lines {
    /// Appends lines from `input` until the run holds [`BATCH_BYTES`]; `false` at the end of
    /// the input. Blank lines are left out.
    fn fill(&mut self, input: &mut dyn BufRead, line_no: &mut usize) -> io::Result<bool> {
        while self.bytes.len() < BATCH_BYTES {
            let at = self.bytes.len();
            if input.read_until(b'\n', &mut self.bytes)? == 0 {
                return Ok(false);
            }
            *line_no += 1;
            if self.bytes[at..].iter().all(u8::is_ascii_whitespace) {
                self.bytes.truncate(at);
            } else {
                self.lines.push((at, self.bytes.len(), *line_no));
            }
        }
        Ok(true)
    }

    /// Each line through the fast path ([`fast::map_line`], else [`map_pages`]), in parallel;
    /// `None` where the general path must read the line.
    fn map(&mut self, order: DateOrder) -> Vec<Option<Taken>> {
        use rayon::prelude::*;
        let first = self.first_page.take();
        let skip = usize::from(first.is_some());
        let mut out: Vec<Option<Taken>> = first.map(Taken::Page).into_iter().map(Some).collect();
        out.par_extend(
            self.lines[skip..]
                .par_iter()
                .with_min_len(16)
                .map(|&(a, b, _)| {
                    let line = &self.bytes[a..b];
                    match fast::map_line(line, order) {
                        Some(m) => Some(Taken::One(m)),
                        None => map_pages(line, true, order).map(Taken::Page),
                    }
                }),
        );
        out
    }
}

/// Reads an NDJSON file (line mode): runs of lines are mapped in parallel by the fast path
/// while the previous run's sign-ins are handed over in input order; a line the fast path
/// declines is read by the general path ([`read_line`]) in its place, so everything the user
/// sees (records, order, warnings, errors) is what reading line by line gives.
fn read_lines(
    state: &mut FileState,
    start: Start,
    first_page: Option<Vec<Mapped>>,
) -> Result<(), InputError> {
    let Start {
        first,
        mut line_no,
        mut rest,
        ..
    } = start;
    let order = state.opts.date_order;
    // The first line's bytes start the first run as they are (a Graph list page on one line is
    // the whole file: not copied again).
    let mut next = Lines::default();
    next.lines.push((0, first.len(), line_no));
    next.bytes = first;
    next.first_page = first_page;
    let mut pending: Option<(Lines, Vec<Option<Taken>>)> = None;
    // The buffers of the run handed over last, reused for the next run read.
    let mut spare = Lines::default();
    loop {
        let more = match next.fill(&mut rest, &mut line_no) {
            Ok(more) => more,
            Err(e) => {
                // The lines before the failure come first, as they would line by line.
                if let Some((lines, mapped)) = pending.take() {
                    state.hand_over(&lines, mapped)?;
                }
                return Err(InputError::io(state.file, e));
            }
        };
        let (mapped, handed) = std::thread::scope(|scope| {
            let worker = scope.spawn(|| next.map(order));
            let handed = match pending.take() {
                Some((lines, mapped)) => {
                    let handed = state.hand_over(&lines, mapped);
                    spare = lines;
                    handed
                }
                None => Ok(()),
            };
            (worker.join(), handed)
        });
        handed?;
        let mapped = mapped.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if !more {
            return state.hand_over(&next, mapped);
        }
        spare.bytes.clear();
        spare.lines.clear();
        pending = Some((
            std::mem::replace(&mut next, std::mem::take(&mut spare)),
            mapped,
        ));
    }
}

/// A JSON file that is not NDJSON and starts with `{`: read whole (up to [`PAGES_BYTES`]) and,
/// when it holds Graph list pages the fast path takes ([`map_pages`]), mapped on every core;
/// otherwise the general path reads it, from the same bytes (and a read error where reading
/// stopped), so that it sees exactly what it would have read itself.
fn read_whole_pages(state: &mut FileState, start: Start) -> Result<(), InputError> {
    let replay = match read_whole(start) {
        Ok(bytes) => match map_pages(&bytes, false, state.opts.date_order) {
            Some(records) => {
                records.into_iter().for_each(|m| state.taken(m));
                return Ok(());
            }
            None => rejoin(bytes, Box::new(io::empty())),
        },
        Err(replay) => replay,
    };
    read_documents(state, replay)
}

/// A file read whole from its start: `Ok` with its bytes when it holds at most
/// [`PAGES_BYTES`], else `Err` with what the general path reads instead: the bytes read, then
/// the rest of the file, or the read error where reading stopped.
pub(crate) fn read_whole(start: Start) -> Result<Vec<u8>, Box<dyn BufRead>> {
    let Start {
        blank,
        first,
        mut rest,
        ..
    } = start;
    let mut bytes = blank;
    bytes.extend_from_slice(&first);
    let room = (PAGES_BYTES + 1).saturating_sub(bytes.len()) as u64;
    let replay: Box<dyn BufRead> = match (&mut rest).take(room).read_to_end(&mut bytes) {
        Err(e) => Box::new(FailedRead(Some(e))),
        Ok(_) if bytes.len() > PAGES_BYTES => rest,
        Ok(_) => return Ok(bytes),
    };
    Err(rejoin(bytes, replay))
}

/// A reader that failed: its error once, then the end.
pub(crate) struct FailedRead(pub(crate) Option<io::Error>);

impl Read for FailedRead {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

impl BufRead for FailedRead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(&[]),
        }
    }
    fn consume(&mut self, _: usize) {}
}

/// One NDJSON line.
pub(crate) fn read_line<F: JsonFile>(
    f: &mut F,
    bytes: &[u8],
    line_no: usize,
) -> Result<(), InputError> {
    f.set_line(LineSource::Fixed(line_no));
    // Without its line end, an incomplete line ends on this line, not at the next one.
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let mut de = serde_json::Deserializer::from_slice(&bytes[..end]);
    let result = TopSeed { receiver: &mut *f }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    let Err(e) = result else {
        return Ok(());
    };
    if let Some(fatal) = f.take_fatal() {
        return Err(fatal);
    }
    let file = f.file().to_path_buf();
    if e.is_io() {
        return Err(InputError::io(&file, e.into()));
    }
    // The parser saw only this line: its position is a column on it.
    let error = match InputError::json(&file, &e) {
        InputError::Json { column, reason, .. } => InputError::Json {
            file: file.clone(),
            line: line_no,
            column,
            reason,
        },
        other => other,
    };
    if !f.skips_bad_records() {
        return Err(error);
    }
    let summary = match &error {
        InputError::Json { column, reason, .. } => {
            format!("line {line_no}, column {column}: invalid JSON: {reason}")
        }
        other => other.to_string(),
    };
    f.skip(summary);
    Ok(())
}

/// One or more JSON documents back to back.
pub(crate) fn read_documents<F: JsonFile>(
    f: &mut F,
    input: Box<dyn BufRead>,
) -> Result<(), InputError> {
    let newlines = Rc::new(Cell::new(0));
    f.set_line(LineSource::Counted(Rc::clone(&newlines)));
    let file = f.file().to_path_buf();
    let mut de = serde_json::Deserializer::from_reader(CountingReader::new(input, newlines));
    loop {
        // `end` succeeds only at the end of the input; otherwise another value follows.
        match de.end() {
            Ok(()) => return Ok(()),
            Err(e) if e.is_io() => return Err(InputError::io(&file, e.into())),
            Err(_) => {}
        }
        if let Err(e) = (TopSeed { receiver: &mut *f }).deserialize(&mut de) {
            if let Some(fatal) = f.take_fatal() {
                return Err(fatal);
            }
            if e.is_io() {
                return Err(InputError::io(&file, e.into()));
            }
            return Err(InputError::json(&file, &e));
        }
    }
}

impl JsonFile for FileState<'_, '_> {
    fn file(&self) -> &Path {
        self.file
    }

    fn set_line(&mut self, line: LineSource) {
        self.line = line;
    }

    fn take_fatal(&mut self) -> Option<InputError> {
        self.fatal.take()
    }

    fn skips_bad_records(&self) -> bool {
        self.opts.skip_bad_records
    }

    fn skip(&mut self, summary: String) {
        FileState::skip(self, summary);
    }
}

/// The state of reading one file.
struct FileState<'a, 'm> {
    file: &'a Path,
    opts: &'a ReadOptions,
    sink: &'a mut dyn FnMut(SignIn),
    seen: &'a mut SeenIds,
    stats: &'a mut ReadStats,
    meter: &'a mut Meter<'m>,
    /// The side files' authentication steps, for the portal's CSV download.
    steps: &'a mut portal::AuthSteps,
    line_mode: bool,
    line: LineSource,
    /// The `source_variant` of a CSV file's sign-ins (JSON variants follow the container).
    variant: Option<&'static str>,
    /// Records met in this file so far.
    index: usize,
    duplicate_keys: BTreeSet<String>,
    assumed_utc: usize,
    /// Sign-ins dated by a locale date (`3/4/2026 ...`), and whether any confirmed the order.
    locale_dates: usize,
    locale_confirmed: bool,
    /// Sign-ins without an id, given one derived from their content.
    derived_ids: usize,
    other_categories: BTreeMap<String, usize>,
    skipped: usize,
    first_skip: Option<String>,
    /// The error that stopped parsing, kept here while serde unwinds.
    fatal: Option<InputError>,
}

impl FileState<'_, '_> {
    /// Where record `index` is, for messages.
    fn locus(&self, container: Container, line: usize) -> String {
        if self.line_mode && container == Container::Single {
            format!("line {line}")
        } else {
            format!("record {} (line {line})", self.index)
        }
    }

    fn skip(&mut self, what: String) {
        self.skipped += 1;
        self.stats.skipped += 1;
        self.first_skip.get_or_insert(what);
    }

    /// A record that cannot be read: skipped, or the error that stops reading.
    fn bad(&mut self, error: InputError, locus_and_reason: String) -> Result<(), ()> {
        if self.opts.skip_bad_records {
            self.skip(locus_and_reason);
            Ok(())
        } else {
            self.fatal = Some(error);
            Err(())
        }
    }

    /// Notes how one sign-in was dated.
    fn dated(&mut self, assumed_utc: bool, locale_confirmed: Option<bool>) {
        self.assumed_utc += usize::from(assumed_utc);
        if let Some(confirmed) = locale_confirmed {
            self.locale_dates += 1;
            self.locale_confirmed |= confirmed;
        }
    }

    /// A run of NDJSON lines, in order: the fast path's sign-ins, the general path for the
    /// lines it declined.
    fn hand_over(&mut self, lines: &Lines, mapped: Vec<Option<Taken>>) -> Result<(), InputError> {
        for (&(a, b, line_no), m) in lines.lines.iter().zip(mapped) {
            match m {
                Some(Taken::One(m)) => self.taken(m),
                Some(Taken::Page(records)) => records.into_iter().for_each(|m| self.taken(m)),
                None => read_line(self, &lines.bytes[a..b], line_no)?,
            }
        }
        Ok(())
    }

    /// A record the fast path mapped, counted as the general path counts it.
    fn taken(&mut self, m: Mapped) {
        self.index += 1;
        self.meter.tick();
        self.mapped(m);
    }

    /// A record that mapped.
    fn mapped(&mut self, m: Mapped) {
        match m {
            Mapped::SignIn {
                mut signin,
                assumed_utc,
                locale_confirmed,
                derived_id,
            } => {
                self.dated(assumed_utc, locale_confirmed);
                self.derived_ids += usize::from(derived_id);
                if let Some(v) = self.variant {
                    signin.source_variant = Some(v.to_string());
                }
                if self.seen.insert(&signin.id) {
                    self.stats.records += 1;
                    (self.sink)(*signin);
                } else {
                    self.stats.duplicates += 1;
                }
            }
            Mapped::Other { category } => {
                *self.other_categories.entry(category).or_default() += 1;
            }
        }
    }

    fn one_record(
        &mut self,
        object: &serde_json::Map<String, Value>,
        container: Container,
        line: usize,
    ) -> Result<(), ()> {
        self.index += 1;
        self.meter.tick();
        match map::map_record(object, container, self.line_mode, self.opts.date_order) {
            Ok(m) => {
                self.mapped(m);
                Ok(())
            }
            Err(FieldError {
                field,
                reason,
                fatal,
            }) => {
                let locus = self.locus(container, line);
                let summary = format!("{locus}: field {field}: {reason}");
                let error = InputError::field(self.file, locus, field, reason);
                if fatal {
                    self.fatal = Some(error);
                    return Err(());
                }
                self.bad(error, summary)
            }
        }
    }

    /// Warnings for the file, once it has been read.
    fn finish(self) {
        let file = self.file.display();
        let warnings = &mut self.stats.warnings;
        if !self.duplicate_keys.is_empty() {
            let keys: Vec<&str> = self.duplicate_keys.iter().map(String::as_str).collect();
            warnings.push(format!(
                "{file}: duplicate JSON keys (the last value was kept): {}",
                keys.join(", ")
            ));
        }
        if self.assumed_utc > 0 {
            warnings.push(format!(
                "{file}: {} sign-in(s) had a time without a zone or offset; read as UTC",
                self.assumed_utc
            ));
        }
        if self.derived_ids > 0 {
            warnings.push(format!(
                "{file}: {} sign-in(s) had no id (request id); each was given one derived from \
                 its content ({}…), so an identical record read again is a duplicate",
                self.derived_ids,
                map::DERIVED_ID_PREFIX
            ));
        }
        if self.locale_dates > 0 && !self.locale_confirmed {
            let order = self.opts.date_order;
            let (read, other) = match order {
                DateOrder::MonthFirst => ("month first", DateOrder::DayFirst),
                DateOrder::DayFirst => ("day first", DateOrder::MonthFirst),
            };
            warnings.push(format!(
                "{file}: {} date(s) such as 3/4/2026 were read {read} (--date-order {}); no \
                 day in the file is above 12, so the file cannot confirm the order (use \
                 --date-order {} if it is the other way round)",
                self.locale_dates,
                order.flag(),
                other.flag()
            ));
        }
        for (category, n) in &self.other_categories {
            warnings.push(format!(
                "{file}: ignored {n} diagnostic record(s) of category {category} (not sign-ins)"
            ));
        }
        if let Some(first) = &self.first_skip {
            warnings.push(format!(
                "{file}: skipped {} unreadable record(s); the first: {first}",
                self.skipped
            ));
        }
    }
}

impl FileState<'_, '_> {
    /// One table of a Log Analytics query API response
    /// (`{"tables":[{"name":...,"columns":[{"name":...,"type":...}],"rows":[[...],...]}]}`):
    /// each row becomes a record keyed by its column names, like an exported row.
    fn log_analytics_table(&mut self, table: Value, line: usize) -> Result<(), ()> {
        let columns: Option<Vec<String>> = match table.get("columns") {
            Some(Value::Array(cols)) => cols
                .iter()
                .map(|c| {
                    c.get("name")
                        .and_then(Value::as_str)
                        .map(str::to_ascii_lowercase)
                })
                .collect(),
            _ => None,
        };
        let (Some(columns), Some(Value::Array(rows))) = (columns, table.get("rows")) else {
            let reason = "a Log Analytics \"tables\" entry needs \"columns\" (each with a \
                          \"name\") and \"rows\""
                .to_string();
            return self.bad(InputError::format(self.file, reason.clone()), reason);
        };
        for row in rows {
            match row {
                Value::Array(cells) if cells.len() == columns.len() => {
                    let object = columns.iter().cloned().zip(cells.iter().cloned()).collect();
                    self.record(Value::Object(object), Container::Array, line)?;
                }
                other => {
                    self.index += 1;
                    let reason = format!(
                        "{}: a Log Analytics row must be an array of {} cells (one per column), \
                         found {}",
                        self.locus(Container::Array, line),
                        columns.len(),
                        match other {
                            Value::Array(a) => format!("{} cells", a.len()),
                            _ => "no array".to_string(),
                        }
                    );
                    self.bad(InputError::format(self.file, reason.clone()), reason)?;
                }
            }
        }
        Ok(())
    }
}

impl Receiver for FileState<'_, '_> {
    fn duplicate_key(&mut self, key: &str) {
        if !self
            .duplicate_keys
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
        {
            self.duplicate_keys.insert(key.to_string());
        }
    }

    fn line(&self) -> usize {
        self.line.now()
    }

    fn record(&mut self, value: Value, container: Container, line: usize) -> Result<(), ()> {
        match value {
            Value::Object(mut object) => {
                if let Some((items, inner)) = nested_records(&mut object) {
                    for item in items {
                        self.record(item, inner, line)?;
                    }
                    return Ok(());
                }
                if !object.contains_key("id")
                    && let Some(Value::Array(tables)) = object.get_mut("tables")
                {
                    for table in std::mem::take(tables) {
                        self.log_analytics_table(table, line)?;
                    }
                    return Ok(());
                }
                self.one_record(&object, container, line)
            }
            Value::Array(items) => {
                for item in items {
                    self.record(item, container, line)?;
                }
                Ok(())
            }
            other => {
                self.index += 1;
                let locus = self.locus(container, line);
                let what = match other {
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                let reason = format!("{locus}: expected a sign-in object, found {what}");
                self.bad(InputError::format(self.file, reason.clone()), reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_compare_without_case() {
        let mut seen = SeenIds::default();
        assert!(seen.insert("8a4de8b5-095c-47d0-a96f-a75130c61d53"));
        assert!(!seen.insert("8A4DE8B5-095C-47D0-A96F-A75130C61D53"));
        assert!(seen.insert("not-a-guid"));
        assert!(!seen.insert("not-a-guid"));
        assert_eq!(parse_guid("8a4de8b5x095c-47d0-a96f-a75130c61d53"), None);
    }

    /// Reads `paths` with the fast path for NDJSON, then with the general path only.
    fn both_paths(
        paths: &[PathBuf],
        opts: &ReadOptions,
    ) -> [Result<(Vec<SignIn>, ReadStats), String>; 2] {
        [false, true].map(|general| {
            GENERAL_ONLY.with(|g| g.set(general));
            let mut out = Vec::new();
            let stats = read_signins(paths, opts, &mut |s| out.push(s));
            GENERAL_ONLY.with(|g| g.set(false));
            stats.map(|s| (out, s)).map_err(|e| e.to_string())
        })
    }

    /// Graph list page files, taken by the fast path on every core or declined whole, read
    /// exactly as the general path reads them: one page per line (with more lines after it),
    /// pretty-printed and concatenated pages, and pages with everything the fast path declines.
    #[test]
    fn graph_pages_read_as_the_general_path_reads_them() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = fast::tests::generated_ndjson(dir.path(), 300, 40, 5, 0.05);
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let page = |items: &[String]| {
            format!(
                r#"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns","value":[{}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x"}}"#,
                items.join(",")
            )
        };
        let pretty = |text: &str| {
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
            serde_json::to_string_pretty(&v).unwrap_or_else(|e| panic!("{e}"))
        };
        let good = [
            // One page per line, and one on its own.
            format!("{}\n{}\n", page(&lines[..100]), page(&lines[100..])),
            page(&lines[..40]),
            // Pretty-printed, one and two back to back (with a repeated sign-in).
            pretty(&page(&lines[..50])),
            format!(
                "{}\n{}",
                pretty(&page(&lines[..50])),
                pretty(&page(&lines[49..90]))
            ),
            // Pages back to back on lines that are not whole values.
            format!(
                "{{\"value\":[\n{}\n]}} {{\"value\":[{}]}}",
                lines[..5].join(",\n"),
                lines[5]
            ),
        ];
        let record = &lines[7];
        let bad = [
            // Read by the general path: a duplicate key (at the top, in an element), an element
            // without an id, another category, an invalid field, a blob, an element that is
            // not an object, no records; then a record on one line and a page on the next.
            format!(r#"{{"@odata.context":"a","@odata.context":"b","value":[{record}]}}"#),
            page(&[record.replacen("{\"id\":", "{\"ID\":\"x\",\"id\":", 1)]),
            page(&[record.replacen("\"id\":", "\"requestId\":", 1)]),
            format!(
                r#"{{"value":[{record},{{"category":"AuditLogs","properties":{{"id":"z"}}}}]}}"#
            ),
            page(&[record.replacen("\"createdDateTime\":\"", "\"createdDateTime\":\"x", 1)]),
            format!(r#"{{"value":[{record}],"records":[{record}]}}"#),
            format!(r#"{{"value":[{record},"x"]}}"#),
            r#"{"value":[]}"#.to_string(),
            format!("{record}\n{}\n", page(&lines[8..12])),
            // Invalid JSON: in an element, around the elements, a line with two pages, a
            // truncated page (on one line and pretty-printed).
            page(&[record.replacen("\"id\":", "\"id\" ", 1)]),
            format!(r#"{{"@odata.count":tru,"value":[{record}]}}"#),
            format!(
                "{}\n{} {}\n",
                page(&lines[..3]),
                page(&lines[3..5]),
                page(&lines[5..7])
            ),
            page(&lines[..20])[..5000].to_string(),
            pretty(&page(&lines[..20]))[..5000].to_string(),
        ];
        let skip = ReadOptions {
            skip_bad_records: true,
            ..ReadOptions::default()
        };
        for (i, content) in good.iter().chain(&bad).enumerate() {
            let file = dir.path().join(format!("page-{i}.json"));
            std::fs::write(&file, content).unwrap_or_else(|e| panic!("{e}"));
            for opts in [&ReadOptions::default(), &skip] {
                let [fast, general] = both_paths(std::slice::from_ref(&file), opts);
                assert_eq!(fast, general, "{content}");
                if i < good.len() {
                    let (signins, _) = fast.unwrap_or_else(|e| panic!("{e}"));
                    assert!(!signins.is_empty());
                    assert!(
                        signins
                            .iter()
                            .all(|s| s.source_variant.as_deref() == Some("graph"))
                    );
                }
            }
        }
        // The good files are the fast path's: every page is taken whole.
        for content in &good[..4] {
            let lines: Vec<&str> = content.lines().collect();
            let taken = if lines.len() > 1 && lines.iter().all(|l| is_one_value(l.as_bytes())) {
                lines
                    .iter()
                    .all(|l| map_pages(l.as_bytes(), true, DateOrder::MonthFirst).is_some())
            } else {
                map_pages(content.as_bytes(), false, DateOrder::MonthFirst).is_some()
            };
            assert!(taken, "{content}");
        }
        assert!(map_pages(good[4].as_bytes(), false, DateOrder::MonthFirst).is_some());
    }

    /// A folder of files read through the pipeline (files opened and their pages mapped ahead
    /// of their turn) gives what reading them one by one with the general path gives: the same
    /// sign-ins in file order, the same warnings, and on an error the sign-ins of every file
    /// before it and the error of the first bad file, whatever the files after it hold.
    #[test]
    fn files_read_ahead_read_as_one_by_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = fast::tests::generated_ndjson(dir.path(), 200, 30, 5, 0.05);
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let page = |items: &[String]| format!(r#"{{"value":[{}]}}"#, items.join(","));
        let folder = dir.path().join("exports");
        std::fs::create_dir(&folder).unwrap_or_else(|e| panic!("{e}"));
        let record = &lines[3];
        let files = [
            page(&lines[..60]),
            String::new(),
            format!("{}\n", page(&lines[60..90])),
            // The general path's: a repeated key (a warning), NDJSON, pages with a repeated id.
            format!(r#"{{"@odata.context":"a","@odata.context":"b","value":[{record}]}}"#),
            lines[90..120].join("\n"),
            page(&lines[100..140]),
            // Invalid JSON, then another bad file and good ones after it.
            page(&[record.replacen("\"id\":", "\"id\" ", 1)]),
            format!(r#"{{"value":[{record}"#),
            page(&lines[140..]),
            page(&lines[..10]),
        ];
        for (i, content) in files.iter().enumerate() {
            let file = folder.join(format!("{i:02}.json"));
            std::fs::write(&file, content).unwrap_or_else(|e| panic!("{e}"));
        }
        // Read with the fast path and with the general path only, which must agree: the
        // sign-ins handed over, and the error that stopped reading (the bad file it names).
        let read = |opts: &ReadOptions, bad: &str| {
            let [fast, general] = [false, true].map(|general| {
                GENERAL_ONLY.with(|g| g.set(general));
                let mut out = Vec::new();
                let stats = read_signins(std::slice::from_ref(&folder), opts, &mut |s| out.push(s));
                GENERAL_ONLY.with(|g| g.set(false));
                (out, stats.map_err(|e| e.to_string()))
            });
            assert_eq!(fast, general);
            let (signins, result) = fast;
            let error = result.err().unwrap_or_else(|| panic!("{bad} is bad"));
            assert!(error.contains(bad), "{error}");
            signins
        };
        // Every sign-in of the files before the bad one, each id once.
        assert_eq!(read(&ReadOptions::default(), "06.json").len(), 140);
        // The record that is not valid JSON is skipped; a truncated file still stops reading.
        let skip = ReadOptions {
            skip_bad_records: true,
            ..ReadOptions::default()
        };
        assert_eq!(read(&skip, "07.json").len(), 140);
    }

    /// An NDJSON file of several runs of lines (more than [`BATCH_BYTES`]) with every kind of
    /// line the fast path declines spread over it reads exactly as line by line.
    #[test]
    fn parallel_lines_read_as_line_by_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = fast::tests::generated_ndjson(dir.path(), 2_500, 80, 11, 0.05);
        assert!(text.len() > 2 * BATCH_BYTES, "{} bytes", text.len());
        let lines: Vec<&str> = text.lines().collect();
        let mut edited = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            edited.push(line.to_string());
            match i % 397 {
                // A repeated sign-in (the first is kept), across runs of lines too.
                5 => edited.push(lines[i / 2].to_string()),
                // A blank line, a duplicate key, no id, an invalid field, invalid JSON,
                // a blob of records on one line, another category.
                17 => edited.push("   ".to_string()),
                29 => edited.push(line.replacen("{\"id\":", "{\"ID\":\"first\",\"Id\":", 1)),
                41 => edited.push(line.replacen("\"id\":", "\"requestId\":", 1)),
                53 => edited.push(line.replacen("\"createdDateTime\":\"", "\"createdDateTime\":\"x", 1)),
                67 => edited.push(line[..line.len() / 2].to_string()),
                79 => edited.push(format!(
                    r#"{{"records":[{{"category":"SignInLogs","time":"2026-01-05T01:02:03Z","properties":{}}}]}}"#,
                    line.replacen("\"id\":\"", "\"id\":\"blob-", 1)
                )),
                91 => edited.push(r#"{"category":"AuditLogs","properties":{"id":"z"}}"#.to_string()),
                _ => {}
            }
        }
        let file = dir.path().join("edited.ndjson");
        std::fs::write(&file, edited.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
        let paths = [file.clone(), dir.path().join("signins.ndjson")];
        let skip = ReadOptions {
            skip_bad_records: true,
            ..ReadOptions::default()
        };
        let [fast, general] = both_paths(&paths, &skip);
        let (signins, stats) = fast.clone().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fast, general);
        assert!(stats.duplicates > 2_500 && stats.skipped > 5, "{stats:?}");
        assert!(signins.iter().any(|s| s.id.starts_with("blob-")));
        for said in [
            "duplicate JSON keys (the last value was kept): ",
            "had no id",
            "category AuditLogs",
            "unreadable record",
        ] {
            assert!(
                stats.warnings.iter().any(|w| w.contains(said)),
                "{said}: {:?}",
                stats.warnings
            );
        }
        // Without skipping, the first bad line stops both, with the same error.
        let [fast, general] = both_paths(&paths, &ReadOptions::default());
        assert!(fast.is_err());
        assert_eq!(fast, general);
    }
}
