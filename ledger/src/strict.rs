//! Ed25519 signature checks with exactly the acceptance rule of ed25519-dalek's
//! `VerifyingKey::verify_strict`, one field square root cheaper.
//!
//! `verify_strict(A, M, R || s)` accepts when all of these hold:
//!
//! 1. `s` is a canonical scalar (`s < ℓ`);
//! 2. `R` decompresses to a curve point, and that point is not of small order;
//! 3. `A` is not of small order;
//! 4. `R'` = `[s]B - [k]A`, with `k` = SHA-512(`R` || `A` || `M`) mod ℓ, compresses to the
//!    32 bytes `R`.
//!
//! Condition 2 costs a decompression (a field square root) that condition 4 makes redundant:
//! when `compress(R') == R`, the bytes `R` are the canonical encoding of the point `R'`, so they
//! decompress, and to `R'` itself. Checking "`R'` is not of small order" on the point already
//! computed (three doublings) is therefore the same as condition 2 whenever condition 4 holds,
//! and when condition 4 fails both rules reject. [`verify_strict`] checks 1, 3, 4 and then 2 in
//! that form. The tests compare it with ed25519-dalek's `verify_strict` on valid signatures,
//! on every kind of mutation, on small-order and mixed-order `R` and `A`, and on non-canonical
//! `s` and `R` encodings.
//!
//! Verification is where a full check of a ledger spends its time (one signature per entry),
//! so this matters; signing and every other use of Ed25519 go through ed25519-dalek.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha512};

/// True when `sig` is a valid signature of `msg` by `public` under `verify_strict`'s rule.
pub fn verify_strict(public: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    verify_strict_parts(public, &[msg], sig)
}

