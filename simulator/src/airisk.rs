//! AI risk thresholds (`--thresholds`) and scores (`--scores`).
//!
//! A thresholds file turns an AI engine's risk score into one more policy, id `vigil-ai-risk`,
//! evaluated beside the Conditional Access policies: its conditions scope it like a policy's
//! (users, groups, roles, applications, ...), and the score band picks its grant — `allow`
//! (below every threshold: the policy does not apply), `review` (applies, nothing asked of the
//! user: the sign-in is queued for a human), `mfa` (like a policy requiring MFA) or `block`.
//! See SEMANTICS.md §17 and `schemas/thresholds.schema.json`.
//!
//! Scores are joined to sign-ins by sign-in id, or by correlation id when a record names only
//! that. Both scales are accepted: 0-1 and 0-100 (declared per record with `scale`, or
//! detected over the file and checked), and stored as 0-1.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::error::InputError;
use crate::model::{Policy, PolicyState, SignIn};
use crate::policy::policies_from_json;
use crate::text::read_text;

/// The id of the policy a thresholds file adds.
pub const POLICY_ID: &str = "vigil-ai-risk";

/// What a score band does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Below every threshold: the policy does not apply.
    Allow,
    /// Queued for a human review; the sign-in itself goes through.
    Review,
    /// Multifactor authentication required.
    Mfa,
    /// Blocked.
    Block,
}

impl Action {
    /// The name used in thresholds files and reasons.
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Review => "review",
            Action::Mfa => "mfa",
            Action::Block => "block",
        }
    }

    /// The action a name gives (`allow`, `review`, `mfa`, `block`; case ignored).
    pub fn from_name(name: &str) -> Option<Action> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "allow" => Action::Allow,
            "review" => Action::Review,
            "mfa" => Action::Mfa,
            "block" => Action::Block,
            _ => return None,
        })
    }
}

/// A parsed thresholds file.
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// The policy it acts as (id `vigil-ai-risk`, its conditions, enforce or report-only).
    pub policy: Policy,
    /// (lower bound on the 0-1 scale, action), ascending by bound.
    pub bands: Vec<(f64, Action)>,
    /// 100 when the file writes thresholds on the 0-100 scale (reasons then use it too).
    pub display_scale: f64,
    /// The file it came from.
    pub source: PathBuf,
}

/// How a sign-in's score places it.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The action of the band the score falls in.
    pub action: Action,
    /// Why, e.g. `score 0.91 >= block threshold 0.85`.
    pub reason: String,
}

impl Thresholds {
    /// Reads a thresholds file: TOML, or JSON when it starts with `{` or is named `.json`.
    pub fn load(path: &Path) -> Result<Thresholds, InputError> {
        Thresholds::from_text(&read_text(path)?, path)
    }

    /// Parses a thresholds file's text; `path` names it in messages (and `.json` picks JSON).
    pub fn from_text(text: &str, path: &Path) -> Result<Thresholds, InputError> {
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            || text.trim_start().starts_with('{');
        let value: Value = if is_json {
            serde_json::from_str(text).map_err(|e| InputError::Json {
                file: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                reason: e.to_string(),
            })?
        } else {
            let t: toml::Value = toml::from_str(text).map_err(|e| InputError::Format {
                file: path.to_path_buf(),
                reason: format!("not a valid TOML thresholds file: {e}"),
            })?;
            serde_json::to_value(t).map_err(|e| InputError::Format {
                file: path.to_path_buf(),
                reason: format!("cannot read the TOML document: {e}"),
            })?
        };
        Thresholds::from_value(&value, path)
    }

