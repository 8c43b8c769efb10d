//! SQLite storage: the append path, the write lock, proofs from stored subtree hashes,
//! checkpoints and redaction.
//!
//! Durability: WAL mode with `synchronous=FULL`, so a transaction that returned from
//! COMMIT has been fsync'd. Triggers refuse UPDATE and DELETE of everything that is
//! evidence; the single exception is deleting a payload whose redaction is recorded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::canon::CanonicalPayload;
use crate::entry::{self, Envelope, Kind, Ref};
use crate::index;
use crate::merkle::{self, Frontier, Hash, NodeSource};
use crate::note::{Checkpoint, SignedCheckpoint, SignerKey};
use crate::registry::{KeyOp, Registry};

/// Format marker stored in the database's `meta` table.
pub const DB_FORMAT: &str = "vigil-ledger/1";

/// Longest a writer waits for another process's write lock.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// What went wrong in a ledger operation.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite reported an error.
    #[error("{path}: database error: {source}")]
    Db {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The request is not valid for this ledger (bad input); nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// The database is not a vigil ledger, or is damaged in a way that stops the operation.
    #[error("{path}: {reason}")]
    State {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// An entry to append, before it has a position.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Its kind.
    pub kind: Kind,
    /// Opaque identifiers.
    pub subject: BTreeMap<String, String>,
    /// Earlier entries it depends on.
    pub refs: Vec<Ref>,
    /// The payload (stored apart from the entry, committed by a salted hash).
    pub payload: serde_json::Value,
}

/// An entry that was appended and committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Its position.
    pub seq: u64,
    /// Its leaf hash.
    pub hash: Hash,
}

/// Where an entry given to [`Ledger::append_once`] is on the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Its position and leaf hash.
    pub entry: Appended,
    /// `true` when this call appended it; `false` when an entry of the same kind about the
    /// same subject id was already on the ledger (and `entry` is that one).
    pub new: bool,
}

/// An item of an earlier group of the same [`Ledger::append_once_groups`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRef {
    /// The group's index in the call.
    pub group: usize,
    /// The item's index in its group.
    pub item: usize,
}

/// Entries one key signs, in a [`Ledger::append_once_groups`] call.
#[derive(Debug)]
pub struct Group<'a> {
    /// The key that signs them.
    pub signer: &'a SignerKey,
    /// The entries, in order.
    pub items: Vec<NewEntry>,
    /// Per item (by index; missing or empty: none), refs to the entries recorded for items of
    /// earlier groups (appended by this call or already on the ledger), added after the item's
    /// own refs, in this order.
    pub links: Vec<Vec<ItemRef>>,
}

/// An entry whose work that does not depend on its position is done: its subject checked, its
/// payload in canonical form with a fresh salt and the commitment to both. [`prepare_groups`]
/// makes them (on every core), so a producer can prepare its next batch while the ledger signs
/// and stores the batch before; [`Ledger::append_once_prepared`] appends them.
#[derive(Debug, Clone)]
pub struct PreparedEntry {
    kind: Kind,
    subject: BTreeMap<String, String>,
    refs: Vec<Ref>,
    /// The payload of a `key` entry (the registry needs it again); `None` for other kinds.
    key_op: Option<serde_json::Value>,
    salt: [u8; 32],
    payload: Vec<u8>,
    commitment: Hash,
}

impl PreparedEntry {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Its canonical payload (RFC 8785).
    pub fn canonical_payload(&self) -> &[u8] {
        &self.payload
    }
}

/// [`Group`] with its entries prepared ([`prepare_groups`]).
#[derive(Debug)]
pub struct PreparedGroup<'a> {
    /// The key that signs them.
    pub signer: &'a SignerKey,
    /// The entries, in order.
    pub items: Vec<PreparedEntry>,
    /// As [`Group::links`].
    pub links: Vec<Vec<ItemRef>>,
}

/// Prepares the entries of `groups` for [`Ledger::append_once_prepared`], on every core: checks
/// each subject, canonicalizes each payload (RFC 8785) and commits to it with a fresh random salt.
/// Needs no ledger: a producer runs it ahead, while earlier batches are signed and stored.
pub fn prepare_groups(groups: Vec<Group<'_>>) -> Result<Vec<PreparedGroup<'_>>, LedgerError> {
    let mut out: Vec<PreparedGroup<'_>> = Vec::with_capacity(groups.len());
    let mut flat: Vec<NewEntry> = Vec::with_capacity(groups.iter().map(|g| g.items.len()).sum());
    let mut lens = Vec::with_capacity(groups.len());
    for g in groups {
        lens.push(g.items.len());
        flat.extend(g.items);
        out.push(PreparedGroup {
            signer: g.signer,
            items: Vec::new(),
            links: g.links,
        });
    }
    let mut prepared = prepare_entries(flat)?.into_iter();
    for (group, n) in out.iter_mut().zip(lens) {
        group.items = prepared.by_ref().take(n).collect();
    }
    Ok(out)
}

/// The position-independent work of an append, on every core (see [`prepare_groups`]).
fn prepare_entries(items: Vec<NewEntry>) -> Result<Vec<PreparedEntry>, LedgerError> {
    use rayon::prelude::*;
    let salts = salts(items.len())?;
    items
        .into_par_iter()
        .zip(salts)
        .map(|(item, salt)| {
            let payload = entry::canonical_payload(&item.payload)
                .map_err(|e| LedgerError::Invalid(format!("payload: {e}")))?;
            // Only key entries need their payload again (to update the registry); the
            // others drop it here, on every core.
            let NewEntry {
                kind,
                subject,
                refs,
                payload: value,
            } = item;
            prepare_entry(
                kind,
                subject,
                refs,
                (kind == Kind::Key).then_some(value),
                payload,
                salt,
            )
        })
        .collect()
}

/// One entry's position-independent work, its payload already canonical.
fn prepare_entry(
    kind: Kind,
    subject: BTreeMap<String, String>,
    refs: Vec<Ref>,
    key_op: Option<serde_json::Value>,
    payload: Vec<u8>,
    salt: [u8; 32],
) -> Result<PreparedEntry, LedgerError> {
    for (k, v) in &subject {
        entry::validate_subject_key(k).map_err(LedgerError::Invalid)?;
        entry::validate_subject_value(k, v).map_err(LedgerError::Invalid)?;
    }
    let commitment = entry::payload_commitment(&salt, &payload);
    Ok(PreparedEntry {
        kind,
        subject,
        refs,
        key_op,
        salt,
        payload,
        commitment,
    })
}

/// [`NewEntry`] whose payload is already in canonical form.
#[derive(Debug, Clone)]
pub struct NewCanonicalEntry {
    /// Its kind.
    pub kind: Kind,
    /// Opaque identifiers.
    pub subject: BTreeMap<String, String>,
    /// Earlier entries it depends on.
    pub refs: Vec<Ref>,
    /// The payload, canonical.
    pub payload: CanonicalPayload,
}

/// [`Group`] of entries whose payloads are already in canonical form.
#[derive(Debug)]
pub struct CanonicalGroup<'a> {
    /// The key that signs them.
    pub signer: &'a SignerKey,
    /// The entries, in order.
    pub items: Vec<NewCanonicalEntry>,
    /// As [`Group::links`].
    pub links: Vec<Vec<ItemRef>>,
}

/// [`prepare_groups`] for entries whose payloads are already canonical (written by
/// [`CanonicalPayload`] straight from the producer's records): checks each subject and
/// commits to each payload with a fresh random salt, on every core. The prepared entries are
/// those [`prepare_groups`] gives for the same payloads as JSON values.
pub fn prepare_canonical_groups(
    groups: Vec<CanonicalGroup<'_>>,
) -> Result<Vec<PreparedGroup<'_>>, LedgerError> {
    use rayon::prelude::*;
    let total = groups.iter().map(|g| g.items.len()).sum();
    let mut salts = salts(total)?.into_iter();
    groups
        .into_iter()
        .map(|g| {
            let salts: Vec<[u8; 32]> = salts.by_ref().take(g.items.len()).collect();
            let items =
                g.items
                    .into_par_iter()
                    .zip(salts)
                    .map(|(item, salt)| {
                        let key_op =
                            if item.kind == Kind::Key {
                                Some(serde_json::from_slice(item.payload.as_bytes()).map_err(
                                    |e| LedgerError::Invalid(format!("key entry payload: {e}")),
                                )?)
                            } else {
                                None
                            };
                        prepare_entry(
                            item.kind,
                            item.subject,
                            item.refs,
                            key_op,
                            item.payload.into_bytes(),
                            salt,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
            Ok(PreparedGroup {
                signer: g.signer,
                items,
                links: g.links,
            })
        })
        .collect()
}

/// Links point to an item of an earlier group.
/// For groups given as (entries, links): `true` when they hold no entry at all; otherwise their
/// links are checked ([`check_links`]).
fn nothing_or_checked<'a>(
    groups: impl Iterator<Item = (usize, &'a Vec<Vec<ItemRef>>)>,
) -> Result<bool, LedgerError> {
    let (lens, links): (Vec<usize>, Vec<_>) = groups.unzip();
    if lens.iter().sum::<usize>() == 0 {
        return Ok(true);
    }
    check_links(&lens, &links)?;
    Ok(false)
}

fn check_links(lens: &[usize], links: &[&Vec<Vec<ItemRef>>]) -> Result<(), LedgerError> {
    for (g, group) in links.iter().enumerate() {
        for links in group.iter() {
            for l in links {
                if l.group >= g || l.item >= lens[l.group] {
                    return Err(LedgerError::Invalid(format!(
                        "group {g} links to item {} of group {}, which is not an item of an earlier group",
                        l.item, l.group
                    )));
                }
            }
        }
    }
    Ok(())
}

/// One stored entry row.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// Row position.
    pub seq: u64,
    /// Stored leaf hash.
    pub hash: Vec<u8>,
    /// Canonical envelope bytes.
    pub envelope: Vec<u8>,
    /// Signing key id.
    pub key_id: Vec<u8>,
    /// Signature.
    pub sig: Vec<u8>,
    /// Salt and canonical payload, unless redacted.
    pub payload: Option<(Vec<u8>, Vec<u8>)>,
}

/// One entry as [`Ledger::for_each_view`] lends it.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    /// Row position.
    pub seq: u64,
    /// Canonical envelope bytes.
    pub envelope: &'a [u8],
    /// Signing key id.
    pub key_id: &'a [u8],
    /// Canonical payload, when the row's `kind` column was asked for and it is not redacted.
    pub payload: Option<&'a [u8]>,
}

