//! `vigil simulate` end to end, clause by clause of `CONTRACT-simulate.md` (kept in the
//! repository and in `shared/`): every test writes real export files into its own temporary
//! folder, runs the real binary with relative paths as a user types them, and asserts only on
//! what a user sees — the exit code (0 ok, 2 usage or input error, never 1), the stderr message
//! naming the file, record and field, and the files in `--out` (decisions.ndjson,
//! decisions.parquet, summary.json, report.html).
//!
//! Sign-ins are built from one Graph `signIn` object per user (see [`signin`]); each policy is
//! scoped to a few users so that one run exercises several cases without them interfering.
//!
//! Readings of the contract this module fixes (each is repeated at its test):
//! - `controls` is compared as a set: the contract does not fix an order.
//! - With `--baseline none`, `transitions` is an empty object (there is no baseline status to
//!   move from), and `summary.baseline` is `null`.
//! - With `--decisions none` there is no decisions.parquet either: the contract says the Parquet
//!   file has "the same rows as decisions.ndjson (following `--decisions`)"; and "no file" holds
//!   even when `--out` still has the decisions of an earlier run.
//! - With `--baseline none`, `--decisions changed` selects nothing (`changed` is null).
//! - The logged baseline's `policies` are the logged `appliedConditionalAccessPolicies`, in log
//!   order, with their logged ids and display names (not the candidate's list).
//! - An input error leaves no decisions behind: a user's script must not pick up a half result.
//! - `AllTrusted` covers a trusted location vigil cannot evaluate (compliant network), so an
//!   exclusion of `AllTrusted` off the trusted IP ranges is `indeterminate` when one is defined.
//! - A sign-in whose code says MFA was not met (50074, 50076, 50079, ...) does not satisfy `mfa`:
//!   replaying the policy Entra enforced gives the logged `interrupted` again, not
//!   `indeterminate`.
//! - Log Analytics: CSV exports, JSON rows and the query API response (`tables`) are read like
//!   Graph; so is the portal's CSV download.
//! - report.html is checked for what a person needs (it exists, is HTML, shows the counts and
//!   policy ids, escaped), not for its layout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::harness::Out;

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// A scratch folder the commands run in.
struct Ws {
    dir: tempfile::TempDir,
}

impl Ws {
    fn new() -> Ws {
        Ws {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes bytes at `rel`, creating folders.
    fn bytes(&self, rel: &str, bytes: &[u8]) {
        let path = self.p(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    fn text(&self, rel: &str, text: &str) {
        self.bytes(rel, text.as_bytes());
    }

    /// Pretty-printed JSON (several lines, so readers cannot rely on one value per line).
    fn json(&self, rel: &str, v: &Value) {
        self.text(rel, &serde_json::to_string_pretty(v).unwrap());
    }

    /// One compact JSON value per line.
    fn ndjson(&self, rel: &str, rows: &[Value]) {
        let mut text = String::new();
        for r in rows {
            text.push_str(&serde_json::to_string(r).unwrap());
            text.push('\n');
        }
        self.text(rel, &text);
    }

    fn run(&self, args: &[&str]) -> Out {
        super::harness::vigil(self.dir.path(), args)
    }

    /// `vigil simulate --signins S... --policies P [extra...] --out OUT`.
    fn simulate(&self, signins: &[&str], policies: &str, extra: &[&str], out: &str) -> Out {
        let mut args = vec!["simulate"];
        for s in signins {
            args.extend(["--signins", s]);
        }
        args.extend(["--policies", policies]);
        args.extend(extra);
        args.extend(["--out", out]);
        self.run(&args)
    }

    fn exists(&self, rel: &str) -> bool {
        self.p(rel).exists()
    }

    /// decisions.ndjson of an output folder, one JSON object per line.
    fn decisions(&self, out: &str) -> Vec<Value> {
        let path = self.p(out).join("decisions.ndjson");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "decisions.ndjson must end with a newline"
        );
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    fn summary(&self, out: &str) -> Value {
        let path = self.p(out).join("summary.json");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("summary.json is not JSON ({e})"))
    }
}

// ---------------------------------------------------------------------------------------------
// Building exports
// ---------------------------------------------------------------------------------------------

const TENANT: &str = "5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47";
const APP_PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const RESOURCE_ARM: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";

/// The object id of test user `n`.
fn uid(n: u32) -> String {
    format!("a0000000-0000-4000-8000-{n:012}")
}

/// The sign-in (request) id of the sign-in built for user `n`.
fn sid(n: u32) -> String {
    format!("51000000-0000-4000-8000-{n:012}")
}

/// A successful single-factor browser sign-in of user `n` to the Azure portal, as Graph v1.0
/// `auditLogs/signIns` returns it; nothing applied (the log's own outcome: `notApplied`).
fn signin(n: u32) -> Value {
    json!({
        "id": sid(n),
        "createdDateTime": format!("2026-01-05T14:{:02}:45.123Z", n % 60),
        "userDisplayName": format!("User {n}"),
        "userPrincipalName": format!("user{n}@contoso.example"),
        "userId": uid(n),
        "appId": APP_PORTAL,
        "appDisplayName": "Azure Portal",
        "resourceId": RESOURCE_ARM,
        "resourceDisplayName": "Windows Azure Service Management API",
        "ipAddress": "198.51.100.7",
        "clientAppUsed": "Browser",
        "correlationId": format!("c0000000-0000-4000-8000-{n:012}"),
        "conditionalAccessStatus": "notApplied",
        "isInteractive": true,
        "userType": "member",
        "homeTenantId": TENANT,
        "resourceTenantId": TENANT,
        "crossTenantAccessType": "none",
        "authenticationRequirement": "singleFactorAuthentication",
        "riskLevelDuringSignIn": "none",
        "riskLevelAggregated": "none",
        "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": null},
        "deviceDetail": {
            "deviceId": "",
            "displayName": "",
            "operatingSystem": "Windows10",
            "browser": "Edge 120.0.0",
            "isCompliant": false,
            "isManaged": false,
            "trustType": ""
        },
        "location": {
            "city": "Berlin",
            "state": "Berlin",
            "countryOrRegion": "DE",
            "geoCoordinates": {"latitude": 52.52, "longitude": 13.40}
        },
        "authenticationDetails": [
            {"authenticationMethod": "Password", "succeeded": true,
             "authenticationStepResultDetail": "Correct password"}
        ],
        "appliedConditionalAccessPolicies": [],
        "networkLocationDetails": []
    })
}

/// `base` with `patch` merged in (objects recursively; `null` in the patch removes the key).
fn with(mut base: Value, patch: Value) -> Value {
    merge(&mut base, patch);
    base
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// What a sign-in needs to show that MFA was done in it.
fn mfa_done() -> Value {
    json!({
        "authenticationRequirement": "multiFactorAuthentication",
        "authenticationDetails": [
            {"authenticationMethod": "Password", "succeeded": true},
            {"authenticationMethod": "Mobile app notification", "succeeded": true,
             "authenticationStepRequirement": "Multifactor authentication"}
        ]
    })
}

/// The error code (and the log's own CA status) of a sign-in.
fn code(code: i64, ca_status: &str) -> Value {
    json!({"status": {"errorCode": code}, "conditionalAccessStatus": ca_status})
}

/// A diagnostic-settings record (Storage/Event Hub shape) wrapping a Graph sign-in.
fn diagnostic(s: &Value) -> Value {
    json!({
        "time": s["createdDateTime"],
        "resourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": "SignInLogs",
        "tenantId": TENANT,
        "resultType": s["status"]["errorCode"].to_string(),
        "durationMs": 0,
        "callerIpAddress": s["ipAddress"],
        "correlationId": s["correlationId"],
        "Level": 4,
        "properties": s
    })
}

/// A Conditional Access policy (Graph `conditionalAccessPolicy`) for the given users, all
/// resources and all client apps.
fn policy(id: &str, state: &str, users: Value, grant: Value) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
        "id": id,
        "displayName": format!("Policy {id}"),
        "createdDateTime": "2025-12-01T10:00:00Z",
        "modifiedDateTime": null,
        "state": state,
        "conditions": {
            "users": users,
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "clientAppTypes": ["all"],
            "signInRiskLevels": [],
            "userRiskLevels": []
        },
        "grantControls": grant,
        "sessionControls": null
    })
}

/// `includeUsers` of the given test users.
fn users(ns: &[u32]) -> Value {
    json!({"includeUsers": ns.iter().map(|n| uid(*n)).collect::<Vec<_>>()})
}

fn block() -> Value {
    json!({"operator": "OR", "builtInControls": ["block"]})
}

fn require_mfa() -> Value {
    json!({"operator": "OR", "builtInControls": ["mfa"]})
}

fn require(controls: &[&str]) -> Value {
    json!({"operator": "AND", "builtInControls": controls})
}

/// Sets a policy's conditions.<key>.
fn cond(mut p: Value, key: &str, v: Value) -> Value {
    p["conditions"][key] = v;
    p
}

/// gzip (RFC 1952) with stored deflate blocks, so no compressor is needed here.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    if data.is_empty() {
        out.extend([1, 0, 0, 0xff, 0xff]);
    }
    let mut chunks = data.chunks(65_535).peekable();
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = u16::try_from(c.len()).unwrap();
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(c);
    }
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend((!crc).to_le_bytes());
    out.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