    /// Builds thresholds from a parsed document (see `schemas/thresholds.schema.json`).
    pub fn from_value(value: &Value, path: &Path) -> Result<Thresholds, InputError> {
        let field = |field: &str, reason: String| InputError::Field {
            file: path.to_path_buf(),
            record: "thresholds".into(),
            field: field.into(),
            reason,
        };
        let Some(obj) = value.as_object() else {
            return Err(InputError::Format {
                file: path.to_path_buf(),
                reason: "a thresholds file is an object (TOML document or JSON object)".into(),
            });
        };
        const KNOWN: [&str; 6] = [
            "displayName",
            "mode",
            "scale",
            "thresholds",
            "conditions",
            "$schema",
        ];
        if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(field(
                k,
                format!(
                    "unknown key; a thresholds file has {}",
                    KNOWN[..5].join(", ")
                ),
            ));
        }
        let display_scale = match obj.get("scale") {
            None => 1.0,
            Some(Value::String(s)) if s == "0-1" => 1.0,
            Some(Value::String(s)) if s == "0-100" => 100.0,
            Some(other) => {
                return Err(field(
                    "scale",
                    format!("{other} is not \"0-1\" or \"0-100\""),
                ));
            }
        };
        let state = match obj.get("mode") {
            None => "enabled",
            Some(Value::String(s)) if s == "enforce" => "enabled",
            Some(Value::String(s)) if s == "reportOnly" => "enabledForReportingButNotEnforced",
            Some(other) => {
                return Err(field(
                    "mode",
                    format!("{other} is not \"enforce\" or \"reportOnly\""),
                ));
            }
        };
        let display_name = match obj.get("displayName") {
            None => "vigil AI risk thresholds".to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(other) => return Err(field("displayName", format!("{other} is not a name"))),
        };
        let Some(Value::Object(t)) = obj.get("thresholds") else {
            return Err(field(
                "thresholds",
                "missing: a table of actions (review, mfa, block) to the lowest score that triggers each".into(),
            ));
        };
        let mut bands = Vec::new();
        for (name, v) in t {
            let action = match name.as_str() {
                "review" => Action::Review,
                "mfa" => Action::Mfa,
                "block" => Action::Block,
                "allow" => {
                    return Err(field(
                        "thresholds.allow",
                        "allow is what a score below every threshold gets; it has no threshold"
                            .into(),
                    ));
                }
                other => {
                    return Err(field(
                        &format!("thresholds.{other}"),
                        "unknown action; the actions are review, mfa and block".into(),
                    ));
                }
            };
            let Some(x) = v.as_f64().filter(|x| x.is_finite()) else {
                return Err(field(
                    &format!("thresholds.{name}"),
                    format!("{v} is not a number"),
                ));
            };
            if !(0.0..=display_scale).contains(&x) {
                return Err(field(
                    &format!("thresholds.{name}"),
                    format!(
                        "{x} is outside the {} scale{}",
                        if display_scale > 1.0 { "0-100" } else { "0-1" },
                        if display_scale == 1.0 && x <= 100.0 {
                            " (write scale = \"0-100\" for thresholds in percent)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            bands.push((x / display_scale, action));
        }
        if bands.is_empty() {
            return Err(field(
                "thresholds",
                "empty: give at least one of review, mfa, block".into(),
            ));
        }
        bands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for w in bands.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(field(
                    "thresholds",
                    format!(
                        "{} and {} have the same threshold; each band needs its own",
                        w[0].1.name(),
                        w[1].1.name()
                    ),
                ));
            }
        }
        // Stricter actions sit higher: a score that blocks must not fall back to a prompt above.
        if let Some(pos) = bands.iter().position(|b| b.1 == Action::Block)
            && pos + 1 != bands.len()
        {
            return Err(field(
                "thresholds.block",
                "the block threshold must be the highest (a higher score would otherwise get a milder action)".into(),
            ));
        }
        // The scope: Graph conditions, read by the same parser as the candidate policies.
        let mut conditions = match obj.get("conditions") {
            None => Map::new(),
            Some(Value::Object(c)) => c.clone(),
            Some(other) => {
                return Err(field(
                    "conditions",
                    format!("{other} is not an object of Graph conditions"),
                ));
            }
        };
        conditions
            .entry("users")
            .or_insert_with(|| json!({"includeUsers": ["All"]}));
        conditions
            .entry("applications")
            .or_insert_with(|| json!({"includeApplications": ["All"]}));
        conditions
            .entry("clientAppTypes")
            .or_insert_with(|| json!(["all"]));
        let doc = json!({
            "id": POLICY_ID,
            "displayName": display_name,
            "state": state,
            "conditions": conditions,
        });
        let mut set = policies_from_json(&doc, path)?;
        let Some(mut policy) = set.policies.pop() else {
            return Err(InputError::Format {
                file: path.to_path_buf(),
                reason: "the thresholds file does not describe a policy".into(),
            });
        };
        if let Some(u) = policy.unsupported.first() {
            return Err(field(
                &format!("conditions ({u})"),
                "not a condition vigil evaluates".into(),
            ));
        }
        policy.ai_risk = true;
        Ok(Thresholds {
            policy,
            bands,
            display_scale,
            source: path.to_path_buf(),
        })
    }

    fn show(&self, x: f64) -> String {
        if self.display_scale > 1.0 {
            let v = x * self.display_scale;
            if (v - v.round()).abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        } else {
            format!("{x:.2}")
        }
    }

    /// The band a score (0-1) falls in, with the reason in the thresholds' own scale.
    pub fn band(&self, score: f64) -> Band {
        match self.bands.iter().rev().find(|(t, _)| score >= *t) {
            Some((t, a)) => Band {
                action: *a,
                reason: format!(
                    "score {} >= {} threshold {}",
                    self.show(score),
                    a.name(),
                    self.show(*t)
                ),
            },
            None => {
                let (t, a) = self.bands[0];
                Band {
                    action: Action::Allow,
                    reason: format!(
                        "score {} < {} threshold {}: allow",
                        self.show(score),
                        a.name(),
                        self.show(t)
                    ),
                }
            }
        }
    }

    /// Every action a sign-in without a score could get.
    pub fn actions(&self) -> Vec<Action> {
        std::iter::once(Action::Allow)
            .chain(self.bands.iter().map(|b| b.1))
            .collect()
    }
}

/// One AI score as the scores file gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// On the 0-1 scale.
    pub score: f64,
    /// The engine's risk level, if given.
    pub risk_level: Option<String>,
    /// The engine's reasoning, if given.
    pub reasoning: Option<String>,
    /// The engine's recommended action, if given.
    pub recommended_action: Option<String>,
    /// Model name (and version), if given.
    pub model: Option<String>,
    /// Where it came from, e.g. `scores.csv: line 7`.
    pub origin: String,
    /// The sign-in or correlation id the record names.
    pub key: String,
    /// The user (object id or UPN), when the record says (for `vigil sweep` without sign-ins).
    pub user: Option<String>,
    /// When the sign-in happened, when the record says (RFC 3339).
    pub time: Option<String>,
}

/// Scores by sign-in id and by correlation id.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    by_signin: HashMap<String, Score>,
    by_correlation: HashMap<String, Score>,
    /// Warnings gathered while reading (e.g. the scale that was detected).
    pub warnings: Vec<String>,
}

