//! `vigil simulate` at scale: `cargo bench --bench simulate` (run it through `benches/simulate.sh`,
//! which also prepares DuckDB for the comparison).
//!
//! A plain program (no harness). It prints figures and asserts nothing about time:
//!
//! 1. **Data.** Generates, once (reused while the manifest matches), a realistic normalized
//!    sign-in table in `$VIGIL_BENCH_DIR` (default `/tmp/vigil-bench`): `signins.parquet`
//!    written with `vigil_simulator::table::TableWriter` in row groups, as `vigil ingest` writes
//!    it, never holding more than one row in memory; `directory.json` (tens of thousands of
//!    users with transitive groups and roles); `named-locations/` (the three real ones of
//!    j0eyv/ConditionalAccessBaseline plus generated IP and country locations); `policies/`
//!    (the 36 real policies of that baseline, copied byte for byte, UTF-16 and all, plus 14
//!    generated variants: 50 candidates). Deterministic for a seed.
//!    The log's own outcome (`status.errorCode`, `conditionalAccessStatus`,
//!    `appliedConditionalAccessPolicies`) is what the 36 real policies did: they are evaluated
//!    with vigil's engine once per distinct generated profile and every undecided point is
//!    settled the way Entra, who sees everything, would have settled it.
//! 2. **vigil.** Runs the real binary per CONTRACT-simulate.md, against the logged baseline,
//!    with `--decisions changed` (decisions.ndjson, decisions.parquet, summary.json):
//!    wall time and peak RSS of the child (`/usr/bin/time`), sign-ins/s, and the verdict on
//!    the targets (< 10 s, < 4 GiB on a 2-core machine).
//! 3. **DuckDB.** `benches/duckdb_compare.py` (run with `$VIGIL_BENCH_PYTHON`, a Python that
//!    can import duckdb; `benches/simulate.sh` makes a venv) generates SQL from the same policy,
//!    location and directory files and counts, per policy, the sign-ins whose conditions
//!    certainly hold, over the same Parquet file with the same number of threads. Its time and
//!    vigil's are printed with their ratio, and its counts are checked against the bounds
//!    vigil's per-policy results give.
//!
//! Knobs (environment): `VIGIL_BENCH_SIGNINS` (10000000), `VIGIL_BENCH_USERS` (40000),
//! `VIGIL_BENCH_SEED`, `VIGIL_BENCH_DIR`, `VIGIL_BENCH_RUNS` (3), `VIGIL_BENCH_THREADS` (the
//! number of cores: vigil's rayon and polars pools and DuckDB get that many threads),
//! `VIGIL_BENCH_VIGIL` (another vigil binary), `VIGIL_BENCH_PYTHON`, `VIGIL_BENCH_CABASELINE`
//! (the real policies' folder), `VIGIL_BENCH_KEEP_OUTPUT=1` (keep the decisions files, about
//! 1 GB), `VIGIL_BENCH_CLEAN=1` (delete the generated data at the end).

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_lossless,
    clippy::too_many_lines
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vigil_simulator::eval::{self, Context, Effect};
use vigil_simulator::model::{LoggedPolicy, Policy, PolicyState, SignIn, SignInKind};
use vigil_simulator::table::TableWriter;

/// Bump when the generated data changes, so old data is not reused.
const GEN_VERSION: u64 = 4;
const TARGET_SECONDS: f64 = 10.0;
const TARGET_BYTES: u64 = 4 << 30;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness (splitmix64: reproducible, no dependency)
// ---------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Index into `weights` (need not sum to 1).
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
    fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// A cumulative table for drawing from many weighted items.
struct Table(Vec<f64>);

impl Table {
    fn new(weights: impl Iterator<Item = f64>) -> Table {
        let mut acc = 0.0;
        Table(
            weights
                .map(|w| {
                    acc += w;
                    acc
                })
                .collect(),
        )
    }
    fn draw(&self, r: &mut Rng) -> usize {
        let x = r.unit() * self.0.last().copied().unwrap_or(0.0);
        self.0.partition_point(|c| *c <= x).min(self.0.len() - 1)
    }
}

// ---------------------------------------------------------------------------------------------
// The synthetic tenant
// ---------------------------------------------------------------------------------------------

const TENANT: &str = "5d3e2f1a-7b8c-4d9e-8f0a-1b2c3d4e5f60";
const INTERNALS: &str = "ceeac9b8-ddf5-48cb-afcb-e2ab8bfd1a57";
const SERVICE_ACCOUNTS: &str = "77c1ed37-10d0-4ef1-93dc-198e70abb166";
const BREAK_GLASS: &str = "2802b872-ccfb-4b29-a9a9-459808dfb11b";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const SYNC_ROLE: &str = "d29b2b05-8046-44ba-8758-1e26182fcf32";

/// Generated named locations (ids are fixed so the variants can name them).
const LOC_HQ: &str = "b1e7c0de-0001-4a00-8a00-00000000a001";
const LOC_BRANCH: &str = "b1e7c0de-0002-4a00-8a00-00000000a002";
const LOC_VPN: &str = "b1e7c0de-0003-4a00-8a00-00000000a003";
const LOC_BLOCKED: &str = "b1e7c0de-0004-4a00-8a00-00000000a004";
const LOC_EU: &str = "b1e7c0de-0005-4a00-8a00-00000000a005";
const LOC_WIDE: &str = "b1e7c0de-0006-4a00-8a00-00000000a006";

