//! `vigil ingest` end to end: the real binary over the sample tenant's sign-ins in every export
//! variant (samples/tenant/signins, written by samples/tenant/generate.py), over the public
//! samples in shared/data/external, and over small files written for one case each. Asserts
//! only on what a user sees: the exit code, stderr, and the rows of the Parquet table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::harness::{Out, vigil};

/// `vigil ingest --signins S... [extra] --out OUT` in `dir`.
fn ingest(dir: &Path, signins: &[&Path], extra: &[&str], out: &str) -> Out {
    let mut args = vec!["ingest"];
    for s in signins {
        args.extend(["--signins", s.to_str().unwrap()]);
    }
    args.extend(extra);
    args.extend(["--out", out]);
    vigil(dir, &args)
}

/// The rows of a normalized table, as the schema's JSON objects.
fn rows(path: &Path) -> Vec<Value> {
    let table = vigil_simulator::table::TableFile::open(path).unwrap();
    let mut out = Vec::new();
    table
        .read_rows(&mut |s| out.push(serde_json::to_value(&s).unwrap()))
        .unwrap();
    out
}

fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/tenant")
        .join(rel)
}

/// The public samples (absent in some checkouts): `None` prints a notice.
fn external(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/external")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "notice: {} is absent; skipping this real-data test",
            path.display()
        );
        None
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// What the portal's CSV download does not carry: no risk, no per-policy results, no
/// `isInteractive` (the file name gives the kind instead).
const NOT_IN_PORTAL_CSV: &[&str] = &[
    "signInRiskLevel",
    "riskLevelAggregated",
    "riskState",
    "appliedPolicies",
    "isInteractive",
];

/// Every variant of the 300 sample sign-ins normalizes to the values of the Graph list, on the
/// columns the variant carries; columns it does not carry are null, never invented. The portal
/// CSV writes times to the second. Progress bars stay off stderr when it is not a terminal.
#[test]
fn every_sample_variant_normalizes_to_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ingest(d, &[&sample("signins.json")], &[], "graph.parquet").code(0);
    let graph = rows(&d.join("graph.parquet"));
    assert_eq!(graph.len(), 300);
    let schema: Value = serde_json::from_str(
        &fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/signin.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let schema = jsonschema::draft202012::new(&schema).unwrap();
    let variants = [
        ("signins/signins.ndjson", "ndjson"),
        ("signins/portal.json", "json-array"),
        ("signins/SigninLogs.json", "json-array"),
        ("signins/SigninLogs.csv", "log-analytics-csv"),
        ("signins/diagnostic/PT1H.json", "diagnostic"),
        ("signins/diagnostic/records.json.gz", "diagnostic"),
        ("signins/portal", "portal-csv"),
    ];
    for (i, (rel, variant)) in variants.iter().enumerate() {
        let out = format!("v{i}.parquet");
        let run = ingest(d, &[&sample(rel)], &[], &out).code(0);
        assert!(
            run.stderr.contains("300 sign-ins written"),
            "{rel}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("reading sign-ins") && !run.stderr.contains("[="),
            "{rel}: no progress bar off a terminal: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("name no sign-in"),
            "{rel}: every authentication step is joined: {}",
            run.stderr
        );
        let got = rows(&d.join(&out));
        assert_eq!(got.len(), 300, "{rel}");
        for (want, got) in graph.iter().zip(&got) {
            if let Err(e) = schema.validate(got) {
                panic!("{rel}: the row does not follow the schema: {e}\n{got:#}");
            }
            let mut want = want.clone();
            let mut got = got.clone();
            assert_eq!(got["sourceVariant"], *variant, "{rel}");
            for v in [&mut want, &mut got] {
                v["sourceVariant"] = Value::Null;
            }
            if *variant == "portal-csv" {
                for field in NOT_IN_PORTAL_CSV {
                    assert_eq!(got[field], Value::Null, "{rel}: {field} is not in the CSV");
                    want[field] = Value::Null;
                }
                let seconds = want["createdDateTime"].as_str().unwrap()[..19].to_string();
                want["createdDateTime"] = format!("{seconds}.000Z").into();
            }
            assert_eq!(got, want, "{rel}");
        }
    }
}

/// A CSV download whose second row has a bad error code, then a row too short for the header.
fn bad_download(dir: &Path) -> PathBuf {
    write(
        dir,
        "NonInteractiveSignIns_2026-01-05_2026-01-06.csv",
        b"Date (UTC),Request ID,Status,Sign-in error code\n\
          2026-01-05T10:00:00Z,ok1,Success,0\n\
          2026-01-05T10:01:00Z,bad,Failure,fifty\n\
          2026-01-05T10:02:00Z,ok2,Success,0\n\
          2026-01-05T10:03:00Z\n",
    )
}

/// A malformed record is exit 2 naming the file, the record and line, and the field; no table
/// is left behind. With --skip-bad-records the others are written and the skipped counted.
#[test]
fn bad_records_stop_with_file_record_and_field_or_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = bad_download(d);
    ingest(d, &[&csv], &[], "out.parquet").input_error(&[
        "NonInteractiveSignIns_2026-01-05_2026-01-06.csv",
        "record 2 (line 3)",
        "field Sign-in error code",
        "\"fifty\"",
    ]);
    assert!(!d.join("out.parquet").exists(), "no half table");

    let ndjson = write(
        d,
        "lines.ndjson",
        b"{\"id\":\"n1\",\"createdDateTime\":\"2026-01-05T10:00:00Z\"}\n\
          {\"id\":\"n2\",\"createdDateTime\":\"2026-01-05T10:00:00Z\",\"status\":{\"errorCode\":\"x\"}}\n",
    );
    ingest(d, &[&ndjson], &[], "out.parquet").input_error(&[
        "lines.ndjson",
        "line 2",
        "field status.errorCode",
    ]);

    let run = ingest(d, &[&csv, &ndjson], &["--skip-bad-records"], "out.parquet").code(0);
    assert!(
        run.stderr.contains("3 sign-ins written") && run.stderr.contains("3 bad records skipped"),
        "{}",
        run.stderr
    );
    let ids: Vec<Value> = rows(&d.join("out.parquet"))
        .into_iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, ["ok1", "ok2", "n1"]);
    assert_eq!(
        rows(&d.join("out.parquet"))[0]["kind"],
        "nonInteractiveUser",
        "the download's name gives the kind"
    );
}

