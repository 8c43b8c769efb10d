//! The log's view of a generated sign-in's Conditional Access outcome: what the policies in
//! force decided, settled where the log alone leaves it open, as Graph writes it.

use std::collections::HashMap;

use crate::eval::{self, Effect};
use crate::model::{LoggedPolicy, Policy, PolicyState};

/// What the log recorded for one generated profile.
pub(super) struct Logged {
    /// 0 notApplied, 1 success, 2 interrupted, 3 failure.
    pub status: u8,
    /// CA block code when `status` is 3.
    pub block_code: i64,
    /// Index of the `appliedConditionalAccessPolicies` JSON text (texts are shared).
    pub applied: usize,
}

/// Distinct texts, each stored once.
#[derive(Default)]
pub(super) struct Texts {
    index: HashMap<String, usize>,
    pub all: Vec<String>,
}

impl Texts {
    pub fn intern(&mut self, t: String) -> usize {
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
pub(super) fn settle(policies: &[Policy], d: &eval::Decision, texts: &mut Texts) -> Logged {
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
        applied: texts.intern(serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())),
    }
}