/// (country, weight for members' homes, cities, state)
const COUNTRIES: &[(&str, f64, &[&str], &str)] = &[
    (
        "NL",
        72.0,
        &["Amsterdam", "Utrecht", "Rotterdam", "Eindhoven"],
        "Noord-Holland",
    ),
    ("BE", 19.0, &["Brussels", "Antwerp", "Ghent"], "Brussels"),
    ("LU", 6.0, &["Luxembourg"], "Luxembourg"),
    ("DE", 1.0, &["Berlin", "Munich", "Cologne"], "Berlin"),
    ("FR", 0.6, &["Paris", "Lyon"], "Ile-de-France"),
    ("GB", 0.5, &["London", "Manchester"], "England"),
    ("US", 0.5, &["Seattle", "New York", "Chicago"], "Washington"),
    ("ES", 0.2, &["Madrid"], "Madrid"),
    ("IE", 0.1, &["Dublin"], "Leinster"),
    ("IN", 0.05, &["Bengaluru"], "Karnataka"),
    ("BR", 0.03, &["Sao Paulo"], "Sao Paulo"),
    ("RU", 0.01, &["Moscow"], "Moscow"),
    ("CN", 0.01, &["Shanghai"], "Shanghai"),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pool {
    Hq,
    Branch,
    Vpn,
    Home,
    Datacenter,
    Blocked,
}

struct Ip {
    addr: String,
    country: usize,
    pool: Pool,
}

struct Device {
    id: Option<String>,
    name: Option<String>,
    os: usize,
    compliant: Option<bool>,
    managed: Option<bool>,
    trust: Option<&'static str>,
    mobile: bool,
}

/// OS strings as logs spell them; (spelling, mobile).
const OS: &[&str] = &[
    "Windows 10",
    "Windows10",
    "Windows 11",
    "Windows",
    "MacOs",
    "macOS 14.6",
    "Mac OS X",
    "Ios",
    "iOS 17.5",
    "iPadOS 17",
    "Android",
    "Android 14",
    "Linux",
    "Ubuntu 22.04",
    "ChromeOS",
];
const OS_WINDOWS: &[usize] = &[0, 1, 2, 3];
const OS_MAC: &[usize] = &[4, 5, 6];
const OS_IOS: &[usize] = &[7, 8, 9];
const OS_ANDROID: &[usize] = &[10, 11];
const OS_LINUX: &[usize] = &[12, 13];

struct User {
    id: String,
    upn: String,
    guest: bool,
    home_tenant: Option<usize>,
    profile: u32,
    office: bool,
    devices: Vec<usize>,
    home_ips: Vec<usize>,
    user_risk: &'static str,
    groups: Vec<String>,
    roles: Vec<String>,
}

struct App {
    id: String,
    name: String,
    /// Resources this client calls: (id, name, class).
    resources: Vec<(String, String, u32)>,
    /// Which well-known application it is (`WELL_KNOWN.len()`: a line-of-business app).
    class: u32,
}

/// Which well-known application or resource an id is (policies can name only those).
fn app_class(id: &str) -> u32 {
    WELL_KNOWN
        .iter()
        .map(|w| w.0)
        .chain([
            "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
            "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
        ])
        .position(|w| w == id)
        .map_or(99, |p| p as u32)
}

struct Principal {
    id: String,
    name: String,
    app: usize,
}

struct Tenant {
    users: Vec<User>,
    user_table: Table,
    profiles: usize,
    partners: Vec<String>,
    devices: Vec<Device>,
    apps: Vec<App>,
    app_table: Table,
    mobile_app_table: Table,
    ips: Vec<Ip>,
    by_country: Vec<Vec<usize>>,
    pool: HashMap<&'static str, Vec<usize>>,
    sps: Vec<Principal>,
    mis: Vec<Principal>,
    groups: BTreeSet<String>,
    roles: BTreeSet<String>,
}

/// Well-known applications (id, name, weight, resources).
const WELL_KNOWN: &[(&str, &str, f64, &[&str])] = &[
    (
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        "Microsoft Teams",
        30.0,
        &[
            "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
            "00000003-0000-0000-c000-000000000000",
            "00000002-0000-0ff1-ce00-000000000000",
        ],
    ),
    (
        "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "Microsoft Office",
        24.0,
        &[
            "00000003-0000-0ff1-ce00-000000000000",
            "00000002-0000-0ff1-ce00-000000000000",
            "00000003-0000-0000-c000-000000000000",
        ],
    ),
    (
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
        18.0,
        &["00000002-0000-0ff1-ce00-000000000000"],
    ),
    (
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
        14.0,
        &["00000003-0000-0ff1-ce00-000000000000"],
    ),
    (
        "ab9b8c07-8f02-4f72-87fa-80105867a763",
        "OneDrive SyncEngine",
        10.0,
        &["00000003-0000-0ff1-ce00-000000000000"],
    ),
    (
        "4765445b-32c6-49b0-83e6-1d93765276ca",
        "OfficeHome",
        6.0,
        &[
            "4765445b-32c6-49b0-83e6-1d93765276ca",
            "00000003-0000-0000-c000-000000000000",
        ],
    ),
    (
        "27922004-5251-4030-b22d-91ecd9a37ea4",
        "Outlook Mobile",
        4.0,
        &["00000002-0000-0ff1-ce00-000000000000"],
    ),
    (
        "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
        "Microsoft Teams Web Client",
        3.0,
        &["cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"],
    ),
    (
        "00000003-0000-0000-c000-000000000000",
        "Microsoft Graph",
        3.0,
        &["00000003-0000-0000-c000-000000000000"],
    ),
    (
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "Azure Portal",
        1.2,
        &[
            "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        ],
    ),
    (
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "Microsoft Azure CLI",
        0.6,
        &["797f4846-ba00-4fd7-ba43-dac1f8f63013"],
    ),
    (
        "0000000a-0000-0000-c000-000000000000",
        "Microsoft Intune",
        0.8,
        &["0000000a-0000-0000-c000-000000000000"],
    ),
    (
        "d4ebce55-015a-49b5-a083-c84d1797ae8c",
        "Microsoft Intune Enrollment",
        0.2,
        &["d4ebce55-015a-49b5-a083-c84d1797ae8c"],
    ),
    (
        "29d9ed98-a469-4536-ade2-f981bc1d605e",
        "Microsoft Authentication Broker",
        1.5,
        &[
            "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
            "00000003-0000-0000-c000-000000000000",
        ],
    ),
    (
        "19db86c3-b2b9-44cc-b339-36da233a3be2",
        "My Signins",
        0.3,
        &["19db86c3-b2b9-44cc-b339-36da233a3be2"],
    ),
    (
        "2793995e-0a7d-40d7-bd35-6968ba142197",
        "My Apps",
        0.8,
        &["2793995e-0a7d-40d7-bd35-6968ba142197"],
    ),
    (
        "14d82eec-204b-4c2f-b7e8-296a70dab67e",
        "Microsoft Graph Command Line Tools",
        0.2,
        &["00000003-0000-0000-c000-000000000000"],
    ),
    (
        "497effe9-df71-4043-a8bb-14cf78c4b63b",
        "Exchange Admin Center",
        0.1,
        &["497effe9-df71-4043-a8bb-14cf78c4b63b"],
    ),
    (
        "00000006-0000-0ff1-ce00-000000000000",
        "Microsoft Office 365 Portal",
        0.4,
        &["00000006-0000-0ff1-ce00-000000000000"],
    ),
    (
        "f53895d3-095d-408f-8e93-8f94b391404e",
        "Contoso Payroll",
        0.3,
        &["f53895d3-095d-408f-8e93-8f94b391404e"],
    ),
];

fn resource_name(id: &str) -> String {
    match id {
        "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe" => "Microsoft Teams Services".into(),
        "797f4846-ba00-4fd7-ba43-dac1f8f63013" => "Windows Azure Service Management API".into(),
        "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9" => "Device Registration Service".into(),
        _ => WELL_KNOWN
            .iter()
            .find(|w| w.0 == id)
            .map_or_else(|| format!("Resource {}", &id[..8]), |w| w.1.to_string()),
    }
}

fn build_tenant(r: &mut Rng, n_users: usize, real: &[Policy]) -> Tenant {
    // Groups and roles the real policies name; a few more the directory has anyway.
    let mut named_groups = BTreeSet::new();
    let mut named_roles = BTreeSet::new();
    for p in real {
        if let Some(u) = &p.users {
            named_groups.extend(u.groups.include.iter().chain(&u.groups.exclude).cloned());
            named_roles.extend(u.roles.include.iter().chain(&u.roles.exclude).cloned());
        }
    }
    let exclusion_groups: Vec<String> = named_groups
        .iter()
        .filter(|g| ![INTERNALS, SERVICE_ACCOUNTS, BREAK_GLASS].contains(&g.as_str()))
        .cloned()
        .collect();
    let admin_roles: Vec<String> = named_roles
        .iter()
        .filter(|x| x.as_str() != SYNC_ROLE)
        .cloned()
        .collect();
    let departments: Vec<String> = (0..30).map(|_| r.guid()).collect();
    let partners: Vec<String> = (0..8).map(|_| r.guid()).collect();

    // Addresses.
    let mut ips: Vec<Ip> = Vec::new();
    let mut pool: HashMap<&'static str, Vec<usize>> = HashMap::new();
    let mut add = |ips: &mut Vec<Ip>, addr: String, country: usize, p: Pool| {
        let key = match p {
            Pool::Hq => "hq",
            Pool::Branch => "branch",
            Pool::Vpn => "vpn",
            Pool::Home => "home",
            Pool::Datacenter => "dc",
            Pool::Blocked => "blocked",
        };
        pool.entry(key).or_default().push(ips.len());
        ips.push(Ip {
            addr,
            country,
            pool: p,
        });
    };
    for i in 0..24 {
        add(&mut ips, format!("145.7.32.{}", 10 + i), 0, Pool::Hq);
    }
    for i in 0..6 {
        add(
            &mut ips,
            format!("2001:db8:10::{:x}", 0x100 + i),
            0,
            Pool::Hq,
        );
    }
    for b in 0..10 {
        for i in 0..6 {
            let country = if b < 7 {
                0
            } else if b < 9 {
                1
            } else {
                2
            };
            add(
                &mut ips,
                format!("62.41.{}.{}", 64 + b * 4, 5 + i),
                country,
                Pool::Branch,
            );
        }
    }
    for i in 0..8 {
        add(&mut ips, format!("185.64.12.{}", 2 + i), 0, Pool::Vpn);
    }
    // Home and mobile ISP addresses per country, in a few /16s each.
    let prefixes: &[&[(u32, u32)]] = &[
        &[
            (84, 80),
            (84, 104),
            (77, 160),
            (31, 20),
            (94, 208),
            (86, 81),
            (145, 53),
        ],
        &[(81, 240), (91, 180), (109, 128), (178, 116)],
        &[(94, 252), (158, 64)],
        &[(87, 150), (91, 64), (93, 192)],
        &[(90, 84), (82, 64)],
        &[(86, 128), (81, 96)],
        &[(73, 15), (98, 207), (24, 56)],
        &[(83, 40)],
        &[(89, 100)],
        &[(49, 36)],
        &[(177, 12)],
        &[(95, 165)],
        &[(114, 80)],
    ];
    let home_counts = [7000, 1900, 600, 300, 200, 150, 300, 60, 40, 30, 20, 20, 20];
    let mut by_country: Vec<Vec<usize>> = vec![Vec::new(); COUNTRIES.len()];
    for (c, count) in home_counts.iter().enumerate() {
        for k in 0..*count {
            let (a, b) = prefixes[c][k % prefixes[c].len()];
            let addr = if c == 0 && k % 16 == 0 {
                format!("2a02:a45e:{:x}:{:x}::1", r.below(0xffff), r.below(0xffff))
            } else {
                format!("{a}.{b}.{}.{}", r.below(256), 1 + r.below(254))
            };
            by_country[c].push(ips.len());
            add(&mut ips, addr, c, Pool::Home);
        }
    }
    for _ in 0..300 {
        let (addr, country) = match r.below(3) {
            0 => (
                format!("20.{}.{}.{}", 50 + r.below(40), r.below(256), r.below(256)),
                6,
            ),
            1 => (
                format!("40.{}.{}.{}", 112 + r.below(8), r.below(256), r.below(256)),
                0,
            ),
            _ => (
                format!("52.{}.{}.{}", 136 + r.below(8), r.below(256), r.below(256)),
                8,
            ),
        };
        add(&mut ips, addr, country, Pool::Datacenter);
    }
    for i in 0..40 {
        let (base, country) = if i % 2 == 0 {
            ("45.155.205", 11)
        } else {
            ("194.26.29", 12)
        };
        add(
            &mut ips,
            format!("{base}.{}", 10 + i),
            country,
            Pool::Blocked,
        );
    }

    // Applications: the well-known ones, then line-of-business and SaaS apps.
    let mut apps: Vec<App> = WELL_KNOWN
        .iter()
        .map(|(id, name, _, res)| App {
            id: (*id).to_string(),
            name: (*name).to_string(),
            resources: res
                .iter()
                .map(|x| ((*x).to_string(), resource_name(x), app_class(x)))
                .collect(),
            class: app_class(id),
        })
        .collect();
    let mut weights: Vec<f64> = WELL_KNOWN.iter().map(|w| w.2).collect();
    for k in 0..280 {
        let id = r.guid();
        let name = format!("Contoso App {k:03}");
        let res = if k % 3 == 0 {
            vec![
                (id.clone(), name.clone(), 99),
                (
                    "00000003-0000-0000-c000-000000000000".to_string(),
                    "Microsoft Graph".to_string(),
                    app_class("00000003-0000-0000-c000-000000000000"),
                ),
            ]
        } else {
            vec![(id.clone(), name.clone(), 99)]
        };
        apps.push(App {
            id,
            name,
            resources: res,
            class: 99,
        });
        weights.push(4.0 / (k as f64 + 2.0).powf(1.1));
    }
    let app_table = Table::new(weights.iter().copied());
    // Phones mostly run Outlook, Teams and the authentication broker.
    let mobile_app_table = Table::new(apps.iter().zip(&weights).map(
        |(a, w)| match a.name.as_str() {
            "Outlook Mobile" => 40.0,
            "Microsoft Teams" => 30.0,
            "Microsoft Authentication Broker" => 20.0,
            _ => *w * 0.4,
        },
    ));

    let sps: Vec<Principal> = (0..150)
        .map(|k| Principal {
            id: r.guid(),
            name: format!("svc-integration-{k:03}"),
            app: WELL_KNOWN.len() + r.below(280),
        })
        .collect();
    let mis: Vec<Principal> = (0..40)
        .map(|k| Principal {
            id: r.guid(),
            name: format!("mi-workload-{k:02}"),
            app: WELL_KNOWN.len() + r.below(280),
        })
        .collect();

    // Users, their devices and their habits.
    let mut users = Vec::with_capacity(n_users);
    let mut devices: Vec<Device> = Vec::new();
    let mut profiles: HashMap<String, u32> = HashMap::new();
    let country_weights: Vec<f64> = COUNTRIES.iter().map(|c| c.1).collect();
    let mut groups_seen: BTreeSet<String> = BTreeSet::new();
    let mut roles_seen: BTreeSet<String> = BTreeSet::new();
    for n in 0..n_users {
        let kind = if n < 2 {
            0 // break glass
        } else {
            1 + r.weighted(&[1.0, 8.0, 3.0, 88.0]) // service account, guest, contractor, internal
        };
        let guest = kind == 2;
        let home_tenant = guest.then(|| r.below(partners.len()));
        let mut groups: Vec<String> = Vec::new();
        let mut roles: Vec<String> = Vec::new();
        match kind {
            0 => {
                groups.push(BREAK_GLASS.into());
                roles.push(GLOBAL_ADMIN.into());
            }
            1 => {
                groups.push(SERVICE_ACCOUNTS.into());
                if r.chance(0.1) {
                    roles.push(SYNC_ROLE.into());
                }
            }
            4 => groups.push(INTERNALS.into()),
            _ => {}
        }
        if kind == 4 && r.chance(0.012) {
            for _ in 0..=r.below(3) {
                roles.push(admin_roles[r.below(admin_roles.len())].clone());
            }
        }
        if kind != 0 {
            for g in &exclusion_groups {
                if r.chance(0.0025) {
                    groups.push(g.clone());
                }
            }
        }
        if !guest {
            for _ in 0..=r.below(3) {
                groups.push(departments[r.below(departments.len())].clone());
            }
        }
        groups.sort();
        groups.dedup();
        roles.sort();
        roles.dedup();
        let named: Vec<&String> = groups
            .iter()
            .filter(|g| named_groups.contains(*g))
            .collect();
        let sig = format!("{guest}|{home_tenant:?}|{named:?}|{roles:?}");
        let next = profiles.len() as u32;
        let profile = *profiles.entry(sig).or_insert(next);
        groups_seen.extend(groups.iter().cloned());
        roles_seen.extend(roles.iter().cloned());
        let country = if guest {
            if r.chance(0.88) {
                r.below(3)
            } else {
                3 + r.below(6)
            }
        } else {
            r.weighted(&country_weights)
        };
        // Devices.
        let mut own = Vec::new();
        let company = !guest && kind != 1;
        let push_dev = |devices: &mut Vec<Device>, d: Device| {
            devices.push(d);
            devices.len() - 1
        };
        if company {
            let x = r.unit();
            let (os, trust) = if x < 0.82 {
                (
                    OS_WINDOWS[r.below(OS_WINDOWS.len())],
                    if r.chance(0.45) {
                        "Hybrid Azure AD joined"
                    } else {
                        "Azure AD joined"
                    },
                )
            } else if x < 0.99 {
                (OS_MAC[r.below(OS_MAC.len())], "Azure AD registered")
            } else {
                (OS_LINUX[r.below(OS_LINUX.len())], "Azure AD registered")
            };
            let name = if OS_WINDOWS.contains(&os) {
                format!("LT-{:05}", r.below(100_000))
            } else {
                format!("MBP-{:04X}", r.below(65_536))
            };
            own.push(push_dev(
                &mut devices,
                Device {
                    id: Some(r.guid()),
                    name: Some(name),
                    os,
                    compliant: Some(r.chance(0.96)),
                    managed: Some(true),
                    trust: Some(trust),
                    mobile: false,
                },
            ));
            if r.chance(0.7) {
                let ios = r.chance(0.6);
                let os = if ios {
                    OS_IOS[r.below(OS_IOS.len())]
                } else {
                    OS_ANDROID[r.below(OS_ANDROID.len())]
                };
                let enrolled = r.chance(0.8);
                own.push(push_dev(
                    &mut devices,
                    Device {
                        id: Some(r.guid()),
                        name: Some(if ios { "iPhone" } else { "Galaxy S23" }.into()),
                        os,
                        compliant: Some(enrolled && r.chance(0.95)),
                        managed: Some(enrolled),
                        trust: Some("Azure AD registered"),
                        mobile: true,
                    },
                ));
            }
        } else {
            // Guests and service accounts: unregistered devices.
            let os = match r.below(80) {
                0..=59 => OS_WINDOWS[r.below(OS_WINDOWS.len())],
                60..=77 => OS_MAC[r.below(OS_MAC.len())],
                78 => OS_IOS[r.below(OS_IOS.len())],
                _ => OS_ANDROID[r.below(OS_ANDROID.len())],
            };
            let mobile = OS_IOS.contains(&os) || OS_ANDROID.contains(&os);
            own.push(push_dev(
                &mut devices,
                Device {
                    id: None,
                    name: None,
                    os,
                    compliant: Some(false),
                    managed: Some(false),
                    trust: None,
                    mobile,
                },
            ));
        }
        let homes = &by_country[country];
        let home_ips = (0..1 + r.below(2))
            .map(|_| homes[r.below(homes.len())])
            .collect();
        let user_risk = match r.unit() {
            x if x < 0.985 => "none",
            x if x < 0.995 => "low",
            x if x < 0.999 => "medium",
            _ => "high",
        };
        let id = r.guid();
        let upn = if guest {
            format!(
                "guest{n:05}_partner{}.example#EXT#@contoso.example",
                home_tenant.unwrap_or(0)
            )
        } else if kind == 1 {
            format!("svc.account{n:05}@contoso.example")
        } else {
            format!("user{n:05}@contoso.example")
        };
        users.push(User {
            id,
            upn,
            guest,
            home_tenant,
            profile,
            office: kind == 4 && r.chance(0.8),
            devices: own,
            home_ips,
            user_risk,
            groups,
            roles,
        });
    }
    // Activity: a few users sign in far more often than most.
    let mut order: Vec<usize> = (0..n_users).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, r.below(i + 1));
    }
    let mut weight = vec![0.0; n_users];
    for (rank, u) in order.iter().enumerate() {
        weight[*u] = 1.0 / (rank as f64 + 50.0).powf(0.6);
    }
    Tenant {
        users,
        user_table: Table::new(weight.into_iter()),
        profiles: profiles.len(),
        partners,
        devices,
        apps,
        app_table,
        mobile_app_table,
        ips,
        by_country,
        pool,
        sps,
        mis,
        groups: groups_seen,
        roles: roles_seen,
    }
}

