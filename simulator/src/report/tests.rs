//! The renderer: escaping, empty and baseline-less summaries, well-formed markup and charts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use quick_xml::events::Event;

use super::sections::days;
use super::{Headline, Report, esc, num, render};
use crate::breakdown::PolicyImpact;
use crate::fidelity::FidelityReport;
use crate::simulate::{InputFile, InputRecord, LedgerInput, LedgerRun, SideCounts, Summary};

fn empty() -> Summary {
    Summary {
        sign_ins: 0,
        skipped: 0,
        duplicates: 0,
        distinct_keys: 0,
        candidate: SideCounts::default(),
        baseline: Some(SideCounts::default()),
        transitions: BTreeMap::new(),
        changed: 0,
        top_changed_users: vec![],
        top_changed_apps: vec![],
        warnings: vec![],
        top_changed_countries: vec![],
        changed_by_day: BTreeMap::new(),
        policy_impact: vec![],
        vigil_version: None,
        inputs: None,
        baseline_before_first_snapshot: None,
        ledger_run: None,
    }
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

/// A summary whose every input-derived text is markup.
fn hostile() -> Summary {
    const EVIL: &str = "<script>alert('x')</script>&amp;\"";
    let mut s = empty();
    s.sign_ins = 1234;
    s.changed = 7;
    s.candidate.status = counts(&[("failure", 4), ("interrupted", 3), ("indeterminate", 2)]);
    s.candidate
        .policies
        .insert(format!("p{EVIL}"), counts(&[("failure", 4)]));
    s.baseline = Some(SideCounts {
        status: counts(&[("success", 9)]),
        policies: BTreeMap::new(),
    });
    s.transitions = counts(&[("success -> failure", 4), ("success -> interrupted", 3)]);
    s.top_changed_users = vec![(format!("u{EVIL}"), 5)];
    s.top_changed_apps = vec![(format!("a{EVIL}"), 5)];
    s.top_changed_countries = vec![(format!("c{EVIL}"), 5)];
    s.changed_by_day.insert(
        "2026-01-05".into(),
        counts(&[("failure", 4), ("interrupted", 3)]),
    );
    s.policy_impact = vec![PolicyImpact {
        id: format!("p{EVIL}"),
        display_name: format!("Block {EVIL}"),
        state: "enabled".into(),
        applied: 4,
        blocked: 4,
        prompted: 0,
        indeterminate: 1,
    }];
    s.warnings = vec![format!("w{EVIL}")];
    s.vigil_version = Some(format!("v{EVIL}"));
    s.inputs = Some(BTreeMap::from([
        (
            "signins".to_string(),
            InputRecord::Files(vec![InputFile {
                path: format!("/tmp/{EVIL}.json"),
                sha256: "ab".repeat(32),
                bytes: 10,
            }]),
        ),
        (
            "scores".to_string(),
            InputRecord::Ledger(LedgerInput {
                ledger: format!("{EVIL}.db"),
                size: 7,
                root: "ef".repeat(32),
            }),
        ),
    ]));
    s.ledger_run = Some(LedgerRun {
        seq: 42,
        hash: "cd".repeat(32),
        db: format!("{EVIL}.db"),
    });
    s
}

fn page(s: &Summary) -> String {
    render(&Report {
        summary: s,
        fidelity: None,
    })
}

/// Parses the page as XML: every element closed and nested, attributes quoted, only the five
/// entities `esc` writes. Returns the text of the element with each id, and every `<svg>`'s
/// count of `<rect>` elements.
fn parse(html: &str) -> (BTreeMap<String, String>, Vec<usize>) {
    let mut reader = quick_xml::Reader::from_str(html);
    let mut open: Vec<(String, Option<String>, String)> = Vec::new();
    let mut texts = BTreeMap::new();
    let mut svgs = Vec::new();
    loop {
        let ev = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at {}: {e}", reader.error_position()));
        let check_attrs = |e: &quick_xml::events::BytesStart| -> Option<String> {
            let mut id = None;
            for a in e.attributes() {
                let a = a.unwrap_or_else(|e| panic!("bad attribute: {e}"));
                let v = String::from_utf8(a.value.to_vec()).unwrap();
                assert!(!v.contains('<'), "raw < in an attribute: {v}");
                if a.key.as_ref() == b"id" {
                    id = Some(v);
                }
            }
            id
        };
        match ev {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let id = check_attrs(&e);
                if name == "svg" {
                    svgs.push(0);
                }
                open.push((name, id, String::new()));
            }
            Event::Empty(e) => {
                check_attrs(&e);
                if e.name().as_ref() == b"rect" {
                    *svgs.last_mut().expect("a rect outside an svg") += 1;
                }
            }
            Event::End(e) => {
                let (name, id, text) = open.pop().expect("an end tag with nothing open");
                assert_eq!(name.as_bytes(), e.name().as_ref(), "mismatched end tag");
                if name == "rect" {
                    *svgs.last_mut().expect("a rect outside an svg") += 1;
                }
                if let Some(id) = id {
                    texts.insert(id, text.clone());
                }
                if let Some(parent) = open.last_mut() {
                    parent.2.push_str(&text);
                }
            }
            Event::Text(t) => {
                let t = t.decode().unwrap();
                if let Some(o) = open.last_mut() {
                    o.2.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().unwrap().into_owned();
                let c = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "#39" => "'",
                    other => panic!("unexpected entity &{other};"),
                };
                if let Some(o) = open.last_mut() {
                    o.2.push_str(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    (texts, svgs)
}

#[test]
fn escapes_markup() {
    assert_eq!(
        esc("<a href=\"x\">&'</a>"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
    );
    assert_eq!(esc("a\u{0}b\tc"), "a\u{fffd}b\tc");
}

#[test]
fn text_from_the_inputs_is_never_markup() {
    let html = page(&hostile());
    assert!(!html.contains("<script>alert"), "{html}");
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only vigil's own script"
    );
    let (texts, _) = parse(&html);
    // The hostile texts come back as text, whole.
    let all: String = texts.values().cloned().collect();
    for t in ["u<script>", "a<script>", "c<script>", "</script>&amp;\""] {
        assert!(all.contains(t), "{t} is not shown as text");
    }
    assert_eq!(
        texts["vigil-version"],
        "v<script>alert('x')</script>&amp;\""
    );
    assert!(texts["ledger-run"].contains("<script>alert('x')</script>&amp;\".db"));
    // A ledger read as an input shows its size and Merkle root beside the files' hashes.
    assert!(all.contains("at size 7"), "{all}");
    assert!(html.contains(&"ef".repeat(32)) && html.contains(&"ab".repeat(32)));
}

#[test]
fn headline_counts_come_from_the_transitions() {
    let s = hostile();
    let h = Headline::of(&s);
    assert_eq!(
        (
            h.changed,
            h.newly_blocked,
            h.newly_prompted,
            h.indeterminate
        ),
        (Some(7), Some(4), Some(3), 2)
    );
    let (texts, _) = parse(&page(&s));
    assert_eq!(texts["headline-sign-ins"], "1,234");
    assert_eq!(texts["headline-changed"], "7");
    assert_eq!(texts["headline-newly-blocked"], "4");
    assert_eq!(texts["headline-newly-prompted"], "3");
    assert_eq!(texts["headline-indeterminate"], "2");
    // A sign-in blocked before and after is not newly blocked.
    let mut s = s;
    s.transitions.insert("failure -> failure".into(), 50);
    s.transitions.insert("failure -> interrupted".into(), 1);
    let h = Headline::of(&s);
    assert_eq!((h.newly_blocked, h.newly_prompted), (Some(4), Some(4)));
}

#[test]
fn an_empty_summary_renders_a_complete_page() {
    let html = page(&empty());
    let (texts, svgs) = parse(&html);
    assert_eq!(texts["headline-sign-ins"], "0");
    assert_eq!(texts["headline-newly-blocked"], "0");
    assert!(svgs.is_empty(), "no chart without data");
    assert!(html.contains("No sign-in changed status."));
    assert!(html.contains("No per-policy impact"));
    assert!(html.contains("The inputs' SHA-256 were not recorded"));
    assert!(html.contains("Not measured for this folder"));
    assert!(!html.contains("id=\"warnings\""));
    assert!(!html.contains("Audit ledger"));
}

#[test]
fn without_a_baseline_nothing_is_called_changed() {
    let mut s = hostile();
    s.baseline = None;
    s.transitions.clear();
    s.changed = 0;
    s.changed_by_day.clear();
    let html = page(&s);
    let (texts, _) = parse(&html);
    for id in ["changed", "newly-blocked", "newly-prompted"] {
        assert_eq!(texts[&format!("headline-{id}")], "–", "{id}");
    }
    assert_eq!(texts["headline-indeterminate"], "2");
    assert!(!html.contains("id=\"transition-matrix\""));
    assert!(html.contains("No baseline: there are no transitions."));
    assert!(texts["status-table"].contains("statuscandidate"));
    assert!(!texts["status-table"].contains("baseline"));
}

#[test]
fn charts_are_well_formed_svg_with_one_rect_per_nonzero_part() {
    let mut s = hostile();
    s.policy_impact.push(PolicyImpact {
        id: "p2".into(),
        display_name: String::new(),
        state: "enabledForReportingButNotEnforced".into(),
        applied: 10,
        blocked: 0,
        prompted: 6,
        indeterminate: 0,
    });
    s.changed_by_day.insert(
        "2026-01-07".into(),
        counts(&[("success", 2), ("notApplied", 1), ("indeterminate", 1)]),
    );
    let html = page(&s);
    let (_, svgs) = parse(&html);
    // Policies: [blocked 4, indeterminate 1] and [prompted 6, satisfied 4]. Days: 01-05
    // [blocked 4, prompted 3], 01-06 empty, 01-07 [indeterminate 1, allowed 3].
    assert_eq!(svgs, vec![4, 4]);
    assert!(html.contains("<title>p2: 6 prompted</title>"), "{html}");
    assert!(html.contains("2026-01-06: 0</title>"));
    // Every rect stays inside its chart.
    for rect in html.split("<rect").skip(1) {
        let attr = |name: &str| -> f64 {
            let at = rect.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            rect[at..rect[at..].find('"').unwrap() + at]
                .parse()
                .unwrap()
        };
        let (x, w, h) = (attr("x"), attr("width"), attr("height"));
        assert!(w > 0.0 && h > 0.0 && x >= 0.0 && x + w <= 760.5, "{rect}");
    }
}

#[test]
fn the_timeline_fills_missing_days_and_keeps_unknown_last() {
    let mut by_day = BTreeMap::new();
    for d in ["2026-02-27", "2026-03-02", "unknown"] {
        by_day.insert(d.to_string(), counts(&[("failure", 1)]));
    }
    assert_eq!(
        days(&by_day),
        vec![
            "2026-02-27",
            "2026-02-28",
            "2026-03-01",
            "2026-03-02",
            "unknown"
        ]
    );
    // Years apart: only the days that have changes.
    let mut far = BTreeMap::new();
    for d in ["2020-01-01", "2026-01-01"] {
        far.insert(d.to_string(), counts(&[("failure", 1)]));
    }
    assert_eq!(days(&far), vec!["2020-01-01", "2026-01-01"]);
}

#[test]
fn fidelity_is_shown_when_measured() {
    let mut f = FidelityReport {
        compared: 250,
        ..FidelityReport::default()
    };
    f.status.agree = 240;
    f.status.agreement = Some(0.96);
    f.policies.agreement = Some(0.9125);
    let s = empty();
    let html = render(&Report {
        summary: &s,
        fidelity: Some(&f),
    });
    let (texts, _) = parse(&html);
    assert_eq!(texts["fidelity-status"], "96.0%");
    assert_eq!(texts["fidelity-policies"], "91.2%");
    assert!(texts["fidelity-table"].contains("overall status240"));
}

#[test]
fn counts_have_thousands_separators() {
    assert_eq!(num(0), "0");
    assert_eq!(num(999), "999");
    assert_eq!(num(1000), "1,000");
    assert_eq!(num(12_345_678), "12,345,678");
}