/// UTF-16LE with a BOM and CRLF line ends, as Windows PowerShell 5.1 writes files.
fn utf16le_bom_crlf(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.replace('\n', "\r\n").encode_utf16() {
        out.extend(u.to_le_bytes());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Reading results
// ---------------------------------------------------------------------------------------------

/// Decision rows by sign-in id.
fn by_id(rows: &[Value]) -> BTreeMap<String, Value> {
    rows.iter()
        .map(|r| (r["signInId"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["signInId"].as_str().unwrap().to_string())
        .collect()
}

fn status(row: &Value) -> &str {
    row["candidate"]["status"].as_str().unwrap()
}

fn controls(row: &Value) -> BTreeSet<String> {
    row["candidate"]["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// The candidate's per-policy row for `id`.
fn policy_row<'a>(row: &'a Value, id: &str) -> &'a Value {
    row["candidate"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("policy {id} missing from {row:#}"))
}

/// The candidate's result word for policy `id`.
fn result<'a>(row: &'a Value, id: &str) -> &'a str {
    policy_row(row, id)["result"].as_str().unwrap()
}

fn policy_ids(side: &Value) -> Vec<String> {
    side["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// Row `n` (by user number) of a decisions map, with a readable failure.
#[track_caller]
fn row(rows: &BTreeMap<String, Value>, n: u32) -> &Value {
    rows.get(&sid(n))
        .unwrap_or_else(|| panic!("no decision for sign-in {}", sid(n)))
}

/// Asserts the candidate status of sign-in `n`.
#[track_caller]
fn assert_status(rows: &BTreeMap<String, Value>, n: u32, want: &str) {
    let r = row(rows, n);
    assert_eq!(status(r), want, "sign-in of user {n}: {:#}", r["candidate"]);
}

/// The data shipped in shared/ (absent in some checkouts): `None` prints a notice.
fn external(rel: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/external");
    let path = root.join(rel);
    if path.exists() {
        Some(path.canonicalize().unwrap())
    } else {
        eprintln!(
            "notice: {} is absent; skipping this real-data test",
            path.display()
        );
        None
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------------------------------------
// --signins: every variant, folders, gzip, duplicates
// ---------------------------------------------------------------------------------------------

/// Six sign-ins with different outcomes, in an order that is not sorted by id, and the
/// policies that decide them.
fn variety() -> (Vec<Value>, Value) {
    let order = [4, 1, 6, 2, 5, 3];
    let signins = order
        .iter()
        .map(|&n| match n {
            3 => with(signin(3), mfa_done()),
            5 => with(signin(5), code(50126, "notApplied")),
            6 => with(signin(6), json!({"clientAppUsed": "IMAP4"})),
            2 => with(
                signin(2),
                json!({"conditionalAccessStatus": "success",
                       "appliedConditionalAccessPolicies": [
                           {"id": "p-ro", "displayName": "Policy p-ro",
                            "result": "reportOnlyFailure", "enforcedGrantControls": ["Block"]}]}),
            ),
            n => signin(n),
        })
        .collect();
    let policies = json!([
        policy("p-block", "enabled", users(&[1]), block()),
        policy(
            "p-mfa",
            "enabled",
            json!({"includeUsers": ["All"], "excludeUsers": [uid(4)]}),
            require_mfa()
        ),
        policy(
            "p-ro",
            "enabledForReportingButNotEnforced",
            users(&[2]),
            block()
        ),
    ]);
    (signins, policies)
}

/// Every JSON variant the contract lists for `--signins` (Graph list with several pages in one
/// file, JSON array, NDJSON, diagnostic `records`, Log Analytics rows, a folder read
/// recursively in bytewise path order, gzip) gives the same decisions for the same events, in
/// input order. File extensions are deliberately misleading: the variant comes from content.
#[test]
fn signins_every_variant_gives_identical_decisions_in_input_order() {
    let ws = Ws::new();
    let (signins, policies) = variety();
    ws.json("policies.json", &policies);

    // Graph: two pages of one list back to back in one file, as saved from a paging loop.
    let (head, tail) = (signins[..4].to_vec(), signins[4..].to_vec());
    let page1 = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": head,
        "@odata.nextLink": "https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=abc"
    });
    let page2 = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
                       "value": tail});
    ws.text(
        "graph.json",
        &format!(
            "{}\n{}\n",
            serde_json::to_string_pretty(&page1).unwrap(),
            serde_json::to_string_pretty(&page2).unwrap()
        ),
    );
    ws.json("array.txt", &Value::Array(signins.clone()));
    // Windows PowerShell 5.1 `ConvertTo-Json | Out-File`: UTF-16LE, BOM, CRLF.
    ws.bytes(
        "powershell.json",
        &utf16le_bom_crlf(&serde_json::to_string_pretty(&Value::Array(signins.clone())).unwrap()),
    );
    ws.ndjson("lines.json", &signins);
    let records: Vec<Value> = signins.iter().map(diagnostic).collect();
    ws.json("diagnostic.json", &json!({ "records": records }));
    // gzip: the Graph file compressed, and NDJSON as two concatenated gzip members.
    ws.bytes(
        "graph.gz",
        &gzip(fs::read_to_string(ws.p("graph.json")).unwrap().as_bytes()),
    );
    let half: Vec<String> = signins
        .iter()
        .map(|s| serde_json::to_string(s).unwrap() + "\n")
        .collect();
    let mut two_members = gzip(half[..3].concat().as_bytes());
    two_members.extend(gzip(half[3..].concat().as_bytes()));
    ws.bytes("lines.ndjson.gz", &two_members);
    // A folder whose bytewise path order differs from a per-folder walk and from a
    // case-insensitive sort: "A/" < "B.json" < "a-b.log" < "a/c.json" < "b.gz".
    ws.json(
        "folder/A/page.json",
        &json!({"value": [signins[0].clone()]}),
    );
    ws.json("folder/B.json", &json!([signins[1].clone()]));
    ws.ndjson("folder/a-b.log", &signins[2..4]);
    ws.json(
        "folder/a/c.json",
        &json!({"records": [diagnostic(&signins[4])]}),
    );
    ws.bytes(
        "folder/b.gz",
        &gzip(serde_json::to_string(&signins[5]).unwrap().as_bytes()),
    );

    let variants = [
        "graph.json",
        "array.txt",
        "powershell.json",
        "lines.json",
        "diagnostic.json",
        "graph.gz",
        "lines.ndjson.gz",
        "folder",
    ];
    let mut first: Option<Vec<Value>> = None;
    for (i, v) in variants.iter().enumerate() {
        let out = format!("out{i}");
        ws.simulate(&[v], "policies.json", &[], &out).ok();
        let rows = ws.decisions(&out);
        assert_eq!(
            ids(&rows),
            [4, 1, 6, 2, 5, 3].map(sid).to_vec(),
            "{v}: decisions must follow input order"
        );
        let summary = ws.summary(&out);
        assert_eq!(summary["signIns"], 6, "{v}");
        assert_eq!(summary["skipped"], 0, "{v}");
        match &first {
            None => first = Some(rows),
            Some(f) => assert_eq!(&rows, f, "{v} gives other decisions than graph.json"),
        }
    }
    // The decisions themselves are the expected ones (so "identical" is not "identically empty").
    let rows = by_id(&first.unwrap());
    assert_status(&rows, 1, "failure");
    assert_status(&rows, 2, "interrupted");
    assert_status(&rows, 3, "success");
    assert_status(&rows, 4, "notApplied");
    assert_status(&rows, 5, "notApplied");
    assert_status(&rows, 6, "failure");
}

/// A Log Analytics `SigninLogs` export as JSON rows (PascalCase columns, dynamic columns as
/// JSON text, `ResultType` a string, the table in `Type`) reads like the Graph export, and so
/// does the Log Analytics query API response (`{"tables":[{"columns":[...],"rows":[[...]]}]}`).
#[test]
fn signins_log_analytics_json_rows_read_like_graph() {
    let ws = Ws::new();
    let (signins, policies) = variety();
    ws.json("policies.json", &policies);
    ws.json("graph.json", &json!({ "value": signins }));
    let dynamic = |v: &Value| Value::String(serde_json::to_string(v).unwrap());
    let rows: Vec<Value> = signins
        .iter()
        .map(|s| {
            json!({
                "TenantId": TENANT,
                "SourceSystem": "Azure AD",
                "TimeGenerated": s["createdDateTime"],
                "ResourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
                "OperationName": "Sign-in activity",
                "Category": "SignInLogs",
                "ResultType": s["status"]["errorCode"].to_string(),
                "Identity": s["userDisplayName"],
                "Level": "4",
                "Location": s["location"]["countryOrRegion"],
                "AppDisplayName": s["appDisplayName"],
                "AppId": s["appId"],
                "AuthenticationDetails": dynamic(&s["authenticationDetails"]),
                "AuthenticationRequirement": s["authenticationRequirement"],
                "ClientAppUsed": s["clientAppUsed"],
                "ConditionalAccessPolicies": dynamic(&s["appliedConditionalAccessPolicies"]),
                "ConditionalAccessStatus": s["conditionalAccessStatus"],
                "CorrelationId": s["correlationId"],
                "CreatedDateTime": s["createdDateTime"],
                "CrossTenantAccessType": s["crossTenantAccessType"],
                "DeviceDetail": dynamic(&s["deviceDetail"]),
                "HomeTenantId": s["homeTenantId"],
                "IPAddress": s["ipAddress"],
                "IsInteractive": s["isInteractive"],
                "Id": s["id"],
                "LocationDetails": dynamic(&s["location"]),
                "NetworkLocationDetails": dynamic(&s["networkLocationDetails"]),
                "ResourceDisplayName": s["resourceDisplayName"],
                "ResourceIdentity": s["resourceId"],
                "ResourceTenantId": s["resourceTenantId"],
                "RiskLevelDuringSignIn": s["riskLevelDuringSignIn"],
                "Status": dynamic(&s["status"]),
                "UserDisplayName": s["userDisplayName"],
                "UserId": s["userId"],
                "UserPrincipalName": s["userPrincipalName"],
                "UserType": "Member",
                "Type": "SigninLogs"
            })
        })
        .collect();
    // The same rows as the Log Analytics query API returns them: typed columns, rows as arrays.
    let columns: Vec<String> = rows[0].as_object().unwrap().keys().cloned().collect();
    let api_rows: Vec<Value> = rows
        .iter()
        .map(|r| Value::Array(columns.iter().map(|c| r[c].clone()).collect()))
        .collect();
    let api_columns: Vec<Value> = columns
        .iter()
        .map(|c| json!({"name": c, "type": "string"}))
        .collect();
    let api = json!({"tables": [{
        "name": "PrimaryResult",
        "columns": api_columns,
        "rows": api_rows
    }]});
    ws.json("la.json", &Value::Array(rows));
    ws.json("la-api.json", &api);
    ws.simulate(&["graph.json"], "policies.json", &[], "g").ok();
    ws.simulate(&["la.json"], "policies.json", &[], "la").ok();
    assert_eq!(ws.decisions("la"), ws.decisions("g"));
    ws.simulate(&["la-api.json"], "policies.json", &[], "api")
        .ok();
    assert_eq!(ws.decisions("api"), ws.decisions("g"));
}

/// The portal's CSV download and the Log Analytics CSV export are read, told apart by their
/// content (the Log Analytics file here is named `.json`); a CSV file with other columns is
/// refused with a clear exit-2 message naming the file, and no decisions are written.
#[test]
fn signins_csv_exports_are_read() {
    let ws = Ws::new();
    let (_, policies) = variety();
    ws.json("policies.json", &policies);
    ws.text(
        "portal.csv",
        "Date (UTC),Request ID,User agent,Correlation ID,User ID,User,Username,User type,\
         Application,Application ID,Resource,Resource ID,IP address,Location,Status,\
         Sign-in error code,Failure reason,Client app,Conditional Access\n\
         2026-01-05T14:23:45.123Z,51000000-0000-4000-8000-000000000001,Mozilla/5.0,\
         c0000000-0000-4000-8000-000000000001,,User 1,\
         user1@contoso.example,Member,Azure Portal,c44b4083-3bb0-49c1-b47d-974e53cbdf3c,\
         Windows Azure Service Management API,797f4846-ba00-4fd7-ba43-dac1f8f63013,\
         198.51.100.7,\"Berlin, Berlin, DE\",Success,,Other.,Browser,Not Applied\n",
    );
    ws.text(
        "la-export.json",
        "TenantId,SourceSystem,TimeGenerated [UTC],ResourceId,OperationName,Category,ResultType,\
         Id,CreatedDateTime [UTC],UserPrincipalName,ConditionalAccessStatus\n\
         5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47,Azure AD,\"1/5/2026, 2:23:45.123 PM\",\
         /tenants/5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47/providers/Microsoft.aadiam,\
         Sign-in activity,SignInLogs,0,51000000-0000-4000-8000-000000000001,\
         \"1/5/2026, 2:23:45.123 PM\",user1@contoso.example,notApplied\n",
    );
    for (file, out) in [("portal.csv", "portal"), ("la-export.json", "la")] {
        ws.simulate(&[file], "policies.json", &[], out).ok();
        let rows = ws.decisions(out);
        assert_eq!(ids(&rows), [sid(1)], "{file}");
        assert_eq!(
            rows[0]["createdDateTime"], "2026-01-05T14:23:45.123Z",
            "{file}"
        );
        assert_eq!(rows[0]["userId"], Value::Null, "{file}: not in the export");
    }
    ws.text("scores-like.csv", "signInId,score\nabc,0.5\n");
    let out = ws
        .simulate(&["scores-like.csv"], "policies.json", &[], "bad")
        .input_error(&["scores-like.csv", "CSV", "not a sign-in export"]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(!ws.exists("bad/decisions.ndjson"), "no half result");
}

/// A Parquet file that is not a normalized sign-in table (here: vigil's own decisions.parquet)
/// is an input error naming the file, not misread. (Reading real normalized Parquet belongs to
/// `vigil ingest` and its tests.)
#[test]
fn signins_parquet_that_is_not_a_signin_table_is_an_input_error() {
    let ws = Ws::new();
    let (signins, policies) = variety();
    ws.json("policies.json", &policies);
    ws.ndjson("s.ndjson", &signins);
    ws.simulate(&["s.ndjson"], "policies.json", &[], "first")
        .ok();
    fs::copy(ws.p("first/decisions.parquet"), ws.p("signins.parquet")).unwrap();
    ws.simulate(&["signins.parquet"], "policies.json", &[], "out")
        .input_error(&["signins.parquet"]);
    assert!(!ws.exists("out/decisions.ndjson"));
}

/// "A sign-in id seen twice is kept once (the first) and counted": across files and within a
/// file, ids compared as GUIDs (case does not matter); the kept record is the first one read.
#[test]
fn signins_duplicate_ids_keep_the_first_and_are_counted() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([policy(
            "p-mfa",
            "enabled",
            json!({"includeUsers": ["All"]}),
            require_mfa()
        )]),
    );
    // a.json is read before b.ndjson: user 1's first record is a wrong password (notApplied).
    ws.json(
        "in/a.json",
        &json!({"value": [
            with(signin(1), code(50126, "notApplied")),
            signin(2),
            with(signin(1), json!({"createdDateTime": "2026-02-01T00:00:00Z"}))
        ]}),
    );
    let mut again = signin(1);
    again["id"] = json!(sid(1).to_uppercase());
    ws.ndjson(
        "in/b.ndjson",
        &[again, with(signin(2), mfa_done()), signin(3)],
    );
    ws.simulate(&["in"], "policies.json", &[], "out").ok();
    let rows = ws.decisions("out");
    assert_eq!(ids(&rows), vec![sid(1), sid(2), sid(3)]);
    let rows = by_id(&rows);
    assert_status(&rows, 1, "notApplied");
    assert_eq!(row(&rows, 1)["createdDateTime"], "2026-01-05T14:01:45.123Z");
    assert_status(&rows, 2, "interrupted");
    let summary = ws.summary("out");
    assert_eq!(summary["signIns"], 3);
    assert_eq!(summary["duplicates"], 3);
    assert_eq!(summary["skipped"], 0);

    // The same file given twice: every record of the second reading is a duplicate.
    ws.simulate(&["in/a.json", "in/a.json"], "policies.json", &[], "twice")
        .ok();
    assert_eq!(ws.decisions("twice").len(), 2);
    assert_eq!(ws.summary("twice")["duplicates"], 1 + 3);
}

// ---------------------------------------------------------------------------------------------
// --policies
// ---------------------------------------------------------------------------------------------

/// `--policies` as an array, a Graph list and a folder of one-policy files (UTF-16LE with BOM
/// and CRLF as PowerShell writes them, UTF-16LE without BOM, UTF-16BE, UTF-8 with and without
/// BOM): the same decisions, every
/// policy listed in input order (the folder: by file name, bytewise), disabled ones included as
/// `notEnabled` with their state.
#[test]
fn policies_array_list_and_folder_of_utf16_and_utf8_files() {
    let ws = Ws::new();
    // File-name order: CA01 < CA02 < CA10 < CA11 < CA12 < CA9 (bytewise, not numeric).
    let named = [
        (
            "CA01-block.json",
            policy("p-01", "enabled", users(&[1]), block()),
        ),
        (
            "CA02-disabled.json",
            policy(
                "p-02",
                "disabled",
                json!({"includeUsers": ["All"]}),
                block(),
            ),
        ),
        (
            "CA10-report-only.json",
            policy(
                "p-10",
                "enabledForReportingButNotEnforced",
                json!({"includeUsers": ["All"]}),
                require_mfa(),
            ),
        ),
        (
            "CA11-no-bom.json",
            policy("p-11", "enabled", users(&[9]), require_mfa()),
        ),
        (
            "CA12-big-endian.json",
            policy("p-12", "enabled", users(&[9]), block()),
        ),
        (
            "CA9-mfa.json",
            policy("p-9", "enabled", users(&[2]), require_mfa()),
        ),
    ];
    for (i, (name, p)) in named.iter().enumerate() {
        let text = serde_json::to_string_pretty(p).unwrap();
        let bytes = match i {
            0 | 5 => utf16le_bom_crlf(&text),
            1 => text.into_bytes(),
            3 => utf16le_bom_crlf(&text)[2..].to_vec(),
            4 => [0xFE, 0xFF]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
                .collect(),
            _ => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
        };
        ws.bytes(&format!("folder/{name}"), &bytes);
    }
    let list: Vec<Value> = named.iter().map(|(_, p)| p.clone()).collect();
    ws.json("array.json", &Value::Array(list.clone()));
    ws.json(
        "list.json",
        &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies",
                "value": list}),
    );
    ws.ndjson("s.ndjson", &[signin(1), signin(2), signin(3)]);

    let want_ids = ["p-01", "p-02", "p-10", "p-11", "p-12", "p-9"];
    let mut first: Option<Vec<Value>> = None;
    for (i, p) in ["folder", "array.json", "list.json"].iter().enumerate() {
        let out = format!("out{i}");
        ws.simulate(&["s.ndjson"], p, &[], &out).ok();
        let rows = ws.decisions(&out);
        for r in &rows {
            assert_eq!(policy_ids(&r["candidate"]), want_ids, "{p}");
            let disabled = policy_row(r, "p-02");
            assert_eq!(disabled["state"], "disabled");
            assert_eq!(disabled["result"], "notEnabled");
            assert_eq!(disabled["displayName"], "Policy p-02");
            assert_eq!(
                policy_row(r, "p-10")["state"],
                "enabledForReportingButNotEnforced"
            );
            assert_eq!(policy_row(r, "p-01")["state"], "enabled");
        }
        match &first {
            None => first = Some(rows),
            Some(f) => assert_eq!(&rows, f, "{p} gives other decisions than the folder"),
        }
    }
    let rows = by_id(&first.unwrap());
    assert_status(&rows, 1, "failure");
    assert_status(&rows, 2, "interrupted");
    assert_status(&rows, 3, "notApplied");
    assert_eq!(result(row(&rows, 3), "p-10"), "reportOnlyInterrupted");

    // Input order is the array's order, whatever it is.
    let mut reversed = list;
    reversed.reverse();
    ws.json("reversed.json", &Value::Array(reversed));
    ws.simulate(&["s.ndjson"], "reversed.json", &[], "rev").ok();
    for r in ws.decisions("rev") {
        assert_eq!(
            policy_ids(&r["candidate"]),
            ["p-9", "p-12", "p-11", "p-10", "p-02", "p-01"]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// decisions.ndjson, --decisions, decisions.parquet
// ---------------------------------------------------------------------------------------------

/// Every decision row has exactly the contract's fields with the contract's shapes;
/// `createdDateTime` is RFC 3339 in UTC with `Z` whatever offset and precision the export used.
#[test]
fn decisions_rows_have_exactly_the_contract_fields_and_shapes() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([
            policy("p-mfa", "enabled", users(&[1, 2, 3]), require_mfa()),
            policy("p-off", "disabled", users(&[1]), block()),
        ]),
    );
    ws.json(
        "s.json",
        &json!({"value": [
            with(signin(1), json!({"createdDateTime": "2026-01-05T15:23:45.123+01:00"})),
            with(signin(2), json!({"createdDateTime": "2026-01-05T14:23:45.1234567Z"})),
            with(signin(3), json!({"createdDateTime": "2026-01-05T21:10:00-05:00"})),
        ]}),
    );
    ws.simulate(&["s.json"], "policies.json", &[], "out").ok();
    let rows = ws.decisions("out");
    assert_eq!(rows.len(), 3);
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    let side_keys = set(&["status", "controls", "policies"]);
    let policy_keys = set(&["id", "displayName", "state", "result", "reasons"]);
    let statuses = set(&[
        "notApplied",
        "success",
        "interrupted",
        "failure",
        "indeterminate",
    ]);
    let results = set(&[
        "success",
        "failure",
        "notApplied",
        "notEnabled",
        "reportOnlySuccess",
        "reportOnlyFailure",
        "reportOnlyInterrupted",
        "reportOnlyNotApplied",
        "indeterminate",
    ]);
    for r in &rows {
        assert_eq!(
            keys(r),
            set(&[
                "signInId",
                "correlationId",
                "userId",
                "createdDateTime",
                "candidate",
                "baseline",
                "changed"
            ]),
            "{r:#}"
        );
        for side in [&r["candidate"], &r["baseline"]] {
            assert_eq!(keys(side), side_keys, "{side:#}");
            assert!(statuses.contains(side["status"].as_str().unwrap()));
            assert!(
                side["controls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(Value::is_string)
            );
            for p in side["policies"].as_array().unwrap() {
                assert_eq!(keys(p), policy_keys, "{p:#}");
                for k in ["id", "displayName", "state", "result"] {
                    assert!(p[k].is_string(), "{k} in {p:#}");
                }
                assert!(results.contains(p["result"].as_str().unwrap()), "{p:#}");
                assert!(
                    p["reasons"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(Value::is_string)
                );
            }
        }
        assert!(r["changed"].is_boolean());
    }
    let rows = by_id(&rows);
    let r1 = row(&rows, 1);
    assert_eq!(r1["signInId"], sid(1));
    assert_eq!(r1["correlationId"], "c0000000-0000-4000-8000-000000000001");
    assert_eq!(r1["userId"], uid(1));
    assert_eq!(r1["createdDateTime"], "2026-01-05T14:23:45.123Z");
    assert_eq!(row(&rows, 2)["createdDateTime"], "2026-01-05T14:23:45.123Z");
    assert_eq!(row(&rows, 3)["createdDateTime"], "2026-01-06T02:10:00.000Z");
    assert_eq!(status(r1), "interrupted");
    assert_eq!(r1["baseline"]["status"], "notApplied");
    assert_eq!(r1["changed"], true);
    let p = policy_row(r1, "p-mfa");
    assert_eq!(p["displayName"], "Policy p-mfa");
    assert_eq!(p["state"], "enabled");
    assert_eq!(
        p["result"], "failure",
        "an enforced prompting policy reports failure"
    );
    assert!(!p["reasons"].as_array().unwrap().is_empty());
}

/// Reads decisions.parquet back into decisions.ndjson's lines: every column, the sides'
/// `policies` (dictionary-encoded JSON text) parsed, `createdDateTime` as milliseconds.
fn parquet_rows(path: &Path) -> Vec<Value> {
    use arrow::array::{
        Array, ArrayAccessor, BooleanArray, DictionaryArray, ListArray, StringArray,
        TimestampMillisecondArray,
    };
    use arrow::datatypes::Int32Type;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let file = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("decisions.parquet has no column {name}"))
                .clone()
        };
        let text = |name: &str, i: usize| {
            let c = col(name);
            let c = c.as_any().downcast_ref::<StringArray>().unwrap();
            (!c.is_null(i)).then(|| c.value(i).to_string())
        };
        let controls = |name: &str, i: usize| {
            let c = col(name);
            let c = c.as_any().downcast_ref::<ListArray>().unwrap();
            (!c.is_null(i)).then(|| {
                let items = c.value(i);
                let items = items.as_any().downcast_ref::<StringArray>().unwrap();
                (0..items.len())
                    .map(|j| items.value(j).to_string())
                    .collect::<Vec<_>>()
            })
        };
        let policies = |name: &str, i: usize| {
            let c = col(name);
            let c = c
                .as_any()
                .downcast_ref::<DictionaryArray<Int32Type>>()
                .unwrap_or_else(|| panic!("{name} is a dictionary of strings"));
            let values = c.downcast_dict::<StringArray>().unwrap();
            (!c.is_null(i)).then(|| serde_json::from_str::<Value>(values.value(i)).unwrap())
        };
        let created = col("createdDateTime");
        let created = created
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .unwrap();
        let changed = col("changed");
        let changed = changed.as_any().downcast_ref::<BooleanArray>().unwrap();
        for i in 0..batch.num_rows() {
            let base = text("baselineStatus", i).map(|status| {
                json!({"status": status, "controls": controls("baselineControls", i),
                       "policies": policies("baselinePolicies", i)})
            });
            out.push(json!({
                "signInId": text("signInId", i),
                "correlationId": text("correlationId", i),
                "userId": text("userId", i),
                "createdDateTime": (!created.is_null(i)).then(|| created.value(i)),
                "candidate": {"status": text("candidateStatus", i),
                              "controls": controls("candidateControls", i),
                              "policies": policies("candidatePolicies", i)},
                "baseline": base,
                "changed": (!changed.is_null(i)).then(|| changed.value(i)),
            }));
        }
    }
    out
}

