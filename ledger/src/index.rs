//! The subject index: which entries of a kind are about a sign-in (or a policy snapshot), so a
//! producer can record an export twice and add nothing the second time.
//!
//! The index is a lookup aid, never evidence. It is a pure function of the envelopes — for
//! every entry with a `signInId` subject member (or, for a `policy` entry, a
//! `policySetSha256` member; for an `action` without a `signInId`, an `auditId` member,
//! indexed as `audit:<id>`): `(kind, lowercased id, seq)`, the kind taken from the parsed
//! envelope, not from the unsigned `kind` column — so it can always be rebuilt. It is brought
//! up to date inside the write transaction of every [`crate::Ledger::append_once`] (entries
//! written by other paths are indexed then), and every hit is checked against the envelope
//! it names before it is used; a hit that does not match makes vigil rebuild the index from
//! the entries. Verification ignores it. See SPEC.md §11.

use rusqlite::{Connection, OptionalExtension, params};

use crate::entry::{Envelope, Kind};

/// Tables of the index, created on first use (ledgers made before it existed lack them).
const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS subject_index(
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY(kind, id, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subject_index_state(
    one INTEGER PRIMARY KEY CHECK (one = 0),
    next_seq INTEGER NOT NULL
) STRICT;
";

/// The subject member whose value an entry of `kind` is indexed under.
pub fn id_member(kind: Kind) -> &'static str {
    match kind {
        Kind::Policy => "policySetSha256",
        _ => "signInId",
    }
}

/// The subject member of an `action` entry that records a directory change from an audit
/// log: such entries are indexed under their audit record id.
pub const AUDIT_MEMBER: &str = "auditId";

/// The index id of an audit record id (prefixed, so that it never equals a sign-in id).
pub fn audit_index_id(audit_id: &str) -> String {
    format!("audit:{}", audit_id.to_ascii_lowercase())
}

/// The id an entry of `kind` with this subject is indexed under, if any: its `signInId` (for
/// `policy` entries, `policySetSha256`), else for an `action` its `auditId` (see
/// [`audit_index_id`]). Lowercased: sign-in ids are GUIDs, which exports write in either case.
pub fn subject_id(
    kind: Kind,
    subject: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    if kind.is_ledger_only() {
        return None;
    }
    match subject.get(id_member(kind)) {
        Some(v) => Some(v.to_ascii_lowercase()),
        None if kind == Kind::Action => subject.get(AUDIT_MEMBER).map(|v| audit_index_id(v)),
        None => None,
    }
}

/// The id an envelope is indexed under, if any (see [`subject_id`]).
pub fn index_id(env: &Envelope) -> Option<String> {
    subject_id(env.kind, &env.subject)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Creates the tables if needed. Must run inside a write transaction.
pub(crate) fn ensure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// Seq of the first entry not yet indexed.
fn next_seq(conn: &Connection) -> rusqlite::Result<u64> {
    let n: Option<i64> = conn
        .query_row(
            "SELECT next_seq FROM subject_index_state WHERE one = 0",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(n.map_or(0, to_u64))
}

/// Records that every entry below `next` is indexed.
pub(crate) fn set_next_seq(conn: &Connection, next: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO subject_index_state(one, next_seq) VALUES (0, ?1)
         ON CONFLICT(one) DO UPDATE SET next_seq = excluded.next_seq",
    )?
    .execute([to_i64(next)])?;
    Ok(())
}

const INSERT: &str = "INSERT OR IGNORE INTO subject_index(kind, id, seq) VALUES (?1, ?2, ?3)";
const FIRST: &str =
    "SELECT seq FROM subject_index WHERE kind = ?1 AND id = ?2 ORDER BY seq LIMIT 1";

/// Adds one entry to the index.
pub(crate) fn insert(conn: &Connection, kind: Kind, id: &str, seq: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT)?
        .execute(params![kind.as_str(), id, to_i64(seq)])?;
    Ok(())
}

/// The lookup and the insert an append runs for every entry, prepared once for the batch.
pub(crate) struct Statements<'c> {
    first: rusqlite::Statement<'c>,
    insert: rusqlite::Statement<'c>,
}

