//! `vigil directory import`: builds the `--directory` snapshot (CONTRACT-simulate.md) from
//! Microsoft Graph exports of users, groups with their transitive members, and directory role
//! members.
//!
//! Accepted inputs (each a file or a folder of `.json`/`.ndjson`/`.jsonl` files, in any of the
//! shapes [`crate::snapshots`] reads: arrays, `{"value":[...]}` pages, NDJSON; keys in any case):
//!
//! - **Users** (`--users`): `GET /users?$select=id,userPrincipalName,userType`. `id` is required.
//! - **Groups** (`--groups`): `GET /groups?$expand=transitiveMembers` (each group with a
//!   `transitiveMembers` array of directory objects with an `id`), or a plain `GET /groups` list
//!   whose members come from `--group-members`. Graph returns at most 20 objects for an
//!   `$expand` on directory objects, without a next link; a group whose expanded list holds 20 or
//!   more members (or carries `transitiveMembers@odata.nextLink`) is taken as possibly cut short
//!   and must come from `--group-members` instead. A group with only `members` (direct members)
//!   is refused, since Conditional Access counts nested membership (SEMANTICS.md Rule 4.4).
//! - **Group members** (`--group-members`): `GET /groups/{id}/transitiveMembers` pages, one file
//!   per group named by the group id (`<group id>.json`, `<group id>.page2.json`) or kept in a
//!   folder named by the group id. These replace (and add to) expanded lists.
//! - **Role members** (`--role-members`): `GET /roleManagement/directory/roleAssignments`
//!   (`principalId`, `roleDefinitionId`, which equals the role template id for built-in roles;
//!   only tenant-wide assignments, `directoryScopeId` `/`, count: SEMANTICS.md Rule 4.5), or
//!   `GET /directoryRoles?$expand=members` (`roleTemplateId` and `members`; the same 20-object
//!   `$expand` limit applies). A role assigned to a group (role-assignable group) counts for the
//!   group's members (**vigil's choice**: its members hold the role). Principals that are
//!   neither users in `--users` nor groups are left out (service principals, for example).
//!
//! The output lists every user of `--users`, sorted by id, with sorted `groups` and `roles`.
//! The snapshot shows membership at export time, not at each sign-in's time
//! ([`MEMBERSHIP_WARNING`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::InputError;
use crate::model::DirectoryUser;
use crate::snapshots::{Record, SNAPSHOT_EXTENSIONS, read_file_records, read_records};
use crate::text::{json_type, list_files};

/// Printed by every import: what a snapshot can and cannot show.
pub const MEMBERSHIP_WARNING: &str = "the directory snapshot shows group membership and roles as \
     they are at export time (today), not at each sign-in's time; sign-ins from before recent \
     membership or role changes are evaluated against today's membership";

/// Graph returns at most this many objects for `$expand` on directory objects.
const EXPAND_LIMIT: usize = 20;

/// The inputs of an import.
#[derive(Debug, Clone, Copy)]
pub struct ImportPaths<'a> {
    /// Users export.
    pub users: &'a Path,
    /// Groups export (with or without `transitiveMembers`).
    pub groups: &'a Path,
    /// `/groups/{id}/transitiveMembers` pages, named by group id.
    pub group_members: Option<&'a Path>,
    /// Role assignments or directory roles with members.
    pub role_members: Option<&'a Path>,
}

/// The result of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Every user, sorted by id.
    pub users: Vec<DirectoryUser>,
    /// Groups whose members were read.
    pub groups: usize,
    /// Role grants applied (tenant-wide assignments or directory role members).
    pub role_grants: usize,
    /// Things the user should know, one line each.
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutUser<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_principal_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_type: Option<&'a str>,
    groups: &'a BTreeSet<String>,
    roles: &'a BTreeSet<String>,
}

#[derive(Serialize)]
struct Out<'a> {
    users: Vec<OutUser<'a>>,
}

