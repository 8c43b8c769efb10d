//! `vigil whatif`: one sign-in described by flags, every policy's decision explained — the
//! offline What If tool. Unspecified properties are unknown, so the output shows which
//! conditions stay undecided and which flags would decide them.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use comfy_table::{ContentArrangement, Table};
use vigil_simulator::eval::Context;
use vigil_simulator::whatif::{self, WhatIfInput};
use vigil_simulator::{directory, location, policy};

use crate::Outcome;
use crate::output::{info, quiet};

/// `vigil whatif`.
#[derive(Args)]
pub struct WhatifArgs {
    /// Policies: Graph conditionalAccessPolicy JSON (array, {"value":[...]}, or a folder of one-policy files).
    #[arg(long)]
    pub policies: PathBuf,
    /// Graph namedLocation JSON (array, list, or folder).
    #[arg(long)]
    pub named_locations: Option<PathBuf>,
    /// Directory snapshot: resolves a UPN given to --user, and group and role membership.
    #[arg(long)]
    pub directory: Option<PathBuf>,
    /// The user: an object id, or a userPrincipalName (resolved through --directory when given).
    #[arg(long, value_name = "ID_OR_UPN")]
    pub user: String,
    /// Member or Guest [default: from --directory, else unknown].
    #[arg(long, value_name = "Member|Guest")]
    pub user_type: Option<String>,
    /// Cross-tenant access type: none, b2bCollaboration, b2bDirectConnect, serviceProvider, ...
    #[arg(long, value_name = "TYPE")]
    pub cross_tenant: Option<String>,
    /// The user's home tenant id (for guest conditions limited to some tenants).
    #[arg(long, value_name = "TENANT_ID")]
    pub home_tenant: Option<String>,
    /// The resource being accessed (application id).
    #[arg(long, value_name = "APP_ID")]
    pub app: Option<String>,
    /// Client app: Browser, "Mobile Apps and Desktop clients", "Exchange ActiveSync", "Other clients" or a legacy protocol (IMAP4, POP3, SMTP, ...).
    #[arg(long, value_name = "CLIENT")]
    pub client_app: Option<String>,
    /// Device platform: windows, iOS, android, macOS, linux, windowsPhone.
    #[arg(long, conflicts_with = "os")]
    pub platform: Option<String>,
    /// Operating system as the sign-in log writes it, e.g. "Windows 10" (instead of --platform).
    #[arg(long)]
    pub os: Option<String>,
    /// Client IP address.
    #[arg(long, value_name = "ADDR")]
    pub ip: Option<String>,
    /// Country or region of the IP address (ISO 3166-1 alpha-2, e.g. US).
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// Sign-in risk: none, low, medium, high.
    #[arg(long, value_name = "LEVEL")]
    pub sign_in_risk: Option<String>,
    /// User risk: none, low, medium, high.
    #[arg(long, value_name = "LEVEL")]
    pub user_risk: Option<String>,
    /// Device id of a registered device.
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,
    /// Whether the device is compliant.
    #[arg(long, value_name = "true|false")]
    pub device_compliant: Option<bool>,
    /// Device trust type: "Azure AD joined" (AzureAD), "Hybrid Azure AD joined" (ServerAD), "Azure AD registered" (Workplace).
    #[arg(long, value_name = "TYPE")]
    pub device_trust_type: Option<String>,
    /// Whether multifactor authentication was already done in this sign-in.
    #[arg(long, value_name = "true|false")]
    pub mfa_done: Option<bool>,
    /// An authentication method that succeeded, as the sign-in log names it (repeatable), e.g. "Windows Hello for Business".
    #[arg(long = "auth-method", value_name = "NAME")]
    pub auth_methods: Vec<String>,
    /// Print the report as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn state_word(state: &str) -> &str {
    match state {
        "enabledForReportingButNotEnforced" => "report-only",
        "enabled" => "on",
        "disabled" => "off",
        other => other,
    }
}

/// Evaluates the described sign-in and prints every policy's decision.
pub fn run(a: &WhatifArgs) -> Result<Outcome> {
    let set = policy::load_policies(&a.policies)?;
    let mut warnings = set.warnings.clone();
    let locations = match &a.named_locations {
        Some(p) => {
            let l = location::load_named_locations(p)?;
            warnings.extend(l.warnings.clone());
            l.locations
        }
        None => vec![],
    };
    let dir = a
        .directory
        .as_ref()
        .map(|p| directory::load_directory(p))
        .transpose()?;
    let input = WhatIfInput {
        user: a.user.clone(),
        user_type: a.user_type.clone(),
        cross_tenant: a.cross_tenant.clone(),
        home_tenant: a.home_tenant.clone(),
        app: a.app.clone(),
        client_app: a.client_app.clone(),
        platform: a.platform.clone(),
        os: a.os.clone(),
        ip: a.ip.clone(),
        country: a.country.clone(),
        sign_in_risk: a.sign_in_risk.clone(),
        user_risk: a.user_risk.clone(),
        device_id: a.device_id.clone(),
        device_compliant: a.device_compliant,
        device_trust_type: a.device_trust_type.clone(),
        mfa_done: a.mfa_done,
        auth_methods: a.auth_methods.clone(),
    };
    let (signin, notes) = whatif::build_signin(&input, dir.as_ref()).map_err(anyhow::Error::msg)?;
    let ctx = Context::new(&set.policies, &locations, dir.as_ref()).map_err(anyhow::Error::msg)?;
    let report = whatif::whatif(&set.policies, signin, &ctx, notes);
    for w in warnings.iter().chain(&report.warnings) {
        info(format!("warning: {w}"));
    }
    if a.json {
        crate::cmd::print_json(&report)?;
        return Ok(Outcome::Ok);
    }
    if quiet() {
        println!("{}", report.decision.status);
        return Ok(Outcome::Ok);
    }
    let mut t = Table::new();
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec!["policy", "state", "result", "reasons"]);
    for p in &report.decision.policies {
        t.add_row(vec![
            p.display_name.clone(),
            state_word(&p.state).to_string(),
            p.result.clone(),
            p.reasons.join("\n"),
        ]);
    }
    println!("{t}");
    println!("status: {}", report.decision.status);
    if !report.decision.controls.is_empty() {
        println!("controls: {}", report.decision.controls.join(", "));
    }
    for u in &report.undecided {
        println!(
            "undecided: {} ({} policies); {} would decide it",
            u.signal,
            u.policies.len(),
            u.flags
        );
    }
    Ok(Outcome::Ok)
}
