//! `vigil sweep`: what each AI risk-score threshold would do.
//!
//! For every threshold of a grid, a sign-in is flagged (prompted or blocked) when its score
//! is at least the threshold. The figures per threshold: flagged sign-ins, distinct users
//! flagged, prompts per active user-day (mean, and the most any user got on one day), and
//! against labels TP / FP / FN / TN, precision, recall, false-positive rate and F1. Sign-ins
//! without a label are left out of the rates and counted.
//!
//! Sorting the items once by score (descending) and walking the thresholds from the highest
//! down makes every figure a running count: O(n log n + n + thresholds).

use std::collections::HashMap;

use rayon::prelude::*;

/// No user id for an item.
pub const NO_USER: u32 = u32::MAX;
/// No day for an item.
pub const NO_DAY: i32 = i32::MIN;

/// One scored sign-in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Item {
    /// Score on the 0-1 scale.
    pub score: f64,
    /// Dense user index, or [`NO_USER`].
    pub user: u32,
    /// Days since 1970-01-01 (UTC), or [`NO_DAY`].
    pub day: i32,
    /// `Some(true)`: compromised; `Some(false)`: safe; `None`: unlabeled.
    pub label: Option<bool>,
}

/// The figures for one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The threshold (score >= threshold is flagged).
    pub threshold: f64,
    /// Sign-ins flagged.
    pub flagged: u64,
    /// Distinct users with a flagged sign-in.
    pub users_flagged: u64,
    /// Flagged sign-ins per active user-day (user-days with any sign-in).
    pub prompts_per_user_day: f64,
    /// The most flagged sign-ins one user had on one day.
    pub max_prompts_user_day: u64,
    /// Labeled positive and flagged.
    pub tp: u64,
    /// Labeled negative and flagged.
    pub fp: u64,
    /// Labeled positive, not flagged.
    pub fn_: u64,
    /// Labeled negative, not flagged.
    pub tn: u64,
    /// TP / (TP + FP), when anything labeled was flagged.
    pub precision: Option<f64>,
    /// TP / (TP + FN), when there are positives.
    pub recall: Option<f64>,
    /// FP / (FP + TN), when there are negatives.
    pub fpr: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
}

/// A whole sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// One row per threshold, ascending.
    pub rows: Vec<Row>,
    /// Scored sign-ins.
    pub items: u64,
    /// Labeled positive.
    pub positives: u64,
    /// Labeled negative.
    pub negatives: u64,
    /// Without a label (left out of the rates).
    pub unlabeled: u64,
    /// Distinct (user, day) pairs with a sign-in (the denominator of prompts per user-day).
    pub active_user_days: u64,
    /// Items without a user or a day (not in the per-user figures).
    pub without_user_or_day: u64,
}

