//! The normalized sign-in table reader: `table::TableFile::open`, `read_rows` and `batches`
//! (with columns read for presence only too)
//! on corrupted Parquet files, as `vigil simulate` reads them. String columns go through
//! vigil's own page decoder (`simulator/src/table/dict.rs`: dictionary pages, RLE/bit-packed
//! indices and definition levels, PLAIN pages, data pages v1 and v2), list columns through the
//! `parquet` crate's Arrow reader, the rest through polars. Random bytes never get past a
//! Parquet footer, so the target builds a few valid tables once (vigil's writer, zstd and
//! uncompressed; parquet's Arrow writer with version 2 pages, a dictionary that overflows into
//! PLAIN pages, small pages and row groups; and version 1 pages with Snappy) and the input
//! edits one of them. Input: the first byte picks the table (low bits) and whether the edits
//! go to the data pages or to the footer (high bit); each following 3 bytes are a
//! little-endian u16 offset (modulo the region's length) and the byte written there.
//! Properties: nothing panics; every error is an `InputError` naming the file; a table that
//! reads has as many rows as its metadata says, every batch's columns have one entry per row
//! and every code is in its dictionary; an unedited table reads back as the sign-ins written.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder,
};
use libfuzzer_sys::fuzz_target;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{WriterProperties, WriterVersion};
use vigil_simulator::error::InputError;
use vigil_simulator::model::{Degrees, LoggedPolicy, SignIn, SignInKind};
use vigil_simulator::table::{self, Batch, Col, Kind, NULL, TableFile, TableWriter};

/// A folder of this process's own, reused by every run.
fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d =
            std::env::temp_dir().join(format!("vigil-fuzz-signin-parquet-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temporary folder");
        d
    })
}

/// One valid table: its bytes and the sign-ins it holds.
struct Seed {
    bytes: Vec<u8>,
    rows: Vec<SignIn>,
}

