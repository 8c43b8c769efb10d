//! `DIR/report.html`, the human report of a simulation (CONTRACT-simulate.md): one
//! self-contained page (no network: styles, charts and the small table-sorting script are
//! inline) built from summary.json, readable offline, without script, and on paper.
//!
//! The page is a list of sections ([`SECTIONS`]), each one function of the [`Report`]: a
//! section is added by writing its function and listing it. The markup is also well-formed XML
//! (the unit tests parse it), which keeps every tag closed and every input text escaped.

mod charts;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use charts::{Bar, Segment};

use crate::breakdown::STATUSES;
use crate::fidelity::{FidelityReport, Tally};
use crate::simulate::{SideCounts, Summary};

/// What a report shows: a simulation's summary, and the fidelity of the policies in force when
/// `vigil fidelity --out` left its report beside it.
pub struct Report<'a> {
    /// summary.json.
    pub summary: &'a Summary,
    /// fidelity.json, if any.
    pub fidelity: Option<&'a FidelityReport>,
}

/// One section of the page.
type Section = fn(&mut String, &Report);

/// The page's sections, in order.
const SECTIONS: &[Section] = &[
    headline,
    statuses,
    transitions,
    policy_impact,
    policy_results,
    top_affected,
    timeline,
    fidelity,
    provenance,
    ledger_run,
    warnings,
];

/// The report page.
pub fn render(r: &Report) -> String {
    let mut html = String::with_capacity(64 * 1024);
    html.push_str(HEAD);
    for section in SECTIONS {
        section(&mut html, r);
    }
    let _ = writeln!(
        html,
        "<footer>Written by vigil {}. Every count comes from summary.json beside this file.</footer>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>",
        esc(r
            .summary
            .vigil_version
            .as_deref()
            .unwrap_or("(version not recorded)"))
    );
    html
}

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

/// Escapes text for HTML (and XML) element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML and mean nothing to a reader.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A count with thousands separators.
pub(crate) fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_string(), |r| format!("{:.1}%", r * 100.0))
}

fn get(m: &BTreeMap<String, u64>, k: &str) -> u64 {
    m.get(k).copied().unwrap_or(0)
}

