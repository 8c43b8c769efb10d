//! `vigil directory import`: the `--directory` snapshot from Microsoft Graph exports.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use vigil_simulator::directory_import::{ImportPaths, MEMBERSHIP_WARNING, import_directory};

use crate::Outcome;
use crate::output::info;

/// `vigil directory ...`.
#[derive(Subcommand)]
pub enum DirectoryCommand {
    /// Build the --directory snapshot from Graph exports of users, groups with transitive members
    /// and directory role members.
    #[command(long_about = IMPORT_LONG_ABOUT)]
    Import(DirectoryImportArgs),
}

const IMPORT_LONG_ABOUT: &str = "\
Build the --directory snapshot of `vigil simulate` from Microsoft Graph exports.

Each PATH is a file or a folder of .json/.ndjson/.jsonl files holding a JSON array, Graph list
pages {\"value\":[...]} (one or several), or NDJSON; UTF-8 or UTF-16; keys in any case.

  --users          GET /users?$select=id,userPrincipalName,userType
  --groups         GET /groups?$expand=transitiveMembers (each group with a transitiveMembers
                   array), or a plain GET /groups list with the members in --group-members
  --group-members  GET /groups/{id}/transitiveMembers pages, one file per group named by the
                   group id (<group id>.json, <group id>.page2.json) or in a folder named by it
  --role-members   GET /roleManagement/directory/roleAssignments (principalId, roleDefinitionId;
                   tenant-wide assignments only), or GET /directoryRoles?$expand=members
                   (roleTemplateId, members)

Graph returns at most 20 objects for $expand on directory objects: a group or role whose expanded
list has 20 or more entries must come from --group-members or roleAssignments instead. A group
with only direct `members` is refused (Conditional Access counts nested membership).

The output is {\"users\":[{\"id\",\"userPrincipalName\",\"userType\",\"groups\":[...],\"roles\":[...]}]},
sorted. A snapshot shows membership today, not at each sign-in's time.";

/// `directory import`.
#[derive(Args)]
pub struct DirectoryImportArgs {
    /// Users export (id, userPrincipalName, userType).
    #[arg(long, value_name = "PATH")]
    pub users: PathBuf,
    /// Groups export, with transitiveMembers expanded or with --group-members.
    #[arg(long, value_name = "PATH")]
    pub groups: PathBuf,
    /// /groups/{id}/transitiveMembers pages, one file (or folder) per group named by its id.
    #[arg(long, value_name = "PATH")]
    pub group_members: Option<PathBuf>,
    /// Role assignments (/roleManagement/directory/roleAssignments) or /directoryRoles?$expand=members.
    #[arg(long, value_name = "PATH")]
    pub role_members: Option<PathBuf>,
    /// The snapshot to write (directory.json).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

/// Runs a `directory` subcommand.
pub fn run(cmd: &DirectoryCommand) -> Result<Outcome> {
    match cmd {
        DirectoryCommand::Import(a) => import(a),
    }
}

fn import(a: &DirectoryImportArgs) -> Result<Outcome> {
    let imported = import_directory(&ImportPaths {
        users: &a.users,
        groups: &a.groups,
        group_members: a.group_members.as_deref(),
        role_members: a.role_members.as_deref(),
    })?;
    fs::write(&a.out, imported.to_json())
        .with_context(|| format!("{}: cannot write the snapshot", a.out.display()))?;
    eprintln!("warning: {MEMBERSHIP_WARNING}");
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    info(format!(
        "wrote {} users ({} groups, {} role grants) to {}",
        imported.users.len(),
        imported.groups,
        imported.role_grants,
        a.out.display()
    ));
    Ok(Outcome::Ok)
}
