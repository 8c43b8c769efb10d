//! The key registry: which keys may sign which entry kinds, rebuilt from the ledger's own
//! `key` entries, so who may write what is itself on the ledger.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::entry::{Envelope, Kind};
use crate::note::{ALG_ED25519, VerifierKey};

/// The payload of a `key` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum KeyOp {
    /// Seq 0: names the ledger (origin) and introduces the ledger key.
    Init {
        /// The ledger's identity; checkpoints carry it as their origin line.
        origin: String,
        /// The ledger key (its name equals the origin).
        key: String,
    },
    /// Registers a producer key and the kinds it may sign.
    Add {
        /// The producer's verifier key.
        key: String,
        /// Entry kinds the key may sign.
        kinds: Vec<Kind>,
    },
    /// Replaces the key registered under a name (the kinds carry over).
    Rotate {
        /// The new verifier key; its name selects the record.
        key: String,
    },
    /// Revokes a key: entries it signs after this one are findings.
    Revoke {
        /// The verifier key being revoked.
        key: String,
        /// Why (e.g. "laptop stolen").
        reason: String,
    },
}

/// One key as registered.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// The public key.
    pub key: VerifierKey,
    /// Kinds it may sign.
    pub kinds: Vec<Kind>,
    /// Seq of the entry that introduced it.
    pub added_seq: u64,
    /// Seq of the rotation that replaced it, if any.
    pub rotated_seq: Option<u64>,
    /// Seq and reason of its revocation, if any.
    pub revoked: Option<(u64, String)>,
}

/// Why an entry's signer is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerProblem {
    /// No key is registered under the actor's name at this point.
    #[error("actor {0:?} has no registered key at this point of the ledger")]
    Unknown(String),
    /// The actor's key was revoked.
    #[error("key {name}+{key_id} was revoked at seq {seq} ({reason})")]
    Revoked {
        /// Key name.
        name: String,
        /// Key id (hex).
        key_id: String,
        /// Seq of the revocation.
        seq: u64,
        /// Reason given.
        reason: String,
    },
    /// The key may not sign this kind.
    #[error("key {name} may sign only [{allowed}], not `{kind}`")]
    KindNotAllowed {
        /// Key name.
        name: String,
        /// The entry kind.
        kind: Kind,
        /// Kinds it may sign.
        allowed: String,
    },
    /// The signature names a key id that is not the actor's current key.
    #[error("signature key id {got} is not the current key of {name} ({expected})")]
    KeyIdMismatch {
        /// Key name.
        name: String,
        /// Key id of the current key.
        expected: String,
        /// Key id on the signature.
        got: String,
    },
}

/// Key registry state at some point of the ledger.
#[derive(Debug, Clone)]
pub struct Registry {
    origin: String,
    records: Vec<KeyRecord>,
    current: HashMap<String, usize>,
    /// (first tree size the key signs checkpoints for, key), in order.
    ledger_keys: Vec<(u64, VerifierKey)>,
}

fn parse_vkey(s: &str) -> Result<VerifierKey, String> {
    let k = VerifierKey::parse(s).map_err(|e| format!("key {s:?}: {e}"))?;
    if k.alg != ALG_ED25519 {
        return Err(format!(
            "key {s:?} is not an Ed25519 signing key (type 0x01)"
        ));
    }
    Ok(k)
}

impl Registry {
    /// Builds the registry from the genesis entry (seq 0, a `key` entry with op `init`).
    pub fn genesis(env: &Envelope, op: &KeyOp) -> Result<Registry, String> {
        if env.seq != 0 || env.kind != Kind::Key {
            return Err("entry 0 must be the ledger's `key` init entry".into());
        }
        let KeyOp::Init { origin, key } = op else {
            return Err("entry 0 must have op `init`".into());
        };
        let key = parse_vkey(key)?;
        if key.name != *origin {
            return Err(format!(
                "ledger key name {:?} must equal the origin {origin:?}",
                key.name
            ));
        }
        if env.actor != *origin {
            return Err(format!(
                "entry 0 actor {:?} must be the ledger key {origin:?}",
                env.actor
            ));
        }
        let mut current = HashMap::new();
        current.insert(origin.clone(), 0);
        Ok(Registry {
            origin: origin.clone(),
            records: vec![KeyRecord {
                key: key.clone(),
                kinds: vec![Kind::Key, Kind::Redaction],
                added_seq: 0,
                rotated_seq: None,
                revoked: None,
            }],
            current,
            ledger_keys: vec![(1, key)],
        })
    }

    /// The ledger's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The current ledger key.
    pub fn ledger_key(&self) -> &VerifierKey {
        &self.ledger_keys[self.ledger_keys.len() - 1].1
    }

    /// Every ledger key with the first tree size whose checkpoints it signs.
    pub fn ledger_keys(&self) -> &[(u64, VerifierKey)] {
        &self.ledger_keys
    }