/// decisions.ndjson's lines with `createdDateTime` as milliseconds, as [`parquet_rows`] reads
/// decisions.parquet.
fn ndjson_rows(rows: &[Value]) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            let ms = r["createdDateTime"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond());
            r["createdDateTime"] = json!(ms);
            r
        })
        .collect()
}

/// One policy requiring MFA of everyone (`policies.json`) and four sign-ins (`s.ndjson`): 1 and 4
/// go from notApplied to interrupted, 2 (MFA done) stays success, 3 (a first-factor failure)
/// stays notApplied.
fn mfa_for_all_case() -> Ws {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([policy(
            "p-mfa",
            "enabled",
            json!({"includeUsers": ["All"]}),
            require_mfa()
        )]),
    );
    ws.ndjson(
        "s.ndjson",
        &[
            signin(1),                                             // notApplied -> interrupted
            with(with(signin(2), mfa_done()), code(0, "success")), // success -> success
            with(signin(3), code(50126, "notApplied")),            // notApplied -> notApplied
            signin(4),                                             // notApplied -> interrupted
        ],
    );
    ws
}

/// Exports are replayed through a normalized table staged in --out as a hidden file; the run
/// removes it, also when the input turns out bad (exit 2 naming the file and line), and
/// replaying the export gives what replaying its `vigil ingest` table gives.
#[test]
fn exports_replay_through_a_staged_table_that_the_run_removes() {
    let ws = mfa_for_all_case();
    let hidden = |dir: &str| -> Vec<String> {
        fs::read_dir(ws.p(dir))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
    };
    ws.simulate(&["s.ndjson"], "policies.json", &[], "from-export")
        .ok();
    assert_eq!(hidden("from-export"), Vec::<String>::new());
    ws.run(&[
        "ingest",
        "--signins",
        s(&ws.p("s.ndjson")),
        "--out",
        s(&ws.p("s.parquet")),
    ])
    .ok();
    ws.simulate(&["s.parquet"], "policies.json", &[], "from-table")
        .ok();
    assert_eq!(
        ndjson_rows(&ws.decisions("from-export")),
        ndjson_rows(&ws.decisions("from-table"))
    );
    let summary = |dir: &str| {
        let mut v: Value = serde_json::from_str(
            &fs::read_to_string(ws.p(&format!("{dir}/summary.json"))).unwrap(),
        )
        .unwrap();
        v.as_object_mut().unwrap().remove("inputs");
        v.as_object_mut().unwrap().remove("warnings");
        v
    };
    assert_eq!(summary("from-export"), summary("from-table"));

    let good = fs::read_to_string(ws.p("s.ndjson")).unwrap();
    ws.text("bad.ndjson", &format!("{good}{{\"id\": \n"));
    ws.simulate(&["bad.ndjson"], "policies.json", &[], "bad")
        .input_error(&["bad.ndjson", "line 5"]);
    assert!(
        !ws.exists("bad"),
        "a failed run leaves the --out it created"
    );
    fs::create_dir_all(ws.p("kept")).unwrap();
    ws.simulate(&["bad.ndjson"], "policies.json", &[], "kept")
        .input_error(&["bad.ndjson", "line 5"]);
    assert!(
        ws.exists("kept"),
        "a failed run removes an --out it did not create"
    );
    assert_eq!(hidden("kept"), Vec::<String>::new());
}

/// `--decisions all|changed|none`: all rows; only rows whose status changed; no decisions file
/// at all. decisions.parquet holds the same rows as decisions.ndjson (reading: with `none` there
/// is no Parquet file either). summary.json always counts every sign-in.
#[test]
fn decisions_flag_selects_rows_and_parquet_mirrors_ndjson() {
    let ws = mfa_for_all_case();
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--decisions", "all"],
        "all",
    )
    .ok();
    let all = ws.decisions("all");
    assert_eq!(ids(&all), [1, 2, 3, 4].map(sid).to_vec());
    assert_eq!(
        parquet_rows(&ws.p("all/decisions.parquet")),
        ndjson_rows(&all)
    );

    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--decisions", "changed"],
        "changed",
    )
    .ok();
    let changed = ws.decisions("changed");
    assert_eq!(ids(&changed), vec![sid(1), sid(4)]);
    assert!(changed.iter().all(|r| r["changed"] == true));
    assert_eq!(
        parquet_rows(&ws.p("changed/decisions.parquet")),
        ndjson_rows(&changed)
    );
    // The same rows as in the full output, not recomputed differently.
    let full = by_id(&all);
    for r in &changed {
        assert_eq!(r, &full[r["signInId"].as_str().unwrap()]);
    }

    // Into a folder that holds an earlier run's decisions: none may be left behind.
    fs::create_dir_all(ws.p("none")).unwrap();
    fs::copy(ws.p("all/decisions.ndjson"), ws.p("none/decisions.ndjson")).unwrap();
    fs::copy(
        ws.p("all/decisions.parquet"),
        ws.p("none/decisions.parquet"),
    )
    .unwrap();
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--decisions", "none"],
        "none",
    )
    .ok();
    assert!(
        !ws.exists("none/decisions.ndjson"),
        "--decisions none writes no decisions"
    );
    assert!(
        !ws.exists("none/decisions.parquet"),
        "--decisions none writes no Parquet rows"
    );
    for out in ["all", "changed", "none"] {
        let summary = ws.summary(out);
        assert_eq!(summary["signIns"], 4, "{out}");
        assert_eq!(summary["candidate"]["status"]["interrupted"], 2, "{out}");
        assert_eq!(
            summary["transitions"]["notApplied -> interrupted"], 2,
            "{out}"
        );
    }
}

/// `--decisions-format ndjson|parquet` writes the same rows to one file only and removes an
/// earlier run's other file from --out, for an export (replayed through a staged table) and
/// for a normalized table alike. (The row-by-row replay's writing of both files is compared
/// with the columnar one's in simulator/tests/columnar.rs.)
#[test]
fn decisions_format_writes_the_same_rows_to_one_file() {
    let ws = mfa_for_all_case();
    ws.run(&[
        "ingest",
        "--signins",
        s(&ws.p("s.ndjson")),
        "--out",
        s(&ws.p("s.parquet")),
    ])
    .ok();
    for input in ["s.ndjson", "s.parquet"] {
        let both = format!("both-{input}");
        ws.simulate(
            &[input],
            "policies.json",
            &["--decisions", "changed"],
            &both,
        )
        .ok();
        let want = ndjson_rows(&ws.decisions(&both));
        assert_eq!(want.len(), 2, "{input}: two changed sign-ins");

        let nd = format!("nd-{input}");
        fs::create_dir_all(ws.p(&nd)).unwrap();
        fs::copy(
            ws.p(&format!("{both}/decisions.parquet")),
            ws.p(&format!("{nd}/decisions.parquet")),
        )
        .unwrap();
        ws.simulate(
            &[input],
            "policies.json",
            &["--decisions", "changed", "--decisions-format", "ndjson"],
            &nd,
        )
        .ok();
        assert_eq!(ndjson_rows(&ws.decisions(&nd)), want, "{input}");
        assert!(
            !ws.exists(&format!("{nd}/decisions.parquet")),
            "{input}: an earlier run's Parquet file is left in --out"
        );

        let pq = format!("pq-{input}");
        fs::create_dir_all(ws.p(&pq)).unwrap();
        fs::copy(
            ws.p(&format!("{both}/decisions.ndjson")),
            ws.p(&format!("{pq}/decisions.ndjson")),
        )
        .unwrap();
        ws.simulate(
            &[input],
            "policies.json",
            &["--decisions", "changed", "--decisions-format", "parquet"],
            &pq,
        )
        .ok();
        assert_eq!(
            parquet_rows(&ws.p(&format!("{pq}/decisions.parquet"))),
            want,
            "{input}"
        );
        assert!(
            !ws.exists(&format!("{pq}/decisions.ndjson")),
            "{input}: an earlier run's NDJSON file is left in --out"
        );
        assert_eq!(ws.summary(&pq), ws.summary(&both), "{input}");
    }
}

// ---------------------------------------------------------------------------------------------
// --baseline
// ---------------------------------------------------------------------------------------------

