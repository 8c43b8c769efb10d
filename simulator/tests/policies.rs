//! Policy, named-location and directory loading: the real exports in shared/data/external
//! (skipped with a notice when that folder is absent, as in a user's clone) and hand-made
//! positive and negative cases.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use vigil_simulator::directory::{directory_from_json, load_directory};
use vigil_simulator::error::InputError;
use vigil_simulator::location::{load_named_locations, locations_from_json};
use vigil_simulator::model::{
    ClientAppType, FilterMode, NamedLocationKind, Platform, Policy, PolicyState, RiskLevel,
    SignInFrequency, Tri,
};
use vigil_simulator::policy::{PolicySet, load_policies, policies_from_json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// `shared/data/external`, or `None` (with a notice) when it is not there.
fn external(sub: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/external")
        .join(sub);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "notice: {} is absent; skipping this test on external sample data",
            p.display()
        );
        None
    }
}

fn by_name<'a>(set: &'a PolicySet, prefix: &str) -> &'a Policy {
    set.policies
        .iter()
        .find(|p| p.display_name.starts_with(prefix))
        .unwrap_or_else(|| panic!("no policy named {prefix}*"))
}

fn write_utf16le_bom(path: &Path, text: &str) -> std::io::Result<()> {
    let mut b = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    fs::write(path, b)
}

// ---------------------------------------------------------------------------------------------
// Real exports

#[test]
fn cabaseline_all_36_policies_load() -> TestResult {
    let Some(dir) = external("j0eyv-cabaseline/ConditionalAccess") else {
        return Ok(());
    };
    let set = load_policies(&dir)?;
    assert_eq!(set.policies.len(), 36);
    // Folder order = file-name order; source = file name.
    let sources: Vec<&str> = set.policies.iter().map(|p| p.source.as_str()).collect();
    let mut sorted = sources.clone();
    sorted.sort();
    assert_eq!(sources, sorted);
    assert!(sources[0].starts_with("CA000-"));
    assert!(sources[35].starts_with("CA505-"));
    for p in &set.policies {
        assert!(
            p.source.starts_with(&p.display_name[..5]),
            "{} / {}",
            p.source,
            p.display_name
        );
    }
    let enabled = set
        .policies
        .iter()
        .filter(|p| p.state == PolicyState::Enabled)
        .count();
    let report_only = set
        .policies
        .iter()
        .filter(|p| p.state == PolicyState::EnabledForReportingButNotEnforced)
        .count();
    assert_eq!((enabled, report_only), (31, 5));
    // Only the agent policies (CA5xx) use conditions vigil does not understand.
    for p in &set.policies {
        let agent = p.display_name.starts_with("CA5");
        assert_eq!(
            !p.unsupported.is_empty(),
            agent,
            "{}: {:?}",
            p.display_name,
            p.unsupported
        );
    }
    Ok(())
}