/// About a hundred sign-ins with some of everything: nulls, empty and long lists, repeated
/// and unique values, non-ASCII text, policy outcomes.
fn signins() -> Vec<SignIn> {
    let kinds = [
        Some(SignInKind::InteractiveUser),
        Some(SignInKind::NonInteractiveUser),
        Some(SignInKind::ServicePrincipal),
        Some(SignInKind::ManagedIdentity),
        None,
    ];
    let policy = |i: usize, result: &str| LoggedPolicy {
        id: format!("pol-{}", i % 6),
        display_name: (i % 4 != 0).then(|| format!("CA00{} Require MFA", i % 6)),
        result: result.to_string(),
        enforced_grant_controls: if i % 2 == 0 {
            vec!["mfa".into(), "compliantDevice".into()]
        } else {
            vec![]
        },
        enforced_session_controls: if i % 3 == 0 {
            vec!["signInFrequency".into()]
        } else {
            vec![]
        },
    };
    let list = |i: usize, prefix: &str| -> Option<Vec<String>> {
        match i % 5 {
            0 => None,
            1 => Some(vec![]),
            2 => Some(vec![format!("{prefix}-{}", i % 3)]),
            _ => Some(
                (0..i % 4 + 2)
                    .map(|k| format!("{prefix}-{}", (i + k) % 9))
                    .collect(),
            ),
        }
    };
    (0..100usize)
        .map(|i| SignIn {
            id: format!("4f1c2a7e-{i:04}-4d2b-9a51-{:012x}", i * 7919),
            created_date_time: format!("2026-11-{:02}T{:02}:{:02}:07Z", i % 28 + 1, i % 24, i % 60),
            correlation_id: (i % 4 != 0).then(|| format!("corr-é-{i}")),
            kind: kinds[i % kinds.len()],
            user_id: (i % 10 != 3).then(|| format!("user-{:05}", i % 37)),
            user_principal_name: (i % 10 != 3).then(|| format!("u{}@contoso.example", i % 37)),
            user_type: Some(if i % 9 == 0 { "Guest" } else { "Member" }.into()),
            home_tenant_id: Some("tenant-home".into()),
            resource_tenant_id: (i % 3 == 0).then(|| "tenant-resource".into()),
            app_id: Some(["app-a", "app-b", "app-c"][i % 3].into()),
            app_display_name: Some(["Office 365", "Azure Portal", "Teams"][i % 3].into()),
            resource_id: (i % 2 == 0).then(|| "res-graph".into()),
            ip_address: Some(format!("203.0.113.{}", i % 50)),
            country: (i % 6 != 5).then(|| ["NL", "US", "DE", "JP"][i % 4].into()),
            city: (i % 5 == 1).then(|| "Zürich".into()),
            latitude: (i % 3 == 0).then(|| Degrees(52.37 + i as f64 / 100.0)),
            longitude: (i % 3 == 0).then(|| Degrees(-4.89 - i as f64 / 100.0)),
            risk_event_types: list(i + 1, "risk"),
            network_names: list(i, "net"),
            trusted_network: [Some(true), Some(false), None][i % 3],
            client_app_used: Some("Browser".into()),
            operating_system: (i % 4 == 2).then(|| "Windows 11".into()),
            device_id: (i % 3 == 1).then(|| format!("dev-{}", i % 13)),
            device_compliant: [Some(true), None, Some(false)][i % 3],
            device_managed: (i % 2 == 0).then_some(i % 4 == 0),
            sign_in_risk_level: Some(["none", "low", "medium", "high"][i % 4].into()),
            authentication_requirement: Some("multiFactorAuthentication".into()),
            mfa_satisfied: [Some(true), Some(false), None][i % 3],
            authentication_methods: list(i + 2, "method"),
            error_code: (i % 7 != 6).then(|| if i % 5 == 0 { 50_126 } else { 0 }),
            failure_reason: (i % 5 == 0).then(|| "Invalid username or password.".into()),
            conditional_access_status: Some(["success", "failure", "notApplied"][i % 3].into()),
            applied_policies: match i % 4 {
                0 => None,
                1 => Some(vec![]),
                _ => Some(vec![policy(i, "success"), policy(i + 1, "notApplied")]),
            },
            is_interactive: Some(i % 2 == 0),
            primary_auth_fresh: (i % 3 != 0).then_some(i % 2 == 1),
            authentication_contexts: list(i + 3, "c"),
            user_agent: Some(format!("Mozilla/5.0 (agent {})", i % 4)),
            source_variant: Some("graph".into()),
            ..Default::default()
        })
        .collect()
}

/// A table written by vigil's writer (dictionary pages), zstd-compressed or not.
fn vigil_table(signins: &[SignIn], compressed: bool) -> Seed {
    let path = folder().join(format!("seed-vigil-{compressed}.parquet"));
    let mut w = TableWriter::create_with(&path, compressed).expect("create a seed table");
    for s in signins {
        w.push(s).expect("write a seed row");
    }
    w.finish().expect("finish the seed table");
    let bytes = std::fs::read(&path).expect("read the seed table");
    let _ = std::fs::remove_file(&path);
    Seed {
        bytes,
        rows: signins.to_vec(),
    }
}

