//! report.html over the sample tenant: loaded in a real headless browser (Debian's chromium),
//! self-contained, rebuilt by `vigil report DIR` (with fidelity when `vigil fidelity --out DIR`
//! left its report there), and the same whichever replay path (rows or normalized Parquet) ran.
//!
//! Without chromium the browser test prints a notice and passes, unless
//! `VIGIL_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs chromium), when it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::harness::vigil;

fn tenant(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/tenant")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// `vigil simulate` on the sample tenant, candidate against the policies in force, into `out`.
fn simulate(dir: &Path, signins: &str, out: &str) -> Value {
    vigil(
        dir,
        &[
            "simulate",
            "--signins",
            signins,
            "--policies",
            &tenant("policies-candidate.json"),
            "--named-locations",
            &tenant("named-locations.json"),
            "--directory",
            &tenant("directory.json"),
            "--baseline",
            &tenant("policies-current.json"),
            "--out",
            out,
        ],
    )
    .ok();
    serde_json::from_slice(&fs::read(dir.join(out).join("summary.json")).unwrap()).unwrap()
}

/// The headline a reader must see, computed here from the contract's fields of summary.json.
fn headline(summary: &Value) -> Vec<(&'static str, u64)> {
    let transitions = summary["transitions"].as_object().unwrap();
    let into = |to: &str| -> u64 {
        transitions
            .iter()
            .filter(|(k, _)| {
                let (b, c) = k.split_once(" -> ").unwrap();
                c == to && b != to
            })
            .map(|(_, n)| n.as_u64().unwrap())
            .sum()
    };
    vec![
        ("sign-ins", summary["signIns"].as_u64().unwrap()),
        ("changed", summary["changed"].as_u64().unwrap()),
        ("newly-blocked", into("failure")),
        ("newly-prompted", into("interrupted")),
        (
            "indeterminate",
            summary["candidate"]["status"]["indeterminate"]
                .as_u64()
                .unwrap_or(0),
        ),
    ]
}

/// The text of the element with `id` in `html` (digits and separators of a count).
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].to_string()
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VIGIL_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

#[test]
fn report_loads_in_a_headless_browser_and_shows_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = simulate(dir.path(), &tenant("signins.json"), "out");
    let page = dir.path().join("out/report.html");
    let html = fs::read_to_string(&page).unwrap();

    // Self-contained: nothing is fetched, from the network or from disk.
    for needle in [
        "src=", "href=", "url(", "@import", "<link", "<iframe", "<object",
    ] {
        assert!(
            !html.contains(needle),
            "report.html loads something: {needle}"
        );
    }
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "the only URLs are SVG namespaces"
    );
    assert!(html.contains("<svg"), "charts are inline SVG");

    let Some(browser) = chromium() else {
        let required = std::env::var("VIGIL_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "VIGIL_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)"
        );
        eprintln!(
            "notice: chromium not found (/usr/bin/chromium or VIGIL_CHROMIUM): report.html was not checked in a browser"
        );
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.path().display()),
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chromium failed: {log}");
    // The page logs nothing: any console message is an error or an uncaught exception.
    for line in log.lines() {
        assert!(
            !line.contains(":CONSOLE") && !line.contains("Uncaught"),
            "console output while loading report.html: {line}"
        );
    }
    // The script ran to its end (it marks the page), and did not need to for the content.
    assert!(dom.contains("<html lang=\"en\" class=\"js\">"), "{dom}");
    for (id, want) in headline(&summary) {
        let shown = text_of(&dom, &format!("headline-{id}")).replace(',', "");
        assert_eq!(shown, want.to_string(), "headline {id}");
    }
    // The sample's candidate changes sign-ins, so the numbers checked are not all zero.
    assert!(summary["changed"].as_u64().unwrap() > 0);
    // Every candidate policy's impact row and every input's hash are on the page.
    for p in summary["policyImpact"].as_array().unwrap() {
        assert!(dom.contains(p["id"].as_str().unwrap()), "{p}");
    }
    for files in summary["inputs"].as_object().unwrap().values() {
        for f in files.as_array().unwrap() {
            assert!(dom.contains(f["sha256"].as_str().unwrap()), "{f}");
        }
    }
}