// ---------------------------------------------------------------------------------------------
// Files: policies, named locations, directory
// ---------------------------------------------------------------------------------------------

/// Reads a Graph export in UTF-8 or UTF-16 (BOM or not).
fn read_json(path: &Path) -> Value {
    let b = fs::read(path).unwrap();
    let text = if b.starts_with(&[0xFF, 0xFE]) || (b.len() > 1 && b[1] == 0 && b[0] != 0) {
        let start = usize::from(b.starts_with(&[0xFF, 0xFE])) * 2;
        let units: Vec<u16> = b[start..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    } else if b.starts_with(&[0xFE, 0xFF]) {
        let units: Vec<u16> = b[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    } else {
        String::from_utf8(b).unwrap()
    };
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

fn ip_location(id: &str, name: &str, trusted: bool, cidrs: &[&str]) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": id,
        "displayName": name,
        "createdDateTime": "2025-09-01T08:00:00Z",
        "modifiedDateTime": "2025-09-01T08:00:00Z",
        "isTrusted": trusted,
        "ipRanges": cidrs.iter().map(|c| {
            let t = if c.contains(':') { "#microsoft.graph.iPv6CidrRange" } else { "#microsoft.graph.iPv4CidrRange" };
            json!({"@odata.type": t, "cidrAddress": c})
        }).collect::<Vec<_>>(),
    })
}

fn country_location(id: &str, name: &str, countries: &[&str]) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "id": id,
        "displayName": name,
        "createdDateTime": "2025-09-01T08:00:00Z",
        "modifiedDateTime": "2025-09-01T08:00:00Z",
        "countriesAndRegions": countries,
        "includeUnknownCountriesAndRegions": false,
        "countryLookupMethod": "clientIpAddress",
    })
}