#[test]
fn cabaseline_policy_contents() -> TestResult {
    let Some(dir) = external("j0eyv-cabaseline/ConditionalAccess") else {
        return Ok(());
    };
    let set = load_policies(&dir)?;

    // CA000: all users minus 7 groups and 1 role, MFA.
    let p = by_name(&set, "CA000");
    assert_eq!(p.id, "809741fe-fb1b-4746-9ff0-83a978a4c891");
    assert_eq!(p.state, PolicyState::Enabled);
    let u = p.users.as_ref().ok_or("users")?;
    assert_eq!(u.users.include, ["All"]);
    assert_eq!(u.groups.exclude.len(), 7);
    assert_eq!(u.roles.exclude, ["d29b2b05-8046-44ba-8758-1e26182fcf32"]);
    assert!(u.include_guests.is_none());
    assert_eq!(p.client_app_types, [ClientAppType::All]);
    let g = p.grant.as_ref().ok_or("grant")?;
    assert!(g.any);
    assert_eq!(g.built_in, ["mfa"]);
    assert!(g.authentication_strength.is_none());
    assert!(p.session.is_none());
    assert!(p.platforms.is_none() && p.locations.is_none() && p.device_filter.is_none());
    assert!(p.client_applications.is_none());

    // CA001: country allow-list block.
    let p = by_name(&set, "CA001");
    let l = p.locations.as_ref().ok_or("locations")?;
    assert_eq!(l.include, ["All"]);
    assert_eq!(l.exclude, ["185c993e-10a9-44fa-98d1-230c8f72f497"]);
    assert_eq!(p.grant.as_ref().ok_or("grant")?.built_in, ["block"]);

    // CA002: legacy authentication.
    let p = by_name(&set, "CA002");
    assert_eq!(
        p.client_app_types,
        [ClientAppType::ExchangeActiveSync, ClientAppType::Other]
    );

    // CA003: user action.
    let p = by_name(&set, "CA003");
    let a = p.applications.as_ref().ok_or("applications")?;
    assert_eq!(a.user_actions, ["urn:user:registerdevice"]);
    assert!(a.apps.include.is_empty());

    // CA004: authentication flows (a flags string).
    let p = by_name(&set, "CA004");
    assert_eq!(
        p.transfer_methods,
        ["deviceCodeFlow", "authenticationTransfer"]
    );

    // CA005 (UTF-8 with BOM): device filter in exclude mode, platforms, session control.
    let p = by_name(&set, "CA005");
    assert_eq!(
        p.device_filter,
        Some((
            FilterMode::Exclude,
            "device.isCompliant -eq True -and device.deviceOwnership -eq \"Company\"".to_string()
        ))
    );
    assert_eq!(
        p.platforms,
        Some((vec![Platform::Android, Platform::Ios], vec![]))
    );
    assert_eq!(
        p.client_app_types,
        [
            ClientAppType::Browser,
            ClientAppType::MobileAppsAndDesktopClients
        ]
    );
    assert_eq!(
        p.applications.as_ref().ok_or("apps")?.apps.include,
        ["Office365"]
    );
    assert_eq!(
        p.grant.as_ref().ok_or("grant")?.built_in,
        ["compliantApplication"]
    );
    let s = p.session.as_ref().ok_or("session")?;
    assert_eq!(s.names, ["applicationEnforcedRestrictions"]);
    assert!(s.sign_in_frequency.is_none());

    // CA006 (UTF-8 with BOM): session only, no grant.
    let p = by_name(&set, "CA006");
    assert!(p.grant.is_none());
    assert_eq!(
        p.session.as_ref().ok_or("session")?.names,
        ["applicationEnforcedRestrictions"]
    );

    // CA100: roles and a built-in authentication strength with builtInControls [].
    let p = by_name(&set, "CA100");
    assert_eq!(p.users.as_ref().ok_or("users")?.roles.include.len(), 24);
    let g = p.grant.as_ref().ok_or("grant")?;
    assert!(g.built_in.is_empty());
    assert_eq!(
        g.authentication_strength.as_ref().ok_or("strength")?.id,
        "00000000-0000-0000-0000-000000000002"
    );

    // CA102 / CA203: sign-in frequency, time-based and every time.
    let p = by_name(&set, "CA102");
    let s = p.session.as_ref().ok_or("session")?;
    assert_eq!(s.names, ["signInFrequency"]);
    assert_eq!(s.sign_in_frequency, Some(SignInFrequency::Hours(12)));
    let p = by_name(&set, "CA203");
    assert_eq!(
        p.session.as_ref().ok_or("session")?.sign_in_frequency,
        Some(SignInFrequency::EveryTime)
    );
    assert_eq!(p.grant.as_ref().ok_or("grant")?.built_in, ["mfa"]);

    // CA103 persistent browser, CA104 CAE.
    assert_eq!(
        by_name(&set, "CA103")
            .session
            .as_ref()
            .ok_or("session")?
            .names,
        ["persistentBrowser"]
    );
    let p = by_name(&set, "CA104");
    assert_eq!(
        p.session.as_ref().ok_or("session")?.names,
        ["continuousAccessEvaluation"]
    );
    assert_eq!(
        p.applications.as_ref().ok_or("apps")?.apps.include,
        ["None"]
    );

    // CA105: report-only, phishing-resistant strength.
    let p = by_name(&set, "CA105");
    assert_eq!(p.state, PolicyState::EnabledForReportingButNotEnforced);
    let st = p
        .grant
        .as_ref()
        .and_then(|g| g.authentication_strength.as_ref())
        .ok_or("strength")?;
    assert_eq!(st.id, "00000000-0000-0000-0000-000000000004");
    assert_eq!(st.display_name.as_deref(), Some("Phishing-resistant MFA"));
    assert_eq!(
        st.allowed_combinations,
        [
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor"
        ]
    );
    assert_eq!(
        p.applications.as_ref().ok_or("apps")?.apps.exclude,
        ["14d82eec-204b-4c2f-b7e8-296a70dab67e"]
    );

    // CA201 / CA210: risk levels.
    assert_eq!(by_name(&set, "CA201").user_risk_levels, [RiskLevel::High]);
    assert_eq!(
        by_name(&set, "CA210").sign_in_risk_levels,
        [RiskLevel::High]
    );

    // CA202: include platforms with a device filter.
    let p = by_name(&set, "CA202");
    assert_eq!(
        p.platforms,
        Some((vec![Platform::Windows, Platform::MacOs], vec![]))
    );
    assert_eq!(
        p.device_filter.as_ref().map(|f| f.0),
        Some(FilterMode::Exclude)
    );

    // CA204: all platforms but four.
    assert_eq!(
        by_name(&set, "CA204").platforms,
        Some((
            vec![Platform::All],
            vec![
                Platform::Android,
                Platform::Ios,
                Platform::Windows,
                Platform::MacOs
            ]
        ))
    );

    // CA205: compliant OR hybrid joined.
    let g = by_name(&set, "CA205").grant.clone().ok_or("grant")?;
    assert!(g.any);
    assert_eq!(g.built_in, ["compliantDevice", "domainJoinedDevice"]);

    // CA400: guests of every type, all external tenants.
    let u = by_name(&set, "CA400").users.clone().ok_or("users")?;
    let guests = u.include_guests.ok_or("guests")?;
    assert_eq!(guests.types.len(), 6);
    assert!(guests.types.contains("b2bDirectConnectUser"));
    assert!(guests.types.contains("serviceProvider"));
    assert_eq!(guests.tenants, None);
    assert!(u.users.include.is_empty());
    // CA401: five types (no serviceProvider), two excluded apps.
    let p = by_name(&set, "CA401");
    let guests = p
        .users
        .as_ref()
        .and_then(|u| u.include_guests.clone())
        .ok_or("guests")?;
    assert_eq!(guests.types.len(), 5);
    assert!(!guests.types.contains("serviceProvider"));
    assert_eq!(
        p.applications.as_ref().ok_or("apps")?.apps.exclude,
        ["2793995e-0a7d-40d7-bd35-6968ba142197", "Office365"]
    );
    Ok(())
}

#[test]
fn cabaseline_agent_conditions_are_unsupported() -> TestResult {
    let Some(dir) = external("j0eyv-cabaseline/ConditionalAccess") else {
        return Ok(());
    };
    let set = load_policies(&dir)?;
    let p = by_name(&set, "CA501");
    let mut u = p.unsupported.clone();
    u.sort();
    assert_eq!(
        u,
        [
            "conditions.agentIdRiskLevels",
            "conditions.clientApplications.includeAgentIdServicePrincipals"
        ]
    );
    // Only the agent key was set under clientApplications: not a workload-identity condition.
    assert!(p.client_applications.is_none());
    assert_eq!(p.users.as_ref().ok_or("users")?.users.include, ["None"]);
    assert!(set.warnings.iter().any(|w| w
        == "policy 24a6aa5d-c135-4605-8b40-761f103a981e \
            (CA501-Agents-IdentityProtection-AnyApp-AnyPlatform-BLOCK-HighRiskAgent): condition \
            conditions.agentIdRiskLevels is not understood by vigil; the policy is indeterminate \
            wherever it could change the outcome"));

    let p = by_name(&set, "CA503");
    let mut u = p.unsupported.clone();
    u.sort();
    assert_eq!(u, ["conditions.agentContext", "conditions.agents"]);
    let p = by_name(&set, "CA504");
    let mut u = p.unsupported.clone();
    u.sort();
    assert_eq!(u, ["conditions.agentIdRiskLevels", "conditions.agents"]);
    let p = by_name(&set, "CA505");
    assert_eq!(p.unsupported, ["conditions.agents"]);
    assert_eq!(
        p.applications.as_ref().ok_or("apps")?.apps.include,
        ["AllAgentIdResources"]
    );
    // One warning per unsupported entry, nothing else.
    let total: usize = set.policies.iter().map(|p| p.unsupported.len()).sum();
    assert_eq!(set.warnings.len(), total);
    Ok(())
}