/// summary.json names every input with the SHA-256 of its bytes and the vigil version.
#[test]
fn the_summary_records_each_input_with_its_sha256() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let summary = simulate(dir.path(), &tenant("signins.json"), "out");
    assert_eq!(summary["vigilVersion"], env!("CARGO_PKG_VERSION"));
    let inputs = summary["inputs"].as_object().unwrap();
    let mut flags: Vec<&str> = inputs.keys().map(String::as_str).collect();
    flags.sort_unstable();
    assert_eq!(
        flags,
        [
            "baseline",
            "directory",
            "namedLocations",
            "policies",
            "signins"
        ]
    );
    for (flag, name) in [
        ("signins", "signins.json"),
        ("policies", "policies-candidate.json"),
        ("baseline", "policies-current.json"),
    ] {
        let bytes = fs::read(tenant(name)).unwrap();
        let f = &inputs[flag][0];
        assert_eq!(f["sha256"], hex::encode(Sha256::digest(&bytes)), "{flag}");
        assert_eq!(f["bytes"], bytes.len() as u64, "{flag}");
    }
}

#[test]
fn vigil_report_rebuilds_the_page_and_adds_fidelity() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &tenant("signins.json"), "out");
    let page = dir.path().join("out/report.html");
    let written = fs::read_to_string(&page).unwrap();
    assert!(written.contains("Not measured for this folder"));
    fs::remove_file(&page).unwrap();
    vigil(dir.path(), &["report", "out"]).ok();
    assert_eq!(fs::read_to_string(&page).unwrap(), written);

    // `vigil fidelity --out` beside it: the rebuilt page shows its agreement rates.
    vigil(
        dir.path(),
        &[
            "fidelity",
            "--signins",
            &tenant("signins.json"),
            "--policies",
            &tenant("policies-current.json"),
            "--named-locations",
            &tenant("named-locations.json"),
            "--directory",
            &tenant("directory.json"),
            "--out",
            "out",
        ],
    );
    let fidelity: Value =
        serde_json::from_slice(&fs::read(dir.path().join("out/fidelity.json")).unwrap()).unwrap();
    vigil(dir.path(), &["report", "out", "--out", "again.html"]).ok();
    let html = fs::read_to_string(dir.path().join("again.html")).unwrap();
    assert!(!html.contains("Not measured for this folder"));
    let want = fidelity["status"]["agreement"]
        .as_f64()
        .map_or("–".to_string(), |r| format!("{:.1}%", r * 100.0));
    assert_eq!(text_of(&html, "fidelity-status"), want);
}

/// A summary written before the report's own fields existed still makes a page.
#[test]
fn vigil_report_reads_a_summary_with_only_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut summary = simulate(dir.path(), &tenant("signins.json"), "out");
    let o = summary.as_object_mut().unwrap();
    for k in [
        "topChangedCountries",
        "changedByDay",
        "policyImpact",
        "vigilVersion",
        "inputs",
    ] {
        assert!(o.remove(k).is_some(), "{k}");
    }
    fs::write(
        dir.path().join("out/summary.json"),
        serde_json::to_string(&summary).unwrap(),
    )
    .unwrap();
    vigil(dir.path(), &["report", "out"]).ok();
    let html = fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("The inputs' SHA-256 were not recorded"));
    assert!(html.contains("No per-policy impact in this summary"));
    assert_eq!(
        text_of(&html, "headline-changed").replace(',', ""),
        summary["changed"].to_string()
    );
}