fn write_locations(dir: &Path, cabaseline: &Path) {
    fs::create_dir_all(dir).unwrap();
    for f in json_files(&cabaseline.join("NamedLocations")) {
        fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let branch: Vec<String> = (0..10)
        .map(|b| format!("62.41.{}.0/26", 64 + b * 4))
        .collect();
    let branch: Vec<&str> = branch.iter().map(String::as_str).collect();
    let locs = [
        (
            "zz-corporate-hq.json",
            ip_location(
                LOC_HQ,
                "Corporate HQ",
                true,
                &["145.7.32.0/24", "2001:db8:10::/48"],
            ),
        ),
        (
            "zz-branch-offices.json",
            ip_location(LOC_BRANCH, "Branch offices", false, &branch),
        ),
        (
            "zz-vpn-egress.json",
            ip_location(LOC_VPN, "VPN egress", true, &["185.64.12.0/28"]),
        ),
        (
            "zz-blocked-ranges.json",
            ip_location(
                LOC_BLOCKED,
                "Blocked ranges",
                false,
                &["45.155.205.0/24", "194.26.29.0/24"],
            ),
        ),
        (
            "zz-eu-countries.json",
            country_location(
                LOC_EU,
                "EU countries",
                &["NL", "BE", "LU", "DE", "FR", "ES", "IE"],
            ),
        ),
        (
            "zz-allowed-countries-wide.json",
            country_location(
                LOC_WIDE,
                "ALLOWED COUNTRIES (wide)",
                &["NL", "BE", "LU", "DE", "FR", "GB"],
            ),
        ),
    ];
    for (name, v) in locs {
        fs::write(dir.join(name), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }
}

/// The 14 generated candidates: variants of real policies, as an administrator would draft
/// them (mostly report-only, three enforced, one disabled).
fn variants(real: &BTreeMap<String, Value>) -> Vec<(String, Value)> {
    let base = |prefix: &str| -> Value {
        real.iter()
            .find(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no real policy {prefix}"))
    };
    let mut out = Vec::new();
    let mut add = |n: u32, name: &str, from: &str, state: &str, edit: &dyn Fn(&mut Value)| {
        let mut v = base(from);
        let o = v.as_object_mut().unwrap();
        o.retain(|k, _| !k.starts_with('@') && !k.starts_with('#'));
        o.insert(
            "id".into(),
            json!(format!("be7c4a00-0000-4000-8000-{n:012}")),
        );
        o.insert("displayName".into(), json!(name));
        o.insert("state".into(), json!(state));
        o.insert("createdDateTime".into(), json!("2026-01-20T10:00:00Z"));
        o.insert("modifiedDateTime".into(), json!("2026-01-20T10:00:00Z"));
        edit(&mut v);
        out.push((format!("{name}.json"), v));
    };
    let ro = "enabledForReportingButNotEnforced";
    add(
        900,
        "CA900-Bench-Global-AnyApp-MFA-ExceptCorporateNetwork",
        "CA000",
        ro,
        &|v| {
            v["conditions"]["locations"] =
                json!({"includeLocations": ["All"], "excludeLocations": [LOC_HQ, LOC_VPN]});
        },
    );
    add(
        901,
        "CA901-Bench-Guests-BlockLegacyAuthentication",
        "CA002",
        ro,
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["GuestsOrExternalUsers"]);
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
        },
    );
    add(
        902,
        "CA902-Bench-Internals-WindowsMacOS-CompliantAndHybrid",
        "CA205",
        ro,
        &|v| {
            v["conditions"]["platforms"]["includePlatforms"] = json!(["windows", "macOS"]);
            v["grantControls"]["operator"] = json!("AND");
        },
    );
    add(
        903,
        "CA903-Bench-ServiceAccounts-BlockOutsideEU",
        "CA301",
        ro,
        &|v| {
            v["conditions"]["locations"]["excludeLocations"] = json!([LOC_EU]);
        },
    );
    add(
        904,
        "CA904-Bench-Global-MediumHighSignInRisk-MFA",
        "CA210",
        ro,
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["All"]);
            v["conditions"]["users"]["includeGroups"] = json!([]);
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
            v["conditions"]["signInRiskLevels"] = json!(["medium", "high"]);
            v["grantControls"]["builtInControls"] = json!(["mfa"]);
        },
    );
    add(
        905,
        "CA905-Bench-Global-HighUserRisk-PasswordChange",
        "CA201",
        ro,
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["All"]);
            v["conditions"]["users"]["includeGroups"] = json!([]);
            v["grantControls"]["operator"] = json!("AND");
            v["grantControls"]["builtInControls"] = json!(["mfa", "passwordChange"]);
        },
    );
    add(
        906,
        "CA906-Bench-Admins-AdminPortals-PhishingResistantMFA",
        "CA105",
        ro,
        &|v| {
            v["conditions"]["applications"]["includeApplications"] =
                json!(["MicrosoftAdminPortals"]);
            v["conditions"]["applications"]["excludeApplications"] = json!([]);
        },
    );
    add(
        907,
        "CA907-Bench-Guests-BlockUnknownPlatforms",
        "CA204",
        ro,
        &|v| {
            let guests =
                base("CA400")["conditions"]["users"]["includeGuestsOrExternalUsers"].clone();
            v["conditions"]["users"]["includeGroups"] = json!([]);
            v["conditions"]["users"]["includeGuestsOrExternalUsers"] = guests;
        },
    );
    add(
        908,
        "CA908-Bench-Global-BlockDeviceCodeFlow",
        "CA004",
        ro,
        &|v| {
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
        },
    );
    add(
        909,
        "CA909-Bench-Internals-SelectedApps-BlockUntrustedNetworks",
        "CA207",
        ro,
        &|v| {
            v["conditions"]["applications"]["includeApplications"] = json!([
                "f53895d3-095d-408f-8e93-8f94b391404e",
                "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
                "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
            ]);
            v["conditions"]["applications"]["excludeApplications"] = json!([]);
            v["conditions"]["locations"] =
                json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]});
        },
    );
    add(
        910,
        "CA910-Bench-AllUsers-BLOCK-HighRiskSignIn",
        "CA210",
        "enabled",
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["All"]);
            v["conditions"]["users"]["includeGroups"] = json!([]);
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
        },
    );
    add(
        911,
        "CA911-Bench-AllUsers-AdminPortals-MFA",
        "CA100",
        "enabled",
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["All"]);
            v["conditions"]["users"]["includeRoles"] = json!([]);
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
            v["grantControls"] = json!({"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": []});
        },
    );
    add(
        912,
        "CA912-Bench-Global-BLOCK-RiskyRanges",
        "CA001",
        "enabled",
        &|v| {
            v["conditions"]["locations"] =
                json!({"includeLocations": [LOC_BLOCKED], "excludeLocations": []});
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
        },
    );
    add(
        913,
        "CA913-Bench-Global-BLOCK-CountryWhitelist-Wide",
        "CA001",
        "disabled",
        &|v| {
            v["conditions"]["locations"]["excludeLocations"] = json!([LOC_WIDE]);
        },
    );
    out
}

fn write_policies(dir: &Path, cabaseline: &Path) {
    fs::create_dir_all(dir).unwrap();
    let mut real = BTreeMap::new();
    for f in json_files(&cabaseline.join("ConditionalAccess")) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        fs::copy(&f, dir.join(&name)).unwrap();
        real.insert(name, read_json(&f));
    }
    assert_eq!(real.len(), 36, "expected the 36 policies of the baseline");
    for (name, v) in variants(&real) {
        fs::write(dir.join(name), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }
}

fn write_directory(path: &Path, t: &Tenant) {
    let users: Vec<Value> = t
        .users
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "userPrincipalName": u.upn,
                "userType": if u.guest { "Guest" } else { "Member" },
                "groups": u.groups,
                "roles": u.roles,
            })
        })
        .collect();
    fs::write(path, serde_json::to_vec(&json!({"users": users})).unwrap()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Sign-ins
// ---------------------------------------------------------------------------------------------

fn put(slot: &mut Option<String>, v: Option<&str>) {
    match (slot.as_mut(), v) {
        (_, None) => *slot = None,
        (Some(s), Some(v)) => {
            s.clear();
            s.push_str(v);
        }
        (None, Some(v)) => *slot = Some(v.to_string()),
    }
}

fn put_list(slot: &mut Option<Vec<String>>, v: Option<&[&str]>) {
    *slot = v.map(|items| items.iter().map(|x| (*x).to_string()).collect());
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn rfc3339(ms: i64, out: &mut String) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil(days);
    out.clear();
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    );
}

/// What the log recorded for one generated profile.
struct Logged {
    /// 0 notApplied, 1 success, 2 interrupted, 3 failure.
    status: u8,
    /// CA block code when `status` is 3.
    block_code: i64,
    /// Index of the `appliedConditionalAccessPolicies` JSON text (texts are shared).
    applied: usize,
}

/// Distinct texts, each stored once.
#[derive(Default)]
struct Texts {
    index: HashMap<String, usize>,
    all: Vec<String>,
}

impl Texts {
    fn intern(&mut self, t: String) -> usize {
        if let Some(i) = self.index.get(&t) {
            return *i;
        }
        self.all.push(t.clone());
        self.index.insert(t, self.all.len() - 1);
        self.all.len() - 1
    }
}

/// Graph's names of grant and session controls in `appliedConditionalAccessPolicies`.
fn logged_grant(c: &str) -> String {
    match c.to_ascii_lowercase().as_str() {
        "mfa" => "Mfa".into(),
        "block" => "Block".into(),
        "compliantdevice" => "RequireCompliantDevice".into(),
        "domainjoineddevice" => "RequireDomainJoinedDevice".into(),
        "compliantapplication" => "RequireCompliantApp".into(),
        "approvedapplication" => "RequireApprovedApp".into(),
        "passwordchange" => "PasswordChange".into(),
        _ => c.to_string(),
    }
}

