//! Opening sign-in export files: gzip by its magic bytes, a UTF-8 BOM, UTF-16 (decoded
//! whole), Parquet; finding the first line (bounded, so a one-line array need not fit in
//! memory); and counting the bytes read for the progress bar.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::rc::Rc;

use crate::error::InputError;
use crate::text;

/// Counts the bytes read from input files and reports progress.
pub(crate) struct Meter<'a> {
    /// Bytes read from the current file so far.
    pub(crate) counter: Rc<Cell<u64>>,
    /// Bytes of the files already finished.
    pub(crate) done: u64,
    pub(crate) total: u64,
    pub(crate) reported: u64,
    pub(crate) report: &'a mut dyn FnMut(u64, u64),
}

impl<'a> Meter<'a> {
    /// The files of `paths` (folders read recursively, in bytewise path order) and a meter
    /// over their bytes that reports to `report`.
    pub(crate) fn over(
        paths: &[std::path::PathBuf],
        report: &'a mut dyn FnMut(u64, u64),
    ) -> Result<(Vec<std::path::PathBuf>, Meter<'a>), InputError> {
        let mut files = Vec::new();
        for path in paths {
            files.extend(text::list_files(path, &[])?);
        }
        let total = files
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum();
        let meter = Meter {
            counter: Rc::new(Cell::new(0)),
            done: 0,
            total,
            reported: 0,
            report,
        };
        Ok((files, meter))
    }

    /// Reports when at least 4 MiB more have been read.
    pub(crate) fn tick(&mut self) {
        let now = self.done + self.counter.get();
        if now >= self.reported + (4 << 20) {
            self.reported = now;
            (self.report)(now.min(self.total), self.total);
        }
    }

    /// A file is finished: its size counts as read, whatever the decoder left unread.
    pub(crate) fn file_done(&mut self, file: &Path) {
        let size = std::fs::metadata(file).map_or(self.counter.get(), |m| m.len());
        self.done += size;
        self.counter.set(0);
        self.tick();
    }
}

/// Counts the bytes read from a file into a shared counter (for progress).
struct Counted<R> {
    inner: R,
    counter: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.counter.set(self.counter.get() + n as u64);
        Ok(n)
    }
}

/// An input file opened for reading.
pub(crate) enum Opened {
    /// Normalized Parquet.
    Table,
    /// Text: decompressed, BOM removed, UTF-16 decoded.
    Text(Box<dyn BufRead>),
}

/// Opens a file: gzip (by its magic bytes, any extension), then a UTF-8 BOM, UTF-16 (decoded
/// whole), or Parquet (`PAR1`).
pub(crate) fn open(file: &Path, counter: &Rc<Cell<u64>>) -> Result<Opened, InputError> {
    let io_err = |e| InputError::io(file, e);
    let opened = File::open(file).map_err(io_err)?;
    let counted = Counted {
        inner: opened,
        counter: Rc::clone(counter),
    };
    let input: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 16, counted));

    let (head, input) = take_head(input, 2).map_err(io_err)?;
    let input: Box<dyn BufRead> = if head == [0x1f, 0x8b] {
        let gz = flate2::bufread::MultiGzDecoder::new(rejoin(head, input));
        Box::new(BufReader::with_capacity(1 << 16, gz))
    } else {
        rejoin(head, input)
    };

    let (head, input) = take_head(input, 4).map_err(io_err)?;
    Ok(Opened::Text(if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        rejoin(head[3..].to_vec(), input)
    } else if head.starts_with(&[0xFF, 0xFE])
        || head.starts_with(&[0xFE, 0xFF])
        || head.iter().take(2).any(|&b| b == 0)
    {
        // UTF-16 (PowerShell 5.1 `Out-File`), with or without a BOM: decoded whole.
        let mut bytes = head;
        let mut input = input;
        input.read_to_end(&mut bytes).map_err(io_err)?;
        let decoded = text::decode_text(&bytes).map_err(|reason| InputError::Encoding {
            file: file.to_path_buf(),
            reason,
        })?;
        Box::new(Cursor::new(decoded.into_bytes()))
    } else if head == b"PAR1" {
        return Ok(Opened::Table);
    } else {
        rejoin(head, input)
    }))
}

/// The longest first line held to decide between NDJSON and a document stream: a longer
/// line is read as a stream (a one-line page or array), so memory stays bounded.
pub(crate) const FIRST_LINE_LIMIT: usize = 64 << 20;

/// The start of a text file: the blank lines before its first non-blank line, that line (up
/// to [`FIRST_LINE_LIMIT`] bytes) and whether it was complete, its 1-based number, and the
/// rest. `None` for a file with nothing but blanks.
pub(crate) struct Start {
    pub(crate) blank: Vec<u8>,
    pub(crate) first: Vec<u8>,
    pub(crate) complete: bool,
    pub(crate) line_no: usize,
    pub(crate) rest: Box<dyn BufRead>,
}