/// A row of `SELECT seq, hash, envelope, key_id, sig, salt, payload`.
fn stored_entry(r: &rusqlite::Row) -> rusqlite::Result<StoredEntry> {
    let salt: Option<Vec<u8>> = r.get(5)?;
    let payload: Option<Vec<u8>> = r.get(6)?;
    Ok(StoredEntry {
        seq: to_u64(r.get(0)?),
        hash: r.get(1)?,
        envelope: r.get(2)?,
        key_id: r.get(3)?,
        sig: r.get(4)?,
        payload: salt.zip(payload),
    })
}

const SCHEMA: &str = r"
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE entries(
    seq INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    envelope BLOB NOT NULL,
    kind TEXT NOT NULL,
    key_id BLOB NOT NULL,
    sig BLOB NOT NULL
) STRICT;
CREATE INDEX entries_key_kind ON entries(seq) WHERE kind = 'key';
CREATE TABLE payloads(seq INTEGER PRIMARY KEY, salt BLOB NOT NULL, payload BLOB NOT NULL) STRICT;
CREATE TABLE redacted(seq INTEGER PRIMARY KEY, by_seq INTEGER NOT NULL) STRICT;
CREATE TABLE nodes(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY(level, idx)) STRICT, WITHOUT ROWID;
CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, created TEXT NOT NULL) STRICT;
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'vigil: the ledger is append-only'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta BEGIN SELECT RAISE(ABORT, 'vigil: the ledger is append-only'); END;
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries BEGIN SELECT RAISE(ABORT, 'vigil: ledger entries are append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'vigil: ledger entries are append-only'); END;
CREATE TRIGGER nodes_no_update BEFORE UPDATE ON nodes BEGIN SELECT RAISE(ABORT, 'vigil: the ledger is append-only'); END;
CREATE TRIGGER nodes_no_delete BEFORE DELETE ON nodes BEGIN SELECT RAISE(ABORT, 'vigil: the ledger is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'vigil: checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'vigil: checkpoints are append-only'); END;
CREATE TRIGGER redacted_no_update BEFORE UPDATE ON redacted BEGIN SELECT RAISE(ABORT, 'vigil: the ledger is append-only'); END;
CREATE TRIGGER redacted_no_delete BEFORE DELETE ON redacted BEGIN SELECT RAISE(ABORT, 'vigil: the ledger is append-only'); END;
CREATE TRIGGER payloads_no_update BEFORE UPDATE ON payloads BEGIN SELECT RAISE(ABORT, 'vigil: payloads cannot be changed'); END;
CREATE TRIGGER payloads_delete_only_redacted BEFORE DELETE ON payloads
    WHEN NOT EXISTS (SELECT 1 FROM redacted WHERE seq = OLD.seq)
    BEGIN SELECT RAISE(ABORT, 'vigil: a payload can only be removed by a recorded redaction'); END;
";

/// An open ledger database.
pub struct Ledger {
    /// Declared first, so that it stops (and lets go of the database) before `conn` closes.
    checkpointer: Option<Checkpointer>,
    conn: Connection,
    path: PathBuf,
    origin: String,
    registry: Option<(Option<u64>, Registry)>,
}

/// Page size of the ledgers vigil creates (older ledgers keep theirs). Against SQLite's default
/// 4 KiB it makes a database about 8% smaller and `record` about 7% faster: a quarter as many
/// WAL frames (one `pwrite` each) to commit and checkpoint, and fewer B-tree pages per entry.
const PAGE_SIZE: i64 = 16_384;

/// WAL size at which the writing connection checkpoints by itself (in pages: this over the
/// page size).
const WAL_CHECKPOINT_BYTES: i64 = 400 << 20;

/// Appends at least this many entries in one transaction wake the [`Checkpointer`].
const BULK_ENTRIES: usize = 1024;

/// Copies committed WAL frames into the database file on its own thread and connection, while
/// the appending thread builds, signs and commits the next batch.
///
/// A bulk append (`record` of an export) otherwise pays for the copy on its own thread: at
/// every automatic checkpoint, and for the whole run at close, when the last connection
/// checkpoints. A passive checkpoint never blocks the writer or waits for a lock; one that
/// finds the database busy is skipped, and the next wake (or the checkpoint at close) copies
/// what it left. Durability does not depend on it: every commit is already in the fsynced WAL.
struct Checkpointer {
    /// Dropped to stop the thread.
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Checkpointer {
        // One pending wake is enough: a checkpoint copies everything committed before it.
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("vigil-checkpoint".into())
            .spawn(move || {
                let Ok(conn) = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                ) else {
                    return;
                };
                // As durable as the appending connection: the WAL is synced before its frames
                // are copied, the database after.
                if conn.pragma_update(None, "synchronous", "FULL").is_err() {
                    return;
                }
                for () in woken {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok();
        Checkpointer {
            wake: Some(wake),
            thread,
        }
    }

    fn wake(&self) {
        if let Some(w) = &self.wake {
            let _ = w.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop after the checkpoint in progress.
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Perfect-subtree hashes read from the database (level 0 = entry hashes).
pub struct DbNodes<'a> {
    conn: &'a Connection,
}

impl NodeSource for DbNodes<'_> {
    type Error = rusqlite::Error;
    fn node(&self, level: u32, index: u64) -> Result<Hash, rusqlite::Error> {
        let idx = i64::try_from(index)
            .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(1, i64::MAX))?;
        let blob: Vec<u8> = if level == 0 {
            self.conn
                .prepare_cached("SELECT hash FROM entries WHERE seq = ?1")?
                .query_row([idx], |r| r.get(0))?
        } else {
            self.conn
                .prepare_cached("SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2")?
                .query_row(params![level, idx], |r| r.get(0))?
        };
        blob.try_into().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Blob,
                "stored hash is not 32 bytes".into(),
            )
        })
    }
}

/// Entries signed per step of the sign/insert pipeline in `append`: small enough that signing
/// starts soon after a batch does and the last inserts after it ends are few.
const SIGN_CHUNK: usize = 256;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(LOCK_WAIT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // A redaction must erase the payload's bytes, not just unlink them: deleted content is
    // overwritten with zeros (only redactions ever delete anything).
    conn.pragma_update(None, "secure_delete", "ON")?;
    // 64 MiB of page cache: a batch's dirty pages stay in memory until the commit writes them
    // (instead of spilling to the WAL mid-transaction), and proof reads hit cached nodes.
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Checkpoint the WAL into the database every ~400 MB of WAL rather than SQLite's default
    // 1,000 pages (4-16 MB): each checkpoint rewrites the pages a batch touched and fsyncs the
    // database file, which at the default interval cost a batch of 10,000 appends about 8%.
    // Durability is unchanged (every commit is fsynced in the WAL); the last connection to close
    // checkpoints anyway, and a redaction checkpoints at once (see `Ledger::redact`).
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        WAL_CHECKPOINT_BYTES / page_size.max(512),
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    // Query plans must not depend on bound values: otherwise SQLite marks a statement such as
    // the subject-index lookup for re-preparation whenever a parameter is rebound, and
    // re-prepares it on every execution (a tenth of `record`'s time).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Fills `n` fresh random 32-byte salts.
fn salts(n: usize) -> Result<Vec<[u8; 32]>, LedgerError> {
    let mut buf = vec![0u8; n * 32];
    getrandom::fill(&mut buf).map_err(|e| {
        LedgerError::Invalid(format!("the system random number generator failed: {e}"))
    })?;
    Ok(buf
        .chunks_exact(32)
        .map(|c| {
            let mut s = [0u8; 32];
            s.copy_from_slice(c);
            s
        })
        .collect())
}

/// A chunk of entries to sign: each entry's key and canonical envelope.
type Chunk<'k> = Vec<(&'k SignerKey, Vec<u8>)>;