#[test]
fn cabaseline_named_locations_load() -> TestResult {
    let Some(dir) = external("j0eyv-cabaseline/NamedLocations") else {
        return Ok(());
    };
    let set = load_named_locations(&dir)?;
    assert_eq!(set.locations.len(), 3);
    // Bytewise file order: "ALLOWED COUNTRIES - SERVICE ACCOUNTS.json" < "ALLOWED COUNTRIES.json".
    let l = &set.locations[0];
    assert_eq!(l.id, "1cc7e30b-f894-43a2-9da6-30aa7c085dda");
    match &l.kind {
        NamedLocationKind::Country {
            countries,
            include_unknown,
            lookup,
        } => {
            assert_eq!(countries.iter().collect::<Vec<_>>(), ["NL"]);
            assert!(!include_unknown);
            assert_eq!(lookup, "clientIpAddress");
        }
        other => panic!("expected a country location, got {other:?}"),
    }
    let l = &set.locations[1];
    assert_eq!(l.display_name, "ALLOWED COUNTRIES");
    assert_eq!(l.matches_country(Some("be")), Tri::Yes);
    assert_eq!(l.matches_country(Some("LU")), Tri::Yes);
    assert_eq!(l.matches_country(Some("DE")), Tri::No);
    assert_eq!(l.matches_country(None), Tri::Unknown);
    assert_eq!(l.is_trusted(), Some(false));
    let l = &set.locations[2];
    assert_eq!(l.id, "3d46dbda-8382-466a-856d-eb00cbc6b910");
    assert_eq!(
        l.kind,
        NamedLocationKind::Unsupported {
            type_name: "compliantNetworkNamedLocation".into(),
            trusted: Some(true)
        }
    );
    assert_eq!(l.is_trusted(), Some(true));
    assert_eq!(l.matches_country(Some("NL")), Tri::Unknown);
    assert!(!l.matches_ip(&"10.0.0.1".parse()?));
    assert_eq!(set.warnings.len(), 1);
    assert!(set.warnings[0].contains("compliantNetworkNamedLocation cannot be evaluated"));
    Ok(())
}

#[test]
fn msgraph_named_locations_list_loads() -> TestResult {
    let Some(file) = external(
        "msgraph-docs/conditionalaccessroot-list-namedlocations.v1.0.example1.response.json",
    ) else {
        return Ok(());
    };
    let set = load_named_locations(&file)?;
    assert_eq!(set.locations.len(), 3);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let v4 = &set.locations[0];
    assert_eq!(v4.display_name, "IPv4 named location");
    match &v4.kind {
        NamedLocationKind::Ip { ranges, trusted } => {
            assert!(!trusted);
            let r: Vec<String> = ranges.iter().map(ToString::to_string).collect();
            assert_eq!(r, ["6.5.4.3/32", "127.126.125.0/24"]);
        }
        other => panic!("expected an IP location, got {other:?}"),
    }
    let ip = |s: &str| s.parse::<IpAddr>();
    assert!(v4.matches_ip(&ip("6.5.4.3")?));
    assert!(!v4.matches_ip(&ip("6.5.4.4")?));
    assert!(v4.matches_ip(&ip("127.126.125.200")?));
    assert!(v4.matches_ip(&ip("::ffff:127.126.125.1")?));
    assert!(!v4.matches_ip(&ip("127.126.126.1")?));
    assert_eq!(v4.is_trusted(), Some(false));
    assert_eq!(v4.matches_country(Some("US")), Tri::No);

    let c = &set.locations[1];
    assert_eq!(c.matches_country(Some("us")), Tri::Yes);
    assert_eq!(c.matches_country(Some("CA")), Tri::Yes);
    assert_eq!(c.matches_country(Some("MX")), Tri::No);
    assert_eq!(c.matches_country(None), Tri::Unknown);
    assert!(!c.matches_ip(&ip("6.5.4.3")?));

    let v6 = &set.locations[2];
    assert_eq!(v6.is_trusted(), Some(true));
    // 2001:4898:80e8:7:d92a:7695:fda1:9d62/48 covers 2001:4898:80e8::/48.
    assert!(v6.matches_ip(&ip("2001:4898:80e8:ffff::1")?));
    assert!(v6.matches_ip(&ip("2001:4898:80d8::1")?));
    assert!(!v6.matches_ip(&ip("2001:4898:80e9::1")?));
    assert!(!v6.matches_ip(&ip("6.5.4.3")?));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Shapes and encodings

const MINIMAL: &str = r#"{
  "id": "11111111-1111-1111-1111-111111111111",
  "displayName": "Require MFA",
  "state": "enabled",
  "conditions": {
    "users": {"includeUsers": ["All"]},
    "applications": {"includeApplications": ["All"]},
    "clientAppTypes": ["all"]
  },
  "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
}"#;

fn policy_with(id: &str, name: &str) -> String {
    MINIMAL
        .replace("11111111-1111-1111-1111-111111111111", id)
        .replace("Require MFA", name)
}

