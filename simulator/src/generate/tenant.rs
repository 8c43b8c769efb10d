//! The generated tenant: users with home countries, devices and habits, addresses, applications
//! and workload identities.

use std::collections::{BTreeSet, HashMap};

use super::catalog::{
    BREAK_GLASS, COUNTRIES, GLOBAL_ADMIN, INTERNALS, OS_ANDROID, OS_IOS, OS_LINUX, OS_MAC,
    OS_WINDOWS, SERVICE_ACCOUNTS, SYNC_ROLE, WELL_KNOWN, app_class, resource_name,
};
use super::rng::{Rng, Weights};
use crate::model::Policy;

/// Where an address is: what kind of network a sign-in comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// The headquarters' trusted range.
    Hq,
    /// Branch offices (a named, untrusted location).
    Branch,
    /// The corporate VPN's egress (trusted).
    Vpn,
    /// Home and mobile ISP addresses, per country.
    Home,
    /// Cloud datacenters (workload identities).
    Datacenter,
    /// Ranges the tenant blocks by policy.
    Blocked,
    /// Anonymizing networks (Tor exits, anonymous VPNs) attackers use.
    Anonymous,
}

/// One address a sign-in can come from.
#[derive(Debug)]
pub struct Ip {
    /// The address as logged.
    pub addr: String,
    /// Index into [`COUNTRIES`].
    pub country: usize,
    /// What kind of network it is.
    pub pool: Pool,
}

/// One device a user signs in from.
#[derive(Debug)]
pub struct Device {
    /// Entra device id (registered devices only).
    pub id: Option<String>,
    /// Display name (registered devices only).
    pub name: Option<String>,
    /// Index into [`super::catalog::OS`].
    pub os: usize,
    /// isCompliant.
    pub compliant: Option<bool>,
    /// isManaged.
    pub managed: Option<bool>,
    /// trustType.
    pub trust: Option<&'static str>,
    /// A phone or tablet.
    pub mobile: bool,
}

/// One person (or service account) of the tenant and their habits.
#[derive(Debug)]
pub struct User {
    /// Object id.
    pub id: String,
    /// userPrincipalName.
    pub upn: String,
    /// A B2B guest.
    pub guest: bool,
    /// The partner tenant a guest comes from (index into `Tenant::partners`).
    pub home_tenant: Option<usize>,
    /// Users with the same profile (type, named groups, roles) evaluate alike.
    pub profile: u32,
    /// Works from the offices part of the time.
    pub office: bool,
    /// Indexes into `Tenant::devices`; the first is the usual one.
    pub devices: Vec<usize>,
    /// Indexes into `Tenant::ips`: the user's home and mobile addresses.
    pub home_ips: Vec<usize>,
    /// The user's risk level.
    pub user_risk: &'static str,
    /// Transitive group ids.
    pub groups: Vec<String>,
    /// Directory role template ids.
    pub roles: Vec<String>,
}

/// A client application.
#[derive(Debug)]
pub struct App {
    /// appId.
    pub id: String,
    /// appDisplayName.
    pub name: String,
    /// Resources this client calls: (id, name, class).
    pub resources: Vec<(String, String, u32)>,
    /// Which well-known application it is (`WELL_KNOWN.len()`: a line-of-business app).
    pub class: u32,
}

/// A service principal or managed identity.
#[derive(Debug)]
pub struct Principal {
    /// servicePrincipalId.
    pub id: String,
    /// servicePrincipalName.
    pub name: String,
    /// Index into `Tenant::apps`.
    pub app: usize,
}

/// The whole generated tenant.
#[derive(Debug)]
pub struct Tenant {
    /// Users, break-glass accounts first.
    pub users: Vec<User>,
    /// How often each user signs in (a few far more than most).
    pub user_table: Weights,
    /// Distinct user profiles.
    pub profiles: usize,
    /// Partner tenants guests come from.
    pub partners: Vec<String>,
    /// Every device.
    pub devices: Vec<Device>,
    /// Client applications.
    pub apps: Vec<App>,
    /// How often each application is used from a computer.
    pub app_table: Weights,
    /// How often each application is used from a phone.
    pub mobile_app_table: Weights,
    /// Every address.
    pub ips: Vec<Ip>,
    /// Home addresses per country.
    pub by_country: Vec<Vec<usize>>,
    /// Addresses per network kind (`hq`, `branch`, `vpn`, `home`, `dc`, `blocked`, `anon`).
    pub pool: HashMap<&'static str, Vec<usize>>,
    /// Service principals.
    pub sps: Vec<Principal>,
    /// Managed identities.
    pub mis: Vec<Principal>,
    /// Every group some user is in.
    pub groups: BTreeSet<String>,
    /// Every role some user holds.
    pub roles: BTreeSet<String>,
}

impl Tenant {
    /// The addresses of one network kind (empty when the tenant has none).
    pub fn pool(&self, name: &str) -> &[usize] {
        self.pool.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Builds a tenant of `n_users` users. `in_force` are the policies the tenant enforces: the
/// groups and roles they name are given to some users, so their exclusions matter.
pub fn build_tenant(r: &mut Rng, n_users: usize, in_force: &[Policy]) -> Tenant {
    // Groups and roles the real policies name; a few more the directory has anyway.
    let mut named_groups = BTreeSet::new();
    let mut named_roles = BTreeSet::new();
    for p in in_force {
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
            Pool::Anonymous => "anon",
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

    // Anonymizing networks: Tor exits and anonymous VPN providers, in several countries.
    for i in 0..48 {
        let (base, country) = match i % 4 {
            0 => ("185.220.101", 3),
            1 => ("171.25.193", 0),
            2 => ("104.244.72", 6),
            _ => ("193.189.100", 4),
        };
        add(
            &mut ips,
            format!("{base}.{}", 1 + i / 4 * 7 + i % 4),
            country,
            Pool::Anonymous,
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
        weights.push(4.0 / (f64::from(k) + 2.0).powf(1.1));
    }
    let app_table = Weights::new(weights.iter().copied());
    // Phones mostly run Outlook, Teams and the authentication broker.
    let mobile_app_table = Weights::new(apps.iter().zip(&weights).map(
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
        if kind == 4 && !admin_roles.is_empty() && r.chance(0.012) {
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
        user_table: Weights::new(weight.into_iter()),
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
