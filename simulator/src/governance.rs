//! The governance config `vigil ledger coverage` reads (schemas/governance.schema.json): which
//! actors are AI agents, and which directory changes are high-stakes (need a human approval
//! before they take effect).
//!
//! TOML, or JSON when the file is named `.json` or starts with `{`; both have the same keys.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::audit::view::{AuditRecordView, InitiatorView};
use crate::error::InputError;
use crate::text::read_text;

/// An AI agent: the app (service principal) it makes its changes as.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Agent {
    /// Its application (client) id, as audit records write it in `initiatedBy.app.appId`.
    pub app_id: String,
    /// Its display name (matched when a record has no app id, and shown in reports).
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Which changes are high-stakes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HighStakes {
    /// Group object ids whose membership changes (members or owners added or removed).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Every access package assignment (entitlement management).
    #[serde(default)]
    pub access_package_assignments: bool,
    /// Every directory role assignment (active, eligible or scoped).
    #[serde(default)]
    pub role_assignments: bool,
    /// Attribute names: a change that modifies any of them (`modifiedProperties`).
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Activity names (`activityDisplayName`), e.g. `Reset user password`.
    #[serde(default)]
    pub activities: Vec<String>,
}

/// A governance config.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Governance {
    /// Optional: the schema's address, for editors.
    #[serde(default, rename = "$schema")]
    pub schema: Option<String>,
    /// The AI agents.
    #[serde(default)]
    pub agents: Vec<Agent>,
    /// The high-stakes changes.
    #[serde(default)]
    pub high_stakes: HighStakes,
}

impl Governance {
    /// Reads a config file (TOML, or JSON when named `.json` or starting with `{`).
    pub fn load(path: &Path) -> Result<Governance, InputError> {
        Governance::from_text(&read_text(path)?, path)
    }

    /// Parses a config's text; `path` names it in messages.
    pub fn from_text(text: &str, path: &Path) -> Result<Governance, InputError> {
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            || text.trim_start().starts_with('{');
        let value: Value = if is_json {
            serde_json::from_str(text).map_err(|e| InputError::json(path, &e))?
        } else {
            let t: toml::Value = toml::from_str(text).map_err(|e| {
                InputError::format(path, format!("not a valid TOML governance config: {e}"))
            })?;
            serde_json::to_value(t).map_err(|e| {
                InputError::format(path, format!("cannot read the TOML document: {e}"))
            })?
        };
        let g: Governance = serde_json::from_value(value).map_err(|e| {
            InputError::format(
                path,
                format!(
                    "not a governance config ({e}); see schemas/governance.schema.json: \
                     `agents` (each with `appId`, optional `displayName`) and `highStakes` \
                     (`groups`, `accessPackageAssignments`, `roleAssignments`, `attributes`, \
                     `activities`)"
                ),
            )
        })?;
        for (i, a) in g.agents.iter().enumerate() {
            if a.app_id.trim().is_empty() {
                return Err(InputError::field(
                    path,
                    format!("agents[{i}]"),
                    "appId",
                    "must not be empty",
                ));
            }
        }
        Ok(g)
    }

    /// The AI agent that made a change, if one did: by app id, else (for records that carry
    /// no app id) by display name.
    pub fn agent_of(&self, by: &InitiatorView) -> Option<&Agent> {
        let app = by.app.as_ref()?;
        self.agents.iter().find(|a| match &app.app_id {
            Some(id) => id.eq_ignore_ascii_case(&a.app_id),
            None => a
                .display_name
                .as_deref()
                .zip(app.display_name.as_deref())
                .is_some_and(|(x, y)| x.eq_ignore_ascii_case(y)),
        })
    }