/// `--baseline logged` (the default): S from the log's own outcome (first-factor failures
/// `notApplied`; CA interrupts `interrupted`; CA blocks `failure`; conditionalAccessStatus
/// success/notApplied as written; missing or unknown `indeterminate`), per-policy results as
/// logged (`unknown` becomes `indeterminate`), `changed` comparing the two statuses.
#[test]
fn baseline_logged_reads_the_outcome_the_log_recorded() {
    let ws = Ws::new();
    ws.json("policies.json", &json!([]));
    let cases: Vec<(u32, Value, &str)> = vec![
        (1, code(50126, "failure"), "notApplied"),
        (2, code(50074, "failure"), "interrupted"),
        (3, code(50076, "notApplied"), "interrupted"),
        (4, code(50079, "failure"), "interrupted"),
        (5, code(50158, "success"), "interrupted"),
        (6, code(53000, "failure"), "failure"),
        (7, code(53001, "failure"), "failure"),
        (8, code(53002, "failure"), "failure"),
        (9, code(53003, "success"), "failure"),
        (10, code(53004, "failure"), "failure"),
        (11, code(530034, "failure"), "failure"),
        (12, code(0, "success"), "success"),
        (13, code(0, "notApplied"), "notApplied"),
        (
            14,
            json!({"status": null, "conditionalAccessStatus": null}),
            "indeterminate",
        ),
        (15, code(0, "unknownFutureValue"), "indeterminate"),
        (
            16,
            json!({"conditionalAccessStatus": null}),
            "indeterminate",
        ),
    ];
    let logged = json!([
        {"id": "l-1", "displayName": "Logged 1", "result": "success", "enforcedGrantControls": ["Mfa"]},
        {"id": "l-2", "displayName": "Logged 2", "result": "failure", "enforcedGrantControls": ["Block"]},
        {"id": "l-3", "displayName": "Logged 3", "result": "notApplied"},
        {"id": "l-4", "displayName": "Logged 4", "result": "notEnabled"},
        {"id": "l-5", "displayName": "Logged 5", "result": "reportOnlySuccess"},
        {"id": "l-6", "displayName": "Logged 6", "result": "reportOnlyFailure"},
        {"id": "l-7", "displayName": "Logged 7", "result": "reportOnlyInterrupted"},
        {"id": "l-8", "displayName": "Logged 8", "result": "reportOnlyNotApplied"},
        {"id": "l-9", "displayName": "Logged 9", "result": "unknown"},
        {"id": "l-10", "displayName": "Logged 10", "result": "unknownFutureValue"}
    ]);
    let mut signins: Vec<Value> = cases
        .iter()
        .map(|(n, patch, _)| with(signin(*n), patch.clone()))
        .collect();
    signins.push(with(
        signin(17),
        json!({"conditionalAccessStatus": "failure",
               "status": {"errorCode": 53003},
               "appliedConditionalAccessPolicies": logged}),
    ));
    ws.json("s.json", &json!({ "value": signins }));
    ws.simulate(
        &["s.json"],
        "policies.json",
        &["--baseline", "logged"],
        "out",
    )
    .ok();
    let rows = by_id(&ws.decisions("out"));
    for (n, _, want) in &cases {
        let r = row(&rows, *n);
        assert_eq!(
            r["baseline"]["status"], *want,
            "sign-in {n}: {:#}",
            r["baseline"]
        );
        assert_eq!(status(r), "notApplied", "no candidate policy");
        assert_eq!(r["changed"], *want != "notApplied", "sign-in {n}");
        assert_eq!(
            r["baseline"]["policies"],
            json!([]),
            "nothing was logged as applied"
        );
    }
    let r = row(&rows, 17);
    let want = [
        "success",
        "failure",
        "notApplied",
        "notEnabled",
        "reportOnlySuccess",
        "reportOnlyFailure",
        "reportOnlyInterrupted",
        "reportOnlyNotApplied",
        "indeterminate",
        "indeterminate",
    ];
    let got: Vec<(&str, &str, &str)> = r["baseline"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap(),
                p["displayName"].as_str().unwrap(),
                p["result"].as_str().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, String, &str)> = want
        .iter()
        .enumerate()
        .map(|(i, w)| (format!("l-{}", i + 1), format!("Logged {}", i + 1), *w))
        .collect();
    let want: Vec<(&str, &str, &str)> = want
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), *c))
        .collect();
    assert_eq!(got, want);
    assert_eq!(r["baseline"]["status"], "failure");
    assert_eq!(r["changed"], true);

    // The default is `logged`.
    ws.simulate(&["s.json"], "policies.json", &[], "default")
        .ok();
    assert_eq!(ws.decisions("default"), ws.decisions("out"));
    let summary = ws.summary("out");
    assert_eq!(summary["baseline"]["status"]["interrupted"], 4);
    assert_eq!(summary["baseline"]["status"]["failure"], 7);
    assert_eq!(summary["baseline"]["status"]["indeterminate"], 3);
    assert_eq!(summary["baseline"]["policies"]["l-9"]["indeterminate"], 1);
    assert_eq!(summary["transitions"]["failure -> notApplied"], 7);
    assert_eq!(summary["transitions"]["notApplied -> notApplied"], 2);
}

/// The logged baseline follows the code table of SEMANTICS.md beyond the contract's examples:
/// other first-factor failures (locked, expired, disabled, bad client secret) are `notApplied`
/// whatever `conditionalAccessStatus` says; other CA interrupts (MFA registration, expired MFA,
/// device authentication, password change, sign-in frequency) `interrupted`; other CA blocks
/// `failure`; codes outside the groups take `conditionalAccessStatus` as written.
#[test]
fn baseline_logged_follows_the_code_table() {
    let ws = Ws::new();
    ws.json("policies.json", &json!([]));
    let cases: Vec<(i64, &str, &str)> = vec![
        (50053, "failure", "notApplied"),
        (50055, "failure", "notApplied"),
        (50057, "success", "notApplied"),
        (50034, "failure", "notApplied"),
        (70002, "failure", "notApplied"),
        (7000215, "failure", "notApplied"),
        (50072, "notApplied", "interrupted"),
        (50078, "failure", "interrupted"),
        (50097, "failure", "interrupted"),
        (50142, "failure", "interrupted"),
        (70043, "failure", "interrupted"),
        (50005, "failure", "failure"),
        (50131, "failure", "failure"),
        (53009, "failure", "failure"),
        (53010, "failure", "failure"),
        (53011, "failure", "failure"),
        (530032, "failure", "failure"),
        (530036, "failure", "failure"),
        (50140, "success", "success"),
        (50058, "notApplied", "notApplied"),
        (50140, "", "indeterminate"),
    ];
    let signins: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (c, ca, _))| {
            let n = u32::try_from(i).unwrap() + 1;
            let s = with(signin(n), code(*c, ca));
            if ca.is_empty() {
                with(s, json!({"conditionalAccessStatus": null}))
            } else {
                s
            }
        })
        .collect();
    ws.ndjson("s.ndjson", &signins);
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    for (i, (c, ca, want)) in cases.iter().enumerate() {
        let r = row(&rows, u32::try_from(i).unwrap() + 1);
        assert_eq!(
            r["baseline"]["status"], *want,
            "code {c} with conditionalAccessStatus {ca:?}"
        );
    }
}

/// Replaying the policy that Entra enforced reproduces the logged outcome: a sign-in Entra
/// interrupted for MFA (50074, 50076, 50079) is `interrupted` again under the same MFA policy,
/// so `changed` is false; the code itself shows that MFA was not met. (Reading: the contract
/// calls `indeterminate` only a signal missing from the log, and here the log has it.)
#[test]
fn baseline_logged_mfa_interrupts_replayed_with_the_same_policy_are_unchanged() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([policy(
            "p-mfa",
            "enabled",
            json!({"includeUsers": ["All"]}),
            require_mfa()
        )]),
    );
    let logged = json!({"appliedConditionalAccessPolicies": [
        {"id": "p-mfa", "displayName": "Policy p-mfa", "result": "failure",
         "enforcedGrantControls": ["Mfa"]}]});
    let interrupted = |n: u32, c: i64| {
        with(
            with(signin(n), code(c, "failure")),
            with(
                logged.clone(),
                json!({"authenticationRequirement": "multiFactorAuthentication",
                       "authenticationDetails": [
                           {"authenticationMethod": "Password", "succeeded": true},
                           {"authenticationMethod": "Mobile app notification", "succeeded": false,
                            "authenticationStepResultDetail": "MFA denied; user did not respond to mobile app notification"}]}),
            ),
        )
    };
    ws.ndjson(
        "s.ndjson",
        &[
            interrupted(1, 50074),
            interrupted(2, 50076),
            with(interrupted(3, 50079), json!({"authenticationDetails": []})),
            with(
                with(with(signin(4), mfa_done()), code(0, "success")),
                json!({"appliedConditionalAccessPolicies": [
                    {"id": "p-mfa", "displayName": "Policy p-mfa", "result": "success",
                     "enforcedGrantControls": ["Mfa"]}]}),
            ),
        ],
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    for n in 1..=3 {
        let r = row(&rows, n);
        assert_eq!(r["baseline"]["status"], "interrupted", "sign-in {n}");
        assert_eq!(
            status(r),
            "interrupted",
            "sign-in {n}: {:#}",
            r["candidate"]
        );
        assert_eq!(controls(r), set(&["mfa"]));
        assert_eq!(r["changed"], false, "sign-in {n}");
        assert_eq!(r["baseline"]["policies"][0]["result"], result(r, "p-mfa"));
    }
    let r4 = row(&rows, 4);
    assert_eq!(
        (status(r4), r4["changed"].clone()),
        ("success", json!(false))
    );
    assert_eq!(
        ws.summary("out")["transitions"],
        json!({"interrupted -> interrupted": 3, "success -> success": 1})
    );
}

/// `--baseline none`: every row's `baseline` and `changed` are null; summary.json has
/// `"baseline": null` (reading: and an empty `transitions` object).
#[test]
fn baseline_none_gives_null_baseline_and_null_changed() {
    let ws = Ws::new();
    let (signins, policies) = variety();
    ws.json("policies.json", &policies);
    ws.ndjson("s.ndjson", &signins);
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--baseline", "none"],
        "out",
    )
    .ok();
    let rows = ws.decisions("out");
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert!(r["baseline"].is_null(), "{r:#}");
        assert!(r["changed"].is_null(), "{r:#}");
        assert!(r.as_object().unwrap().contains_key("baseline"));
        assert!(r.as_object().unwrap().contains_key("changed"));
    }
    let summary = ws.summary("out");
    assert!(summary["baseline"].is_null());
    assert!(summary.as_object().unwrap().contains_key("baseline"));
    assert_eq!(summary["transitions"], json!({}));
    assert_eq!(summary["candidate"]["status"]["failure"], 2);
    // --decisions changed has nothing to select without a baseline.
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--baseline", "none", "--decisions", "changed"],
        "changed",
    )
    .ok();
    assert!(ws.decisions("changed").is_empty());
}

/// `--baseline PATH`: another policy set evaluated the same way; the baseline side lists that
/// set's policies in its own order, and `changed`/`transitions` compare the two statuses.
#[test]
fn baseline_path_is_another_policy_set_evaluated_the_same_way() {
    let ws = Ws::new();
    ws.json(
        "candidate.json",
        &json!([policy(
            "p-mfa",
            "enabled",
            json!({"includeUsers": ["All"]}),
            require_mfa()
        )]),
    );
    ws.json(
        "baseline.json",
        &json!({"value": [
            policy("b-block", "enabled", users(&[1]), block()),
            policy("b-off", "disabled", json!({"includeUsers": ["All"]}), block()),
            policy("b-ro", "enabledForReportingButNotEnforced", users(&[2]), require_mfa()),
        ]}),
    );
    ws.ndjson(
        "s.ndjson",
        &[signin(1), signin(2), with(signin(3), mfa_done())],
    );
    ws.simulate(
        &["s.ndjson"],
        "candidate.json",
        &["--baseline", "baseline.json"],
        "out",
    )
    .ok();
    let rows = by_id(&ws.decisions("out"));
    for n in 1..=3 {
        let b = &row(&rows, n)["baseline"];
        assert_eq!(policy_ids(b), ["b-block", "b-off", "b-ro"]);
        assert_eq!(b["policies"][1]["result"], "notEnabled");
        assert_eq!(b["policies"][1]["state"], "disabled");
    }
    let r1 = row(&rows, 1);
    assert_eq!(r1["baseline"]["status"], "failure");
    assert_eq!(r1["baseline"]["policies"][0]["result"], "failure");
    assert_eq!(status(r1), "interrupted");
    assert_eq!(r1["changed"], true);
    let r2 = row(&rows, 2);
    assert_eq!(r2["baseline"]["status"], "notApplied");
    assert_eq!(
        r2["baseline"]["policies"][2]["result"],
        "reportOnlyInterrupted"
    );
    assert_eq!(
        r2["baseline"]["controls"],
        json!([]),
        "report-only demands nothing"
    );
    assert_eq!(status(r2), "interrupted");
    let r3 = row(&rows, 3);
    assert_eq!(r3["baseline"]["status"], "notApplied");
    assert_eq!(status(r3), "success");
    assert_eq!(r3["changed"], true);
    let summary = ws.summary("out");
    assert_eq!(
        summary["transitions"],
        json!({"failure -> interrupted": 1, "notApplied -> interrupted": 1,
               "notApplied -> success": 1})
    );
    assert_eq!(
        summary["baseline"]["policies"]["b-off"],
        json!({"notEnabled": 3})
    );
    assert_eq!(
        summary["baseline"]["status"],
        json!({"failure": 1, "notApplied": 2})
    );

    // A baseline file that is not a policy set is an input error naming it.
    ws.text("broken.json", "[{\"id\": \"x\", \"state\": \"enabled\",");
    ws.simulate(
        &["s.ndjson"],
        "candidate.json",
        &["--baseline", "broken.json"],
        "bad",
    )
    .input_error(&["broken.json"]);
}

// ---------------------------------------------------------------------------------------------
// summary.json
// ---------------------------------------------------------------------------------------------

/// summary.json carries `signIns`, `skipped`, candidate status counts, candidate per-policy
/// result counts for every policy, the baseline in the same shape, and transitions
/// `"<baseline S> -> <candidate S>"`; the counts add up to `signIns`.
#[test]
fn summary_json_has_the_contract_fields_and_consistent_counts() {
    let ws = Ws::new();
    let (signins, policies) = variety();
    ws.json("policies.json", &policies);
    ws.ndjson("s.ndjson", &signins);
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let summary = ws.summary("out");
    assert_eq!(summary["signIns"], 6);
    assert_eq!(summary["skipped"], 0);
    assert_eq!(
        summary["candidate"]["status"],
        json!({"failure": 2, "interrupted": 1, "success": 1, "notApplied": 2})
    );
    assert_eq!(
        summary["candidate"]["policies"],
        json!({
            "p-block": {"failure": 1, "notApplied": 5},
            "p-mfa": {"failure": 3, "success": 1, "notApplied": 2},
            "p-ro": {"reportOnlyFailure": 1, "reportOnlyNotApplied": 5}
        })
    );
    let base = &summary["baseline"];
    assert_eq!(base["status"], json!({"notApplied": 5, "success": 1}));
    assert_eq!(base["policies"], json!({"p-ro": {"reportOnlyFailure": 1}}));
    let transitions = summary["transitions"].as_object().unwrap();
    assert_eq!(
        transitions
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        6
    );
    assert_eq!(summary["transitions"]["notApplied -> failure"], 2);
    assert_eq!(summary["transitions"]["success -> interrupted"], 1);
    // The summary agrees with the rows.
    let rows = ws.decisions("out");
    for (s, n) in summary["candidate"]["status"].as_object().unwrap() {
        let count = rows.iter().filter(|r| status(r) == s).count();
        assert_eq!(n.as_u64().unwrap(), count as u64, "{s}");
    }
}

// ---------------------------------------------------------------------------------------------
// Overall status S and per-policy results R
// ---------------------------------------------------------------------------------------------