/// Settles what vigil cannot decide the way Entra (which sees everything) would have, then
/// writes the log's view: overall status and `appliedConditionalAccessPolicies`.
fn settle(policies: &[Policy], d: &eval::Decision, texts: &mut Texts) -> Logged {
    let mut status = Effect::NotApplied;
    let mut block_code = 53003;
    let mut list = Vec::with_capacity(policies.len());
    for (p, r) in policies.iter().zip(&d.policies) {
        let effects: Vec<Effect> = r.effects.iter().collect();
        let e = if effects.len() == 1 {
            effects[0]
        } else if effects.contains(&Effect::Success) {
            Effect::Success
        } else if effects.contains(&Effect::NotApplied) {
            Effect::NotApplied
        } else {
            effects[0]
        };
        let report_only = p.state == PolicyState::EnabledForReportingButNotEnforced;
        let word = match (p.state, e) {
            (PolicyState::Disabled, _) => "notEnabled",
            (_, Effect::NotApplied) if report_only => "reportOnlyNotApplied",
            (_, Effect::Success) if report_only => "reportOnlySuccess",
            (_, Effect::Interrupted) if report_only => "reportOnlyInterrupted",
            (_, Effect::Failure) if report_only => "reportOnlyFailure",
            (_, Effect::NotApplied) => "notApplied",
            (_, Effect::Success) => "success",
            (_, _) => "failure",
        };
        if p.state == PolicyState::Enabled && e > status {
            status = e;
            if e == Effect::Failure {
                let g = p
                    .grant
                    .as_ref()
                    .map(|g| g.built_in.clone())
                    .unwrap_or_default();
                block_code = if g.iter().any(|c| c.eq_ignore_ascii_case("block")) {
                    53003
                } else if g.iter().any(|c| c.eq_ignore_ascii_case("compliantDevice")) {
                    53000
                } else if g
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case("domainJoinedDevice"))
                {
                    53001
                } else {
                    53002
                };
            }
        }
        let applied = p.state != PolicyState::Disabled && e != Effect::NotApplied;
        list.push(LoggedPolicy {
            id: p.id.clone(),
            display_name: Some(p.display_name.clone()),
            result: word.to_string(),
            enforced_grant_controls: if applied {
                let mut g: Vec<String> = p
                    .grant
                    .iter()
                    .flat_map(|g| g.built_in.iter().map(|c| logged_grant(c)))
                    .collect();
                if p.grant
                    .as_ref()
                    .is_some_and(|g| g.authentication_strength.is_some())
                {
                    g.push("RequireAuthenticationStrength".into());
                }
                g
            } else {
                vec![]
            },
            enforced_session_controls: if applied {
                p.session
                    .iter()
                    .flat_map(|s| {
                        s.names.iter().map(|n| {
                            let mut c = n.chars();
                            c.next()
                                .map(|f| f.to_uppercase().chain(c).collect())
                                .unwrap_or_default()
                        })
                    })
                    .collect()
            } else {
                vec![]
            },
        });
    }
    Logged {
        status: status as u8,
        block_code,
        applied: texts.intern(serde_json::to_string(&list).unwrap()),
    }
}