/// A table as another tool writes it, with parquet's Arrow writer: some of the columns, the
/// rest missing.
fn arrow_table(signins: &[SignIn], props: WriterProperties) -> Seed {
    let text = |f: &dyn Fn(&SignIn) -> Option<String>| -> ArrayRef {
        Arc::new(signins.iter().map(f).collect::<StringArray>())
    };
    let mut nets = ListBuilder::new(StringBuilder::new());
    for s in signins {
        match &s.network_names {
            Some(v) => {
                for n in v {
                    nets.values().append_value(n);
                }
                nets.append(true);
            }
            None => nets.append_null(),
        }
    }
    let batch = RecordBatch::try_from_iter([
        ("id", text(&|s| Some(s.id.clone()))),
        (
            "createdDateTime",
            text(&|s| Some(s.created_date_time.clone())),
        ),
        ("correlationId", text(&|s| s.correlation_id.clone())),
        ("userId", text(&|s| s.user_id.clone())),
        ("appId", text(&|s| s.app_id.clone())),
        ("country", text(&|s| s.country.clone())),
        ("appliedPolicies", text(&|s| table::applied_json(s))),
        ("networkNames", Arc::new(nets.finish()) as ArrayRef),
        (
            "errorCode",
            Arc::new(signins.iter().map(|s| s.error_code).collect::<Int64Array>()) as ArrayRef,
        ),
        (
            "mfaSatisfied",
            Arc::new(
                signins
                    .iter()
                    .map(|s| s.mfa_satisfied)
                    .collect::<BooleanArray>(),
            ) as ArrayRef,
        ),
        (
            "latitude",
            Arc::new(
                signins
                    .iter()
                    .map(|s| s.latitude.map(|d| d.0))
                    .collect::<Float64Array>(),
            ) as ArrayRef,
        ),
    ])
    .expect("a seed batch");
    let mut w =
        ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).expect("an Arrow writer");
    w.write(&batch).expect("write the seed batch");
    let bytes = w.into_inner().expect("finish the seed table");
    let rows = signins
        .iter()
        .map(|s| SignIn {
            id: s.id.clone(),
            created_date_time: s.created_date_time.clone(),
            correlation_id: s.correlation_id.clone(),
            user_id: s.user_id.clone(),
            app_id: s.app_id.clone(),
            country: s.country.clone(),
            applied_policies: s.applied_policies.clone(),
            network_names: s.network_names.clone(),
            error_code: s.error_code,
            mfa_satisfied: s.mfa_satisfied,
            latitude: s.latitude,
            ..Default::default()
        })
        .collect();
    Seed { bytes, rows }
}

fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let signins = signins();
        // Version 2 pages, uncompressed, a few rows per page and row group, and a dictionary
        // small enough that userId and the unique columns overflow into PLAIN pages.
        let v2 = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_2_0)
            .set_compression(Compression::UNCOMPRESSED)
            .set_data_page_row_count_limit(16)
            .set_write_batch_size(8)
            .set_dictionary_page_size_limit(128)
            .set_max_row_group_row_count(Some(40))
            // Version 2's own fallback is DELTA_BYTE_ARRAY, which goes through polars.
            .set_encoding(Encoding::PLAIN)
            .build();
        // Version 1 pages (definition level lengths in the page), Snappy, dictionaries.
        let v1 = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_data_page_row_count_limit(32)
            .set_write_batch_size(16)
            .set_max_row_group_row_count(Some(64))
            .build();
        vec![
            vigil_table(&signins, false),
            vigil_table(&signins, true),
            arrow_table(&signins, v2),
            arrow_table(&signins, v1),
        ]
    })
}

/// (start, end) of the data pages (after the leading `PAR1`) and of the footer (before its
/// length and the trailing `PAR1`).
fn regions(bytes: &[u8]) -> ((usize, usize), (usize, usize)) {
    let n = bytes.len();
    let len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().expect("4 bytes")) as usize;
    let footer = n - 8 - len;
    ((4, footer), (footer, n - 8))
}

