//! A generated sign-in as Microsoft Graph's `signIn` resource (beta field set) writes it, so
//! `vigil ingest` reads it back as any export.

use serde::Serialize;

use super::signins::Generated;
use crate::model::{SignIn, SignInKind};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GraphSignIn<'a> {
    id: &'a str,
    created_date_time: &'a str,
    user_display_name: Option<&'a str>,
    user_principal_name: Option<&'a str>,
    user_id: Option<&'a str>,
    user_type: Option<&'a str>,
    home_tenant_id: Option<&'a str>,
    resource_tenant_id: Option<&'a str>,
    cross_tenant_access_type: Option<&'a str>,
    app_id: Option<&'a str>,
    app_display_name: Option<&'a str>,
    resource_id: Option<&'a str>,
    resource_display_name: Option<&'a str>,
    service_principal_id: Option<&'a str>,
    service_principal_name: Option<&'a str>,
    ip_address: Option<&'a str>,
    client_app_used: Option<&'a str>,
    correlation_id: Option<&'a str>,
    conditional_access_status: Option<&'a str>,
    is_interactive: Option<bool>,
    sign_in_event_types: [&'a str; 1],
    risk_level_aggregated: Option<&'a str>,
    risk_level_during_sign_in: Option<&'a str>,
    risk_state: Option<&'a str>,
    #[serde(rename = "riskEventTypes_v2")]
    risk_event_types_v2: &'a [String],
    authentication_protocol: Option<&'a str>,
    original_transfer_method: Option<&'a str>,
    authentication_requirement: Option<&'a str>,
    user_agent: Option<&'a str>,
    status: Status<'a>,
    device_detail: DeviceDetail<'a>,
    location: Location<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_location_details: Option<Vec<NetworkLocation<'a>>>,
    authentication_details: Vec<AuthenticationStep<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    error_code: Option<i64>,
    failure_reason: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceDetail<'a> {
    device_id: Option<&'a str>,
    display_name: Option<&'a str>,
    operating_system: Option<&'a str>,
    browser: Option<&'a str>,
    is_compliant: Option<bool>,
    is_managed: Option<bool>,
    trust_type: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    city: Option<&'a str>,
    state: Option<&'a str>,
    country_or_region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo_coordinates: Option<GeoCoordinates>,
}

#[derive(Serialize)]
struct GeoCoordinates {
    altitude: Option<f64>,
    latitude: f64,
    longitude: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NetworkLocation<'a> {
    network_type: &'a str,
    network_names: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticationStep<'a> {
    authentication_step_date_time: &'a str,
    authentication_method: &'a str,
    succeeded: bool,
    authentication_step_requirement: &'a str,
}

fn t(v: &Option<String>) -> Option<&str> {
    v.as_deref()
}

fn event_type(s: &SignIn) -> &'static str {
    match s.kind {
        Some(SignInKind::InteractiveUser) => "interactiveUser",
        Some(SignInKind::ServicePrincipal) => "servicePrincipal",
        Some(SignInKind::ManagedIdentity) => "managedIdentity",
        _ => "nonInteractiveUser",
    }
}

/// Appends `g` as one Graph `signIn` JSON object (no newline) to `out`.
pub fn write_signin(g: &Generated, out: &mut Vec<u8>) -> serde_json::Result<()> {
    let s = g.signin;
    // Steps after the first are second factors; when the log says MFA was not met they did
    // not succeed.
    let authentication_details = s
        .authentication_methods
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| AuthenticationStep {
            authentication_step_date_time: &s.created_date_time,
            authentication_method: m,
            succeeded: i == 0 || s.mfa_satisfied != Some(false),
            authentication_step_requirement: if i == 0 {
                "Primary authentication"
            } else {
                "MFA"
            },
        })
        .collect();
    let network_location_details = s.network_names.as_ref().map(|names| {
        if names.is_empty() {
            Vec::new()
        } else {
            vec![NetworkLocation {
                network_type: if s.trusted_network == Some(true) {
                    "trustedNamedLocation"
                } else {
                    "namedNetwork"
                },
                network_names: names,
            }]
        }
    });
    let record = GraphSignIn {
        id: &s.id,
        created_date_time: &s.created_date_time,
        user_display_name: None,
        user_principal_name: t(&s.user_principal_name),
        user_id: t(&s.user_id),
        user_type: t(&s.user_type),
        home_tenant_id: t(&s.home_tenant_id),
        resource_tenant_id: t(&s.resource_tenant_id),
        cross_tenant_access_type: t(&s.cross_tenant_access_type),
        app_id: t(&s.app_id),
        app_display_name: t(&s.app_display_name),
        resource_id: t(&s.resource_id),
        resource_display_name: t(&s.resource_display_name),
        service_principal_id: t(&s.service_principal_id),
        service_principal_name: t(&s.service_principal_name),
        ip_address: t(&s.ip_address),
        client_app_used: t(&s.client_app_used),
        correlation_id: t(&s.correlation_id),
        conditional_access_status: t(&s.conditional_access_status),
        is_interactive: s.is_interactive,
        sign_in_event_types: [event_type(s)],
        risk_level_aggregated: t(&s.risk_level_aggregated),
        risk_level_during_sign_in: t(&s.sign_in_risk_level),
        risk_state: t(&s.risk_state),
        risk_event_types_v2: s.risk_event_types.as_deref().unwrap_or_default(),
        authentication_protocol: t(&s.authentication_protocol),
        original_transfer_method: t(&s.original_transfer_method),
        authentication_requirement: t(&s.authentication_requirement),
        user_agent: t(&s.user_agent),
        status: Status {
            error_code: s.error_code,
            failure_reason: t(&s.failure_reason),
        },
        device_detail: DeviceDetail {
            device_id: t(&s.device_id),
            display_name: t(&s.device_display_name),
            operating_system: t(&s.operating_system),
            browser: t(&s.browser),
            is_compliant: s.device_compliant,
            is_managed: s.device_managed,
            trust_type: t(&s.device_trust_type),
        },
        location: Location {
            city: t(&s.city),
            state: t(&s.state),
            country_or_region: t(&s.country),
            geo_coordinates: s
                .latitude
                .zip(s.longitude)
                .map(|(lat, lon)| GeoCoordinates {
                    altitude: None,
                    latitude: lat.0,
                    longitude: lon.0,
                }),
        },
        network_location_details,
        authentication_details,
    };
    serde_json::to_writer(&mut *out, &record)?;
    // The applied policies are already Graph JSON text, shared between sign-ins.
    out.pop();
    out.extend_from_slice(b",\"appliedConditionalAccessPolicies\":");
    out.extend_from_slice(g.applied.as_bytes());
    out.push(b'}');
    Ok(())
}