pub(crate) fn start(mut input: Box<dyn BufRead>, file: &Path) -> Result<Option<Start>, InputError> {
    let io_err = |e| InputError::io(file, e);
    let mut blank = Vec::new();
    let mut line_no = 0;
    loop {
        let (line, rest) = read_line(input, FIRST_LINE_LIMIT).map_err(io_err)?;
        input = rest;
        if line.is_empty() {
            return Ok(None);
        }
        line_no += 1;
        let complete = line.ends_with(b"\n") || line.len() < FIRST_LINE_LIMIT;
        if complete && line.iter().all(u8::is_ascii_whitespace) {
            blank.extend_from_slice(&line);
            continue;
        }
        return Ok(Some(Start {
            blank,
            first: line,
            complete,
            line_no,
            rest: input,
        }));
    }
}

/// Reads a line (through its `\n`, or up to `limit` bytes, or to the end) and returns it with
/// the rest of the input. Like `read_until`; but a line longer than 64 KiB (a page of Graph
/// JSON is one line of megabytes) is read on in one `read_to_end`, straight into the line,
/// not copied out of the reader's buffer 64 KiB at a time, and the bytes read past its end go
/// back in front of the rest.
fn read_line(mut input: Box<dyn BufRead>, limit: usize) -> io::Result<(Vec<u8>, Box<dyn BufRead>)> {
    const STRETCH: usize = 64 << 10;
    let mut line: Vec<u8> = Vec::new();
    let first = STRETCH.min(limit);
    let n = (&mut input)
        .take(u64::try_from(first).unwrap_or(u64::MAX))
        .read_until(b'\n', &mut line)?;
    if n < first || line.ends_with(b"\n") {
        return Ok((line, input));
    }
    // Room for a page of a few megabytes at once (a line that long is one), rather than
    // doubling from 64 KiB and copying at every step; pages not touched cost nothing.
    line.reserve((8 << 20).min(limit - line.len()));
    let more = u64::try_from(limit - line.len()).unwrap_or(u64::MAX);
    (&mut input).take(more).read_to_end(&mut line)?;
    match memchr::memchr(b'\n', &line[first..]) {
        Some(at) => {
            let rest = line.split_off(first + at + 1);
            Ok((line, rejoin(rest, input)))
        }
        None => Ok((line, input)),
    }
}

/// Whether a first line starts a JSON text.
pub(crate) fn starts_json(first: &[u8]) -> bool {
    matches!(
        first.iter().copied().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Reads up to `n` bytes from the start of `input`, returning them and the rest.
fn take_head(mut input: Box<dyn BufRead>, n: u64) -> io::Result<(Vec<u8>, Box<dyn BufRead>)> {
    let mut head = Vec::new();
    (&mut input).take(n).read_to_end(&mut head)?;
    Ok((head, input))
}

/// Puts bytes already read back in front of the rest.
pub(crate) fn rejoin(head: Vec<u8>, rest: Box<dyn BufRead>) -> Box<dyn BufRead> {
    Box::new(Cursor::new(head).chain(rest))
}

/// Whether a line holds exactly one complete JSON value (then the file is read as NDJSON).
/// A line that is a syntax error also counts, so that a bad NDJSON line can be skipped.
pub(crate) fn is_one_value(line: &[u8]) -> bool {
    let mut values =
        serde_json::Deserializer::from_slice(line).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        Some(Ok(_)) => values.next().is_none(),
        Some(Err(e)) => !e.is_eof(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of every length read as `read_until` reads them, and the rest of the input after
    /// each is untouched: short lines, lines longer than the first stretch (with and without a
    /// next line), the limit, and a last line without its newline.
    #[test]
    fn read_line_reads_as_read_until() {
        let long = |n: usize, fill: u8| vec![fill; n];
        let mut cases: Vec<(Vec<u8>, usize)> = Vec::new();
        for n in [0, 1, 100, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 300_000] {
            let mut one = long(n, b'a');
            one.push(b'\n');
            one.extend_from_slice(b"next line\nlast");
            cases.push((one.clone(), 1 << 20));
            cases.push((one, 200_000));
            cases.push((long(n, b'b'), 1 << 20));
        }
        for (bytes, limit) in cases {
            let mut want_line = Vec::new();
            let mut cursor = Cursor::new(bytes.clone());
            (&mut cursor)
                .take(limit as u64)
                .read_until(b'\n', &mut want_line)
                .unwrap();
            let mut want_rest = Vec::new();
            cursor.read_to_end(&mut want_rest).unwrap();
            // A small buffer, so that reads cross its refills as a file's do.
            let input: Box<dyn BufRead> =
                Box::new(BufReader::with_capacity(4096, Cursor::new(bytes)));
            let (line, mut rest) = read_line(input, limit).unwrap();
            let mut got_rest = Vec::new();
            rest.read_to_end(&mut got_rest).unwrap();
            assert_eq!(line.len(), want_line.len(), "limit {limit}");
            assert!(line == want_line && got_rest == want_rest, "limit {limit}");
        }
    }

    #[test]
    fn one_value_per_line_means_ndjson() {
        assert!(is_one_value(br#"{"id":"a"}"#));
        assert!(is_one_value(b"{\"value\":[{\"id\":\"a\"}]}\r\n"));
        assert!(
            is_one_value(br#"{"id":"a",}"#),
            "a bad line is still a line"
        );
        assert!(!is_one_value(b"{\n"));
        assert!(!is_one_value(br#"{"value":[]}{"value":[]}"#));
        assert!(!is_one_value(br#"[{"id":"a"},"#));
    }
}