/// [`verify_strict`] of the message made of `parts` one after the other (hashed in place, so a
/// caller need not copy them into one buffer).
pub fn verify_strict_parts(public: &VerifyingKey, parts: &[&[u8]], sig: &[u8; 64]) -> bool {
    let (r_bytes, s_bytes) = sig.split_at(32);
    let mut s = [0u8; 32];
    s.copy_from_slice(s_bytes);
    // 1. s < ℓ.
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s)) else {
        return false;
    };
    // 3. A is not of small order.
    let a = public.to_edwards();
    if a.is_small_order() {
        return false;
    }
    // 4. R' = [s]B - [k]A encodes to R.
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(public.as_bytes());
    for part in parts {
        h.update(part);
    }
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    let r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &(-a), &s);
    if r.compress().as_bytes()[..] != r_bytes[..] {
        return false;
    }
    // 2. R (which now decompresses to R') is not of small order.
    !r.is_small_order()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::traits::Identity;
    use ed25519_dalek::{Signature, Signer, SigningKey};
    use proptest::prelude::*;

    /// The reference: ed25519-dalek's own rule.
    fn reference(public: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> bool {
        public
            .verify_strict(msg, &Signature::from_bytes(sig))
            .is_ok()
    }

    fn same(public: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> bool {
        let ours = verify_strict(public, msg, sig);
        assert_eq!(
            ours,
            reference(public, msg, sig),
            "rule differs for key {} sig {}",
            hex::encode(public.as_bytes()),
            hex::encode(sig)
        );
        ours
    }

    /// A signature made by hand: R = [r]B + T for a chosen torsion point T, s computed for R's
    /// encoding, so only the torsion component can make it fail.
    fn sign_with_torsion(
        secret: &Scalar,
        public: &VerifyingKey,
        msg: &[u8],
        r: &Scalar,
        t: &EdwardsPoint,
    ) -> [u8; 64] {
        let big_r = ED25519_BASEPOINT_POINT * r + t;
        let r_bytes = big_r.compress().to_bytes();
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(public.as_bytes());
        h.update(msg);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = r + k * secret;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }

    #[test]
    fn rfc8032_test_1_verifies_and_its_mutations_do_not() {
        // RFC 8032 section 7.1, TEST 1 (empty message).
        let secret: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let sig: [u8; 64] = hex::decode(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        )
        .unwrap()
        .try_into()
        .unwrap();
        let key = SigningKey::from_bytes(&secret).verifying_key();
        assert_eq!(
            hex::encode(key.as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert!(same(&key, b"", &sig));
        for byte in 0..64 {
            let mut bad = sig;
            bad[byte] ^= 0x01;
            assert!(!same(&key, b"", &bad), "flipped byte {byte} accepted");
        }
        assert!(!same(&key, b"x", &sig));
    }

    #[test]
    fn non_canonical_s_is_rejected_like_verify_strict() {
        let sk = SigningKey::from_bytes(&[3u8; 32]);
        let vk = sk.verifying_key();
        let msg = b"vigil entry";
        let sig = sk.sign(msg).to_bytes();
        assert!(same(&vk, msg, &sig));
        // s + ℓ is the same scalar mod ℓ but not canonical (it still fits in 256 bits).
        let ell: [u8; 32] =
            hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
                .unwrap()
                .try_into()
                .unwrap();
        let mut s_plus_ell = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = u16::from(sig[32 + i]) + u16::from(ell[i]) + carry;
            s_plus_ell[i] = (v & 0xff) as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0);
        let mut bad = sig;
        bad[32..].copy_from_slice(&s_plus_ell);
        assert!(!same(&vk, msg, &bad));
    }

    #[test]
    fn small_order_r_is_rejected_even_when_the_equation_holds() {
        // Every canonical small-order encoding as R, with s = 0 and s = 1, for a few keys, and
        // non-canonical encodings of small-order points.
        let mut encodings: Vec<[u8; 32]> = EIGHT_TORSION
            .iter()
            .map(|p| p.compress().to_bytes())
            .collect();
        // y = p (≡ 0, an order-4 point) and y = p + 1 (≡ 1, the identity): encodings above p.
        let mut y_p = [0xffu8; 32];
        y_p[0] = 0xed;
        y_p[31] = 0x7f;
        let mut y_p1 = y_p;
        y_p1[0] = 0xee;
        encodings.extend([y_p, y_p1]);
        // The sign bit set as well (for x = 0, a second encoding of the same point).
        for e in encodings.clone() {
            let mut with_sign = e;
            with_sign[31] |= 0x80;
            encodings.push(with_sign);
        }
        for seed in [1u8, 2, 200] {
            let sk = SigningKey::from_bytes(&[seed; 32]);
            let vk = sk.verifying_key();
            for r in &encodings {
                for s in [0u8, 1] {
                    let mut sig = [0u8; 64];
                    sig[..32].copy_from_slice(r);
                    sig[32] = s;
                    assert!(!same(&vk, b"m", &sig));
                }
            }
        }
    }

    #[test]
    fn small_order_r_satisfying_the_equation_under_a_mixed_order_key_is_rejected() {
        // A = [a]B + T8 (T8 of order 8). For R = T (small order) and s = k·a, the equation gives
        // [s]B - [k]A = -[k]T8, which equals T for about one message in eight: such a signature
        // passes the equation and only the small-order check on R rejects it.
        let a = Scalar::from_bytes_mod_order([0x29; 32]);
        let t8 = EIGHT_TORSION[1];
        let public = VerifyingKey::from(ED25519_BASEPOINT_POINT * a + t8);
        let mut found = 0;
        for t in EIGHT_TORSION.iter() {
            let r_bytes = t.compress().to_bytes();
            for n in 0u32..200 {
                let msg = n.to_be_bytes();
                let mut h = Sha512::new();
                h.update(r_bytes);
                h.update(public.as_bytes());
                h.update(msg);
                let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
                if (-(t8 * k)).compress().to_bytes() != r_bytes {
                    continue;
                }
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&r_bytes);
                sig[32..].copy_from_slice((k * a).as_bytes());
                // The equation holds: R' encodes to R ...
                let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(
                    &k,
                    &(-public.to_edwards()),
                    &(k * a),
                );
                assert_eq!(r_prime.compress().to_bytes(), r_bytes);
                // ... and both rules reject it for R's order.
                assert!(!same(&public, &msg, &sig));
                found += 1;
                break;
            }
        }
        assert_eq!(
            found,
            EIGHT_TORSION.len(),
            "a message for every torsion point"
        );
    }

    #[test]
    fn mixed_order_r_is_rejected_and_torsion_free_r_accepted() {
        let secret = Scalar::from_bytes_mod_order([0x42; 32]);
        let public = VerifyingKey::from(ED25519_BASEPOINT_POINT * secret);
        for (i, t) in EIGHT_TORSION.iter().enumerate() {
            for r in 1u64..6 {
                let sig = sign_with_torsion(&secret, &public, b"msg", &Scalar::from(r), t);
                let ok = same(&public, b"msg", &sig);
                // Only the identity (index 0) leaves R torsion-free.
                assert_eq!(ok, i == 0, "torsion {i} r {r}");
            }
        }
    }

    #[test]
    fn small_and_mixed_order_keys_are_rejected() {
        // A small-order key: every "signature" fails, including ones that satisfy the equation.
        for t in EIGHT_TORSION.iter() {
            let Ok(vk) = VerifyingKey::from_bytes(&t.compress().to_bytes()) else {
                continue;
            };
            for s in [0u8, 1, 5] {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&ED25519_BASEPOINT_POINT.compress().to_bytes());
                sig[32] = s;
                assert!(!same(&vk, b"", &sig));
                let mut sig2 = [0u8; 64];
                sig2[..32].copy_from_slice(&CompressedEdwardsY::identity().to_bytes());
                sig2[32] = s;
                assert!(!same(&vk, b"", &sig2));
            }
        }
        // A mixed-order key A = [a]B + T: verify_strict judges it by the equation; so must we.
        let a = Scalar::from_bytes_mod_order([0x17; 32]);
        for t in EIGHT_TORSION.iter() {
            let point = ED25519_BASEPOINT_POINT * a + t;
            let vk = VerifyingKey::from(point);
            for r in 1u64..4 {
                let sig = sign_with_torsion(
                    &a,
                    &vk,
                    b"mixed",
                    &Scalar::from(r),
                    &EdwardsPoint::default(),
                );
                same(&vk, b"mixed", &sig);
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_verify_strict_on_valid_and_mutated_signatures(
            seed in any::<[u8; 32]>(),
            msg in proptest::collection::vec(any::<u8>(), 0..600),
            flip in 0usize..(64 * 8 + 1),
            other in any::<[u8; 64]>(),
            split in 0usize..600,
        ) {
            let sk = SigningKey::from_bytes(&seed);
            let vk = sk.verifying_key();
            let sig = sk.sign(&msg).to_bytes();
            prop_assert!(same(&vk, &msg, &sig));
            let (head, tail) = msg.split_at(split.min(msg.len()));
            prop_assert!(verify_strict_parts(&vk, &[head, &[], tail], &sig));
            let mut bad = sig;
            if flip < 64 * 8 {
                bad[flip / 8] ^= 1 << (flip % 8);
                prop_assert!(!same(&vk, &msg, &bad));
            }
            // Random bytes as a signature: almost surely invalid, and judged alike.
            same(&vk, &msg, &other);
        }
    }
}