/// Where the next entry goes: its seq, the hash of the entry before it and that entry's time
/// (the next entries' time is never earlier).
#[derive(Clone)]
struct Tip {
    seq: u64,
    prev: Hash,
    ts: Option<jiff::Timestamp>,
}

/// A batch built: its entries' envelopes hashed, placed and handed to be signed.
struct Built<'k> {
    /// Tags the batch's chunks coming back from the signing threads.
    generation: u64,
    groups: Vec<PreparedGroup<'k>>,
    key_ids: Vec<[u8; 4]>,
    first_seq: u64,
    /// Entry hashes of the new entries, in order (seq `first_seq + index`).
    hashes: Vec<Hash>,
    /// (group, item) of each new entry, in order.
    new: Vec<(usize, usize)>,
    /// Per group, per item: `Ok((index into hashes, appended by this item))` when it is in
    /// this batch, `Err(entry)` when it was already recorded (append_once only).
    placed: Vec<Vec<Result<(usize, bool), Appended>>>,
    /// append_once: the subject ids of the new entries, with their index in `hashes`.
    ids: std::collections::HashMap<(Kind, String), usize>,
    /// New entries stored so far.
    inserted: usize,
}

impl Built<'_> {
    /// Puts the batch's subject ids in the index (in the batch's own transaction).
    fn insert_index(&self, statements: &mut index::Statements<'_>) -> rusqlite::Result<()> {
        for ((kind, id), &i) in &self.ids {
            statements.insert(*kind, id, self.first_seq + i as u64)?;
        }
        Ok(())
    }

    /// Where each item went.
    fn recorded(&self) -> Vec<Vec<Recorded>> {
        self.placed
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|p| match *p {
                        Ok((i, new)) => Recorded {
                            entry: Appended {
                                seq: self.first_seq + i as u64,
                                hash: self.hashes[i],
                            },
                            new,
                        },
                        Err(entry) => Recorded { entry, new: false },
                    })
                    .collect()
            })
            .collect()
    }
}

/// Builds a batch after `tip` (and advances it): resolves links, finds the entries already
/// recorded (append_once: `statements`), checks keys and refs, writes and hashes each new
/// envelope and sends them to `to_sign` a chunk at a time. `before` is the batch built before
/// this one when that batch is not committed yet: its entries count as recorded, and an index
/// entry that does not match its envelope gives the groups back (`Err`) rather than rebuilding
/// the index under that batch.
#[allow(clippy::too_many_arguments)]
fn build_batch<'k>(
    conn: &Connection,
    groups: Vec<PreparedGroup<'k>>,
    tip: &mut Tip,
    registry: &mut Option<Registry>,
    mut statements: Option<&mut index::Statements<'_>>,
    before: Option<&Built<'k>>,
    generation: u64,
    to_sign: &std::sync::mpsc::Sender<(u64, Chunk<'k>)>,
    db_err: &dyn Fn(rusqlite::Error) -> LedgerError,
) -> Result<Result<Built<'k>, Vec<PreparedGroup<'k>>>, LedgerError> {
    let now = jiff::Timestamp::now();
    let ts = match tip.ts {
        Some(p) if p > now => p,
        _ => now,
    };
    let ts_text = entry::format_ts(ts);
    let first_seq = tip.seq;
    let total: usize = groups.iter().map(|g| g.items.len()).sum();
    let mut hashes: Vec<Hash> = Vec::with_capacity(total);
    let mut new = Vec::with_capacity(total);
    let mut placed: Vec<Vec<Result<(usize, bool), Appended>>> = groups
        .iter()
        .map(|g| Vec::with_capacity(g.items.len()))
        .collect();
    let mut ids =
        std::collections::HashMap::with_capacity(if statements.is_some() { total } else { 0 });
    let key_ids = groups.iter().map(|g| g.signer.key_id()).collect();
    let mut chunk: Chunk<'k> = Vec::with_capacity(SIGN_CHUNK);
    let (mut seq, mut prev) = (tip.seq, tip.prev);
    let mut declined = false;
    'groups: for (g, group) in groups.iter().enumerate() {
        let signer = group.signer;
        for (i, item) in group.items.iter().enumerate() {
            let kind = item.kind;
            let mut refs = item.refs.clone();
            if let Some(links) = group.links.get(i) {
                for l in links {
                    refs.push(match placed[l.group][l.item] {
                        Ok((k, _)) => Ref {
                            seq: first_seq + k as u64,
                            hash: hashes[k],
                        },
                        Err(existing) => Ref {
                            seq: existing.seq,
                            hash: existing.hash,
                        },
                    });
                }
            }
            if let Some(statements) = statements.as_deref_mut() {
                let member = index::id_member(kind);
                let id = index::subject_id(kind, &item.subject).ok_or_else(|| {
                    LedgerError::Invalid(format!(
                        "a `{kind}` entry recorded once per subject needs a subject member `{member}`"
                    ))
                })?;
                let key = (kind, id);
                if let Some(&k) = ids.get(&key) {
                    placed[g].push(Ok((k, false)));
                    continue;
                }
                if let Some(b) = before
                    && let Some(&k) = b.ids.get(&key)
                {
                    placed[g].push(Err(Appended {
                        seq: b.first_seq + k as u64,
                        hash: b.hashes[k],
                    }));
                    continue;
                }
                match existing_entry(conn, statements, kind, &key.1, before.is_none())
                    .map_err(db_err)?
                {
                    Lookup::Found(existing) => {
                        placed[g].push(Err(existing));
                        continue;
                    }
                    Lookup::Unconfirmed => {
                        declined = true;
                        break 'groups;
                    }
                    Lookup::Absent => {}
                }
                ids.insert(key, hashes.len());
            }
            if let Some(reg) = registry.as_mut() {
                reg.signer_for(signer.name(), kind, signer.key_id())
                    .map_err(|e| {
                        LedgerError::Invalid(format!("signing key {}: {e}", signer.name()))
                    })?;
                if let Some(value) = &item.key_op {
                    let op: KeyOp = serde_json::from_value(value.clone())
                        .map_err(|e| LedgerError::Invalid(format!("key entry payload: {e}")))?;
                    reg.apply(seq, &op).map_err(LedgerError::Invalid)?;
                }
            }
            for r in &refs {
                let actual = if r.seq >= seq {
                    return Err(LedgerError::Invalid(format!(
                        "ref to seq {} does not point to an earlier entry (this entry will be seq {seq})",
                        r.seq
                    )));
                } else if r.seq >= first_seq {
                    Some(hashes[usize::try_from(r.seq - first_seq).unwrap_or(usize::MAX)])
                } else if let Some(b) = before
                    && r.seq >= b.first_seq
                {
                    usize::try_from(r.seq - b.first_seq)
                        .ok()
                        .and_then(|k| b.hashes.get(k).copied())
                } else {
                    let h: Option<Vec<u8>> = conn
                        .prepare_cached("SELECT hash FROM entries WHERE seq = ?1")
                        .and_then(|mut s| s.query_row([to_i64(r.seq)], |row| row.get(0)).optional())
                        .map_err(db_err)?;
                    h.and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok())
                };
                if actual != Some(r.hash) {
                    return Err(LedgerError::Invalid(format!(
                        "ref to seq {} with hash {} does not match the ledger ({})",
                        r.seq,
                        hex::encode(r.hash),
                        actual.map_or_else(|| "no such entry".to_string(), hex::encode)
                    )));
                }
            }
            let canonical = entry::canonical_envelope(&entry::EnvelopeRef {
                v: entry::FORMAT_VERSION,
                seq,
                ts: &ts_text,
                kind,
                actor: signer.name(),
                subject: &item.subject,
                refs: &refs,
                payload_commitment: &item.commitment,
                prev: &prev,
            });
            let hash = merkle::leaf_hash(&canonical);
            placed[g].push(Ok((hashes.len(), true)));
            hashes.push(hash);
            new.push((g, i));
            chunk.push((signer, canonical));
            if chunk.len() == SIGN_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(SIGN_CHUNK));
                // A send fails only if the signing threads are gone; the inserting side then
                // reports it.
                let _ = to_sign.send((generation, full));
            }
            prev = hash;
            seq += 1;
        }
    }
    if declined {
        return Ok(Err(groups));
    }
    if !chunk.is_empty() {
        let _ = to_sign.send((generation, chunk));
    }
    *tip = Tip {
        seq,
        prev,
        ts: Some(ts),
    };
    Ok(Ok(Built {
        generation,
        groups,
        key_ids,
        first_seq,
        hashes,
        new,
        placed,
        ids,
        inserted: 0,
    }))
}