impl Imported {
    /// The snapshot in the contract's format, pretty-printed, ending in a newline.
    pub fn to_json(&self) -> String {
        let out = Out {
            users: self
                .users
                .iter()
                .map(|u| OutUser {
                    id: &u.id,
                    user_principal_name: u.user_principal_name.as_deref(),
                    user_type: u.user_type.as_deref(),
                    groups: &u.groups,
                    roles: &u.roles,
                })
                .collect(),
        };
        // Serializing plain strings and sets cannot fail.
        serde_json::to_string_pretty(&out).unwrap_or_default() + "\n"
    }
}

/// One group's members as read so far.
#[derive(Default)]
struct GroupMembers {
    /// The id as first written.
    id: String,
    /// Lowercase member ids.
    members: BTreeSet<String>,
    /// Read from `--group-members`.
    from_pages: bool,
    /// Why the `--groups` record alone is not enough (reported unless pages come).
    missing: Option<InputError>,
}

/// Whether `s` is a GUID in the 8-4-4-4-12 form.
fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The member ids of a directory-object array field (objects with `id`, or id strings).
fn member_ids(
    rec: &Record,
    id_field: &str,
    field: &str,
    items: &[Value],
) -> Result<BTreeSet<String>, InputError> {
    let mut out = BTreeSet::new();
    for (j, item) in items.iter().enumerate() {
        let id = match item {
            Value::String(s) => Some(s.as_str()),
            Value::Object(m) => m
                .get("id")
                .or_else(|| {
                    m.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
                        .map(|(_, v)| v)
                })
                .and_then(Value::as_str),
            _ => None,
        };
        match id.map(str::trim) {
            Some(id) if !id.is_empty() => {
                out.insert(id.to_ascii_lowercase());
            }
            _ => {
                return Err(rec.error(
                    id_field,
                    &format!("{field}[{j}].id"),
                    format!(
                        "expected a directory object with an id, found {}",
                        json_type(item)
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Whether a record names a next page for an expanded relationship (`field@odata.nextLink`).
fn has_next_link(rec: &Record, field: &str) -> bool {
    let key = format!("{field}@odata.nextLink");
    rec.object.keys().any(|k| k.eq_ignore_ascii_case(&key))
}

/// Builds the directory snapshot from Graph exports (see the module documentation).
pub fn import_directory(paths: &ImportPaths) -> Result<Imported, InputError> {
    let mut warnings = Vec::new();

    // Users.
    let mut users: BTreeMap<String, DirectoryUser> = BTreeMap::new();
    let mut first_seen: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
    let mut upns: BTreeMap<String, (String, PathBuf, String)> = BTreeMap::new();
    for rec in read_records(paths.users)? {
        let id = rec.req_str("id", "id")?;
        let user = DirectoryUser {
            id: id.clone(),
            user_principal_name: rec.opt_str("id", "userPrincipalName")?,
            user_type: rec.opt_str("id", "userType")?,
            ..DirectoryUser::default()
        };
        let key = id.to_ascii_lowercase();
        if let Some(prev) = users.get(&key) {
            if prev == &user {
                continue; // the same object twice (overlapping pages)
            }
            let (file, name) = first_seen.get(&key).cloned().unwrap_or_default();
            return Err(InputError::Duplicate {
                file: rec.file.clone(),
                record: rec.name("id"),
                what: format!("user id {id} with different properties (first as {name})"),
                first: file,
            });
        }
        if let Some(upn) = &user.user_principal_name {
            let upn_key = upn.to_lowercase();
            if let Some((other, file, name)) = upns.get(&upn_key) {
                return Err(InputError::Duplicate {
                    file: rec.file.clone(),
                    record: rec.name("id"),
                    what: format!("userPrincipalName {upn} (first for user {other}, {name})"),
                    first: file.clone(),
                });
            }
            upns.insert(upn_key, (id.clone(), rec.file.clone(), rec.name("id")));
        }
        first_seen.insert(key.clone(), (rec.file.clone(), rec.name("id")));
        users.insert(key, user);
    }
    let no_type = users.values().filter(|u| u.user_type.is_none()).count();
    if no_type > 0 {
        warnings.push(format!(
            "{no_type} of {} users have no userType (export with $select=id,userPrincipalName,userType): \
             guest conditions fall back to the sign-in log for them",
            users.len()
        ));
    }

    // Groups from --groups.
    let mut groups: BTreeMap<String, GroupMembers> = BTreeMap::new();
    for rec in read_records(paths.groups)? {
        let id = rec.req_str("id", "id")?;
        let g = groups
            .entry(id.to_ascii_lowercase())
            .or_insert_with(|| GroupMembers {
                id: id.clone(),
                ..GroupMembers::default()
            });
        if !rec.has("transitiveMembers") {
            let reason = if rec.has("members") {
                "missing: this group lists only direct members (members), and Conditional Access \
                 counts nested membership; export /groups?$expand=transitiveMembers, or \
                 /groups/{id}/transitiveMembers pages into --group-members"
            } else {
                "missing: export /groups?$expand=transitiveMembers, or put \
                 /groups/{id}/transitiveMembers pages into --group-members (one file per group, \
                 named by the group id)"
            };
            g.missing
                .get_or_insert_with(|| rec.error("id", "transitiveMembers", reason));
            continue;
        }
        let items = match rec.get("transitiveMembers") {
            None => vec![],
            Some(Value::Array(items)) => items.clone(),
            Some(other) => {
                return Err(rec.error(
                    "id",
                    "transitiveMembers",
                    format!(
                        "expected an array of directory objects, found {}",
                        json_type(other)
                    ),
                ));
            }
        };
        let ids = member_ids(&rec, "id", "transitiveMembers", &items)?;
        if items.len() >= EXPAND_LIMIT || has_next_link(&rec, "transitiveMembers") {
            g.missing.get_or_insert_with(|| {
                rec.error(
                    "id",
                    "transitiveMembers",
                    format!(
                        "{} members: Graph returns at most {EXPAND_LIMIT} objects for $expand on \
                         directory objects, so the list may be cut short; put this group's \
                         /groups/{{id}}/transitiveMembers pages into --group-members",
                        items.len()
                    ),
                )
            });
        }
        g.members.extend(ids);
    }

    // Group members from --group-members.
    if let Some(dir) = paths.group_members {
        let files = list_files(dir, SNAPSHOT_EXTENSIONS)?;
        if files.is_empty() {
            return Err(InputError::format(
                dir,
                "no .json, .ndjson or .jsonl files in this folder",
            ));
        }
        for file in &files {
            let stem = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .unwrap_or("");
            let parent = file
                .parent()
                .filter(|p| *p != dir)
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or("");
            let gid = if is_guid(stem) {
                stem
            } else if is_guid(parent) {
                parent
            } else {
                return Err(InputError::format(
                    file,
                    "cannot tell which group this file lists: name it <group id>.json (or \
                     <group id>.<anything>.json), or keep it in a folder named by the group id",
                ));
            };
            let mut recs = Vec::new();
            read_file_records(file, &mut recs)?;
            let g = groups
                .entry(gid.to_ascii_lowercase())
                .or_insert_with(|| GroupMembers {
                    id: gid.to_string(),
                    ..GroupMembers::default()
                });
            g.from_pages = true;
            for rec in recs {
                let id = rec.req_str("id", "id")?;
                g.members.insert(id.to_ascii_lowercase());
            }
        }
    }
    for g in groups.values_mut() {
        if !g.from_pages
            && let Some(e) = g.missing.take()
        {
            return Err(e);
        }
    }

    // Reverse index: member -> groups.
    let mut member_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for g in groups.values() {
        for m in &g.members {
            member_of
                .entry(m.as_str())
                .or_default()
                .insert(g.id.as_str());
        }
    }
    let strangers = member_of
        .keys()
        .filter(|m| !users.contains_key(**m) && !groups.contains_key(**m))
        .count();
    if strangers > 0 {
        warnings.push(format!(
            "{strangers} group members are not users in --users (devices, service principals, \
             contacts, or users missing from the users export); they are left out"
        ));
    }

    // Roles.
    let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut role_grants = 0usize;
    match paths.role_members {
        None => warnings.push(
            "no --role-members: every user is written with no directory roles, so policies that \
             target roles will treat every user as holding none"
                .into(),
        ),
        Some(path) => {
            let mut scoped = 0usize;
            for rec in read_records(path)? {
                if rec.has("principalId") || rec.has("roleDefinitionId") {
                    let principal = rec.req_str("id", "principalId")?;
                    let role = rec.req_str("id", "roleDefinitionId")?;
                    let scope = rec.opt_str("id", "directoryScopeId")?;
                    if scope.as_deref().is_some_and(|s| s != "/") {
                        scoped += 1;
                        continue;
                    }
                    grants
                        .entry(principal.to_ascii_lowercase())
                        .or_default()
                        .insert(role);
                    role_grants += 1;
                } else if rec.has("roleTemplateId") || rec.has("members") {
                    let role = rec.req_str("id", "roleTemplateId")?;
                    if !rec.has("members") {
                        return Err(rec.error(
                            "id",
                            "members",
                            "missing: export /directoryRoles?$expand=members, or \
                             /roleManagement/directory/roleAssignments",
                        ));
                    }
                    let items = match rec.get("members") {
                        None => vec![],
                        Some(Value::Array(items)) => items.clone(),
                        Some(other) => {
                            return Err(rec.error(
                                "id",
                                "members",
                                format!(
                                    "expected an array of directory objects, found {}",
                                    json_type(other)
                                ),
                            ));
                        }
                    };
                    if items.len() >= EXPAND_LIMIT || has_next_link(&rec, "members") {
                        return Err(rec.error(
                            "id",
                            "members",
                            format!(
                                "{} members: Graph returns at most {EXPAND_LIMIT} objects for \
                                 $expand on directory objects, so the list may be cut short; \
                                 export /roleManagement/directory/roleAssignments instead",
                                items.len()
                            ),
                        ));
                    }
                    for m in member_ids(&rec, "id", "members", &items)? {
                        grants.entry(m).or_default().insert(role.clone());
                        role_grants += 1;
                    }
                } else {
                    return Err(rec.error(
                        "id",
                        "principalId",
                        "missing: expected a unifiedRoleAssignment (principalId, \
                         roleDefinitionId) or a directoryRole (roleTemplateId, members)",
                    ));
                }
            }
            if scoped > 0 {
                warnings.push(format!(
                    "{scoped} role assignments scoped below the tenant (administrative units, \
                     objects) are left out: Conditional Access counts tenant-wide built-in roles \
                     only"
                ));
            }
            let unknown = grants
                .keys()
                .filter(|p| !users.contains_key(*p) && !groups.contains_key(*p))
                .count();
            if unknown > 0 {
                warnings.push(format!(
                    "{unknown} role holders are neither users in --users nor groups in --groups \
                     (service principals, or objects missing from the exports); they are left out"
                ));
            }
        }
    }

    // Assemble.
    let group_count = groups.len();
    let mut out = Vec::with_capacity(users.len());
    for (key, mut user) in users {
        let mine: BTreeSet<&str> = member_of.get(key.as_str()).cloned().unwrap_or_default();
        user.groups = mine.iter().map(|g| (*g).to_string()).collect();
        if let Some(r) = grants.get(&key) {
            user.roles.extend(r.iter().cloned());
        }
        for g in &mine {
            if let Some(r) = grants.get(&g.to_ascii_lowercase()) {
                user.roles.extend(r.iter().cloned());
            }
        }
        out.push(user);
    }
    Ok(Imported {
        users: out,
        groups: group_count,
        role_grants,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("0a6f3e2d-1b9c-4e87-a5d4-62c1f0e9b873"));
        assert!(!is_guid("0a6f3e2d1b9c-4e87-a5d4-62c1f0e9b873x"));
        assert!(!is_guid("members"));
    }
}