/// A record before its scale is settled.
struct Raw {
    signin: Option<String>,
    correlation: Option<String>,
    score: f64,
    scale: Option<f64>,
    risk_level: Option<String>,
    reasoning: Option<String>,
    recommended_action: Option<String>,
    model: Option<String>,
    user: Option<String>,
    time: Option<String>,
    record: String,
}

fn norm_key(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The canonical field a column or key names (case, `_` and `-` ignored).
fn field_of(k: &str) -> Option<&'static str> {
    Some(match norm_key(k).as_str() {
        "signinid" | "id" => "signInId",
        "correlationid" => "correlationId",
        "score" | "riskscore" => "score",
        "scale" | "scorescale" => "scale",
        "risklevel" => "riskLevel",
        "reasoning" | "reason" | "explanation" => "reasoning",
        "recommendedaction" | "action" => "recommendedAction",
        "model" | "modelname" => "model",
        "modelversion" => "modelVersion",
        "userid" | "userprincipalname" | "user" => "userId",
        "createddatetime" | "time" | "timestamp" => "createdDateTime",
        _ => return None,
    })
}

impl Scores {
    /// Reads scores from a CSV, NDJSON / JSON array, or Parquet file (detected from content).
    pub fn load(path: &Path) -> Result<Scores, InputError> {
        if crate::table::is_parquet(path) {
            return Scores::from_raw(read_parquet(path)?, path);
        }
        Scores::from_text(&read_text(path)?, path)
    }

    /// Parses a CSV, NDJSON or JSON-array scores file's text; `path` names it in messages.
    pub fn from_text(text: &str, path: &Path) -> Result<Scores, InputError> {
        let t = text.trim_start();
        let raws = if t.starts_with('{') || t.starts_with('[') {
            read_json(text, path)?
        } else {
            read_csv(text, path)?
        };
        Scores::from_raw(raws, path)
    }