/// Definite results combine as failure > interrupted > success > notApplied; an enforced policy
/// that prompts reports `failure`, one the sign-in satisfies `success`.
#[test]
fn status_failure_beats_interrupted_beats_success_beats_not_applied() {
    let ws = Ws::new();
    // A session-only policy (no grant control) applies and is satisfied.
    let mut session = policy("p-session", "enabled", users(&[1, 2, 3, 5]), Value::Null);
    session["sessionControls"] = json!({"persistentBrowser": {"isEnabled": true, "mode": "never"}});
    ws.json(
        "policies.json",
        &json!([
            policy("p-block", "enabled", users(&[1]), block()),
            policy("p-mfa", "enabled", users(&[1, 2]), require_mfa()),
            policy(
                "p-device",
                "enabled",
                users(&[1, 2, 3]),
                require(&["compliantDevice"])
            ),
            session,
        ]),
    );
    let compliant = json!({"deviceDetail": {"deviceId": "d0000000-0000-4000-8000-000000000001",
                                            "isCompliant": true, "isManaged": true,
                                            "trustType": "Azure AD joined"}});
    ws.ndjson(
        "s.ndjson",
        &[
            with(signin(1), compliant.clone()),
            with(signin(2), compliant.clone()),
            with(signin(3), compliant.clone()),
            with(signin(4), compliant.clone()),
            signin(5),
        ],
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    assert_status(&rows, 1, "failure");
    assert_status(&rows, 2, "interrupted");
    assert_status(&rows, 3, "success");
    assert_status(&rows, 4, "notApplied");
    assert_status(&rows, 5, "success");
    let r1 = row(&rows, 1);
    assert_eq!(result(r1, "p-block"), "failure");
    assert_eq!(result(r1, "p-mfa"), "failure");
    assert_eq!(result(r1, "p-device"), "success");
    assert_eq!(result(r1, "p-session"), "success");
    assert!(!controls(r1).contains("block"), "a block is not a control");
    let r2 = row(&rows, 2);
    assert_eq!(result(r2, "p-block"), "notApplied");
    assert_eq!(result(r2, "p-mfa"), "failure", "prompting reports failure");
    assert_eq!(controls(r2), set(&["mfa"]));
    assert_eq!(controls(row(&rows, 3)), set(&[]));
    for id in ["p-block", "p-mfa", "p-device", "p-session"] {
        assert_eq!(result(row(&rows, 4), id), "notApplied");
    }
}

/// Report-only policies are evaluated and reported (`reportOnly*`) but never change S, and their
/// controls are not demanded.
#[test]
fn status_report_only_policies_never_change_it() {
    let ws = Ws::new();
    let enforced = vec![
        policy("p-mfa", "enabled", users(&[2]), require_mfa()),
        policy(
            "p-device",
            "enabled",
            users(&[3]),
            require(&["compliantDevice"]),
        ),
    ];
    let mut all = enforced.clone();
    let ro = "enabledForReportingButNotEnforced";
    all.extend([
        policy("ro-block", ro, users(&[1, 2, 3, 4]), block()),
        policy("ro-mfa", ro, users(&[3, 4]), require_mfa()),
        policy("ro-device", ro, users(&[3]), require(&["compliantDevice"])),
        policy("ro-none", ro, users(&[9]), block()),
    ]);
    ws.json("enforced.json", &Value::Array(enforced));
    ws.json("all.json", &Value::Array(all));
    let compliant = json!({"deviceDetail": {"deviceId": "d0000000-0000-4000-8000-000000000003",
                                            "isCompliant": true, "trustType": "Azure AD joined"}});
    ws.ndjson(
        "s.ndjson",
        &[
            signin(1),
            signin(2),
            with(signin(3), compliant),
            with(signin(4), mfa_done()),
        ],
    );
    ws.simulate(&["s.ndjson"], "enforced.json", &[], "enforced")
        .ok();
    ws.simulate(&["s.ndjson"], "all.json", &[], "all").ok();
    let without = by_id(&ws.decisions("enforced"));
    let with_ro = by_id(&ws.decisions("all"));
    for n in 1..=4 {
        assert_eq!(
            status(row(&with_ro, n)),
            status(row(&without, n)),
            "report-only policies changed S of sign-in {n}"
        );
        assert_eq!(
            controls(row(&with_ro, n)),
            controls(row(&without, n)),
            "report-only policies changed the controls of sign-in {n}"
        );
    }
    assert_status(&with_ro, 1, "notApplied");
    assert_status(&with_ro, 2, "interrupted");
    assert_status(&with_ro, 3, "success");
    assert_status(&with_ro, 4, "notApplied");
    assert_eq!(result(row(&with_ro, 1), "ro-block"), "reportOnlyFailure");
    assert_eq!(result(row(&with_ro, 3), "ro-mfa"), "reportOnlyInterrupted");
    assert_eq!(result(row(&with_ro, 3), "ro-device"), "reportOnlySuccess");
    assert_eq!(result(row(&with_ro, 4), "ro-mfa"), "reportOnlySuccess");
    assert_eq!(result(row(&with_ro, 4), "ro-none"), "reportOnlyNotApplied");
    assert_eq!(controls(row(&with_ro, 3)), set(&[]));
}

/// The contract's first example: a block policy the log cannot decide (group membership without
/// --directory) next to a policy that prompts gives `indeterminate`; the undecided policy's R is
/// `indeterminate` and its reasons name the missing signal.
#[test]
fn status_undecided_block_next_to_a_prompt_is_indeterminate() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([
            policy(
                "p-group-block",
                "enabled",
                json!({"includeGroups": ["g-0001"]}),
                block()
            ),
            policy("p-mfa", "enabled", users(&[1]), require_mfa()),
        ]),
    );
    ws.ndjson("s.ndjson", &[signin(1)]);
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    let r = row(&rows, 1);
    assert_eq!(status(r), "indeterminate", "{:#}", r["candidate"]);
    let p = policy_row(r, "p-group-block");
    assert_eq!(p["result"], "indeterminate");
    let reasons = p["reasons"].to_string();
    assert!(
        reasons.contains("--directory"),
        "reasons must name the missing signal: {reasons}"
    );
    assert_eq!(result(r, "p-mfa"), "failure");
}

/// The contract's second example: an undecided policy whose grant the sign-in already
/// satisfied, next to a policy that prompts, gives `interrupted` (every way it could go, S is
/// the same).
#[test]
fn status_undecided_satisfied_policy_next_to_a_prompt_is_interrupted() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([
            policy(
                "p-group-device",
                "enabled",
                json!({"includeGroups": ["g-0001"]}),
                require(&["compliantDevice"])
            ),
            policy("p-mfa", "enabled", users(&[1]), require_mfa()),
        ]),
    );
    ws.ndjson(
        "s.ndjson",
        &[with(
            signin(1),
            json!({"deviceDetail": {"deviceId": "d0000000-0000-4000-8000-000000000001",
                                    "isCompliant": true, "trustType": "Azure AD joined"}}),
        )],
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    let r = row(&rows, 1);
    assert_eq!(status(r), "interrupted", "{:#}", r["candidate"]);
    assert_eq!(result(r, "p-group-device"), "indeterminate");
    assert_eq!(controls(r), set(&["mfa"]));
}

/// A legacy authentication client cannot do MFA: an MFA policy blocks it (`failure`, controls
/// `["mfa"]`); a modern client is prompted. A non-compliant device cannot satisfy
/// `compliantDevice` either.
#[test]
fn status_unsatisfiable_controls_fail_legacy_client_and_mfa() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([
            policy("p-mfa", "enabled", users(&[1, 2, 3, 4]), require_mfa()),
            policy(
                "p-device",
                "enabled",
                users(&[5]),
                require(&["compliantDevice"])
            ),
        ]),
    );
    ws.ndjson(
        "s.ndjson",
        &[
            with(signin(1), json!({"clientAppUsed": "IMAP4"})),
            with(signin(2), json!({"clientAppUsed": "Exchange ActiveSync"})),
            with(signin(3), json!({"clientAppUsed": "Other clients"})),
            with(
                signin(4),
                json!({"clientAppUsed": "Mobile Apps and Desktop clients"}),
            ),
            signin(5),
        ],
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    for n in 1..=3 {
        let r = row(&rows, n);
        assert_eq!(
            status(r),
            "failure",
            "legacy client {n}: {:#}",
            r["candidate"]
        );
        assert_eq!(controls(r), set(&["mfa"]), "legacy client {n}");
        assert_eq!(result(r, "p-mfa"), "failure");
    }
    assert_status(&rows, 4, "interrupted");
    assert_eq!(controls(row(&rows, 4)), set(&["mfa"]));
    let r5 = row(&rows, 5);
    assert_eq!(
        status(r5),
        "failure",
        "non-compliant device: {:#}",
        r5["candidate"]
    );
    assert_eq!(controls(r5), set(&["compliantDevice"]));
}

/// A block is not a control: it shows as S = `failure` with no control demanded.
#[test]
fn status_block_is_failure_and_not_a_control() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([policy("p-block", "enabled", users(&[1]), block())]),
    );
    ws.ndjson("s.ndjson", &[signin(1), with(signin(2), mfa_done())]);
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    let r = row(&rows, 1);
    assert_eq!(status(r), "failure");
    assert_eq!(r["candidate"]["controls"], json!([]));
    assert_eq!(result(r, "p-block"), "failure");
    assert_status(&rows, 2, "notApplied");
}

/// Authentication strength and terms of use are named `authenticationStrength:<id>` and
/// `termsOfUse:<id>` in `controls`; a strength the sign-in's methods already meet demands
/// nothing.
#[test]
fn status_authentication_strength_and_terms_of_use_control_names() {
    let ws = Ws::new();
    let phishing_resistant = "00000000-0000-0000-0000-000000000004";
    let tou = "7c0e8f0e-1111-4a3b-9c7d-000000000001";
    ws.json(
        "policies.json",
        &json!([
            policy(
                "p-strength",
                "enabled",
                users(&[1, 2]),
                json!({"operator": "OR", "builtInControls": [],
                       "authenticationStrength": {
                           "id": phishing_resistant,
                           "displayName": "Phishing-resistant MFA",
                           "allowedCombinations": ["windowsHelloForBusiness", "fido2",
                                                   "x509CertificateMultiFactor"]}})
            ),
            policy(
                "p-tou",
                "enabled",
                users(&[3]),
                json!({"operator": "AND", "builtInControls": ["mfa"], "termsOfUse": [tou]})
            ),
        ]),
    );
    ws.ndjson(
        "s.ndjson",
        &[
            with(signin(1), mfa_done()),
            with(
                signin(2),
                json!({"authenticationRequirement": "multiFactorAuthentication",
                       "authenticationDetails": [
                           {"authenticationMethod": "FIDO2 security key", "succeeded": true}]}),
            ),
            signin(3),
        ],
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    let r1 = row(&rows, 1);
    assert_eq!(status(r1), "interrupted", "{:#}", r1["candidate"]);
    assert_eq!(
        controls(r1),
        set(&[&format!("authenticationStrength:{phishing_resistant}")])
    );
    let r2 = row(&rows, 2);
    assert_eq!(status(r2), "success", "{:#}", r2["candidate"]);
    assert_eq!(controls(r2), set(&[]));
    let r3 = row(&rows, 3);
    assert_eq!(status(r3), "interrupted", "{:#}", r3["candidate"]);
    assert_eq!(controls(r3), set(&["mfa", &format!("termsOfUse:{tou}")]));
}

/// The other controls are named as Graph's `builtInControls`: `passwordChange` prompts;
/// `domainJoinedDevice`, `approvedApplication` (on Windows) and `compliantApplication` (on
/// Windows) cannot be satisfied there and fail.
#[test]
fn status_controls_are_named_as_graph_built_in_controls() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([
            policy(
                "p-password",
                "enabled",
                users(&[1]),
                require(&["passwordChange"])
            ),
            policy(
                "p-hybrid",
                "enabled",
                users(&[2]),
                require(&["domainJoinedDevice"])
            ),
            policy(
                "p-approved",
                "enabled",
                users(&[3]),
                require(&["approvedApplication"])
            ),
            policy(
                "p-protected",
                "enabled",
                users(&[4]),
                require(&["compliantApplication"])
            ),
        ]),
    );
    ws.ndjson(
        "s.ndjson",
        &[
            signin(1),
            with(
                signin(2),
                json!({"deviceDetail": {"deviceId": "d0000000-0000-4000-8000-000000000002",
                                        "trustType": "Azure AD registered"}}),
            ),
            signin(3),
            signin(4),
        ],
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    let want = [
        (1, "interrupted", "passwordChange"),
        (2, "failure", "domainJoinedDevice"),
        (3, "failure", "approvedApplication"),
        (4, "failure", "compliantApplication"),
    ];
    for (n, s, c) in want {
        let r = row(&rows, n);
        assert_eq!(status(r), s, "sign-in {n}: {:#}", r["candidate"]);
        assert_eq!(controls(r), set(&[c]), "sign-in {n}");
    }
}