#[test]
fn accepts_array_graph_list_single_object_and_folder() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = policy_with("a", "A");
    let b = policy_with("b", "B");
    let c = policy_with("c", "C");

    let arr = dir.path().join("arr.json");
    fs::write(&arr, format!("[{a},{b}]"))?;
    let set = load_policies(&arr)?;
    assert_eq!(
        set.policies
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(set.policies.iter().all(|p| p.source == "arr.json"));

    let list = dir.path().join("list.json");
    fs::write(
        &list,
        format!(
            r#"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies",
                "@odata.nextLink":"https://graph.microsoft.com/v1.0/identity/conditionalAccess/policies?$skiptoken=x",
                "value":[{a},{b}]}}"#
        ),
    )?;
    let set = load_policies(&list)?;
    assert_eq!(set.policies.len(), 2);
    assert!(
        set.warnings.iter().any(|w| w.contains("@odata.nextLink")),
        "{:?}",
        set.warnings
    );

    // An array of Graph pages.
    let pages = dir.path().join("pages.json");
    fs::write(
        &pages,
        format!(r#"[{{"value":[{a}]}},{{"value":[{b},{c}]}}]"#),
    )?;
    assert_eq!(load_policies(&pages)?.policies.len(), 3);

    // A folder of one-policy files in mixed encodings, in file-name order, recursively.
    let folder = dir.path().join("folder");
    fs::create_dir_all(folder.join("sub"))?;
    write_utf16le_bom(&folder.join("b.json"), &b.replace('\n', "\r\n"))?;
    fs::write(
        folder.join("a.json"),
        [b"\xEF\xBB\xBF".as_slice(), a.as_bytes()].concat(),
    )?;
    fs::write(folder.join("sub/c.json"), &c)?;
    fs::write(folder.join("README.md"), "not a policy")?;
    let set = load_policies(&folder)?;
    let got: Vec<(&str, &str)> = set
        .policies
        .iter()
        .map(|p| (p.id.as_str(), p.source.as_str()))
        .collect();
    assert_eq!(got, [("a", "a.json"), ("b", "b.json"), ("c", "sub/c.json")]);

    // An empty folder is an error; an empty array is not.
    let empty = dir.path().join("empty");
    fs::create_dir(&empty)?;
    assert!(matches!(
        load_policies(&empty),
        Err(InputError::Format { .. })
    ));
    let none = dir.path().join("none.json");
    fs::write(&none, "[]")?;
    assert!(load_policies(&none)?.policies.is_empty());
    Ok(())
}

#[test]
fn annotations_and_nulls_are_ignored() -> TestResult {
    let v: serde_json::Value = serde_json::from_str(
        r##"{
      "@odata.context": "https://graph.microsoft.com/beta/$metadata#identity/conditionalAccess/policies/$entity",
      "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
      "id": "x", "templateId": null, "displayName": "X",
      "state@odata.type": "#microsoft.graph.conditionalAccessPolicyState",
      "state": "disabled",
      "partialEnablementStrategy": null,
      "conditions": {
        "@odata.type": "#microsoft.graph.conditionalAccessConditionSet",
        "users": {"includeUsers@odata.type": "#Collection(String)", "includeUsers": ["All"],
                  "excludeUsers": [], "includeGuestsOrExternalUsers": null},
        "applications": {"includeApplications": ["All"], "applicationFilter": null},
        "clientApplications": {"includeServicePrincipals": [], "includeAgentIdServicePrincipals": [],
                               "servicePrincipalFilter": null},
        "platforms": {"includePlatforms": [], "excludePlatforms": []},
        "locations": null, "times": null, "deviceStates": null, "agents": null,
        "agentIdRiskLevels": null, "agentContext": {"includeAgentContexts": []},
        "devices": {"includeDevices": [], "excludeDevices": [], "deviceFilter": null},
        "authenticationFlows": {"transferMethods": ""},
        "clientAppTypes": [], "signInRiskLevels": [], "insiderRiskLevels": null
      },
      "grantControls": {"operator": "OR", "builtInControls": ["block"],
        "authenticationStrength@odata.context": "x", "authenticationStrength": null},
      "sessionControls": {"signInFrequency": {"value": null, "type": null, "isEnabled": false},
        "persistentBrowser": null, "disableResilienceDefaults": false,
        "cloudAppSecurity": {"cloudAppSecurityType": "mcasConfigured", "isEnabled": false}},
      "#microsoft.graph.restore": {"title": "microsoft.graph.restore", "target": "x"}
    }"##,
    )?;
    let set = policies_from_json(&v, Path::new("x.json"))?;
    let p = &set.policies[0];
    assert_eq!(p.state, PolicyState::Disabled);
    assert!(p.unsupported.is_empty(), "{:?}", p.unsupported);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    assert!(p.client_applications.is_none());
    assert!(p.platforms.is_none());
    assert!(p.device_filter.is_none());
    assert!(p.transfer_methods.is_empty());
    assert!(p.session.is_none());
    assert_eq!(p.source, "x.json");
    Ok(())
}

