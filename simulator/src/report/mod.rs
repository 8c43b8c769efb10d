//! `DIR/report.html`, the human report of a simulation (CONTRACT-simulate.md): one
//! self-contained page (no network: styles, charts and the small table-sorting script are
//! inline) built from summary.json, readable offline, without script, and on paper.
//!
//! The page is a list of sections ([`SECTIONS`]), each one function of the [`Report`] in
//! `sections.rs`: a section is added by writing its function there and listing it here; this
//! file holds what sections share (escaping, tables, colours) and the page's fixed parts. The markup is also well-formed XML
//! (the unit tests parse it), which keeps every tag closed and every input text escaped.

mod charts;
mod sections;

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use sections::Headline;
use sections::{
    fidelity, headline, ledger_run, policy_impact, policy_results, provenance, statuses, timeline,
    top_affected, transitions, warnings,
};

use crate::fidelity::FidelityReport;
use crate::simulate::Summary;

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
pub fn esc(s: &str) -> String {
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
// The fixed parts of the page
// ---------------------------------------------------------------------------------------------

const HEAD: &str = concat!(
    r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>vigil simulation report</title>
<style>
"#,
    style!(),
    r#"</style>
</head>
<body>
"#
);

/// The start of another self-contained vigil page (pilot, coverage) with the report's styles,
/// up to and including its `<h1>`; the caller closes `</body></html>`.
pub fn page_head(title: &str, heading: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(title),
        style!(),
        esc(heading)
    )
}

/// One header row of a plain table.
pub fn header(html: &mut String, cells: &[&str]) {
    html.push_str("<tr>");
    for c in cells {
        let _ = write!(html, "<th>{}</th>", esc(c));
    }
    html.push_str("</tr>\n");
}

/// One row of text cells of a plain table.
pub fn row(html: &mut String, cells: &[String]) {
    html.push_str("<tr>");
    for c in cells {
        let _ = write!(html, "<td>{}</td>", esc(c));
    }
    html.push_str("</tr>\n");
}

/// The pages' style sheet.
macro_rules! style {
    () => {
        r#"body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1b2631;line-height:1.4}
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
"#
    };
}
use style;

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