const BROWSER: &str = "Browser";
const MOBILE: &str = "Mobile Apps and Desktop clients";
const LEGACY: &[&str] = &[
    "Exchange ActiveSync",
    "IMAP4",
    "Authenticated SMTP",
    "POP3",
    "Other clients",
    "Exchange Web Services",
];
const METHODS: &[&[&str]] = &[
    &["Password", "Mobile app notification"],
    &["Windows Hello for Business"],
    &["Password", "Text message"],
    &["FIDO2 security key"],
    &["Password"],
    &["Passwordless phone sign-in"],
    &["Password", "OATH verification code"],
    &["Previously satisfied"],
];
const FIRST_FACTOR_INTERACTIVE: &[(i64, f64, &str)] = &[
    (
        50126,
        70.0,
        "Error validating credentials due to invalid username or password.",
    ),
    (
        50053,
        10.0,
        "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
    ),
    (50055, 5.0, "The password is expired."),
    (50057, 5.0, "User account is disabled."),
    (
        50173,
        10.0,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
    ),
];
const FIRST_FACTOR_REFRESH: &[(i64, f64, &str)] = &[
    (
        70008,
        50.0,
        "The provided authorization code or refresh token has expired due to inactivity.",
    ),
    (
        50173,
        30.0,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
    ),
    (
        700082,
        20.0,
        "The refresh token has expired due to inactivity.",
    ),
];
const OTHER_CODES: &[(i64, f64, &str)] = &[
    (
        50140,
        60.0,
        "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    ),
    (50058, 25.0, "User information is not provided."),
    (
        50199,
        15.0,
        "For security reasons, user confirmation is required for this request.",
    ),
];

fn pick_code(r: &mut Rng, table: &[(i64, f64, &'static str)]) -> (i64, &'static str) {
    let w: Vec<f64> = table.iter().map(|t| t.1).collect();
    let t = table[r.weighted(&w)];
    (t.0, t.2)
}

fn user_agent(os: &str, client: &str) -> &'static str {
    let l = os.to_ascii_lowercase();
    match (client == BROWSER, l.as_str()) {
        (true, o) if o.starts_with("win") => {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
        }
        (true, o) if o.starts_with("mac") => {
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
        }
        (true, o) if o.starts_with("ios") || o.starts_with("ipad") => {
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        }
        (true, _) => {
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
        }
        (false, o) if o.starts_with("win") => {
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
        }
        (false, o) if o.starts_with("ios") || o.starts_with("ipad") => "Outlook-iOS/2.0",
        (false, o) if o.starts_with("android") => "Outlook-Android/2.0",
        (false, _) => "MSAL.Desktop/4.61.3.0",
    }
}

fn browser_of(os: &str, client: &str) -> Option<&'static str> {
    if client != BROWSER {
        return None;
    }
    let l = os.to_ascii_lowercase();
    Some(if l.starts_with("win") {
        "Edge 131.0.0"
    } else if l.starts_with("mac") {
        "Safari 17.5"
    } else if l.starts_with("ios") || l.starts_with("ipad") {
        "Mobile Safari 17.5"
    } else {
        "Chrome Mobile 131.0.0"
    })
}

struct GenStats {
    rows: u64,
    profiles: usize,
    logged_keys: usize,
    bytes: u64,
}

#[allow(clippy::too_many_arguments)]
fn generate_signins(
    path: &Path,
    t: &Tenant,
    r: &mut Rng,
    n: u64,
    in_force: &[Policy],
    ctx: &Context,
) -> GenStats {
    let mut w = TableWriter::create(path).unwrap();
    let mut s = SignIn::default();
    let mut logged: HashMap<[u32; 20], Logged> = HashMap::new();
    let mut texts = Texts::default();
    let base_ms: i64 = 1_767_571_200_000; // 2026-01-05T00:00:00Z
    let span_ms: i64 = 28 * 86_400_000;
    let step = (span_ms as f64 / n as f64).max(1.0);
    let empty_applied = "[]";
    let hq = &t.pool["hq"];
    let branch = &t.pool["branch"];
    let vpn = &t.pool["vpn"];
    let dc = &t.pool["dc"];
    let blocked = &t.pool["blocked"];
    let started = Instant::now();
    for i in 0..n {
        let ms = base_ms + (i as f64 * step) as i64 + r.below(step.max(1.0) as usize) as i64;
        let id = r.guid();
        let corr = r.guid();
        s.id = id;
        rfc3339(ms, &mut s.created_date_time);
        put(&mut s.correlation_id, Some(&corr));
        put(&mut s.source_variant, Some("diagnostic"));
        // Every field not set below stays null.
        let kind = match r.unit() {
            x if x < 0.006 => SignInKind::ManagedIdentity,
            x if x < 0.05 => SignInKind::ServicePrincipal,
            x if x < 0.33 => SignInKind::InteractiveUser,
            _ => SignInKind::NonInteractiveUser,
        };
        s.kind = Some(kind);
        s.is_interactive = Some(kind == SignInKind::InteractiveUser);
        if matches!(
            kind,
            SignInKind::ServicePrincipal | SignInKind::ManagedIdentity
        ) {
            let mi = kind == SignInKind::ManagedIdentity;
            let p = if mi {
                &t.mis[r.below(t.mis.len())]
            } else {
                &t.sps[r.below(t.sps.len())]
            };
            let app = &t.apps[p.app];
            let res = &app.resources[r.below(app.resources.len())];
            let ip = &t.ips[dc[r.below(dc.len())]];
            for slot in [
                &mut s.user_id,
                &mut s.user_principal_name,
                &mut s.user_type,
                &mut s.cross_tenant_access_type,
                &mut s.client_app_used,
                &mut s.operating_system,
                &mut s.browser,
                &mut s.device_id,
                &mut s.device_display_name,
                &mut s.device_trust_type,
                &mut s.sign_in_risk_level,
                &mut s.risk_level_aggregated,
                &mut s.risk_state,
                &mut s.user_risk_level,
                &mut s.authentication_requirement,
                &mut s.original_transfer_method,
                &mut s.user_agent,
                &mut s.city,
                &mut s.state,
            ] {
                *slot = None;
            }
            s.network_names = None;
            s.trusted_network = None;
            s.device_compliant = None;
            s.device_managed = None;
            s.mfa_satisfied = None;
            s.authentication_methods = None;
            put(&mut s.home_tenant_id, Some(TENANT));
            put(&mut s.resource_tenant_id, Some(TENANT));
            put(&mut s.service_principal_id, Some(&p.id));
            put(&mut s.service_principal_name, Some(&p.name));
            put(&mut s.app_id, Some(&app.id));
            put(&mut s.app_display_name, Some(&p.name));
            put(&mut s.resource_id, Some(&res.0));
            put(&mut s.resource_display_name, Some(&res.1));
            if mi {
                put(&mut s.ip_address, None);
                put(&mut s.country, None);
                put(&mut s.service_principal_risk_level, None);
                put(&mut s.authentication_protocol, None);
            } else {
                put(&mut s.ip_address, Some(&ip.addr));
                put(&mut s.country, Some(COUNTRIES[ip.country].0));
                put(
                    &mut s.service_principal_risk_level,
                    Some(if r.chance(0.9) { "none" } else { "low" }),
                );
                put(&mut s.authentication_protocol, Some("none"));
            }
            let (code, reason) = if !mi && r.chance(0.012) {
                if r.chance(0.7) {
                    (7_000_215, "Invalid client secret provided.")
                } else {
                    (7_000_222, "The provided client secret keys are expired.")
                }
            } else {
                (0, "Other.")
            };
            s.error_code = Some(code);
            put(&mut s.failure_reason, Some(reason));
            put(&mut s.conditional_access_status, Some("notApplied"));
            w.push_with_applied(&s, Some(empty_applied)).unwrap();
            continue;
        }

        // A user.
        let interactive = kind == SignInKind::InteractiveUser;
        let ui = t.user_table.draw(r);
        let u = &t.users[ui];
        // Device: phones for a minority of sign-ins, mostly to mail and chat.
        let phone = u.devices.iter().copied().find(|d| t.devices[*d].mobile);
        let dev_i = match phone {
            // Few: CA005 (app protection on iOS and Android) cannot be decided from a log
            // for any phone sign-in to Office 365, so each is a changed decision of ~20 KB.
            Some(p) if r.chance(0.002) => p,
            _ => u.devices[0],
        };
        let dev = &t.devices[dev_i];
        let os_i = if r.chance(0.0005) { OS.len() } else { dev.os };
        let os = OS.get(os_i).copied();
        let app_i = if dev.mobile {
            t.mobile_app_table.draw(r)
        } else {
            t.app_table.draw(r)
        };
        let app = &t.apps[app_i];
        let res_i = r.below(app.resources.len());
        let res = &app.resources[res_i];
        // Client app.
        let client_i: usize = if r.chance(0.0002) {
            99
        } else if interactive {
            let x = r.unit();
            if x < 0.02 {
                2 + r.below(LEGACY.len())
            } else if x < if dev.mobile { 0.25 } else { 0.62 } {
                0
            } else {
                1
            }
        } else {
            match r.unit() {
                x if x < 0.004 => 2,
                x if x < 0.13 => 0,
                _ => 1,
            }
        };
        let client = match client_i {
            0 => Some(BROWSER),
            1 => Some(MOBILE),
            99 => None,
            k => Some(LEGACY[k - 2]),
        };
        // Network.
        let ip_i = if r.chance(0.0004) {
            blocked[r.below(blocked.len())]
        } else if u.office && r.chance(0.5) {
            match r.unit() {
                x if x < 0.6 => hq[r.below(hq.len())],
                x if x < 0.9 => branch[r.below(branch.len())],
                _ => vpn[r.below(vpn.len())],
            }
        } else if r.chance(0.005) {
            // Travel, mostly nearby.
            let c = r.weighted(&[
                30.0, 15.0, 5.0, 15.0, 12.0, 8.0, 6.0, 5.0, 2.0, 1.0, 0.5, 0.3, 0.3,
            ]);
            t.by_country[c][r.below(t.by_country[c].len())]
        } else {
            u.home_ips[r.below(u.home_ips.len())]
        };
        let ip = &t.ips[ip_i];
        let country_i = if r.chance(0.0002) {
            COUNTRIES.len()
        } else {
            ip.country
        };
        let (names, trusted): (Option<&[&str]>, Option<bool>) = match (interactive, ip.pool) {
            (true, Pool::Hq) => (Some(&["Corporate HQ"]), Some(true)),
            (true, Pool::Vpn) => (Some(&["VPN egress"]), Some(true)),
            (true, Pool::Branch) => (Some(&["Branch offices"]), Some(false)),
            _ => (Some(&[]), Some(false)),
        };
        let names_i = match names.map(<[&str]>::len) {
            Some(0) => 0,
            _ => 1 + ip.pool as u32,
        };
        // Risk.
        let sir_i = if interactive {
            r.weighted(&[94.0, 4.0, 1.5, 0.4, 0.1])
        } else {
            r.weighted(&[99.0, 0.8, 0.2, 0.0, 0.0])
        };
        let sir = ["none", "low", "medium", "high", "hidden"][sir_i];
        let ur_null = r.chance(0.0005);
        // Authentication.
        let (methods_i, mfa_i) = if interactive {
            let m = match r.unit() {
                x if x < 0.34 => 0,
                x if x < 0.62 && !dev.mobile && OS_WINDOWS.contains(&dev.os) => 1,
                x if x < 0.67 => 2,
                x if x < 0.70 => 3,
                x if x < 0.74 => 4,
                x if x < 0.81 => 5,
                x if x < 0.86 => 6,
                _ => 7,
            };
            (m, if m == 4 { 1 } else { 2 })
        } else {
            match r.unit() {
                x if x < 0.953 => (99, 2),
                x if x < 0.9995 => (99, 1),
                _ => (99, 0),
            }
        };
        let transfer_i = match r.unit() {
            x if x < 0.0015 && interactive => 1,
            x if x < 0.002 && interactive => 2,
            x if x < 0.007 => 3,
            x if x < 0.0071 => 4,
            _ => 0,
        };
        // Outcome class: first-factor failure, a non-CA code, or Conditional Access decides.
        let blocked_ip = ip.pool == Pool::Blocked;
        let outcome = if blocked_ip && r.chance(0.8) {
            Some((50126, FIRST_FACTOR_INTERACTIVE[0].2))
        } else if interactive && r.chance(0.055) {
            Some(pick_code(r, FIRST_FACTOR_INTERACTIVE))
        } else if !interactive && r.chance(0.015) {
            Some(pick_code(r, FIRST_FACTOR_REFRESH))
        } else {
            None
        };
        let other = if outcome.is_none() && r.chance(if interactive { 0.002 } else { 0.0002 }) {
            Some(pick_code(r, OTHER_CODES))
        } else {
            None
        };

        // Fill the record.
        put(&mut s.user_id, Some(&u.id));
        put(&mut s.user_principal_name, Some(&u.upn));
        put(
            &mut s.user_type,
            Some(if u.guest { "Guest" } else { "Member" }),
        );
        let home = u.home_tenant.map_or(TENANT, |h| t.partners[h].as_str());
        put(&mut s.home_tenant_id, Some(home));
        put(&mut s.resource_tenant_id, Some(TENANT));
        put(
            &mut s.cross_tenant_access_type,
            Some(if u.guest { "b2bCollaboration" } else { "none" }),
        );
        put(&mut s.service_principal_id, None);
        put(&mut s.service_principal_name, None);
        put(&mut s.service_principal_risk_level, None);
        put(&mut s.app_id, Some(&app.id));
        put(&mut s.app_display_name, Some(&app.name));
        put(&mut s.resource_id, Some(&res.0));
        put(&mut s.resource_display_name, Some(&res.1));
        put(&mut s.ip_address, Some(&ip.addr));
        let country = COUNTRIES.get(country_i);
        put(&mut s.country, country.map(|c| c.0));
        put(&mut s.city, country.map(|c| c.2[ip_i % c.2.len()]));
        put(&mut s.state, country.map(|c| c.3));
        put_list(&mut s.network_names, names);
        s.trusted_network = trusted;
        put(&mut s.client_app_used, client);
        put(&mut s.operating_system, os);
        put(
            &mut s.browser,
            os.and_then(|o| browser_of(o, client.unwrap_or(""))),
        );
        put(&mut s.device_id, dev.id.as_deref());
        put(&mut s.device_display_name, dev.name.as_deref());
        s.device_compliant = dev.compliant;
        s.device_managed = dev.managed;
        put(&mut s.device_trust_type, dev.trust);
        put(
            &mut s.authentication_protocol,
            Some(match transfer_i {
                1 => "deviceCode",
                3 => "ropc",
                _ if ms % 37 == 0 => "wsFederation",
                _ => "none",
            }),
        );
        put(
            &mut s.original_transfer_method,
            match transfer_i {
                1 => Some("deviceCodeFlow"),
                2 => Some("authenticationTransfer"),
                3 | 4 => None,
                _ => Some("none"),
            },
        );
        if transfer_i == 4 {
            put(&mut s.authentication_protocol, None);
        }
        put(&mut s.sign_in_risk_level, Some(sir));
        put(
            &mut s.risk_level_aggregated,
            Some(if sir == "hidden" { "hidden" } else { sir }),
        );
        put(
            &mut s.risk_state,
            Some(if matches!(sir, "medium" | "high") {
                "atRisk"
            } else {
                "none"
            }),
        );
        put(
            &mut s.user_risk_level,
            if ur_null { None } else { Some(u.user_risk) },
        );
        put(
            &mut s.user_agent,
            os.map(|o| user_agent(o, client.unwrap_or(""))),
        );

        // The log's view of authentication, before the outcome is known.
        let methods = METHODS.get(methods_i).copied();
        put_list(&mut s.authentication_methods, methods);
        s.mfa_satisfied = [None, Some(false), Some(true)][mfa_i];
        put(
            &mut s.authentication_requirement,
            Some(if mfa_i == 2 {
                "multiFactorAuthentication"
            } else {
                "singleFactorAuthentication"
            }),
        );

        if let Some((code, reason)) = outcome {
            // Primary authentication failed: Conditional Access never ran.
            s.error_code = Some(code);
            put(&mut s.failure_reason, Some(reason));
            put(&mut s.conditional_access_status, Some("notApplied"));
            s.mfa_satisfied = None;
            put_list(
                &mut s.authentication_methods,
                interactive.then_some(&[][..]),
            );
            put(
                &mut s.authentication_requirement,
                Some("singleFactorAuthentication"),
            );
            w.push_with_applied(&s, Some(empty_applied)).unwrap();
            continue;
        }
        s.error_code = Some(other.map_or(0, |o| o.0));
        let dev_class = (dev.os as u32)
            | (u32::from(dev.compliant == Some(true)) << 5)
            | (u32::from(dev.managed == Some(true)) << 6)
            | (u32::from(dev.id.is_some()) << 7)
            | (match dev.trust {
                Some("Hybrid Azure AD joined") => 1,
                Some("Azure AD joined") => 2,
                Some(_) => 3,
                None => 0,
            } << 8);
        let key: [u32; 20] = [
            u.profile,
            u32::from(interactive),
            app.class,
            res.2,
            client_i as u32,
            dev_class,
            os_i as u32,
            ip.pool as u32,
            0,
            country_i as u32,
            names_i,
            u32::from(trusted == Some(true)),
            sir_i as u32,
            if ur_null {
                9
            } else {
                ["none", "low", "medium", "high"]
                    .iter()
                    .position(|x| *x == u.user_risk)
                    .unwrap_or(0) as u32
            },
            mfa_i as u32,
            methods_i as u32,
            transfer_i as u32,
            other.map_or(0, |o| o.0 as u32),
            u32::from(ip.addr.contains(':')),
            0,
        ];
        let l = logged
            .entry(key)
            .or_insert_with(|| settle(in_force, &eval::evaluate(in_force, &s, ctx), &mut texts));
        match l.status {
            0 => {
                put(&mut s.conditional_access_status, Some("notApplied"));
                put(&mut s.failure_reason, Some(other.map_or("Other.", |o| o.1)));
            }
            1 => {
                put(&mut s.conditional_access_status, Some("success"));
                put(&mut s.failure_reason, Some(other.map_or("Other.", |o| o.1)));
            }
            2 => {
                // Prompted and not completed: the MFA requirement was not met.
                s.error_code = Some(if interactive { 50074 } else { 50076 });
                s.mfa_satisfied = Some(false);
                put(&mut s.conditional_access_status, Some("failure"));
                put(
                    &mut s.failure_reason,
                    Some("Strong Authentication is required."),
                );
            }
            _ => {
                s.error_code = Some(l.block_code);
                if s.mfa_satisfied != Some(true) {
                    s.mfa_satisfied = None;
                }
                put(&mut s.conditional_access_status, Some("failure"));
                put(
                    &mut s.failure_reason,
                    Some("Access has been blocked by Conditional Access policies."),
                );
            }
        }
        w.push_with_applied(&s, Some(&texts.all[l.applied]))
            .unwrap();
        if i > 0 && i % 1_000_000 == 0 {
            eprint!(
                "\r  generating: {}M of {:.0}M sign-ins ({:.0} s)",
                i / 1_000_000,
                n as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let (rows, dups) = w.finish().unwrap();
    assert_eq!(dups, 0);
    eprintln!();
    GenStats {
        rows,
        profiles: t.profiles,
        logged_keys: logged.len(),
        bytes: fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    }
}

// ---------------------------------------------------------------------------------------------
// Running and reporting
// ---------------------------------------------------------------------------------------------

/// A table: rows of (figure, value, note).
struct Report {
    title: String,
    rows: Vec<[String; 3]>,
}

impl Report {
    fn new(title: impl Into<String>) -> Report {
        Report {
            title: title.into(),
            rows: Vec::new(),
        }
    }
    fn row(&mut self, a: impl Into<String>, b: impl Into<String>, c: impl Into<String>) {
        self.rows.push([a.into(), b.into(), c.into()]);
    }
    fn print(&self) {
        let w: Vec<usize> = (0..2)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        println!("\n{}", self.title);
        println!(
            "{}",
            "-".repeat(self.title.chars().count().max(w[0] + w[1] + 20))
        );
        for r in &self.rows {
            println!(
                "{:<w0$}   {:>w1$}   {}",
                r[0],
                r[1],
                r[2],
                w0 = w[0],
                w1 = w[1]
            );
        }
    }
}

fn mib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    }
}

fn per_s(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M/s", x / 1e6)
    } else {
        format!("{:.0} k/s", x / 1e3)
    }
}

struct Run {
    wall: Duration,
    max_rss: u64,
}

/// Runs a command under `/usr/bin/time` (peak RSS of the child); stdout and stderr go to files.
fn timed(cmd: &[&str], envs: &[(&str, &str)], log: &Path) -> Run {
    let time_out = log.with_extension("time");
    let use_time = Path::new("/usr/bin/time").exists();
    let mut c = if use_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_out).args(cmd);
        c
    } else {
        let mut c = Command::new(cmd[0]);
        c.args(&cmd[1..]);
        c
    };
    for (k, v) in envs {
        c.env(k, v);
    }
    c.stdin(Stdio::null())
        .stdout(fs::File::create(log.with_extension("stdout")).unwrap())
        .stderr(fs::File::create(log.with_extension("stderr")).unwrap());
    let start = Instant::now();
    let status = c.status().unwrap_or_else(|e| panic!("{}: {e}", cmd[0]));
    let wall = start.elapsed();
    if !status.success() {
        let err = fs::read_to_string(log.with_extension("stderr")).unwrap_or_default();
        panic!("{} failed ({status}):\n{err}", cmd.join(" "));
    }
    let max_rss = fs::read_to_string(&time_out)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024);
    Run { wall, max_rss }
}