/// The grid `from, from + step, ..., to` (inclusive, rounded to 1e-9 so 0.7 is 0.7).
pub fn grid(from: f64, to: f64, step: f64) -> Result<Vec<f64>, String> {
    if !(from.is_finite() && to.is_finite() && step.is_finite()) {
        return Err("--from, --to and --step must be numbers".into());
    }
    if !(0.0..=1.0).contains(&from) || !(0.0..=1.0).contains(&to) {
        return Err(format!(
            "--from {from} and --to {to} must be on the 0-1 scale of the scores"
        ));
    }
    if to < from {
        return Err(format!("--to {to} is below --from {from}"));
    }
    if step <= 0.0 {
        return Err(format!("--step {step} must be above 0"));
    }
    let span = ((to - from) / step + 1e-9).floor();
    if span >= 1_000_000.0 {
        return Err(format!(
            "--step {step} gives more than 1,000,000 thresholds"
        ));
    }
    // In range: checked just above.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = span as u64 + 1;
    if n > 1_000_000 {
        return Err(format!(
            "--step {step} gives {n} thresholds; at most 1,000,000"
        ));
    }
    Ok((0..n)
        .map(|i| ((from + i as f64 * step) * 1e9).round() / 1e9)
        .collect())
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Runs the sweep; `items` is sorted in place (by score, descending).
pub fn sweep(items: &mut [Item], thresholds: &[f64]) -> Sweep {
    items.par_sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
    let positives = items.iter().filter(|i| i.label == Some(true)).count() as u64;
    let negatives = items.iter().filter(|i| i.label == Some(false)).count() as u64;
    // Dense ids of (user, day) pairs, and whether a user was flagged yet.
    let mut user_days: HashMap<u64, u32> = HashMap::new();
    let mut day_of: Vec<u32> = Vec::with_capacity(items.len());
    let mut max_user = 0u32;
    let mut without = 0u64;
    for it in items.iter() {
        if it.user == NO_USER || it.day == NO_DAY {
            day_of.push(u32::MAX);
            without += 1;
            continue;
        }
        max_user = max_user.max(it.user + 1);
        let key = (u64::from(it.user) << 32) | u64::from(it.day.cast_unsigned());
        let next = u32::try_from(user_days.len()).unwrap_or(u32::MAX - 1);
        day_of.push(*user_days.entry(key).or_insert(next));
    }
    let active = user_days.len() as u64;
    let active_n = user_days.len();
    drop(user_days);
    let mut seen_user = vec![false; max_user as usize];
    let mut per_user_day = vec![0u32; active_n];
    let (mut flagged, mut users, mut tp, mut fp, mut max_ud) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut flagged_ud = 0u64;
    let mut at = 0usize;
    let mut rows: Vec<Row> = Vec::with_capacity(thresholds.len());
    let mut order: Vec<usize> = (0..thresholds.len()).collect();
    order.sort_by(|a, b| thresholds[*b].total_cmp(&thresholds[*a]));
    let mut out: Vec<Option<Row>> = vec![None; thresholds.len()];
    for ti in order {
        let t = thresholds[ti];
        while at < items.len() && items[at].score >= t {
            let it = items[at];
            flagged += 1;
            match it.label {
                Some(true) => tp += 1,
                Some(false) => fp += 1,
                None => {}
            }
            let ud = day_of[at];
            if ud != u32::MAX {
                let u = it.user as usize;
                if !seen_user[u] {
                    seen_user[u] = true;
                    users += 1;
                }
                flagged_ud += 1;
                let c = &mut per_user_day[ud as usize];
                *c += 1;
                max_ud = max_ud.max(u64::from(*c));
            }
            at += 1;
        }
        let fn_ = positives - tp;
        let tn = negatives - fp;
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, positives);
        let f1 = match (precision, recall) {
            (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
        out[ti] = Some(Row {
            threshold: t,
            flagged,
            users_flagged: users,
            prompts_per_user_day: ratio(flagged_ud, active).unwrap_or(0.0),
            max_prompts_user_day: max_ud,
            tp,
            fp,
            fn_,
            tn,
            precision,
            recall,
            fpr: ratio(fp, negatives),
            f1,
        });
    }
    rows.extend(out.into_iter().flatten());
    Sweep {
        rows,
        items: items.len() as u64,
        positives,
        negatives,
        unlabeled: items.len() as u64 - positives - negatives,
        active_user_days: active,
        without_user_or_day: without,
    }
}

/// What the chosen threshold must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// False-positive rate at most this.
    MaxFpr(f64),
    /// Mean prompts per active user-day at most this.
    MaxPromptsPerUserDay(f64),
}

/// The row meeting the target with the highest recall (ties: the higher threshold, fewer
/// prompts). Without labels (no recall), the lowest threshold that meets it.
pub fn pick(s: &Sweep, target: Target) -> Option<&Row> {
    let meets = |r: &&Row| match target {
        Target::MaxFpr(x) => r.fpr.is_some_and(|f| f <= x),
        Target::MaxPromptsPerUserDay(x) => r.prompts_per_user_day <= x,
    };
    let ok: Vec<&Row> = s.rows.iter().filter(meets).collect();
    if s.positives == 0 {
        return ok
            .into_iter()
            .min_by(|a, b| a.threshold.total_cmp(&b.threshold));
    }
    ok.into_iter().max_by(|a, b| {
        a.recall
            .unwrap_or(0.0)
            .total_cmp(&b.recall.unwrap_or(0.0))
            .then(b.threshold.total_cmp(&a.threshold))
    })
}

/// Days since 1970-01-01 of an RFC 3339 time's UTC date (`2026-01-05T...`).
pub fn day_number(time: &str) -> Option<i32> {
    let ts: jiff::Timestamp = time.parse().ok()?;
    let days = ts.as_second().div_euclid(86_400);
    i32::try_from(days).ok()
}

/// A label from a log's riskState or a labels file's value.
pub fn label_of(v: &str) -> Result<Option<bool>, String> {
    Ok(match v.trim().to_ascii_lowercase().as_str() {
        "confirmedcompromised"
        | "remediated"
        | "compromised"
        | "true"
        | "1"
        | "positive"
        | "tp" => Some(true),
        "confirmedsafe" | "dismissed" | "safe" | "false" | "0" | "negative" | "benign" => {
            Some(false)
        }
        "" | "none" | "atrisk" | "unknown" | "unknownfuturevalue" | "null" => None,
        other => {
            return Err(format!(
                "{other:?} is not a label (compromised/true/1, safe/false/0, or riskState: confirmedCompromised, remediated, confirmedSafe, dismissed, atRisk, none)"
            ));
        }
    })
}

/// Labels by sign-in id (lowercase) from a CSV (header with `signInId` and `label`, or
/// `riskState`) or NDJSON / JSON array file.
pub fn load_labels(
    path: &std::path::Path,
) -> Result<HashMap<String, Option<bool>>, crate::error::InputError> {
    labels_from_text(&crate::text::read_text(path)?, path)
}

/// Parses a labels file's text (see [`load_labels`]); `path` names it in messages.
pub fn labels_from_text(
    text: &str,
    path: &std::path::Path,
) -> Result<HashMap<String, Option<bool>>, crate::error::InputError> {
    use crate::error::InputError;
    let bad = |record: String, field: &str, reason: String| InputError::Field {
        file: path.to_path_buf(),
        record,
        field: field.into(),
        reason,
    };
    let norm = |k: &str| {
        k.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let mut out = HashMap::new();
    let mut add = |record: String, pairs: Vec<(String, String)>| -> Result<(), InputError> {
        let mut id = None;
        let mut label = None;
        for (k, v) in pairs {
            match norm(&k).as_str() {
                "signinid" | "id" => id = Some(v.trim().to_ascii_lowercase()),
                "label" | "riskstate" | "verdict" => label = Some(v),
                _ => {}
            }
        }
        let Some(id) = id.filter(|i| !i.is_empty()) else {
            return Err(bad(record, "signInId", "missing".into()));
        };
        let Some(label) = label else {
            return Err(bad(record, "label", "missing".into()));
        };
        let l = label_of(&label).map_err(|e| bad(record.clone(), "label", e))?;
        if out.insert(id.clone(), l).is_some() {
            return Err(bad(record, "signInId", format!("{id} is labeled twice")));
        }
        Ok(())
    };
    let t = text.trim_start();
    let text_of = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    if t.starts_with('[') || t.starts_with('{') {
        let docs: Vec<(String, serde_json::Value)> = if t.starts_with('[') {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| InputError::Json {
                    file: path.to_path_buf(),
                    line: e.line(),
                    column: e.column(),
                    reason: e.to_string(),
                })?;
            v.as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, v)| (format!("record {}", i + 1), v.clone()))
                .collect()
        } else {
            let mut docs = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v = serde_json::from_str(line).map_err(|e| InputError::Json {
                    file: path.to_path_buf(),
                    line: i + 1,
                    column: e.column(),
                    reason: e.to_string(),
                })?;
                docs.push((format!("line {}", i + 1), v));
            }
            docs
        };
        for (record, v) in docs {
            let Some(obj) = v.as_object() else {
                return Err(bad(
                    record,
                    "(record)",
                    "a label record is a JSON object".into(),
                ));
            };
            add(
                record,
                obj.iter().map(|(k, v)| (k.clone(), text_of(v))).collect(),
            )?;
        }
    } else {
        let (headers, rows) = crate::airisk::csv_rows(text, path)?;
        for (record, row) in rows {
            add(record, headers.iter().cloned().zip(row).collect())?;
        }
    }
    Ok(out)
}

