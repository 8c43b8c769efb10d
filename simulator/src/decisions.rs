//! decisions.parquet: the decision rows in compact columns for BI tools.
//!
//! Columns: signInId, correlationId, userId, createdDateTime (UTC timestamp, ms), candidateStatus,
//! candidateControls (list of strings), candidatePolicies (JSON text of the per-policy results),
//! baselineStatus, baselineControls, baselinePolicies, changed (nullable boolean).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, ListBuilder, RecordBatch, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::schema::types::ColumnPath;

use crate::simulate::{DecisionRow, Side, SimulateError};

const BATCH: usize = 65_536;
/// Rows are also written once their `policies` texts reach this size, so memory stays small
/// when every row carries tens of kilobytes of reasons.
const BATCH_BYTES: usize = 4 << 20;

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
    /// The JSON of the side's `policies`.
    pub policies: &'a str,
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
    c_policies: StringBuilder,
    b_status: StringBuilder,
    b_controls: ListBuilder<StringBuilder>,
    b_policies: StringBuilder,
    changed: BooleanBuilder,
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
            c_policies: StringBuilder::new(),
            b_status: StringBuilder::new(),
            b_controls: ListBuilder::new(StringBuilder::new()),
            b_policies: StringBuilder::new(),
            changed: BooleanBuilder::new(),
        }
    }
}

fn schema() -> Arc<Schema> {
    let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
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
        Field::new("candidatePolicies", DataType::Utf8, false),
        Field::new("baselineStatus", DataType::Utf8, true),
        Field::new("baselineControls", list, true),
        Field::new("baselinePolicies", DataType::Utf8, true),
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
        // and is kilobytes long: a dictionary large enough to hold the distinct ones keeps
        // each row's value a small index instead of compressing it again and again.
        let policies_dictionary = 32 << 20;
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_column_dictionary_page_size_limit(
                ColumnPath::from("candidatePolicies"),
                policies_dictionary,
            )
            .set_column_dictionary_page_size_limit(
                ColumnPath::from("baselinePolicies"),
                policies_dictionary,
            )
            .build();
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
        let json = |s: &Side| serde_json::to_string(&s.policies).unwrap_or_default();
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
        c.c_policies.append_value(candidate.policies);
        c.b_status
            .append_option(baseline.as_ref().map(|b| b.status));
        push_controls(&mut c.b_controls, baseline.as_ref().map(|b| b.controls));
        c.b_policies
            .append_option(baseline.as_ref().map(|b| b.policies));
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
        let mut c = std::mem::replace(&mut self.cols, Builders::new());
        let cols: Vec<ArrayRef> = vec![
            Arc::new(c.id.finish()),
            Arc::new(c.corr.finish()),
            Arc::new(c.user.finish()),
            Arc::new(c.created.finish()),
            Arc::new(c.c_status.finish()),
            Arc::new(c.c_controls.finish()),
            Arc::new(c.c_policies.finish()),
            Arc::new(c.b_status.finish()),
            Arc::new(c.b_controls.finish()),
            Arc::new(c.b_policies.finish()),
            Arc::new(c.changed.finish()),
        ];
        let batch =
            RecordBatch::try_new(self.schema.clone(), cols).map_err(|e| self.err(e.to_string()))?;
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