impl<'c> Statements<'c> {
    pub(crate) fn new(conn: &'c Connection) -> rusqlite::Result<Statements<'c>> {
        Ok(Statements {
            first: conn.prepare(FIRST)?,
            insert: conn.prepare(INSERT)?,
        })
    }

    /// As [`first`].
    pub(crate) fn first(&mut self, kind: Kind, id: &str) -> rusqlite::Result<Option<u64>> {
        self.first
            .query_row(params![kind.as_str(), id], |r| r.get::<_, i64>(0))
            .optional()
            .map(|s| s.map(to_u64))
    }

    /// As [`insert`].
    pub(crate) fn insert(&mut self, kind: Kind, id: &str, seq: u64) -> rusqlite::Result<()> {
        self.insert
            .execute(params![kind.as_str(), id, to_i64(seq)])?;
        Ok(())
    }
}

/// Indexes every entry from the last indexed one to the end. Must run inside a write
/// transaction (after [`ensure`]).
pub(crate) fn catch_up(conn: &Connection) -> rusqlite::Result<()> {
    let from = next_seq(conn)?;
    let mut last: Option<u64> = None;
    {
        let mut stmt = conn.prepare("SELECT seq, envelope FROM entries WHERE seq >= ?1")?;
        let mut rows = stmt.query([to_i64(from)])?;
        while let Some(row) = rows.next()? {
            let seq = to_u64(row.get(0)?);
            let bytes: Vec<u8> = row.get(1)?;
            if let Ok(env) = Envelope::parse_lenient(&bytes)
                && let Some(id) = index_id(&env)
            {
                insert(conn, env.kind, &id, seq)?;
            }
            last = Some(seq);
        }
    }
    if let Some(l) = last {
        set_next_seq(conn, l + 1)?;
    }
    Ok(())
}

/// Throws the index away and rebuilds it from the entries.
pub(crate) fn rebuild(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("DELETE FROM subject_index; DELETE FROM subject_index_state;")?;
    catch_up(conn)
}

/// Seq of the first entry of `kind` indexed under `id`.
pub(crate) fn first(conn: &Connection, kind: Kind, id: &str) -> rusqlite::Result<Option<u64>> {
    conn.prepare_cached(FIRST)?
        .query_row(params![kind.as_str(), id], |r| r.get::<_, i64>(0))
        .optional()
        .map(|s| s.map(to_u64))
}

/// Seqs of the entries of `kind` indexed under `id`, lowest first.
pub(crate) fn lookup(conn: &Connection, kind: Kind, id: &str) -> rusqlite::Result<Vec<u64>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq FROM subject_index WHERE kind = ?1 AND id = ?2 ORDER BY seq")?;
    let rows = stmt.query_map(params![kind.as_str(), id], |r| r.get::<_, i64>(0))?;
    rows.map(|r| r.map(to_u64)).collect()
}

/// The highest-seq entry of `kind` in the index, with its id.
pub(crate) fn latest(conn: &Connection, kind: Kind) -> rusqlite::Result<Option<(u64, String)>> {
    conn.prepare_cached(
        "SELECT seq, id FROM subject_index WHERE kind = ?1 ORDER BY seq DESC LIMIT 1",
    )?
    .query_row([kind.as_str()], |r| Ok((to_u64(r.get(0)?), r.get(1)?)))
    .optional()
}

/// Whether the stored entry at `seq` really is of `kind` and indexed under `id` (its hash and
/// envelope as stored; `None` when it is not).
pub(crate) fn confirm(
    conn: &Connection,
    kind: Kind,
    id: &str,
    seq: u64,
) -> rusqlite::Result<Option<[u8; 32]>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .prepare_cached("SELECT hash, envelope FROM entries WHERE seq = ?1")?
        .query_row([to_i64(seq)], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((hash, envelope)) = row else {
        return Ok(None);
    };
    let Ok(env) = Envelope::parse_lenient(&envelope) else {
        return Ok(None);
    };
    if env.kind != kind || env.seq != seq || index_id(&env).as_deref() != Some(id) {
        return Ok(None);
    }
    Ok(<[u8; 32]>::try_from(hash.as_slice()).ok())
}
