//! decisions.parquet: the decision rows in compact columns for BI tools.
//!
//! Columns: signInId, correlationId, userId, createdDateTime (UTC timestamp, ms), candidateStatus,
//! candidateControls (list of strings), candidatePolicies (JSON text of the per-policy results,
//! dictionary-encoded), baselineStatus, baselineControls, baselinePolicies (likewise),
//! changed (nullable boolean).
//!
//! A side's `policies` text is kilobytes long and repeats across rows (one per outcome, or per
//! outcome and address): those two columns are Arrow dictionaries (string values, 32-bit keys),
//! so each row group stores each distinct text once and every row a small index into it.
//!
//! vigil encodes those two column chunks itself (see [`dictionary_chunk`]): it knows which rows
//! share a text (they hand in the same `Arc`), so each distinct text is copied once per row
//! group, where the Arrow writer would hash and compare every row's kilobytes of text to find
//! the same dictionary. The other columns go through the Arrow column writers.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, ListBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, ColumnPath};

use crate::columnar::FxMap;
use crate::simulate::{DecisionRow, Side, SimulateError};

/// Rows per row group at most: each row group's dictionaries hold the distinct `policies` texts
/// of its rows.
const ROW_GROUP: usize = 65_536;
/// A row group also ends once the distinct `policies` texts of its rows (its dictionaries, both
/// columns) reach this size, or the other texts held for it reach [`ROW_GROUP_HELD_BYTES`], so
/// the texts held for a row group and its dictionary pages stay bounded.
const ROW_GROUP_TEXT_BYTES: usize = 256 << 20;
const ROW_GROUP_HELD_BYTES: usize = 512 << 20;
/// Leaf columns of the `policies` texts (in [`schema`] order), which vigil encodes itself.
const CANDIDATE_POLICIES: usize = 6;
const BASELINE_POLICIES: usize = 9;

/// The identifying columns of one decision row.
pub struct RowIds<'a> {
    /// Sign-in id.
    pub sign_in_id: &'a str,
    /// Correlation id.
    pub correlation_id: Option<&'a str>,
    /// User object id.
    pub user_id: Option<&'a str>,
    /// RFC 3339 UTC.
    pub created_date_time: &'a str,
}

/// One side of a decision row: its status and controls, and its `policies` as JSON text.
pub struct SideCols<'a> {
    /// Overall status.
    pub status: &'a str,
    /// Controls demanded and not already satisfied.
    pub controls: &'a [String],
    /// The JSON of the side's `policies`. Rows that hand in the same `Arc` share one value in
    /// the batch given to the Parquet writer.
    pub policies: &'a PolicyText,
}

/// A side's `policies` JSON: whole, or as the JSON of each policy's result (joined with commas
/// in brackets when written), which many rows can share without the joined text being made
/// for each of them.
#[derive(Clone)]
pub enum PolicyText {
    /// The whole array.
    Text(Arc<str>),
    /// The array's elements.
    Parts(Arc<[Arc<str>]>),
}

impl PolicyText {
    /// The address of the shared value (equal for clones).
    fn addr(&self) -> usize {
        match self {
            PolicyText::Text(t) => t.as_ptr() as usize,
            PolicyText::Parts(p) => p.as_ptr() as usize,
        }
    }

    /// The whole array.
    pub fn text(&self) -> Arc<str> {
        match self {
            PolicyText::Text(t) => t.clone(),
            PolicyText::Parts(p) => {
                let mut s = String::with_capacity(2 + p.iter().map(|x| x.len() + 1).sum::<usize>());
                s.push('[');
                for (i, x) in p.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    s.push_str(x);
                }
                s.push(']');
                s.into()
            }
        }
    }

    /// Writes the whole array.
    pub fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        match self {
            PolicyText::Text(t) => w.write_all(t.as_bytes()),
            PolicyText::Parts(p) => {
                w.write_all(b"[")?;
                for (i, x) in p.iter().enumerate() {
                    if i > 0 {
                        w.write_all(b",")?;
                    }
                    w.write_all(x.as_bytes())?;
                }
                w.write_all(b"]")
            }
        }
    }

    /// Bytes the value itself holds (a part list holds only pointers to shared texts).
    fn held(&self) -> usize {
        match self {
            PolicyText::Text(t) => t.len(),
            PolicyText::Parts(p) => std::mem::size_of_val::<[Arc<str>]>(p),
        }
    }
}

