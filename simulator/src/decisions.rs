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

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, DictionaryArray, Int32Builder, ListBuilder, RecordBatch, StringArray,
    StringBuilder, TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::schema::types::ColumnPath;

use crate::simulate::{DecisionRow, Side, SimulateError};

const BATCH: usize = 65_536;
/// Rows are also handed to the writer once their `policies` texts (counted per row, shared or
/// not) reach this size, so the distinct texts held for a batch stay bounded.
const BATCH_BYTES: usize = 64 << 20;
/// Rows per row group at most: each row group's dictionaries hold the distinct `policies` texts
/// of its rows.
const ROW_GROUP: usize = 65_536;
/// A row group also ends once it holds about this many encoded bytes (dictionaries included).
const ROW_GROUP_BYTES: usize = 128 << 20;
/// A `policies` column's dictionary may grow to this size within a row group before the
/// writer falls back to plain values for the rest of it.
const POLICIES_DICTIONARY: usize = 256 << 20;

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
    pub policies: &'a Arc<str>,
}

/// Streams decision rows into a Parquet file.
pub struct ParquetSink {
    path: PathBuf,
    writer: ArrowWriter<File>,
    schema: Arc<Schema>,
    cols: Builders,
    rows: usize,
    bytes: usize,
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

/// A dictionary column being built: one key per row, and the distinct texts handed in (told
/// apart by their `Arc`, which the column holds until it is written, so no address is reused).
#[derive(Default)]
struct Texts {
    keys: Int32Builder,
    values: Vec<Arc<str>>,
    index: HashMap<usize, i32>,
}

impl Texts {
    fn append(&mut self, text: Option<&Arc<str>>) {
        let Some(text) = text else {
            self.keys.append_null();
            return;
        };
        // The address of the text identifies it while `values` holds a clone of the Arc.
        let addr = text.as_ptr() as usize;
        let next = i32::try_from(self.values.len()).unwrap_or(i32::MAX);
        let key = *self.index.entry(addr).or_insert(next);
        if key == next {
            self.values.push(text.clone());
        }
        self.keys.append_value(key);
    }

    fn finish(&mut self) -> Result<DictionaryArray<Int32Type>, arrow::error::ArrowError> {
        let bytes = self.values.iter().map(|v| v.len()).sum();
        let mut values = StringBuilder::with_capacity(self.values.len(), bytes);
        for v in &self.values {
            values.append_value(v);
        }
        let values: StringArray = values.finish();
        let keys = self.keys.finish();
        self.values.clear();
        self.index.clear();
        DictionaryArray::try_new(keys, Arc::new(values))
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
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES));
        for col in ["candidatePolicies", "baselinePolicies"] {
            props = props
                .set_column_dictionary_page_size_limit(ColumnPath::from(col), POLICIES_DICTIONARY)
                .set_column_statistics_enabled(
                    ColumnPath::from(col),
                    parquet::file::properties::EnabledStatistics::None,
                );
        }
        let props = props.build();
        let schema = schema();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| err(e.to_string()))?;
        Ok(ParquetSink {
            path: path.to_path_buf(),
            writer,
            schema,
            cols: Builders::new(),
            rows: 0,
            bytes: 0,
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
        let cand = json(&r.candidate);
        let base = r.baseline.as_deref().map(|b| (b, json(b)));
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
        self.rows += 1;
        self.bytes += candidate.policies.len() + baseline.map_or(0, |b| b.policies.len());
        if self.rows >= BATCH || self.bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SimulateError> {
        if self.rows == 0 {
            return Ok(());
        }
        let c = &mut self.cols;
        let batch = c.c_policies.finish().and_then(|c_policies| {
            let b_policies = c.b_policies.finish()?;
            let cols: Vec<ArrayRef> = vec![
                Arc::new(c.id.finish()),
                Arc::new(c.corr.finish()),
                Arc::new(c.user.finish()),
                Arc::new(c.created.finish()),
                Arc::new(c.c_status.finish()),
                Arc::new(c.c_controls.finish()),
                Arc::new(c_policies),
                Arc::new(c.b_status.finish()),
                Arc::new(c.b_controls.finish()),
                Arc::new(b_policies),
                Arc::new(c.changed.finish()),
            ];
            RecordBatch::try_new(self.schema.clone(), cols)
        });
        let batch = batch.map_err(|e| self.err(e.to_string()))?;
        self.bytes = 0;
        self.writer
            .write(&batch)
            .map_err(|e| self.err(e.to_string()))?;
        self.rows = 0;
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, ArrayAccessor, DictionaryArray, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Reads one dictionary column back as text per row.
    fn texts(path: &Path, name: &str) -> Vec<Option<String>> {
        let file = File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            let col = batch.column_by_name(name).unwrap();
            let dict = col
                .as_any()
                .downcast_ref::<DictionaryArray<Int32Type>>()
                .unwrap();
            let values = dict.downcast_dict::<StringArray>().unwrap();
            for i in 0..dict.len() {
                out.push((!dict.is_null(i)).then(|| values.value(i).to_string()));
            }
        }
        out
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
            want_cand.push(Some(cand.to_string()));
            want_base.push(base.map(|b| b.to_string()));
            drop(own);
        }
        sink.finish().unwrap();
        assert_eq!(texts(&path, "candidatePolicies"), want_cand);
        assert_eq!(texts(&path, "baselinePolicies"), want_base);
    }
}