    fn from_raw(raws: Vec<Raw>, path: &Path) -> Result<Scores, InputError> {
        let bad = |record: &str, field: &str, reason: String| InputError::Field {
            file: path.to_path_buf(),
            record: record.to_string(),
            field: field.into(),
            reason,
        };
        if raws.is_empty() {
            return Err(InputError::Format {
                file: path.to_path_buf(),
                reason: "no scores in this file".into(),
            });
        }
        // The scale: declared per record, or detected over the whole file.
        let mut declared: Option<(f64, &str)> = None;
        for r in &raws {
            if let Some(s) = r.scale {
                match declared {
                    Some((d, first)) if d != s => {
                        return Err(bad(
                            &r.record,
                            "scale",
                            format!(
                                "mixed scales: this record says {} but {first} says {}",
                                scale_name(s),
                                scale_name(d)
                            ),
                        ));
                    }
                    None => declared = Some((s, &r.record)),
                    _ => {}
                }
            }
        }
        let mut warnings = Vec::new();
        let scale = match declared {
            Some((s, _)) => s,
            None => {
                let over_one = raws.iter().find(|r| r.score > 1.0);
                match over_one {
                    None => 1.0,
                    Some(high) => {
                        // A 0-100 file has whole numbers; a fraction beside 87 is a 0-1 score.
                        if let Some(frac) = raws
                            .iter()
                            .find(|r| r.score > 0.0 && r.score < 1.0 && r.score.fract() != 0.0)
                        {
                            return Err(bad(
                                &frac.record,
                                "score",
                                format!(
                                    "mixed scales: {} looks like a 0-1 score but {} has {} (0-100); declare the scale with a scale column (\"0-1\" or \"0-100\")",
                                    frac.score, high.record, high.score
                                ),
                            ));
                        }
                        warnings.push(format!(
                            "{}: scores read on the 0-100 scale ({} has {})",
                            path.display(),
                            high.record,
                            high.score
                        ));
                        100.0
                    }
                }
            }
        };
        let mut out = Scores {
            warnings,
            ..Scores::default()
        };
        let mut first_at: HashMap<String, String> = HashMap::new();
        for r in raws {
            if !(0.0..=scale).contains(&r.score) {
                return Err(bad(
                    &r.record,
                    "score",
                    format!("{} is outside the {} scale", r.score, scale_name(scale)),
                ));
            }
            let score = Score {
                score: r.score / scale,
                risk_level: r.risk_level,
                reasoning: r.reasoning,
                recommended_action: r.recommended_action,
                model: r.model,
                origin: r.record.clone(),
                key: String::new(),
                user: r.user,
                time: r.time,
            };
            let (key, map, what) = match (r.signin, r.correlation) {
                (Some(id), _) => (id, &mut out.by_signin, "signInId"),
                (None, Some(c)) => (c, &mut out.by_correlation, "correlationId"),
                (None, None) => {
                    return Err(bad(
                        &r.record,
                        "signInId",
                        "missing: a score names its sign-in by signInId or correlationId".into(),
                    ));
                }
            };
            let lower = key.to_ascii_lowercase();
            let mut score = score;
            score.key = key.clone();
            if let Some(first) = first_at.get(&format!("{what}:{lower}")) {
                return Err(bad(
                    &r.record,
                    what,
                    format!("{key} is scored twice (first by {first})"),
                ));
            }
            first_at.insert(format!("{what}:{lower}"), r.record);
            map.insert(lower, score);
        }
        Ok(out)
    }

    /// Scores already on the 0-1 scale and checked (e.g. the ledger's inference entries), keyed
    /// by the sign-in id in [`Score::key`]; a later score for the same sign-in replaces an
    /// earlier one.
    pub fn from_signin_scores(scores: impl IntoIterator<Item = Score>) -> Scores {
        let mut out = Scores::default();
        for s in scores {
            out.by_signin.insert(s.key.to_ascii_lowercase(), s);
        }
        out
    }

    /// The score for a sign-in: by its id, else by its correlation id.
    pub fn get(&self, s: &SignIn) -> Option<&Score> {
        self.by_signin.get(&s.id.to_ascii_lowercase()).or_else(|| {
            s.correlation_id
                .as_ref()
                .and_then(|c| self.by_correlation.get(&c.to_ascii_lowercase()))
        })
    }

    /// Every score, in no particular order: (keyed by correlation id, score).
    pub fn records(&self) -> impl Iterator<Item = (bool, &Score)> {
        self.by_signin
            .values()
            .map(|s| (false, s))
            .chain(self.by_correlation.values().map(|s| (true, s)))
    }

