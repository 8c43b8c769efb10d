//! Reading the tenant snapshot given with `--directory`:
//!
//! ```json
//! {"users":[{"id":"<guid>","userPrincipalName":"a@b","userType":"Member"|"Guest",
//!            "groups":["<group id>", ...], "roles":["<role template id>", ...]}]}
//! ```
//!
//! A bare array of users is accepted too, and so is a folder of such files (merged in bytewise
//! path order). `groups`/`roles` items may be id strings or objects with an `id`. Other keys are
//! ignored. Duplicate user ids or UPNs are errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::InputError;
use crate::model::{Directory, DirectoryUser};
use crate::text::{json_type, list_files, read_json};

/// Reads the directory snapshot at `path` (a file, or a folder of `.json` files).
pub fn load_directory(path: &Path) -> Result<Directory, InputError> {
    let files = list_files(path, &["json"])?;
    if files.is_empty() {
        return Err(InputError::format(path, "no .json files in this folder"));
    }
    let mut b = Builder::default();
    for file in &files {
        let value = read_json(file)?;
        b.add(&value, file)?;
    }
    Ok(b.dir)
}

/// Parses a directory snapshot from an already-parsed JSON document.
pub fn directory_from_json(value: &Value, file: &Path) -> Result<Directory, InputError> {
    let mut b = Builder::default();
    b.add(value, file)?;
    Ok(b.dir)
}

#[derive(Default)]
struct Builder {
    dir: Directory,
    /// Lowercase user id -> (file, index) of its first occurrence.
    ids: BTreeMap<String, (PathBuf, usize)>,
    /// Lowercase UPN -> (file, index).
    upns: BTreeMap<String, (PathBuf, usize)>,
}

impl Builder {
    fn add(&mut self, value: &Value, file: &Path) -> Result<(), InputError> {
        let users = match value {
            Value::Object(m) => match m.get("users") {
                Some(Value::Array(a)) => a,
                Some(other) => {
                    return Err(InputError::field(
                        file,
                        "directory snapshot",
                        "users",
                        format!("expected an array of users, found {}", json_type(other)),
                    ));
                }
                None => {
                    return Err(InputError::format(
                        file,
                        "expected a directory snapshot {\"users\":[{\"id\":...,\"userPrincipalName\":...,\
                         \"userType\":...,\"groups\":[...],\"roles\":[...]}]}: no \"users\" key",
                    ));
                }
            },
            Value::Array(a) => a,
            other => {
                return Err(InputError::format(
                    file,
                    format!(
                        "expected a directory snapshot {{\"users\":[...]}}, found {}",
                        json_type(other)
                    ),
                ));
            }
        };
        for (i, u) in users.iter().enumerate() {
            let user = parse_user(u, i, file)?;
            let record = format!("user {i} (id {})", user.id);
            if let Some((first, j)) = self.ids.get(&user.id.to_ascii_lowercase()) {
                return Err(InputError::Duplicate {
                    file: file.to_path_buf(),
                    record,
                    what: format!("user id {} (first as user {j})", user.id),
                    first: first.clone(),
                });
            }
            if let Some(upn) = &user.user_principal_name {
                let key = upn.to_lowercase();
                if let Some((first, j)) = self.upns.get(&key) {
                    return Err(InputError::Duplicate {
                        file: file.to_path_buf(),
                        record,
                        what: format!("userPrincipalName {upn} (first as user {j})"),
                        first: first.clone(),
                    });
                }
                self.upns.insert(key.clone(), (file.to_path_buf(), i));
                self.dir.by_upn.insert(key, user.id.clone());
            }
            self.ids
                .insert(user.id.to_ascii_lowercase(), (file.to_path_buf(), i));
            self.dir.users.insert(user.id.clone(), user);
        }
        Ok(())
    }
}

fn parse_user(v: &Value, i: usize, file: &Path) -> Result<DirectoryUser, InputError> {
    let anon = format!("user {i}");
    let Value::Object(m) = v else {
        return Err(InputError::format(
            file,
            format!("user {i}: expected a user object, found {}", json_type(v)),
        ));
    };
    let id = match m.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) => return Err(InputError::field(file, anon, "id", "empty")),
        None | Some(Value::Null) => return Err(InputError::field(file, anon, "id", "missing")),
        Some(other) => {
            return Err(InputError::field(
                file,
                anon,
                "id",
                format!("expected a string, found {}", json_type(other)),
            ));
        }
    };
    let record = format!("user {i} (id {id})");
    let opt_string = |field: &str| -> Result<Option<String>, InputError> {
        match m.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(InputError::field(
                file,
                record.clone(),
                field,
                format!("expected a string, found {}", json_type(other)),
            )),
        }
    };
    let ids = |field: &str| -> Result<std::collections::BTreeSet<String>, InputError> {
        let mut out = std::collections::BTreeSet::new();
        match m.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (j, item) in items.iter().enumerate() {
                    let id = match item {
                        Value::String(s) => Some(s),
                        // A Graph directoryRole object: its template id is what policies name.
                        Value::Object(o) => match (o.get("roleTemplateId"), o.get("id")) {
                            (Some(Value::String(s)), _) if field == "roles" => Some(s),
                            (_, Some(Value::String(s))) => Some(s),
                            _ => None,
                        },
                        _ => None,
                    };
                    match id {
                        Some(s) if !s.trim().is_empty() => {
                            out.insert(s.trim().to_string());
                        }
                        _ => {
                            return Err(InputError::field(
                                file,
                                record.clone(),
                                format!("{field}[{j}]"),
                                format!(
                                    "expected an id string (or an object with an \"id\"), found {}",
                                    json_type(item)
                                ),
                            ));
                        }
                    }
                }
            }
            Some(other) => {
                return Err(InputError::field(
                    file,
                    record.clone(),
                    field,
                    format!("expected an array of ids, found {}", json_type(other)),
                ));
            }
        }
        Ok(out)
    };
    Ok(DirectoryUser {
        user_principal_name: opt_string("userPrincipalName")?,
        user_type: opt_string("userType")?,
        groups: ids("groups")?,
        roles: ids("roles")?,
        id,
    })
}
