//! Partners' JWS (ES256, ES384, ES512, RS256, PS256, PS384, EdDSA): every Wycheproof
//! case of each algorithm's file, the Wycheproof JWS and JWK files, and the RFC 7515,
//! RFC 7520 and RFC 8037 examples.
//!
//! Rule for Wycheproof `acceptable` cases: they are rejected. The only one in these
//! files is RSA PKCS#1 v1.5 tcId 8 (DigestInfo without the NULL parameter), which
//! RFC 8017 §9.2 does not produce; verification re-encodes the DigestInfo and
//! compares, so it is refused.

#![allow(clippy::unwrap_used)]

mod common;

use common::{read_json, str_of, unhex};
use evidentia::encoding::{b64_decode, b64url, b64url_decode};
use evidentia::{ErrorCode, PartnerAlgorithm, PartnerKey, PartnerKeys, Value, canonicalize_value, verify_partner_jws};

fn canonical(value: &Value) -> String {
    String::from_utf8(canonicalize_value(value).unwrap()).unwrap()
}

fn tests_of(group: &Value) -> &[Value] {
    group.get("tests").and_then(Value::as_array).unwrap()
}

fn tc_id(test: &Value) -> u64 {
    test.get("tcId").unwrap().as_number().unwrap().as_f64() as u64
}

/// The DER inside a PEM's base64 body.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    b64_decode(&body).unwrap()
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

/// Runs every test of a Wycheproof signature-verification file through
/// `PartnerKey::verify`; `key_of` reads each group's key. Each key's `to_pem` must
/// be the group's DER key exactly.
fn run_raw(file: &str, alg: PartnerAlgorithm, key_of: impl Fn(&Value) -> PartnerKey) -> Counts {
    let doc = read_json(file);
    let mut counts = Counts::default();
    for group in doc.get("testGroups").and_then(Value::as_array).unwrap() {
        let key = key_of(group);
        assert_eq!(pem_der(&key.to_pem()), unhex(str_of(group, "publicKeyDer")), "{file}: to_pem");
        for test in tests_of(group) {
            let id = tc_id(test);
            let outcome = key.verify(alg, &unhex(str_of(test, "msg")), &unhex(str_of(test, "sig")));
            match str_of(test, "result") {
                "valid" => {
                    outcome.unwrap_or_else(|e| panic!("{file} tcId {id} must verify: {e}"));
                    counts.valid += 1;
                }
                result @ ("invalid" | "acceptable") => {
                    let error = outcome.expect_err(&format!("{file} tcId {id} ({result}) must be rejected"));
                    assert!(
                        matches!(error.code(), ErrorCode::SignatureInvalid | ErrorCode::JwsSignatureFormat),
                        "{file} tcId {id}: {error}"
                    );
                    if result == "invalid" {
                        counts.invalid += 1;
                    } else {
                        counts.acceptable += 1;
                    }
                }
                other => panic!("{file} tcId {id}: unexpected result {other}"),
            }
        }
    }
    counts
}

/// A group's `publicKeyJwk`, or a JWK made from its DER key (groups whose key the
/// file gives no JWK for).
fn ec_key(group: &Value, crv: &str) -> PartnerKey {
    if let Some(jwk) = group.get("publicKeyJwk") {
        return PartnerKey::from_jwk_value(jwk).unwrap();
    }
    let der = unhex(str_of(group, "publicKeyDer"));
    let sec1: Vec<u8> = {
        use p256::pkcs8::DecodePublicKey as _;
        match crv {
            "P-256" => {
                p256::ecdsa::VerifyingKey::from_public_key_der(&der).unwrap().to_sec1_point(false).as_bytes().to_vec()
            }
            "P-384" => {
                p384::ecdsa::VerifyingKey::from_public_key_der(&der).unwrap().to_sec1_point(false).as_bytes().to_vec()
            }
            "P-521" => {
                p521::ecdsa::VerifyingKey::from_public_key_der(&der).unwrap().to_sec1_point(false).as_bytes().to_vec()
            }
            _ => unreachable!(),
        }
    };
    let size = (sec1.len() - 1) / 2;
    let jwk = Value::object([
        ("kty", Value::from("EC")),
        ("crv", Value::from(crv)),
        ("x", Value::from(b64url(&sec1[1..=size]).as_str())),
        ("y", Value::from(b64url(&sec1[1 + size..]).as_str())),
    ]);
    PartnerKey::from_jwk_value(&jwk).unwrap()
}

fn jwk_key(group: &Value) -> PartnerKey {
    PartnerKey::from_jwk_value(group.get("publicKeyJwk").unwrap()).unwrap()
}

#[test]
fn wycheproof_es256_p1363() {
    let counts = run_raw("external/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json", PartnerAlgorithm::Es256, |g| {
        ec_key(g, "P-256")
    });
    assert_eq!(counts, Counts { valid: 173, invalid: 89, acceptable: 0 });
}

#[test]
fn wycheproof_es384_p1363() {
    let counts =
        run_raw("external/partner/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json", PartnerAlgorithm::Es384, |g| {
            ec_key(g, "P-384")
        });
    assert_eq!(counts, Counts { valid: 193, invalid: 87, acceptable: 0 });
}

#[test]
fn wycheproof_es512_p1363() {
    let counts = run_raw(
        "external/partner/wycheproof-rs/ecdsa_secp521r1_sha512_p1363_test.json",
        PartnerAlgorithm::Es512,
        |g| ec_key(g, "P-521"),
    );
    assert_eq!(counts, Counts { valid: 231, invalid: 87, acceptable: 0 });
}

