//! String columns read with their Parquet dictionaries kept.
//!
//! A sign-in table stores every string column other than the three unique ones
//! dictionary-encoded: each row group's column chunk holds its distinct texts once (the
//! dictionary page) and one small index per row. Each dictionary is mapped to the column's
//! process-wide codes ([`super::Strings`]) once, and the rows become codes by one table lookup
//! each: no per-row string is built, hashed or compared.
//!
//! - A plain string column (no repetition, at most one definition level) is read page by
//!   page with the `parquet` crate's page reader (which decompresses), and its definition
//!   levels and dictionary indices are decoded here ([`rle_hybrid`]: the RLE / bit-packed
//!   hybrid of the Parquet format). PLAIN data pages (a writer's fallback when a dictionary
//!   grows too large) are read too, one text per row.
//! - A list-of-strings column is read with the `parquet` crate's Arrow reader asking for
//!   `List(Dictionary(Int32, Utf8))` arrays.
//!
//! Only columns that can be read this way are: UTF-8 string columns (and lists of them) whose
//! every column chunk is uncompressed, Snappy or zstd (the codecs this build of `parquet`
//! reads) and, for plain columns, uses only the PLAIN, dictionary and RLE encodings.
//! Everything else, and every file this module cannot open, goes through polars (see
//! [`super::TableFile`]); both give the same codes (tested).

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, PoisonError};

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::column::page::Page;
use parquet::file::serialized_reader::SerializedPageReader;

use super::{Codes, Col, Dict, Encoded, Kind, ListCodes, NULL, snapshot, strings};

/// The columns of one file read with their dictionaries, and the reader metadata asking for
/// dictionary arrays.
pub(super) struct DictColumns {
    meta: ArrowReaderMetadata,
    /// How each such column is read.
    roots: HashMap<Col, Source>,
}

#[derive(Clone, Copy)]
enum Source {
    /// Page by page: the column's leaf index and its maximum definition level (0 or 1).
    Pages { leaf: usize, max_def: i16 },
    /// With the Arrow reader: the root field index.
    Arrow { root: usize },
}

fn dictionary() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// Capacity to reserve for `rows` rows counted in a file's footer: no more than a row group
/// vigil writes, so that a corrupt count cannot size a buffer.
fn capacity(rows: usize) -> usize {
    rows.min(super::ROW_GROUP)
}

/// Whether this build of `parquet` decompresses `c`.
fn readable(c: Compression) -> bool {
    matches!(
        c,
        Compression::UNCOMPRESSED | Compression::SNAPPY | Compression::ZSTD(_)
    )
}