/// Writes the sweep's rows as Parquet (one row per threshold; rates null when undefined).
pub fn write_parquet(s: &Sweep, path: &std::path::Path) -> Result<(), String> {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;

    let u = |f: fn(&Row) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from(s.rows.iter().map(f).collect::<Vec<_>>()))
    };
    let f = |f: fn(&Row) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from(s.rows.iter().map(f).collect::<Vec<_>>()))
    };
    let fields = [
        ("threshold", DataType::Float64, false),
        ("flagged", DataType::UInt64, false),
        ("usersFlagged", DataType::UInt64, false),
        ("promptsPerUserDay", DataType::Float64, false),
        ("maxPromptsUserDay", DataType::UInt64, false),
        ("tp", DataType::UInt64, false),
        ("fp", DataType::UInt64, false),
        ("fn", DataType::UInt64, false),
        ("tn", DataType::UInt64, false),
        ("precision", DataType::Float64, true),
        ("recall", DataType::Float64, true),
        ("fpr", DataType::Float64, true),
        ("f1", DataType::Float64, true),
    ];
    let schema = Arc::new(Schema::new(
        fields
            .iter()
            .map(|(n, t, null)| Field::new(*n, t.clone(), *null))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = vec![
        f(|r| Some(r.threshold)),
        u(|r| r.flagged),
        u(|r| r.users_flagged),
        f(|r| Some(r.prompts_per_user_day)),
        u(|r| r.max_prompts_user_day),
        u(|r| r.tp),
        u(|r| r.fp),
        u(|r| r.fn_),
        u(|r| r.tn),
        f(|r| r.precision),
        f(|r| r.recall),
        f(|r| r.fpr),
        f(|r| r.f1),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut w = ArrowWriter::try_new(file, schema, None).map_err(|e| e.to_string())?;
    w.write(&batch).map_err(|e| e.to_string())?;
    w.close().map_err(|e| e.to_string())?;
    Ok(())
}

/// One line chart as inline SVG: `points` in data units, both axes 0..`x_max` / 0..`y_max`.
fn svg_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    x_max: f64,
    y_max: f64,
    mark: Option<(f64, f64)>,
) -> String {
    const W: f64 = 460.0;
    const H: f64 = 300.0;
    const L: f64 = 56.0;
    const B: f64 = 40.0;
    const T: f64 = 28.0;
    let (pw, ph) = (W - L - 16.0, H - B - T);
    let x = |v: f64| L + pw * if x_max > 0.0 { v / x_max } else { 0.0 };
    let y = |v: f64| T + ph * (1.0 - if y_max > 0.0 { v / y_max } else { 0.0 });
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{title}\"><title>{title}</title>\
<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>\
<rect x=\"{L}\" y=\"{T}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>",
        W / 2.0
    );
    for i in 0..=4 {
        let fx = x_max * f64::from(i) / 4.0;
        let fy = y_max * f64::from(i) / 4.0;
        let _ = std::fmt::Write::write_fmt(
            &mut svg,
            format_args!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
                x(fx),
                T + ph + 14.0,
                trim(fx),
                L - 4.0,
                y(fy) + 4.0,
                trim(fy)
            ),
        );
    }
    let path: Vec<String> = points
        .iter()
        .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
        .collect();
    let _ = std::fmt::Write::write_fmt(
        &mut svg,
        format_args!(
            "<polyline fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\" points=\"{}\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">{x_label}</text>\
<text x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 14 {:.1})\">{y_label}</text>",
            path.join(" "),
            L + pw / 2.0,
            H - 6.0,
            T + ph / 2.0,
            T + ph / 2.0
        ),
    );
    if let Some((a, b)) = mark {
        let _ = std::fmt::Write::write_fmt(
            &mut svg,
            format_args!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"#dc2626\"/>",
                x(a),
                y(b)
            ),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// A self-contained HTML page: precision-recall curve, prompts per user-day and flagged
/// sign-ins by threshold, and the table.
pub fn render_html(s: &Sweep, chosen: Option<f64>) -> String {
    let chosen_row = chosen.and_then(|c| s.rows.iter().find(|r| r.threshold == c));
    let pr: Vec<(f64, f64)> = s
        .rows
        .iter()
        .filter_map(|r| Some((r.recall?, r.precision?)))
        .collect();
    let prompts: Vec<(f64, f64)> = s
        .rows
        .iter()
        .map(|r| (r.threshold, r.prompts_per_user_day))
        .collect();
    let flagged: Vec<(f64, f64)> = s
        .rows
        .iter()
        .map(|r| (r.threshold, r.flagged as f64))
        .collect();
    let max_prompts = prompts.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9);
    let max_flagged = flagged.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>vigil sweep</title>\
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}svg{margin:0 1em 1em 0}</style></head><body>",
    );
    let _ = std::fmt::Write::write_fmt(
        &mut html,
        format_args!(
            "<h1>AI risk threshold sweep</h1><p id=\"counts\">{} scored sign-ins: {} labeled positive, {} negative, {} without a label (left out of the rates); {} active user-days.</p>",
            s.items, s.positives, s.negatives, s.unlabeled, s.active_user_days
        ),
    );
    if let Some(r) = chosen_row {
        let _ = std::fmt::Write::write_fmt(
            &mut html,
            format_args!(
                "<p id=\"chosen\">Chosen threshold: <b>{}</b> (recall {}, false-positive rate {}, {:.3} prompts per user-day).</p>",
                trim(r.threshold),
                r.recall.map_or("-".into(), |v| format!("{v:.4}")),
                r.fpr.map_or("-".into(), |v| format!("{v:.4}")),
                r.prompts_per_user_day
            ),
        );
    }
    if !pr.is_empty() {
        html.push_str(&svg_chart(
            "Precision vs recall",
            "recall",
            "precision",
            &pr,
            1.0,
            1.0,
            chosen_row.and_then(|r| Some((r.recall?, r.precision?))),
        ));
    }
    html.push_str(&svg_chart(
        "Prompts per user-day by threshold",
        "threshold",
        "prompts per user-day",
        &prompts,
        1.0,
        max_prompts,
        chosen_row.map(|r| (r.threshold, r.prompts_per_user_day)),
    ));
    html.push_str(&svg_chart(
        "Sign-ins flagged by threshold",
        "threshold",
        "sign-ins",
        &flagged,
        1.0,
        max_flagged,
        chosen_row.map(|r| (r.threshold, r.flagged as f64)),
    ));
    html.push_str("<table><tr><th>threshold</th><th>flagged</th><th>users</th><th>prompts/user-day</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th><th>precision</th><th>recall</th><th>FPR</th><th>F1</th></tr>");
    let o = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| format!("{x:.4}"));
    for r in &s.rows {
        let _ = std::fmt::Write::write_fmt(
            &mut html,
            format_args!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                trim(r.threshold),
                r.flagged,
                r.users_flagged,
                r.prompts_per_user_day,
                r.tp,
                r.fp,
                r.fn_,
                r.tn,
                o(r.precision),
                o(r.recall),
                o(r.fpr),
                o(r.f1)
            ),
        );
    }
    html.push_str("</table></body></html>\n");
    html
}