/// Conditional Access is evaluated only after the first factor succeeded: after a wrong
/// password every policy is `notApplied` (report-only `reportOnlyNotApplied`, disabled
/// `notEnabled`) and S is `notApplied`, even under a block-all policy.
#[test]
fn status_ca_is_not_evaluated_after_a_first_factor_failure() {
    let ws = Ws::new();
    let all = json!({"includeUsers": ["All"]});
    ws.json(
        "policies.json",
        &json!([
            policy("p-block", "enabled", all.clone(), block()),
            policy("p-mfa", "enabled", all.clone(), require_mfa()),
            policy(
                "p-ro",
                "enabledForReportingButNotEnforced",
                all.clone(),
                block()
            ),
            policy("p-off", "disabled", all, block()),
        ]),
    );
    ws.ndjson(
        "s.ndjson",
        &[
            with(signin(1), code(50126, "notApplied")),
            with(signin(2), code(50053, "notApplied")),
            signin(3),
        ],
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    for n in [1, 2] {
        let r = row(&rows, n);
        assert_eq!(status(r), "notApplied", "{:#}", r["candidate"]);
        assert_eq!(r["candidate"]["controls"], json!([]));
        assert_eq!(result(r, "p-block"), "notApplied");
        assert_eq!(result(r, "p-mfa"), "notApplied");
        assert_eq!(result(r, "p-ro"), "reportOnlyNotApplied");
        assert_eq!(result(r, "p-off"), "notEnabled");
    }
    assert_status(&rows, 3, "failure");
}

// ---------------------------------------------------------------------------------------------
// Workload identities, named locations, directory
// ---------------------------------------------------------------------------------------------

/// A service principal sign-in is matched only by policies for workload identities; user
/// policies do not apply to it, and workload policies do not apply to users. Managed identities
/// are not covered by Conditional Access at all.
#[test]
fn workload_identity_signins_and_user_policies() {
    let ws = Ws::new();
    let sp = "e0000000-0000-4000-8000-000000000001";
    let other_sp = "e0000000-0000-4000-8000-000000000002";
    let mut workload = policy("p-workload", "enabled", Value::Null, block());
    workload["conditions"]["clientApplications"] = json!({"includeServicePrincipals": [sp]});
    workload["conditions"]
        .as_object_mut()
        .unwrap()
        .remove("users");
    let mut in_tenant = policy("p-workload-all", "enabled", Value::Null, block());
    in_tenant["conditions"]["clientApplications"] =
        json!({"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]});
    in_tenant["conditions"]
        .as_object_mut()
        .unwrap()
        .remove("users");
    ws.json(
        "policies.json",
        &json!([
            policy(
                "p-users",
                "enabled",
                json!({"includeUsers": ["All"]}),
                block()
            ),
            workload,
        ]),
    );
    ws.json("mi-policies.json", &json!([in_tenant]));
    let service_principal = |n: u32, sp_id: &str, kind: &str| {
        json!({
            "id": sid(n),
            "createdDateTime": "2026-01-05T14:23:45Z",
            "appId": "f0000000-0000-4000-8000-000000000001",
            "appDisplayName": "nightly-export",
            "servicePrincipalId": sp_id,
            "servicePrincipalName": "nightly-export",
            "appOwnerTenantId": TENANT,
            "resourceTenantId": TENANT,
            "resourceId": "00000003-0000-0000-c000-000000000000",
            "ipAddress": "198.51.100.20",
            "location": {"countryOrRegion": "DE"},
            "status": {"errorCode": 0},
            "conditionalAccessStatus": "notApplied",
            "isInteractive": false,
            "signInEventTypes": [kind],
            "appliedConditionalAccessPolicies": []
        })
    };
    ws.json(
        "s.json",
        &json!({"value": [
            service_principal(1, sp, "servicePrincipal"),
            service_principal(2, other_sp, "servicePrincipal"),
            signin(3),
            service_principal(4, sp, "managedIdentity"),
        ]}),
    );
    ws.simulate(&["s.json"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    let r1 = row(&rows, 1);
    assert_eq!(status(r1), "failure", "{:#}", r1["candidate"]);
    assert_eq!(
        result(r1, "p-users"),
        "notApplied",
        "user policies ignore workloads"
    );
    assert_eq!(result(r1, "p-workload"), "failure");
    let r2 = row(&rows, 2);
    assert_eq!(status(r2), "notApplied", "{:#}", r2["candidate"]);
    assert_eq!(result(r2, "p-workload"), "notApplied");
    let r3 = row(&rows, 3);
    assert_eq!(result(r3, "p-users"), "failure");
    assert_eq!(
        result(r3, "p-workload"),
        "notApplied",
        "workload policies ignore users"
    );
    let r4 = row(&rows, 4);
    assert_eq!(
        status(r4),
        "notApplied",
        "managed identity: {:#}",
        r4["candidate"]
    );
    assert_eq!(result(r4, "p-workload"), "notApplied");

    ws.simulate(&["s.json"], "mi-policies.json", &[], "mi").ok();
    let rows = by_id(&ws.decisions("mi"));
    assert_status(&rows, 1, "failure");
    assert_status(&rows, 3, "notApplied");
    assert_status(&rows, 4, "notApplied");
}

/// `--named-locations`: IP ranges (IPv4 and IPv6, trusted), countries, and a location type vigil
/// cannot evaluate from the log (compliant network), which is reported on stderr and makes
/// conditions on it `indeterminate`. The same locations as an array, a Graph list and a folder
/// of one-location files give the same decisions.
#[test]
fn named_locations_ip_country_and_unevaluable_types() {
    let ws = Ws::new();
    let office = json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": "loc-office",
        "displayName": "Head office",
        "isTrusted": true,
        "ipRanges": [
            {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
            {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/32"}
        ]
    });
    let countries = json!({
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "id": "loc-countries",
        "displayName": "Blocked countries",
        "countriesAndRegions": ["KP", "RU"],
        "includeUnknownCountriesAndRegions": false,
        "countryLookupMethod": "clientIpAddress"
    });
    let gsa = json!({
        "@odata.type": "#microsoft.graph.compliantNetworkNamedLocation",
        "id": "loc-gsa",
        "displayName": "All Compliant Network locations",
        "compliantNetworkType": "allTenantCompliantNetworks",
        "isTrusted": true
    });
    let locs = vec![office.clone(), countries.clone(), gsa.clone()];
    ws.json("locations.json", &Value::Array(locs.clone()));
    ws.json(
        "locations-list.json",
        &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/namedLocations",
                "value": locs}),
    );
    ws.json("locations/1-office.json", &office);
    ws.json("locations/2-countries.json", &countries);
    ws.json("locations/3-gsa.json", &gsa);
    let at = |users_: &[u32], include: &[&str], exclude: &[&str], grant: Value, id: &str| {
        cond(
            policy(id, "enabled", users(users_), grant),
            "locations",
            json!({"includeLocations": include, "excludeLocations": exclude}),
        )
    };
    ws.json(
        "policies.json",
        &json!([
            at(
                &[1, 2, 3],
                &["All"],
                &["loc-office"],
                block(),
                "p-outside-office"
            ),
            at(&[4, 5], &["loc-countries"], &[], block(), "p-countries"),
            at(&[6], &["loc-gsa"], &[], block(), "p-gsa"),
            at(
                &[7, 8],
                &["All"],
                &["AllTrusted"],
                require_mfa(),
                "p-untrusted"
            ),
        ]),
    );
    ws.ndjson(
        "s.ndjson",
        &[
            with(signin(1), json!({"ipAddress": "203.0.113.9"})),
            with(signin(2), json!({"ipAddress": "2001:db8:1::5"})),
            with(signin(3), json!({"ipAddress": "198.51.100.7"})),
            with(signin(4), json!({"location": {"countryOrRegion": "RU"}})),
            with(signin(5), json!({"location": {"countryOrRegion": "DE"}})),
            signin(6),
            with(signin(7), json!({"ipAddress": "203.0.113.200"})),
            with(signin(8), json!({"ipAddress": "192.0.2.1"})),
        ],
    );
    let mut first: Option<Vec<Value>> = None;
    for (i, l) in ["locations.json", "locations-list.json", "locations"]
        .iter()
        .enumerate()
    {
        let out = format!("out{i}");
        let run = ws
            .simulate(
                &["s.ndjson"],
                "policies.json",
                &["--named-locations", l],
                &out,
            )
            .ok();
        assert!(
            run.stderr.contains("loc-gsa") && run.stderr.contains("cannot be evaluated"),
            "{l}: an unevaluable location type must be reported:\n{}",
            run.stderr
        );
        let rows = ws.decisions(&out);
        match &first {
            None => first = Some(rows),
            Some(f) => assert_eq!(&rows, f, "{l} gives other decisions"),
        }
    }
    let rows = by_id(&first.unwrap());
    assert_status(&rows, 1, "notApplied");
    assert_status(&rows, 2, "notApplied");
    assert_status(&rows, 3, "failure");
    assert_status(&rows, 4, "failure");
    assert_status(&rows, 5, "notApplied");
    let r6 = row(&rows, 6);
    assert_eq!(status(r6), "indeterminate", "{:#}", r6["candidate"]);
    let p = policy_row(r6, "p-gsa");
    assert_eq!(p["result"], "indeterminate");
    assert!(
        p["reasons"]
            .to_string()
            .contains("compliantNetworkNamedLocation"),
        "the reasons name the location type: {p:#}"
    );
    // `AllTrusted` covers every trusted location, including the trusted compliant-network one
    // the log cannot decide: off the trusted IP ranges the exclusion is undecided, and so is S
    // (contract: conditions on a location vigil cannot evaluate are indeterminate).
    assert_status(&rows, 7, "notApplied");
    let r8 = row(&rows, 8);
    assert_eq!(status(r8), "indeterminate", "{:#}", r8["candidate"]);
    assert!(
        policy_row(r8, "p-untrusted")["reasons"]
            .to_string()
            .contains("trusted"),
        "{r8:#}"
    );
    // Without that location, AllTrusted is decided by the IP ranges alone.
    ws.json("ip-and-country.json", &json!([office, countries]));
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--named-locations", "ip-and-country.json"],
        "no-gsa",
    )
    .ok();
    let rows = by_id(&ws.decisions("no-gsa"));
    assert_status(&rows, 7, "notApplied");
    assert_status(&rows, 8, "interrupted");
    assert_eq!(
        result(row(&rows, 6), "p-gsa"),
        "indeterminate",
        "undefined location id"
    );
}

fn directory() -> Value {
    json!({"users": [
        {"id": uid(1), "userPrincipalName": "user1@contoso.example", "userType": "Member",
         "groups": ["g-sales"], "roles": []},
        {"id": uid(2), "userPrincipalName": "user2@contoso.example", "userType": "Member",
         "groups": ["g-other"], "roles": []},
        {"id": uid(3), "userPrincipalName": "user3@contoso.example", "userType": "Member",
         "groups": [], "roles": ["62e90394-69f5-4237-9190-012177145e10"]},
        {"id": uid(4), "userPrincipalName": "user4@contoso.example", "userType": "Member",
         "groups": ["g-sales", "g-breakglass"], "roles": []},
        {"id": uid(6), "userPrincipalName": "user6@contoso.example", "userType": "Member",
         "groups": ["g-sales"], "roles": []}
    ]})
}

fn directory_policies() -> Value {
    json!([
        policy(
            "p-sales",
            "enabled",
            json!({"includeGroups": ["g-sales"],
                                            "excludeGroups": ["g-breakglass"]}),
            block()
        ),
        policy(
            "p-admins",
            "enabled",
            json!({"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}),
            require_mfa()
        ),
    ])
}

/// `--directory` resolves users (by object id, or by UPN when the log lacks the id) to their
/// transitive groups and active roles; excluded groups win over included ones.
#[test]
fn directory_resolves_groups_and_roles() {
    let ws = Ws::new();
    ws.json("directory.json", &directory());
    ws.json("policies.json", &directory_policies());
    ws.ndjson(
        "s.ndjson",
        &[
            signin(1),
            signin(2),
            signin(3),
            signin(4),
            with(signin(6), json!({"userId": null})),
        ],
    );
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--directory", "directory.json"],
        "out",
    )
    .ok();
    let rows = by_id(&ws.decisions("out"));
    assert_status(&rows, 1, "failure");
    assert_eq!(result(row(&rows, 1), "p-sales"), "failure");
    assert_eq!(result(row(&rows, 1), "p-admins"), "notApplied");
    assert_status(&rows, 2, "notApplied");
    assert_status(&rows, 3, "interrupted");
    assert_eq!(result(row(&rows, 3), "p-admins"), "failure");
    assert_status(&rows, 4, "notApplied");
    assert_eq!(result(row(&rows, 4), "p-sales"), "notApplied");
    assert_status(&rows, 6, "failure");
}

/// Without `--directory`, conditions on groups and roles are `indeterminate` unless other
/// conditions already decide (an excluded user, a client app type that does not match).
#[test]
fn directory_absent_groups_are_indeterminate_unless_other_conditions_decide() {
    let ws = Ws::new();
    let mut policies = directory_policies().as_array().unwrap().clone();
    policies.push(policy(
        "p-group-but-excluded",
        "enabled",
        json!({"includeGroups": ["g-sales"], "excludeUsers": [uid(5)]}),
        block(),
    ));
    policies.push(cond(
        policy(
            "p-group-eas",
            "enabled",
            json!({"includeGroups": ["g-sales"]}),
            block(),
        ),
        "clientAppTypes",
        json!(["exchangeActiveSync"]),
    ));
    ws.json("policies.json", &Value::Array(policies));
    ws.ndjson("s.ndjson", &[signin(1), signin(5)]);
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    let rows = by_id(&ws.decisions("out"));
    let r1 = row(&rows, 1);
    assert_eq!(status(r1), "indeterminate", "{:#}", r1["candidate"]);
    assert_eq!(result(r1, "p-sales"), "indeterminate");
    assert_eq!(result(r1, "p-admins"), "indeterminate");
    assert_eq!(
        result(r1, "p-group-eas"),
        "notApplied",
        "a browser is not EAS"
    );
    let r5 = row(&rows, 5);
    assert_eq!(
        result(r5, "p-group-but-excluded"),
        "notApplied",
        "the user is excluded"
    );
    assert_eq!(result(r5, "p-group-eas"), "notApplied");

    // With a snapshot that does not know the user, membership stays undecided.
    ws.json("directory.json", &directory());
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--directory", "directory.json"],
        "dir",
    )
    .ok();
    let rows = by_id(&ws.decisions("dir"));
    assert_status(&rows, 1, "failure");
    assert_eq!(result(row(&rows, 5), "p-sales"), "indeterminate");
}

// ---------------------------------------------------------------------------------------------
// Input errors: exit 2 naming file, record and field; never exit 1
// ---------------------------------------------------------------------------------------------

fn good_signins(ws: &Ws) {
    ws.ndjson("s.ndjson", &[signin(1), signin(2)]);
}

/// A policy file that is not JSON: exit 2 naming the file, line and column.
#[test]
fn errors_malformed_policy_json_names_file_line_and_column() {
    let ws = Ws::new();
    good_signins(&ws);
    ws.text(
        "policies/CA01.json",
        "{\n  \"id\": \"p-1\",\n  \"state\": \"enabled\",\n  \"conditions\": {,}\n}\n",
    );
    ws.simulate(&["s.ndjson"], "policies", &[], "out")
        .input_error(&["CA01.json", "line 4"]);
    assert!(!ws.exists("out/decisions.ndjson"));
    // UTF-16 files report positions in the decoded text too.
    ws.bytes(
        "policies/CA01.json",
        &utf16le_bom_crlf(
            "{\n  \"id\": \"p-1\",\n  \"state\": \"enabled\"\n  \"conditions\": {}\n}\n",
        ),
    );
    ws.simulate(&["s.ndjson"], "policies", &[], "out")
        .input_error(&["CA01.json", "line 4"]);
}

/// A policy field of the wrong type: exit 2 naming the file, the policy id and the field.
#[test]
fn errors_policy_field_of_wrong_type_names_file_policy_and_field() {
    let ws = Ws::new();
    good_signins(&ws);
    let mut bad = policy("p-bad", "enabled", json!({"includeUsers": "All"}), block());
    ws.json(
        "policies.json",
        &json!([
            policy("p-good", "enabled", users(&[1]), block()),
            bad.clone()
        ]),
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out")
        .input_error(&["policies.json", "p-bad", "conditions.users.includeUsers"]);
    bad["conditions"]["users"] = json!({"includeUsers": ["All"]});
    bad["state"] = json!(true);
    ws.json("policies.json", &json!([bad.clone()]));
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out")
        .input_error(&["policies.json", "p-bad", "state"]);
    bad["state"] = json!("enabled");
    bad["grantControls"] = json!({"operator": "OR", "builtInControls": "mfa"});
    ws.json("policies.json", &json!({ "value": [bad] }));
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out")
        .input_error(&["policies.json", "p-bad", "grantControls.builtInControls"]);
}

/// A named location with an invalid field: exit 2 naming the file, the location and the field.
#[test]
fn errors_malformed_named_location_names_file_location_and_field() {
    let ws = Ws::new();
    good_signins(&ws);
    ws.json(
        "policies.json",
        &json!([policy("p-1", "enabled", users(&[1]), block())]),
    );
    ws.json(
        "locations.json",
        &json!({"value": [
            {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "loc-ok",
             "displayName": "ok", "ipRanges": [{"cidrAddress": "203.0.113.0/24"}]},
            {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "loc-bad",
             "displayName": "Branch", "isTrusted": false,
             "ipRanges": [{"cidrAddress": "192.0.2.0/24"}, {"cidrAddress": "10.0.0.300/8"}]}
        ]}),
    );
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--named-locations", "locations.json"],
        "out",
    )
    .input_error(&[
        "locations.json",
        "loc-bad",
        "ipRanges[1].cidrAddress",
        "10.0.0.300/8",
    ]);
    ws.json(
        "locations.json",
        &json!([{"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "loc-c",
                 "countriesAndRegions": "DE"}]),
    );
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--named-locations", "locations.json"],
        "out",
    )
    .input_error(&["locations.json", "loc-c", "countriesAndRegions"]);
    ws.text("locations.json", "[{\"id\": \"loc-x\"");
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--named-locations", "locations.json"],
        "out",
    )
    .input_error(&["locations.json", "line 1"]);
}