#[test]
fn wycheproof_rs256() {
    let counts =
        run_raw("external/partner/wycheproof/rsa_signature_2048_sha256_test.json", PartnerAlgorithm::Rs256, |g| {
            // `keyJwk` is the public JWK of these groups (with "kid": "none").
            PartnerKey::from_jwk_value(g.get("keyJwk").unwrap()).unwrap()
        });
    assert_eq!(counts, Counts { valid: 9, invalid: 249, acceptable: 1 });
}

#[test]
fn wycheproof_ps256() {
    let counts =
        run_raw("external/partner/wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json", PartnerAlgorithm::Ps256, jwk_key);
    assert_eq!(counts, Counts { valid: 63, invalid: 45, acceptable: 0 });
}

#[test]
fn wycheproof_ps384() {
    let counts = run_raw(
        "external/partner/wycheproof-rs/rsa_pss_2048_sha384_mgf1_48_test.json",
        PartnerAlgorithm::Ps384,
        jwk_key,
    );
    assert_eq!(counts, Counts { valid: 95, invalid: 46, acceptable: 0 });
}

#[test]
fn wycheproof_ed25519() {
    let counts = run_raw("external/partner/wycheproof/ed25519_test.json", PartnerAlgorithm::EdDsa, jwk_key);
    assert_eq!(counts, Counts { valid: 88, invalid: 63, acceptable: 0 });
}

/// The `alg` of a compact JWS's header, if it can be read.
fn header_alg(jws: &str) -> Option<String> {
    let header = b64url_decode(jws.split('.').next()?)?;
    let header = evidentia::json::parse(&header).ok()?;
    header.get("alg").and_then(Value::as_str).map(str::to_owned)
}