#[test]
fn v1_policy_with_every_condition_maps() -> TestResult {
    let v: serde_json::Value = serde_json::from_str(
        r##"{
      "id": "p1", "displayName": "Everything", "state": "enabledForReportingButNotEnforced",
      "conditions": {
        "users": {
          "includeUsers": ["GuestsOrExternalUsers", "u1"], "excludeUsers": ["u2"],
          "includeGroups": ["g1"], "excludeGroups": ["g2"],
          "includeRoles": ["r1"], "excludeRoles": ["r2"],
          "excludeGuestsOrExternalUsers": {
            "guestOrExternalUserTypes": "b2bCollaborationGuest,serviceProvider",
            "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
                                "membershipKind": "enumerated", "members": ["t1", "t2"]}
          }
        },
        "applications": {
          "includeApplications": ["Office365"], "excludeApplications": ["app1"],
          "includeUserActions": [], "includeAuthenticationContextClassReferences": ["c1"],
          "applicationFilter": {"mode": "include", "rule": "CustomSecurityAttribute.Eng_Tier -eq \"High\""}
        },
        "clientApplications": {
          "includeServicePrincipals": ["ServicePrincipalsInMyTenant"], "excludeServicePrincipals": ["sp1"],
          "servicePrincipalFilter": {"mode": "exclude", "rule": "CustomSecurityAttribute.x -eq \"y\""}
        },
        "clientAppTypes": ["browser", "easSupported", "Other"],
        "platforms": {"includePlatforms": ["linux", "windowsPhone"], "excludePlatforms": ["IOS"]},
        "locations": {"includeLocations": ["AllTrusted"], "excludeLocations": ["00000000-0000-0000-0000-000000000000"]},
        "signInRiskLevels": ["low", "medium"], "userRiskLevels": ["none"],
        "servicePrincipalRiskLevels": ["high"],
        "insiderRiskLevels": "minor,elevated",
        "devices": {"deviceFilter": {"mode": "include", "rule": "device.trustType -eq \"ServerAD\""}},
        "authenticationFlows": {"transferMethods": "deviceCodeFlow"}
      },
      "grantControls": {
        "operator": "AND", "builtInControls": ["MFA", "passwordChange"],
        "termsOfUse": ["tou1"], "customAuthenticationFactors": ["duo"],
        "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002", "displayName": "Multifactor authentication",
          "allowedCombinations": ["password,microsoftAuthenticatorPush", "fido2"]}
      },
      "sessionControls": {
        "signInFrequency": {"value": 2, "type": "days", "frequencyInterval": "timeBased", "isEnabled": true},
        "persistentBrowser": {"mode": "never", "isEnabled": true},
        "cloudAppSecurity": {"cloudAppSecurityType": "monitorOnly", "isEnabled": true},
        "disableResilienceDefaults": true,
        "applicationEnforcedRestrictions": {"isEnabled": false}
      }
    }"##,
    )?;
    let set = policies_from_json(&v, Path::new("p1.json"))?;
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let p = &set.policies[0];
    assert!(p.unsupported.is_empty());
    let u = p.users.as_ref().ok_or("users")?;
    assert_eq!(u.users.include, ["GuestsOrExternalUsers", "u1"]);
    assert_eq!(u.users.exclude, ["u2"]);
    assert_eq!(
        (u.groups.include.as_slice(), u.groups.exclude.as_slice()),
        (&["g1".to_string()][..], &["g2".to_string()][..])
    );
    assert_eq!(u.roles.exclude, ["r2"]);
    let eg = u.exclude_guests.as_ref().ok_or("exclude guests")?;
    assert_eq!(
        eg.types.iter().collect::<Vec<_>>(),
        ["b2bCollaborationGuest", "serviceProvider"]
    );
    assert_eq!(eg.tenants, Some(vec!["t1".to_string(), "t2".to_string()]));
    let a = p.applications.as_ref().ok_or("apps")?;
    assert_eq!(a.auth_contexts, ["c1"]);
    assert_eq!(a.filter.as_ref().map(|f| f.0), Some(FilterMode::Include));
    let c = p.client_applications.as_ref().ok_or("client apps")?;
    assert_eq!(
        c.service_principals.include,
        ["ServicePrincipalsInMyTenant"]
    );
    assert_eq!(c.filter.as_ref().map(|f| f.0), Some(FilterMode::Exclude));
    assert_eq!(
        p.client_app_types,
        [
            ClientAppType::Browser,
            ClientAppType::EasSupported,
            ClientAppType::Other
        ]
    );
    assert_eq!(
        p.platforms,
        Some((
            vec![Platform::Linux, Platform::WindowsPhone],
            vec![Platform::Ios]
        ))
    );
    assert_eq!(
        p.locations.as_ref().ok_or("locations")?.include,
        ["AllTrusted"]
    );
    assert_eq!(p.sign_in_risk_levels, [RiskLevel::Low, RiskLevel::Medium]);
    assert_eq!(p.user_risk_levels, [RiskLevel::None]);
    assert_eq!(p.service_principal_risk_levels, [RiskLevel::High]);
    assert_eq!(p.insider_risk_levels, ["minor", "elevated"]);
    assert_eq!(p.transfer_methods, ["deviceCodeFlow"]);
    let g = p.grant.as_ref().ok_or("grant")?;
    assert!(!g.any);
    assert_eq!(g.built_in, ["mfa", "passwordChange"]);
    assert_eq!(g.terms_of_use, ["tou1"]);
    assert_eq!(g.custom_factors, ["duo"]);
    assert_eq!(
        g.authentication_strength
            .as_ref()
            .ok_or("strength")?
            .allowed_combinations,
        ["password,microsoftAuthenticatorPush", "fido2"]
    );
    let s = p.session.as_ref().ok_or("session")?;
    let mut names = s.names.clone();
    names.sort();
    assert_eq!(
        names,
        [
            "cloudAppSecurity",
            "disableResilienceDefaults",
            "persistentBrowser",
            "signInFrequency"
        ]
    );
    assert_eq!(s.sign_in_frequency, Some(SignInFrequency::Hours(48)));
    Ok(())
}

