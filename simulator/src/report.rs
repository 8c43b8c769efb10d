//! `DIR/report.html`, the human report of a simulation (CONTRACT-simulate.md): one
//! self-contained page built from the summary — overall status counts (baseline beside
//! candidate), transitions, per-policy results, the users and applications with the most
//! changed sign-ins, and the warnings about the inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::simulate::{SideCounts, Summary};

const STATUSES: [&str; 5] = [
    "notApplied",
    "success",
    "interrupted",
    "failure",
    "indeterminate",
];

/// The start of a self-contained report page (styles inline), up to and including its `<h1>`.
pub fn page_head(title: &str, heading: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>\
         body{{font-family:system-ui,sans-serif;margin:2em}}\
         table{{border-collapse:collapse;margin-bottom:1.5em}}\
         td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}\
         th{{background:#f3f3f3}}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(title),
        esc(heading)
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One table row of text cells.
pub fn row(html: &mut String, cells: &[String]) {
    html.push_str("<tr>");
    for c in cells {
        let _ = write!(html, "<td>{}</td>", esc(c));
    }
    html.push_str("</tr>\n");
}

/// One table header row.
pub fn header(html: &mut String, cells: &[&str]) {
    html.push_str("<tr>");
    for c in cells {
        let _ = write!(html, "<th>{}</th>", esc(c));
    }
    html.push_str("</tr>\n");
}

fn policy_table(html: &mut String, title: &str, counts: &SideCounts) {
    let words: BTreeSet<&str> = counts
        .policies
        .values()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let _ = write!(html, "<h2>{}</h2>\n<table>\n", esc(title));
    let mut head = vec!["policy"];
    head.extend(words.iter().copied());
    header(html, &head);
    for (id, m) in &counts.policies {
        let mut cells = vec![id.clone()];
        cells.extend(
            words
                .iter()
                .map(|w| m.get(*w).copied().unwrap_or(0).to_string()),
        );
        row(html, &cells);
    }
    html.push_str("</table>\n");
}

fn top_table(html: &mut String, title: &str, what: &str, items: &[(String, u64)]) {
    if items.is_empty() {
        return;
    }
    let _ = write!(html, "<h2>{}</h2>\n<table>\n", esc(title));
    header(html, &[what, "changed sign-ins"]);
    for (name, n) in items {
        row(html, &[name.clone(), n.to_string()]);
    }
    html.push_str("</table>\n");
}

/// The report page for a summary.
pub fn render(summary: &Summary) -> String {
    let mut html = page_head("vigil simulate report", "Conditional Access simulation");
    let _ = writeln!(
        html,
        "<p>{} sign-ins simulated, {} changed, {} duplicates dropped, {} bad records skipped.</p>",
        summary.sign_ins, summary.changed, summary.duplicates, summary.skipped
    );
    if let Some(r) = &summary.ledger_run {
        html.push_str("<h2>Audit ledger</h2>\n<table id=\"ledger-run\">\n");
        header(
            &mut html,
            &["run entry seq", "entry hash (SHA-256)", "ledger"],
        );
        row(
            &mut html,
            &[r.seq.to_string(), r.hash.clone(), r.db.clone()],
        );
        html.push_str(
            "</table>\n<p>This simulation is recorded as that signed <code>run</code> entry: \
             the SHA-256 of every input, the options and the counts above. Check it with \
             <code>vigil ledger show --seq N</code> and <code>vigil ledger verify</code>.</p>\n",
        );
    }
    html.push_str("<h2>Overall status</h2>\n<table>\n");
    let count = |m: &BTreeMap<String, u64>, s: &str| m.get(s).copied().unwrap_or(0).to_string();
    match &summary.baseline {
        Some(b) => {
            header(&mut html, &["status", "baseline", "candidate"]);
            for s in STATUSES {
                row(
                    &mut html,
                    &[
                        s.to_string(),
                        count(&b.status, s),
                        count(&summary.candidate.status, s),
                    ],
                );
            }
        }
        None => {
            header(&mut html, &["status", "candidate"]);
            for s in STATUSES {
                row(
                    &mut html,
                    &[s.to_string(), count(&summary.candidate.status, s)],
                );
            }
        }
    }
    html.push_str("</table>\n");
    if !summary.transitions.is_empty() {
        html.push_str("<h2>Transitions (baseline -&gt; candidate)</h2>\n<table>\n");
        header(&mut html, &["transition", "sign-ins"]);
        for (t, n) in &summary.transitions {
            row(&mut html, &[t.clone(), n.to_string()]);
        }
        html.push_str("</table>\n");
    }
    policy_table(&mut html, "Candidate policies", &summary.candidate);
    if let Some(b) = &summary.baseline {
        policy_table(&mut html, "Baseline policies", b);
    }
    top_table(
        &mut html,
        "Users with the most changed sign-ins",
        "user",
        &summary.top_changed_users,
    );
    top_table(
        &mut html,
        "Applications with the most changed sign-ins",
        "application",
        &summary.top_changed_apps,
    );
    if !summary.warnings.is_empty() {
        html.push_str("<h2>Warnings</h2>\n<ul>\n");
        for w in &summary.warnings {
            let _ = writeln!(html, "<li>{}</li>", esc(w));
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::{esc, render};
    use crate::simulate::{LedgerRun, SideCounts, Summary};

    fn summary() -> Summary {
        Summary {
            sign_ins: 3,
            skipped: 0,
            duplicates: 0,
            distinct_keys: 3,
            candidate: SideCounts::default(),
            baseline: None,
            transitions: Default::default(),
            changed: 0,
            top_changed_users: vec![],
            top_changed_apps: vec![],
            warnings: vec![],
            ledger_run: None,
        }
    }

    #[test]
    fn shows_the_ledger_run_only_when_recorded() {
        let plain = render(&summary());
        assert!(!plain.contains("Audit ledger"));
        let mut s = summary();
        s.ledger_run = Some(LedgerRun {
            seq: 42,
            hash: "ab".repeat(32),
            db: "a<b>.db".into(),
        });
        let html = render(&s);
        assert!(html.contains("<td>42</td>"), "{html}");
        assert!(html.contains(&format!("<td>{}</td>", "ab".repeat(32))));
        assert!(html.contains("<td>a&lt;b&gt;.db</td>"));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