/// A key set without the JWKs' `alg` members, for checking that a JWS of an
/// algorithm not accepted is refused for its algorithm, not for its key.
fn without_alg(set: &Value) -> Value {
    let strip = |jwk: &Value| match jwk {
        Value::Object(members) => Value::Object(members.iter().filter(|(name, _)| name != "alg").cloned().collect()),
        other => other.clone(),
    };
    match set.get("keys").and_then(Value::as_array) {
        Some(keys) => Value::object([("keys", Value::Array(keys.iter().map(strip).collect()))]),
        None => strip(set),
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct JwsCounts {
    /// `valid` cases that verified.
    valid: usize,
    /// `invalid` cases that were refused.
    invalid: usize,
    /// `valid` cases of algorithms not accepted for partners (HS*, RS384, RS512,
    /// PS512), refused with JWS_UNSUPPORTED_ALGORITHM.
    unsupported: usize,
    /// Cases decided against Wycheproof's verdict, by tcId (see `DEVIATIONS`).
    deviations: Vec<u64>,
}

/// The `alg` members of a group's public JWKs.
fn jwk_algs(set: &Value) -> Vec<String> {
    let one = |jwk: &Value| jwk.get("alg").and_then(Value::as_str).map(str::to_owned);
    match set.get("keys").and_then(Value::as_array) {
        Some(keys) => keys.iter().filter_map(one).collect(),
        None => one(set).into_iter().collect(),
    }
}

/// Runs a Wycheproof JWS or JWK file's tests through `verify_partner_jws`.
fn run_jws_file(file: &str) -> JwsCounts {
    let doc = read_json(file);
    let name = file.rsplit('/').next().unwrap();
    let mut counts = JwsCounts::default();
    for group in doc.get("testGroups").and_then(Value::as_array).unwrap() {
        let public = group.get("public");
        for test in tests_of(group) {
            let id = tc_id(test);
            let jws = str_of(test, "jws");
            let alg = header_alg(jws);
            let supported = alg.as_deref().is_some_and(|alg| PartnerAlgorithm::from_name(alg).is_ok());
            let outcome = match public {
                Some(set) if supported => {
                    PartnerKeys::from_value(set).and_then(|keys| verify_partner_jws(jws, None, &keys))
                }
                Some(set) => {
                    PartnerKeys::from_value(&without_alg(set)).and_then(|keys| verify_partner_jws(jws, None, &keys))
                }
                // Groups with secret (HMAC) keys only: there is no public key to give.
                None => {
                    let keys = PartnerKeys::from_json(&canonical(
                        &read_json("external/partner/jose-rfc/rfc8037_a4_ed25519_jws.json")
                            .get("input")
                            .and_then(|i| i.get("key"))
                            .map(|k| without_members(k, &["d"]))
                            .unwrap(),
                    ))
                    .unwrap();
                    verify_partner_jws(jws, None, &keys)
                }
            };
            // Deviation 1: the group's JWK names another algorithm than the JWS
            // ("ES521", which does not exist, for ES512; "PS256" for the PS384 JWS of
            // RFC 7520 §4.2). A JWK's `alg` must be the JWS's: KEY_ALGORITHM_MISMATCH.
            let jwk_alg_differs = public.is_some_and(|set| {
                let algs = jwk_algs(set);
                !algs.is_empty() && alg.as_ref().is_some_and(|alg| !algs.contains(alg))
            });
            match (str_of(test, "result"), outcome) {
                ("valid", Ok(_)) => counts.valid += 1,
                // Secret-key (HMAC) groups give no public key: their cases are all
                // refused, for the algorithm, or earlier when the header is unreadable.
                ("valid", Err(e))
                    if !supported && (e.code() == ErrorCode::JwsUnsupportedAlgorithm || alg.is_none()) =>
                {
                    counts.unsupported += 1;
                }
                ("valid", Err(e)) if jwk_alg_differs && e.code() == ErrorCode::KeyAlgorithmMismatch => {
                    counts.deviations.push(id);
                }
                ("valid", Err(e)) => panic!("{name} tcId {id} ({alg:?}) must verify: {e}"),
                ("invalid", Err(_)) => counts.invalid += 1,
                ("invalid", Ok(_)) => panic!("{name} tcId {id} ({}) must be rejected", str_of(test, "comment")),
                (other, _) => panic!("{name} tcId {id}: unexpected result {other}"),
            }
        }
    }
    counts
}

fn without_members(jwk: &Value, names: &[&str]) -> Value {
    match jwk {
        Value::Object(members) => {
            Value::Object(members.iter().filter(|(name, _)| !names.contains(&name.as_str())).cloned().collect())
        }
        other => other.clone(),
    }
}

#[test]
fn wycheproof_json_web_signature_all_groups() {
    let counts = run_jws_file("external/wycheproof/json_web_signature_test.json");
    println!("{counts:?}");
    // 401 cases: 20 valid ones verify and 355 invalid ones are refused; 22 valid ones
    // are HS256, RS384, RS512 or PS512, refused as JWS_UNSUPPORTED_ALGORITHM (or
    // JWS_MALFORMED, tcId 372, an HS256 JWS with '?' in its header); 4 valid ones
    // are refused as KEY_ALGORITHM_MISMATCH, their JWK naming another algorithm:
    // 346 and 350 ("PS256" for RFC 7520 §4.2's PS384), 347 and 351 ("ES521").
    assert_eq!(counts, JwsCounts { valid: 20, invalid: 355, unsupported: 22, deviations: vec![346, 347, 350, 351] });
}

#[test]
fn wycheproof_json_web_key_all_groups() {
    let counts = run_jws_file("external/wycheproof/json_web_key_test.json");
    println!("{counts:?}");
    // 26 cases: the RS256 one verifies; every invalid one is refused (mixed and
    // duplicate-kid sets, wrong `use`, the ROCA key, RSA 1024, exponent 1, a JWK
    // `alg` that does not fit, a point off the curve, the wrong curve or kty, keys
    // for encryption); the 4 valid HS256/384/512 cases are JWS_UNSUPPORTED_ALGORITHM.
    assert_eq!(counts, JwsCounts { valid: 1, invalid: 21, unsupported: 4, deviations: vec![] });
}

/// The key-level verdicts of the Wycheproof JWK file's public key sets.
#[test]
fn wycheproof_json_web_key_sets_are_read_with_codes() {
    let doc = read_json("external/wycheproof/json_web_key_test.json");
    let mut checked = Vec::new();
    for group in doc.get("testGroups").and_then(Value::as_array).unwrap() {
        let Some(public) = group.get("public") else { continue };
        let id = tc_id(&tests_of(group)[0]);
        let outcome = PartnerKeys::from_value(public).map(|_| ()).map_err(|e| e.code());
        let expected = match id {
            5 => Ok(()),
            6 | 21 => Err(ErrorCode::KeyUnsupported),        // "use": "enc"
            7 | 8 => Err(ErrorCode::KeyTooWeak),             // ROCA, RSA 1024
            9 | 22 => Err(ErrorCode::KeyInvalid),            // e = 1, a point off the curve
            19 | 20 => Err(ErrorCode::KeyAlgorithmMismatch), // "ES521", "ES224" on P-256
            23 | 24 => Err(ErrorCode::KeyMalformed),         // P-256 coordinates as P-384; EC members as RSA
            other => panic!("unexpected group of tcId {other}"),
        };
        assert_eq!(outcome, expected, "tcId {id}");
        checked.push(id);
    }
    assert_eq!(checked, [5, 6, 7, 8, 9, 19, 20, 21, 22, 23, 24]);
}

/// The public JWK of an RFC example's key (private members removed).
fn public_jwk(jwk: &Value) -> Value {
    without_members(jwk, &["d", "p", "q", "dp", "dq", "qi"])
}

/// An RFC example must verify; a flipped signature byte or payload character must not.
fn check_rfc_example(name: &str, compact: &str, jwk: &Value, alg: PartnerAlgorithm, payload: &[u8]) {
    assert!(
        PartnerKeys::from_value(jwk).is_err_and(|e| e.code() == ErrorCode::KeyMalformed),
        "{name}: private key refused"
    );
    let keys = PartnerKeys::from_value(&public_jwk(jwk)).unwrap();
    let verified = verify_partner_jws(compact, None, &keys).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(verified.alg, alg, "{name}");
    assert_eq!(verified.payload, payload, "{name}");
    assert_eq!(verified.key_thumbprint, keys.keys()[0].thumbprint(), "{name}");
    assert_eq!(verified.kid.as_deref(), verified.header.get("kid").and_then(Value::as_str), "{name}");

    let parts: Vec<&str> = compact.split('.').collect();
    let mut signature = b64url_decode(parts[2]).unwrap();
    for index in [0, signature.len() / 2, signature.len() - 1] {
        signature[index] ^= 0x01;
        let tampered = format!("{}.{}.{}", parts[0], parts[1], b64url(&signature));
        let error = verify_partner_jws(&tampered, None, &keys).unwrap_err();
        assert_eq!(error.code(), ErrorCode::SignatureInvalid, "{name}: signature byte {index}: {error}");
        signature[index] ^= 0x01;
    }
    let mut changed = payload.to_vec();
    changed[0] ^= 0x01;
    let tampered = format!("{}.{}.{}", parts[0], b64url(&changed), parts[2]);
    assert_eq!(verify_partner_jws(&tampered, None, &keys).unwrap_err().code(), ErrorCode::SignatureInvalid, "{name}");
    // The same JWS detached verifies with its payload, and not with another.
    let detached = format!("{}..{}", parts[0], parts[2]);
    assert_eq!(verify_partner_jws(&detached, Some(payload), &keys).unwrap().payload, payload, "{name}");
    let error = verify_partner_jws(&detached, None, &keys).unwrap_err();
    assert_eq!(error.code(), ErrorCode::SignatureInvalid, "{name}");
    assert!(error.to_string().contains("supply the payload"), "{name}: {error}");
    assert_eq!(verify_partner_jws(&detached, Some(&changed), &keys).unwrap_err().code(), ErrorCode::SignatureInvalid);
}

#[test]
fn rfc7515_appendix_a_examples() {
    let doc = read_json("external/partner/jose-rfc/rfc7515_appendix_a.json");
    let mut sections = Vec::new();
    for vector in doc.get("vectors").and_then(Value::as_array).unwrap() {
        let section = str_of(vector, "section");
        let alg = PartnerAlgorithm::from_name(str_of(vector, "alg")).unwrap();
        let payload = b64url_decode(str_of(vector, "payload_b64u")).unwrap();
        check_rfc_example(section, str_of(vector, "compact"), vector.get("jwk").unwrap(), alg, &payload);
        assert_eq!(canonical(&public_jwk(vector.get("jwk").unwrap())), canonical(vector.get("jwk_public").unwrap()));
        sections.push(section.to_owned());
    }
    assert_eq!(sections, ["A.2", "A.3", "A.4"]);
}

#[test]
fn rfc7520_and_rfc8037_examples() {
    let files = [
        ("rfc7520_4_1.rsa_v15_signature.json", PartnerAlgorithm::Rs256),
        ("rfc7520_4_2.rsa-pss_signature.json", PartnerAlgorithm::Ps384),
        ("rfc7520_4_3.ecdsa_signature.json", PartnerAlgorithm::Es512),
        ("rfc8037_a4_ed25519_jws.json", PartnerAlgorithm::EdDsa),
    ];
    for (file, alg) in files {
        let doc = read_json(&format!("external/partner/jose-rfc/{file}"));
        let input = doc.get("input").unwrap();
        assert_eq!(str_of(input, "alg"), alg.name());
        let compact = str_of(doc.get("output").unwrap(), "compact");
        check_rfc_example(file, compact, input.get("key").unwrap(), alg, str_of(input, "payload").as_bytes());
    }
}

// ---- Unit tests of the API, with keys made here ----

/// An Ed25519 key from a seed, its public JWK with `kid`.
fn ed25519(seed: u8, kid: &str) -> (ed25519_dalek::SigningKey, Value) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let jwk = Value::object([
        ("kty", Value::from("OKP")),
        ("crv", Value::from("Ed25519")),
        ("kid", Value::from(kid)),
        ("x", Value::from(b64url(key.verifying_key().as_bytes()).as_str())),
    ]);
    (key, jwk)
}

/// A P-384 key from a seed, its public JWK with `kid`.
fn p384_key(seed: u8, kid: &str) -> (p384::ecdsa::SigningKey, Value) {
    let key = p384::ecdsa::SigningKey::from_slice(&[seed; 48]).unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    let jwk = Value::object([
        ("kty", Value::from("EC")),
        ("crv", Value::from("P-384")),
        ("kid", Value::from(kid)),
        ("x", Value::from(b64url(&point.as_bytes()[1..49]).as_str())),
        ("y", Value::from(b64url(&point.as_bytes()[49..]).as_str())),
    ]);
    (key, jwk)
}

fn header_b64(header: &str) -> String {
    b64url(header.as_bytes())
}

/// A compact JWS: `signer` signs header.payload (payload base64url unless `unencoded`).
fn make_jws(header: &str, payload: &[u8], unencoded: bool, sign: impl Fn(&[u8]) -> Vec<u8>) -> (String, String) {
    let header = header_b64(header);
    let shown = if unencoded { String::from_utf8(payload.to_vec()).unwrap() } else { b64url(payload) };
    let signature = b64url(&sign(format!("{header}.{shown}").as_bytes()));
    (format!("{header}.{shown}.{signature}"), format!("{header}..{signature}"))
}

fn sign_ed25519(key: &ed25519_dalek::SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    use ed25519_dalek::Signer as _;
    move |message| key.sign(message).to_bytes().to_vec()
}

fn sign_p384(key: &p384::ecdsa::SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    use p384::ecdsa::signature::Signer as _;
    move |message| {
        let signature: p384::ecdsa::Signature = key.sign(message);
        signature.to_bytes().to_vec()
    }
}

fn rfc_key(file: &str) -> PartnerKey {
    let doc = read_json(&format!("external/partner/jose-rfc/{file}"));
    PartnerKey::from_jwk_value(&public_jwk(doc.get("input").unwrap().get("key").unwrap())).unwrap()
}

/// One key of each type: P-256, P-384, P-521, RSA 2048, Ed25519.
fn one_of_each() -> Vec<PartnerKey> {
    let a = read_json("external/partner/jose-rfc/rfc7515_appendix_a.json");
    let vectors = a.get("vectors").and_then(Value::as_array).unwrap();
    vec![
        PartnerKey::from_jwk_value(vectors[1].get("jwk_public").unwrap()).unwrap(),
        PartnerKey::from_jwk_value(&p384_key(7, "p384").1).unwrap(),
        rfc_key("rfc7520_4_3.ecdsa_signature.json"),
        rfc_key("rfc7520_4_1.rsa_v15_signature.json"),
        rfc_key("rfc8037_a4_ed25519_jws.json"),
    ]
}

#[test]
fn algorithm_names() {
    for &alg in PartnerAlgorithm::ALL {
        assert_eq!(PartnerAlgorithm::from_name(alg.name()).unwrap(), alg);
    }
    let names: Vec<&str> = PartnerAlgorithm::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(names, ["ES256", "ES384", "ES512", "RS256", "PS256", "PS384", "EdDSA"]);
    for name in ["none", "None", "", "HS256", "RS384", "RS512", "PS512", "ES256K", "Ed25519", "es256", "EDDSA"] {
        assert_eq!(PartnerAlgorithm::from_name(name).unwrap_err().code(), ErrorCode::JwsUnsupportedAlgorithm, "{name}");
    }
}

#[test]
fn none_and_other_algorithms_are_refused() {
    let keys = PartnerKeys::from_value(&ed25519(1, "a").1).unwrap();
    for header in [
        r#"{"alg":"none"}"#,
        r#"{"alg":"none","kid":"a"}"#,
        r#"{"alg":"HS256","kid":"a"}"#,
        r#"{"alg":"RS512"}"#,
        r#"{"kid":"a"}"#,
    ] {
        for signature in ["", "AAAA"] {
            let jws = format!("{}.{}.{signature}", header_b64(header), b64url(b"x"));
            let error = verify_partner_jws(&jws, None, &keys).unwrap_err();
            assert_eq!(error.code(), ErrorCode::JwsUnsupportedAlgorithm, "{header}: {error}");
        }
    }
    let jws = format!("{}.{}.AAAA", header_b64(r#"{"alg":5}"#), b64url(b"x"));
    assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::JwsHeaderInvalid);
}

#[test]
fn every_key_algorithm_mismatch_is_refused() {
    let keys = one_of_each();
    let types: Vec<&str> = keys.iter().map(PartnerKey::key_type).collect();
    assert_eq!(types, ["EC P-256", "EC P-384", "EC P-521", "RSA 2048", "OKP Ed25519"]);
    let mut mismatches = 0;
    for key in &keys {
        for &alg in PartnerAlgorithm::ALL {
            if key.fits(alg) {
                continue;
            }
            let error = key.verify(alg, b"message", &[0u8; 256]).unwrap_err();
            assert_eq!(error.code(), ErrorCode::KeyAlgorithmMismatch, "{} {}: {error}", key.key_type(), alg.name());
            // And through a JWS whose kid selects the key.
            let mut jwk = key.jwk().clone();
            if let Value::Object(members) = &mut jwk {
                members.retain(|(name, _)| name != "kid");
                members.push(("kid".into(), Value::from("k")));
            }
            let set = PartnerKeys::from_value(&jwk).unwrap();
            let header = format!(r#"{{"alg":"{}","kid":"k"}}"#, alg.name());
            let signature = vec![1u8; key.rsa_bits().map_or(64, |_| 256)];
            let length = match alg {
                PartnerAlgorithm::Es384 => 96,
                PartnerAlgorithm::Es512 => 132,
                PartnerAlgorithm::Es256 | PartnerAlgorithm::EdDsa => 64,
                _ => signature.len(),
            };
            let jws = format!("{}.{}.{}", header_b64(&header), b64url(b"x"), b64url(&vec![1u8; length]));
            let error = verify_partner_jws(&jws, None, &set).unwrap_err();
            assert_eq!(error.code(), ErrorCode::KeyAlgorithmMismatch, "{} {}: {error}", key.key_type(), alg.name());
            mismatches += 1;
        }
    }
    // 5 keys x 7 algorithms, less the 7 pairs that fit (RSA fits three).
    assert_eq!(mismatches, 28);
}

#[test]
fn jwk_alg_use_and_key_ops_are_checked() {
    let rsa = rfc_key("rfc7520_4_1.rsa_v15_signature.json");
    let with = |extra: (&str, Value)| {
        let Value::Object(mut members) = rsa.jwk().clone() else { unreachable!() };
        members.push((extra.0.into(), extra.1));
        PartnerKey::from_jwk_value(&Value::Object(members))
    };
    let rs256 = with(("alg", Value::from("RS256"))).unwrap();
    assert_eq!(rs256.algorithm(), Some(PartnerAlgorithm::Rs256));
    assert!(rs256.fits(PartnerAlgorithm::Rs256) && !rs256.fits(PartnerAlgorithm::Ps256));
    let error = rs256.verify(PartnerAlgorithm::Ps256, b"m", &[0u8; 256]).unwrap_err();
    assert_eq!(error.code(), ErrorCode::KeyAlgorithmMismatch);
    for alg in ["ES256", "EdDSA", "RS512", "none", "HS256"] {
        assert_eq!(with(("alg", Value::from(alg))).unwrap_err().code(), ErrorCode::KeyAlgorithmMismatch, "{alg}");
    }
    assert_eq!(with(("alg", Value::Bool(true))).unwrap_err().code(), ErrorCode::KeyMalformed);
    // `use` is already "sig" in the RFC key: a second one would be a duplicate member.
    let Value::Object(mut members) = rsa.jwk().clone() else { unreachable!() };
    members.retain(|(name, _)| name != "use");
    let no_use = Value::Object(members);
    let with_no_use = |extra: (&str, Value)| {
        let Value::Object(mut members) = no_use.clone() else { unreachable!() };
        members.push((extra.0.into(), extra.1));
        PartnerKey::from_jwk_value(&Value::Object(members))
    };
    assert!(with_no_use(("use", Value::from("sig"))).is_ok());
    assert_eq!(with_no_use(("use", Value::from("enc"))).unwrap_err().code(), ErrorCode::KeyUnsupported);
    let ops = |ops: &[&str]| Value::Array(ops.iter().map(|&op| Value::from(op)).collect());
    assert!(with_no_use(("key_ops", ops(&["sign", "verify"]))).is_ok());
    assert_eq!(with_no_use(("key_ops", ops(&["sign"]))).unwrap_err().code(), ErrorCode::KeyUnsupported);
    assert_eq!(with_no_use(("key_ops", ops(&[]))).unwrap_err().code(), ErrorCode::KeyUnsupported);
    assert_eq!(with_no_use(("key_ops", Value::from("verify"))).unwrap_err().code(), ErrorCode::KeyMalformed);
}

#[test]
fn weak_unsupported_and_malformed_keys_are_refused() {
    let jwk_doc = read_json("external/wycheproof/json_web_key_test.json");
    let groups = jwk_doc.get("testGroups").and_then(Value::as_array).unwrap();
    let group = groups.iter().find(|g| str_of(g, "comment") == "keysize_too_small").unwrap();
    let rsa1024 = group.get("public").unwrap();
    let rsa1024 = &rsa1024.get("keys").and_then(Value::as_array).unwrap()[0];
    assert!(canonical(rsa1024).contains("RS256_1024"));
    let error = PartnerKey::from_jwk_value(rsa1024).unwrap_err();
    assert_eq!(error.code(), ErrorCode::KeyTooWeak);
    assert!(error.to_string().contains("1024 bits"), "{error}");

    let cases = [
        ("[]", ErrorCode::KeyMalformed),
        ("{}", ErrorCode::KeyMalformed),
        ("not json", ErrorCode::KeyMalformed),
        (r#"{"kty":"oct"}"#, ErrorCode::KeyUnsupported),
        (r#"{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}"#, ErrorCode::KeyUnsupported),
        (r#"{"kty":"OKP","crv":"X25519","x":"AA"}"#, ErrorCode::KeyUnsupported),
        (r#"{"kty":"OKP","crv":"Ed448","x":"AA"}"#, ErrorCode::KeyUnsupported),
        (r#"{"kty":"OKP","crv":"Ed25519","x":"AA"}"#, ErrorCode::KeyMalformed),
        (r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#, ErrorCode::KeyMalformed),
        (r#"{"kty":"EC","x":"AA","y":"AA"}"#, ErrorCode::KeyMalformed),
        (r#"{"kty":"RSA","n":"AQAB"}"#, ErrorCode::KeyMalformed),
        (r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#, ErrorCode::KeyTooWeak),
        (r#"{"kty":"RSA","n":"","e":"AQAB"}"#, ErrorCode::KeyTooWeak),
        (r#"{"kty":7}"#, ErrorCode::KeyMalformed),
    ];
    for (text, code) in cases {
        assert_eq!(PartnerKey::from_jwk(text).unwrap_err().code(), code, "{text}");
    }
    // RSA over 8192 bits.
    let big = format!(r#"{{"kty":"RSA","n":"{}","e":"AQAB"}}"#, b64url(&[0xffu8; 1025]));
    assert_eq!(PartnerKey::from_jwk(&big).unwrap_err().code(), ErrorCode::KeyUnsupported);
}

#[test]
fn private_jwks_are_refused() {
    let (_, jwk) = ed25519(3, "a");
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        let Value::Object(mut members) = jwk.clone() else { unreachable!() };
        members.push((member.into(), Value::from("AAAA")));
        let jwk = Value::Object(members);
        let error = PartnerKey::from_jwk_value(&jwk).unwrap_err();
        assert_eq!(error.code(), ErrorCode::KeyMalformed, "{member}");
        assert!(error.to_string().contains("a partner key snapshot holds public keys only"), "{error}");
        let set = Value::object([("keys", Value::Array(vec![jwk]))]);
        let error = PartnerKeys::from_value(&set).unwrap_err();
        assert_eq!(error.code(), ErrorCode::KeyMalformed);
        assert!(error.to_string().starts_with("key 0: "), "{error}");
    }
}

#[test]
fn key_selection_by_kid_and_by_algorithm() {
    let (a, a_jwk) = ed25519(1, "a");
    let (b, b_jwk) = ed25519(2, "b");
    let (c, c_jwk) = p384_key(3, "c");
    let set = Value::object([("keys", Value::Array(vec![a_jwk.clone(), b_jwk.clone(), c_jwk.clone()]))]);
    let keys = PartnerKeys::from_json(&canonical(&set)).unwrap();
    assert_eq!(keys.keys().len(), 3);
    assert_eq!(canonical(&keys.to_value()), canonical(&set));
    let b_thumbprint = keys.keys()[1].thumbprint().to_owned();
    assert_eq!(keys.keys()[1].kid(), Some("b"));

    let (jws, _) = make_jws(r#"{"alg":"EdDSA","kid":"b"}"#, b"to b", false, sign_ed25519(&b));
    let verified = verify_partner_jws(&jws, None, &keys).unwrap();
    assert_eq!((verified.kid.as_deref(), verified.key_thumbprint.as_str()), (Some("b"), b_thumbprint.as_str()));
    assert_eq!(verified.payload, b"to b");
    // Signed by a, but naming b.
    let (jws, _) = make_jws(r#"{"alg":"EdDSA","kid":"b"}"#, b"m", false, sign_ed25519(&a));
    assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::SignatureInvalid);
    let (jws, _) = make_jws(r#"{"alg":"EdDSA","kid":"z"}"#, b"m", false, sign_ed25519(&a));
    assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::KeyNotFound);
    // kid c is a P-384 key.
    let (jws, _) = make_jws(r#"{"alg":"EdDSA","kid":"c"}"#, b"m", false, sign_ed25519(&a));
    assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::KeyAlgorithmMismatch);
    // No kid: two Ed25519 keys are ambiguous, the one P-384 key is chosen, no P-521 key.
    let (jws, _) = make_jws(r#"{"alg":"EdDSA"}"#, b"m", false, sign_ed25519(&a));
    assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::KeyAmbiguous);
    let (jws, _) = make_jws(r#"{"alg":"ES384"}"#, b"m", false, sign_p384(&c));
    assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap().kid, None);
    let jws = format!("{}.{}.{}", header_b64(r#"{"alg":"ES512"}"#), b64url(b"m"), b64url(&[1u8; 132]));
    assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::KeyNotFound);
    // With one Ed25519 key, no kid is needed.
    let single = PartnerKeys::from_value(&a_jwk).unwrap();
    let (jws, _) = make_jws(r#"{"alg":"EdDSA"}"#, b"m", false, sign_ed25519(&a));
    assert!(verify_partner_jws(&jws, None, &single).is_ok());
    // Keys in the header are never used.
    let header = format!(r#"{{"alg":"EdDSA","jwk":{}}}"#, canonical(&b_jwk));
    let (jws, _) = make_jws(&header, b"m", false, sign_ed25519(&b));
    assert_eq!(verify_partner_jws(&jws, None, &single).unwrap_err().code(), ErrorCode::SignatureInvalid);

    // Sets that are refused.
    let mut renamed = b_jwk.clone();
    if let Value::Object(members) = &mut renamed {
        members.retain(|(name, _)| name != "kid");
        members.push(("kid".into(), Value::from("a")));
    }
    for bad in [
        Value::object([("keys", Value::Array(vec![a_jwk.clone(), renamed]))]),
        Value::object([("keys", Value::Array(vec![]))]),
        Value::object([("keys", Value::from("a"))]),
        Value::object([("other", Value::from("a"))]),
        Value::Array(vec![a_jwk.clone()]),
    ] {
        let error = PartnerKeys::from_value(&bad).unwrap_err();
        assert_eq!(error.code(), ErrorCode::KeySetMalformed, "{}", canonical(&bad));
    }
    assert_eq!(PartnerKeys::from_json("{").unwrap_err().code(), ErrorCode::KeySetMalformed);
    let set_with_bad_key = Value::object([("keys", Value::Array(vec![a_jwk, Value::from(1)]))]);
    let error = PartnerKeys::from_value(&set_with_bad_key).unwrap_err();
    assert_eq!(error.code(), ErrorCode::KeyMalformed);
    assert!(error.to_string().starts_with("key 1: "), "{error}");
}

/// A signing function of a test key.
type Signer<'a> = Box<dyn Fn(&[u8]) -> Vec<u8> + 'a>;

#[test]
fn detached_and_unencoded_payloads_with_eddsa_and_es384() {
    let (ed, ed_jwk) = ed25519(4, "ed");
    let (ec, ec_jwk) = p384_key(5, "ec");
    let keys = PartnerKeys::from_value(&Value::object([("keys", Value::Array(vec![ed_jwk, ec_jwk]))])).unwrap();
    let signers: [(&str, Signer<'_>); 2] =
        [("EdDSA\",\"kid\":\"ed", Box::new(sign_ed25519(&ed))), ("ES384\",\"kid\":\"ec", Box::new(sign_p384(&ec)))];
    for (alg, sign) in &signers {
        // Attached and detached, base64url payload.
        let (attached, detached) = make_jws(&format!(r#"{{"alg":"{alg}"}}"#), b"payload", false, sign);
        assert_eq!(verify_partner_jws(&attached, None, &keys).unwrap().payload, b"payload");
        assert_eq!(verify_partner_jws(&detached, Some(b"payload"), &keys).unwrap().payload, b"payload");
        assert_eq!(
            verify_partner_jws(&detached, Some(b"payloaD"), &keys).unwrap_err().code(),
            ErrorCode::SignatureInvalid
        );
        assert_eq!(
            verify_partner_jws(&attached, Some(b"payload"), &keys).unwrap_err().code(),
            ErrorCode::JwsPayloadMismatch
        );
        // RFC 7797 unencoded payload, attached and detached.
        let header = format!(r#"{{"alg":"{alg}","b64":false,"crit":["b64"]}}"#);
        let (attached, detached) = make_jws(&header, b"$ an unencoded payload", true, sign);
        let verified = verify_partner_jws(&attached, None, &keys).unwrap();
        assert_eq!(verified.payload, b"$ an unencoded payload");
        assert_eq!(verified.header.get("b64"), Some(&Value::Bool(false)));
        assert!(verify_partner_jws(&detached, Some(b"$ an unencoded payload"), &keys).is_ok());
        let error = verify_partner_jws(&detached, Some(b"$ another payload"), &keys).unwrap_err();
        assert_eq!(error.code(), ErrorCode::SignatureInvalid);
        // b64 without crit, and crit naming what is not understood.
        let (jws, _) = make_jws(&format!(r#"{{"alg":"{alg}","b64":false}}"#), b"p", true, sign);
        assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::JwsHeaderInvalid);
        let (jws, _) = make_jws(&format!(r#"{{"alg":"{alg}","exp":1,"crit":["exp"]}}"#), b"p", false, sign);
        assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::JwsUnsupportedCritical);
    }
}

#[test]
fn signature_lengths_are_checked() {
    let (ec, ec_jwk) = p384_key(6, "ec");
    let keys = PartnerKeys::from_value(&ec_jwk).unwrap();
    let (jws, _) = make_jws(r#"{"alg":"ES384"}"#, b"m", false, sign_p384(&ec));
    let parts: Vec<&str> = jws.split('.').collect();
    let raw = b64url_decode(parts[2]).unwrap();
    let der = p384::ecdsa::Signature::from_slice(&raw).unwrap().to_der().as_bytes().to_vec();
    for signature in [raw[..95].to_vec(), [raw.clone(), vec![0]].concat(), der, vec![]] {
        let jws = format!("{}.{}.{}", parts[0], parts[1], b64url(&signature));
        assert_eq!(verify_partner_jws(&jws, None, &keys).unwrap_err().code(), ErrorCode::JwsSignatureFormat);
    }
    let rsa = rfc_key("rfc7520_4_1.rsa_v15_signature.json");
    for length in [0, 255, 257, 512] {
        let error = rsa.verify(PartnerAlgorithm::Rs256, b"m", &vec![1u8; length]).unwrap_err();
        assert_eq!(error.code(), ErrorCode::JwsSignatureFormat, "{length}");
    }
    assert_eq!(rsa.verify(PartnerAlgorithm::Ps256, b"m", &[1u8; 256]).unwrap_err().code(), ErrorCode::SignatureInvalid);
    let ed = rfc_key("rfc8037_a4_ed25519_jws.json");
    assert_eq!(ed.verify(PartnerAlgorithm::EdDsa, b"m", &[0u8; 63]).unwrap_err().code(), ErrorCode::JwsSignatureFormat);
    assert_eq!(ed.verify(PartnerAlgorithm::EdDsa, b"m", &[0u8; 64]).unwrap_err().code(), ErrorCode::SignatureInvalid);
}

#[test]
fn to_pem_round_trips_through_each_crate() {
    use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
    let keys = one_of_each();
    let coordinates = |key: &PartnerKey| {
        let x = b64url_decode(key.jwk().get("x").and_then(Value::as_str).unwrap()).unwrap();
        let y = key.jwk().get("y").and_then(Value::as_str).map(|y| b64url_decode(y).unwrap()).unwrap_or_default();
        [vec![4u8], x, y].concat()
    };
    let pem = keys[0].to_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let parsed = p256::ecdsa::VerifyingKey::from_public_key_pem(&pem).unwrap();
    assert_eq!(parsed.to_sec1_point(false).as_bytes(), coordinates(&keys[0]));
    let parsed = p384::ecdsa::VerifyingKey::from_public_key_pem(&keys[1].to_pem()).unwrap();
    assert_eq!(parsed.to_sec1_point(false).as_bytes(), coordinates(&keys[1]));
    let parsed = p521::ecdsa::VerifyingKey::from_public_key_pem(&keys[2].to_pem()).unwrap();
    assert_eq!(parsed.to_sec1_point(false).as_bytes(), coordinates(&keys[2]));
    let parsed = rsa::RsaPublicKey::from_public_key_pem(&keys[3].to_pem()).unwrap();
    assert_eq!(pem_der(&keys[3].to_pem()), parsed.to_public_key_der().unwrap().as_bytes());
    let n = b64url_decode(keys[3].jwk().get("n").and_then(Value::as_str).unwrap()).unwrap();
    let parsed_n = rsa::traits::PublicKeyParts::n(&parsed).to_be_bytes();
    assert_eq!(parsed_n.iter().skip_while(|&&b| b == 0).copied().collect::<Vec<u8>>(), n);
    let parsed = ed25519_dalek::VerifyingKey::from_public_key_pem(&keys[4].to_pem()).unwrap();
    assert_eq!(parsed.as_bytes().as_slice(), &coordinates(&keys[4])[1..]);
}

#[test]
fn mutated_jws_never_panic() {
    let doc = read_json("external/partner/jose-rfc/rfc7520_4_2.rsa-pss_signature.json");
    let keys = PartnerKeys::from_value(&public_jwk(doc.get("input").unwrap().get("key").unwrap())).unwrap();
    let compact = str_of(doc.get("output").unwrap(), "compact");
    let bytes = compact.as_bytes();
    let (mut refused, mut tried) = (0, 0);
    for index in (0..bytes.len()).step_by(7) {
        for replacement in [b'A', b'.', b'_', b'='] {
            let mut mutated = bytes.to_vec();
            if mutated[index] == replacement {
                continue;
            }
            mutated[index] = replacement;
            tried += 1;
            let mutated = String::from_utf8(mutated).unwrap();
            if verify_partner_jws(&mutated, None, &keys).is_err() {
                refused += 1;
            }
        }
        assert!(verify_partner_jws(&compact[..index], None, &keys).is_err());
    }
    assert_eq!(refused, tried);
    assert!(tried > 300, "{tried}");
}