#[test]
fn unknown_values_and_keys_become_unsupported() -> TestResult {
    let v: serde_json::Value = serde_json::from_str(
        r#"{
      "id": "u", "displayName": "Future", "state": "enabled",
      "conditions": {
        "users": {"includeUsers": ["All"], "includeSomethingNew": ["x"],
          "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "internalGuest,martian",
            "externalTenants": {"membershipKind": "galactic"}}},
        "applications": {"includeApplications": ["All"], "globalSecureAccess": {"x": 1}},
        "clientAppTypes": ["browser", "unknownFutureValue"],
        "platforms": {"includePlatforms": ["all"], "excludePlatforms": ["tizen"]},
        "signInRiskLevels": ["high", "hidden"],
        "devices": {"includeDeviceStates": ["All"], "excludeDeviceStates": ["Compliant"]},
        "times": {"included": "weekdays"},
        "authenticationFlows": {"transferMethods": "deviceCodeFlow,teleport"}
      },
      "grantControls": {"operator": "OR", "builtInControls": ["mfa", "riskRemediation", "riskRemediation"]},
      "sessionControls": {"signInFrequency": {"frequencyInterval": "whenTheMoonIsFull", "isEnabled": true}},
      "partialEnablementStrategy": {"mode": "x"},
      "vendorNote": "made by hand"
    }"#,
    )?;
    let set = policies_from_json(&v, Path::new("f.json"))?;
    let p = &set.policies[0];
    let mut u = p.unsupported.clone();
    u.sort();
    assert_eq!(
        u,
        [
            "conditions.applications.globalSecureAccess",
            "conditions.authenticationFlows.transferMethods=teleport",
            "conditions.clientAppTypes=unknownFutureValue",
            "conditions.devices.excludeDeviceStates",
            "conditions.devices.includeDeviceStates",
            "conditions.platforms.excludePlatforms=tizen",
            "conditions.signInRiskLevels=hidden",
            "conditions.times",
            "conditions.users.includeGuestsOrExternalUsers.externalTenants.membershipKind=galactic",
            "conditions.users.includeGuestsOrExternalUsers.guestOrExternalUserTypes=martian",
            "conditions.users.includeSomethingNew",
            "grantControls.builtInControls=riskRemediation",
            "partialEnablementStrategy",
            "sessionControls.signInFrequency.frequencyInterval=whenTheMoonIsFull",
        ]
    );
    // Known values are kept; an unknown control stays in built_in as written.
    assert_eq!(p.client_app_types, [ClientAppType::Browser]);
    assert_eq!(p.platforms, Some((vec![Platform::All], vec![])));
    assert_eq!(p.sign_in_risk_levels, [RiskLevel::High]);
    assert_eq!(p.transfer_methods, ["deviceCodeFlow"]);
    assert_eq!(
        p.grant.as_ref().ok_or("grant")?.built_in,
        ["mfa", "riskRemediation", "riskRemediation"]
    );
    assert_eq!(p.session.as_ref().ok_or("session")?.sign_in_frequency, None);
    // One warning per entry, plus one for the ignored top-level field.
    assert_eq!(set.warnings.len(), p.unsupported.len() + 1);
    assert!(
        set.warnings.iter().any(|w| w
            == "policy u (Future): value \"tizen\" of conditions.platforms.excludePlatforms is not \
            understood by vigil; the policy is indeterminate wherever it could change the outcome")
    );
    assert!(set.warnings.iter().any(|w| w
        == "policy u (Future): condition conditions.times is not understood by vigil; the policy \
            is indeterminate wherever it could change the outcome"));
    assert!(
        set.warnings.iter().any(|w| w
            == "policy u (Future): field vendorNote is not understood by vigil and was ignored")
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Errors

fn err_of(r: Result<PolicySet, InputError>) -> InputError {
    match r {
        Ok(set) => panic!("expected an error, got {} policies", set.policies.len()),
        Err(e) => e,
    }
}

#[test]
fn invalid_json_names_file_line_and_column() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("CA001.json");
    // UTF-16LE with BOM and CRLF, like the PowerShell exports; a trailing comma on line 3.
    write_utf16le_bom(
        &f,
        "{\r\n  \"id\": \"x\",\r\n  \"state\": \"enabled\",\r\n}\r\n",
    )?;
    let e = err_of(load_policies(&f));
    match &e {
        InputError::Json {
            file, line, column, ..
        } => {
            assert_eq!(file, &f);
            assert_eq!((*line, *column), (4, 1));
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "{}: line 4, column 1: invalid JSON: ",
            f.display()
        )),
        "{msg}"
    );
    Ok(())
}

#[test]
fn wrong_type_names_policy_and_field() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("CA001.json");
    fs::write(
        &f,
        MINIMAL.replace(r#""includeUsers": ["All"]"#, r#""includeUsers": "All""#),
    )?;
    let e = err_of(load_policies(&f));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: policy 11111111-1111-1111-1111-111111111111 (Require MFA): field \
             conditions.users.includeUsers: expected an array of strings, found a string",
            f.display()
        )
    );
    match e {
        InputError::Field { record, field, .. } => {
            assert!(record.contains("11111111-1111-1111-1111-111111111111"));
            assert_eq!(field, "conditions.users.includeUsers");
        }
        other => panic!("expected a field error, got {other:?}"),
    }

    // More wrong types, each naming its field.
    for (from, to, field) in [
        (
            r#""includeUsers": ["All"]"#,
            r#""includeUsers": ["All", 7]"#,
            "conditions.users.includeUsers",
        ),
        (
            r#""clientAppTypes": ["all"]"#,
            r#""clientAppTypes": "all""#,
            "conditions.clientAppTypes",
        ),
        (
            r#""operator": "OR""#,
            r#""operator": "XOR""#,
            "grantControls.operator",
        ),
        (
            r#""operator": "OR""#,
            r#""operator": 1"#,
            "grantControls.operator",
        ),
        (
            r#""applications": {"#,
            r#""applications": {"applicationFilter": {"mode": "sideways", "rule": "x"}, "#,
            "conditions.applications.applicationFilter.mode",
        ),
        (
            r#""users": {"#,
            r#""users": {"includeGroups": {"id": "g"}, "#,
            "conditions.users.includeGroups",
        ),
        (
            r#""displayName": "Require MFA""#,
            r#""displayName": 5"#,
            "displayName",
        ),
        (
            r#""clientAppTypes": ["all"]"#,
            r#""clientAppTypes": ["all"], "devices": []"#,
            "conditions.devices",
        ),
    ] {
        let text = MINIMAL.replace(from, to);
        assert_ne!(text, MINIMAL, "{from}");
        fs::write(&f, text)?;
        match err_of(load_policies(&f)) {
            InputError::Field { field: got, .. } => assert_eq!(got, field),
            other => panic!("{field}: expected a field error, got {other}"),
        }
    }
    Ok(())
}

