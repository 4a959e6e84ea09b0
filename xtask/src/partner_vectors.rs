//! `testvectors/partner.json`: partners' signatures for every binding's vector run,
//! made from the external vectors in `testvectors/external/` (Wycheproof raw
//! signatures for each partner algorithm, the RFC 7515, 7520 and 8037 JWS examples)
//! in one plain shape, with the result core gives. core/tests/partner.rs checks
//! core against each file's own verdicts; the bindings check they agree with core.

use evidentia::encoding::{b64url, b64url_decode, hex};
use evidentia::json::{Value, parse};
use evidentia::{Error, PartnerAlgorithm, PartnerKey, PartnerKeys, canonicalize_value, verify_partner_jws};

const DESCRIPTION: &str = "Signatures by other parties (SPEC.md §21.3). 'keys' lists public JWKs. Each 'signatures' case verifies the raw signature (hex) over the message (hex) with keys[key] and algorithm alg: valid, or refused with the error code named (null when valid). Each 'jws' case verifies the compact JWS against the key set given (a JWKS), with the detached payload (base64url) when present. Sources: testvectors/external (Wycheproof, RFC 7515 Appendix A, RFC 7520 §4.1-4.3, RFC 8037 A.4); see testvectors/README.md.";

/// The raw Wycheproof files and their algorithms.
const RAW: &[(&str, &str)] = &[
    ("external/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json", "ES256"),
    ("external/partner/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json", "ES384"),
    ("external/partner/wycheproof-rs/ecdsa_secp521r1_sha512_p1363_test.json", "ES512"),
    ("external/partner/wycheproof/rsa_signature_2048_sha256_test.json", "RS256"),
    ("external/partner/wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json", "PS256"),
    ("external/partner/wycheproof-rs/rsa_pss_2048_sha384_mgf1_48_test.json", "PS384"),
    ("external/partner/wycheproof/ed25519_test.json", "EdDSA"),
];