impl DictColumns {
    /// The columns of `present` that `file` lets this module read, or None when there are
    /// none (or the file's schema is not one the Arrow reader takes).
    pub(super) fn open(file: &File, present: &[Col]) -> Option<DictColumns> {
        let options = || ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let plain = ArrowReaderMetadata::load(file, options()).ok()?;
        // Column chunks must lie in the file (the page reader assumes it).
        let size = file.metadata().ok()?.len();
        let inside = |start: i64, len: i64| {
            u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(a, b)| a.checked_add(b))
                .is_some_and(|end| end <= size)
        };
        for group in plain.metadata().row_groups() {
            for chunk in group.columns() {
                let start = chunk
                    .dictionary_page_offset()
                    .unwrap_or(chunk.data_page_offset());
                if !inside(start, chunk.compressed_size()) || chunk.data_page_offset() < 0 {
                    return None;
                }
            }
        }
        let descr = plain.parquet_schema();
        let schema = plain.schema();
        // Root fields whose every chunk uses a codec this build reads.
        let mut codec_ok = vec![true; schema.fields().len()];
        for group in plain.metadata().row_groups() {
            for (leaf, chunk) in group.columns().iter().enumerate() {
                if !readable(chunk.compression()) {
                    let root = descr.get_column_root_idx(leaf);
                    if let Some(ok) = codec_ok.get_mut(root) {
                        *ok = false;
                    }
                }
            }
        }
        // Root fields whose every chunk uses only encodings the page reader decodes.
        let mut plain_ok = vec![true; schema.fields().len()];
        for group in plain.metadata().row_groups() {
            for (leaf, chunk) in group.columns().iter().enumerate() {
                let known = chunk.encodings().all(|e| {
                    matches!(
                        e,
                        Encoding::PLAIN
                            | Encoding::PLAIN_DICTIONARY
                            | Encoding::RLE_DICTIONARY
                            | Encoding::RLE
                    )
                });
                if !known && let Some(ok) = plain_ok.get_mut(descr.get_column_root_idx(leaf)) {
                    *ok = false;
                }
            }
        }
        let leaf_of = |root: usize| {
            (0..descr.num_columns()).find(|leaf| descr.get_column_root_idx(*leaf) == root)
        };
        let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
        let mut roots = HashMap::new();
        for (i, field) in schema.fields().iter().enumerate() {
            let Some(c) = present.iter().find(|c| c.name() == field.name()) else {
                continue;
            };
            if !codec_ok[i] {
                continue;
            }
            let wanted = match (c.kind(), field.data_type()) {
                (Kind::Category | Kind::Text, DataType::Utf8) => {
                    let Some(leaf) = leaf_of(i) else { continue };
                    let d = descr.column(leaf);
                    if plain_ok[i]
                        && d.physical_type() == PhysicalType::BYTE_ARRAY
                        && d.max_rep_level() == 0
                        && d.max_def_level() <= 1
                    {
                        let max_def = d.max_def_level();
                        roots.insert(*c, Source::Pages { leaf, max_def });
                    }
                    continue;
                }
                (Kind::CategoryList, DataType::List(item))
                    if item.data_type() == &DataType::Utf8 =>
                {
                    DataType::List(Arc::new(item.as_ref().clone().with_data_type(dictionary())))
                }
                _ => continue,
            };
            fields[i] = Arc::new(field.as_ref().clone().with_data_type(wanted));
            roots.insert(*c, Source::Arrow { root: i });
        }
        if roots.is_empty() {
            return None;
        }
        let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
        let meta = ArrowReaderMetadata::try_new(
            plain.metadata().clone(),
            options().with_schema(Arc::new(schema)),
        )
        .ok()?;
        Some(DictColumns { meta, roots })
    }

    /// Whether `c` is read here.
    pub(super) fn has(&self, c: Col) -> bool {
        self.roots.contains_key(&c)
    }

    /// Reads column `c` of row groups `groups` (`rows` rows in all) as codes.
    pub(super) fn read(
        &self,
        path: &Path,
        c: Col,
        groups: Range<usize>,
        rows: usize,
        presence: bool,
    ) -> Result<Encoded, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let root = match self.roots.get(&c) {
            Some(Source::Arrow { root }) => *root,
            Some(Source::Pages { leaf, max_def }) => {
                return if c.kind() == Kind::Text {
                    let mut sink = TextSink {
                        texts: PageTexts {
                            pages: Vec::new(),
                            rows: Vec::with_capacity(capacity(rows)),
                        },
                        entries: Vec::new(),
                        values: Vec::new(),
                    };
                    self.walk(file, *leaf, *max_def, groups, &mut sink)?;
                    Ok(Encoded::Texts(sink.texts))
                } else if presence && c.kind() == Kind::Category {
                    let mut sink = PresenceSink {
                        codes: Vec::with_capacity(capacity(rows)),
                    };
                    self.walk(file, *leaf, *max_def, groups, &mut sink)?;
                    Ok(Encoded::Codes(Codes {
                        codes: sink.codes,
                        dict: Dict::presence(c),
                    }))
                } else {
                    let strings = strings(c);
                    let mut sink = CodeSink {
                        strings: strings.clone(),
                        codes: Vec::with_capacity(capacity(rows)),
                        map: Vec::new(),
                        values: Vec::new(),
                    };
                    self.walk(file, *leaf, *max_def, groups, &mut sink)?;
                    let dict = snapshot(c, &strings.lock().unwrap_or_else(PoisonError::into_inner));
                    Ok(Encoded::Codes(Codes {
                        codes: sink.codes,
                        dict,
                    }))
                };
            }
            None => return Err("not a dictionary column".into()),
        };
        // One reader per row group: a batch that crosses into the next column chunk would make
        // the reader build a new dictionary from the rows' texts.
        let mut batches = Vec::new();
        for g in groups {
            let group_rows = self.meta.metadata().row_group(g).num_rows();
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                file.try_clone().map_err(|e| e.to_string())?,
                self.meta.clone(),
            )
            .with_projection(ProjectionMask::roots(self.meta.parquet_schema(), [root]))
            .with_row_groups(vec![g])
            .with_batch_size(capacity(usize::try_from(group_rows).unwrap_or(1)).max(1))
            .build()
            .map_err(|e| e.to_string())?;
            batches.push(reader);
        }
        let mut maps = Maps::new(c);
        let mut codes = Vec::with_capacity(capacity(rows));
        let mut list: Option<(Vec<usize>, Vec<bool>)> =
            (c.kind() == Kind::CategoryList).then(|| (vec![0], Vec::with_capacity(capacity(rows))));
        let mut items = Vec::new();
        let mut read = 0;
        for batch in batches.into_iter().flatten() {
            let batch = batch.map_err(|e| e.to_string())?;
            let column = batch.column(0);
            read += column.len();
            match &mut list {
                None => {
                    let d = column
                        .as_dictionary_opt::<Int32Type>()
                        .ok_or("the column is not read as a dictionary")?;
                    gather(d.keys(), maps.map(d.values())?, &mut codes)?;
                }
                Some((offsets, valid)) => {
                    let l = column
                        .as_list_opt::<i32>()
                        .ok_or("the column is not read as a list")?;
                    let d = l
                        .values()
                        .as_dictionary_opt::<Int32Type>()
                        .ok_or("the list items are not read as a dictionary")?;
                    items.clear();
                    gather(d.keys(), maps.map(d.values())?, &mut items)?;
                    let offs = l.value_offsets();
                    for i in 0..l.len() {
                        let ok = l.is_valid(i);
                        valid.push(ok);
                        if ok {
                            let a = usize::try_from(offs[i]).map_err(|e| e.to_string())?;
                            let b = usize::try_from(offs[i + 1]).map_err(|e| e.to_string())?;
                            let row = items.get(a..b).ok_or("list offsets out of range")?;
                            // A null item names nothing.
                            codes.extend(row.iter().filter(|x| **x != NULL));
                        }
                        offsets.push(codes.len());
                    }
                }
            }
        }
        if read != rows {
            return Err(format!("{read} rows read where the row groups hold {rows}"));
        }
        let dict = snapshot(
            c,
            &strings(c).lock().unwrap_or_else(PoisonError::into_inner),
        );
        Ok(match list {
            None => Encoded::Codes(Codes { codes, dict }),
            Some((offsets, valid)) => Encoded::List(ListCodes {
                offsets,
                codes,
                valid,
                dict,
            }),
        })
    }
}