#[test]
fn id_and_state_are_required() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("p.json");
    let cases = [
        (
            MINIMAL.replace(r#""state": "enabled""#, r#""state": "on""#),
            "state",
            "unknown value \"on\"",
        ),
        (
            MINIMAL.replace(r#""state": "enabled","#, ""),
            "state",
            "missing",
        ),
        (
            MINIMAL.replace(r#""state": "enabled""#, r#""state": true"#),
            "state",
            "expected a string",
        ),
        (
            MINIMAL.replace(r#""id": "11111111-1111-1111-1111-111111111111","#, ""),
            "id",
            "missing",
        ),
        (
            MINIMAL.replace(r#""11111111-1111-1111-1111-111111111111""#, "42"),
            "id",
            "expected a string, found a number",
        ),
        (
            MINIMAL.replace(r#""11111111-1111-1111-1111-111111111111""#, r#""  ""#),
            "id",
            "empty",
        ),
    ];
    for (text, field, reason) in cases {
        fs::write(&f, &text)?;
        let e = err_of(load_policies(&f));
        let msg = e.to_string();
        match e {
            InputError::Field {
                field: got,
                reason: why,
                ..
            } => {
                assert_eq!(got, field, "{msg}");
                assert!(why.starts_with(reason), "{msg}");
            }
            other => panic!("expected a field error, got {other}"),
        }
    }
    // In an array, a policy without id is named by its index.
    fs::write(&f, format!("[{MINIMAL}, {{\"state\": \"enabled\"}}]"))?;
    let msg = err_of(load_policies(&f)).to_string();
    assert!(
        msg.contains(": policy at index 1: field id: missing"),
        "{msg}"
    );
    // A PowerShell object dump gets a hint.
    fs::write(&f, r#"{"Id": "x", "State": "enabled"}"#)?;
    let msg = err_of(load_policies(&f)).to_string();
    assert!(msg.contains("PascalCase"), "{msg}");
    // Not a policy at all.
    fs::write(&f, "42")?;
    assert!(matches!(
        err_of(load_policies(&f)),
        InputError::Format { .. }
    ));
    Ok(())
}

#[test]
fn grant_and_session_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("p.json");
    for (from, to, field) in [
        (
            r#""grantControls": {"operator": "OR", "builtInControls": ["mfa"]}"#,
            r#""grantControls": {"builtInControls": ["mfa", "compliantDevice"]}"#,
            "grantControls.operator",
        ),
        (
            r#""grantControls": {"operator": "OR", "builtInControls": ["mfa"]}"#,
            r#""grantControls": {"operator": "OR", "authenticationStrength": {"displayName": "x"}}"#,
            "grantControls.authenticationStrength.id",
        ),
        (
            r#""grantControls""#,
            r#""sessionControls": {"signInFrequency": {"value": 4, "type": "weeks", "isEnabled": true}}, "grantControls""#,
            "sessionControls.signInFrequency.type",
        ),
        (
            r#""grantControls""#,
            r#""sessionControls": {"signInFrequency": {"value": -1, "type": "hours", "isEnabled": true}}, "grantControls""#,
            "sessionControls.signInFrequency.value",
        ),
        (
            r#""grantControls""#,
            r#""sessionControls": {"signInFrequency": {"value": 4294967295, "type": "days"}}, "grantControls""#,
            "sessionControls.signInFrequency.value",
        ),
        (
            r#""grantControls""#,
            r#""sessionControls": {"signInFrequency": {"type": "hours", "isEnabled": true}}, "grantControls""#,
            "sessionControls.signInFrequency.value",
        ),
    ] {
        let text = MINIMAL.replace(from, to);
        assert_ne!(text, MINIMAL, "{to}");
        fs::write(&f, text)?;
        match err_of(load_policies(&f)) {
            InputError::Field { field: got, .. } => assert_eq!(got, field),
            other => panic!("{field}: expected a field error, got {other}"),
        }
    }
    // A single control needs no operator.
    fs::write(&f, MINIMAL.replace(r#""operator": "OR", "#, ""))?;
    assert_eq!(
        load_policies(&f)?.policies[0]
            .grant
            .as_ref()
            .ok_or("grant")?
            .built_in,
        ["mfa"]
    );
    Ok(())
}

#[test]
fn duplicate_ids_name_both_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::write(dir.path().join("a.json"), policy_with("dup-id", "First"))?;
    fs::write(dir.path().join("b.json"), policy_with("DUP-ID", "Second"))?;
    let e = err_of(load_policies(dir.path()));
    let msg = e.to_string();
    assert!(matches!(e, InputError::Duplicate { .. }));
    assert!(
        msg.contains("b.json: policy DUP-ID (Second): duplicate policy id DUP-ID"),
        "{msg}"
    );
    assert!(
        msg.contains(&dir.path().join("a.json").display().to_string()),
        "{msg}"
    );
    // Within one file too.
    let f = dir.path().join("a.json");
    fs::write(
        &f,
        format!("[{}, {}]", policy_with("x", "1"), policy_with("x", "2")),
    )?;
    assert!(matches!(
        err_of(load_policies(&f)),
        InputError::Duplicate { .. }
    ));
    Ok(())
}

#[test]
fn missing_path_is_an_io_error() {
    let e = err_of(load_policies(Path::new("/nonexistent/vigil/policies")));
    assert!(matches!(e, InputError::Io { .. }));
    assert!(e.to_string().starts_with("/nonexistent/vigil/policies: "));
}

// ---------------------------------------------------------------------------------------------
// Named locations

#[test]
fn named_location_shapes_and_matching() -> TestResult {
    let v: serde_json::Value = serde_json::from_str(
        r##"[
      {"id": "ip1", "displayName": "Office", "isTrusted": true,
       "ipRanges": [{"cidrAddress": "203.0.113.7"}, {"cidrAddress": "2001:db8::1"}, "198.51.100.0/24"]},
      {"id": "c1", "countriesAndRegions": ["fr"], "includeUnknownCountriesAndRegions": true},
      {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "gps", "displayName": "GPS",
       "countriesAndRegions": ["DE"], "countryLookupMethod": "authenticatorAppGps"},
      {"@odata.type": "#microsoft.graph.somethingNewNamedLocation", "id": "new", "displayName": "New"}
    ]"##,
    )?;
    let set = locations_from_json(&v, Path::new("loc.json"))?;
    assert_eq!(set.locations.len(), 4);
    let ip = &set.locations[0];
    let r: Vec<String> = match &ip.kind {
        NamedLocationKind::Ip { ranges, .. } => ranges.iter().map(ToString::to_string).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(r, ["203.0.113.7/32", "2001:db8::1/128", "198.51.100.0/24"]);
    assert!(ip.matches_ip(&"203.0.113.7".parse()?));
    assert!(!ip.matches_ip(&"203.0.113.8".parse()?));
    assert!(ip.matches_ip(&"2001:db8::1".parse()?));
    assert!(ip.matches_ip(&"198.51.100.99".parse()?));
    assert_eq!(ip.is_trusted(), Some(true));

    let c = &set.locations[1];
    assert_eq!(c.matches_country(Some("FR")), Tri::Yes);
    assert_eq!(c.matches_country(Some("de")), Tri::No);
    // SEMANTICS.md Rule 4.22: an empty countryOrRegion cannot be told apart from a field the
    // export dropped, so even "include unknown countries/regions" leaves it undecided.
    assert_eq!(c.matches_country(None), Tri::Unknown);
    assert_eq!(c.matches_country(Some("")), Tri::Unknown);

    let gps = &set.locations[2];
    assert_eq!(gps.matches_country(Some("DE")), Tri::Unknown);
    assert_eq!(gps.matches_country(None), Tri::Unknown);

    let new = &set.locations[3];
    assert_eq!(
        new.kind,
        NamedLocationKind::Unsupported {
            type_name: "somethingNewNamedLocation".into(),
            trusted: None
        }
    );
    assert_eq!(new.is_trusted(), None);
    assert_eq!(set.warnings.len(), 2, "{:?}", set.warnings);
    assert!(
        set.warnings[0]
            .starts_with("named location gps (GPS): countryLookupMethod authenticatorAppGps")
    );
    Ok(())
}

#[test]
fn named_location_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("loc.json");
    fs::write(
        &f,
        r##"{"value": [{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "bad-ip",
              "displayName": "Branch", "ipRanges": [{"cidrAddress": "10.0.0.0/8"}, {"cidrAddress": "10.0.0.0/33"}]}]}"##,
    )?;
    let msg = load_named_locations(&f)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.starts_with(&format!(
            "{}: named location bad-ip (Branch): field ipRanges[1].cidrAddress: invalid CIDR \"10.0.0.0/33\"",
            f.display()
        )),
        "{msg}"
    );
    fs::write(
        &f,
        r#"[{"id": "a", "ipRanges": [{"cidrAddress": "not-an-ip"}]}]"#,
    )?;
    let msg = load_named_locations(&f)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("named location a: field ipRanges[0].cidrAddress: invalid IP address"),
        "{msg}"
    );
    fs::write(&f, r#"[{"id": "a", "countriesAndRegions": "FR"}]"#)?;
    let msg = load_named_locations(&f)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("field countriesAndRegions: expected an array of strings"),
        "{msg}"
    );
    fs::write(
        &f,
        r#"[{"displayName": "no id", "countriesAndRegions": ["FR"]}]"#,
    )?;
    let msg = load_named_locations(&f)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("named location at index 0: field id: missing"),
        "{msg}"
    );
    fs::write(
        &f,
        r#"[{"id": "a", "countriesAndRegions": ["FR"]}, {"id": "A", "countriesAndRegions": ["DE"]}]"#,
    )?;
    assert!(matches!(
        load_named_locations(&f),
        Err(InputError::Duplicate { .. })
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Directory

#[test]
fn directory_snapshot_loads() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("dir.json");
    write_utf16le_bom(
        &f,
        r#"{"users": [
          {"id": "u1", "userPrincipalName": "Alice@Contoso.com", "userType": "Member",
           "groups": ["g1", "g2"], "roles": ["62e90394-69f5-4237-9190-012177145e10"]},
          {"id": "u2", "userPrincipalName": "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com", "userType": "Guest",
           "groups": [{"id": "g3", "displayName": "Guests"}],
           "roles": [{"id": "instance", "roleTemplateId": "tmpl"}]},
          {"id": "u3"}
        ]}"#,
    )?;
    let d = load_directory(&f)?;
    assert_eq!(d.users.len(), 3);
    assert_eq!(
        d.by_upn.get("alice@contoso.com").map(String::as_str),
        Some("u1")
    );
    assert_eq!(d.by_upn.len(), 2);
    let u1 = d.users.get("u1").ok_or("u1")?;
    assert_eq!(u1.user_type.as_deref(), Some("Member"));
    assert!(u1.groups.contains("g2"));
    assert!(u1.roles.contains("62e90394-69f5-4237-9190-012177145e10"));
    let u2 = d.users.get("u2").ok_or("u2")?;
    assert!(u2.groups.contains("g3"));
    assert!(u2.roles.contains("tmpl"));
    let u3 = d.users.get("u3").ok_or("u3")?;
    assert!(u3.user_principal_name.is_none() && u3.groups.is_empty());
    Ok(())
}