#[test]
fn vigil_report_names_the_file_line_and_field_of_a_bad_summary() {
    let dir = tempfile::tempdir().unwrap();
    vigil(dir.path(), &["report", "nowhere"]).input_error(&["summary.json", "cannot read"]);
    fs::create_dir(dir.path().join("bad")).unwrap();
    fs::write(
        dir.path().join("bad/summary.json"),
        "{\n  \"signIns\": 3,\n  \"skipped\": \"none\"\n}\n",
    )
    .unwrap();
    vigil(dir.path(), &["report", "bad"]).input_error(&[
        "bad/summary.json",
        "line 3",
        "\"skipped\"",
    ]);
    assert!(!dir.path().join("bad/report.html").exists());
}

/// The row path (Graph JSON) and the columnar path (the same sign-ins ingested to Parquet)
/// give the report the same numbers.
#[test]
fn both_replay_paths_give_the_report_the_same_summary() {
    let dir = tempfile::tempdir().unwrap();
    vigil(
        dir.path(),
        &[
            "ingest",
            "--signins",
            &tenant("signins.json"),
            "--out",
            "signins.parquet",
        ],
    )
    .ok();
    let rows = simulate(dir.path(), &tenant("signins.json"), "rows");
    let columns = simulate(dir.path(), "signins.parquet", "columns");
    let strip = |v: &Value| {
        let mut v = v.clone();
        let o = v.as_object_mut().unwrap();
        o.remove("distinctKeys");
        o.remove("inputs");
        v
    };
    assert_eq!(strip(&rows), strip(&columns));
    assert!(!rows["changedByDay"].as_object().unwrap().is_empty());
    assert!(!rows["topChangedCountries"].as_array().unwrap().is_empty());
    // The pages differ only where the summaries do: the evaluation keys and the input files.
    let page = |d: &str| fs::read_to_string(dir.path().join(d).join("report.html")).unwrap();
    let (a, b) = (page("rows"), page("columns"));
    let table = |h: &str| {
        h[h.find("id=\"headline\"").unwrap()..h.find("id=\"provenance\"").unwrap()].to_string()
    };
    let keys = |h: &str| {
        h.replace(&format!("{} distinct", rows["distinctKeys"]), "")
            .replace(&format!("{} distinct", columns["distinctKeys"]), "")
    };
    assert_eq!(keys(&table(&a)), keys(&table(&b)));
}

/// The terminal summary: a table, coloured on a terminal only, never with `NO_COLOR`. The
/// terminal is a pseudo-terminal from `script` (util-linux); without it only the pipe is checked.
#[test]
fn the_terminal_summary_is_coloured_only_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "simulate",
        "--signins",
        &tenant("signins.json"),
        "--policies",
        &tenant("policies-candidate.json"),
        "--baseline",
        &tenant("policies-current.json"),
        "--decisions",
        "none",
        "--out",
        "out",
    ];
    let piped = vigil(dir.path(), &args).ok();
    assert!(!piped.stdout.contains('\u{1b}'), "{}", piped.stdout);
    assert!(piped.stdout.contains("| status "), "{}", piped.stdout);
    assert!(
        piped.stdout.contains("| candidate policy "),
        "{}",
        piped.stdout
    );
    if !Path::new("/usr/bin/script").is_file() {
        eprintln!("notice: /usr/bin/script not found: colours on a terminal were not checked");
        return;
    }
    let on_terminal = |no_color: bool| -> String {
        let quote = |a: &str| format!("'{}'", a.replace('\'', "'\\''"));
        let line = format!(
            "{} {} 2>/dev/null",
            quote(&assert_cmd::cargo::cargo_bin("vigil").display().to_string()),
            args.map(quote).join(" ")
        );
        let mut cmd = assert_cmd::Command::new("/usr/bin/script");
        cmd.current_dir(dir.path())
            .args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR")
            .timeout(Duration::from_secs(120));
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let coloured = on_terminal(false);
    assert!(coloured.contains("\u{1b}["), "{coloured}");
    assert!(coloured.contains("candidate policy"), "{coloured}");
    let plain = on_terminal(true);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(plain.contains("candidate policy"), "{plain}");
}