/// The values a data page holds for its rows that have one.
enum Values<'a> {
    /// Indices into the column chunk's dictionary page.
    Indices(&'a [u32]),
    /// PLAIN byte arrays (the page's buffer from the first value on).
    Plain(Bytes),
}

/// The texts of a plain text column of one batch, left in the pages they were read from.
pub(super) struct PageTexts {
    /// Decompressed pages (dictionary pages and PLAIN data pages).
    pages: Vec<Bytes>,
    /// Per row: (page, start, length) of its text, or [`NO_TEXT`] for null.
    rows: Vec<(u32, u32, u32)>,
}

const NO_TEXT: (u32, u32, u32) = (u32::MAX, 0, 0);

impl PageTexts {
    /// Row i's text (checked to be UTF-8 when read).
    pub(super) fn get(&self, i: usize) -> Option<&str> {
        let (page, start, len) = *self.rows.get(i)?;
        let bytes = self
            .pages
            .get(page as usize)?
            .get(start as usize..(start + len) as usize)?;
        std::str::from_utf8(bytes).ok()
    }
}

/// What the page walker hands its reader.
trait PageSink {
    /// A dictionary page's buffer and number of entries.
    fn dictionary(&mut self, buf: &Bytes, entries: usize) -> Result<(), String>;
    /// A data page: its definition levels (empty when every row has a value), the number of
    /// rows with a value, and those values.
    fn data(&mut self, defs: &[u32], present: usize, values: Values) -> Result<(), String>;
}

/// Reads a string column as codes of its column's dictionary.
struct CodeSink {
    strings: Arc<std::sync::Mutex<super::Strings>>,
    codes: Vec<u32>,
    /// The current column chunk's dictionary as codes.
    map: Vec<u32>,
    values: Vec<u32>,
}

impl PageSink for CodeSink {
    fn dictionary(&mut self, buf: &Bytes, entries: usize) -> Result<(), String> {
        let mut dict = self.strings.lock().unwrap_or_else(PoisonError::into_inner);
        self.map.clear();
        let map = &mut self.map;
        plain_texts(buf, entries, &mut |t| map.push(dict.intern(t)))
    }

    fn data(&mut self, defs: &[u32], present: usize, values: Values) -> Result<(), String> {
        self.values.clear();
        match values {
            Values::Indices(ix) => {
                // Every index is checked once; then the rows take their codes directly.
                let map = &self.map;
                if let Some(bad) = ix.iter().find(|v| **v as usize >= map.len()) {
                    return Err(format!(
                        "dictionary index {bad} out of range ({} entries)",
                        map.len()
                    ));
                }
                return spread_with(defs, ix, NULL, &mut self.codes, |v| map[v as usize]);
            }
            Values::Plain(data) => {
                let mut dict = self.strings.lock().unwrap_or_else(PoisonError::into_inner);
                let out = &mut self.values;
                plain_texts(&data, present, &mut |t| out.push(dict.intern(t)))?;
            }
        }
        spread(defs, &self.values, NULL, &mut self.codes)
    }
}

/// Reads only whether each row of a string column has a value: code 0, or [`NULL`]. The
/// dictionary page is skipped (its texts are neither interned nor checked).
struct PresenceSink {
    codes: Vec<u32>,
}

impl PageSink for PresenceSink {
    fn dictionary(&mut self, _buf: &Bytes, _entries: usize) -> Result<(), String> {
        Ok(())
    }

    fn data(&mut self, defs: &[u32], present: usize, values: Values) -> Result<(), String> {
        match values {
            Values::Indices(ix) => spread_with(defs, ix, NULL, &mut self.codes, |_| 0),
            Values::Plain(_) => {
                spread_with(defs, &vec![(); present], NULL, &mut self.codes, |()| 0)
            }
        }
    }
}

/// Reads a text column, leaving the texts in their pages.
struct TextSink {
    texts: PageTexts,
    /// The current column chunk's dictionary entries.
    entries: Vec<(u32, u32, u32)>,
    values: Vec<(u32, u32, u32)>,
}

impl TextSink {
    /// Keeps a page and appends the (page, start, length) of its `count` PLAIN texts to `out`,
    /// checking that each is UTF-8.
    fn keep(
        pages: &mut Vec<Bytes>,
        data: Bytes,
        count: usize,
        out: &mut Vec<(u32, u32, u32)>,
    ) -> Result<(), String> {
        let page = u32::try_from(pages.len()).map_err(|e| e.to_string())?;
        let mut at = 0usize;
        for _ in 0..count {
            let head = data.get(at..at + 4).ok_or("PLAIN values end early")?;
            let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let start = at + 4;
            let bytes = data
                .get(start..start + len as usize)
                .ok_or("PLAIN values end early")?;
            std::str::from_utf8(bytes).map_err(|e| format!("a text is not UTF-8: {e}"))?;
            out.push((page, u32::try_from(start).map_err(|e| e.to_string())?, len));
            at = start + len as usize;
        }
        pages.push(data);
        Ok(())
    }
}