    /// Number of scores read.
    pub fn len(&self) -> usize {
        self.by_signin.len() + self.by_correlation.len()
    }

    /// `true` when no score was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first score (by its origin) that names no sign-in of `signins`.
    pub fn first_unmatched(&self, signins: &[SignIn]) -> Option<&Score> {
        let ids: std::collections::HashSet<String> =
            signins.iter().map(|s| s.id.to_ascii_lowercase()).collect();
        let corr: std::collections::HashSet<String> = signins
            .iter()
            .filter_map(|s| s.correlation_id.as_ref().map(|c| c.to_ascii_lowercase()))
            .collect();
        let mut unmatched: Vec<&Score> = self
            .by_signin
            .iter()
            .filter(|(k, _)| !ids.contains(*k))
            .chain(
                self.by_correlation
                    .iter()
                    .filter(|(k, _)| !corr.contains(*k)),
            )
            .map(|(_, v)| v)
            .collect();
        unmatched.sort_by_key(|s| natural(&s.origin));
        unmatched.first().copied()
    }
}

/// Sort key that orders `line 9` before `line 10`.
fn natural(s: &str) -> (String, u64) {
    let digits: String = s
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (
        s[..s.len() - digits.len()].to_string(),
        digits.parse().unwrap_or(0),
    )
}

fn scale_name(s: f64) -> &'static str {
    if s > 1.0 { "0-100" } else { "0-1" }
}

fn parse_scale(v: &str) -> Option<f64> {
    match v.trim() {
        "0-1" | "1" | "unit" => Some(1.0),
        "0-100" | "100" | "percent" => Some(100.0),
        _ => None,
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        other => Some(other.to_string()),
    }
}

/// Fills a record from (field, value) pairs; `record` names it in errors.
fn raw_from(
    pairs: Vec<(&'static str, Value)>,
    record: String,
    path: &Path,
) -> Result<Raw, InputError> {
    let bad = |field: &str, reason: String| InputError::Field {
        file: path.to_path_buf(),
        record: record.clone(),
        field: field.into(),
        reason,
    };
    let mut r = Raw {
        signin: None,
        correlation: None,
        score: f64::NAN,
        scale: None,
        risk_level: None,
        reasoning: None,
        recommended_action: None,
        model: None,
        user: None,
        time: None,
        record: record.clone(),
    };
    let mut version = None;
    let mut has_score = false;
    for (f, v) in pairs {
        match f {
            "signInId" => r.signin = text_of(&v),
            "correlationId" => r.correlation = text_of(&v),
            "score" => {
                has_score = true;
                r.score = match &v {
                    Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                    Value::String(s) => s
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| bad("score", format!("{s:?} is not a number")))?,
                    Value::Null => return Err(bad("score", "missing".into())),
                    other => return Err(bad("score", format!("{other} is not a number"))),
                };
                if !r.score.is_finite() {
                    return Err(bad("score", format!("{} is not a finite number", r.score)));
                }
            }
            "scale" => {
                if let Some(t) = text_of(&v) {
                    r.scale = Some(parse_scale(&t).ok_or_else(|| {
                        bad("scale", format!("{t:?} is not \"0-1\" or \"0-100\""))
                    })?);
                }
            }
            "riskLevel" => r.risk_level = text_of(&v),
            "reasoning" => r.reasoning = text_of(&v),
            "recommendedAction" => r.recommended_action = text_of(&v),
            "model" => r.model = text_of(&v),
            "modelVersion" => version = text_of(&v),
            "userId" => r.user = text_of(&v),
            "createdDateTime" => r.time = text_of(&v),
            _ => {}
        }
    }
    if !has_score {
        return Err(bad("score", "missing".into()));
    }
    if let Some(v) = version {
        r.model = Some(match r.model.take() {
            Some(m) => format!("{m} {v}"),
            None => v,
        });
    }
    Ok(r)
}

