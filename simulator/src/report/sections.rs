//! The sections of report.html, one function each, in page order (the list is
//! [`super::SECTIONS`]). Each writes one `<section>` from the [`Report`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::{self, Bar, Segment};
use super::{
    ALLOWED, APPLIED, BLOCKED, Cell, INDETERMINATE, NOT_APPLIED, PROMPTED, Report, esc, get, num,
    pct, section_start, state_words, status_color, table,
};
use crate::breakdown::STATUSES;
use crate::fidelity::Tally;
use crate::simulate::{InputRecord, SideCounts, Summary};

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

pub(super) fn headline(html: &mut String, r: &Report) {
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

pub(super) fn statuses(html: &mut String, r: &Report) {
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

pub(super) fn transitions(html: &mut String, r: &Report) {
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

pub(super) fn policy_impact(html: &mut String, r: &Report) {
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

pub(super) fn policy_results(html: &mut String, r: &Report) {
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

pub(super) fn top_affected(html: &mut String, r: &Report) {
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
pub(super) fn days(by_day: &BTreeMap<String, BTreeMap<String, u64>>) -> Vec<String> {
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

pub(super) fn timeline(html: &mut String, r: &Report) {
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

pub(super) fn fidelity(html: &mut String, r: &Report) {
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

pub(super) fn provenance(html: &mut String, r: &Report) {
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
        .flat_map(|(flag, input)| match input {
            InputRecord::Files(files) => files
                .iter()
                .map(|f| {
                    vec![
                        Cell::Text(format!("--{}", kebab(flag))),
                        Cell::Text(f.path.clone()),
                        Cell::Num(f.bytes),
                        Cell::Code(f.sha256.clone()),
                    ]
                })
                .collect::<Vec<_>>(),
            InputRecord::Ledger(l) => vec![vec![
                Cell::Text(format!("--{}", kebab(flag))),
                Cell::Text(format!(
                    "ledger {} at size {} (Merkle root beside)",
                    l.ledger, l.size
                )),
                Cell::Text("—".into()),
                Cell::Code(l.root.clone()),
            ]],
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

pub(super) fn ledger_run(html: &mut String, r: &Report) {
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

pub(super) fn warnings(html: &mut String, r: &Report) {
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