impl PageSink for TextSink {
    fn dictionary(&mut self, buf: &Bytes, entries: usize) -> Result<(), String> {
        self.entries.clear();
        TextSink::keep(
            &mut self.texts.pages,
            buf.clone(),
            entries,
            &mut self.entries,
        )
    }

    fn data(&mut self, defs: &[u32], present: usize, values: Values) -> Result<(), String> {
        self.values.clear();
        match values {
            Values::Indices(ix) => {
                for v in ix {
                    let entry = self.entries.get(*v as usize).ok_or_else(|| {
                        format!(
                            "dictionary index {v} out of range ({} entries)",
                            self.entries.len()
                        )
                    })?;
                    self.values.push(*entry);
                }
            }
            Values::Plain(data) => {
                TextSink::keep(&mut self.texts.pages, data, present, &mut self.values)?;
            }
        }
        spread(defs, &self.values, NO_TEXT, &mut self.texts.rows)
    }
}

impl DictColumns {
    /// Walks the pages of leaf column `leaf` (no repetition, at most one definition level) in
    /// row groups `groups`, handing them to `sink`.
    fn walk(
        &self,
        file: File,
        leaf: usize,
        max_def: i16,
        groups: Range<usize>,
        sink: &mut dyn PageSink,
    ) -> Result<(), String> {
        let file = Arc::new(file);
        // Scratch: one page's definition levels and dictionary indices.
        let mut defs = Vec::new();
        let mut indices = Vec::new();
        for g in groups {
            let group = self.meta.metadata().row_group(g);
            let group_rows = usize::try_from(group.num_rows()).map_err(|e| e.to_string())?;
            let pages =
                SerializedPageReader::new(file.clone(), group.column(leaf), group_rows, None)
                    .map_err(|e| e.to_string())?;
            let mut read = 0;
            for page in pages {
                let left = group_rows - read;
                // (the page's buffer, where its definition levels start, their length when
                // the header gives it, rows in the page, value encoding)
                let (buf, at, def_len, levels, encoding) = match page.map_err(|e| e.to_string())? {
                    Page::DictionaryPage {
                        buf, num_values, ..
                    } => {
                        sink.dictionary(&buf, num_values as usize)?;
                        continue;
                    }
                    Page::DataPage {
                        buf,
                        num_values,
                        encoding,
                        def_level_encoding,
                        ..
                    } => {
                        if max_def > 0 && def_level_encoding != Encoding::RLE {
                            return Err(format!(
                                "definition levels encoded as {def_level_encoding}"
                            ));
                        }
                        (buf, 0, None, num_values as usize, encoding)
                    }
                    Page::DataPageV2 {
                        buf,
                        num_values,
                        encoding,
                        def_levels_byte_len,
                        rep_levels_byte_len,
                        ..
                    } => (
                        buf,
                        rep_levels_byte_len as usize,
                        Some(def_levels_byte_len as usize),
                        num_values as usize,
                        encoding,
                    ),
                };
                // A column without repetition has one level per row: a page claiming more rows
                // than its row group has left is corrupt (and must not size any buffer).
                if levels > left {
                    return Err(format!(
                        "a page of row group {g} holds {levels} rows where {left} are left"
                    ));
                }
                // Definition levels: whether each row has a value.
                let mut at = at;
                defs.clear();
                let present = if max_def > 0 {
                    let len = match def_len {
                        Some(len) => len,
                        None => {
                            let head = buf.get(at..at + 4).ok_or("page too short")?;
                            at += 4;
                            u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize
                        }
                    };
                    let levels_data = buf
                        .get(at..at + len)
                        .ok_or("definition levels out of range")?;
                    rle_hybrid(levels_data, 1, levels, &mut defs)?;
                    at += len;
                    defs.iter().filter(|d| **d != 0).count()
                } else {
                    levels
                };
                let rest = buf.get(at..).ok_or("page too short")?;
                let values = match encoding {
                    Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY => {
                        let (width, packed) = rest.split_first().ok_or("empty data page")?;
                        if *width > 32 {
                            return Err(format!("dictionary index width {width}"));
                        }
                        indices.clear();
                        rle_hybrid(packed, u32::from(*width), present, &mut indices)?;
                        Values::Indices(&indices)
                    }
                    Encoding::PLAIN => Values::Plain(buf.slice(at..)),
                    other => return Err(format!("values encoded as {other}")),
                };
                sink.data(&defs, present, values)?;
                read += levels;
            }
            if read != group_rows {
                return Err(format!(
                    "row group {g} holds {read} values where it has {group_rows} rows"
                ));
            }
        }
        Ok(())
    }
}

/// Appends one item per row: the next of `values` where the row's definition level says it
/// has one, `null` where not (`defs` empty: every row has one).
fn spread<T: Copy>(defs: &[u32], values: &[T], null: T, out: &mut Vec<T>) -> Result<(), String> {
    spread_with(defs, values, null, out, |v| v)
}

/// [`spread`], mapping each value with `f`.
fn spread_with<V: Copy, T: Copy>(
    defs: &[u32],
    values: &[V],
    null: T,
    out: &mut Vec<T>,
    f: impl Fn(V) -> T,
) -> Result<(), String> {
    if defs.is_empty() {
        out.extend(values.iter().map(|v| f(*v)));
        return Ok(());
    }
    out.reserve(defs.len());
    let mut next = values.iter();
    for d in defs {
        out.push(if *d == 0 {
            null
        } else {
            f(*next.next().ok_or("fewer values than defined rows")?)
        });
    }
    Ok(())
}