/// A directory snapshot with an invalid field: exit 2 naming the file, the user and the field.
#[test]
fn errors_malformed_directory_names_file_user_and_field() {
    let ws = Ws::new();
    good_signins(&ws);
    ws.json("policies.json", &directory_policies());
    ws.json(
        "directory.json",
        &json!({"users": [
            {"id": uid(1), "userPrincipalName": "user1@contoso.example", "groups": ["g-1"]},
            {"id": uid(2), "userPrincipalName": "user2@contoso.example", "groups": "g-sales"}
        ]}),
    );
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--directory", "directory.json"],
        "out",
    )
    .input_error(&["directory.json", &uid(2), "groups"]);
    ws.json(
        "directory.json",
        &json!({"users": [{"userPrincipalName": "nobody@contoso.example"}]}),
    );
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--directory", "directory.json"],
        "out",
    )
    .input_error(&["directory.json", "user 0", "id"]);
    ws.text("directory.json", "{\"users\": [}");
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--directory", "directory.json"],
        "out",
    )
    .input_error(&["directory.json", "line 1"]);
    assert!(!ws.exists("out/decisions.ndjson"));
}

/// A sign-in record with an invalid field: exit 2 naming the file, the record's position (NDJSON
/// line; record number in a Graph page) and the field.
#[test]
fn errors_malformed_signin_record_names_file_position_and_field() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([policy("p-1", "enabled", users(&[1]), block())]),
    );
    ws.ndjson(
        "s.ndjson",
        &[
            signin(1),
            signin(2),
            with(signin(3), json!({"status": {"errorCode": "fifty"}})),
            signin(4),
        ],
    );
    ws.simulate(&["s.ndjson"], "policies.json", &[], "out")
        .input_error(&["s.ndjson", "line 3", "status.errorCode"]);
    assert!(!ws.exists("out/decisions.ndjson"));
    ws.json(
        "page.json",
        &json!({"value": [signin(1), with(signin(2), json!({"deviceDetail": {"isCompliant": "maybe"}}))]}),
    );
    ws.simulate(&["page.json"], "policies.json", &[], "out")
        .input_error(&["page.json", "record 2", "deviceDetail.isCompliant"]);
    let mut record = diagnostic(&with(signin(1), json!({"createdDateTime": "yesterday"})));
    record["time"] = json!("2026-01-05T14:00:00Z");
    ws.json("diag.json", &json!({ "records": [record] }));
    ws.simulate(&["diag.json"], "policies.json", &[], "out")
        .input_error(&["diag.json", "record 1", "properties.createdDateTime"]);
    // A syntax error inside a multi-line document: file, line and column.
    ws.text(
        "broken.json",
        "{\"value\": [\n  {\"id\": \"x\",\n   \"createdDateTime\": \"2026-01-05T14:00:00Z\",\n}\n]}\n",
    );
    ws.simulate(&["broken.json"], "policies.json", &[], "out")
        .input_error(&["broken.json", "line 4"]);
}

/// `--skip-bad-records`: bad records are skipped, counted in summary `skipped` and reported;
/// the good ones are decided as usual and the run succeeds.
#[test]
fn errors_skip_bad_records_skips_and_counts() {
    let ws = Ws::new();
    ws.json(
        "policies.json",
        &json!([policy("p-1", "enabled", users(&[1, 4]), block())]),
    );
    let mut text = String::new();
    text.push_str(&serde_json::to_string(&signin(1)).unwrap());
    text.push('\n');
    text.push_str(
        &serde_json::to_string(&with(signin(2), json!({"status": {"errorCode": "fifty"}})))
            .unwrap(),
    );
    text.push('\n');
    text.push_str("{\"id\": \"truncated\", \"createdDateTime\": \n");
    text.push_str(
        &serde_json::to_string(&with(signin(3), json!({"createdDateTime": "yesterday"}))).unwrap(),
    );
    text.push('\n');
    text.push_str(&serde_json::to_string(&signin(4)).unwrap());
    text.push('\n');
    ws.text("s.ndjson", &text);
    ws.simulate(&["s.ndjson"], "policies.json", &[], "strict")
        .input_error(&["s.ndjson", "line 2", "status.errorCode"]);
    let run = ws
        .simulate(
            &["s.ndjson"],
            "policies.json",
            &["--skip-bad-records"],
            "out",
        )
        .ok();
    assert!(
        run.stderr.contains("s.ndjson") && run.stderr.contains("skipped 3"),
        "skipped records are reported:\n{}",
        run.stderr
    );
    let rows = ws.decisions("out");
    assert_eq!(ids(&rows), vec![sid(1), sid(4)]);
    let summary = ws.summary("out");
    assert_eq!(summary["skipped"], 3);
    assert_eq!(summary["signIns"], 2);
    assert_eq!(summary["candidate"]["status"]["failure"], 2);
}

/// `simulate` exits 0 or 2, never 1 (1 is for checks that find a problem): a run full of
/// changed, failed and indeterminate sign-ins is 0; usage and input errors are 2.
#[test]
fn errors_simulate_never_exits_1() {
    let ws = Ws::new();
    let (signins, policies) = variety();
    ws.json("policies.json", &policies);
    ws.ndjson("s.ndjson", &signins);
    let run = ws.simulate(&["s.ndjson"], "policies.json", &[], "out").ok();
    assert_eq!(
        ws.summary("out")["transitions"]["notApplied -> failure"],
        2,
        "{}",
        run.stdout
    );
    ws.simulate(
        &["s.ndjson"],
        "policies.json",
        &["--decisions", "some"],
        "o",
    )
    .input_error(&["--decisions"]);
    ws.simulate(&["missing.json"], "policies.json", &[], "o")
        .input_error(&["missing.json"]);
    ws.simulate(&["s.ndjson"], "missing-policies.json", &[], "o")
        .input_error(&["missing-policies.json"]);
    ws.run(&["simulate", "--signins", "s.ndjson", "--out", "o"])
        .code(2);
    ws.run(&["simulate", "--policies", "policies.json", "--out", "o"])
        .code(2);
    ws.run(&[
        "simulate",
        "--signins",
        "s.ndjson",
        "--policies",
        "policies.json",
    ])
    .code(2);
    // --out is a file: the output cannot be written.
    ws.text("taken", "");
    ws.simulate(&["s.ndjson"], "policies.json", &[], "taken")
        .code(2);
}

// ---------------------------------------------------------------------------------------------
// Real exports (shared/data/external)
// ---------------------------------------------------------------------------------------------

/// Every valid Elastic diagnostic-record sample and the Graph beta example against the 36
/// policies and 3 named locations of j0eyv/ConditionalAccessBaseline (UTF-16LE and UTF-8 files,
/// OData annotations, agent conditions vigil does not know): exit 0 and exactly one decision
/// per distinct sign-in, each listing all 36 policies in file-name order.
#[test]
fn real_exports_against_the_cabaseline_policies() {
    let (Some(elastic), Some(beta), Some(cas), Some(locs)) = (
        external("elastic-integrations"),
        external("msgraph-docs/signin-list.beta.example1.response.json"),
        external("j0eyv-cabaseline/ConditionalAccess"),
        external("j0eyv-cabaseline/NamedLocations"),
    ) else {
        return;
    };
    let valid = [
        "test-alternative-time-and-duration-as-string.log",
        "test-managed-identity-sample.log",
        "test-non-interactive-user-sample.log",
        "test-service-principal-signinlogs-sample.log",
        "test-signinlogs-raw.log",
        "test-signinlogs-sample.log",
    ];
    let mut names: Vec<String> = fs::read_dir(&cas)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 36);
    let ws = Ws::new();
    let files: Vec<PathBuf> = valid.iter().map(|f| elastic.join(f)).collect();
    let mut signins: Vec<&str> = files.iter().map(|p| s(p)).collect();
    signins.push(s(&beta));
    let run = ws
        .simulate(&signins, s(&cas), &["--named-locations", s(&locs)], "out")
        .ok();
    assert!(
        run.stderr.contains("All Compliant Network locations"),
        "the compliant-network location is reported:\n{}",
        run.stderr
    );
    let rows = ws.decisions("out");
    let distinct: BTreeSet<String> = ids(&rows).into_iter().collect();
    assert_eq!(rows.len(), 13);
    assert_eq!(distinct.len(), 13, "one decision per sign-in");
    let summary = ws.summary("out");
    assert_eq!(summary["signIns"], 13);
    assert_eq!(
        summary["duplicates"], 4,
        "test-signinlogs-raw.log repeats one id 5 times"
    );
    assert_eq!(summary["skipped"], 0);
    let stems: Vec<&str> = names.iter().map(|n| n.trim_end_matches(".json")).collect();
    for r in &rows {
        let names: Vec<&str> = r["candidate"]["policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(names, stems, "policies in file-name order");
        assert!(r["createdDateTime"].as_str().unwrap().ends_with('Z'));
    }
    let rows = by_id(&rows);
    // The beta example is a wrong password (50126): Conditional Access was not reached.
    let beta_row = &rows["1691d37b-8579-43a7-966a-0f35583c1300"];
    assert_eq!(status(beta_row), "notApplied");
    assert_eq!(beta_row["baseline"]["status"], "notApplied");
    // Managed identities are not covered by Conditional Access.
    assert_eq!(
        status(&rows["a08869a8-3b15-46e4-8de3-273849e60100"]),
        "notApplied"
    );
    // The first of the five records sharing an id is kept (interactive, 2019-10-18).
    assert_eq!(
        rows["8a4de8b5-095c-47d0-a96f-a75130c61d53"]["createdDateTime"],
        "2019-10-18T09:45:48.072Z"
    );

    // The whole folder including the corner-case file (records without ids, which get ids
    // derived from their content): its 11 records are read too, nothing else changes.
    ws.simulate(
        &[s(&elastic), s(&beta)],
        s(&cas),
        &["--named-locations", s(&locs)],
        "all",
    )
    .ok();
    let summary = ws.summary("all");
    assert_eq!(summary["signIns"], 24);
    assert_eq!(summary["skipped"], 0);
    let with_ids: Vec<Value> = ws
        .decisions("all")
        .into_iter()
        .filter(|r| !r["signInId"].as_str().unwrap().starts_with("derived-"))
        .collect();
    assert_eq!(with_ids, ws.decisions("out"));
}

/// The Elastic time-format corner cases have no sign-in ids: each record gets an id derived
/// from its content (`derived-…`), is replayed, and stderr says so.
#[test]
fn real_records_without_ids_get_derived_ids() {
    let (Some(file), Some(cas)) = (
        external("elastic-integrations/test-time-formats-corner-cases.log"),
        external("j0eyv-cabaseline/ConditionalAccess"),
    ) else {
        return;
    };
    let ws = Ws::new();
    let run = ws.simulate(&[s(&file)], s(&cas), &[], "out").ok();
    assert!(
        run.stderr.contains("test-time-formats-corner-cases.log")
            && run.stderr.contains("11 sign-in(s) had no id"),
        "{}",
        run.stderr
    );
    let rows = ws.decisions("out");
    let distinct: BTreeSet<String> = ids(&rows).into_iter().collect();
    assert_eq!((rows.len(), distinct.len()), (11, 11));
    for r in &rows {
        assert!(r["signInId"].as_str().unwrap().starts_with("derived-"));
        assert!(
            r["createdDateTime"]
                .as_str()
                .unwrap()
                .starts_with("2007-01-09T09:41:00."),
            "every format is the same instant: {}",
            r["createdDateTime"]
        );
    }
    // The same ids on every run.
    ws.simulate(&[s(&file)], s(&cas), &[], "again").ok();
    assert_eq!(ws.decisions("again"), rows);
}

/// The Graph v1.0 documentation example is not valid JSON as published (a trailing comma):
/// exit 2 naming the file and the position.
#[test]
fn real_graph_v1_example_with_trailing_comma_is_rejected() {
    let (Some(file), Some(cas)) = (
        external("msgraph-docs/signin-list.v1.0.example1.response.json"),
        external("j0eyv-cabaseline/ConditionalAccess"),
    ) else {
        return;
    };
    let ws = Ws::new();
    ws.simulate(&[s(&file)], s(&cas), &[], "out").input_error(&[
        "signin-list.v1.0.example1.response.json",
        "line 64",
        "column",
    ]);
    assert!(!ws.exists("out/decisions.ndjson"));
}

// ---------------------------------------------------------------------------------------------
// report.html
// ---------------------------------------------------------------------------------------------