impl From<Arc<str>> for PolicyText {
    fn from(t: Arc<str>) -> PolicyText {
        PolicyText::Text(t)
    }
}

/// Streams decision rows into a Parquet file.
pub struct ParquetSink {
    path: PathBuf,
    writer: SerializedFileWriter<File>,
    columns: ArrowRowGroupWriterFactory,
    schema: Arc<Schema>,
    cols: Builders,
    /// Buffers of [`dictionary_chunk`], kept between row groups (fresh ones of this size
    /// would cost the kernel's zeroing of their pages every time).
    scratch: Scratch,
}

/// Buffers for encoding a column chunk: its pages before and after compression.
#[derive(Default)]
struct Scratch {
    raw: Vec<u8>,
    packed: Vec<u8>,
}

struct Builders {
    id: StringBuilder,
    corr: StringBuilder,
    user: StringBuilder,
    created: TimestampMillisecondBuilder,
    c_status: StringBuilder,
    c_controls: ListBuilder<StringBuilder>,
    c_policies: Texts,
    b_status: StringBuilder,
    b_controls: ListBuilder<StringBuilder>,
    b_policies: Texts,
    changed: BooleanBuilder,
}

/// A dictionary column being built: one key per row, and the distinct texts handed in. A text
/// is looked up by its `Arc` (which the column holds until it is written, so no address is
/// reused), and the first time an `Arc` comes by, by its content: rows share a dictionary value
/// when their texts are equal, and each `Arc`'s text is hashed once, not once per row.
#[derive(Default)]
struct Texts {
    keys: Vec<Option<u32>>,
    /// The dictionary: distinct texts, in order of first use.
    values: Vec<Arc<str>>,
    by_addr: FxMap<usize, u32>,
    by_text: FxMap<Arc<str>, u32>,
    /// Values handed in whose address `values` does not hold (a text already there, or a
    /// part list), held for their address.
    held: Vec<PolicyText>,
    /// Bytes of `values`.
    bytes: usize,
    /// Bytes of `held`.
    held_bytes: usize,
}

impl Texts {
    fn append(&mut self, text: Option<&PolicyText>) {
        let Some(text) = text else {
            self.keys.push(None);
            return;
        };
        let addr = text.addr();
        let key = match self.by_addr.get(&addr) {
            Some(key) => *key,
            None => {
                let next = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
                let whole = text.text();
                let key = *self.by_text.entry(whole.clone()).or_insert(next);
                let holds_addr = matches!(text, PolicyText::Text(_)) && key == next;
                if key == next {
                    self.bytes += whole.len();
                    self.values.push(whole);
                }
                if !holds_addr {
                    self.held_bytes += text.held();
                    self.held.push(text.clone());
                }
                self.by_addr.insert(addr, key);
                key
            }
        };
        self.keys.push(Some(key));
    }

    fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
        self.by_addr.clear();
        self.by_text.clear();
        self.held.clear();
        self.bytes = 0;
        self.held_bytes = 0;
    }
}

impl Builders {
    fn new() -> Builders {
        Builders {
            id: StringBuilder::new(),
            corr: StringBuilder::new(),
            user: StringBuilder::new(),
            created: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            c_status: StringBuilder::new(),
            c_controls: ListBuilder::new(StringBuilder::new()),
            c_policies: Texts::default(),
            b_status: StringBuilder::new(),
            b_controls: ListBuilder::new(StringBuilder::new()),
            b_policies: Texts::default(),
            changed: BooleanBuilder::new(),
        }
    }
}