/// Checks one batch's columns: one entry per row, codes in their dictionary.
fn check_batch(b: &Batch, cols: &[Col]) -> Result<(), InputError> {
    let n = b.len();
    for &c in cols {
        match c.kind() {
            Kind::Text => {
                let t = b.texts(c)?;
                for i in 0..n {
                    let _ = t.get(i);
                }
            }
            Kind::Category => {
                let codes = b.codes(c)?;
                assert_eq!(codes.codes.len(), n, "{c:?}: codes for {n} rows");
                for &x in &codes.codes {
                    assert!(
                        x == NULL || (x as usize) < codes.dict.len(),
                        "{c:?}: code {x} past the dictionary ({})",
                        codes.dict.len()
                    );
                }
            }
            Kind::CategoryList => {
                let l = b.list_codes(c)?;
                assert_eq!(l.valid.len(), n, "{c:?}: validity for {n} rows");
                assert_eq!(l.offsets.len(), n + 1, "{c:?}: offsets for {n} rows");
                assert!(
                    l.offsets.windows(2).all(|w| w[0] <= w[1])
                        && l.offsets.last() == Some(&l.codes.len()),
                    "{c:?}: offsets out of order or past the items"
                );
                for i in 0..n {
                    for &x in l.row(i).unwrap_or(&[]) {
                        assert!(
                            x != NULL && (x as usize) < l.dict.len(),
                            "{c:?}: item code {x} past the dictionary ({})",
                            l.dict.len()
                        );
                    }
                }
            }
            Kind::Flag => assert_eq!(b.flags(c)?.len(), n, "{c:?}: flags for {n} rows"),
            Kind::Int => assert_eq!(b.ints(c)?.len(), n, "{c:?}: ints for {n} rows"),
            Kind::Float => assert_eq!(b.floats(c)?.len(), n, "{c:?}: floats for {n} rows"),
        }
    }
    Ok(())
}

/// An error must name the file read.
fn named(e: &InputError, path: &Path) {
    assert_eq!(e.file(), path, "error {e} does not name the file");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, edits)) = data.split_first() else {
        return;
    };
    let seeds = seeds();
    let seed = &seeds[usize::from(mode & 0x7f) % seeds.len()];
    let (pages, footer) = regions(&seed.bytes);
    let (start, end) = if mode & 0x80 == 0 { pages } else { footer };
    let mut bytes = seed.bytes.clone();
    for e in edits.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([e[0], e[1]])) % (end - start);
        bytes[start + at] = e[2];
    }
    let path = folder().join("signins.parquet");
    std::fs::write(&path, &bytes).expect("write the table");

    let file = match TableFile::open(&path) {
        Ok(f) => f,
        Err(e) => return named(&e, &path),
    };
    let mut rows = Vec::new();
    match file.read_rows(&mut |s| rows.push(s)) {
        Ok(()) => {
            assert_eq!(
                rows.len(),
                file.rows(),
                "rows read and rows in the metadata"
            );
            if bytes == seed.bytes {
                assert!(
                    rows == seed.rows,
                    "the unedited table reads back as written"
                );
            }
        }
        Err(e) => named(&e, &path),
    }
    // (columns, columns read for presence only, rows per batch)
    let subsets: [(&[Col], &[Col], usize); 4] = [
        (&[Col::Id, Col::UserId, Col::NetworkNames], &[], 1),
        (Col::ALL, &[], table::ROW_GROUP),
        (
            &[
                Col::CorrelationId,
                Col::AppliedPolicies,
                Col::RiskEventTypes,
                Col::ErrorCode,
                Col::Latitude,
                Col::MfaSatisfied,
            ],
            &[],
            1,
        ),
        (
            &[Col::DeviceId, Col::DeviceDisplayName, Col::UserId],
            &[Col::DeviceId, Col::DeviceDisplayName],
            7,
        ),
    ];
    for (cols, presence, batch_rows) in subsets {
        let mut next = 0;
        let mut present = Vec::new();
        let read = file.batches_with_presence(cols, presence, batch_rows, &mut |b: &Batch| {
            assert_eq!(b.offset(), next, "batches in file order");
            next += b.len();
            if presence.contains(&Col::DeviceId) {
                let c = b.codes(Col::DeviceId)?;
                present.extend(c.codes.iter().map(|x| *x != NULL));
            }
            check_batch(b, cols)
        });
        match read {
            Ok(()) => {
                assert_eq!(next, file.rows(), "rows in batches and in the metadata");
                if bytes == seed.bytes && presence.contains(&Col::DeviceId) {
                    let want: Vec<bool> = seed.rows.iter().map(|s| s.device_id.is_some()).collect();
                    assert!(present == want, "presence read as written");
                }
            }
            Err(e) => named(&e, &path),
        }
    }
});