/// `DIR/report.html`, the human report, is written by every run (also with `--decisions none`):
/// an HTML page showing the status counts, the transitions and every policy id, with text from
/// the inputs escaped.
#[test]
fn report_html_is_written_for_people() {
    let ws = Ws::new();
    let (signins, policies) = variety();
    let mut policies = policies.as_array().unwrap().clone();
    policies.push(policy("p-<b>odd</b>", "enabled", users(&[9]), block()));
    ws.json("policies.json", &Value::Array(policies));
    ws.ndjson("s.ndjson", &signins);
    for (out, extra) in [("all", &[][..]), ("none", &["--decisions", "none"][..])] {
        ws.simulate(&["s.ndjson"], "policies.json", extra, out).ok();
        let path = ws.p(out).join("report.html");
        let html = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(html.starts_with("<!DOCTYPE html>"), "{out}");
        assert!(html.trim_end().ends_with("</html>"), "{out}");
        for id in ["p-block", "p-mfa", "p-ro", "notApplied -&gt; failure"] {
            assert!(html.contains(id), "{out}: report.html does not show {id}");
        }
        assert!(
            html.contains("p-&lt;b&gt;odd&lt;/b&gt;"),
            "{out}: ids are escaped"
        );
        assert!(
            !html.contains("<b>odd"),
            "{out}: input text is never markup"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// AI risk thresholds (--scores / --thresholds): the `vigil-ai-risk` policy
// ---------------------------------------------------------------------------------------------

/// Sign-ins 1..=6; user 6 already did MFA; user 5 signs in with a legacy client (IMAP).
fn ai_signins(ws: &Ws) {
    let rows: Vec<Value> = (1..=6)
        .map(|n| match n {
            5 => with(signin(n), json!({"clientAppUsed": "IMAP4"})),
            6 => with(signin(n), mfa_done()),
            _ => signin(n),
        })
        .collect();
    ws.json("signins.json", &json!({"value": rows}));
    // One harmless candidate policy, so the AI policy is not alone.
    ws.json(
        "policies.json",
        &json!([policy("p-1", "enabled", users(&[99]), block())]),
    );
}

const THRESHOLDS: &str = r#"
# AI risk bands
displayName = "AI engine bands"
mode = "enforce"

[thresholds]
review = 0.5
mfa = 0.7
block = 0.9

[conditions.users]
includeUsers = ["All"]
excludeUsers = ["a0000000-0000-4000-8000-000000000004"]
"#;

/// (result, reasons, status) of the `vigil-ai-risk` policy for each sign-in, by sign-in id.
fn ai_results(ws: &Ws, out: &str) -> BTreeMap<String, (String, Vec<String>, String)> {
    ws.decisions(out)
        .into_iter()
        .map(|d| {
            let ps = d["candidate"]["policies"].as_array().unwrap();
            let last = ps.last().unwrap();
            assert_eq!(last["id"], "vigil-ai-risk", "the AI policy comes last");
            assert_eq!(last["displayName"], "AI engine bands");
            (
                d["signInId"].as_str().unwrap().to_string(),
                (
                    last["result"].as_str().unwrap().to_string(),
                    last["reasons"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect(),
                    d["candidate"]["status"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn ai_thresholds_act_as_one_more_policy_with_band_reasons() {
    let ws = Ws::new();
    ai_signins(&ws);
    ws.text("thresholds.toml", THRESHOLDS);
    // Scores by sign-in id (CSV, 0-1); sign-in 3 by correlation id; sign-in 2 has none.
    ws.text(
        "scores.csv",
        &format!(
            "signInId,correlationId,score,reasoning\n{},,0.20,usual pattern\n,{},0.95,new country and a password spray\n{},,0.91,\n{},,0.75,legacy client from a new country\n{},,0.80,unfamiliar device\n",
            sid(1),
            "c0000000-0000-4000-8000-000000000003",
            sid(4),
            sid(5),
            sid(6)
        ),
    );
    ws.simulate(
        &["signins.json"],
        "policies.json",
        &["--scores", "scores.csv", "--thresholds", "thresholds.toml"],
        "out",
    )
    .ok();
    let r = ai_results(&ws, "out");
    // 1: 0.20 is below every threshold: allow, the policy does not apply.
    assert_eq!(r[&sid(1)].0, "notApplied");
    assert!(
        r[&sid(1)]
            .1
            .iter()
            .any(|x| x == "score 0.20 < review threshold 0.50: allow"),
        "{:?}",
        r[&sid(1)].1
    );
    assert_eq!(r[&sid(1)].2, "notApplied");
    // 2: no score: every band is possible, so the policy and the status are undecided.
    assert_eq!(r[&sid(2)].0, "indeterminate");
    assert!(r[&sid(2)].1.iter().any(|x| x.contains("no AI score")));
    assert_eq!(r[&sid(2)].2, "indeterminate");
    // 3: scored through its correlation id: 0.95 >= 0.9 blocks, with the AI's reasoning.
    assert_eq!(r[&sid(3)].0, "failure");
    assert!(
        r[&sid(3)]
            .1
            .iter()
            .any(|x| x == "score 0.95 >= block threshold 0.90"),
        "{:?}",
        r[&sid(3)].1
    );
    assert!(
        r[&sid(3)]
            .1
            .iter()
            .any(|x| x == "AI reasoning: new country and a password spray")
    );
    assert_eq!(r[&sid(3)].2, "failure");
    // 4: excluded by the scope, whatever the score.
    assert_eq!(r[&sid(4)].0, "notApplied");
    assert!(
        r[&sid(4)].1.iter().any(|x| x.contains("excluded")),
        "{:?}",
        r[&sid(4)].1
    );
    // 5: mfa band, but a legacy client cannot answer an MFA prompt: blocked.
    assert_eq!(r[&sid(5)].0, "failure");
    assert!(
        r[&sid(5)]
            .1
            .iter()
            .any(|x| x == "score 0.75 >= mfa threshold 0.70")
    );
    assert_eq!(r[&sid(5)].2, "failure");
    // 6: mfa band, MFA already done: satisfied.
    assert_eq!(r[&sid(6)].0, "success");
    assert_eq!(r[&sid(6)].2, "success");
    // summary.json counts the AI policy like any other.
    let s = ws.summary("out");
    let text = s.to_string();
    assert!(text.contains("vigil-ai-risk"), "{text}");
}

#[test]
fn ai_thresholds_in_report_only_mode_never_change_the_status() {
    let ws = Ws::new();
    ai_signins(&ws);
    ws.text(
        "thresholds.json",
        r#"{"displayName": "AI engine bands", "mode": "reportOnly", "scale": "0-100",
            "thresholds": {"mfa": 60, "block": 85}}"#,
    );
    // NDJSON on the 0-100 scale.
    let rows: Vec<Value> = (1..=6)
        .map(|n| {
            let score = [10, 99, 70, 86, 20, 65][n as usize - 1];
            json!({"signInId": sid(n), "score": score})
        })
        .collect();
    ws.ndjson("scores.ndjson", &rows);
    ws.simulate(
        &["signins.json"],
        "policies.json",
        &[
            "--scores",
            "scores.ndjson",
            "--thresholds",
            "thresholds.json",
        ],
        "out",
    )
    .ok();
    let r = ai_results(&ws, "out");
    assert_eq!(r[&sid(2)].0, "reportOnlyFailure");
    assert!(
        r[&sid(2)]
            .1
            .iter()
            .any(|x| x == "score 99 >= block threshold 85"),
        "{:?}",
        r[&sid(2)].1
    );
    assert_eq!(r[&sid(3)].0, "reportOnlyInterrupted");
    assert_eq!(r[&sid(1)].0, "reportOnlyNotApplied");
    for (id, (_, _, status)) in &r {
        assert_eq!(
            status, "notApplied",
            "report-only changed the status of {id}"
        );
    }
}

#[test]
fn bad_scores_and_thresholds_are_input_errors_naming_the_record() {
    let ws = Ws::new();
    ai_signins(&ws);
    ws.text("thresholds.toml", THRESHOLDS);
    let run = |scores: &str| {
        ws.simulate(
            &["signins.json"],
            "policies.json",
            &["--scores", scores, "--thresholds", "thresholds.toml"],
            "out",
        )
    };
    ws.text(
        "nan.csv",
        &format!("signInId,score\n{},0.5\n{},NaN\n", sid(1), sid(2)),
    );
    run("nan.csv").input_error(&["nan.csv", "line 3", "score"]);
    ws.text(
        "range.csv",
        &format!("signInId,score\n{},0.5\n{},-0.1\n", sid(1), sid(2)),
    );
    run("range.csv").input_error(&["range.csv", "line 3", "score", "outside"]);
    ws.text(
        "over.csv",
        &format!("signInId,score,scale\n{},1.5,0-1\n", sid(1)),
    );
    run("over.csv").input_error(&["over.csv", "line 2", "outside the 0-1 scale"]);
    ws.text(
        "mixed.csv",
        &format!("signInId,score\n{},87\n{},0.42\n", sid(1), sid(2)),
    );
    run("mixed.csv").input_error(&["mixed.csv", "line 3", "mixed scales"]);
    ws.text(
        "mixed-declared.csv",
        &format!(
            "signInId,score,scale\n{},87,0-100\n{},0.4,0-1\n",
            sid(1),
            sid(2)
        ),
    );
    run("mixed-declared.csv").input_error(&["mixed-declared.csv", "line 3", "mixed scales"]);
    ws.text(
        "unknown.csv",
        &format!("signInId,score\n{},0.5\nno-such-sign-in,0.5\n", sid(1)),
    );
    run("unknown.csv").input_error(&["unknown.csv", "line 3", "names no sign-in"]);
    ws.text(
        "twice.csv",
        &format!("signInId,score\n{},0.5\n{},0.6\n", sid(1), sid(1)),
    );
    run("twice.csv").input_error(&["twice.csv", "line 3", "scored twice", "line 2"]);
    ws.text("nokey.ndjson", "{\"score\": 0.5}\n");
    run("nokey.ndjson").input_error(&["nokey.ndjson", "line 1", "signInId"]);

    // Thresholds: out of scale, block not the highest, unknown action, unknown key.
    ws.text("ok.csv", &format!("signInId,score\n{},0.5\n", sid(1)));
    for (name, text, parts) in [
        (
            "t1.toml",
            "[thresholds]\nblock = 85\n",
            vec!["t1.toml", "thresholds.block", "0-100"],
        ),
        (
            "t2.toml",
            "[thresholds]\nblock = 0.5\nmfa = 0.8\n",
            vec!["t2.toml", "thresholds.block", "highest"],
        ),
        (
            "t3.toml",
            "[thresholds]\ndeny = 0.5\n",
            vec!["t3.toml", "thresholds.deny", "unknown action"],
        ),
        (
            "t4.toml",
            "mode = \"audit\"\n[thresholds]\nmfa = 0.5\n",
            vec!["t4.toml", "mode"],
        ),
        (
            "t5.toml",
            "[thresholds]\nmfa = 0.5\n[conditions.users]\nincludeUsers = \"All\"\n",
            vec!["t5.toml", "conditions.users.includeUsers"],
        ),
    ] {
        ws.text(name, text);
        ws.simulate(
            &["signins.json"],
            "policies.json",
            &["--scores", "ok.csv", "--thresholds", name],
            "out",
        )
        .input_error(&parts);
    }
    // One without the other.
    ws.simulate(
        &["signins.json"],
        "policies.json",
        &["--scores", "ok.csv"],
        "out",
    )
    .input_error(&["--thresholds"]);
}

#[test]
fn ai_scores_read_from_parquet_and_sign_ins_from_a_normalized_table() {
    use std::sync::Arc;

    use arrow::array::{Float64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;

    let ws = Ws::new();
    ai_signins(&ws);
    ws.text("thresholds.toml", THRESHOLDS);
    // The sign-ins as a normalized table (`vigil ingest`), the scores as Parquet.
    ws.run(&[
        "ingest",
        "--signins",
        "signins.json",
        "--out",
        "signins.parquet",
    ])
    .ok();
    let schema = Arc::new(Schema::new(vec![
        Field::new("signInId", DataType::Utf8, false),
        Field::new("score", DataType::Float64, true),
        Field::new("reasoning", DataType::Utf8, true),
    ]));
    let ids: Vec<String> = (1..=6).map(sid).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids.clone())),
            Arc::new(Float64Array::from(vec![0.1, 0.95, 0.6, 0.2, 0.2, 0.2])),
            Arc::new(StringArray::from(vec![
                None,
                Some("impossible travel"),
                None,
                None,
                None,
                None,
            ])),
        ],
    )
    .unwrap();
    let file = fs::File::create(ws.p("scores.parquet")).unwrap();
    let mut w = ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    ws.simulate(
        &["signins.parquet"],
        "policies.json",
        &[
            "--scores",
            "scores.parquet",
            "--thresholds",
            "thresholds.toml",
        ],
        "out",
    )
    .ok();
    let r = ai_results(&ws, "out");
    assert_eq!(r[&sid(2)].0, "failure");
    assert!(
        r[&sid(2)]
            .1
            .iter()
            .any(|x| x == "AI reasoning: impossible travel")
    );
    assert_eq!(r[&sid(3)].0, "success", "review band: {:?}", r[&sid(3)].1);
    assert!(
        r[&sid(3)]
            .1
            .iter()
            .any(|x| x.contains("queued for human review"))
    );
    assert_eq!(r[&sid(1)].0, "notApplied");

    // A NaN in Parquet is refused by row.
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids[..2].to_vec())),
            Arc::new(Float64Array::from(vec![0.1, f64::NAN])),
            Arc::new(StringArray::from(vec![None::<&str>, None])),
        ],
    )
    .unwrap();
    let file = fs::File::create(ws.p("nan.parquet")).unwrap();
    let mut w = ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    ws.simulate(
        &["signins.parquet"],
        "policies.json",
        &["--scores", "nan.parquet", "--thresholds", "thresholds.toml"],
        "out",
    )
    .input_error(&["nan.parquet", "row 2", "score"]);
}

#[test]
fn sweep_picks_the_threshold_with_the_highest_recall_that_meets_the_target() {
    let ws = Ws::new();
    // Users 1..=4: 1 and 3 confirmed compromised, 2 confirmed safe, 4 dismissed; user 5 at risk
    // (no label).
    let states = [
        "confirmedCompromised",
        "confirmedSafe",
        "remediated",
        "dismissed",
        "atRisk",
    ];
    let rows: Vec<Value> = (1..=5)
        .map(|n| with(signin(n), json!({"riskState": states[n as usize - 1]})))
        .collect();
    ws.json("signins.json", &json!({"value": rows}));
    ws.text(
        "scores.csv",
        &format!(
            "signInId,score\n{},0.9\n{},0.8\n{},0.6\n{},0.3\n{},0.95\n",
            sid(1),
            sid(2),
            sid(3),
            sid(4),
            sid(5)
        ),
    );
    let out = ws
        .run(&[
            "sweep",
            "--scores",
            "scores.csv",
            "--signins",
            "signins.json",
            "--step",
            "0.05",
            "--max-fpr",
            "0",
            "--out",
            "sw",
        ])
        .ok();
    assert!(
        out.stderr.contains("threshold 0.85 meets --max-fpr 0"),
        "{}",
        out.stderr
    );
    for f in ["sweep.csv", "sweep.parquet", "sweep.json", "sweep.html"] {
        assert!(ws.exists(&format!("sw/{f}")), "{f} written");
    }
    let j: Value =
        serde_json::from_str(&fs::read_to_string(ws.p("sw/sweep.json")).unwrap()).unwrap();
    assert_eq!(j["positives"], 2);
    assert_eq!(j["negatives"], 2);
    assert_eq!(j["unlabeled"], 1);
    assert_eq!(j["chosen"]["threshold"], 0.85);
    assert_eq!(j["chosen"]["tp"], 1);
    assert_eq!(j["chosen"]["recall"], 0.5);
    assert_eq!(j["rows"].as_array().unwrap().len(), 21);
    let html = fs::read_to_string(ws.p("sw/sweep.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Precision vs recall"));

    // A labels file overrides riskState: sign-in 2 is now compromised.
    ws.text(
        "labels.csv",
        &format!("signInId,label\n{},compromised\n", sid(2)),
    );
    let out = ws
        .run(&[
            "sweep",
            "--scores",
            "scores.csv",
            "--signins",
            "signins.json",
            "--labels",
            "labels.csv",
            "--step",
            "0.05",
            "--max-fpr",
            "0",
            "--json",
        ])
        .ok();
    let j: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(j["positives"], 3);
    assert_eq!(j["chosen"]["threshold"], 0.35, "{}", j["chosen"]);

    // No threshold can keep the false-positive rate under 0 when the riskiest labeled sign-in
    // is safe: exit 1.
    ws.text("labels2.csv", &format!("signInId,label\n{},safe\n", sid(5)));
    ws.run(&[
        "sweep",
        "--scores",
        "scores.csv",
        "--signins",
        "signins.json",
        "--labels",
        "labels2.csv",
        "--from",
        "0",
        "--to",
        "0.9",
        "--step",
        "0.1",
        "--max-fpr",
        "0",
    ])
    .code(1);
    ws.text(
        "labels3.csv",
        &format!("signInId,label\n{},maybe\n", sid(5)),
    );
    ws.run(&[
        "sweep",
        "--scores",
        "scores.csv",
        "--signins",
        "signins.json",
        "--labels",
        "labels3.csv",
    ])
    .input_error(&["labels3.csv", "line 2", "label"]);
}
