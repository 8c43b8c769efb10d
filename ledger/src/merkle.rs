//! RFC 6962 / RFC 9162 Merkle tree hashing and proofs.
//!
//! Proof generation reads perfect-subtree hashes through [`NodeSource`] so that
//! storage can answer with point lookups; every generator touches O(log n)
//! nodes. Verification follows RFC 9162 §2.1.3.2 / §2.1.4.2 in the
//! formulation used by transparency-dev/merkle, with an exact proof-length
//! check so that padded or truncated proofs are rejected before hashing.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: leaf hash, interior node hash or tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix for leaves (RFC 6962 §2.1), so a leaf can never be
/// confused with an interior node.
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix for interior nodes (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// RFC 6962 leaf hash: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([LEAF_PREFIX])
        .chain_update(data)
        .finalize()
        .into()
}

/// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // One contiguous buffer lets SHA-256 run on exactly two blocks without
    // intermediate buffering in the hasher.
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// Root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Naive recursive RFC 6962 MTH over leaf hashes (reference implementation, used by tests and small trees).
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let k = split_point(leaves.len());
            node_hash(
                &root_from_leaf_hashes(&leaves[..k]),
                &root_from_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

/// Largest power of two strictly below `n` (`n >= 2`): RFC 6962's split point.
fn split_point(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Number of significant bits of `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// Perfect-subtree hashes: node(level, index) = root of leaves [index<<level, (index+1)<<level).
///
/// Level 0 holds leaf hashes. Storage implements this with point lookups;
/// the proof generators only ask for nodes lying entirely inside the tree
/// size they were given.
pub trait NodeSource {
    /// Lookup failure (I/O, missing row, ...).
    type Error;
    /// Hash of the perfect subtree of height `level` at position `index`.
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// A node was requested from an in-memory leaf list that does not fully contain it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node (level {level}, index {index}) is not complete in a list of {leaves} leaves")]
pub struct NodeOutOfRange {
    /// Requested level.
    pub level: u32,
    /// Requested index at that level.
    pub index: u64,
    /// Number of leaves available.
    pub leaves: u64,
}

impl NodeSource for [Hash] {
    type Error = NodeOutOfRange;

    fn node(&self, level: u32, index: u64) -> Result<Hash, NodeOutOfRange> {
        let err = NodeOutOfRange {
            level,
            index,
            leaves: self.len() as u64,
        };
        let width = 1u64.checked_shl(level).ok_or(err)?;
        let start = index.checked_mul(width).ok_or(err)?;
        let end = start.checked_add(width).ok_or(err)?;
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return Err(err);
        };
        // A perfect range hashes identically under MTH, so the reference
        // implementation doubles as the subtree hasher.
        self.get(start..end).map(root_from_leaf_hashes).ok_or(err)
    }
}

impl NodeSource for Vec<Hash> {
    type Error = NodeOutOfRange;

    fn node(&self, level: u32, index: u64) -> Result<Hash, NodeOutOfRange> {
        self.as_slice().node(level, index)
    }
}

/// Failure to build a proof or root from a [`NodeSource`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The node source failed.
    #[error("Merkle node lookup failed")]
    Source(#[source] E),
    /// The requested index or size does not exist in the given tree.
    #[error("{what} {value} is out of range for tree size {size}")]
    OutOfRange {
        /// Which argument was out of range ("leaf index" or "old size").
        what: &'static str,
        /// The offending value.
        value: u64,
        /// The tree size it was checked against.
        size: u64,
    },
}

/// Root of `len >= 1` leaves starting at `start`, where `start` is aligned to
/// the largest power of two not exceeding `len` (true for every subtree of an
/// RFC 6962 tree); costs popcount(len) lookups.
fn range_root<S: NodeSource + ?Sized>(src: &S, start: u64, len: u64) -> Result<Hash, S::Error> {
    debug_assert!(len > 0);
    // Walk the decomposition smallest (rightmost) first so the fold needs no
    // buffer: each new subtree is the left child of everything folded so far.
    let mut acc: Option<Hash> = None;
    let mut rest = len;
    while rest != 0 {
        let level = rest.trailing_zeros();
        rest &= rest - 1;
        // Subtrees left of this one are exactly the higher bits still in `rest`.
        let index = (start + rest) >> level;
        let h = src.node(level, index)?;
        acc = Some(match acc {
            None => h,
            Some(right) => node_hash(&h, &right),
        });
    }
    Ok(acc.unwrap_or_else(empty_root))
}

/// Root of the first `size` leaves using only O(log size) node lookups (decompose [0,size) into perfect subtrees).
///
/// Makes exactly popcount(size) lookups; size 0 yields [`empty_root`].
pub fn root_at<S: NodeSource + ?Sized>(src: &S, size: u64) -> Result<Hash, ProofError<S::Error>> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_root(src, 0, size).map_err(ProofError::Source)
}

/// Shape of an audit path from position `index` to the root of a tree whose
/// last position (same level) is `last`: (inner, border) element counts.
fn path_shape(index: u64, last: u64) -> (usize, usize) {
    let inner = bit_len(index ^ last);
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

/// Appends the audit path of perfect node (`level`, `index`) within a tree of
/// `size` leaves, bottom-up. Requires the node to lie inside `[0, size)`.
fn append_path<S: NodeSource + ?Sized>(
    src: &S,
    level: u32,
    index: u64,
    size: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let last = (size - 1) >> level;
    let inner = bit_len(index ^ last);
    for l in 0..inner {
        let lvl = level + l;
        let sibling = (index >> l) ^ 1;
        if l + 1 == inner {
            // The top inner sibling is the only one that can straddle the
            // tree's right edge (it holds the last leaf), so it is the RFC
            // 6962 right-edge subtree [start, size) rather than a stored node.
            let start = sibling << lvl;
            out.push(range_root(src, start, size - start)?);
        } else {
            // Lower siblings sit strictly left of the last leaf's half, so
            // they are complete perfect subtrees.
            out.push(src.node(lvl, sibling)?);
        }
    }
    // Above `inner` the path runs along the right edge: only left siblings
    // (set bits) exist, each a complete perfect subtree.
    let mut pos = index.checked_shr(inner).unwrap_or(0);
    let mut lvl = level + inner;
    while pos != 0 {
        if pos & 1 == 1 {
            out.push(src.node(lvl, pos ^ 1)?);
        }
        pos >>= 1;
        lvl += 1;
    }
    Ok(())
}

/// RFC 6962 `PATH(index, D[0:size])` audit path, leaf-to-root order, O(log size) lookups:
/// every element is either one perfect subtree node or a right-edge subtree computed from O(log) perfect nodes.
///
/// At most 2·bitlen(size−1) lookups: inner siblings, the one right-edge subtree
/// (popcount of its width) and the left border.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::OutOfRange {
            what: "leaf index",
            value: index,
            size,
        });
    }
    let (inner, border) = path_shape(index, size - 1);
    let mut out = Vec::with_capacity(inner + border);
    append_path(src, 0, index, size, &mut out).map_err(ProofError::Source)?;
    Ok(out)
}

/// RFC 6962 `PROOF(old, D[0:new])` consistency proof (SUBPROOF with b = true), O(log new) lookups.
///
/// old == new or old == 0 → empty proof; old > new → error. At most
/// 2·bitlen(new−1) + 1 lookups.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old_size > new_size {
        return Err(ProofError::OutOfRange {
            what: "old size",
            value: old_size,
            size: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    // The old tree's rightmost perfect subtree is the seed: the proof is its
    // audit path in the new tree, preceded by the seed itself unless the seed
    // is the whole old tree (whose root the verifier already has).
    let shift = old_size.trailing_zeros();
    let seed_index = (old_size - 1) >> shift;
    let (inner, border) = path_shape(seed_index, (new_size - 1) >> shift);
    let mut out = Vec::with_capacity(1 + inner + border);
    if seed_index != 0 {
        out.push(src.node(shift, seed_index).map_err(ProofError::Source)?);
    }
    append_path(src, shift, seed_index, new_size, &mut out).map_err(ProofError::Source)?;
    Ok(out)
}

/// Why a proof failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not below the tree size (includes size 0).
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// The proof has the wrong number of elements for the claimed sizes.
    #[error("wrong proof length: expected {expected} hashes, got {got}")]
    WrongProofLength {
        /// Length implied by the claimed index/sizes.
        expected: usize,
        /// Length supplied.
        got: usize,
    },
    /// The root recomputed from an inclusion proof differs from the expected root.
    #[error(
        "root mismatch: expected {}, computed {}",
        hex::encode(.expected),
        hex::encode(.computed)
    )]
    RootMismatch {
        /// Root the caller trusts.
        expected: Hash,
        /// Root recomputed from the proof.
        computed: Hash,
    },
    /// The old root recomputed from a consistency proof differs from the old root given.
    #[error(
        "old root mismatch: expected {}, computed {}",
        hex::encode(.expected),
        hex::encode(.computed)
    )]
    OldRootMismatch {
        /// Old root the caller trusts.
        expected: Hash,
        /// Old root recomputed from the proof.
        computed: Hash,
    },
    /// The new root recomputed from a consistency proof differs from the new root given.
    #[error(
        "new root mismatch: expected {}, computed {}",
        hex::encode(.expected),
        hex::encode(.computed)
    )]
    NewRootMismatch {
        /// New root the caller trusts.
        expected: Hash,
        /// New root recomputed from the proof.
        computed: Hash,
    },
    /// A consistency proof between different non-empty sizes cannot be empty.
    #[error("empty consistency proof for distinct tree sizes")]
    EmptyProof,
    /// A consistency proof from the empty tree was requested; none is meaningful.
    #[error("old tree size is zero: no consistency proof is meaningful")]
    SizeZero,
    /// The old tree is larger than the new one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldLargerThanNew {
        /// Claimed old size.
        old_size: u64,
        /// Claimed new size.
        new_size: u64,
    },
    /// Equal sizes need no proof, so a non-empty one is malformed.
    #[error("non-empty consistency proof ({len} hashes) for equal tree sizes")]
    NonEmptyProofForEqualSizes {
        /// Length supplied.
        len: usize,
    },
    /// Equal sizes must have identical roots.
    #[error(
        "trees of equal size have different roots: {} vs {}",
        hex::encode(.old_root),
        hex::encode(.new_root)
    )]
    EqualSizesDifferentRoots {
        /// Old root given.
        old_root: Hash,
        /// New root given.
        new_root: Hash,
    },
}

/// Folds the inner part of a path: bit `i` of `index` says which side we are on.
fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if (index >> i) & 1 == 0 {
            node_hash(&acc, h)
        } else {
            node_hash(h, &acc)
        }
    })
}

/// Like [`chain_inner`] but drops right siblings, which lie beyond the old
/// tree and so do not contribute to its root.
fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if (index >> i) & 1 == 1 {
            node_hash(h, &acc)
        } else {
            acc
        }
    })
}

/// Folds the border part of a path, where every sibling is on the left.
fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| node_hash(h, &acc))
}

/// RFC 9162 §2.1.3.2 inclusion verification, plus exact-length check (len must equal inner + border where inner = bitlen(index ^ (size-1)), border = popcount(index >> inner)).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let (inner, border) = path_shape(index, size - 1);
    if proof.len() != inner + border {
        return Err(VerifyError::WrongProofLength {
            expected: inner + border,
            got: proof.len(),
        });
    }
    let (inner_part, border_part) = proof.split_at(inner);
    let computed = chain_border_right(chain_inner(*leaf, inner_part, index), border_part);
    if computed != *root {
        return Err(VerifyError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 consistency verification, with transparency-dev/merkle edge cases.
///
/// Checks in order: old > new → `OldLargerThanNew`; old == 0 → `SizeZero`
/// (also for 0 → 0); old == new → proof must be empty and roots equal;
/// otherwise an exact proof length and both recomputed roots.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::OldLargerThanNew { old_size, new_size });
    }
    if old_size == 0 {
        return Err(VerifyError::SizeZero);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(VerifyError::NonEmptyProofForEqualSizes { len: proof.len() });
        }
        if old_root != new_root {
            return Err(VerifyError::EqualSizesDifferentRoots {
                old_root: *old_root,
                new_root: *new_root,
            });
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(VerifyError::EmptyProof);
    }
    let shift = old_size.trailing_zeros();
    let seed_index = (old_size - 1) >> shift;
    let (inner, border) = path_shape(seed_index, (new_size - 1) >> shift);
    // When the old tree is itself perfect its root is the seed and the proof
    // omits it.
    let (seed, rest) = if seed_index == 0 {
        (*old_root, proof)
    } else {
        (proof[0], &proof[1..])
    };
    let expected = proof.len() - rest.len() + inner + border;
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (inner_part, border_part) = rest.split_at(inner);

    let computed_old =
        chain_border_right(chain_inner_right(seed, inner_part, seed_index), border_part);
    if computed_old != *old_root {
        return Err(VerifyError::OldRootMismatch {
            expected: *old_root,
            computed: computed_old,
        });
    }
    let computed_new = chain_border_right(chain_inner(seed, inner_part, seed_index), border_part);
    if computed_new != *new_root {
        return Err(VerifyError::NewRootMismatch {
            expected: *new_root,
            computed: computed_new,
        });
    }
    Ok(())
}

/// The right frontier ("compact range") of a growing tree: the perfect subtree roots covering [0, size), largest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    /// Leaves appended so far.
    size: u64,
    /// One hash per set bit of `size`, highest bit (leftmost subtree) first.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// An empty frontier (tree size 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree hashes, in the order of [`Frontier::decomposition`].
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Rebuild from storage: nodes of the decomposition of [0,size) — exactly popcount(size) lookups.
    pub fn load<S: NodeSource + ?Sized>(src: &S, size: u64) -> Result<Self, ProofError<S::Error>> {
        let nodes = Self::decomposition(size)
            .into_iter()
            .map(|(level, index)| src.node(level, index))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ProofError::Source)?;
        Ok(Self { size, nodes })
    }

    /// The (level, index) of each perfect subtree in the decomposition of [0,size), largest first (what `load` reads).
    pub fn decomposition(size: u64) -> Vec<(u32, u64)> {
        let mut out = Vec::with_capacity(size.count_ones() as usize);
        let mut rest = size;
        while rest != 0 {
            let level = u64::BITS - 1 - rest.leading_zeros();
            // Bit `level` of `size` is set, so the subtree ends at the prefix
            // of `size` through that bit and this is its index.
            out.push((level, (size >> level) - 1));
            rest &= !(1u64 << level);
        }
        out
    }

    /// Append a leaf hash; returns every perfect node completed at level >= 1 as (level, index, hash), lowest level first, so storage can persist them.
    ///
    /// Allocates only when a node completes (every other push). Panics if
    /// the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u32, u64, Hash)> {
        let new_size = self
            .size
            .checked_add(1)
            .expect("Merkle tree size overflows u64");
        // Each trailing one bit of the old size is a same-height subtree on
        // the right edge that the new leaf now completes into a parent.
        let merges = self.size.trailing_ones();
        let mut completed = Vec::new();
        if merges > 0 {
            completed.reserve_exact(merges as usize);
        }
        let mut acc = leaf;
        for level in 1..=merges {
            let Some(left) = self.nodes.pop() else {
                // `nodes` has one entry per set bit of `size`, so this cannot
                // run dry; stopping keeps the frontier well-formed regardless.
                break;
            };
            acc = node_hash(&left, &acc);
            completed.push((level, (new_size >> level) - 1, acc));
        }
        self.nodes.push(acc);
        self.size = new_size;
        completed
    }

    /// MTH of the leaves pushed so far (empty_root() when size is 0).
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;
    use std::convert::Infallible;

    // ---------------------------------------------------------------------
    // Fixtures: transparency-dev/merkle testonly/constants.go
    // ---------------------------------------------------------------------

    const KAT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    const KAT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// (index, size, path) from the brief / constants.go.
    const KAT_INCLUSION: [(u64, u64, &[&str]); 2] = [
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
    ];

    /// (old, new, proof) from the brief / constants.go.
    const KAT_CONSISTENCY: [(u64, u64, &[&str]); 2] = [
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn hs(v: &[&str]) -> Vec<Hash> {
        v.iter().map(|s| h(s)).collect()
    }

    fn kat_leaf_hashes() -> Vec<Hash> {
        KAT_LEAVES
            .iter()
            .map(|s| leaf_hash(&hex::decode(s).unwrap()))
            .collect()
    }

    fn kat_root(size: u64) -> Hash {
        h(KAT_ROOTS[usize::try_from(size).unwrap()])
    }

    fn leaves(seed: u64, n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| {
                let mut d = [0u8; 16];
                d[..8].copy_from_slice(&seed.to_le_bytes());
                d[8..].copy_from_slice(&i.to_le_bytes());
                leaf_hash(&d)
            })
            .collect()
    }

    fn sz(n: u64) -> usize {
        usize::try_from(n).unwrap()
    }

    // ---------------------------------------------------------------------
    // Independent reference implementations (literal RFC 6962 recursion)
    // ---------------------------------------------------------------------

    fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split_point(n);
        if m < k {
            let mut p = ref_path(m, &d[..k]);
            p.push(root_from_leaf_hashes(&d[k..]));
            p
        } else {
            let mut p = ref_path(m - k, &d[k..]);
            p.push(root_from_leaf_hashes(&d[..k]));
            p
        }
    }

    fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![root_from_leaf_hashes(d)]
            };
        }
        let k = split_point(n);
        if m <= k {
            let mut p = ref_subproof(m, &d[..k], b);
            p.push(root_from_leaf_hashes(&d[k..]));
            p
        } else {
            let mut p = ref_subproof(m - k, &d[k..], false);
            p.push(root_from_leaf_hashes(&d[..k]));
            p
        }
    }

    fn ref_consistency(m: usize, d: &[Hash]) -> Vec<Hash> {
        if m == 0 || m == d.len() {
            Vec::new()
        } else {
            ref_subproof(m, d, true)
        }
    }

    /// O(1)-lookup store built level by level by pairwise hashing, so it is
    /// computed independently of both the frontier and `[Hash]::node`.
    struct LevelStore(Vec<Vec<Hash>>);

    impl LevelStore {
        fn new(leaves: &[Hash]) -> Self {
            let mut levels = vec![leaves.to_vec()];
            while levels.last().unwrap().len() >= 2 {
                let next = levels
                    .last()
                    .unwrap()
                    .chunks_exact(2)
                    .map(|p| node_hash(&p[0], &p[1]))
                    .collect();
                levels.push(next);
            }
            Self(levels)
        }
    }

    impl NodeSource for LevelStore {
        type Error = ();
        fn node(&self, level: u32, index: u64) -> Result<Hash, ()> {
            self.0
                .get(level as usize)
                .and_then(|l| l.get(sz(index)))
                .copied()
                .ok_or(())
        }
    }

    /// Counts lookups made through it.
    struct Counting<'a, S: ?Sized> {
        inner: &'a S,
        calls: Cell<u64>,
    }

    impl<'a, S: NodeSource + ?Sized> Counting<'a, S> {
        fn new(inner: &'a S) -> Self {
            Self {
                inner,
                calls: Cell::new(0),
            }
        }
        fn take(&self) -> u64 {
            self.calls.replace(0)
        }
    }

    impl<S: NodeSource + ?Sized> NodeSource for Counting<'_, S> {
        type Error = S::Error;
        fn node(&self, level: u32, index: u64) -> Result<Hash, S::Error> {
            self.calls.set(self.calls.get() + 1);
            self.inner.node(level, index)
        }
    }

    /// Huge tree without materialising it: hashes are derived from
    /// (level, index), and any node not fully inside `size` is an error so
    /// generators are caught asking for nodes that do not exist yet.
    struct Synthetic {
        size: u64,
    }

    impl NodeSource for Synthetic {
        type Error = String;
        fn node(&self, level: u32, index: u64) -> Result<Hash, String> {
            let end = (index + 1).checked_mul(1u64 << level).ok_or("overflow")?;
            if end > self.size {
                return Err(format!("node ({level},{index}) beyond size {}", self.size));
            }
            let mut d = [0u8; 12];
            d[..4].copy_from_slice(&level.to_le_bytes());
            d[4..].copy_from_slice(&index.to_le_bytes());
            Ok(Sha256::digest(d).into())
        }
    }

    /// A genuinely consistent huge tree: every leaf is the same, so level `l`
    /// has a single value computable in O(1).
    struct Uniform {
        size: u64,
        levels: Vec<Hash>,
    }

    impl Uniform {
        fn new(size: u64) -> Self {
            let mut levels = vec![leaf_hash(b"uniform")];
            for _ in 0..64 {
                let last = *levels.last().unwrap();
                levels.push(node_hash(&last, &last));
            }
            Self { size, levels }
        }
    }

    impl NodeSource for Uniform {
        type Error = Infallible;
        fn node(&self, level: u32, index: u64) -> Result<Hash, Infallible> {
            let end = (index + 1) << level;
            assert!(end <= self.size, "node ({level},{index}) beyond size");
            Ok(self.levels[level as usize])
        }
    }

    // ---------------------------------------------------------------------
    // Known answers
    // ---------------------------------------------------------------------

    #[test]
    fn merkle_kat_hash_primitives() {
        assert_eq!(empty_root(), kat_root(0));
        assert_eq!(leaf_hash(&[]), kat_root(1));
        assert_eq!(
            kat_leaf_hashes()[5],
            h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658")
        );
        // Domain separation: a leaf of 64 bytes must not equal the node of its halves.
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut cat = a.to_vec();
        cat.extend_from_slice(&b);
        assert_ne!(leaf_hash(&cat), node_hash(&a, &b));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn merkle_kat_roots_all_methods() {
        let lh = kat_leaf_hashes();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), kat_root(0));
        for size in 0..=8u64 {
            let want = kat_root(size);
            assert_eq!(root_from_leaf_hashes(&lh[..sz(size)]), want, "naive {size}");
            assert_eq!(root_at(&lh, size).unwrap(), want, "root_at vec {size}");
            assert_eq!(
                root_at(&lh[..], size).unwrap(),
                want,
                "root_at slice {size}"
            );
            assert_eq!(frontier.root(), want, "frontier {size}");
            assert_eq!(Frontier::load(&lh, size).unwrap(), frontier, "load {size}");
            if size < 8 {
                frontier.push(lh[sz(size)]);
            }
        }
    }

    #[test]
    fn merkle_kat_inclusion_proofs() {
        let lh = kat_leaf_hashes();
        for (index, size, path) in KAT_INCLUSION {
            let want = hs(path);
            let got = inclusion_proof(&lh, index, size).unwrap();
            assert_eq!(got, want, "inclusion {index}/{size}");
            assert_eq!(ref_path(sz(index), &lh[..sz(size)]), want);
            verify_inclusion(&lh[sz(index)], index, size, &want, &kat_root(size)).unwrap();
        }
    }

    #[test]
    fn merkle_kat_consistency_proofs() {
        let lh = kat_leaf_hashes();
        for (old, new, path) in KAT_CONSISTENCY {
            let want = hs(path);
            let got = consistency_proof(&lh, old, new).unwrap();
            assert_eq!(got, want, "consistency {old}->{new}");
            assert_eq!(ref_consistency(sz(old), &lh[..sz(new)]), want);
            verify_consistency(old, new, &kat_root(old), &kat_root(new), &want).unwrap();
        }
    }

    #[test]
    fn merkle_all_small_proofs_verify_against_kat_roots() {
        let lh = kat_leaf_hashes();
        for size in 1..=8u64 {
            for index in 0..size {
                let p = inclusion_proof(&lh, index, size).unwrap();
                assert_eq!(p, ref_path(sz(index), &lh[..sz(size)]), "{index}/{size}");
                verify_inclusion(&lh[sz(index)], index, size, &p, &kat_root(size)).unwrap();
            }
        }
        for new in 1..=8u64 {
            for old in 1..=new {
                let p = consistency_proof(&lh, old, new).unwrap();
                assert_eq!(p, ref_consistency(sz(old), &lh[..sz(new)]), "{old}->{new}");
                verify_consistency(old, new, &kat_root(old), &kat_root(new), &p).unwrap();
            }
        }
    }

    // ---------------------------------------------------------------------
    // Negative probes (ported from transparency-dev/merkle verifier_test.go)
    // ---------------------------------------------------------------------

    const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000000000000000000";

    /// All single-element insertions, removals and bit flips of `proof`.
    fn proof_mutations(proof: &[Hash], extra: &[Hash]) -> Vec<(String, Vec<Hash>)> {
        let mut out = Vec::new();
        for i in 0..proof.len() {
            for bit in 0..256 {
                let mut p = proof.to_vec();
                p[i][bit / 8] ^= 1 << (bit % 8);
                out.push((format!("flip proof[{i}] bit {bit}"), p));
            }
            let mut p = proof.to_vec();
            p.remove(i);
            out.push((format!("remove proof[{i}]"), p));
        }
        for (j, e) in extra.iter().enumerate() {
            for i in 0..=proof.len() {
                let mut p = proof.to_vec();
                p.insert(i, *e);
                out.push((format!("insert extra[{j}] at {i}"), p));
            }
        }
        if let Some(first) = proof.first() {
            let mut p = proof.to_vec();
            p.insert(0, *first);
            out.push(("preceding proof[0]".into(), p));
        }
        if let Some(last) = proof.last() {
            let mut p = proof.to_vec();
            p.push(*last);
            out.push(("trailing proof[last]".into(), p));
        }
        out.push(("empty proof".into(), Vec::new()));
        out.retain(|(_, p)| p.as_slice() != proof);
        out
    }

    fn inclusion_probes(
        index: u64,
        size: u64,
        leaf: Hash,
        root: Hash,
        proof: &[Hash],
    ) -> Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> {
        let p = proof.to_vec();
        let mut probes = vec![
            (
                "index - 1".into(),
                index.wrapping_sub(1),
                size,
                leaf,
                root,
                p.clone(),
            ),
            ("index + 1".into(), index + 1, size, leaf, root, p.clone()),
            ("index ^ 2".into(), index ^ 2, size, leaf, root, p.clone()),
            ("index ^ 1".into(), index ^ 1, size, leaf, root, p.clone()),
            ("size * 2".into(), index, size * 2, leaf, root, p.clone()),
            ("size / 2".into(), index, size / 2, leaf, root, p.clone()),
            ("size 0".into(), index, 0, leaf, root, p.clone()),
            (
                "size u64::MAX".into(),
                index,
                u64::MAX,
                leaf,
                root,
                p.clone(),
            ),
            (
                "wrong leaf".into(),
                index,
                size,
                leaf_hash(b"WrongLeaf"),
                root,
                p.clone(),
            ),
            (
                "leaf as node".into(),
                index,
                size,
                h(SOME_HASH),
                root,
                p.clone(),
            ),
            (
                "empty root".into(),
                index,
                size,
                leaf,
                empty_root(),
                p.clone(),
            ),
            (
                "random root".into(),
                index,
                size,
                leaf,
                h(SOME_HASH),
                p.clone(),
            ),
        ];
        // Sizes ±1 can share the audit-path shape with `size` (e.g. leaf 0 in
        // sizes 3 and 4); the verifier sees only the shape, so such a probe is
        // indistinguishable from a genuine proof against a root the caller
        // chose. Probe only where the shape differs.
        for (desc, s) in [("size + 1", size + 1), ("size - 1", size - 1)] {
            if index >= s || path_shape(index, s - 1) != path_shape(index, size - 1) {
                probes.push((desc.into(), index, s, leaf, root, p.clone()));
            }
        }
        for (desc, m) in proof_mutations(proof, &[[0u8; 32], root, leaf, h(SOME_HASH)]) {
            probes.push((desc, index, size, leaf, root, m));
        }
        probes
    }

    /// Everything `verify_consistency` derives from the sizes: whether the
    /// seed is in the proof, the left/right choices, and the part lengths.
    /// `None` when the sizes short-circuit before any hashing.
    fn consistency_schedule(old: u64, new: u64) -> Option<(bool, u64, usize, usize)> {
        if old == 0 || old >= new {
            return None;
        }
        let shift = old.trailing_zeros();
        let seed_index = (old - 1) >> shift;
        let (inner, border) = path_shape(seed_index, (new - 1) >> shift);
        let mask = seed_index & ((1u64 << inner) - 1);
        Some((seed_index != 0, mask, inner, border))
    }

    fn consistency_probes(
        old: u64,
        new: u64,
        r1: Hash,
        r2: Hash,
        proof: &[Hash],
    ) -> Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> {
        let p = proof.to_vec();
        let wrong = leaf_hash(b"WrongRoot");
        let mut probes = vec![
            ("old - 1".into(), old - 1, new, r1, r2, p.clone()),
            ("old + 1".into(), old + 1, new, r1, r2, p.clone()),
            ("old ^ 2".into(), old ^ 2, new, r1, r2, p.clone()),
            ("new * 2".into(), old, new * 2, r1, r2, p.clone()),
            ("new / 2".into(), old, new / 2, r1, r2, p.clone()),
            ("old 0".into(), 0, new, r1, r2, p.clone()),
            ("old = new".into(), new, new, r1, r2, p.clone()),
            ("sizes swapped".into(), new, old, r1, r2, p.clone()),
            ("wrong root1".into(), old, new, wrong, r2, p.clone()),
            ("wrong root2".into(), old, new, r1, wrong, p.clone()),
            ("swapped roots".into(), old, new, r2, r1, p.clone()),
            ("swapped everything".into(), new, old, r2, r1, p.clone()),
        ];
        // As with inclusion, new ± 1 can leave the verifier's hashing
        // schedule unchanged (e.g. 1 -> 3 and 1 -> 4), which no verifier can
        // detect; probe only where the schedule differs.
        for (desc, nw) in [("new + 1", new + 1), ("new - 1", new - 1)] {
            if consistency_schedule(old, nw) != consistency_schedule(old, new) {
                probes.push((desc.into(), old, nw, r1, r2, p.clone()));
            }
        }
        for (desc, m) in proof_mutations(proof, &[[0u8; 32], r1, r2, h(SOME_HASH)]) {
            probes.push((desc, old, new, r1, r2, m));
        }
        probes
    }

    #[test]
    fn merkle_inclusion_probes_rejected() {
        let lh = kat_leaf_hashes();
        let (mut n, mut resized) = (0, 0);
        for size in 1..=8u64 {
            for index in 0..size {
                let proof = inclusion_proof(&lh, index, size).unwrap();
                let (leaf, root) = (lh[sz(index)], kat_root(size));
                verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
                for (desc, i, s, l, r, p) in inclusion_probes(index, size, leaf, root, &proof) {
                    let res = verify_inclusion(&l, i, s, &p, &r);
                    assert!(res.is_err(), "{index}/{size}: probe `{desc}` was accepted");
                    // Padding and truncation must be caught by the length
                    // check, not by luck in the hash chain.
                    if (i, s) == (index, size) && p.len() != proof.len() {
                        assert!(
                            matches!(res, Err(VerifyError::WrongProofLength { .. })),
                            "{index}/{size}: probe `{desc}` gave {res:?}"
                        );
                    }
                    n += 1;
                    resized += usize::from(desc == "size + 1" || desc == "size - 1");
                }
            }
        }
        assert!(n > 10_000, "only {n} probes ran");
        // The shape filter must not silently drop the ±1 probes altogether.
        assert!(resized >= 20, "only {resized} ±1 probes ran");
    }

    #[test]
    fn merkle_consistency_probes_rejected() {
        let lh = kat_leaf_hashes();
        let (mut n, mut resized) = (0, 0);
        for new in 2..=8u64 {
            for old in 1..new {
                let proof = consistency_proof(&lh, old, new).unwrap();
                let (r1, r2) = (kat_root(old), kat_root(new));
                verify_consistency(old, new, &r1, &r2, &proof).unwrap();
                for (desc, o, nw, a, b, p) in consistency_probes(old, new, r1, r2, &proof) {
                    let res = verify_consistency(o, nw, &a, &b, &p);
                    assert!(res.is_err(), "{old}->{new}: probe `{desc}` was accepted");
                    if (o, nw) == (old, new) && p.len() != proof.len() {
                        let want_empty = p.is_empty();
                        assert!(
                            matches!(
                                (&res, want_empty),
                                (Err(VerifyError::WrongProofLength { .. }), false)
                                    | (Err(VerifyError::EmptyProof), true)
                            ),
                            "{old}->{new}: probe `{desc}` gave {res:?}"
                        );
                    }
                    n += 1;
                    resized += usize::from(desc == "new + 1" || desc == "new - 1");
                }
            }
        }
        assert!(n > 10_000, "only {n} probes ran");
        // The shape filter must not silently drop the ±1 probes altogether.
        assert!(resized >= 20, "only {resized} ±1 probes ran");
    }

    #[test]
    fn merkle_verify_error_variants() {
        let lh = kat_leaf_hashes();
        let (r3, r5) = (kat_root(3), kat_root(5));
        assert_eq!(
            verify_inclusion(&lh[0], 0, 0, &[], &empty_root()),
            Err(VerifyError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            verify_inclusion(&lh[3], 3, 3, &[], &r3),
            Err(VerifyError::IndexOutOfRange { index: 3, size: 3 })
        );
        assert_eq!(
            verify_inclusion(&lh[0], 0, 3, &[], &r3),
            Err(VerifyError::WrongProofLength {
                expected: 2,
                got: 0
            })
        );
        assert!(matches!(
            verify_inclusion(&lh[1], 0, 1, &[], &kat_root(1)),
            Err(VerifyError::RootMismatch { .. })
        ));
        // Single-leaf tree: the leaf hash is the root and the proof is empty.
        verify_inclusion(&lh[0], 0, 1, &[], &kat_root(1)).unwrap();

        assert_eq!(
            verify_consistency(5, 3, &r5, &r3, &[]),
            Err(VerifyError::OldLargerThanNew {
                old_size: 5,
                new_size: 3
            })
        );
        assert_eq!(
            verify_consistency(0, 5, &empty_root(), &r5, &[]),
            Err(VerifyError::SizeZero)
        );
        assert_eq!(
            verify_consistency(0, 0, &empty_root(), &empty_root(), &[]),
            Err(VerifyError::SizeZero)
        );
        verify_consistency(3, 3, &r3, &r3, &[]).unwrap();
        assert_eq!(
            verify_consistency(3, 3, &r3, &r3, &[r3]),
            Err(VerifyError::NonEmptyProofForEqualSizes { len: 1 })
        );
        assert!(matches!(
            verify_consistency(3, 3, &r3, &r5, &[]),
            Err(VerifyError::EqualSizesDifferentRoots { .. })
        ));
        assert_eq!(
            verify_consistency(3, 5, &r3, &r5, &[]),
            Err(VerifyError::EmptyProof)
        );
        let p = consistency_proof(&lh, 3, 5).unwrap();
        assert!(matches!(
            verify_consistency(3, 5, &r5, &r5, &p),
            Err(VerifyError::OldRootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(3, 5, &r3, &r3, &p),
            Err(VerifyError::NewRootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(3, 5, &r3, &r5, &p[1..]),
            Err(VerifyError::WrongProofLength { .. })
        ));
        let msg = VerifyError::RootMismatch {
            expected: [0xab; 32],
            computed: [0; 32],
        }
        .to_string();
        assert!(msg.contains(&"ab".repeat(32)), "{msg}");
    }

    #[test]
    fn merkle_generator_range_errors() {
        let lh = kat_leaf_hashes();
        assert!(matches!(
            inclusion_proof(&lh, 0, 0),
            Err(ProofError::OutOfRange { .. })
        ));
        assert!(matches!(
            inclusion_proof(&lh, 8, 8),
            Err(ProofError::OutOfRange { .. })
        ));
        assert!(matches!(
            consistency_proof(&lh, 6, 5),
            Err(ProofError::OutOfRange { .. })
        ));
        assert_eq!(consistency_proof(&lh, 0, 8).unwrap(), Vec::<Hash>::new());
        assert_eq!(consistency_proof(&lh, 8, 8).unwrap(), Vec::<Hash>::new());
        assert_eq!(consistency_proof(&lh, 0, 0).unwrap(), Vec::<Hash>::new());
        assert_eq!(root_at(&lh, 0).unwrap(), empty_root());
        // Asking beyond what the source holds surfaces the source's error.
        assert!(matches!(
            inclusion_proof(&lh, 0, 9),
            Err(ProofError::Source(NodeOutOfRange { .. }))
        ));
        assert!(matches!(root_at(&lh, 9), Err(ProofError::Source(_))));
        assert!(lh.node(0, 8).is_err());
        assert!(lh.node(3, 1).is_err());
        assert!(lh.node(64, 0).is_err());
        assert!(lh.node(1, u64::MAX).is_err());
        assert_eq!(lh.node(3, 0).unwrap(), kat_root(8));
        assert_eq!(
            lh.node(2, 1).unwrap(),
            node_hash(&lh.node(1, 2).unwrap(), &lh.node(1, 3).unwrap())
        );
    }

    // ---------------------------------------------------------------------
    // Frontier
    // ---------------------------------------------------------------------

    #[test]
    fn merkle_decomposition_shape() {
        assert!(Frontier::decomposition(0).is_empty());
        assert_eq!(Frontier::decomposition(1), vec![(0, 0)]);
        assert_eq!(Frontier::decomposition(11), vec![(3, 0), (1, 4), (0, 10)]);
        assert_eq!(Frontier::decomposition(8), vec![(3, 0)]);
        let max = Frontier::decomposition(u64::MAX);
        assert_eq!(max.len(), 64);
        assert_eq!(max[0], (63, 0));
        assert_eq!(max[63], (0, u64::MAX - 1));
    }

    #[test]
    fn merkle_frontier_matches_naive_every_size() {
        let lh = leaves(7, 300);
        let mut f = Frontier::new();
        for size in 0..=lh.len() {
            assert_eq!(f.size(), size as u64);
            assert_eq!(f.root(), root_from_leaf_hashes(&lh[..size]), "size {size}");
            assert_eq!(f.nodes().len(), (size as u64).count_ones() as usize);
            if let Some(leaf) = lh.get(size) {
                let done = f.push(*leaf);
                // Exactly the trailing ones of the old size merge.
                assert_eq!(done.len(), (size as u64).trailing_ones() as usize);
                for (k, (level, index, hash)) in done.iter().enumerate() {
                    assert_eq!(*level as usize, k + 1, "lowest level first");
                    assert_eq!(lh.node(*level, *index).unwrap(), *hash);
                }
            }
        }
    }

    #[test]
    fn merkle_frontier_push_without_completion_does_not_allocate() {
        let mut f = Frontier::new();
        let done = f.push([1; 32]);
        assert!(done.is_empty());
        assert_eq!(done.capacity(), 0);
        let done = f.push([2; 32]);
        assert_eq!(done.capacity(), 1);
    }

    // ---------------------------------------------------------------------
    // Lookup counts on huge trees
    // ---------------------------------------------------------------------

    fn log2_ceil(n: u64) -> u64 {
        u64::from(bit_len(n - 1))
    }

    #[test]
    fn merkle_lookup_counts_exhaustive_small() {
        let lh = leaves(3, 130);
        let store = LevelStore::new(&lh);
        let src = Counting::new(&store);
        for size in 1..=lh.len() as u64 {
            let bound = 2 * log2_ceil(size) + 1;
            for index in 0..size {
                inclusion_proof(&src, index, size).unwrap();
                let calls = src.take();
                assert!(
                    calls <= bound,
                    "inclusion {index}/{size}: {calls} > {bound}"
                );
            }
            for old in 0..=size {
                consistency_proof(&src, old, size).unwrap();
                let calls = src.take();
                assert!(
                    calls <= bound,
                    "consistency {old}->{size}: {calls} > {bound}"
                );
            }
        }
    }

    #[test]
    fn merkle_lookup_counts_at_ten_million() {
        let sizes = [
            10_000_000u64,
            10_000_001,
            9_999_999,
            (1 << 23) + (1 << 22) - 1,
            (1 << 24) - 1,
            1 << 23,
            (1 << 23) + 1,
        ];
        for size in sizes {
            let syn = Synthetic { size };
            let src = Counting::new(&syn);
            // Documented bound, well inside the 3·log2(n) budget.
            let bound = 2 * log2_ceil(size) + 1;
            let indices = [
                0,
                1,
                size / 3,
                size / 2,
                size - 2,
                size - 1,
                (size - 1) & !1,
            ];
            for index in indices {
                let p = inclusion_proof(&src, index, size).unwrap();
                let calls = src.take();
                assert!(
                    calls <= bound,
                    "inclusion {index}/{size}: {calls} > {bound}"
                );
                let (inner, border) = path_shape(index, size - 1);
                assert_eq!(p.len(), inner + border);
            }
            for old in [
                1,
                2,
                3,
                size / 3,
                size / 2 + 1,
                size - 1,
                (1 << 22) - 1,
                1 << 22,
            ] {
                let p = consistency_proof(&src, old, size).unwrap();
                let calls = src.take();
                assert!(
                    calls <= bound,
                    "consistency {old}->{size}: {calls} > {bound}"
                );
                assert!(p.len() as u64 <= 2 * log2_ceil(size) + 1);
            }
            root_at(&src, size).unwrap();
            assert_eq!(src.take(), u64::from(size.count_ones()));
            let f = Frontier::load(&src, size).unwrap();
            assert_eq!(src.take(), u64::from(size.count_ones()));
            assert_eq!(f.size(), size);
        }
    }

    #[test]
    fn merkle_huge_uniform_tree_proofs_verify() {
        let size = 10_000_000u64;
        let tree = Uniform::new(size);
        let leaf = tree.levels[0];
        for new in [size, size - 1, (1 << 23) + 3] {
            let root = root_at(&tree, new).unwrap();
            for index in [0, 5, new / 2, new - 1] {
                let p = inclusion_proof(&tree, index, new).unwrap();
                verify_inclusion(&leaf, index, new, &p, &root).unwrap();
            }
            for old in [1, 6, new / 3, new - 1, new] {
                let p = consistency_proof(&tree, old, new).unwrap();
                let old_root = root_at(&tree, old).unwrap();
                verify_consistency(old, new, &old_root, &root, &p).unwrap();
            }
        }
    }

    // ---------------------------------------------------------------------
    // Property tests
    // ---------------------------------------------------------------------

    fn config() -> ProptestConfig {
        ProptestConfig {
            // Keep the source tree free of regression files.
            failure_persistence: None,
            ..ProptestConfig::with_cases(128)
        }
    }

    fn size_and_index() -> impl Strategy<Value = (u64, u64, u64)> {
        (any::<u64>(), 1u64..2000).prop_flat_map(|(seed, n)| (Just(seed), Just(n), 0..n))
    }

    fn sizes_and_old() -> impl Strategy<Value = (u64, u64, u64)> {
        (any::<u64>(), 1u64..2000).prop_flat_map(|(seed, n)| (Just(seed), Just(n), 0..=n))
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn merkle_prop_inclusion((seed, n, index) in size_and_index(), elem in any::<prop::sample::Index>(), bit in 0usize..256) {
            let lh = leaves(seed, n);
            let root = root_from_leaf_hashes(&lh);
            prop_assert_eq!(root_at(&lh, n).unwrap(), root);
            let p = inclusion_proof(&lh, index, n).unwrap();
            prop_assert_eq!(&p, &ref_path(sz(index), &lh));
            prop_assert_eq!(verify_inclusion(&lh[sz(index)], index, n, &p, &root), Ok(()));
            if !p.is_empty() {
                let mut bad = p.clone();
                bad[elem.index(p.len())][bit / 8] ^= 1 << (bit % 8);
                prop_assert!(verify_inclusion(&lh[sz(index)], index, n, &bad, &root).is_err());
            }
        }

        #[test]
        fn merkle_prop_consistency((seed, n, old) in sizes_and_old(), elem in any::<prop::sample::Index>(), bit in 0usize..256) {
            let lh = leaves(seed, n);
            let new_root = root_from_leaf_hashes(&lh);
            let old_root = root_from_leaf_hashes(&lh[..sz(old)]);
            prop_assert_eq!(root_at(&lh, old).unwrap(), old_root);
            let p = consistency_proof(&lh, old, n).unwrap();
            prop_assert_eq!(&p, &ref_consistency(sz(old), &lh));
            let res = verify_consistency(old, n, &old_root, &new_root, &p);
            if old == 0 {
                prop_assert_eq!(res, Err(VerifyError::SizeZero));
            } else {
                prop_assert_eq!(res, Ok(()));
            }
            if !p.is_empty() {
                let mut bad = p.clone();
                bad[elem.index(p.len())][bit / 8] ^= 1 << (bit % 8);
                prop_assert!(verify_consistency(old, n, &old_root, &new_root, &bad).is_err());
            }
        }

        #[test]
        fn merkle_prop_frontier(seed in any::<u64>(), n in 0u64..2000, probe in any::<prop::sample::Index>()) {
            let lh = leaves(seed, n);
            let store = LevelStore::new(&lh);
            let mut f = Frontier::new();
            let mut persisted = 0usize;
            for (i, leaf) in lh.iter().enumerate() {
                for (level, index, hash) in f.push(*leaf) {
                    prop_assert!(level >= 1);
                    prop_assert_eq!(lh.node(level, index).unwrap(), hash);
                    persisted += 1;
                }
                let size = i as u64 + 1;
                prop_assert_eq!(f.root(), root_at(&store, size).unwrap());
                prop_assert_eq!(&Frontier::load(&store, size).unwrap(), &f);
            }
            // Every interior perfect node is reported exactly once.
            prop_assert_eq!(persisted, store.0.iter().skip(1).map(Vec::len).sum::<usize>());
            prop_assert_eq!(f.root(), root_from_leaf_hashes(&lh));
            prop_assert_eq!(&Frontier::load(&lh, n).unwrap(), &f);
            let k = if n == 0 { 0 } else { probe.index(sz(n) + 1) };
            prop_assert_eq!(root_at(&lh, k as u64).unwrap(), root_from_leaf_hashes(&lh[..k]));
        }
    }
}