    /// The ledger key that signs checkpoints of a tree of `size` entries.
    pub fn ledger_key_for_size(&self, size: u64) -> &VerifierKey {
        let mut k = &self.ledger_keys[0].1;
        for (from, key) in &self.ledger_keys {
            if *from <= size {
                k = key;
            }
        }
        k
    }

    /// Every key ever registered, in registration order.
    pub fn records(&self) -> &[KeyRecord] {
        &self.records
    }

    /// The record currently registered under `name`.
    pub fn current(&self, name: &str) -> Option<&KeyRecord> {
        self.current.get(name).map(|&i| &self.records[i])
    }

    /// The key that must have signed an entry of `kind` by `actor` with `key_id`.
    pub fn signer_for(
        &self,
        actor: &str,
        kind: Kind,
        key_id: [u8; 4],
    ) -> Result<&VerifierKey, SignerProblem> {
        let rec = self
            .current(actor)
            .ok_or_else(|| SignerProblem::Unknown(actor.to_string()))?;
        if rec.key.key_id != key_id {
            return Err(SignerProblem::KeyIdMismatch {
                name: actor.to_string(),
                expected: hex::encode(rec.key.key_id),
                got: hex::encode(key_id),
            });
        }
        if let Some((seq, reason)) = &rec.revoked {
            return Err(SignerProblem::Revoked {
                name: actor.to_string(),
                key_id: hex::encode(rec.key.key_id),
                seq: *seq,
                reason: reason.clone(),
            });
        }
        if !rec.kinds.contains(&kind) {
            return Err(SignerProblem::KindNotAllowed {
                name: actor.to_string(),
                kind,
                allowed: rec
                    .kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(&rec.key)
    }

    /// Checks that `op` can be applied at `seq` (nothing is changed).
    pub fn check(&self, op: &KeyOp) -> Result<(), String> {
        self.clone().apply(u64::MAX, op)
    }

    /// Applies a `key` entry (after its signature by the ledger key was checked).
    pub fn apply(&mut self, seq: u64, op: &KeyOp) -> Result<(), String> {
        match op {
            KeyOp::Init { .. } => Err("op `init` may appear only at seq 0".into()),
            KeyOp::Add { key, kinds } => {
                let key = parse_vkey(key)?;
                if self.current.contains_key(&key.name) {
                    return Err(format!(
                        "a key named {:?} is already registered; use rotate to replace it",
                        key.name
                    ));
                }
                if kinds.is_empty() {
                    return Err("a key must be allowed at least one kind".into());
                }
                if let Some(k) = kinds.iter().find(|k| k.is_ledger_only()) {
                    return Err(format!("only the ledger key signs `{k}` entries"));
                }
                if self.records.iter().any(|r| r.key.public == key.public) {
                    return Err(format!(
                        "public key of {:?} is already registered under another name",
                        key.name
                    ));
                }
                let mut kinds = kinds.clone();
                kinds.sort();
                kinds.dedup();
                self.current.insert(key.name.clone(), self.records.len());
                self.records.push(KeyRecord {
                    key,
                    kinds,
                    added_seq: seq,
                    rotated_seq: None,
                    revoked: None,
                });
                Ok(())
            }
            KeyOp::Rotate { key } => {
                let key = parse_vkey(key)?;
                let &i = self
                    .current
                    .get(&key.name)
                    .ok_or_else(|| format!("no key named {:?} is registered", key.name))?;
                if self.records.iter().any(|r| r.key.public == key.public) {
                    return Err(format!(
                        "the new key for {:?} was registered before; rotation needs a fresh key",
                        key.name
                    ));
                }
                let kinds = self.records[i].kinds.clone();
                self.records[i].rotated_seq = Some(seq);
                self.current.insert(key.name.clone(), self.records.len());
                if key.name == self.origin {
                    self.ledger_keys.push((seq.saturating_add(1), key.clone()));
                }
                self.records.push(KeyRecord {
                    key,
                    kinds,
                    added_seq: seq,
                    rotated_seq: None,
                    revoked: None,
                });
                Ok(())
            }
            KeyOp::Revoke { key, reason } => {
                let key = parse_vkey(key)?;
                if key.name == self.origin {
                    return Err("the ledger key cannot be revoked; rotate it instead".into());
                }
                let &i = self
                    .current
                    .get(&key.name)
                    .ok_or_else(|| format!("no key named {:?} is registered", key.name))?;
                let rec = &mut self.records[i];
                if rec.key.public != key.public {
                    return Err(format!("{key} is not the current key of {:?}", key.name));
                }
                if rec.revoked.is_some() {
                    return Err(format!("{key} is already revoked"));
                }
                if reason.trim().is_empty() {
                    return Err("a revocation needs a reason".into());
                }
                rec.revoked = Some((seq, reason.clone()));
                Ok(())
            }
        }
    }
}