/// A table: header cells, then rows of (text, numeric) cells; numbers right-aligned.
fn table(html: &mut String, id: &str, head: &[&str], rows: &[Vec<Cell>]) {
    let _ = write!(html, "<table class=\"sortable\" id=\"{id}\">\n<thead><tr>");
    for h in head {
        let _ = write!(html, "<th>{}</th>", esc(h));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        html.push_str("<tr>");
        for c in row {
            match c {
                Cell::Text(t) => {
                    let _ = write!(html, "<td>{}</td>", esc(t));
                }
                Cell::Code(t) => {
                    let _ = write!(html, "<td><code>{}</code></td>", esc(t));
                }
                Cell::Named(name, id) => {
                    let _ = write!(
                        html,
                        "<td>{}<br/><code class=\"id\">{}</code></td>",
                        esc(name),
                        esc(id)
                    );
                }
                Cell::Num(n) => {
                    let _ = write!(html, "<td class=\"n\" data-v=\"{n}\">{}</td>", num(*n));
                }
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

enum Cell {
    Text(String),
    Code(String),
    /// A name with its id under it.
    Named(String, String),
    Num(u64),
}

/// A policy state in a reader's words.
fn state_words(state: &str) -> String {
    match state {
        "enabledForReportingButNotEnforced" => "report-only".to_string(),
        s => s.to_string(),
    }
}

fn section_start(html: &mut String, id: &str, title: &str) {
    let _ = writeln!(html, "<section id=\"{id}\">\n<h2>{}</h2>", esc(title));
}

// ---------------------------------------------------------------------------------------------
// Colours: one per kind of outcome, the same in every chart and table
// ---------------------------------------------------------------------------------------------

const BLOCKED: &str = "#c0392b";
const PROMPTED: &str = "#d68910";
const ALLOWED: &str = "#239b56";
const NOT_APPLIED: &str = "#7f8c8d";
const INDETERMINATE: &str = "#7d3c98";
const APPLIED: &str = "#2e86c1";

fn status_color(s: &str) -> &'static str {
    match s {
        "failure" => BLOCKED,
        "interrupted" => PROMPTED,
        "success" => ALLOWED,
        "indeterminate" => INDETERMINATE,
        _ => NOT_APPLIED,
    }
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

/// The headline counts, derived from the contract's fields alone.
pub struct Headline {
    /// Sign-ins simulated.
    pub sign_ins: u64,
    /// Sign-ins whose status changed (None without a baseline).
    pub changed: Option<u64>,
    /// Changed sign-ins the candidate blocks.
    pub newly_blocked: Option<u64>,
    /// Changed sign-ins the candidate prompts.
    pub newly_prompted: Option<u64>,
    /// Sign-ins whose candidate status is indeterminate.
    pub indeterminate: u64,
}

impl Headline {
    /// The headline of a summary.
    pub fn of(s: &Summary) -> Headline {
        let into = |to: &str| {
            s.transitions
                .iter()
                .filter(|(t, _)| {
                    t.split_once(" -> ")
                        .is_some_and(|(b, c)| c == to && b != to)
                })
                .map(|(_, n)| n)
                .sum::<u64>()
        };
        let has_base = s.baseline.is_some();
        Headline {
            sign_ins: s.sign_ins,
            changed: has_base.then_some(s.changed),
            newly_blocked: has_base.then(|| into("failure")),
            newly_prompted: has_base.then(|| into("interrupted")),
            indeterminate: get(&s.candidate.status, "indeterminate"),
        }
    }
}

fn headline(html: &mut String, r: &Report) {
    let s = r.summary;
    let h = Headline::of(s);
    html.push_str("<h1>Conditional Access simulation</h1>\n<section id=\"headline\">\n<div class=\"cards\">\n");
    let card = |html: &mut String, id: &str, value: Option<u64>, label: &str, color: &str| {
        let _ = writeln!(
            html,
            "<div class=\"card\" style=\"border-top-color:{color}\"><div class=\"big\" id=\"headline-{id}\">{}</div><div>{}</div></div>",
            value.map_or_else(|| "–".to_string(), num),
            esc(label)
        );
    };
    card(
        html,
        "sign-ins",
        Some(h.sign_ins),
        "sign-ins replayed",
        APPLIED,
    );
    card(html, "changed", h.changed, "changed status", NOT_APPLIED);
    card(
        html,
        "newly-blocked",
        h.newly_blocked,
        "newly blocked",
        BLOCKED,
    );
    card(
        html,
        "newly-prompted",
        h.newly_prompted,
        "newly prompted",
        PROMPTED,
    );
    card(
        html,
        "indeterminate",
        Some(h.indeterminate),
        "indeterminate",
        INDETERMINATE,
    );
    html.push_str("</div>\n");
    let _ = writeln!(
        html,
        "<p class=\"note\">{} distinct evaluation keys; {} duplicate sign-in ids dropped; {} bad records skipped. Indeterminate: the log lacks a signal that decides the candidate's outcome.{}</p>",
        num(s.distinct_keys),
        num(s.duplicates),
        num(s.skipped),
        if s.baseline.is_none() {
            " No baseline was given, so nothing can have changed: the counts below are the candidate's alone."
        } else {
            " “Newly blocked” and “newly prompted” count changed sign-ins that the candidate blocks or prompts."
        }
    );
    html.push_str("</section>\n");
}

fn statuses(html: &mut String, r: &Report) {
    let s = r.summary;
    section_start(html, "statuses", "Overall status");
    let rows: Vec<Vec<Cell>> = STATUSES
        .iter()
        .map(|st| {
            let mut row = vec![Cell::Text((*st).to_string())];
            if let Some(b) = &s.baseline {
                row.push(Cell::Num(get(&b.status, st)));
            }
            row.push(Cell::Num(get(&s.candidate.status, st)));
            row
        })
        .collect();
    let head: &[&str] = if s.baseline.is_some() {
        &["status", "baseline", "candidate"]
    } else {
        &["status", "candidate"]
    };
    table(html, "status-table", head, &rows);
    html.push_str("</section>\n");
}

fn transitions(html: &mut String, r: &Report) {
    let s = r.summary;
    section_start(html, "transitions", "Baseline → candidate");
    if s.baseline.is_none() {
        html.push_str("<p>No baseline: there are no transitions.</p>\n</section>\n");
        return;
    }
    let max = s.transitions.values().copied().max().unwrap_or(0);
    html.push_str(
        "<p class=\"note\">Rows: the baseline's status; columns: the candidate's. Off the diagonal, \
         sign-ins whose status changed, shaded by count in the colour of the new status.</p>\n\
         <table class=\"matrix\" id=\"transition-matrix\">\n<thead><tr><th>baseline \\ candidate</th>",
    );
    for c in STATUSES {
        let _ = write!(html, "<th>{c}</th>");
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for b in STATUSES {
        let _ = write!(html, "<tr><th>{b}</th>");
        for c in STATUSES {
            let key = format!("{b} -> {c}");
            let n = get(&s.transitions, &key);
            #[allow(clippy::cast_precision_loss)]
            let alpha = if n == 0 || max == 0 {
                0.0
            } else {
                0.15 + 0.75 * (n as f64 / max as f64)
            };
            let color = if b == c { "#5d6d7e" } else { status_color(c) };
            let ink = if alpha > 0.55 { "#fff" } else { "#1b2631" };
            let _ = write!(
                html,
                "<td class=\"n\" title=\"{}: {}\" style=\"background:{}{:02x};color:{ink}\">{}</td>",
                esc(&key),
                num(n),
                color,
                alpha_byte(alpha),
                num(n)
            );
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn alpha_byte(alpha: f64) -> u8 {
    (alpha.clamp(0.0, 1.0) * 255.0).round() as u8
}

fn policy_impact(html: &mut String, r: &Report) {
    let s = r.summary;
    section_start(html, "policy-impact", "Per-policy impact (candidate)");
    if s.policy_impact.is_empty() {
        html.push_str(
            "<p>No per-policy impact in this summary (no candidate policies, or a summary written by an earlier vigil).</p>\n</section>\n",
        );
        return;
    }
    html.push_str(
        "<p class=\"note\">Sign-ins each policy applied to: blocked, prompted for a control, \
         or already satisfied; and sign-ins whose log could not decide the policy. Report-only \
         policies count what they would have done.</p>\n<div class=\"legend\">",
    );
    for (c, l) in [
        (BLOCKED, "blocked"),
        (PROMPTED, "prompted"),
        (APPLIED, "applied, satisfied"),
        (INDETERMINATE, "indeterminate"),
    ] {
        let _ = write!(html, "<span><i style=\"background:{c}\"></i>{l}</span>");
    }
    html.push_str("</div>\n");
    let bars: Vec<Bar> = s
        .policy_impact
        .iter()
        .map(|p| Bar {
            label: if p.display_name.is_empty() {
                p.id.clone()
            } else {
                p.display_name.clone()
            },
            segments: vec![
                Segment {
                    label: "blocked",
                    color: BLOCKED,
                    value: p.blocked,
                },
                Segment {
                    label: "prompted",
                    color: PROMPTED,
                    value: p.prompted,
                },
                Segment {
                    label: "applied, satisfied",
                    color: APPLIED,
                    value: p.applied.saturating_sub(p.blocked + p.prompted),
                },
                Segment {
                    label: "indeterminate",
                    color: INDETERMINATE,
                    value: p.indeterminate,
                },
            ],
        })
        .collect();
    html.push_str(&charts::horizontal(&bars, "Per-policy impact"));
    let rows: Vec<Vec<Cell>> = s
        .policy_impact
        .iter()
        .map(|p| {
            vec![
                Cell::Named(p.display_name.clone(), p.id.clone()),
                Cell::Text(state_words(&p.state)),
                Cell::Num(p.applied),
                Cell::Num(p.blocked),
                Cell::Num(p.prompted),
                Cell::Num(p.indeterminate),
            ]
        })
        .collect();
    table(
        html,
        "policy-impact-table",
        &[
            "policy",
            "state",
            "applied",
            "blocked",
            "prompted",
            "indeterminate",
        ],
        &rows,
    );
    html.push_str("</section>\n");
}

fn result_table(html: &mut String, id: &str, title: &str, counts: &SideCounts) {
    let words: std::collections::BTreeSet<&str> = counts
        .policies
        .values()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let _ = writeln!(html, "<h3>{}</h3>", esc(title));
    let mut head = vec!["policy"];
    head.extend(words.iter().copied());
    let rows: Vec<Vec<Cell>> = counts
        .policies
        .iter()
        .map(|(pid, m)| {
            let mut row = vec![Cell::Code(pid.clone())];
            row.extend(words.iter().map(|w| Cell::Num(get(m, w))));
            row
        })
        .collect();
    table(html, id, &head, &rows);
}

fn policy_results(html: &mut String, r: &Report) {
    let s = r.summary;
    section_start(
        html,
        "policy-results",
        "Per-policy results (Graph vocabulary)",
    );
    result_table(html, "candidate-results", "Candidate", &s.candidate);
    if let Some(b) = &s.baseline {
        result_table(html, "baseline-results", "Baseline", b);
    }
    html.push_str("</section>\n");
}

fn top_list(html: &mut String, id: &str, title: &str, what: &str, items: &[(String, u64)]) {
    let max = items.iter().map(|i| i.1).max().unwrap_or(0);
    let _ = writeln!(
        html,
        "<div class=\"top\"><h3>{}</h3>\n<table id=\"{id}\">\n<thead><tr><th>{}</th><th>changed</th></tr></thead>\n<tbody>",
        esc(title),
        esc(what)
    );
    if items.is_empty() {
        html.push_str("<tr><td colspan=\"2\">none</td></tr>\n");
    }
    for (name, n) in items {
        #[allow(clippy::cast_precision_loss)]
        let w = if max == 0 {
            0.0
        } else {
            100.0 * *n as f64 / max as f64
        };
        let _ = writeln!(
            html,
            "<tr><td>{}<span class=\"bar\" style=\"width:{w:.0}%\"></span></td><td class=\"n\">{}</td></tr>",
            esc(name),
            num(*n)
        );
    }
    html.push_str("</tbody>\n</table></div>\n");
}

fn top_affected(html: &mut String, r: &Report) {
    let s = r.summary;
    section_start(html, "top-affected", "Most affected");
    html.push_str("<p class=\"note\">Sign-ins whose status changed, by user, application and country (location.countryOrRegion).</p>\n<div class=\"tops\">\n");
    top_list(html, "top-users", "Users", "user", &s.top_changed_users);
    top_list(
        html,
        "top-apps",
        "Applications",
        "application",
        &s.top_changed_apps,
    );
    top_list(
        html,
        "top-countries",
        "Countries",
        "country",
        &s.top_changed_countries,
    );
    html.push_str("</div>\n</section>\n");
}

/// The days of a timeline, gaps filled with empty days when the span is at most a year.
fn days(by_day: &BTreeMap<String, BTreeMap<String, u64>>) -> Vec<String> {
    let dated: Vec<&String> = by_day.keys().filter(|d| *d != "unknown").collect();
    let mut out: Vec<String> = dated.iter().map(|d| (*d).clone()).collect();
    if let (Some(first), Some(last)) = (dated.first(), dated.last())
        && let (Ok(first), Ok(last)) = (
            first.parse::<jiff::civil::Date>(),
            last.parse::<jiff::civil::Date>(),
        )
    {
        let mut all = Vec::new();
        let mut d = first;
        while d <= last && all.len() <= 366 {
            all.push(d.to_string());
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        if all.len() <= 366 && all.last().map(String::as_str) == Some(last.to_string().as_str()) {
            out = all;
        }
    }
    if by_day.contains_key("unknown") {
        out.push("unknown".into());
    }
    out
}

fn timeline(html: &mut String, r: &Report) {
    let s = r.summary;
    section_start(html, "timeline", "Changed outcomes per UTC day");
    if s.changed_by_day.is_empty() {
        html.push_str("<p>No sign-in changed status.</p>\n</section>\n");
        return;
    }
    let kinds: [(&str, &str, &[&str]); 4] = [
        ("newly blocked", BLOCKED, &["failure"]),
        ("newly prompted", PROMPTED, &["interrupted"]),
        ("now indeterminate", INDETERMINATE, &["indeterminate"]),
        ("now allowed", ALLOWED, &["success", "notApplied"]),
    ];
    html.push_str("<div class=\"legend\">");
    for (l, c, _) in kinds {
        let _ = write!(html, "<span><i style=\"background:{c}\"></i>{l}</span>");
    }
    html.push_str("</div>\n");
    let empty = BTreeMap::new();
    let mut rows = Vec::new();
    let bars: Vec<Bar> = days(&s.changed_by_day)
        .into_iter()
        .map(|day| {
            let counts = s.changed_by_day.get(&day).unwrap_or(&empty);
            let segments: Vec<Segment> = kinds
                .iter()
                .map(|(label, color, statuses)| Segment {
                    label,
                    color,
                    value: statuses.iter().map(|st| get(counts, st)).sum(),
                })
                .collect();
            if !counts.is_empty() {
                let mut row = vec![Cell::Text(day.clone())];
                row.extend(segments.iter().map(|s| Cell::Num(s.value)));
                rows.push(row);
            }
            Bar {
                label: day,
                segments,
            }
        })
        .collect();
    html.push_str(&charts::vertical(&bars, "Changed outcomes per UTC day"));
    html.push_str("<details class=\"days\"><summary>Days with changes, as a table</summary>\n");
    let mut head = vec!["UTC day"];
    head.extend(kinds.iter().map(|k| k.0));
    table(html, "timeline-table", &head, &rows);
    html.push_str("</details>\n</section>\n");
}

fn tally_row(what: &str, t: &Tally) -> Vec<Cell> {
    vec![
        Cell::Text(what.to_string()),
        Cell::Num(t.agree),
        Cell::Num(t.disagree),
        Cell::Num(t.simulator_indeterminate),
        Cell::Num(t.logged_unknown),
        Cell::Text(pct(t.agreement)),
    ]
}

fn fidelity(html: &mut String, r: &Report) {
    section_start(html, "fidelity", "Fidelity: the simulator against the log");
    let Some(f) = r.fidelity else {
        html.push_str(
            "<p>Not measured for this folder. <code>vigil fidelity --signins … --policies \
             &lt;the policies in force&gt; --out DIR</code> compares the simulator with the \
             per-policy results the log recorded; run it with this folder as DIR, then \
             <code>vigil report DIR</code> adds its figures here.</p>\n</section>\n",
        );
        return;
    };
    let _ = writeln!(
        html,
        "<p>From fidelity.json beside this report: {} sign-ins compared; overall status agreement \
         <b id=\"fidelity-status\">{}</b>, per-policy result agreement <b id=\"fidelity-policies\">{}</b> \
         (among results the simulator decided: {}).</p>",
        num(f.compared),
        pct(f.status.agreement),
        pct(f.policies.agreement),
        pct(f.policies.decided_agreement)
    );
    let mut rows = vec![
        tally_row("overall status", &f.status),
        tally_row("all policy results", &f.policies),
    ];
    rows.extend(f.per_policy.iter().map(|p| {
        tally_row(
            if p.display_name.is_empty() {
                &p.id
            } else {
                &p.display_name
            },
            &p.tally,
        )
    }));
    table(
        html,
        "fidelity-table",
        &[
            "compared",
            "agree",
            "disagree",
            "undecided by the simulator",
            "unknown in the log",
            "agreement",
        ],
        &rows,
    );
    html.push_str("</section>\n");
}

fn provenance(html: &mut String, r: &Report) {
    let s = r.summary;
    section_start(html, "provenance", "Inputs");
    let _ = writeln!(
        html,
        "<p>vigil version <b id=\"vigil-version\">{}</b>.</p>",
        esc(s.vigil_version.as_deref().unwrap_or("not recorded"))
    );
    let Some(inputs) = &s.inputs else {
        html.push_str(
            "<p>The inputs' SHA-256 were not recorded in this summary.</p>\n</section>\n",
        );
        return;
    };
    let rows: Vec<Vec<Cell>> = inputs
        .iter()
        .flat_map(|(flag, files)| {
            files.iter().map(move |f| {
                vec![
                    Cell::Text(format!("--{}", kebab(flag))),
                    Cell::Text(f.path.clone()),
                    Cell::Num(f.bytes),
                    Cell::Code(f.sha256.clone()),
                ]
            })
        })
        .collect();
    table(
        html,
        "inputs-table",
        &["flag", "file", "bytes", "SHA-256"],
        &rows,
    );
    html.push_str("</section>\n");
}

/// `namedLocations` -> `named-locations`.
fn kebab(flag: &str) -> String {
    let mut out = String::with_capacity(flag.len() + 4);
    for c in flag.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn ledger_run(html: &mut String, r: &Report) {
    let Some(run) = &r.summary.ledger_run else {
        return;
    };
    section_start(html, "ledger-run-section", "Audit ledger");
    table(
        html,
        "ledger-run",
        &["run entry seq", "entry hash (SHA-256)", "ledger"],
        &[vec![
            Cell::Text(run.seq.to_string()),
            Cell::Code(run.hash.clone()),
            Cell::Text(run.db.clone()),
        ]],
    );
    html.push_str(
        "<p>This simulation is recorded as that signed <code>run</code> entry: the SHA-256 of \
         every input, the options and the counts above. Check it with <code>vigil ledger show \
         --seq N</code> and <code>vigil ledger verify</code>.</p>\n</section>\n",
    );
}

fn warnings(html: &mut String, r: &Report) {
    let w = &r.summary.warnings;
    if w.is_empty() {
        return;
    }
    section_start(html, "warnings", "Warnings about the inputs");
    html.push_str("<ul>\n");
    for line in w {
        let _ = writeln!(html, "<li>{}</li>", esc(line));
    }
    html.push_str("</ul>\n</section>\n");
}

// ---------------------------------------------------------------------------------------------
// The fixed parts of the page
// ---------------------------------------------------------------------------------------------

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>vigil simulation report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1b2631;line-height:1.4}
h1{margin-bottom:.4em}
h2{border-bottom:2px solid #d5d8dc;padding-bottom:.2em;margin-top:1.8em}
h3{margin:.8em 0 .3em}
table{border-collapse:collapse;margin:.5em 0 1em}
td,th{border:1px solid #d5d8dc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f3f4}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.9em;word-break:break-all}
code.id{font-size:.75em;color:#566573;white-space:nowrap;word-break:normal}
.note{color:#566573}
.cards{display:flex;flex-wrap:wrap;gap:1em}
.card{border:1px solid #d5d8dc;border-top:6px solid #2e86c1;border-radius:4px;padding:.6em 1em;min-width:9em}
.big{font-size:2em;font-weight:600;font-variant-numeric:tabular-nums}
.matrix td{min-width:5.5em}
.legend span{margin-right:1.2em;white-space:nowrap}
.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}
.chart{max-width:100%;height:auto;display:block;margin:.5em 0}
.chart text{font-size:12px;fill:#1b2631}
.chart .grid{stroke:#d5d8dc}
.tops{display:flex;flex-wrap:wrap;gap:1.5em}
.top td:first-child{position:relative;min-width:14em}
.bar{display:block;height:3px;background:#2e86c1;margin-top:2px}
footer{margin-top:3em;color:#566573;font-size:.9em}
.js th{cursor:pointer}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
@media print{body{margin:0;max-width:none}section{break-inside:avoid}details.days{display:none}}
</style>
</head>
<body>
"#;

/// Click a column header to sort a table by it. Written without `<` and `&` so the page stays
/// well-formed XML; the page reads the same without it.
const SCRIPT: &str = r"
(function () {
  function key(row, i) {
    var cell = row.children[i];
    var t = cell.getAttribute('data-v') || cell.textContent;
    var n = parseFloat(t.replace(/,/g, ''));
    return isNaN(n) ? t : n;
  }
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () {
      var body = th.closest('table').tBodies[0];
      var i = Array.prototype.indexOf.call(th.parentNode.children, th);
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      th.parentNode.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a, i), y = key(b, i);
        var c = typeof x === typeof y ? (x > y ? 1 : (y > x ? -1 : 0)) : (typeof x === 'number' ? -1 : 1);
        return asc ? c : -c;
      }).forEach(function (r) { body.appendChild(r); });
    });
  });
  document.documentElement.classList.add('js');
})();
";

#[cfg(test)]
mod tests;