#[test]
fn directory_errors_name_user_and_field() -> TestResult {
    let p = Path::new("dir.json");
    let cases = [
        (
            r#"{"users": [{"id": "u1", "groups": "g1"}]}"#,
            "dir.json: user 0 (id u1): field groups: expected an array of ids, found a string",
        ),
        (
            r#"{"users": [{"id": "u1"}, {"id": "u2", "roles": [1]}]}"#,
            "dir.json: user 1 (id u2): field roles[0]: expected an id string",
        ),
        (
            r#"{"users": [{"userPrincipalName": "a@b"}]}"#,
            "dir.json: user 0: field id: missing",
        ),
        (
            r#"{"users": [{"id": "u1", "userType": 3}]}"#,
            "dir.json: user 0 (id u1): field userType: expected a string, found a number",
        ),
        (
            r#"{"users": [{"id": "u1"}, {"id": "U1"}]}"#,
            "dir.json: user 1 (id U1): duplicate user id U1 (first as user 0), already defined in dir.json",
        ),
        (
            r#"{"users": [{"id": "u1", "userPrincipalName": "A@b"}, {"id": "u2", "userPrincipalName": "a@B"}]}"#,
            "dir.json: user 1 (id u2): duplicate userPrincipalName a@B",
        ),
        (
            r#"{"people": []}"#,
            "dir.json: expected a directory snapshot",
        ),
        (
            r#"{"users": {}}"#,
            "dir.json: directory snapshot: field users: expected an array of users, found an object",
        ),
    ];
    for (text, want) in cases {
        let v: serde_json::Value = serde_json::from_str(text)?;
        let msg = directory_from_json(&v, p)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.starts_with(want),
            "{text}\n  got:  {msg}\n  want: {want}"
        );
    }
    Ok(())
}