fn schema() -> Arc<Schema> {
    let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let texts = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    Arc::new(Schema::new(vec![
        Field::new("signInId", DataType::Utf8, false),
        Field::new("correlationId", DataType::Utf8, true),
        Field::new("userId", DataType::Utf8, true),
        Field::new(
            "createdDateTime",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("candidateStatus", DataType::Utf8, false),
        Field::new("candidateControls", list.clone(), false),
        Field::new("candidatePolicies", texts.clone(), false),
        Field::new("baselineStatus", DataType::Utf8, true),
        Field::new("baselineControls", list, true),
        Field::new("baselinePolicies", texts, true),
        Field::new("changed", DataType::Boolean, true),
    ]))
}

impl ParquetSink {
    /// Creates the file.
    pub fn create(path: &Path) -> Result<ParquetSink, SimulateError> {
        let err = |reason: String| SimulateError::Output {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::create(path).map_err(|e| err(e.to_string()))?;
        // A policies text repeats across rows (one per outcome, or per outcome and address)
        // and is kilobytes long: a dictionary large enough to hold a row group's distinct ones
        // keeps each row's value a small index instead of compressing it again and again.
        // Their minimum and maximum would compare kilobytes per row and tell a reader nothing.
        let mut props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY);
        for col in ["candidatePolicies", "baselinePolicies"] {
            props = props.set_column_statistics_enabled(
                ColumnPath::from(col),
                parquet::file::properties::EnabledStatistics::None,
            );
        }
        let props = props.build();
        let schema = schema();
        // The Arrow writer sets up the file (its schema and the Arrow schema in its metadata);
        // row groups are then written column chunk by column chunk.
        let (writer, columns) = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(|e| err(e.to_string()))?;
        Ok(ParquetSink {
            path: path.to_path_buf(),
            writer,
            columns,
            schema,
            cols: Builders::new(),
            scratch: Scratch::default(),
        })
    }

    fn err(&self, reason: String) -> SimulateError {
        SimulateError::Output {
            path: self.path.clone(),
            reason,
        }
    }

    /// Adds one row.
    pub fn push(&mut self, r: &DecisionRow) -> Result<(), SimulateError> {
        let json = |s: &Side| -> Arc<str> {
            serde_json::to_string(&s.policies)
                .unwrap_or_default()
                .into()
        };
        let cand = PolicyText::Text(json(&r.candidate));
        let base = r
            .baseline
            .as_deref()
            .map(|b| (b, PolicyText::Text(json(b))));
        self.push_row(
            RowIds {
                sign_in_id: r.sign_in_id,
                correlation_id: r.correlation_id,
                user_id: r.user_id,
                created_date_time: r.created_date_time,
            },
            SideCols {
                status: &r.candidate.status,
                controls: &r.candidate.controls,
                policies: &cand,
            },
            base.as_ref().map(|(b, policies)| SideCols {
                status: &b.status,
                controls: &b.controls,
                policies,
            }),
            r.changed,
        )
    }

    /// Adds one row whose sides' `policies` are already JSON text.
    pub fn push_row(
        &mut self,
        ids: RowIds,
        candidate: SideCols,
        baseline: Option<SideCols>,
        changed: Option<bool>,
    ) -> Result<(), SimulateError> {
        let c = &mut self.cols;
        c.id.append_value(ids.sign_in_id);
        c.corr.append_option(ids.correlation_id);
        c.user.append_option(ids.user_id);
        c.created.append_option(
            ids.created_date_time
                .parse::<jiff::Timestamp>()
                .ok()
                .map(|t| t.as_millisecond()),
        );
        c.c_status.append_value(candidate.status);
        push_controls(&mut c.c_controls, Some(candidate.controls));
        c.c_policies.append(Some(candidate.policies));
        c.b_status
            .append_option(baseline.as_ref().map(|b| b.status));
        push_controls(&mut c.b_controls, baseline.as_ref().map(|b| b.controls));
        c.b_policies.append(baseline.as_ref().map(|b| b.policies));
        c.changed.append_option(changed);
        if c.c_policies.keys.len() >= ROW_GROUP
            || c.c_policies.bytes + c.b_policies.bytes >= ROW_GROUP_TEXT_BYTES
            || c.c_policies.held_bytes + c.b_policies.held_bytes >= ROW_GROUP_HELD_BYTES
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the rows held as one row group.
    fn flush(&mut self) -> Result<(), SimulateError> {
        if self.cols.c_policies.keys.is_empty() {
            return Ok(());
        }
        self.write_row_group()
            .map_err(|e| self.err(e.to_string()))?;
        self.cols.c_policies.clear();
        self.cols.b_policies.clear();
        Ok(())
    }

    fn write_row_group(&mut self) -> Result<(), parquet::errors::ParquetError> {
        /// One column chunk of the row group, encoded.
        enum Chunk {
            Arrow(ArrowColumnChunk),
            Own(Bytes, ColumnCloseResult),
        }
        let c = &mut self.cols;
        // Every field is one leaf column, in schema order; the two `policies` columns are
        // encoded here, the others by the Arrow column writers.
        let arrays: [ArrayRef; 9] = [
            Arc::new(c.id.finish()),
            Arc::new(c.corr.finish()),
            Arc::new(c.user.finish()),
            Arc::new(c.created.finish()),
            Arc::new(c.c_status.finish()),
            Arc::new(c.c_controls.finish()),
            Arc::new(c.b_status.finish()),
            Arc::new(c.b_controls.finish()),
            Arc::new(c.changed.finish()),
        ];
        let mut arrays = arrays.into_iter();
        let leaves = self.writer.schema_descr().columns().to_vec();
        let writers = self
            .columns
            .create_column_writers(self.writer.flushed_row_groups().len())?;
        let mut chunks = Vec::with_capacity(writers.len());
        for (i, mut writer) in writers.into_iter().enumerate() {
            let texts = match i {
                CANDIDATE_POLICIES => Some(&c.c_policies),
                BASELINE_POLICIES => Some(&c.b_policies),
                _ => None,
            };
            let chunk = if let Some(texts) = texts {
                let (bytes, close) = dictionary_chunk(leaves[i].clone(), texts, &mut self.scratch)?;
                Chunk::Own(bytes, close)
            } else {
                let array = arrays
                    .next()
                    .ok_or_else(|| parquet::errors::ParquetError::General("no column".into()))?;
                for leaf in compute_leaves(self.schema.field(i), &array)? {
                    writer.write(&leaf)?;
                }
                Chunk::Arrow(writer.close()?)
            };
            chunks.push(chunk);
        }
        let mut group = self.writer.next_row_group()?;
        for chunk in chunks {
            match chunk {
                Chunk::Arrow(chunk) => chunk.append_to_row_group(&mut group)?,
                Chunk::Own(bytes, close) => group.append_column(&bytes, close)?,
            }
        }
        group.close()?;
        Ok(())
    }

    /// Writes the remaining rows and the footer.
    pub fn finish(mut self) -> Result<(), SimulateError> {
        self.flush()?;
        let path = self.path.clone();
        self.writer.close().map_err(|e| SimulateError::Output {
            path,
            reason: e.to_string(),
        })?;
        Ok(())
    }
}

fn push_controls(b: &mut ListBuilder<StringBuilder>, controls: Option<&[String]>) {
    match controls {
        Some(controls) => {
            for c in controls {
                b.values().append_value(c);
            }
            b.append(true);
        }
        None => b.append(false),
    }
}

/// The column chunk of a `policies` text column for one row group: a dictionary page of the
/// distinct texts (PLAIN) and one data page of the rows' definition levels (when the column is
/// nullable) and dictionary indices (RLE_DICTIONARY), snappy-compressed, as a Parquet writer
/// lays them out; with the chunk's metadata (offsets relative to the returned bytes).
fn dictionary_chunk(
    descr: ColumnDescPtr,
    texts: &Texts,
    scratch: &mut Scratch,
) -> Result<(Bytes, ColumnCloseResult), parquet::errors::ParquetError> {
    let too_large = |_| parquet::errors::ParquetError::General("too many values".into());
    let rows = texts.keys.len();
    let mut snappy = snap::raw::Encoder::new();
    // Compresses `scratch.raw` into a new buffer of its compressed size.
    let mut compress = |scratch: &mut Scratch| {
        let Scratch { raw, packed } = scratch;
        let max = snap::raw::max_compress_len(raw.len());
        if packed.len() < max {
            packed.resize(max, 0);
        }
        let n = snappy
            .compress(raw, packed)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        Ok::<_, parquet::errors::ParquetError>(Bytes::copy_from_slice(&packed[..n]))
    };

    let dict = &mut scratch.raw;
    dict.clear();
    for v in &texts.values {
        dict.extend_from_slice(&u32::try_from(v.len()).map_err(too_large)?.to_le_bytes());
        dict.extend_from_slice(v.as_bytes());
    }
    let dict_len = dict.len();
    let dict_page = CompressedPage::new(
        Page::DictionaryPage {
            buf: compress(scratch)?,
            num_values: u32::try_from(texts.values.len()).map_err(too_large)?,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        },
        dict_len,
    );

    let data = &mut scratch.raw;
    data.clear();
    if descr.max_def_level() > 0 {
        let mut levels = Vec::new();
        let defined: Vec<u32> = texts.keys.iter().map(|k| u32::from(k.is_some())).collect();
        rle_hybrid(&defined, 1, &mut levels);
        data.extend_from_slice(
            &u32::try_from(levels.len())
                .map_err(too_large)?
                .to_le_bytes(),
        );
        data.extend_from_slice(&levels);
    }
    let keys: Vec<u32> = texts.keys.iter().flatten().copied().collect();
    let width = bit_width(texts.values.len().saturating_sub(1) as u64);
    data.push(width);
    rle_hybrid(&keys, width, data);
    let data_len = data.len();
    let data_page = CompressedPage::new(
        Page::DataPage {
            buf: compress(scratch)?,
            num_values: u32::try_from(rows).map_err(too_large)?,
            encoding: Encoding::RLE_DICTIONARY,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        },
        data_len,
    );

    let mut sink = TrackedWrite::new(Vec::with_capacity(
        dict_page.compressed_size() + data_page.compressed_size() + 1024,
    ));
    let mut pages = SerializedPageWriter::new(&mut sink);
    let dict_spec = pages.write_page(dict_page)?;
    let data_spec = pages.write_page(data_page)?;
    pages.close()?;
    let bytes = sink.into_inner()?;
    let compressed = dict_spec.compressed_size + data_spec.compressed_size;
    let uncompressed = dict_spec.uncompressed_size + data_spec.uncompressed_size;
    let as_i64 = |n: usize| i64::try_from(n).map_err(too_large);
    let metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::SNAPPY)
        .set_encodings(vec![
            Encoding::PLAIN,
            Encoding::RLE,
            Encoding::RLE_DICTIONARY,
        ])
        .set_num_values(as_i64(rows)?)
        .set_total_compressed_size(as_i64(compressed)?)
        .set_total_uncompressed_size(as_i64(uncompressed)?)
        .set_dictionary_page_offset(Some(i64::try_from(dict_spec.offset).map_err(too_large)?))
        .set_data_page_offset(i64::try_from(data_spec.offset).map_err(too_large)?)
        .build()?;
    Ok((
        Bytes::from(bytes),
        ColumnCloseResult {
            bytes_written: compressed as u64,
            rows_written: rows as u64,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        },
    ))
}

/// Bits needed to write `max`.
fn bit_width(max: u64) -> u8 {
    u8::try_from(u64::BITS - max.leading_zeros()).unwrap_or(64)
}

/// Appends `values` (each below `1 << width`) in Parquet's RLE / bit-packing hybrid encoding:
/// a run of 8 or more equal values as one repeated value, the others bit-packed in groups of 8
/// (the last group padded with zeros).
fn rle_hybrid(values: &[u32], width: u8, out: &mut Vec<u8>) {
    let value_bytes = usize::from(width).div_ceil(8);
    let varint = |out: &mut Vec<u8>, mut v: u64| {
        while v >= 0x80 {
            out.push(v.to_le_bytes()[0] | 0x80);
            v >>= 7;
        }
        out.push(v.to_le_bytes()[0]);
    };
    // Length of the run of equal values starting at `i`.
    let run_at = |i: usize| values[i..].iter().take_while(|v| **v == values[i]).count();
    let mut i = 0;
    while i < values.len() {
        let run = run_at(i);
        if run >= 8 {
            varint(out, (run as u64) << 1);
            out.extend_from_slice(&values[i].to_le_bytes()[..value_bytes]);
            i += run;
            continue;
        }
        // Bit-packed groups of 8 until a run of 8 starts a group (or the values end), at most
        // 63 groups per header.
        let start = i;
        let mut groups = 0usize;
        while i < values.len() && groups < 63 && (groups == 0 || run_at(i) < 8) {
            i = (i + 8).min(values.len());
            groups += 1;
        }
        varint(out, ((groups as u64) << 1) | 1);
        let mut acc: u64 = 0;
        let mut bits = 0u32;
        for k in 0..groups * 8 {
            let v = values.get(start + k).copied().unwrap_or(0);
            acc |= u64::from(v) << bits;
            bits += u32::from(width);
            while bits >= 8 {
                out.push(acc.to_le_bytes()[0]);
                acc >>= 8;
                bits -= 8;
            }
        }
        // Eight values of `width` bits end on a byte boundary.
        debug_assert_eq!(bits, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, RecordBatch, StringDictionaryBuilder};
    use arrow::datatypes::{Int32Type, TimestampMillisecondType};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Every column of a file read back, per column its rows as text (None for null).
    fn columns(path: &Path) -> Vec<Vec<Option<String>>> {
        let file = File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut out: Vec<Vec<Option<String>>> = vec![Vec::new(); schema().fields().len()];
        for batch in reader {
            let batch = batch.unwrap();
            assert_eq!(batch.schema().fields(), schema().fields());
            for (col, array) in out.iter_mut().zip(batch.columns()) {
                if let DataType::Timestamp(..) = array.data_type() {
                    let t = array.as_primitive::<TimestampMillisecondType>();
                    col.extend((0..t.len()).map(|i| t.is_valid(i).then(|| t.value(i).to_string())));
                    continue;
                }
                let f = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).unwrap();
                for i in 0..array.len() {
                    col.push((!array.is_null(i)).then(|| f.value(i).to_string()));
                }
            }
        }
        out
    }

    /// One generated row: ids, and per side (status, controls, policies).
    type Row = (
        String,
        Option<String>,
        Option<String>,
        String,
        (String, Vec<String>, Arc<str>),
        Option<(String, Vec<String>, Arc<str>)>,
        Option<bool>,
    );

    /// The same rows written by the Arrow writer alone (the `policies` texts as dictionary
    /// arrays it encodes itself).
    fn write_with_arrow(path: &Path, rows: &[Row]) {
        let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), schema(), None).unwrap();
        for chunk in rows.chunks(10_000) {
            let mut b = Builders::new();
            let mut cand = StringDictionaryBuilder::<Int32Type>::new();
            let mut base = StringDictionaryBuilder::<Int32Type>::new();
            for (id, corr, user, created, c, bside, changed) in chunk {
                b.id.append_value(id);
                b.corr.append_option(corr.as_deref());
                b.user.append_option(user.as_deref());
                b.created.append_option(
                    created
                        .parse::<jiff::Timestamp>()
                        .ok()
                        .map(|t| t.as_millisecond()),
                );
                b.c_status.append_value(&c.0);
                push_controls(&mut b.c_controls, Some(&c.1));
                cand.append_value(&*c.2);
                b.b_status.append_option(bside.as_ref().map(|x| &x.0));
                push_controls(&mut b.b_controls, bside.as_ref().map(|x| x.1.as_slice()));
                base.append_option(bside.as_ref().map(|x| &*x.2));
                b.changed.append_option(*changed);
            }
            let cols: Vec<ArrayRef> = vec![
                Arc::new(b.id.finish()),
                Arc::new(b.corr.finish()),
                Arc::new(b.user.finish()),
                Arc::new(b.created.finish()),
                Arc::new(b.c_status.finish()),
                Arc::new(b.c_controls.finish()),
                Arc::new(cand.finish()),
                Arc::new(b.b_status.finish()),
                Arc::new(b.b_controls.finish()),
                Arc::new(base.finish()),
                Arc::new(b.changed.finish()),
            ];
            writer
                .write(&RecordBatch::try_new(schema(), cols).unwrap())
                .unwrap();
        }
        writer.close().unwrap();
    }

    /// Equal texts in different `Arc`s, whole or in parts, share one dictionary value; an `Arc`
    /// seen again keeps its value.
    #[test]
    fn equal_texts_share_a_dictionary_value() {
        let a = PolicyText::Text(Arc::from("[1]"));
        let b = PolicyText::Text(Arc::from("[1]"));
        let c = PolicyText::Text(Arc::from("[2]"));
        let d = PolicyText::Parts(Arc::from(vec![Arc::<str>::from("1")]));
        let e = PolicyText::Parts(Arc::from(vec![Arc::<str>::from("3"), Arc::from("4")]));
        let mut t = Texts::default();
        for x in [&a, &b, &c, &a, &b, &d, &e, &d, &e] {
            t.append(Some(x));
        }
        t.append(None);
        let (k0, k1, k2) = (Some(0), Some(1), Some(2));
        assert_eq!(t.keys, [k0, k0, k1, k0, k0, k0, k2, k0, k2, None]);
        assert_eq!(&*t.values[2], "[3,4]");
        assert_eq!(t.values.len(), 3);
        // Held: b's text, and the part lists' pointers (d: one part, e: two).
        let part = std::mem::size_of::<Arc<str>>();
        assert_eq!((t.bytes, t.held_bytes), (11, 3 + 3 * part));
    }

    /// decisions.parquet, with its `policies` chunks encoded by vigil, reads back exactly as the
    /// Arrow writer's file of the same rows: over several row groups, with texts shared by many
    /// rows, texts of their own, runs of one text, missing baselines and nulls elsewhere.
    #[test]
    fn policies_chunks_read_back_as_the_arrow_writers() {
        let dir = tempfile::tempdir().unwrap();
        let shared: Vec<Arc<str>> = (0..300)
            .map(|k| {
                Arc::from(format!(
                    "[{{\"policy\":{k},\"reasons\":\"{}\"}}]",
                    "x".repeat(k)
                ))
            })
            .collect();
        let mut rows: Vec<Row> = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..(ROW_GROUP + 20_000) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pick = usize::try_from(x % 1000).unwrap();
            // Runs of one text, texts of their own, and shared texts spread over 300.
            let cand: Arc<str> = if (i / 100) % 3 == 0 {
                shared[0].clone()
            } else if pick < 50 {
                Arc::from(format!("[{{\"own\":{i}}}]"))
            } else if pick < 100 {
                // Another `Arc` of a shared text.
                Arc::from(&*shared[pick % shared.len()])
            } else {
                shared[pick % shared.len()].clone()
            };
            let base = (pick % 7 != 0).then(|| {
                (
                    "notApplied".to_string(),
                    vec!["mfa".to_string(); pick % 3],
                    shared[(pick * 7) % 5].clone(),
                )
            });
            rows.push((
                format!("id-{i}"),
                (pick % 5 != 0).then(|| format!("corr-{i}")),
                (pick % 11 != 0).then(|| format!("user-{}", pick % 13)),
                "2026-01-05T14:23:45.123Z".to_string(),
                (
                    "failure".to_string(),
                    vec!["block".to_string(); pick % 2],
                    cand,
                ),
                base,
                (pick % 9 != 0).then_some(pick % 2 == 0),
            ));
        }
        // Runs long enough for repeated-value runs, and one text throughout.
        let one: Vec<Row> = rows[..2000]
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.4.2 = shared[1].clone();
                r.5 = None;
                r
            })
            .collect();
        for (name, rows) in [("mixed", &rows), ("one", &one)] {
            let ours = dir.path().join(format!("{name}.parquet"));
            let theirs = dir.path().join(format!("{name}-arrow.parquet"));
            let mut sink = ParquetSink::create(&ours).unwrap();
            for (id, corr, user, created, c, b, changed) in rows {
                sink.push_row(
                    RowIds {
                        sign_in_id: id,
                        correlation_id: corr.as_deref(),
                        user_id: user.as_deref(),
                        created_date_time: created,
                    },
                    SideCols {
                        status: &c.0,
                        controls: &c.1,
                        policies: &PolicyText::Text(c.2.clone()),
                    },
                    b.as_ref()
                        .map(|b| (b, PolicyText::Text(b.2.clone())))
                        .as_ref()
                        .map(|(b, policies)| SideCols {
                            status: &b.0,
                            controls: &b.1,
                            policies,
                        }),
                    *changed,
                )
                .unwrap();
            }
            sink.finish().unwrap();
            write_with_arrow(&theirs, rows);
            let got = columns(&ours);
            assert_eq!(got[0].len(), rows.len());
            assert_eq!(got, columns(&theirs), "{name}");
        }
    }

    /// Rows share a dictionary value only when they hand in the same text: a text dropped by
    /// its caller right after its row (whose address the next text may then get) is still
    /// its row's own, and shared texts come back on every row that has them.
    #[test]
    fn each_row_keeps_its_own_policies_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.parquet");
        let mut sink = ParquetSink::create(&path).unwrap();
        let shared: Arc<str> = Arc::from("[{\"shared\":true}]");
        let mut want_cand = Vec::new();
        let mut want_base = Vec::new();
        for i in 0..300 {
            // Same length every time, so the allocator can hand out a freed address again.
            let own: Arc<str> = Arc::from(format!("[{{\"row\":{i:05}}}]"));
            // Every fifth row hands in its own text as parts (a new list each time).
            let parts = PolicyText::Parts(Arc::from(vec![
                Arc::<str>::from(format!("{{\"row\":{i:05}}}")),
                Arc::<str>::from("{\"shared\":true}"),
            ]));
            let own = match i % 5 {
                0 => parts,
                _ => PolicyText::Text(own),
            };
            let shared = PolicyText::Text(shared.clone());
            let (cand, base) = if i % 3 == 0 {
                (&shared, None)
            } else {
                (&own, Some(&shared))
            };
            sink.push_row(
                RowIds {
                    sign_in_id: &format!("id-{i}"),
                    correlation_id: None,
                    user_id: None,
                    created_date_time: "2026-01-05T14:23:45.123Z",
                },
                SideCols {
                    status: "success",
                    controls: &[],
                    policies: cand,
                },
                base.map(|b| SideCols {
                    status: "notApplied",
                    controls: &[],
                    policies: b,
                }),
                base.map(|_| true),
            )
            .unwrap();
            want_cand.push(Some(cand.text().to_string()));
            want_base.push(base.map(|b| b.text().to_string()));
            drop(own);
        }
        sink.finish().unwrap();
        let got = columns(&path);
        assert_eq!(got[CANDIDATE_POLICIES], want_cand);
        assert_eq!(got[BASELINE_POLICIES], want_base);
    }
}