    /// Why a change is high-stakes (one reason per rule it meets); empty when it is not.
    pub fn high_stakes(&self, r: &AuditRecordView) -> Vec<String> {
        let h = &self.high_stakes;
        let activity = r.activity.to_ascii_lowercase();
        let mut why = Vec::new();
        let membership = [
            "member to group",
            "member from group",
            "owner to group",
            "owner from group",
        ]
        .iter()
        .any(|p| activity.contains(p));
        if membership && !h.groups.is_empty() {
            let listed = |v: &str| {
                h.groups
                    .iter()
                    .any(|g| v.to_ascii_lowercase().contains(&g.to_ascii_lowercase()))
            };
            let group = r.target_resources.iter().find_map(|t| {
                let is_group = t
                    .kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("group"));
                let by_target = is_group && t.id.as_deref().is_some_and(listed);
                let by_property = t.modified_properties.iter().any(|p| {
                    p.display_name.eq_ignore_ascii_case("Group.ObjectID")
                        && (p.new_value.as_deref().is_some_and(listed)
                            || p.old_value.as_deref().is_some_and(listed))
                });
                (by_target || by_property).then(|| {
                    t.display_name
                        .as_deref()
                        .or(t.id.as_deref())
                        .unwrap_or_default()
                        .to_string()
                })
            });
            if let Some(g) = group {
                why.push(format!("membership of high-stakes group {g}"));
            }
        }
        let entitlement = r
            .category
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("EntitlementManagement"));
        if h.access_package_assignments
            && (activity.contains("access package assignment")
                || (entitlement && activity.contains("assign")))
        {
            why.push("access package assignment".into());
        }
        let roles = r
            .category
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("RoleManagement"));
        if h.role_assignments
            && (activity.contains("member to role") || (roles && activity.contains("assign")))
        {
            why.push("role assignment".into());
        }
        let mut attrs: Vec<&str> = r
            .target_resources
            .iter()
            .flat_map(|t| &t.modified_properties)
            .map(|p| p.display_name.as_ref())
            .filter(|n| h.attributes.iter().any(|a| a.eq_ignore_ascii_case(n)))
            .collect();
        attrs.dedup();
        if !attrs.is_empty() {
            why.push(format!("attribute {}", attrs.join(", ")));
        }
        if h.activities
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&r.activity))
        {
            why.push(format!("activity {}", r.activity));
        }
        why
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditRecord, Initiator};

    fn record(v: Value) -> AuditRecord {
        serde_json::from_value(v).unwrap()
    }

    const CONFIG: &str = r#"
[[agents]]
appId = "C0000000-0000-4000-8000-0000000000a1"
displayName = "Onboarding agent"

[highStakes]
groups = ["90000000-0000-4000-8000-000000000001"]
accessPackageAssignments = true
roleAssignments = true
attributes = ["extension_partnerTier"]
activities = ["Reset user password"]
"#;

    #[test]
    fn agents_match_by_app_id_then_display_name() {
        let g = Governance::from_text(CONFIG, Path::new("g.toml")).unwrap();
        let by_id: Initiator = serde_json::from_value(serde_json::json!(
            {"app": {"appId": "c0000000-0000-4000-8000-0000000000a1"}}
        ))
        .unwrap();
        assert!(g.agent_of(&by_id.view()).is_some());
        let by_name: Initiator =
            serde_json::from_value(serde_json::json!({"app": {"displayName": "onboarding AGENT"}}))
                .unwrap();
        assert!(g.agent_of(&by_name.view()).is_some());
        let other: Initiator = serde_json::from_value(serde_json::json!(
            {"app": {"appId": "x", "displayName": "Onboarding agent"}}
        ))
        .unwrap();
        assert!(
            g.agent_of(&other.view()).is_none(),
            "an app id that differs wins"
        );
        let user: Initiator =
            serde_json::from_value(serde_json::json!({"user": {"id": "u"}})).unwrap();
        assert!(g.agent_of(&user.view()).is_none());
    }

    #[test]
    fn high_stakes_rules() {
        let g = Governance::from_text(CONFIG, Path::new("g.toml")).unwrap();
        let base = |activity: &str, targets: Value| {
            record(serde_json::json!({
                "id": "a", "activityDateTime": "2026-01-05T10:00:00.000Z",
                "activity": activity, "targetResources": targets
            }))
        };
        let finance = base(
            "Add member to group",
            serde_json::json!([{"id": "90000000-0000-4000-8000-000000000001", "type": "Group",
                                "displayName": "Finance"}]),
        );
        assert_eq!(
            g.high_stakes(&finance.view()),
            ["membership of high-stakes group Finance"]
        );
        let sales = base(
            "Add member to group",
            serde_json::json!([{"id": "90000000-0000-4000-8000-000000000002", "type": "Group"}]),
        );
        assert!(g.high_stakes(&sales.view()).is_empty());
        let attr = base(
            "Update user",
            serde_json::json!([{"id": "u", "type": "User", "modifiedProperties": [
                {"displayName": "jobTitle"}, {"displayName": "Extension_PartnerTier"}]}]),
        );
        assert_eq!(
            g.high_stakes(&attr.view()),
            ["attribute Extension_PartnerTier"]
        );
        assert_eq!(
            g.high_stakes(&base("Add eligible member to role", serde_json::json!([])).view()),
            ["role assignment"]
        );
        assert_eq!(
            g.high_stakes(&base("Reset user password", serde_json::json!([])).view()),
            ["activity Reset user password"]
        );
    }

    #[test]
    fn unknown_keys_and_empty_app_ids_are_refused() {
        let e = Governance::from_text("[highStakes]\ngroup = []\n", Path::new("g.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("g.toml") && e.contains("group"), "{e}");
        let e = Governance::from_text(r#"{"agents":[{"appId":" "}]}"#, Path::new("g.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("agents[0]") && e.contains("appId"), "{e}");
    }
}
