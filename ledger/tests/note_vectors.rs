//! Known-answer, torture and property tests for `vigil_ledger::note`.
//!
//! Everything lives in `mod note` so `cargo test -p vigil-ledger note` selects it.

// A failed unwrap is the clearest test failure there is.
#![allow(clippy::unwrap_used)]

mod note {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;
    use vigil_ledger::note::{
        ALG_COSIGNATURE_V1, ALG_ED25519, Checkpoint, MAX_SIGNATURES, Note, NoteError,
        NoteSignature, SignedCheckpoint, SignerKey, VerifierKey, cosign, key_id, validate_key_name,
        verify_cosignatures,
    };

    fn h32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn h64(s: &str) -> [u8; 64] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn key(name: &str, seed: u8) -> SignerKey {
        SignerKey::from_seed(name, ALG_ED25519, [seed; 32]).unwrap()
    }

    fn witness(name: &str, seed: u8) -> SignerKey {
        SignerKey::from_seed(name, ALG_COSIGNATURE_V1, [seed; 32]).unwrap()
    }

    fn checkpoint(origin: &str, size: u64) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size,
            root: [0x5a; 32],
            extensions: vec![],
        }
    }

    /// Flips the lowest bit of one base64 character, keeping it in the alphabet.
    fn flip_b64_char(c: u8) -> u8 {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let i = ALPHABET.iter().position(|&a| a == c).unwrap();
        ALPHABET[i ^ 1]
    }

    // ---- RFC 8032 section 7.1 ----

    fn rfc8032_case(sk: &str, pk: &str, msg: &[u8], sig: &str) {
        let signer = SignerKey::from_seed("rfc8032.example", ALG_ED25519, h32(sk)).unwrap();
        let verifier = signer.verifier();
        assert_eq!(verifier.public.to_bytes(), h32(pk), "public key");
        let got = signer.sign(msg);
        assert_eq!(hex::encode(got), sig, "signature");
        assert!(verifier.verify(msg, &h64(sig)));
        // Every single-bit flip of the signature must fail.
        for bit in 0..512 {
            let mut bad = got;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(!verifier.verify(msg, &bad), "signature bit {bit}");
        }
        // So must a one-bit change of the message.
        let mut other = msg.to_vec();
        match other.first_mut() {
            Some(b) => *b ^= 1,
            None => other.push(0),
        }
        assert!(!verifier.verify(&other, &got), "altered message");
        // And the key survives its string form.
        let reparsed = VerifierKey::parse(&verifier.to_string()).unwrap();
        assert!(reparsed.verify(msg, &got));
    }

    #[test]
    fn rfc8032_test_1_empty_message() {
        rfc8032_case(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            b"",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        );
    }

    #[test]
    fn rfc8032_test_2_one_byte() {
        rfc8032_case(
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            &[0x72],
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        );
    }

    // ---- C2SP signed-note example ----

    const C2SP_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const C2SP_SIG: &str = "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=";

    fn c2sp_note() -> String {
        format!("This is an example message.\n\n\u{2014} example.com/foo {C2SP_SIG}\n")
    }

    #[test]
    fn c2sp_example_note_verifies() {
        let vkey = VerifierKey::parse(C2SP_VKEY).unwrap();
        assert_eq!(vkey.name, "example.com/foo");
        assert_eq!(vkey.key_id, [0x53, 0x0d, 0x90, 0x3a]);
        assert_eq!(vkey.alg, ALG_ED25519);
        assert_eq!(vkey.to_string(), C2SP_VKEY);
        assert_eq!(
            key_id("example.com/foo", ALG_ED25519, vkey.public.as_bytes()),
            vkey.key_id
        );

        let bytes = c2sp_note();
        let note = Note::parse(bytes.as_bytes()).unwrap();
        assert_eq!(note.text, "This is an example message.\n");
        assert_eq!(note.signatures.len(), 1);
        assert_eq!(note.signatures[0].name, "example.com/foo");
        assert_eq!(note.signatures[0].key_id, vkey.key_id);
        assert_eq!(note.signatures[0].sig.len(), 64);
        assert_eq!(note.to_bytes(), bytes.as_bytes());
        assert_eq!(note.to_string(), bytes);

        let known = [vkey];
        let verified = note.verify(&known).unwrap();
        assert_eq!(verified, vec![&known[0]]);

        let tampered = bytes.replace("example message", "example massage");
        let err = Note::parse(tampered.as_bytes())
            .unwrap()
            .verify(&known)
            .unwrap_err();
        assert_eq!(
            err,
            NoteError::BadSignature {
                name: "example.com/foo".into()
            }
        );
    }

    // ---- golang.org/x/mod/sumdb/note vectors ----

    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn go_note_vectors() {
        let signer = SignerKey::parse(GO_SKEY).unwrap();
        assert_eq!(signer.name(), "PeterNeumann");
        assert_eq!(signer.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(signer.verifier().to_string(), GO_VKEY);
        assert_eq!(signer.to_secret_string().as_str(), GO_SKEY);
        assert_eq!(VerifierKey::parse(GO_VKEY).unwrap(), signer.verifier());

        let note = Note::sign(GO_TEXT, &[&signer]).unwrap();
        assert_eq!(note.signatures[0].to_line(), GO_LINE);
        let expected = format!("{GO_TEXT}\n{GO_LINE}");
        assert_eq!(note.to_bytes(), expected.as_bytes());

        let parsed = Note::parse(expected.as_bytes()).unwrap();
        assert_eq!(parsed, note);
        let known = [VerifierKey::parse(GO_VKEY).unwrap()];
        assert_eq!(parsed.verify(&known).unwrap(), vec![&known[0]]);
    }

    // ---- key strings ----

    fn vkey_string(name: &str, id: [u8; 4], alg: u8, public: &[u8; 32]) -> String {
        let mut material = vec![alg];
        material.extend_from_slice(public);
        format!("{name}+{}+{}", hex::encode(id), STANDARD.encode(material))
    }

    #[test]
    fn vkey_rejections() {
        let good = VerifierKey::parse(GO_VKEY).unwrap();
        let pk = good.public.to_bytes();

        assert_eq!(VerifierKey::parse(&format!("{GO_VKEY}\n")).unwrap(), good);
        for bad in [
            format!("{GO_VKEY} "),
            format!("{GO_VKEY}\n\n"),
            format!("{GO_VKEY}\r\n"),
            format!(" {GO_VKEY}"),
            format!("{GO_VKEY}="),
        ] {
            assert!(VerifierKey::parse(&bad).is_err(), "{bad:?}");
        }

        let wrong_id = GO_VKEY.replace("c74f20a3", "c74f20a4");
        assert!(matches!(
            VerifierKey::parse(&wrong_id),
            Err(NoteError::KeyIdMismatch { .. })
        ));
        let upper = GO_VKEY.replace("c74f20a3", "C74F20A3");
        assert!(matches!(
            VerifierKey::parse(&upper),
            Err(NoteError::MalformedKey { .. })
        ));
        let short_id = GO_VKEY.replace("c74f20a3", "c74f20a");
        assert!(matches!(
            VerifierKey::parse(&short_id),
            Err(NoteError::MalformedKey { .. })
        ));

        // 32 bytes of material: type byte present, one key byte missing.
        let short = format!(
            "PeterNeumann+c74f20a3+{}",
            STANDARD.encode([&[1u8][..], &pk[..31]].concat())
        );
        assert!(matches!(
            VerifierKey::parse(&short),
            Err(NoteError::MalformedKey { .. })
        ));
        let long = format!(
            "PeterNeumann+c74f20a3+{}",
            STANDARD.encode([&[1u8][..], &pk[..], &[0]].concat())
        );
        assert!(matches!(
            VerifierKey::parse(&long),
            Err(NoteError::MalformedKey { .. })
        ));

        let alg2 = vkey_string("PeterNeumann", key_id("PeterNeumann", 2, &pk), 2, &pk);
        assert_eq!(
            VerifierKey::parse(&alg2),
            Err(NoteError::UnknownAlgorithm { alg: 2 })
        );

        let spaced = vkey_string("Peter Neumann", key_id("Peter Neumann", 1, &pk), 1, &pk);
        assert!(matches!(
            VerifierKey::parse(&spaced),
            Err(NoteError::InvalidKeyName { .. })
        ));
        assert!(matches!(
            VerifierKey::parse("+c74f20a3+AAAA"),
            Err(NoteError::InvalidKeyName { .. })
        ));
        assert!(matches!(
            VerifierKey::parse("PeterNeumann"),
            Err(NoteError::MalformedKey { .. })
        ));
        assert!(matches!(
            VerifierKey::parse(GO_SKEY),
            Err(NoteError::MalformedKey { .. })
        ));

        // The identity point has small order: a signature under it proves nothing.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = vkey_string(
            "weak.example",
            key_id("weak.example", 1, &identity),
            1,
            &identity,
        );
        assert_eq!(
            VerifierKey::parse(&weak),
            Err(NoteError::WeakKey {
                name: "weak.example".into()
            })
        );

        // y = p + 1 is a second, non-canonical encoding of the identity.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        let nc = vkey_string(
            "nc.example",
            key_id("nc.example", 1, &non_canonical),
            1,
            &non_canonical,
        );
        assert!(matches!(
            VerifierKey::parse(&nc),
            Err(NoteError::MalformedKey { .. })
        ));
    }

    #[test]
    fn skey_generate_roundtrip_and_rejections() {
        let a = SignerKey::generate("gen.example/a", ALG_ED25519).unwrap();
        let b = SignerKey::generate("gen.example/a", ALG_ED25519).unwrap();
        assert_ne!(
            a.verifier().public,
            b.verifier().public,
            "two generated keys are equal"
        );

        let secret = a.to_secret_string();
        assert!(secret.starts_with("PRIVATE+KEY+gen.example/a+"));
        let again = SignerKey::parse(&secret).unwrap();
        assert_eq!(again.verifier(), a.verifier());
        assert_eq!(
            SignerKey::parse(&format!("{}\n", secret.as_str()))
                .unwrap()
                .key_id(),
            a.key_id()
        );
        let msg = b"round trip";
        assert!(a.verifier().verify(msg, &again.sign(msg)));

        let w = SignerKey::generate("gen.example/w", ALG_COSIGNATURE_V1).unwrap();
        let w2 = SignerKey::parse(&w.to_secret_string()).unwrap();
        assert_eq!(w2.alg(), ALG_COSIGNATURE_V1);
        assert_eq!(
            VerifierKey::parse(&w.verifier().to_string()).unwrap(),
            w.verifier()
        );

        let wrong_id = GO_SKEY.replace("c74f20a3", "00000000");
        assert!(matches!(
            SignerKey::parse(&wrong_id),
            Err(NoteError::KeyIdMismatch { .. })
        ));
        assert!(matches!(
            SignerKey::parse(GO_VKEY),
            Err(NoteError::MalformedKey { .. })
        ));
        assert!(SignerKey::parse(&format!("{GO_SKEY} ")).is_err());
        assert_eq!(
            SignerKey::from_seed("x", 7, [1; 32]).unwrap_err(),
            NoteError::UnknownAlgorithm { alg: 7 }
        );
        assert!(SignerKey::generate("bad name", ALG_ED25519).is_err());

        let dbg = format!("{:?}", SignerKey::parse(GO_SKEY).unwrap());
        assert!(
            dbg.contains("PeterNeumann") && dbg.contains("c74f20a3"),
            "{dbg}"
        );
        assert!(
            !dbg.contains("AYEKFALV") && !dbg.contains("810a14"),
            "{dbg}"
        );
    }

    #[test]
    fn key_name_validation() {
        assert!(validate_key_name("example.com/log42").is_ok());
        for bad in ["", "a b", "a+b", "a\u{2028}b", "a\u{3000}b", "tab\t"] {
            assert!(validate_key_name(bad).is_err(), "{bad:?}");
        }
    }

    // ---- note parser torture ----

    fn signed(text: &str) -> (SignerKey, String) {
        let k = key("torture.example", 3);
        let bytes = Note::sign(text, &[&k]).unwrap().to_string();
        (k, bytes)
    }

    #[test]
    fn note_torture_distinct_errors() {
        let (_, good) = signed("hello\n");
        let parse = |s: &str| Note::parse(s.as_bytes());
        assert!(parse(&good).is_ok());

        assert_eq!(
            parse(&good.replace('\n', "\r\n")),
            Err(NoteError::CarriageReturn { line: 1 })
        );
        assert_eq!(
            parse(good.trim_end_matches('\n')),
            Err(NoteError::MissingFinalNewline)
        );
        assert_eq!(
            parse(&good.replacen("\n\n", "\n", 1)),
            Err(NoteError::MissingBlankLine)
        );
        assert_eq!(parse("hello\n\n"), Err(NoteError::NoSignatures));
        assert_eq!(parse(""), Err(NoteError::EmptyText));
        assert_eq!(
            Note::parse(b"hello\xff\n\n"),
            Err(NoteError::InvalidUtf8 { offset: 5 })
        );
        assert_eq!(
            parse(&good.replace("hello", "hel\u{1}lo")),
            Err(NoteError::ControlCharacter {
                line: 1,
                codepoint: 1
            })
        );
        assert_eq!(
            parse(&good.replace("hello", "hello\tworld")),
            Err(NoteError::ControlCharacter {
                line: 1,
                codepoint: 9
            })
        );
        assert_eq!(
            parse(&good.replace("hello", "esc\u{1b}[31m")),
            Err(NoteError::ControlCharacter {
                line: 1,
                codepoint: 0x1b
            })
        );
        assert_eq!(
            parse(&good.replace('\u{2014}', "-")),
            Err(NoteError::SignatureAsciiDash { line: 1 })
        );
        assert_eq!(
            parse(&good.replace('\u{2014}', "--")),
            Err(NoteError::SignatureAsciiDash { line: 1 })
        );
        assert_eq!(
            parse(&good.replace('\u{2014}', "\u{2013}")),
            Err(NoteError::SignaturePrefix { line: 1 })
        );
        assert_eq!(
            parse(&good.replace("\u{2014} ", "\u{2014}")),
            Err(NoteError::SignaturePrefix { line: 1 })
        );

        // Extra spaces anywhere in the signature line.
        for bad in [
            good.replace("\u{2014} ", "\u{2014}  "),
            good.replace("torture.example ", "torture.example  "),
            good.replace("=\n", "= \n"),
        ] {
            assert_eq!(
                parse(&bad),
                Err(NoteError::SignatureSpacing { line: 1 }),
                "{bad:?}"
            );
        }

        // Non-canonical base64: a 68-byte payload leaves two unused bits in the last character.
        let line_start = good.find('\u{2014}').unwrap();
        let pad = good.rfind('=').unwrap();
        let mut bytes = good.clone().into_bytes();
        bytes[pad - 1] = flip_b64_char(bytes[pad - 1]);
        assert!(matches!(
            Note::parse(&bytes),
            Err(NoteError::SignatureBase64 { line: 1, .. })
        ));
        let unpadded = good.replace("=\n", "\n");
        assert!(matches!(
            parse(&unpadded),
            Err(NoteError::SignatureBase64 { line: 1, .. })
        ));
        assert!(pad > line_start);

        // Four bytes is a key id with no signature.
        let stub = format!(
            "hello\n\n\u{2014} torture.example {}\n",
            STANDARD.encode([1, 2, 3, 4])
        );
        assert_eq!(
            parse(&stub),
            Err(NoteError::SignatureTooShort { line: 1, len: 4 })
        );
        let tiny = "hello\n\n\u{2014} torture.example AAA=\n";
        assert_eq!(
            parse(tiny),
            Err(NoteError::SignatureTooShort { line: 1, len: 2 })
        );

        // A second signature line with a bad prefix is reported as line 2.
        let line = &good[line_start..];
        let two = format!("{good}-{}", &line['\u{2014}'.len_utf8()..]);
        assert_eq!(parse(&two), Err(NoteError::SignatureAsciiDash { line: 2 }));
    }

    #[test]
    fn note_error_messages_say_what_and_where() {
        let (_, good) = signed("hello\n");
        let line = &good[good.find('\u{2014}').unwrap()..];
        let two = format!("{good}+{}", &line['\u{2014}'.len_utf8()..]);
        let err = Note::parse(two.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "signature line 2: expected '\u{2014} ' (U+2014 EM DASH and a space)"
        );
        assert_eq!(
            Checkpoint::parse_text("o\n007\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
                .unwrap_err()
                .to_string(),
            "checkpoint line 2 (size): leading zeros are not allowed"
        );
        assert!(
            NoteError::CarriageReturn { line: 3 }
                .to_string()
                .contains("line 3: carriage return")
        );
    }

    #[test]
    fn note_signature_count_limit() {
        let (_, good) = signed("hello\n");
        let line = good[good.find('\u{2014}').unwrap()..].to_string();
        let at_limit = format!("hello\n\n{}", line.repeat(MAX_SIGNATURES));
        let parsed = Note::parse(at_limit.as_bytes()).unwrap();
        assert_eq!(parsed.signatures.len(), MAX_SIGNATURES);
        let over = format!("hello\n\n{}", line.repeat(MAX_SIGNATURES + 1));
        assert_eq!(
            Note::parse(over.as_bytes()),
            Err(NoteError::TooManySignatures {
                count: MAX_SIGNATURES + 1,
                max: MAX_SIGNATURES
            })
        );
        let k = key("many.example", 9);
        let signers = vec![&k; MAX_SIGNATURES + 1];
        assert!(matches!(
            Note::sign("x\n", &signers),
            Err(NoteError::TooManySignatures { .. })
        ));
    }

    #[test]
    fn note_text_with_blank_lines_splits_at_the_last_one() {
        let text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n";
        let (k, bytes) = signed(text);
        let note = Note::parse(bytes.as_bytes()).unwrap();
        assert_eq!(note.text, text);
        note.verify(&[k.verifier()]).unwrap();

        // A text ending in a blank line still round-trips.
        let (k, bytes) = signed("a\n\n");
        let note = Note::parse(bytes.as_bytes()).unwrap();
        assert_eq!(note.text, "a\n\n");
        assert_eq!(note.to_string(), bytes);
        note.verify(&[k.verifier()]).unwrap();
    }

    #[test]
    fn note_sign_refuses_bad_text_and_keys() {
        let k = key("s.example", 1);
        assert_eq!(Note::sign("", &[&k]), Err(NoteError::EmptyText));
        assert_eq!(
            Note::sign("no newline", &[&k]),
            Err(NoteError::MissingFinalNewline)
        );
        assert_eq!(
            Note::sign("a\r\n", &[&k]),
            Err(NoteError::CarriageReturn { line: 1 })
        );
        assert_eq!(Note::sign("a\n", &[]), Err(NoteError::NoSigners));
        let w = witness("w.example", 1);
        assert!(matches!(
            Note::sign("a\n", &[&w]),
            Err(NoteError::WrongKeyType { alg: 4, .. })
        ));
    }

    #[test]
    fn note_verify_known_unknown_and_bad() {
        let known_key = key("known.example", 1);
        let unknown_key = key("unknown.example", 2);
        let text = "statement\n";

        // Only an unknown key signed.
        let only_unknown = Note::sign(text, &[&unknown_key]).unwrap();
        assert_eq!(
            only_unknown.verify(&[known_key.verifier()]),
            Err(NoteError::NoKnownSignature)
        );
        assert_eq!(only_unknown.verify(&[]), Err(NoteError::NoKnownSignature));

        // Unknown plus known: the unknown one is ignored.
        let both = Note::sign(text, &[&unknown_key, &known_key]).unwrap();
        let known = [known_key.verifier()];
        assert_eq!(both.verify(&known).unwrap(), vec![&known[0]]);

        // Same name, different key id: not the known key, ignored.
        let impostor = key("known.example", 3);
        let n = Note::sign(text, &[&impostor]).unwrap();
        assert_eq!(n.verify(&known), Err(NoteError::NoKnownSignature));

        // A known key whose signature fails rejects the note even with another good one.
        let mut bad = both.clone();
        bad.signatures[1].sig[0] ^= 1;
        let extra = key("extra.example", 4);
        bad.signatures
            .push(Note::sign(text, &[&extra]).unwrap().signatures.remove(0));
        let two = [known_key.verifier(), extra.verifier()];
        assert_eq!(
            bad.verify(&two),
            Err(NoteError::BadSignature {
                name: "known.example".into()
            })
        );

        // A known key with a signature of the wrong length.
        let mut short = both.clone();
        short.signatures[1].sig.pop();
        assert_eq!(
            short.verify(&known),
            Err(NoteError::BadSignature {
                name: "known.example".into()
            })
        );

        // Both verify: both returned, each once even if duplicated.
        let mut dup = Note::sign(text, &[&known_key, &extra]).unwrap();
        dup.signatures.push(dup.signatures[0].clone());
        assert_eq!(dup.verify(&two).unwrap(), vec![&two[0], &two[1]]);

        // Two different keys claiming the same name and id cannot be told apart.
        let mut forged = impostor.verifier();
        forged.key_id = known_key.key_id();
        assert!(matches!(
            both.verify(&[known_key.verifier(), forged]),
            Err(NoteError::AmbiguousKey { .. })
        ));
    }

    // ---- checkpoints ----

    const ROOT_B64: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

    #[test]
    fn checkpoint_text_format() {
        let text = format!("example.com/behind-the-sofa\n20852163\n{ROOT_B64}\n");
        let cp = Checkpoint::parse_text(&text).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(STANDARD.encode(cp.root), ROOT_B64);
        assert!(cp.extensions.is_empty());
        assert_eq!(cp.to_text(), text);

        let with_ext = format!("log.example\n0\n{ROOT_B64}\next one\n\u{2014} ext two\n");
        let cp = Checkpoint::parse_text(&with_ext).unwrap();
        assert_eq!(cp.size, 0);
        assert_eq!(
            cp.extensions,
            vec!["ext one".to_string(), "\u{2014} ext two".to_string()]
        );
        assert_eq!(cp.to_text(), with_ext);
        let max = format!("log.example\n18446744073709551615\n{ROOT_B64}\n");
        assert_eq!(Checkpoint::parse_text(&max).unwrap().size, u64::MAX);
    }

    #[test]
    fn checkpoint_torture_distinct_errors() {
        let cp = |origin: &str, size: &str, root: &str| {
            Checkpoint::parse_text(&format!("{origin}\n{size}\n{root}\n"))
        };
        assert!(cp("o", "5", ROOT_B64).is_ok());
        assert_eq!(cp("o", "05", ROOT_B64), Err(NoteError::SizeLeadingZeros));
        assert_eq!(cp("o", "00", ROOT_B64), Err(NoteError::SizeLeadingZeros));
        assert_eq!(cp("o", "+5", ROOT_B64), Err(NoteError::SizeSign));
        assert!(matches!(
            cp("o", "-5", ROOT_B64),
            Err(NoteError::SizeNotDecimal { .. })
        ));
        assert!(matches!(
            cp("o", " 5", ROOT_B64),
            Err(NoteError::SizeNotDecimal { .. })
        ));
        assert!(matches!(
            cp("o", "", ROOT_B64),
            Err(NoteError::SizeNotDecimal { .. })
        ));
        assert!(matches!(
            cp("o", "0x10", ROOT_B64),
            Err(NoteError::SizeNotDecimal { .. })
        ));
        assert!(matches!(
            cp("o", "\u{663}", ROOT_B64),
            Err(NoteError::SizeNotDecimal { .. })
        ));
        assert!(matches!(
            cp("o", "18446744073709551616", ROOT_B64),
            Err(NoteError::SizeOverflow { .. })
        ));

        // Root: missing padding, trailing bits set, wrong lengths, empty.
        assert!(matches!(
            cp("o", "1", ROOT_B64.trim_end_matches('=')),
            Err(NoteError::RootBase64 { .. })
        ));
        let mut trailing = ROOT_B64.as_bytes().to_vec();
        let last = trailing.len() - 2;
        trailing[last] = flip_b64_char(trailing[last]);
        let trailing = String::from_utf8(trailing).unwrap();
        assert!(matches!(
            cp("o", "1", &trailing),
            Err(NoteError::RootBase64 { .. })
        ));
        assert!(matches!(
            cp("o", "1", &format!("{ROOT_B64}=")),
            Err(NoteError::RootBase64 { .. })
        ));
        assert!(matches!(
            cp("o", "1", ""),
            Err(NoteError::RootBase64 { .. })
        ));
        assert_eq!(
            cp("o", "1", &STANDARD.encode([7u8; 31])),
            Err(NoteError::RootLength { len: 31 })
        );
        assert_eq!(
            cp("o", "1", &STANDARD.encode([7u8; 33])),
            Err(NoteError::RootLength { len: 33 })
        );

        // Origin.
        assert!(matches!(
            cp("", "1", ROOT_B64),
            Err(NoteError::CheckpointOrigin { .. })
        ));
        assert!(matches!(
            cp("a b", "1", ROOT_B64),
            Err(NoteError::CheckpointOrigin { .. })
        ));
        assert!(matches!(
            cp("a\u{a0}b", "1", ROOT_B64),
            Err(NoteError::CheckpointOrigin { .. })
        ));

        // Shape.
        assert_eq!(
            Checkpoint::parse_text("o\n1\n"),
            Err(NoteError::CheckpointLines { found: 2 })
        );
        assert_eq!(
            Checkpoint::parse_text(""),
            Err(NoteError::CheckpointLines { found: 0 })
        );
        assert_eq!(
            Checkpoint::parse_text(&format!("o\n1\n{ROOT_B64}")),
            Err(NoteError::MissingFinalNewline)
        );
        assert_eq!(
            Checkpoint::parse_text(&format!("o\n1\n{ROOT_B64}\nx\n\ny\n")),
            Err(NoteError::EmptyExtension { line: 5 })
        );
        assert_eq!(
            Checkpoint::parse_text(&format!("o\r\n1\n{ROOT_B64}\n")),
            Err(NoteError::CarriageReturn { line: 1 })
        );
    }

    #[test]
    fn signed_checkpoint_roundtrip_and_checks() {
        let log = key("log.example/vigil", 11);
        let mut cp = checkpoint("log.example/vigil", 42);
        cp.extensions.push("extension line".into());
        let signed = SignedCheckpoint::sign(cp.clone(), &log).unwrap();
        let bytes = signed.to_bytes();
        assert!(
            bytes.starts_with(
                format!(
                    "log.example/vigil\n42\n{}\nextension line\n\n\u{2014} log.example/vigil ",
                    STANDARD.encode([0x5a; 32])
                )
                .as_bytes()
            )
        );

        let parsed = SignedCheckpoint::parse(&bytes).unwrap();
        assert_eq!(parsed, signed);
        assert_eq!(parsed.checkpoint, cp);
        let known = [log.verifier()];
        assert_eq!(parsed.verify(&known).unwrap(), vec![&known[0]]);

        // Editing a parsed field must not ride on the old signature.
        let mut edited = parsed.clone();
        edited.checkpoint.size = 43;
        assert_eq!(edited.verify(&known), Err(NoteError::CheckpointMismatch));

        // A signed note whose text is not a checkpoint is not a signed checkpoint.
        let not_cp = Note::sign("just text\n", &[&log]).unwrap();
        assert!(matches!(
            SignedCheckpoint::parse(&not_cp.to_bytes()),
            Err(NoteError::CheckpointLines { found: 1 })
        ));

        // Refusals when signing.
        let w = witness("w.example", 5);
        assert!(matches!(
            SignedCheckpoint::sign(cp.clone(), &w),
            Err(NoteError::WrongKeyType { .. })
        ));
        let mut nl = cp.clone();
        nl.extensions.push("two\nlines".into());
        assert_eq!(
            SignedCheckpoint::sign(nl, &log),
            Err(NoteError::ExtensionNewline { index: 1 })
        );
        let mut empty_ext = cp.clone();
        empty_ext.extensions.push(String::new());
        assert_eq!(
            SignedCheckpoint::sign(empty_ext, &log),
            Err(NoteError::EmptyExtension { line: 5 })
        );
        assert!(matches!(
            SignedCheckpoint::sign(checkpoint("bad origin", 1), &log),
            Err(NoteError::CheckpointOrigin { .. })
        ));
        assert!(matches!(
            SignedCheckpoint::sign(checkpoint("two\nlines", 1), &log),
            Err(NoteError::CheckpointOrigin { .. })
        ));
    }

    #[test]
    fn signature_moved_to_another_origin_fails() {
        let a = key("a.example/log", 21);
        let b = key("b.example/log", 22);
        let cp_a = SignedCheckpoint::sign(checkpoint("a.example/log", 10), &a).unwrap();
        let cp_b = SignedCheckpoint::sign(checkpoint("b.example/log", 10), &b).unwrap();
        let known = [a.verifier(), b.verifier()];

        // b's signature line pasted under a's checkpoint text.
        let mut swapped = cp_a.clone();
        swapped.note.signatures = cp_b.note.signatures.clone();
        let reparsed = SignedCheckpoint::parse(&swapped.to_bytes()).unwrap();
        assert_eq!(
            reparsed.verify(&known),
            Err(NoteError::BadSignature {
                name: "b.example/log".into()
            })
        );

        // a's own signature does not carry over to a different origin either.
        let other_origin = checkpoint("a.example/other", 10);
        let forged = format!(
            "{}\n{}",
            other_origin.to_text(),
            cp_a.note.signatures[0].to_line()
        );
        let reparsed = SignedCheckpoint::parse(forged.as_bytes()).unwrap();
        assert_eq!(
            reparsed.verify(&known),
            Err(NoteError::BadSignature {
                name: "a.example/log".into()
            })
        );

        // Nor to a different size of the same log.
        let other_size = checkpoint("a.example/log", 11);
        let forged = format!(
            "{}\n{}",
            other_size.to_text(),
            cp_a.note.signatures[0].to_line()
        );
        let reparsed = SignedCheckpoint::parse(forged.as_bytes()).unwrap();
        assert_eq!(
            reparsed.verify(&known),
            Err(NoteError::BadSignature {
                name: "a.example/log".into()
            })
        );
    }

    // ---- cosignatures ----

    #[test]
    fn cosignature_roundtrip() {
        let log = key("log.example/vigil", 31);
        let w1 = witness("witness.example/w1", 32);
        let w2 = witness("witness.example/w2", 33);
        let mut signed = SignedCheckpoint::sign(checkpoint("log.example/vigil", 7), &log).unwrap();

        let c1 = cosign(&signed, &w1, 1_679_315_147).unwrap();
        assert_eq!(c1.name, "witness.example/w1");
        assert_eq!(c1.key_id, w1.key_id());
        assert_eq!(c1.sig.len(), 72);
        assert_eq!(c1.sig[..8], 1_679_315_147u64.to_be_bytes());

        // The signed message is exactly the one tlog-cosignature specifies.
        let msg = format!("cosignature/v1\ntime 1679315147\n{}", signed.note.text);
        let sig64: [u8; 64] = c1.sig[8..].try_into().unwrap();
        assert!(w1.verifier().verify(msg.as_bytes(), &sig64));

        signed.add_signature(c1.clone()).unwrap();
        signed.add_signature(c1.clone()).unwrap();
        signed
            .add_signature(cosign(&signed, &w2, 1_700_000_000).unwrap())
            .unwrap();
        assert_eq!(
            signed.note.signatures.len(),
            3,
            "duplicate cosignature added twice"
        );

        let parsed = SignedCheckpoint::parse(&signed.to_bytes()).unwrap();
        assert_eq!(parsed, signed);
        let witnesses = [w1.verifier(), w2.verifier()];
        assert_eq!(
            verify_cosignatures(&parsed, &witnesses).unwrap(),
            vec![
                ("witness.example/w1".to_string(), 1_679_315_147),
                ("witness.example/w2".to_string(), 1_700_000_000)
            ]
        );
        // Witness keys do not count as log keys, and log keys do not count as witnesses.
        let log_known = [log.verifier()];
        assert_eq!(parsed.verify(&log_known).unwrap(), vec![&log_known[0]]);
        let mut all = witnesses.to_vec();
        all.push(log.verifier());
        assert_eq!(parsed.verify(&all).unwrap(), vec![&all[2]]);
        assert_eq!(parsed.verify(&witnesses), Err(NoteError::NoKnownSignature));
        assert_eq!(verify_cosignatures(&parsed, &log_known).unwrap(), vec![]);

        // Unknown witnesses are ignored.
        let stranger = witness("witness.example/w3", 34);
        assert_eq!(
            verify_cosignatures(&parsed, &[stranger.verifier()]).unwrap(),
            vec![]
        );

        // The latest of two valid cosignatures by one witness is reported, once.
        let mut twice = parsed.clone();
        twice
            .add_signature(cosign(&parsed, &w1, 1_800_000_000).unwrap())
            .unwrap();
        assert_eq!(
            verify_cosignatures(&twice, &witnesses[..1]).unwrap(),
            vec![("witness.example/w1".to_string(), 1_800_000_000)]
        );
    }

    #[test]
    fn cosignature_tampering_fails() {
        let log = key("log.example/vigil", 41);
        let w = witness("witness.example/w1", 42);
        let mut signed = SignedCheckpoint::sign(checkpoint("log.example/vigil", 9), &log).unwrap();
        let c = cosign(&signed, &w, 1_000).unwrap();
        let known = [w.verifier()];

        let mut later = c.clone();
        later.sig[7] ^= 1;
        let mut bad = signed.clone();
        bad.add_signature(later).unwrap();
        assert!(matches!(
            verify_cosignatures(&bad, &known),
            Err(NoteError::BadCosignature { .. })
        ));

        let mut huge = c.clone();
        huge.sig[0] = 0x80;
        let mut bad = signed.clone();
        bad.add_signature(huge).unwrap();
        let err = verify_cosignatures(&bad, &known).unwrap_err();
        assert!(err.to_string().contains("exceeds 2^63-1"), "{err}");

        let mut short = c.clone();
        short.sig.truncate(71);
        let mut bad = signed.clone();
        bad.add_signature(short).unwrap();
        assert!(matches!(
            verify_cosignatures(&bad, &known),
            Err(NoteError::BadCosignature { .. })
        ));

        // A cosignature for one checkpoint does not verify on another.
        let other = SignedCheckpoint::sign(checkpoint("log.example/vigil", 10), &log).unwrap();
        let mut moved = other.clone();
        moved.add_signature(c.clone()).unwrap();
        assert!(matches!(
            verify_cosignatures(&moved, &known),
            Err(NoteError::BadCosignature { .. })
        ));

        signed.add_signature(c).unwrap();
        assert_eq!(
            verify_cosignatures(&signed, &known).unwrap(),
            vec![("witness.example/w1".to_string(), 1_000)]
        );

        assert_eq!(
            cosign(&signed, &w, 1 << 63),
            Err(NoteError::TimestampTooLarge { time: 1 << 63 })
        );
        assert!(cosign(&signed, &w, (1 << 63) - 1).is_ok());
        assert!(matches!(
            cosign(&signed, &log, 1),
            Err(NoteError::WrongKeyType { .. })
        ));
    }

    #[test]
    fn cosignature_and_note_keys_are_domain_separated() {
        // One seed, one name, both types: the type byte alone must keep them apart.
        let seed = [51u8; 32];
        let plain = SignerKey::from_seed("dual.example", ALG_ED25519, seed).unwrap();
        let cosigner = SignerKey::from_seed("dual.example", ALG_COSIGNATURE_V1, seed).unwrap();
        assert_ne!(plain.key_id(), cosigner.key_id());
        assert_eq!(plain.verifier().public, cosigner.verifier().public);

        let log = key("log.example/vigil", 52);
        let mut signed = SignedCheckpoint::sign(checkpoint("log.example/vigil", 3), &log).unwrap();
        signed
            .add_signature(cosign(&signed, &cosigner, 77).unwrap())
            .unwrap();
        let plain_sig = Note::sign(&signed.note.text, &[&plain])
            .unwrap()
            .signatures
            .remove(0);
        signed.add_signature(plain_sig).unwrap();

        // Cosignature key on the note path: its cosignature line is not a note signature.
        assert_eq!(
            signed.verify(&[cosigner.verifier()]),
            Err(NoteError::NoKnownSignature)
        );
        // Plain key on the cosignature path: its note signature is not a cosignature.
        assert_eq!(
            verify_cosignatures(&signed, &[plain.verifier()]).unwrap(),
            vec![]
        );
        // Each works on its own path.
        let pk = [plain.verifier()];
        assert_eq!(signed.verify(&pk).unwrap(), vec![&pk[0]]);
        assert_eq!(
            verify_cosignatures(&signed, &[cosigner.verifier()]).unwrap(),
            vec![("dual.example".to_string(), 77)]
        );

        // Even with the key ids forged to match, the bytes signed differ.
        let mut plain_with_cosig_id = plain.verifier();
        plain_with_cosig_id.key_id = cosigner.key_id();
        assert_eq!(
            signed.verify(&[plain_with_cosig_id]),
            Err(NoteError::BadSignature {
                name: "dual.example".into()
            })
        );
        let cosig = &signed.note.signatures[1];
        let sig64: [u8; 64] = cosig.sig[8..].try_into().unwrap();
        assert!(!plain.verifier().verify(signed.note.text.as_bytes(), &sig64));

        let mut cosigner_with_plain_id = cosigner.verifier();
        cosigner_with_plain_id.key_id = plain.key_id();
        assert!(matches!(
            verify_cosignatures(&signed, &[cosigner_with_plain_id]),
            Err(NoteError::BadCosignature { .. })
        ));
        // A plain signature padded out to cosignature length still fails.
        let mut padded = signed.clone();
        let mut p = padded.note.signatures.remove(2);
        let mut sig = 77u64.to_be_bytes().to_vec();
        sig.extend_from_slice(&p.sig);
        p.sig = sig;
        p.key_id = cosigner.key_id();
        padded.note.signatures = vec![padded.note.signatures[0].clone(), p];
        assert!(matches!(
            verify_cosignatures(&padded, &[cosigner.verifier()]),
            Err(NoteError::BadCosignature { .. })
        ));
    }

    #[test]
    fn c2sp_cosignature_example_parses() {
        let bytes = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
            \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
            \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
        let cp = SignedCheckpoint::parse(bytes.as_bytes()).unwrap();
        assert_eq!(cp.checkpoint.size, 20_852_163);
        assert_eq!(cp.to_bytes(), bytes.as_bytes());
        let w = &cp.note.signatures[1];
        assert_eq!(w.sig.len(), 72);
        // The spec's example message says "time 1679315147".
        assert_eq!(
            u64::from_be_bytes(w.sig[..8].try_into().unwrap()),
            1_679_315_147
        );
    }

    #[test]
    fn add_signature_validates() {
        let log = key("log.example/vigil", 61);
        let mut signed = SignedCheckpoint::sign(checkpoint("log.example/vigil", 1), &log).unwrap();
        let bad_name = NoteSignature {
            name: "a b".into(),
            key_id: [0; 4],
            sig: vec![1],
        };
        assert!(matches!(
            signed.add_signature(bad_name),
            Err(NoteError::InvalidKeyName { .. })
        ));
        let empty = NoteSignature {
            name: "ok".into(),
            key_id: [0; 4],
            sig: vec![],
        };
        assert!(signed.add_signature(empty).is_err());
        for i in 1..MAX_SIGNATURES {
            let sig = NoteSignature {
                name: format!("n{i}"),
                key_id: [0; 4],
                sig: vec![1],
            };
            signed.add_signature(sig).unwrap();
        }
        let one_more = NoteSignature {
            name: "last".into(),
            key_id: [0; 4],
            sig: vec![1],
        };
        assert!(matches!(
            signed.add_signature(one_more),
            Err(NoteError::TooManySignatures { .. })
        ));
        let parsed = SignedCheckpoint::parse(&signed.to_bytes()).unwrap();
        assert_eq!(parsed.note.signatures.len(), MAX_SIGNATURES);
        assert_eq!(parsed.verify(&[log.verifier()]).unwrap().len(), 1);
    }

    // ---- properties ----

    fn arb_checkpoint() -> impl Strategy<Value = Checkpoint> {
        (
            "[^\\s\\p{Cc}]{1,40}",
            any::<u64>(),
            any::<[u8; 32]>(),
            proptest::collection::vec("[^\\n\\p{Cc}]{1,30}", 0..4),
        )
            .prop_map(|(origin, size, root, extensions)| Checkpoint {
                origin,
                size,
                root,
                extensions,
            })
    }

    proptest! {
        #[test]
        fn prop_checkpoint_text_roundtrip(cp in arb_checkpoint()) {
            let text = cp.to_text();
            let parsed = Checkpoint::parse_text(&text).unwrap();
            prop_assert_eq!(&parsed, &cp);
            prop_assert_eq!(parsed.to_text(), text);
        }

        #[test]
        fn prop_signed_checkpoint_roundtrip(cp in arb_checkpoint(), seed in any::<[u8; 32]>()) {
            let k = SignerKey::from_seed("prop.example/log", ALG_ED25519, seed).unwrap();
            let signed = SignedCheckpoint::sign(cp.clone(), &k).unwrap();
            let bytes = signed.to_bytes();
            let parsed = SignedCheckpoint::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed.checkpoint, &cp);
            prop_assert_eq!(parsed.to_bytes(), bytes);
            prop_assert!(parsed.verify(&[k.verifier()]).is_ok());
        }

        #[test]
        fn prop_size_text_is_canonical(size in any::<u64>(), pad in 1usize..4) {
            let root = STANDARD.encode([1u8; 32]);
            let ok = format!("o\n{size}\n{root}\n");
            prop_assert_eq!(Checkpoint::parse_text(&ok).unwrap().size, size);
            let zeros = format!("o\n{}{size}\n{root}\n", "0".repeat(pad));
            prop_assert_eq!(Checkpoint::parse_text(&zeros), Err(NoteError::SizeLeadingZeros));
        }
    }

    type Target = (Vec<u8>, Checkpoint, VerifierKey, VerifierKey);

    /// A signed checkpoint with a cosignature and an unknown signature, built once.
    fn mutation_target() -> &'static Target {
        static TARGET: std::sync::OnceLock<Target> = std::sync::OnceLock::new();
        TARGET.get_or_init(build_mutation_target)
    }

    fn build_mutation_target() -> Target {
        let log = key("log.example/vigil", 71);
        let w = witness("witness.example/w1", 72);
        let other = key("other.example", 73);
        let cp = Checkpoint {
            origin: "log.example/vigil".into(),
            size: 123_456,
            root: [0xa7; 32],
            extensions: vec!["ext".into()],
        };
        let mut signed = SignedCheckpoint::sign(cp.clone(), &log).unwrap();
        signed
            .add_signature(cosign(&signed, &w, 1_700_000_000).unwrap())
            .unwrap();
        let o = Note::sign(&signed.note.text, &[&other])
            .unwrap()
            .signatures
            .remove(0);
        signed.add_signature(o).unwrap();
        (signed.to_bytes(), cp, log.verifier(), w.verifier())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn prop_single_byte_mutation_never_verifies_a_different_checkpoint(
            idx in any::<prop::sample::Index>(),
            byte in prop_oneof![any::<u8>(), prop::sample::select(b"0123456789+/=AZaz \n-".to_vec())],
        ) {
            let (original, cp, log, w) = mutation_target();
            let i = idx.index(original.len());
            prop_assume!(original[i] != byte);
            let mut mutated = original.clone();
            mutated[i] = byte;
            if let Ok(parsed) = SignedCheckpoint::parse(&mutated) {
                if parsed.verify(std::slice::from_ref(log)).is_ok() {
                    prop_assert_eq!(&parsed.checkpoint, cp);
                }
                if let Ok(cosigned) = verify_cosignatures(&parsed, std::slice::from_ref(w))
                    && !cosigned.is_empty()
                {
                    prop_assert_eq!(&parsed.checkpoint, cp);
                    prop_assert_eq!(cosigned, vec![("witness.example/w1".to_string(), 1_700_000_000)]);
                }
            }
        }
    }
}