/// Calls `f` with each of the `count` PLAIN-encoded byte arrays of `data` (4-byte
/// little-endian length, then the bytes), which must be UTF-8.
fn plain_texts(data: &[u8], count: usize, f: &mut dyn FnMut(&str)) -> Result<(), String> {
    let mut rest = data;
    for _ in 0..count {
        let head = rest.get(..4).ok_or("PLAIN values end early")?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let bytes = rest.get(4..4 + len).ok_or("PLAIN values end early")?;
        f(std::str::from_utf8(bytes).map_err(|e| format!("a text is not UTF-8: {e}"))?);
        rest = &rest[4 + len..];
    }
    Ok(())
}

/// Decodes `count` values of `width` bits from the RLE / bit-packed hybrid encoding of the
/// Parquet format (`Encodings.md`: runs of one repeated value, and groups of eight values
/// bit-packed least significant bit first), appending them to `out`.
fn rle_hybrid(data: &[u8], width: u32, count: usize, out: &mut Vec<u32>) -> Result<(), String> {
    out.reserve(count);
    let end = out.len() + count;
    let value_bytes = width.div_ceil(8) as usize;
    let mask = if width == 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << width) - 1
    };
    let mut pos = 0;
    while out.len() < end {
        let mut header = 0u64;
        let mut shift = 0;
        loop {
            let b = *data.get(pos).ok_or("RLE data ends early")?;
            pos += 1;
            header |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 56 {
                return Err("RLE run header too long".into());
            }
        }
        let left = end - out.len();
        if header & 1 == 0 {
            // A run: the count, then the value in ceil(width / 8) bytes.
            let run = usize::try_from(header >> 1).map_err(|e| e.to_string())?;
            let bytes = data
                .get(pos..pos + value_bytes)
                .ok_or("RLE data ends early")?;
            pos += value_bytes;
            let mut v = [0u8; 4];
            v[..value_bytes].copy_from_slice(bytes);
            let value = u32::from_le_bytes(v);
            out.extend(std::iter::repeat_n(value, run.min(left)));
        } else {
            // Bit-packed groups of eight values.
            let groups = usize::try_from(header >> 1).map_err(|e| e.to_string())?;
            let len = groups
                .checked_mul(width as usize)
                .ok_or("RLE run header too large")?;
            // A writer may leave out the bytes of a last group's unused values.
            let packed = data.get(pos..(pos + len).min(data.len())).unwrap_or(&[]);
            pos += len;
            let n = groups.checked_mul(8).map_or(left, |g| g.min(left));
            let w = width as usize;
            // Whole groups of eight that are all wanted, up to 16 bits wide (dictionaries of
            // up to 65,536 entries): one load per group.
            let whole = if w <= 16 {
                (n / 8).min(packed.len() / w.max(1))
            } else {
                0
            };
            for g in 0..whole {
                let mut b = [0u8; 16];
                b[..w].copy_from_slice(&packed[g * w..(g + 1) * w]);
                let word = u128::from_le_bytes(b);
                for j in 0..8 {
                    // At most 16 bits of value: within a u32.
                    #[allow(clippy::cast_possible_truncation)]
                    out.push(((word >> (j * w)) as u64 & mask) as u32);
                }
            }
            for i in whole * 8..n {
                let bit = i * w;
                let (byte, shift) = (bit / 8, bit % 8);
                let word = match packed.get(byte..byte + 8) {
                    Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                    None => {
                        let mut b = [0u8; 8];
                        let tail = packed.get(byte..).unwrap_or(&[]);
                        b[..tail.len()].copy_from_slice(tail);
                        u64::from_le_bytes(b)
                    }
                };
                // At most 32 bits of value after a shift of at most 7: within the u64.
                #[allow(clippy::cast_possible_truncation)]
                out.push(((word >> shift) & mask) as u32);
            }
        }
    }
    Ok(())
}

/// A column chunk's dictionary mapped to the column's codes, kept while batches reuse it.
struct Maps {
    column: Col,
    last: Option<(ArrayRef, Vec<u32>)>,
}

impl Maps {
    fn new(column: Col) -> Maps {
        Maps { column, last: None }
    }

    /// Code of each entry of `values` (a dictionary's texts).
    fn map(&mut self, values: &ArrayRef) -> Result<&[u32], String> {
        let cached = matches!(&self.last, Some((v, _)) if Arc::ptr_eq(v, values));
        if !cached {
            let texts = values
                .as_string_opt::<i32>()
                .ok_or("the dictionary does not hold UTF-8 text")?;
            let strings = strings(self.column);
            let mut dict = strings.lock().unwrap_or_else(PoisonError::into_inner);
            let map = texts
                .iter()
                .map(|t| t.map_or(NULL, |t| dict.intern(t)))
                .collect();
            self.last = Some((values.clone(), map));
        }
        Ok(self.last.as_ref().map_or(&[], |(_, m)| m.as_slice()))
    }
}