/// `simulate` shares the reader: --skip-bad-records counts the same records in summary.json.
#[test]
fn simulate_skips_the_same_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = bad_download(d);
    write(d, "policies.json", b"[]");
    vigil(
        d,
        &[
            "simulate",
            "--signins",
            csv.to_str().unwrap(),
            "--policies",
            "policies.json",
            "--out",
            "out",
        ],
    )
    .input_error(&["record 2 (line 3)", "Sign-in error code"]);
    vigil(
        d,
        &[
            "simulate",
            "--signins",
            csv.to_str().unwrap(),
            "--policies",
            "policies.json",
            "--skip-bad-records",
            "--out",
            "out",
        ],
    )
    .code(0);
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(d.join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["signIns"], 2);
    assert_eq!(summary["skipped"], 2);
}

/// Locale dates are month first unless `--date-order dmy`; a file that contradicts the order is
/// exit 2 naming the file, record, column and the flag that would read it, even with
/// --skip-bad-records.
#[test]
fn date_order_is_month_first_unless_told_and_contradictions_stop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let uk = write(
        d,
        "export.csv",
        b"Date (UTC),Request ID,Status\n\
          3/1/2026 09:00:00,r1,Success\n\
          25/1/2026 17:30:00,r2,Success\n",
    );
    for extra in [&[][..], &["--skip-bad-records"][..]] {
        ingest(d, &[&uk], extra, "out.parquet").input_error(&[
            "export.csv",
            "record 2 (line 3)",
            "Date (UTC)",
            "\"25/1/2026 17:30:00\"",
            "--date-order dmy",
        ]);
    }
    ingest(d, &[&uk], &["--date-order", "dmy"], "out.parquet").code(0);
    let times: Vec<Value> = rows(&d.join("out.parquet"))
        .into_iter()
        .map(|r| r["createdDateTime"].clone())
        .collect();
    assert_eq!(
        times,
        ["2026-01-03T09:00:00.000Z", "2026-01-25T17:30:00.000Z"]
    );

    // The same in a diagnostic record's `time`, read day first: month 14 contradicts.
    let diag = write(
        d,
        "PT1H.json",
        b"{\"time\":\"11/14/2025 1:48:53 AM\",\"category\":\"SignInLogs\",\"properties\":{\"id\":\"x\"}}\n",
    );
    ingest(d, &[&diag], &["--date-order", "dmy"], "out.parquet").input_error(&[
        "PT1H.json",
        "line 1",
        "time",
        "--date-order mdy",
    ]);
    let run = ingest(d, &[&diag], &[], "out.parquet").code(0);
    assert!(run.stderr.contains("read as UTC"), "{}", run.stderr);
    assert_eq!(
        rows(&d.join("out.parquet"))[0]["createdDateTime"],
        "2025-11-14T01:48:53.000Z"
    );
    vigil(
        d,
        &[
            "ingest",
            "--signins",
            "PT1H.json",
            "--date-order",
            "ymd",
            "--out",
            "o",
        ],
    )
    .code(2);
}

