//! JOSE conformance: Wycheproof ECDSA P-256 (IEEE P1363) and JWS/JWK cases, and the
//! RFC 7515, RFC 7638, RFC 7797 and RFC 9449 examples.

#![allow(clippy::unwrap_used)]

mod common;

use common::{read_json, str_of, unhex};
use evidentia::{JwsOptions, KeySet, PublicKey, SigningKey, Value, jwk_thumbprint, sign_jws, verify_jws};

fn canonical(value: &Value) -> String {
    String::from_utf8(evidentia::canonicalize_value(value).unwrap()).unwrap()
}

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363_all_cases() {
    let doc = read_json("external/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for group in doc.get("testGroups").and_then(Value::as_array).unwrap() {
        let public = group.get("publicKey").unwrap();
        let key = PublicKey::from_sec1(&unhex(str_of(public, "uncompressed"))).unwrap();
        // The same key read from the group's JWK and PEM forms is the same key.
        if let Some(jwk) = group.get("publicKeyJwk") {
            assert_eq!(PublicKey::from_jwk(&canonical(jwk)).unwrap(), key);
        }
        assert_eq!(PublicKey::from_pem(str_of(group, "publicKeyPem")).unwrap(), key);
        for test in group.get("tests").and_then(Value::as_array).unwrap() {
            let id = test.get("tcId").unwrap().as_number().unwrap().as_f64();
            let msg = unhex(str_of(test, "msg"));
            let sig = unhex(str_of(test, "sig"));
            let accepted = <[u8; 64]>::try_from(sig.as_slice()).is_ok_and(|sig| key.verify(&msg, &sig));
            match str_of(test, "result") {
                "valid" => {
                    assert!(accepted, "tcId {id} must verify");
                    valid += 1;
                }
                "invalid" => {
                    assert!(!accepted, "tcId {id} must be rejected");
                    invalid += 1;
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
        }
    }
    assert_eq!((valid, invalid), (173, 89));
}

/// Runs JWS cases from a Wycheproof file whose groups carry a public JWK or JWKS.
fn run_wycheproof_jws(file: &str, groups: &[&str]) -> (usize, usize) {
    let doc = read_json(file);
    let (mut valid, mut invalid) = (0, 0);
    for group in doc.get("testGroups").and_then(Value::as_array).unwrap() {
        if !groups.contains(&str_of(group, "comment")) {
            continue;
        }
        let keys = KeySet::from_json(&canonical(group.get("public").unwrap()));
        for test in group.get("tests").and_then(Value::as_array).unwrap() {
            let id = test.get("tcId").unwrap().as_number().unwrap().as_f64();
            let jws = str_of(test, "jws");
            let outcome = keys.as_ref().map_err(Clone::clone).and_then(|keys| verify_jws(jws, keys, None, None));
            match str_of(test, "result") {
                "valid" => {
                    let verified = outcome.unwrap_or_else(|e| panic!("tcId {id} must verify: {e}"));
                    assert_eq!(verified.payload, b"foo");
                    valid += 1;
                }
                "invalid" => {
                    assert!(outcome.is_err(), "tcId {id} ({}) must be rejected", str_of(test, "comment"));
                    invalid += 1;
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
        }
    }
    (valid, invalid)
}

#[test]
fn wycheproof_json_web_signature_es256_cases() {
    let counts = run_wycheproof_jws(
        "external/wycheproof/json_web_signature_test.json",
        &["es256", "SpecialCaseEs256", "ec_key_for_encryption"],
    );
    // 15 + 24 ES256 cases and two keys meant for encryption.
    assert_eq!(counts, (2, 39));
}

#[test]
fn wycheproof_json_web_key_es256_cases() {
    let counts = run_wycheproof_jws(
        "external/wycheproof/json_web_key_test.json",
        &["wrong_algorithm", "invalid_algorithm", "invalid_use", "invalid_point", "wrong_curve", "wrong_kty"],
    );
    assert_eq!(counts, (0, 6));
}

#[test]
fn rfc7515_appendix_a3_verifies() {
    let v = read_json("external/jose/rfc7515_a3_es256.json");
    let jwk = canonical(v.get("jwk").unwrap());
    let key = SigningKey::from_jwk(&jwk).unwrap();
    let keys = KeySet::single(key.public_key());
    let verified = verify_jws(str_of(&v, "compact"), &keys, None, None).unwrap();
    assert_eq!(verified.payload, str_of(&v, "payload_utf8").as_bytes());
    assert_eq!(verified.header, str_of(&v, "protected_header_json"));
    // Any change to the signature is rejected.
    let tampered = str_of(&v, "compact").replace("DtEhU3", "DtEhU4");
    assert_eq!(verify_jws(&tampered, &keys, None, None).unwrap_err().code(), evidentia::ErrorCode::SignatureInvalid);
}

#[test]
fn rfc9449_dpop_proof_and_thumbprint() {
    let v = read_json("external/jose/rfc9449_dpop_es256.json");
    let jwk = canonical(v.get("public_jwk").unwrap());
    assert_eq!(jwk_thumbprint(&jwk).unwrap(), str_of(&v, "jkt_thumbprint_b64u"));
    let key = PublicKey::from_jwk(&jwk).unwrap();
    assert_eq!(key.kid(), str_of(&v, "jkt_thumbprint_b64u"));
    // The proof carries its key in the header ('jwk'); that key is never trusted,
    // but it verifies against a key set that holds the same key.
    let verified = verify_jws(str_of(&v, "compact"), &KeySet::single(&key), None, None).unwrap();
    assert!(verified.payload.starts_with(b"{\"jti\""));
    assert!(verify_jws(str_of(&v, "compact"), &KeySet::new(), None, None).is_err());
}

#[test]
fn rfc7638_rsa_thumbprint() {
    let v = read_json("external/jose/rfc7638_s3_1_thumbprint.json");
    assert_eq!(jwk_thumbprint(&canonical(v.get("jwk").unwrap())).unwrap(), str_of(&v, "thumbprint_b64u"));
}

#[test]
fn rfc7797_unencoded_signing_input() {
    let v = read_json("external/jose/rfc7797_unencoded_payload.json");
    let example = v.get("example_4_2_b64_false_detached").unwrap();
    let payload = str_of(&v, "payload_utf8").as_bytes();
    // RFC 7797's signing input is header || '.' || raw payload; check ours is built
    // the same way by signing with ES256 and verifying against the raw bytes.
    assert_eq!(
        str_of(example, "signing_input").as_bytes(),
        [str_of(example, "protected_b64u").as_bytes(), b".", payload].concat()
    );
    let key = SigningKey::from_bytes(&[9u8; 32]).unwrap();
    let keys = KeySet::single(key.public_key());
    let jws = sign_jws(&key, payload, JwsOptions { detached: true, unencoded: true }).unwrap();
    let (header_b64, rest) = jws.split_once('.').unwrap();
    assert!(rest.starts_with('.'), "detached payload is left out");
    let header = String::from_utf8(base64url(header_b64)).unwrap();
    assert!(header.contains(r#""b64":false"#) && header.contains(r#""crit":["b64"]"#), "{header}");
    assert_eq!(verify_jws(&jws, &keys, Some(payload), None).unwrap().payload, payload);
    assert!(verify_jws(&jws, &keys, Some(b"$.03"), None).is_err());
    // Attached unencoded works for payloads without '.'; with '.' it must be detached.
    let attached = sign_jws(&key, b"$02", JwsOptions { detached: false, unencoded: true }).unwrap();
    assert!(attached.contains(".$02."));
    assert_eq!(verify_jws(&attached, &keys, None, None).unwrap().payload, b"$02");
    assert!(sign_jws(&key, payload, JwsOptions { detached: false, unencoded: true }).is_err());
}

fn base64url(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        bits = (bits << 6) | alphabet.iter().position(|&a| a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}