/// Appends the code of each key (NULL for a null row).
fn gather(keys: &PrimitiveArray<Int32Type>, map: &[u32], out: &mut Vec<u32>) -> Result<(), String> {
    let code = |k: i32| {
        usize::try_from(k)
            .ok()
            .and_then(|k| map.get(k).copied())
            .ok_or_else(|| format!("dictionary index {k} out of range ({} entries)", map.len()))
    };
    match keys.nulls() {
        None => {
            for k in keys.values() {
                out.push(code(*k)?);
            }
        }
        Some(nulls) => {
            for (k, ok) in keys.values().iter().zip(nulls.iter()) {
                out.push(if ok { code(*k)? } else { NULL });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use super::*;
    use crate::model::SignIn;
    use crate::table::TableFile;
    use arrow::array::{ListBuilder, RecordBatch, StringArray, StringBuilder};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::{WriterProperties, WriterVersion};

    fn decode(data: &[u8], width: u32, count: usize) -> Result<Vec<u32>, String> {
        let mut out = vec![7];
        rle_hybrid(data, width, count, &mut out)?;
        assert_eq!(out.remove(0), 7, "values before the decoded ones are kept");
        Ok(out)
    }

    #[test]
    fn rle_hybrid_decodes_the_format_examples() {
        // Encodings.md: 0..7 bit-packed with width 3 are the bytes 10001000 11000110 11111010.
        assert_eq!(
            decode(&[0x03, 0x88, 0xC6, 0xFA], 3, 8).unwrap(),
            vec![0, 1, 2, 3, 4, 5, 6, 7]
        );
        // A run of five 300s with width 9: header 5 << 1, value in two bytes.
        assert_eq!(decode(&[0x0A, 0x2C, 0x01], 9, 5).unwrap(), vec![300; 5]);
        // A run, then bit-packed values of which only the first three are wanted.
        assert_eq!(
            decode(&[0x04, 0x01, 0x03, 0x88, 0xC6, 0xFA], 3, 5).unwrap(),
            vec![1, 1, 0, 1, 2]
        );
        // A run longer than the page's values stops at the count.
        assert_eq!(decode(&[0x64, 0x01], 1, 3).unwrap(), vec![1, 1, 1]);
        // Width 0: every value is 0 (a dictionary of one entry).
        assert_eq!(decode(&[0x06], 0, 3).unwrap(), vec![0, 0, 0]);
        assert_eq!(decode(&[0x03], 0, 4).unwrap(), vec![0; 4]);
        // Width 32: the full range.
        assert_eq!(
            decode(&[0x02, 0xFF, 0xFF, 0xFF, 0xFF], 32, 1).unwrap(),
            vec![u32::MAX]
        );
        // A last bit-packed group whose unused values' bytes were left out.
        assert_eq!(decode(&[0x03, 0x88], 3, 2).unwrap(), vec![0, 1]);
        // Data that ends before the values do is an error, not a panic.
        assert!(decode(&[0x0A], 9, 5).is_err());
        assert!(decode(&[], 1, 1).is_err());
        assert!(decode(&[0xFF; 12], 1, 1).is_err());
        // A bit-packed header whose group count overflows when multiplied by the width (found
        // by the signin_parquet fuzz target): an error, not an overflow.
        let huge = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
        assert!(decode(&huge, 6, 5).is_err());
    }

    /// The hybrid encoding of `values`, as a writer may produce it: `runs` says for each
    /// stretch of the input whether it is written as a run (when its values are equal) or
    /// bit-packed.
    fn encode(values: &[u32], width: u32, runs: &[(usize, bool)]) -> Vec<u8> {
        fn uleb(mut v: usize, out: &mut Vec<u8>) {
            loop {
                let b = u8::try_from(v & 0x7f).unwrap();
                v >>= 7;
                if v == 0 {
                    out.push(b);
                    return;
                }
                out.push(b | 0x80);
            }
        }
        let mut out = Vec::new();
        let mut at = 0;
        let mut plan = runs.iter().cycle();
        while at < values.len() {
            let (len, as_run) = *plan.next().unwrap();
            let len = len.clamp(1, values.len() - at);
            let part = &values[at..at + len];
            if as_run && part.iter().all(|v| *v == part[0]) {
                uleb(len << 1, &mut out);
                let bytes = part[0].to_le_bytes();
                out.extend_from_slice(&bytes[..width.div_ceil(8) as usize]);
                at += len;
            } else {
                // Groups of eight, the last one padded with zeros.
                let groups = len.div_ceil(8);
                uleb((groups << 1) | 1, &mut out);
                let mut bits = vec![0u8; groups * width as usize];
                for (i, v) in part.iter().enumerate() {
                    for b in 0..width as usize {
                        if v >> b & 1 == 1 {
                            let bit = i * width as usize + b;
                            bits[bit / 8] |= 1 << (bit % 8);
                        }
                    }
                }
                out.extend_from_slice(&bits);
                at += len;
                // A padded group holds values past `len`: only the last stretch may.
                if at < values.len() && len % 8 != 0 {
                    return Vec::new();
                }
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn rle_hybrid_decodes_what_a_writer_encodes(
            width in 0u32..=32,
            raw in proptest::collection::vec(proptest::num::u32::ANY, 0..300),
            repeat in 1usize..40,
            runs in proptest::collection::vec((1usize..50, proptest::bool::ANY), 1..6),
        ) {
            let mask = if width == 32 { u32::MAX } else { (1u32 << width) - 1 };
            // Runs of equal values, as dictionary indices of repeated rows are.
            let values: Vec<u32> = raw.iter().flat_map(|v| std::iter::repeat_n(*v & mask, repeat % 7 + 1)).collect();
            // Stretches of whole groups of eight, so that only the last one is padded.
            let runs: Vec<(usize, bool)> = runs.iter().map(|(l, r)| (l * 8, *r)).collect();
            let data = encode(&values, width, &runs);
            proptest::prop_assume!(!data.is_empty() || values.is_empty());
            proptest::prop_assert_eq!(decode(&data, width, values.len()).unwrap(), values);
        }
    }

    #[test]
    fn plain_texts_reads_lengths_and_checks_utf8() {
        let mut seen = Vec::new();
        plain_texts(b"\x02\0\0\0ab\0\0\0\0\x01\0\0\0c", 3, &mut |t| {
            seen.push(t.to_string())
        })
        .unwrap();
        assert_eq!(seen, ["ab", "", "c"]);
        assert!(plain_texts(b"\x02\0\0\0a", 1, &mut |_| {}).is_err());
        assert!(plain_texts(b"\x01\0\0\0\xff", 1, &mut |_| {}).is_err());
    }

    const ROWS: usize = 20_000;

    /// A sign-in table as another tool would write it: nulls in runs longer than a page,
    /// many and few distinct values, a column that is null throughout, lists with null
    /// and empty entries.
    fn batch() -> RecordBatch {
        let text = |f: &dyn Fn(usize) -> Option<String>| -> ArrayRef {
            Arc::new((0..ROWS).map(f).collect::<StringArray>())
        };
        let mut nets = ListBuilder::new(StringBuilder::new());
        for i in 0..ROWS {
            match i % 7 {
                0 => nets.append_null(),
                1 => nets.append(true),
                2 => {
                    nets.values().append_value(format!("net-{}", i % 5));
                    nets.values().append_null();
                    nets.values().append_value("corp");
                    nets.append(true);
                }
                _ => {
                    nets.values().append_value(format!("net-{}", i % 3));
                    nets.append(true);
                }
            }
        }
        RecordBatch::try_from_iter([
            ("id", text(&|i| Some(format!("id-{i}")))),
            ("createdDateTime", text(&|_| Some("2026-11-01T08:00:00Z".into()))),
            // A unique text with nulls (one in three), not ASCII throughout.
            ("correlationId", text(&|i| (i % 3 != 0).then(|| format!("corr-é-{i}")))),
            // Null for the first 6,000 rows, then 3,000 distinct users with a null in five.
            (
                "userId",
                text(&|i| (i >= 6_000 && i % 5 != 0).then(|| format!("user-{:05}", i % 3_000))),
            ),
            ("appId", text(&|i| Some(["a", "b", "c"][i % 3].to_string()))),
            ("country", text(&|_| None)),
            // Long texts with few distinct values, as appliedPolicies has.
            (
                "appliedPolicies",
                text(&|i| {
                    Some(format!(
                        r#"[{{"id":"p{}","displayName":"{}","result":"success","enforcedGrantControls":["mfa"],"enforcedSessionControls":[]}}]"#,
                        i % 11,
                        "x".repeat(200)
                    ))
                }),
            ),
            ("networkNames", Arc::new(nets.finish()) as ArrayRef),
        ])
        .unwrap()
    }

    fn write(path: &Path, props: WriterProperties) {
        let b = batch();
        let mut w =
            ArrowWriter::try_new(File::create(path).unwrap(), b.schema(), Some(props)).unwrap();
        w.write(&b).unwrap();
        w.close().unwrap();
    }

    fn rows(file: &TableFile) -> Vec<SignIn> {
        let mut out = Vec::new();
        file.read_rows(&mut |s| out.push(s)).unwrap();
        out
    }

    /// (value encoding, whether every row is null) of each data page of `userId`.
    fn user_pages(path: &Path) -> Vec<(Encoding, bool)> {
        let file = Arc::new(File::open(path).unwrap());
        let meta = ArrowReaderMetadata::load(file.as_ref(), ArrowReaderOptions::new()).unwrap();
        let descr = meta.parquet_schema();
        let leaf = (0..descr.num_columns())
            .find(|l| descr.column(*l).name() == "userId")
            .unwrap();
        let mut out = Vec::new();
        for group in meta.metadata().row_groups() {
            let rows = usize::try_from(group.num_rows()).unwrap();
            let pages =
                SerializedPageReader::new(file.clone(), group.column(leaf), rows, None).unwrap();
            for page in pages {
                match page.unwrap() {
                    // Version 1 headers do not count nulls.
                    Page::DataPage { encoding, .. } => out.push((encoding, false)),
                    Page::DataPageV2 {
                        encoding,
                        num_values,
                        num_nulls,
                        ..
                    } => {
                        out.push((encoding, num_values == num_nulls));
                    }
                    Page::DictionaryPage { .. } => {}
                }
            }
        }
        out
    }

    /// Reads the file both ways and checks which columns were read here.
    fn check(path: &Path, props: WriterProperties, pages: &[Col], arrow: &[Col]) {
        write(path, props);
        let file = TableFile::open(path).unwrap();
        // Every string column of the table: READ_HERE lists them all.
        for &c in READ_HERE {
            let read = file.dict.as_ref().and_then(|d| d.roots.get(&c).copied());
            assert_eq!(
                matches!(read, Some(Source::Pages { .. })),
                pages.contains(&c),
                "{c:?} read page by page"
            );
        }
        let listed = file
            .dict
            .as_ref()
            .and_then(|d| d.roots.get(&Col::NetworkNames).copied());
        assert_eq!(
            matches!(listed, Some(Source::Arrow { .. })),
            arrow.contains(&Col::NetworkNames)
        );
        let here = rows(&file);
        let polars = rows(&TableFile::open(path).unwrap().through_polars());
        assert_eq!(here.len(), ROWS);
        assert_eq!(here, polars);
        // The values are the written ones, not just the same both ways.
        assert_eq!(here[5_999].user_id, None);
        assert_eq!(here[6_001].user_id.as_deref(), Some("user-00001"));
        assert_eq!(here[6_005].user_id, None);
        assert_eq!(here[4].app_id.as_deref(), Some("b"));
        assert_eq!(here[0].network_names, None);
        assert_eq!(here[1].network_names, Some(vec![]));
        assert_eq!(
            here[2].network_names,
            Some(vec!["net-2".to_string(), "corp".to_string()])
        );
        assert!(here.iter().all(|s| s.country.is_none()));
        assert_eq!(here[19_999].id, "id-19999");
        assert_eq!(here[3].correlation_id, None);
        assert_eq!(here[4].correlation_id.as_deref(), Some("corr-é-4"));
        assert_eq!(here[4].created_date_time, "2026-11-01T08:00:00Z");
        let applied = here[3].applied_policies.as_ref().unwrap();
        assert_eq!(applied[0].id, "p3");
        // Read for presence only, a column's codes say which rows have a value, and page by
        // page they are nothing more (its dictionary is not read).
        let mut present = Vec::new();
        let mut only_presence = true;
        file.batches_with_presence(&[Col::UserId], &[Col::UserId], 7_000, &mut |b| {
            let c = b.codes(Col::UserId)?;
            present.extend(c.codes.iter().map(|x| *x != NULL));
            only_presence &= c.codes.iter().all(|x| *x == 0 || *x == NULL) && c.dict.len() == 1;
            Ok::<(), crate::error::InputError>(())
        })
        .unwrap();
        let expected: Vec<bool> = here.iter().map(|s| s.user_id.is_some()).collect();
        assert_eq!(present, expected);
        assert_eq!(only_presence, pages.contains(&Col::UserId));
    }

    fn table() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        (dir, path)
    }

    /// The table's plain string columns.
    const READ_HERE: &[Col] = &[
        Col::Id,
        Col::CreatedDateTime,
        Col::CorrelationId,
        Col::UserId,
        Col::AppId,
        Col::Country,
        Col::AppliedPolicies,
    ];

    #[test]
    fn dictionary_pages_v1_uncompressed() {
        let (_dir, path) = table();
        check(
            &path,
            WriterProperties::builder().build(),
            READ_HERE,
            &[Col::NetworkNames],
        );
    }

    #[test]
    fn v2_pages_zstd_many_pages_and_row_groups_and_plain_fallback() {
        let props = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_compression(Compression::ZSTD(Default::default()))
            .set_data_page_row_count_limit(700)
            .set_write_batch_size(100)
            // Small enough that userId's dictionary overflows and the writer falls back to PLAIN.
            .set_dictionary_page_size_limit(8 * 1024)
            .set_max_row_group_row_count(Some(3_000))
            // Version 2's own fallback is DELTA_BYTE_ARRAY, which goes through polars (below).
            .set_encoding(Encoding::PLAIN)
            .build();
        let (_dir, path) = table();
        check(&path, props, READ_HERE, &[Col::NetworkNames]);
        // The file has what the test is about: pages of dictionary indices, PLAIN pages after
        // the dictionary overflowed, and pages with no value at all.
        let pages = user_pages(&path);
        assert!(pages.iter().any(|p| p.0 == Encoding::RLE_DICTIONARY));
        assert!(pages.iter().any(|p| p.0 == Encoding::PLAIN && !p.1));
        assert!(pages.iter().any(|p| p.1));
    }

    #[test]
    fn plain_pages_snappy() {
        let props = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_compression(Compression::SNAPPY)
            .build();
        let (_dir, path) = table();
        check(&path, props, READ_HERE, &[Col::NetworkNames]);
    }

    #[test]
    fn encodings_the_page_reader_lacks_go_through_polars() {
        let props = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_encoding(Encoding::DELTA_BYTE_ARRAY)
            .build();
        // Lists go through the Arrow reader, which decodes every encoding.
        let (_dir, path) = table();
        check(&path, props, &[], &[Col::NetworkNames]);
    }

    #[test]
    fn codecs_this_build_lacks_go_through_polars() {
        use polars::prelude as pl;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gzip.parquet");
        let mut df = pl::DataFrame::new(
            3,
            vec![
                pl::Column::new("id".into(), ["a", "b", "c"]),
                pl::Column::new("createdDateTime".into(), ["t", "t", "t"]),
                pl::Column::new("userId".into(), [Some("u1"), None, Some("u1")]),
            ],
        )
        .unwrap();
        pl::ParquetWriter::new(File::create(&path).unwrap())
            .with_compression(pl::ParquetCompression::Gzip(None))
            .finish(&mut df)
            .unwrap();
        let file = TableFile::open(&path).unwrap();
        assert!(file.dict.is_none());
        let users: Vec<Option<String>> = rows(&file).into_iter().map(|s| s.user_id).collect();
        assert_eq!(
            users,
            [Some("u1".to_string()), None, Some("u1".to_string())]
        );
    }
}
