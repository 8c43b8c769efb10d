//! vigil-ledger: an append-only, hash-chained, signed audit ledger.
//!
//! The byte-level format is specified in `SPEC.md` beside this crate.

pub mod audit;
pub mod bundle;
pub mod canon;
pub mod entry;
pub mod index;
pub mod input;
pub mod jcs;
pub mod keyfile;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod registry;
pub mod store;
pub mod strict;
pub mod verify;

pub use canon::CanonicalPayload;
pub use entry::{Envelope, Kind, Ref};
pub use merkle::Hash;
pub use note::{SignedCheckpoint, SignerKey, VerifierKey};
pub use store::{
    Appended, CanonicalGroup, EntryView, Group, ItemRef, Ledger, LedgerError, NewCanonicalEntry,
    NewEntry, PreparedEntry, PreparedGroup, Recorded, prepare_canonical_groups, prepare_groups,
};
pub use verify::{Finding, Report};