fn dir_size(p: &Path) -> u64 {
    let Ok(m) = fs::metadata(p) else { return 0 };
    if m.is_file() {
        return m.len();
    }
    fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}

/// Removes what this benchmark writes in `dir` (and nothing else: the folder may be shared).
fn clean(dir: &Path) {
    for d in ["policies", "named-locations", "out"] {
        let _ = fs::remove_dir_all(dir.join(d));
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if ["signins.parquet", "directory.json", "manifest.json"].contains(&name.as_str())
            || name.starts_with("vigil-run")
            || name.starts_with("duckdb.")
        {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn main() {
    let n = env_u64("VIGIL_BENCH_SIGNINS", 10_000_000);
    let n_users = env_u64("VIGIL_BENCH_USERS", 40_000) as usize;
    let seed = env_u64("VIGIL_BENCH_SEED", 0x5157_2026);
    let runs = env_u64("VIGIL_BENCH_RUNS", 3).max(1);

    let dir = PathBuf::from(
        std::env::var("VIGIL_BENCH_DIR").unwrap_or_else(|_| "/tmp/vigil-bench".into()),
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cabaseline = std::env::var("VIGIL_BENCH_CABASELINE").map_or_else(
        |_| repo.join("../shared/data/external/j0eyv-cabaseline"),
        PathBuf::from,
    );
    let vigil = std::env::var("VIGIL_BENCH_VIGIL")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_vigil").to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // vigil and DuckDB get the same number of threads.
    let threads = env_u64("VIGIL_BENCH_THREADS", cores as u64);
    let threads_s = threads.to_string();
    println!(
        "vigil simulate benchmark: {cores} cores, {threads} threads for vigil and DuckDB, VIGIL_BENCH_SIGNINS={n}, VIGIL_BENCH_USERS={n_users}, seed {seed:#x}, data in {}",
        dir.display()
    );

    // ---- 1. data ----------------------------------------------------------------------------
    let parquet = dir.join("signins.parquet");
    let policies_dir = dir.join("policies");
    let locations_dir = dir.join("named-locations");
    let directory = dir.join("directory.json");
    let manifest_path = dir.join("manifest.json");
    let manifest = json!({"version": GEN_VERSION, "signIns": n, "users": n_users, "seed": seed});
    let reuse = fs::read(&manifest_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|m| m == manifest)
        && parquet.is_file();
    let mut t = Report::new("1. Data (normalized Parquet, as `vigil ingest` writes it)");
    if reuse {
        t.row(
            "generated data",
            "reused",
            format!("{} (manifest matches)", manifest_path.display()),
        );
    } else {
        if !cabaseline.join("ConditionalAccess").is_dir() {
            panic!(
                "{}: the real policies are needed (set VIGIL_BENCH_CABASELINE to the j0eyv-cabaseline folder)",
                cabaseline.display()
            );
        }
        clean(&dir);
        fs::create_dir_all(&dir).unwrap();
        let start = Instant::now();
        write_policies(&policies_dir, &cabaseline);
        write_locations(&locations_dir, &cabaseline);
        let in_force =
            vigil_simulator::policy::load_policies(&cabaseline.join("ConditionalAccess"))
                .unwrap()
                .policies;
        let mut r = Rng(seed);
        let tenant = build_tenant(&mut r, n_users, &in_force);
        write_directory(&directory, &tenant);
        let locations = vigil_simulator::location::load_named_locations(&locations_dir)
            .unwrap()
            .locations;
        let dir_snapshot = vigil_simulator::directory::load_directory(&directory).unwrap();
        let ctx = Context::new(&in_force, &locations, Some(&dir_snapshot)).unwrap();
        let g = generate_signins(&parquet, &tenant, &mut r, n, &in_force, &ctx);
        t.row(
            "generated in",
            format!("{:.1} s", start.elapsed().as_secs_f64()),
            "",
        );
        t.row("sign-ins written", g.rows.to_string(), "");
        t.row(
            "directory",
            format!("{} users", tenant.users.len()),
            format!(
                "{} user profiles (named groups, roles, type), {} groups, {} roles",
                g.profiles,
                tenant.groups.len(),
                tenant.roles.len()
            ),
        );
        t.row(
            "applications / addresses / devices",
            format!(
                "{} / {} / {}",
                tenant.apps.len(),
                tenant.ips.len(),
                tenant.devices.len()
            ),
            format!(
                "{} service principals, {} managed identities",
                tenant.sps.len(),
                tenant.mis.len()
            ),
        );
        t.row(
            "logged outcomes evaluated",
            g.logged_keys.to_string(),
            "distinct generated profiles, 36 policies in force",
        );
        t.row("signins.parquet", mib(g.bytes), "");
        fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
    }
    let n_policies = json_files(&policies_dir).len();
    t.row(
        "candidate policies",
        n_policies.to_string(),
        "36 real (j0eyv/ConditionalAccessBaseline) + 14 generated variants",
    );
    t.row(
        "named locations",
        json_files(&locations_dir).len().to_string(),
        "",
    );
    t.row("signins.parquet size", mib(dir_size(&parquet)), "");
    t.print();

    // ---- 2. vigil -----------------------------------------------------------------------------
    let out = dir.join("out");
    let mut t = Report::new(format!(
        "2. vigil simulate --baseline logged --decisions changed ({n} sign-ins x {n_policies} policies)"
    ));
    let mut best: Option<Run> = None;
    let mut max_rss = 0;
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    let keep_output = std::env::var("VIGIL_BENCH_KEEP_OUTPUT").is_ok_and(|v| v == "1");
    for k in 1..=runs {
        let _ = fs::remove_dir_all(&out);
        let run = timed(
            &[
                vigil.as_str(),
                "--quiet",
                "simulate",
                "--signins",
                parquet.to_str().unwrap(),
                "--policies",
                policies_dir.to_str().unwrap(),
                "--named-locations",
                locations_dir.to_str().unwrap(),
                "--directory",
                directory.to_str().unwrap(),
                "--baseline",
                "logged",
                "--decisions",
                "changed",
                "--out",
                out.to_str().unwrap(),
            ],
            &[
                ("RAYON_NUM_THREADS", threads_s.as_str()),
                ("POLARS_MAX_THREADS", threads_s.as_str()),
            ],
            &dir.join(format!("vigil-run{k}")),
        );
        t.row(
            format!("run {k}: wall time, peak RSS"),
            format!("{:.2} s", run.wall.as_secs_f64()),
            format!(
                "{}, {}",
                mib(run.max_rss),
                per_s(n as f64 / run.wall.as_secs_f64())
            ),
        );
        // The decisions files are large (kilobytes of reasons per changed row): measured, then
        // removed unless VIGIL_BENCH_KEEP_OUTPUT=1.
        for f in ["decisions.parquet", "decisions.ndjson"] {
            sizes.insert(f, dir_size(&out.join(f)));
            if !keep_output {
                let _ = fs::remove_file(out.join(f));
            }
        }
        max_rss = max_rss.max(run.max_rss);
        if best.as_ref().is_none_or(|b| run.wall < b.wall) {
            best = Some(run);
        }
    }
    let best = best.unwrap();
    let summary: Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let secs = best.wall.as_secs_f64();
    t.row(
        "best wall time",
        format!("{secs:.2} s"),
        format!(
            "target < {TARGET_SECONDS:.0} s: {}",
            if secs < TARGET_SECONDS {
                "met"
            } else {
                "MISSED"
            }
        ),
    );
    t.row(
        "peak RSS (largest of the runs)",
        mib(max_rss),
        format!(
            "target < 4 GiB: {}",
            if max_rss == 0 {
                "not measured (no /usr/bin/time)"
            } else if max_rss < TARGET_BYTES {
                "met"
            } else {
                "MISSED"
            }
        ),
    );
    t.row(
        "sign-ins/s (best run)",
        per_s(summary["signIns"].as_f64().unwrap_or(0.0) / secs),
        format!(
            "{} policy evaluations/s",
            per_s(summary["signIns"].as_f64().unwrap_or(0.0) * n_policies as f64 / secs)
        ),
    );
    t.row(
        "sign-ins in summary.json",
        summary["signIns"].to_string(),
        "",
    );
    t.row(
        "distinct evaluation keys",
        summary["distinctKeys"].to_string(),
        "",
    );
    t.row(
        "changed (rows in decisions.*)",
        summary["changed"].to_string(),
        format!(
            "{:.2}% of sign-ins",
            100.0 * summary["changed"].as_f64().unwrap_or(0.0)
                / summary["signIns"].as_f64().unwrap_or(1.0)
        ),
    );
    for (f, size) in &sizes {
        t.row(
            *f,
            mib(*size),
            if keep_output {
                "kept"
            } else {
                "written, then removed"
            },
        );
    }
    let mut transitions: Vec<(String, u64)> = summary["transitions"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    transitions.sort_by_key(|b| std::cmp::Reverse(b.1));
    for (k, v) in transitions.iter().take(8) {
        t.row(format!("  {k}"), v.to_string(), "");
    }
    t.print();

    // ---- 3. DuckDB ------------------------------------------------------------------------------
    let python = std::env::var("VIGIL_BENCH_PYTHON").ok();
    let mut t = Report::new(format!(
        "3. DuckDB: the same policies' conditions as SQL over the same file ({threads} threads)"
    ));
    match python {
        None => {
            t.row(
                "DuckDB",
                "skipped",
                "set VIGIL_BENCH_PYTHON to a Python with duckdb (benches/simulate.sh does)",
            );
            t.print();
        }
        Some(py) => {
            let result = dir.join("duckdb.json");
            let script = repo.join("benches/duckdb_compare.py");
            let runs_s = runs.to_string();
            let run = timed(
                &[
                    py.as_str(),
                    script.to_str().unwrap(),
                    "--signins",
                    parquet.to_str().unwrap(),
                    "--policies",
                    policies_dir.to_str().unwrap(),
                    "--named-locations",
                    locations_dir.to_str().unwrap(),
                    "--directory",
                    directory.to_str().unwrap(),
                    "--threads",
                    &threads_s,
                    "--runs",
                    &runs_s,
                    "--sql-out",
                    dir.join("duckdb.sql").to_str().unwrap(),
                    "--json",
                    result.to_str().unwrap(),
                ],
                &[],
                &dir.join("duckdb"),
            );
            let d: Value = serde_json::from_slice(&fs::read(&result).unwrap()).unwrap();
            let times: Vec<f64> = d["seconds"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            for (k, s) in times.iter().enumerate() {
                t.row(
                    format!("run {}: query time", k + 1),
                    format!("{s:.2} s"),
                    per_s(n as f64 / s),
                );
            }
            let duck = times.iter().copied().fold(f64::INFINITY, f64::min);
            t.row(
                "DuckDB version",
                d["version"].as_str().unwrap_or("?"),
                format!(
                    "whole script incl. Python start: {:.1} s, peak RSS {}",
                    run.wall.as_secs_f64(),
                    mib(run.max_rss)
                ),
            );
            t.row(
                "best query time",
                format!("{duck:.2} s"),
                format!("{} rows counted", d["rows"]),
            );
            t.row(
                "SQL",
                format!("{} bytes", d["sqlBytes"]),
                format!("{}", dir.join("duckdb.sql").display()),
            );
            t.row(
                "vigil best / DuckDB best",
                format!("{:.2}x", secs / duck),
                if secs < duck {
                    format!(
                        "vigil {:.2}x faster, doing the full semantics and writing its outputs",
                        duck / secs
                    )
                } else {
                    "vigil SLOWER than DuckDB".to_string()
                },
            );
            t.print();

            // Cross-check: DuckDB counts the sign-ins whose conditions certainly hold. vigil's
            // definite "applies" results are a lower bound of that count and adding its
            // undecided results gives an upper bound.
            let mut t =
                Report::new("4. Cross-check: DuckDB's counts against vigil's per-policy results");
            let counts = d["counts"].as_object().cloned().unwrap_or_default();
            let mut inside = 0;
            let mut exact = 0;
            let mut outside = Vec::new();
            let mut duck_total = 0u64;
            let mut vigil_total = 0u64;
            for (id, c) in &counts {
                let c = c.as_u64().unwrap_or(0);
                let words = &summary["candidate"]["policies"][id];
                let get = |w: &str| words[w].as_u64().unwrap_or(0);
                let lo = [
                    "success",
                    "failure",
                    "reportOnlySuccess",
                    "reportOnlyFailure",
                    "reportOnlyInterrupted",
                ]
                .iter()
                .map(|w| get(w))
                .sum::<u64>();
                let hi = lo + get("indeterminate");
                duck_total += c;
                vigil_total += lo;
                if c == lo {
                    exact += 1;
                }
                if (lo..=hi).contains(&c) {
                    inside += 1;
                } else {
                    outside.push(format!("{id}: DuckDB {c}, vigil [{lo}, {hi}]"));
                }
            }
            t.row("policies compared", counts.len().to_string(), "");
            t.row(
                "DuckDB count within vigil's bounds",
                inside.to_string(),
                format!("{exact} equal to vigil's definite count"),
            );
            t.row(
                "sum of DuckDB counts",
                duck_total.to_string(),
                format!("vigil's definite applies: {vigil_total}"),
            );
            for o in outside.iter().take(10) {
                t.row("  outside", "", o.clone());
            }
            t.print();
        }
    }
    println!();
    if std::env::var("VIGIL_BENCH_CLEAN").is_ok_and(|v| v == "1") {
        clean(&dir);
        let _ = fs::remove_dir(&dir);
        println!("removed the generated data from {}", dir.display());
    } else {
        println!(
            "generated data kept in {} ({}); VIGIL_BENCH_CLEAN=1 removes it",
            dir.display(),
            mib(dir_size(&dir))
        );
    }
}