/// [`build_batch`] for a batch in its own transaction (nothing built before it is pending),
/// where an index entry that does not match rebuilds the index, so the batch is always built.
#[allow(clippy::too_many_arguments)]
fn build_own<'k>(
    conn: &Connection,
    groups: Vec<PreparedGroup<'k>>,
    tip: &mut Tip,
    registry: &mut Option<Registry>,
    statements: Option<&mut index::Statements<'_>>,
    generation: u64,
    to_sign: &std::sync::mpsc::Sender<(u64, Chunk<'k>)>,
    db_err: &dyn Fn(rusqlite::Error) -> LedgerError,
) -> Result<Built<'k>, LedgerError> {
    build_batch(
        conn, groups, tip, registry, statements, None, generation, to_sign, db_err,
    )?
    .map_err(|_| {
        LedgerError::Invalid("the subject index did not settle after it was rebuilt".into())
    })
}

/// What the subject index says about an id.
enum Lookup {
    Absent,
    Found(Appended),
    /// The index names an entry that does not match (not rebuilt: `may_rebuild` was false).
    Unconfirmed,
}

impl Ledger {
    fn db_err(&self) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
        |source| LedgerError::Db {
            path: self.path.clone(),
            source,
        }
    }

    fn state_err(&self, reason: impl Into<String>) -> LedgerError {
        LedgerError::State {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// Creates a new ledger: the database, its schema, and entry 0 introducing the ledger key.
    pub fn create(path: &Path, ledger_key: &SignerKey) -> Result<Ledger, LedgerError> {
        if path.exists() {
            return Err(LedgerError::Invalid(format!(
                "{}: already exists; vigil never overwrites a ledger",
                path.display()
            )));
        }
        let origin = ledger_key.name().to_string();
        let db_err = |source| LedgerError::Db {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err)?;
        // Before anything is written (the page size of a database in WAL mode is fixed).
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(db_err)?;
        configure(&conn).map_err(db_err)?;
        {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            tx.execute_batch(SCHEMA).map_err(db_err)?;
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('format', ?1), ('origin', ?2)",
                params![DB_FORMAT, origin],
            )
            .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
        }
        let mut ledger = Ledger {
            checkpointer: None,
            conn,
            path: path.to_path_buf(),
            origin: origin.clone(),
            registry: None,
        };
        let op = KeyOp::Init {
            origin,
            key: ledger_key.verifier().to_string(),
        };
        let payload = serde_json::to_value(&op).map_err(|e| LedgerError::Invalid(e.to_string()))?;
        ledger.append_inner(
            ledger_key,
            vec![NewEntry {
                kind: Kind::Key,
                subject: BTreeMap::new(),
                refs: vec![],
                payload,
            }],
            true,
            None,
            false,
        )?;
        Ok(ledger)
    }

    /// Opens an existing ledger for reading and appending.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        Self::open_with(path, false)
    }

    /// Opens an existing ledger read-only (verification, proofs, export).
    pub fn open_readonly(path: &Path) -> Result<Ledger, LedgerError> {
        Self::open_with(path, true)
    }

    fn open_with(path: &Path, readonly: bool) -> Result<Ledger, LedgerError> {
        if !path.is_file() {
            return Err(LedgerError::Invalid(format!(
                "{}: no such ledger (create one with `vigil ledger init`)",
                path.display()
            )));
        }
        let db_err = |source| LedgerError::Db {
            path: path.to_path_buf(),
            source,
        };
        let flags = if readonly {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(path, flags).map_err(db_err)?;
        if readonly {
            conn.busy_timeout(LOCK_WAIT).map_err(db_err)?;
        } else {
            configure(&conn).map_err(db_err)?;
        }
        let meta = |key: &str| -> Result<Option<String>, LedgerError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(|e| LedgerError::State {
                    path: path.to_path_buf(),
                    reason: format!("not a vigil ledger ({e})"),
                })
        };
        let format = meta("format")?;
        if format.as_deref() != Some(DB_FORMAT) {
            return Err(LedgerError::State {
                path: path.to_path_buf(),
                reason: format!("not a vigil ledger of format {DB_FORMAT} (found {format:?})"),
            });
        }
        let origin = meta("origin")?.ok_or_else(|| LedgerError::State {
            path: path.to_path_buf(),
            reason: "ledger has no origin".into(),
        })?;
        Ok(Ledger {
            checkpointer: None,
            conn,
            path: path.to_path_buf(),
            origin,
            registry: None,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ledger's origin (its identity, the checkpoint origin line).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The underlying connection (for verification and export readers).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Number of committed entries.
    pub fn size(&self) -> Result<u64, LedgerError> {
        let n: Option<i64> = self
            .conn
            .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
            .map_err(self.db_err())?;
        Ok(n.map_or(0, |s| to_u64(s) + 1))
    }

    /// Perfect-subtree hash source over the stored tree.
    pub fn nodes(&self) -> DbNodes<'_> {
        DbNodes { conn: &self.conn }
    }

    /// The key registry as of the latest entry (rebuilt from `key` entries, cached).
    pub fn registry(&mut self) -> Result<&Registry, LedgerError> {
        let last_key: Option<i64> = self
            .conn
            .query_row("SELECT max(seq) FROM entries WHERE kind = 'key'", [], |r| {
                r.get(0)
            })
            .map_err(self.db_err())?;
        let last_key = last_key.map(to_u64);
        let stale = !matches!(&self.registry, Some((at, _)) if *at == last_key);
        if stale {
            let reg = load_registry(&self.conn).map_err(|e| self.state_err(e))?;
            self.registry = Some((last_key, reg));
        }
        match &self.registry {
            Some((_, r)) => Ok(r),
            None => Err(self.state_err("key registry unavailable")),
        }
    }

    /// Appends a batch of entries signed by `signer` in one durable transaction.
    ///
    /// Either every entry is committed (fsync'd) or none is. `key` and `redaction`
    /// entries go through [`Ledger::add_key`], [`Ledger::rotate_key`], [`Ledger::revoke_key`]
    /// and [`Ledger::redact`].
    pub fn append(
        &mut self,
        signer: &SignerKey,
        items: Vec<NewEntry>,
    ) -> Result<Vec<Appended>, LedgerError> {
        refuse_ledger_only(items.iter().map(|e| e.kind))?;
        Ok(self
            .append_inner(signer, items, false, None, false)?
            .into_iter()
            .map(|r| r.entry)
            .collect())
    }

    /// Appends each entry unless an entry of the same kind about the same subject id is
    /// already on the ledger, in one durable transaction (all new entries or none).
    ///
    /// The subject id is the entry's `signInId` subject member (for `policy` entries,
    /// `policySetSha256`), compared without regard to ASCII case; an entry without it is
    /// refused. Existing entries are found through the subject index (see [`crate::index`]),
    /// which is brought up to date and checked against the envelopes inside the same
    /// transaction, so two producers recording the same export at once add it once. The
    /// result is in item order; a later item about the same id as an earlier one in this
    /// batch resolves to the earlier one.
    pub fn append_once(
        &mut self,
        signer: &SignerKey,
        items: Vec<NewEntry>,
    ) -> Result<Vec<Recorded>, LedgerError> {
        refuse_ledger_only(items.iter().map(|e| e.kind))?;
        self.append_inner(signer, items, false, None, true)
    }

    /// [`Ledger::append_once`] for several groups of entries, each signed by its own key, in
    /// one durable transaction (all new entries of every group or none), group after group.
    ///
    /// An item may link to items of earlier groups ([`Group::links`]): the link becomes a ref
    /// to the entry recorded for that item, whether this call appended it or found it on the
    /// ledger. So a producer records a sign-in's signal, the inference that refs it and the
    /// action that refs both in one transaction, and the entries of all groups are hashed,
    /// signed and inserted in one pipeline. The result holds each group's [`Recorded`] list,
    /// in item order.
    pub fn append_once_groups(
        &mut self,
        groups: Vec<Group<'_>>,
    ) -> Result<Vec<Vec<Recorded>>, LedgerError> {
        for g in &groups {
            refuse_ledger_only(g.items.iter().map(|e| e.kind))?;
        }
        self.append_groups(groups, false, None, true)
    }

    /// Runs `lookup` in one short write transaction over an up-to-date subject index (see
    /// [`Ledger::append_once`]). `lookup` returns its answer, built from hits confirmed against
    /// their envelopes, and whether any hit was stale; then the index is rebuilt from the
    /// entries and `lookup` runs once more, its second answer final.
    fn with_subject_index<T>(
        &mut self,
        mut lookup: impl FnMut(&rusqlite::Transaction) -> rusqlite::Result<(T, bool)>,
    ) -> Result<T, LedgerError> {
        let path = self.path.clone();
        let db_err = |source| LedgerError::Db {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        index::ensure(&tx).map_err(db_err)?;
        index::catch_up(&tx).map_err(db_err)?;
        let (mut out, stale) = lookup(&tx).map_err(db_err)?;
        if stale {
            index::rebuild(&tx).map_err(db_err)?;
            out = lookup(&tx).map_err(db_err)?.0;
        }
        tx.commit().map_err(db_err)?;
        Ok(out)
    }

    /// The entries of `kind` whose subject id (see [`Ledger::append_once`]) is `id`, lowest
    /// seq first, each checked against its envelope. Brings the subject index up to date
    /// first (a short write transaction).
    pub fn recorded(&mut self, kind: Kind, id: &str) -> Result<Vec<Appended>, LedgerError> {
        let id = id.to_ascii_lowercase();
        self.with_subject_index(|tx| {
            let mut out = Vec::new();
            let mut stale = false;
            for seq in index::lookup(tx, kind, &id)? {
                match index::confirm(tx, kind, &id, seq)? {
                    Some(hash) => out.push(Appended { seq, hash }),
                    None => stale = true,
                }
            }
            Ok((out, stale))
        })
    }

    /// For each id in `ids`, the first entry of `kind` whose subject id (see
    /// [`Ledger::append_once`]) is that id, checked against its envelope; `None` where the
    /// ledger holds none. One short write transaction (it brings the subject index up to date)
    /// for the whole list, so it suits a simulation's hundreds of thousands of sign-ins.
    pub fn first_recorded_many(
        &mut self,
        kind: Kind,
        ids: &[&str],
    ) -> Result<Vec<Option<Appended>>, LedgerError> {
        self.with_subject_index(|tx| {
            let mut out = Vec::with_capacity(ids.len());
            let mut stale = false;
            for id in ids {
                let id = id.to_ascii_lowercase();
                let hit = match index::first(tx, kind, &id)? {
                    None => None,
                    Some(seq) => match index::confirm(tx, kind, &id, seq)? {
                        Some(hash) => Some(Appended { seq, hash }),
                        None => {
                            stale = true;
                            None
                        }
                    },
                };
                out.push(hit);
            }
            Ok((out, stale))
        })
    }

    /// The latest entry of `kind` that has a subject id (see [`Ledger::append_once`]), with
    /// that id, checked against its envelope.
    pub fn latest_recorded(
        &mut self,
        kind: Kind,
    ) -> Result<Option<(Appended, String)>, LedgerError> {
        self.with_subject_index(|tx| {
            let Some((seq, id)) = index::latest(tx, kind)? else {
                return Ok((None, false));
            };
            Ok(match index::confirm(tx, kind, &id, seq)? {
                Some(hash) => (Some((Appended { seq, hash }, id)), false),
                None => (None, true),
            })
        })
    }

    fn append_inner(
        &mut self,
        signer: &SignerKey,
        items: Vec<NewEntry>,
        genesis: bool,
        redaction_of: Option<u64>,
        once: bool,
    ) -> Result<Vec<Recorded>, LedgerError> {
        let group = Group {
            signer,
            items,
            links: vec![],
        };
        Ok(self
            .append_groups(vec![group], genesis, redaction_of, once)?
            .pop()
            .unwrap_or_default())
    }

    /// The append path: every group's entries, in group order, in one durable transaction.
    fn append_groups(
        &mut self,
        groups: Vec<Group<'_>>,
        genesis: bool,
        redaction_of: Option<u64>,
        once: bool,
    ) -> Result<Vec<Vec<Recorded>>, LedgerError> {
        if nothing_or_checked(groups.iter().map(|g| (g.items.len(), &g.links)))? {
            return Ok(groups.iter().map(|_| vec![]).collect());
        }
        // Work that does not depend on the position happens before taking the write lock, on
        // every core.
        let prepared = prepare_groups(groups)?;
        self.append_prepared(prepared, genesis, redaction_of, once)
    }

    /// [`Ledger::append_once_groups`] for groups prepared beforehand ([`prepare_groups`]), so
    /// that only the work that depends on the entries' positions (the hash chain, signatures,
    /// storage, the subject index) happens here.
    pub fn append_once_prepared(
        &mut self,
        groups: Vec<PreparedGroup<'_>>,
    ) -> Result<Vec<Vec<Recorded>>, LedgerError> {
        if nothing_or_checked(groups.iter().map(|g| (g.items.len(), &g.links)))? {
            return Ok(groups.iter().map(|_| vec![]).collect());
        }
        refuse_ledger_only(groups.iter().flat_map(|g| &g.items).map(|e| e.kind))?;
        self.append_prepared(groups, false, None, true)
    }

    /// [`Ledger::append_once_prepared`] for a stream of batches: appends each batch `next`
    /// gives (until it gives `None`) in its own durable transaction, in order, and hands each
    /// batch's entries to `committed` once that transaction has committed. Each batch is built
    /// and signed while the one before it commits, so a producer that prepares its batches
    /// ahead keeps every core signing. A batch that fails the checks of
    /// [`Ledger::append_once_prepared`] ends the stream with its error, after the batches
    /// before it are committed.
    pub fn append_once_stream<'k>(
        &mut self,
        next: &mut dyn FnMut() -> Option<Vec<PreparedGroup<'k>>>,
        committed: &mut dyn FnMut(Vec<Vec<Recorded>>),
    ) -> Result<(), LedgerError> {
        let mut invalid = None;
        let mut checked = || {
            let groups = next()?;
            let check = nothing_or_checked(groups.iter().map(|g| (g.items.len(), &g.links)))
                .and_then(|_| {
                    refuse_ledger_only(groups.iter().flat_map(|g| &g.items).map(|e| e.kind))
                });
            match check {
                Ok(()) => Some(groups),
                Err(e) => {
                    invalid = Some(e);
                    None
                }
            }
        };
        self.append_batches(&mut checked, false, None, true, committed)?;
        invalid.map_or(Ok(()), Err)
    }

    /// Appends prepared groups (links checked) in one durable transaction.
    fn append_prepared(
        &mut self,
        groups: Vec<PreparedGroup<'_>>,
        genesis: bool,
        redaction_of: Option<u64>,
        once: bool,
    ) -> Result<Vec<Vec<Recorded>>, LedgerError> {
        let mut first = Some(groups);
        let mut out = Vec::new();
        self.append_batches(
            &mut || first.take(),
            genesis,
            redaction_of,
            once,
            &mut |r| out = r,
        )?;
        Ok(out)
    }

    /// Appends the batches `next` gives (links checked), each in one durable transaction, in
    /// order, and hands each batch's entries to `committed` once it is committed.
    ///
    /// Entries are built in order (each hashes its predecessor) and handed to a signing thread a
    /// chunk at a time, which signs on every core; the building thread inserts the chunks signed
    /// so far. Once a batch is built, the next one is built too, in the same transaction (its
    /// subjects are looked up in the index, which by then holds the batch before it), so that
    /// it is signed while the batch before is stored and committed: the commit no longer leaves
    /// the signing cores idle. Its own transaction then starts by checking that the ledger
    /// still ends where the batch was built to follow; if another writer appended in between,
    /// the batch is built again from the new end, and its first signatures are thrown away.
    fn append_batches<'k>(
        &mut self,
        next: &mut dyn FnMut() -> Option<Vec<PreparedGroup<'k>>>,
        genesis: bool,
        redaction_of: Option<u64>,
        once: bool,
        committed: &mut dyn FnMut(Vec<Vec<Recorded>>),
    ) -> Result<(), LedgerError> {
        let Some(first) = next() else {
            return Ok(());
        };
        let mut registry = if genesis {
            None
        } else {
            Some(self.registry()?.clone())
        };
        let mut registry_at: Option<Option<u64>> = self.registry.as_ref().map(|(at, _)| *at);
        let path = self.path.clone();
        let db_err = |source| LedgerError::Db {
            path: path.clone(),
            source,
        };
        let state_err = |reason: String| LedgerError::State {
            path: path.clone(),
            reason,
        };
        let origin = self.origin.clone();
        let conn = &self.conn;
        let checkpointer = &mut self.checkpointer;

        // What the batch goes after: the ledger's last entry when its transaction began, or
        // the batch built before it.
        let tip_of = |registry: &mut Option<Registry>,
                      registry_at: &mut Option<Option<u64>>|
         -> Result<Tip, LedgerError> {
            if once {
                index::ensure(conn).map_err(db_err)?;
                index::catch_up(conn).map_err(db_err)?;
            }
            // Another process may have appended since the registry was read.
            if let Some(reg) = registry.as_mut() {
                let last_key: Option<i64> = conn
                    .query_row("SELECT max(seq) FROM entries WHERE kind = 'key'", [], |r| {
                        r.get(0)
                    })
                    .map_err(db_err)?;
                let last_key = last_key.map(to_u64);
                if *registry_at != Some(last_key) {
                    *reg = load_registry(conn).map_err(state_err)?;
                    *registry_at = Some(last_key);
                }
            }
            let tip: Option<(i64, Vec<u8>, Vec<u8>)> = conn
                .query_row(
                    "SELECT seq, hash, envelope FROM entries ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(db_err)?;
            Ok(match &tip {
                None => Tip {
                    seq: 0,
                    prev: [0u8; 32],
                    ts: None,
                },
                Some((s, h, env)) => {
                    let prev: Hash = h.as_slice().try_into().map_err(|_| {
                        state_err(format!("entry {s}: stored hash is not 32 bytes"))
                    })?;
                    let env = Envelope::parse_lenient(env)
                        .map_err(|e| state_err(format!("entry {s}: {e}")))?;
                    Tip {
                        seq: to_u64(*s) + 1,
                        prev,
                        ts: Some(
                            entry::parse_ts(&env.ts)
                                .map_err(|e| state_err(format!("entry {s}: {e}")))?,
                        ),
                    }
                }
            })
        };
        let load_frontier = |seq: u64| {
            Frontier::load(&DbNodes { conn }, seq)
                .map_err(|e| state_err(format!("stored Merkle nodes: {e}")))
        };

        // Signing threads, one per core, each taking the next chunk as soon as it is done with
        // one (so no core waits for another to finish its part of a chunk), numbering the
        // chunks as they take them; the results are put back in order below.
        let (to_sign, signing) = std::sync::mpsc::channel::<(u64, Chunk<'k>)>();
        let signing = std::sync::Mutex::new((signing, 0u64));
        std::thread::scope(|scope| -> Result<(), LedgerError> {
            // Dropped when this returns, which ends the signing threads.
            let to_sign = to_sign;
            let (to_insert, signed) =
                std::sync::mpsc::channel::<(u64, u64, Chunk<'k>, Vec<[u8; 64]>)>();
            let origin = &origin;
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            for _ in 0..threads {
                let signing = &signing;
                let to_insert = to_insert.clone();
                scope.spawn(move || {
                    let mut message = Vec::new();
                    loop {
                        let (number, generation, chunk) = {
                            let Ok(mut queue) = signing.lock() else {
                                return;
                            };
                            let Ok((generation, chunk)) = queue.0.recv() else {
                                return;
                            };
                            queue.1 += 1;
                            (queue.1 - 1, generation, chunk)
                        };
                        let sigs = chunk
                            .iter()
                            .map(|(signer, canonical)| {
                                Envelope::signed_message_into(origin, canonical, &mut message);
                                signer.sign(&message)
                            })
                            .collect();
                        if to_insert.send((number, generation, chunk, sigs)).is_err() {
                            // The inserting side stopped on an error; nothing more to sign.
                            return;
                        }
                    }
                });
            }
            drop(to_insert);
            // Signed chunks in the order they were sent.
            let mut early = std::collections::BTreeMap::new();
            let mut next_number = 0u64;
            let mut next_signed = || loop {
                if let Some(done) = early.remove(&next_number) {
                    next_number += 1;
                    return Some(done);
                }
                let (number, generation, chunk, sigs) = signed.recv().ok()?;
                early.insert(number, (generation, chunk, sigs));
            };
            let mut ins_entry = conn
                .prepare_cached("INSERT INTO entries(seq, hash, envelope, kind, key_id, sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(db_err)?;
            let mut ins_payload = conn
                .prepare_cached("INSERT INTO payloads(seq, salt, payload) VALUES (?1, ?2, ?3)")
                .map_err(db_err)?;
            let mut ins_node = conn
                .prepare_cached("INSERT INTO nodes(level, idx, hash) VALUES (?1, ?2, ?3)")
                .map_err(db_err)?;

            let mut tx =
                Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(db_err)?;
            let mut tip = tip_of(&mut registry, &mut registry_at)?;
            if genesis != (tip.seq == 0) {
                return Err(LedgerError::Invalid(
                    "entry 0 must be the ledger's init entry".into(),
                ));
            }
            let mut frontier = load_frontier(tip.seq)?;
            // After `ensure`: the index tables exist.
            let mut statements = if once {
                Some(index::Statements::new(conn).map_err(db_err)?)
            } else {
                None
            };
            let mut generation = 0u64;
            let mut cur = build_own(
                conn,
                first,
                &mut tip,
                &mut registry,
                statements.as_mut(),
                generation,
                &to_sign,
                &db_err,
            )?;
            loop {
                if let Some(st) = statements.as_mut() {
                    cur.insert_index(st).map_err(db_err)?;
                }
                // The next batch, built in this transaction while this one is signed.
                let ahead = match (redaction_of, genesis) {
                    (None, false) => next(),
                    _ => None,
                };
                let ahead = match ahead {
                    None => None,
                    Some(groups) => {
                        generation += 1;
                        let mut after = tip.clone();
                        let built = build_batch(
                            conn,
                            groups,
                            &mut after,
                            &mut registry,
                            statements.as_mut(),
                            Some(&cur),
                            generation,
                            &to_sign,
                            &db_err,
                        )?;
                        Some((built, after))
                    }
                };
                // This batch's rows, as they are signed (the chunks of the batch built ahead
                // come after them; those of a batch thrown away are skipped).
                while cur.inserted < cur.new.len() {
                    let Some((g, rows, sigs)) = next_signed() else {
                        return Err(LedgerError::Invalid(
                            "the signing thread stopped before the batch was signed".into(),
                        ));
                    };
                    if g != cur.generation {
                        continue;
                    }
                    for ((_, canonical), sig) in rows.iter().zip(&sigs) {
                        let k = cur.inserted;
                        let (gi, ii) = cur.new[k];
                        let item = &cur.groups[gi].items[ii];
                        let seq = cur.first_seq + k as u64;
                        let hash = cur.hashes[k];
                        ins_entry
                            .execute(params![
                                to_i64(seq),
                                &hash[..],
                                canonical,
                                item.kind.as_str(),
                                &cur.key_ids[gi][..],
                                &sig[..]
                            ])
                            .map_err(db_err)?;
                        ins_payload
                            .execute(params![to_i64(seq), &item.salt[..], &item.payload])
                            .map_err(db_err)?;
                        for (level, idx, node) in frontier.push(hash) {
                            ins_node
                                .execute(params![level, to_i64(idx), &node[..]])
                                .map_err(db_err)?;
                        }
                        cur.inserted += 1;
                    }
                }
                if once {
                    index::set_next_seq(conn, cur.first_seq + cur.new.len() as u64)
                        .map_err(db_err)?;
                }
                // A redaction entry and the payload removal commit together: after a crash
                // either both happened or neither did.
                if let Some(target) = redaction_of {
                    conn.execute(
                        "INSERT INTO redacted(seq, by_seq) VALUES (?1, ?2)",
                        params![to_i64(target), to_i64(cur.first_seq)],
                    )
                    .map_err(db_err)?;
                    conn.execute("DELETE FROM payloads WHERE seq = ?1", [to_i64(target)])
                        .map_err(db_err)?;
                }
                tx.commit().map_err(db_err)?;
                if cur.new.len() >= BULK_ENTRIES {
                    checkpointer
                        .get_or_insert_with(|| Checkpointer::start(&path))
                        .wake();
                }
                let end = (cur.first_seq + cur.new.len() as u64, tip.prev);
                committed(cur.recorded());
                let Some((ahead, after)) = ahead else {
                    return Ok(());
                };
                tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let now: Option<(i64, Vec<u8>)> = conn
                    .query_row(
                        "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(db_err)?;
                let unchanged = now.is_some_and(|(s, h)| {
                    to_u64(s) + 1 == end.0 && h.as_slice() == end.1.as_slice()
                });
                cur = match ahead {
                    Ok(built) if unchanged => {
                        tip = after;
                        built
                    }
                    // Another writer appended since (or the index needs rebuilding): build the
                    // batch again after what the ledger holds now.
                    ahead => {
                        let groups = match ahead {
                            Ok(built) => built.groups,
                            Err(groups) => groups,
                        };
                        tip = tip_of(&mut registry, &mut registry_at)?;
                        frontier = load_frontier(tip.seq)?;
                        generation += 1;
                        build_own(
                            conn,
                            groups,
                            &mut tip,
                            &mut registry,
                            statements.as_mut(),
                            generation,
                            &to_sign,
                            &db_err,
                        )?
                    }
                };
            }
        })
    }

    fn append_key_op(
        &mut self,
        ledger_key: &SignerKey,
        op: &KeyOp,
        refs: Vec<Ref>,
    ) -> Result<Appended, LedgerError> {
        self.require_ledger_key(ledger_key)?;
        self.registry()?.check(op).map_err(LedgerError::Invalid)?;
        let payload = serde_json::to_value(op).map_err(|e| LedgerError::Invalid(e.to_string()))?;
        let out = self.append_inner(
            ledger_key,
            vec![NewEntry {
                kind: Kind::Key,
                subject: BTreeMap::new(),
                refs,
                payload,
            }],
            false,
            None,
            false,
        )?;
        out.into_iter()
            .next()
            .map(|r| r.entry)
            .ok_or_else(|| self.state_err("append returned nothing"))
    }

    fn require_ledger_key(&mut self, ledger_key: &SignerKey) -> Result<(), LedgerError> {
        let reg = self.registry()?;
        let current = reg.ledger_key();
        if current.public != ledger_key.verifier().public {
            return Err(LedgerError::Invalid(format!(
                "{} is not this ledger's current ledger key ({current})",
                ledger_key.verifier()
            )));
        }
        Ok(())
    }

    fn latest_key_entry_ref(&mut self, name: &str) -> Result<Vec<Ref>, LedgerError> {
        let added = self.registry()?.current(name).map(|r| r.added_seq);
        match added {
            Some(seq) => Ok(vec![Ref {
                seq,
                hash: self.entry_hash(seq)?,
            }]),
            None => Ok(vec![]),
        }
    }

    /// Registers a producer key with the kinds it may sign (a `key` entry signed by the ledger key).
    pub fn add_key(
        &mut self,
        ledger_key: &SignerKey,
        key: &crate::note::VerifierKey,
        kinds: Vec<Kind>,
    ) -> Result<Appended, LedgerError> {
        self.append_key_op(
            ledger_key,
            &KeyOp::Add {
                key: key.to_string(),
                kinds,
            },
            vec![],
        )
    }

    /// Replaces the key registered under `new_key`'s name (a `key` entry signed by the ledger key).
    pub fn rotate_key(
        &mut self,
        ledger_key: &SignerKey,
        new_key: &crate::note::VerifierKey,
    ) -> Result<Appended, LedgerError> {
        let refs = self.latest_key_entry_ref(&new_key.name)?;
        self.append_key_op(
            ledger_key,
            &KeyOp::Rotate {
                key: new_key.to_string(),
            },
            refs,
        )
    }

    /// Revokes the key currently registered under `name`.
    pub fn revoke_key(
        &mut self,
        ledger_key: &SignerKey,
        name: &str,
        reason: &str,
    ) -> Result<Appended, LedgerError> {
        let key = self
            .registry()?
            .current(name)
            .map(|r| r.key.to_string())
            .ok_or_else(|| LedgerError::Invalid(format!("no key named {name:?} is registered")))?;
        let refs = self.latest_key_entry_ref(name)?;
        self.append_key_op(
            ledger_key,
            &KeyOp::Revoke {
                key,
                reason: reason.to_string(),
            },
            refs,
        )
    }

    /// The stored leaf hash of entry `seq`.
    pub fn entry_hash(&self, seq: u64) -> Result<Hash, LedgerError> {
        let h: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT hash FROM entries WHERE seq = ?1",
                [to_i64(seq)],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db_err())?;
        let h = h.ok_or_else(|| {
            LedgerError::Invalid(format!(
                "no entry with seq {seq} (the ledger has {} entries)",
                self.size().unwrap_or(0)
            ))
        })?;
        h.as_slice()
            .try_into()
            .map_err(|_| self.state_err(format!("entry {seq}: stored hash is not 32 bytes")))
    }

    /// Reads one entry with its payload.
    pub fn entry(&self, seq: u64) -> Result<Option<StoredEntry>, LedgerError> {
        let mut out = self.entries_range(seq, seq.saturating_add(1))?;
        Ok(out.pop())
    }

    /// Reads entries `[from, to)` with their payloads, in seq order.
    pub fn entries_range(&self, from: u64, to: u64) -> Result<Vec<StoredEntry>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.seq, e.hash, e.envelope, e.key_id, e.sig, p.salt, p.payload
                 FROM entries e LEFT JOIN payloads p ON p.seq = e.seq
                 WHERE e.seq >= ?1 AND e.seq < ?2 ORDER BY e.seq",
            )
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map(params![to_i64(from), to_i64(to)], stored_entry)
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    /// Hands every entry from `from` on to `each` in seq order, in one streaming read of the
    /// entries table (memory stays flat whatever the ledger's size). Payloads are read for
    /// every entry when `payload_kinds` is `None`, else only for rows whose (unsigned) `kind`
    /// column is one of them: a caller that relies on a payload must check the envelope's
    /// kind and read the entry again when the column disagreed. `each` returns `false` to
    /// stop early.
    pub fn for_each_entry(
        &self,
        from: u64,
        payload_kinds: Option<&[Kind]>,
        each: &mut dyn FnMut(StoredEntry) -> bool,
    ) -> Result<(), LedgerError> {
        let wanted = match payload_kinds {
            None => "1".to_string(),
            Some(kinds) => format!(
                "e.kind IN ({})",
                kinds
                    .iter()
                    .map(|k| format!("'{}'", k.as_str()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT e.seq, e.hash, e.envelope, e.key_id, e.sig,
                        CASE WHEN {wanted} THEN p.salt END, CASE WHEN {wanted} THEN p.payload END
                 FROM entries e LEFT JOIN payloads p ON p.seq = e.seq
                 WHERE e.seq >= ?1 ORDER BY e.seq"
            ))
            .map_err(self.db_err())?;
        let mut rows = stmt.query([to_i64(from)]).map_err(self.db_err())?;
        while let Some(r) = rows.next().map_err(self.db_err())? {
            if !each(stored_entry(r).map_err(self.db_err())?) {
                break;
            }
        }
        Ok(())
    }

    /// Like [`Ledger::for_each_entry`], for passes that read only envelopes and some payloads
    /// (coverage): each row is lent to `each` as an [`EntryView`] without copying, and the
    /// hash and signature are not read. `payload_kinds` is the same hint on the storage's
    /// `kind` column: read kinds from the envelopes, and fetch the payload with
    /// [`Ledger::entry`] where the column disagreed.
    pub fn for_each_view(
        &self,
        from: u64,
        payload_kinds: &[Kind],
        each: &mut dyn FnMut(EntryView<'_>) -> bool,
    ) -> Result<(), LedgerError> {
        let wanted = payload_kinds
            .iter()
            .map(|k| format!("'{}'", k.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT e.seq, e.envelope, e.key_id,
                        CASE WHEN e.kind IN ({wanted}) THEN
                            (SELECT p.payload FROM payloads p WHERE p.seq = e.seq) END
                 FROM entries e WHERE e.seq >= ?1 ORDER BY e.seq"
            ))
            .map_err(self.db_err())?;
        let mut rows = stmt.query([to_i64(from)]).map_err(self.db_err())?;
        while let Some(r) = rows.next().map_err(self.db_err())? {
            let view = (|| -> rusqlite::Result<EntryView<'_>> {
                Ok(EntryView {
                    seq: to_u64(r.get(0)?),
                    envelope: r.get_ref(1)?.as_blob()?,
                    key_id: r.get_ref(2)?.as_blob()?,
                    payload: r.get_ref(3)?.as_blob_or_null()?,
                })
            })()
            .map_err(self.db_err())?;
            if !each(view) {
                break;
            }
        }
        Ok(())
    }

    /// Merkle root of the first `size` entries, from stored subtree hashes.
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        merkle::root_at(&self.nodes(), size)
            .map_err(|e| self.state_err(format!("stored Merkle nodes: {e}")))
    }

    /// RFC 6962 inclusion proof of entry `seq` in the tree of `size` entries.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        let have = self.size()?;
        if size > have || seq >= size {
            return Err(LedgerError::Invalid(format!(
                "cannot prove seq {seq} in a tree of size {size}: the ledger has {have} entries and seq must be below size"
            )));
        }
        merkle::inclusion_proof(&self.nodes(), seq, size)
            .map_err(|e| self.state_err(format!("stored Merkle nodes: {e}")))
    }

    /// RFC 6962 consistency proof between tree sizes `old` and `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError> {
        let have = self.size()?;
        if new > have || old > new || old == 0 {
            return Err(LedgerError::Invalid(format!(
                "cannot prove consistency from size {old} to {new}: the ledger has {have} entries (need 0 < old <= new <= {have})"
            )));
        }
        merkle::consistency_proof(&self.nodes(), old, new)
            .map_err(|e| self.state_err(format!("stored Merkle nodes: {e}")))
    }

    /// BENCHMARK-ONLY (`benches/ledger.rs`): appends `count` synthetic, UNSIGNED rows in
    /// one transaction and returns the new size.
    ///
    /// Each row has the real leaf hash of its 8-byte big-endian seq, a placeholder
    /// envelope `{}`, a zero key id and signature and no payload; subtree nodes go through
    /// the same [`Frontier`] as [`Ledger::append`]. It lets a benchmark time proofs over a
    /// 10M-entry tree without signing 10M entries. Every such row is a verification
    /// finding: never call this on a real ledger. (It grants nothing that write access to
    /// the database file does not.)
    #[doc(hidden)]
    pub fn bench_append_synthetic(&mut self, count: u64) -> Result<u64, LedgerError> {
        let path = self.path.clone();
        let db_err = |source| LedgerError::Db {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let last: Option<i64> = tx
            .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
            .map_err(db_err)?;
        let mut seq = last.map_or(0, |s| to_u64(s) + 1);
        let mut frontier =
            Frontier::load(&DbNodes { conn: &tx }, seq).map_err(|e| LedgerError::State {
                path: path.clone(),
                reason: format!("stored Merkle nodes: {e}"),
            })?;
        {
            let mut ins_entry = tx
                .prepare_cached("INSERT INTO entries(seq, hash, envelope, kind, key_id, sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(db_err)?;
            let mut ins_node = tx
                .prepare_cached("INSERT INTO nodes(level, idx, hash) VALUES (?1, ?2, ?3)")
                .map_err(db_err)?;
            for _ in 0..count {
                let hash = merkle::leaf_hash(&seq.to_be_bytes());
                ins_entry
                    .execute(params![
                        to_i64(seq),
                        &hash[..],
                        &b"{}"[..],
                        Kind::Signal.as_str(),
                        &[0u8; 4][..],
                        &[0u8; 64][..]
                    ])
                    .map_err(db_err)?;
                for (level, idx, node) in frontier.push(hash) {
                    ins_node
                        .execute(params![level, to_i64(idx), &node[..]])
                        .map_err(db_err)?;
                }
                seq += 1;
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(seq)
    }

    /// Signs and stores a checkpoint of the current (durable) tree.
    ///
    /// Refuses when the tree is inconsistent with the latest stored checkpoint: a log must
    /// never sign two views of its history.
    pub fn checkpoint(&mut self, ledger_key: &SignerKey) -> Result<SignedCheckpoint, LedgerError> {
        self.require_ledger_key(ledger_key)?;
        let path = self.path.clone();
        let db_err = |source| LedgerError::Db {
            path: path.clone(),
            source,
        };
        let origin = self.origin.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let size: Option<i64> = tx
            .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
            .map_err(db_err)?;
        let size = size.map_or(0, |s| to_u64(s) + 1);
        let nodes = DbNodes { conn: &tx };
        let state = |reason: String| LedgerError::State {
            path: path.clone(),
            reason,
        };
        let root = merkle::root_at(&nodes, size)
            .map_err(|e| state(format!("stored Merkle nodes: {e}")))?;
        let last: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
        if let Some((last_size, last_root)) = &last {
            let last_size = to_u64(*last_size);
            if last_size > size {
                return Err(state(format!(
                    "the ledger has {size} entries but a checkpoint of size {last_size} was signed: entries were removed; refusing to sign (run `vigil ledger verify`)"
                )));
            }
            let ours = merkle::root_at(&nodes, last_size)
                .map_err(|e| state(format!("stored Merkle nodes: {e}")))?;
            if ours[..] != last_root[..] {
                return Err(state(format!(
                    "the tree at size {last_size} no longer matches the checkpoint signed for it: refusing to sign a fork (run `vigil ledger verify`)"
                )));
            }
            if last_size == size {
                let note: String = tx
                    .query_row(
                        "SELECT note FROM checkpoints WHERE size = ?1",
                        [to_i64(size)],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                return SignedCheckpoint::parse(note.as_bytes())
                    .map_err(|e| state(format!("stored checkpoint {size}: {e}")));
            }
        }
        let cp = Checkpoint {
            origin,
            size,
            root,
            extensions: vec![],
        };
        let signed = SignedCheckpoint::sign(cp, ledger_key)
            .map_err(|e| LedgerError::Invalid(e.to_string()))?;
        let note = String::from_utf8(signed.to_bytes()).map_err(|e| state(e.to_string()))?;
        tx.execute(
            "INSERT INTO checkpoints(size, root, note, created) VALUES (?1, ?2, ?3, ?4)",
            params![
                to_i64(size),
                &root[..],
                note,
                entry::format_ts(jiff::Timestamp::now())
            ],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(signed)
    }

    /// Every stored checkpoint (signed note bytes), by size.
    pub fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT size, note FROM checkpoints ORDER BY size")
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((to_u64(r.get(0)?), r.get::<_, String>(1)?.into_bytes()))
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    /// Erases entry `seq`'s payload and salt and records a signed `redaction` entry.
    ///
    /// The entry, its hash and every proof stay valid; verification reports it as redacted.
    pub fn redact(
        &mut self,
        ledger_key: &SignerKey,
        seq: u64,
        reason: &str,
    ) -> Result<Appended, LedgerError> {
        self.require_ledger_key(ledger_key)?;
        if reason.trim().is_empty() {
            return Err(LedgerError::Invalid(
                "a redaction needs a reason (the legal basis)".into(),
            ));
        }
        let stored = self
            .entry(seq)?
            .ok_or_else(|| LedgerError::Invalid(format!("no entry with seq {seq}")))?;
        let env = Envelope::parse_lenient(&stored.envelope)
            .map_err(|e| self.state_err(format!("entry {seq}: {e}")))?;
        if env.kind.is_ledger_only() {
            return Err(LedgerError::Invalid(format!(
                "entry {seq} is a `{}` entry; the ledger's own records cannot be redacted",
                env.kind
            )));
        }
        let already: Option<i64> = self
            .conn
            .query_row(
                "SELECT by_seq FROM redacted WHERE seq = ?1",
                [to_i64(seq)],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db_err())?;
        if let Some(by) = already {
            return Err(LedgerError::Invalid(format!(
                "entry {seq} was already redacted by entry {by}"
            )));
        }
        let hash = self.entry_hash(seq)?;
        let payload = serde_json::json!({ "seq": seq, "reason": reason });
        let item = NewEntry {
            kind: Kind::Redaction,
            subject: env.subject.clone(),
            refs: vec![Ref { seq, hash }],
            payload,
        };
        let out = self.append_inner(ledger_key, vec![item], false, Some(seq), false)?;
        // The erased payload's old page versions are still in the WAL: move the zeroed pages
        // into the database and empty the WAL now. Best effort: a reader in another process
        // can hold the WAL open, and then the next checkpoint after it finishes erases them.
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        out.into_iter()
            .next()
            .map(|r| r.entry)
            .ok_or_else(|| self.state_err("append returned nothing"))
    }

    /// Seqs whose payload was redacted, with the seq of the redaction entry.
    pub fn redactions(&self) -> Result<Vec<(u64, u64)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, by_seq FROM redacted ORDER BY seq")
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([], |r| Ok((to_u64(r.get(0)?), to_u64(r.get(1)?))))
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }
}

/// The first entry of `kind` with subject id `id`, found through the subject index and
/// checked against its envelope; a hit that does not match rebuilds the index (it is a lookup
/// aid, never evidence) and sets `rebuilt`. Runs inside the append transaction.
fn existing_entry(
    conn: &Connection,
    statements: &mut index::Statements<'_>,
    kind: Kind,
    id: &str,
    may_rebuild: bool,
) -> rusqlite::Result<Lookup> {
    for attempt in 0..2 {
        let Some(seq) = statements.first(kind, id)? else {
            return Ok(Lookup::Absent);
        };
        if let Some(hash) = index::confirm(conn, kind, id, seq)? {
            return Ok(Lookup::Found(Appended { seq, hash }));
        }
        if !may_rebuild {
            return Ok(Lookup::Unconfirmed);
        }
        if attempt == 0 {
            index::rebuild(conn)?;
        }
    }
    Ok(Lookup::Absent)
}

/// Rebuilds the registry from the stored `key` entries (trusting storage; `verify` checks it).
fn load_registry(conn: &Connection) -> Result<Registry, String> {
    let mut stmt = conn
        .prepare(
            "SELECT e.seq, e.envelope, p.payload FROM entries e LEFT JOIN payloads p ON p.seq = e.seq
             WHERE e.kind = 'key' ORDER BY e.seq",
        )
        .map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut reg: Option<Registry> = None;
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let seq: i64 = row.get(0).map_err(|e| e.to_string())?;
        let env: Vec<u8> = row.get(1).map_err(|e| e.to_string())?;
        let payload: Option<Vec<u8>> = row.get(2).map_err(|e| e.to_string())?;
        let env = Envelope::parse_lenient(&env).map_err(|e| format!("entry {seq}: {e}"))?;
        let payload =
            payload.ok_or_else(|| format!("entry {seq}: key entry payload is missing"))?;
        let op: KeyOp = serde_json::from_slice(&payload)
            .map_err(|e| format!("entry {seq}: key entry payload: {e}"))?;
        match reg.as_mut() {
            None => {
                reg = Some(Registry::genesis(&env, &op).map_err(|e| format!("entry {seq}: {e}"))?)
            }
            Some(r) => r
                .apply(to_u64(seq), &op)
                .map_err(|e| format!("entry {seq}: {e}"))?,
        }
    }
    reg.ok_or_else(|| "the ledger has no init entry".to_string())
}

/// `key` and `redaction` entries have their own paths ([`Ledger::add_key`], [`Ledger::redact`]);
/// the append paths refuse them.
fn refuse_ledger_only(kinds: impl IntoIterator<Item = Kind>) -> Result<(), LedgerError> {
    match kinds.into_iter().find(|k| k.is_ledger_only()) {
        Some(kind) => Err(LedgerError::Invalid(format!(
            "`{kind}` entries are written by `vigil ledger key`/`vigil key` and `vigil ledger redact`, not by append"
        ))),
        None => Ok(()),
    }
}