fn read_json(text: &str, path: &Path) -> Result<Vec<Raw>, InputError> {
    let mut out = Vec::new();
    let mut push = |v: &Value, record: String| -> Result<(), InputError> {
        let Some(obj) = v.as_object() else {
            return Err(InputError::Field {
                file: path.to_path_buf(),
                record,
                field: "(record)".into(),
                reason: "a score record is a JSON object".into(),
            });
        };
        let pairs = obj
            .iter()
            .filter_map(|(k, v)| field_of(k).map(|f| (f, v.clone())))
            .collect();
        out.push(raw_from(pairs, record, path)?);
        Ok(())
    };
    let t = text.trim_start();
    let json_err = |e: serde_json::Error, line_offset: usize| InputError::Json {
        file: path.to_path_buf(),
        line: e.line() + line_offset,
        column: e.column(),
        reason: e.to_string(),
    };
    if t.starts_with('[') {
        let v: Value = serde_json::from_str(text).map_err(|e| json_err(e, 0))?;
        for (i, item) in v.as_array().into_iter().flatten().enumerate() {
            push(item, format!("record {}", i + 1))?;
        }
    } else if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text)
        && let Some(Value::Array(items)) = o.get("value")
    {
        for (i, item) in items.iter().enumerate() {
            push(item, format!("record {}", i + 1))?;
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line).map_err(|e| json_err(e, i))?;
            push(&v, format!("line {}", i + 1))?;
        }
    }
    Ok(out)
}

/// A CSV row: its label (`line N`) and its cells.
pub(crate) type CsvRow = (String, Vec<String>);

/// A CSV file with a header row: the headers, then each row with its label.
pub(crate) fn csv_rows(text: &str, path: &Path) -> Result<(Vec<String>, Vec<CsvRow>), InputError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| InputError::Format {
            file: path.to_path_buf(),
            reason: format!("not a CSV file with a header row: {e}"),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, row) in rdr.records().enumerate() {
        // Line numbers count the header (line 1); rows are one line each.
        let record = format!("line {}", i + 2);
        let row = row.map_err(|e| InputError::Field {
            file: path.to_path_buf(),
            record: record.clone(),
            field: "(row)".into(),
            reason: e.to_string(),
        })?;
        rows.push((record, row.iter().map(str::to_string).collect()));
    }
    Ok((headers, rows))
}

fn read_csv(text: &str, path: &Path) -> Result<Vec<Raw>, InputError> {
    let (headers, rows) = csv_rows(text, path)?;
    let fields: Vec<Option<&'static str>> = headers.iter().map(|h| field_of(h)).collect();
    if !fields.contains(&Some("score")) {
        return Err(InputError::Format {
            file: path.to_path_buf(),
            reason: format!(
                "no score column (columns: {}); a scores file has signInId or correlationId, and score",
                headers.join(", ")
            ),
        });
    }
    let mut out = Vec::new();
    for (record, row) in rows {
        let pairs = fields
            .iter()
            .zip(row)
            .filter_map(|(f, v)| f.map(|f| (f, Value::String(v))))
            .collect();
        out.push(raw_from(pairs, record, path)?);
    }
    Ok(out)
}

fn read_parquet(path: &Path) -> Result<Vec<Raw>, InputError> {
    use polars::prelude::*;
    let fail = |reason: String| InputError::Format {
        file: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|source| InputError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| fail(format!("cannot read the Parquet file: {e}")))?;
    let mut cols: Vec<(&'static str, Column)> = Vec::new();
    for c in df.columns() {
        if let Some(f) = field_of(c.name()) {
            let c = if f == "score" {
                c.cast(&DataType::Float64)
            } else {
                c.cast(&DataType::String)
            }
            .map_err(|e| fail(format!("column {}: {e}", c.name())))?;
            cols.push((f, c));
        }
    }
    if !cols.iter().any(|(f, _)| *f == "score") {
        return Err(fail(
            "no score column; a scores file has signInId or correlationId, and score".into(),
        ));
    }
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let mut pairs = Vec::with_capacity(cols.len());
        for (f, c) in &cols {
            let v = c.get(i).map_err(|e| fail(format!("row {}: {e}", i + 1)))?;
            let v = match v {
                AnyValue::Null => Value::Null,
                AnyValue::Float64(x) => serde_json::Number::from_f64(x)
                    .map_or_else(|| Value::String(x.to_string()), Value::Number),
                AnyValue::String(s) => Value::String(s.to_string()),
                AnyValue::StringOwned(s) => Value::String(s.to_string()),
                other => Value::String(other.to_string()),
            };
            pairs.push((*f, v));
        }
        out.push(raw_from(pairs, format!("row {}", i + 1), path)?);
    }
    Ok(out)
}

/// The policy id, for callers that list policies.
pub fn is_ai_policy(p: &Policy) -> bool {
    p.ai_risk && p.id == POLICY_ID && p.state != PolicyState::Disabled
}