/// gzip is recognized by its magic bytes whatever the name, for JSON and CSV alike.
#[test]
fn gzip_is_detected_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let blob = fs::read(sample("signins/diagnostic/records.json.gz")).unwrap();
    let renamed = write(d, "insights-logs-signinlogs.bin", &blob);
    let csv = fs::read(sample("signins/SigninLogs.csv")).unwrap();
    let csv_gz = write(d, "query_data.txt", &gzip(&csv));
    ingest(d, &[&renamed], &[], "a.parquet").code(0);
    ingest(d, &[&csv_gz], &[], "b.parquet").code(0);
    ingest(
        d,
        &[&sample("signins/diagnostic/PT1H.json")],
        &[],
        "c.parquet",
    )
    .code(0);
    assert_eq!(rows(&d.join("a.parquet")), rows(&d.join("c.parquet")));
    let b = rows(&d.join("b.parquet"));
    assert_eq!(b.len(), 300);
    assert_eq!(b[0]["sourceVariant"], "log-analytics-csv");
}

/// A sign-in id seen in several files is kept once (the first) and the count is on stderr.
#[test]
fn duplicate_ids_across_files_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = ingest(
        d,
        &[
            &sample("signins/signins.ndjson"),
            &sample("signins/SigninLogs.csv"),
            &sample("signins/portal"),
        ],
        &[],
        "out.parquet",
    )
    .code(0);
    assert!(
        run.stderr.contains("300 sign-ins written")
            && run.stderr.contains("600 duplicates dropped"),
        "{}",
        run.stderr
    );
    let got = rows(&d.join("out.parquet"));
    assert!(
        got.iter().all(|r| r["sourceVariant"] == "ndjson"),
        "the first is kept"
    );
}

/// A CSV file that is no sign-in export vigil knows is refused by name, not misread.
#[test]
fn unknown_csv_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = write(d, "scores.csv", b"signInId,score\nabc,0.5\n");
    ingest(d, &[&f], &[], "out.parquet").input_error(&[
        "scores.csv",
        "not a sign-in export vigil knows",
        "Date (UTC), Request ID",
    ]);
}

/// Every real sign-in file in shared/data/external ingests, except Microsoft's Graph v1.0
/// example, which is not valid JSON as published: exit 2 naming the file and the position.
/// The Graph beta example repeats keys with different values: the last is kept, with a warning.
#[test]
fn every_real_sign_in_file_ingests() {
    let (Some(elastic), Some(docs)) = (external("elastic-integrations"), external("msgraph-docs"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut counts = BTreeMap::new();
    let mut files: Vec<PathBuf> = fs::read_dir(&elastic)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.push(docs.join("signin-list.beta.example1.response.json"));
    for (i, f) in files.iter().enumerate() {
        let out = format!("{i}.parquet");
        let run = ingest(d, &[f], &[], &out).code(0);
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with("signin-list.beta") {
            assert!(
                run.stderr.contains("duplicate JSON keys") && run.stderr.contains("homeTenantId"),
                "{}",
                run.stderr
            );
            let r = &rows(&d.join(&out))[0];
            assert_eq!(r["homeTenantId"], "99081087-73c4-48d1-a112-f60ff75114f7");
        }
        counts.insert(name, rows(&d.join(&out)).len());
    }
    assert_eq!(counts.len(), 8, "{counts:?}");
    assert_eq!(counts["test-time-formats-corner-cases.log"], 11);
    assert_eq!(counts["test-signinlogs-raw.log"], 1, "five records, one id");
    assert_eq!(counts["signin-list.beta.example1.response.json"], 1);

    let v1 = docs.join("signin-list.v1.0.example1.response.json");
    ingest(d, &[&v1], &[], "v1.parquet").input_error(&[
        "signin-list.v1.0.example1.response.json",
        "line 64",
        "column",
        "invalid JSON",
    ]);
    // All of them at once: one table, each id once.
    let mut all: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    all.sort();
    ingest(d, &all, &[], "all.parquet").code(0);
    assert_eq!(
        rows(&d.join("all.parquet")).len(),
        counts.values().sum::<usize>(),
        "no id is in two of these files"
    );
}