fn read(root: &std::path::Path, file: &str) -> Value {
    let path = root.join("testvectors").join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or_else(|| panic!("no string member {name}"))
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

fn number(n: u64) -> Value {
    Value::Number(evidentia::json::Number::from_i64(n as i64).expect("small"))
}

fn code(result: Result<(), Error>) -> Value {
    result.err().map_or(Value::Null, |e| Value::from(e.code().name()))
}

/// A JWK's public members, as the partner would publish it.
fn public(jwk: &Value) -> Value {
    let keep = ["kty", "crv", "x", "y", "n", "e", "alg", "kid", "use"];
    Value::Object(
        jwk.as_object()
            .expect("a JWK is an object")
            .iter()
            .filter(|(name, _)| keep.contains(&name.as_str()))
            .cloned()
            .collect(),
    )
}

/// The JWK of an EC public key Wycheproof gives only as its uncompressed point
/// (groups whose coordinates JWK cannot write as given).
fn ec_jwk(key: &Value) -> Value {
    let point = hex_decode(text(key, "uncompressed"));
    let size = (point.len() - 1) / 2;
    let crv = match text(key, "curve") {
        "secp256r1" => "P-256",
        "secp384r1" => "P-384",
        "secp521r1" => "P-521",
        other => panic!("unexpected curve {other}"),
    };
    Value::object([
        ("crv", Value::from(crv)),
        ("kty", Value::from("EC")),
        ("x", Value::from(b64url(&point[1..=size]))),
        ("y", Value::from(b64url(&point[size + 1..]))),
    ])
}

pub(crate) fn generate(root: &std::path::Path) -> Value {
    let mut keys: Vec<Value> = Vec::new();
    let mut key_index = |jwk: Value| -> u64 {
        let canonical = canonicalize_value(&jwk).expect("JSON");
        let found = keys.iter().position(|k| canonicalize_value(k).expect("JSON") == canonical);
        found.unwrap_or_else(|| {
            keys.push(jwk);
            keys.len() - 1
        }) as u64
    };
    let mut signatures = Vec::new();
    for (file, alg_name) in RAW {
        let doc = read(root, file);
        let alg = PartnerAlgorithm::from_name(alg_name).expect("a partner algorithm");
        let name = file.rsplit('/').next().expect("a file name");
        for group in doc.get("testGroups").and_then(Value::as_array).expect("groups") {
            let jwk = match group.get("publicKeyJwk").or_else(|| group.get("keyJwk")) {
                Some(jwk) => public(jwk),
                None => ec_jwk(group.get("publicKey").expect("a public key")),
            };
            let key = PartnerKey::from_jwk_value(&jwk).unwrap_or_else(|e| panic!("{name}: {e}"));
            let index = key_index(jwk);
            for test in group.get("tests").and_then(Value::as_array).expect("tests") {
                let message = hex_decode(text(test, "msg"));
                let signature = hex_decode(text(test, "sig"));
                let id = test.get("tcId").and_then(Value::as_number).and_then(|n| n.as_safe_u64()).expect("tcId");
                signatures.push(Value::object([
                    ("alg", Value::from(*alg_name)),
                    ("code", code(key.verify(alg, &message, &signature))),
                    ("key", number(index)),
                    ("message", Value::from(hex(&message))),
                    ("signature", Value::from(hex(&signature))),
                    ("source", Value::from(format!("{name} tcId {id}"))),
                ]));
            }
        }
    }
    let mut jws_cases = Vec::new();
    let mut jws_case = |source: String, jws: &str, jwk: &Value, payload: Option<&[u8]>| {
        let set = Value::object([("keys", Value::Array(vec![public(jwk)]))]);
        let keys = PartnerKeys::from_value(&set).expect("a key set");
        let mut members = vec![
            ("code", code(verify_partner_jws(jws, payload, &keys).map(|_| ()))),
            ("jws", Value::from(jws)),
            ("keys", set),
            ("source", Value::from(source)),
        ];
        if let Some(payload) = payload {
            members.push(("payload", Value::from(b64url(payload))));
        }
        jws_cases.push(Value::object(members));
    };
    let mut examples: Vec<(String, String, Value)> = Vec::new();
    let appendix = read(root, "external/partner/jose-rfc/rfc7515_appendix_a.json");
    for vector in appendix.get("vectors").and_then(Value::as_array).expect("vectors") {
        let source = format!("RFC 7515 {}", text(vector, "section"));
        examples.push((source, text(vector, "compact").to_owned(), vector.get("jwk").expect("jwk").clone()));
    }
    for (file, source) in [
        ("rfc7520_4_1.rsa_v15_signature.json", "RFC 7520 4.1"),
        ("rfc7520_4_2.rsa-pss_signature.json", "RFC 7520 4.2"),
        ("rfc7520_4_3.ecdsa_signature.json", "RFC 7520 4.3"),
        ("rfc8037_a4_ed25519_jws.json", "RFC 8037 A.4"),
    ] {
        let doc = read(root, &format!("external/partner/jose-rfc/{file}"));
        let compact = text(doc.get("output").expect("output"), "compact").to_owned();
        let key = doc.get("input").and_then(|i| i.get("key")).expect("key").clone();
        examples.push((source.to_owned(), compact, key));
    }
    for (source, compact, jwk) in examples {
        jws_case(source.clone(), &compact, &jwk, None);
        let parts: Vec<&str> = compact.split('.').collect();
        let payload = b64url_decode(parts[1]).expect("base64url");
        jws_case(format!("{source}, detached"), &format!("{}..{}", parts[0], parts[2]), &jwk, Some(&payload));
        let mut signature = b64url_decode(parts[2]).expect("base64url");
        signature[0] ^= 1;
        jws_case(
            format!("{source}, first signature bit flipped"),
            &format!("{}.{}.{}", parts[0], parts[1], b64url(&signature)),
            &jwk,
            None,
        );
        let mut changed = payload.clone();
        changed[0] ^= 1;
        jws_case(
            format!("{source}, payload changed"),
            &format!("{}.{}.{}", parts[0], b64url(&changed), parts[2]),
            &jwk,
            None,
        );
    }
    let header = |alg: &str| b64url(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
    let ed = read(root, "external/partner/jose-rfc/rfc8037_a4_ed25519_jws.json");
    let ed_key = ed.get("input").and_then(|i| i.get("key")).expect("key").clone();
    let ed_compact = text(ed.get("output").expect("output"), "compact").to_owned();
    let ed_parts: Vec<&str> = ed_compact.split('.').collect();
    for alg in ["none", "HS256", "ES256K", "RS512"] {
        let jws = format!("{}.{}.{}", header(alg), ed_parts[1], ed_parts[2]);
        jws_case(format!("alg {alg} is refused"), &jws, &ed_key, None);
    }
    let es = &appendix.get("vectors").and_then(Value::as_array).expect("vectors")[1];
    let es_parts: Vec<&str> = text(es, "compact").split('.').collect();
    let jws = format!("{}.{}.{}", header("ES256"), es_parts[1], ed_parts[2]);
    jws_case("an ES256 JWS checked with an Ed25519 key".into(), &jws, &ed_key, None);

    Value::object([
        ("description", Value::from(DESCRIPTION)),
        ("generator", Value::from("cargo xtask vectors")),
        ("jws", Value::Array(jws_cases)),
        ("keys", Value::Array(keys)),
        ("signatures", Value::Array(signatures)),
        ("version", number(1)),
    ])
}
