//! `evidentia message`: a partner's JWS, signed here by OpenSSL with each algorithm
//! partners use, recorded in a log with its key snapshot and provenance, shown,
//! checked again, and verified with the log.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use evidentia::encoding::{b64url, b64url_decode};
use support::{Workdir, evidentia, text};

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
    out.stdout
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
}

/// The contents of a DER TLV at the start of `der`, and what follows it.
fn tlv(der: &[u8]) -> (&[u8], &[u8]) {
    let (len, start) = match der[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(der[2]), 3),
        0x82 => (usize::from(der[2]) << 8 | usize::from(der[3]), 4),
        _ => panic!("unexpected DER length"),
    };
    (&der[start..start + len], &der[start + len..])
}

/// A DER ECDSA signature as JOSE's R ‖ S of `size` bytes each.
fn raw_ecdsa(der: &[u8], size: usize) -> Vec<u8> {
    let (sequence, _) = tlv(der);
    let (r, rest) = tlv(sequence);
    let (s, _) = tlv(rest);
    let mut out = Vec::new();
    for n in [r, s] {
        let n = &n[n.iter().take_while(|b| **b == 0).count()..];
        out.extend(std::iter::repeat_n(0u8, size - n.len()));
        out.extend_from_slice(n);
    }
    out
}

/// One partner algorithm: how OpenSSL makes its key and signs with it.
struct Algorithm {
    alg: &'static str,
    genpkey: &'static [&'static str],
    sign: &'static [&'static str],
    /// ECDSA: the size of R and S.
    ecdsa: Option<usize>,
}

const ALGORITHMS: &[Algorithm] = &[
    Algorithm {
        alg: "ES256",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        sign: &["dgst", "-sha256"],
        ecdsa: Some(32),
    },
    Algorithm {
        alg: "ES384",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        sign: &["dgst", "-sha384"],
        ecdsa: Some(48),
    },
    Algorithm {
        alg: "ES512",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        sign: &["dgst", "-sha512"],
        ecdsa: Some(66),
    },
    Algorithm {
        alg: "RS256",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        sign: &["dgst", "-sha256"],
        ecdsa: None,
    },
    Algorithm {
        alg: "PS256",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        sign: &["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"],
        ecdsa: None,
    },
    Algorithm {
        alg: "PS384",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        sign: &["dgst", "-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:48"],
        ecdsa: None,
    },
    Algorithm { alg: "EdDSA", genpkey: &["-algorithm", "ED25519"], sign: &["pkeyutl", "-rawin"], ecdsa: None },
];

/// The public JWK of an OpenSSL key, read from its SubjectPublicKeyInfo DER.
fn public_jwk(dir: &Path, key: &str, alg: &Algorithm, kid: &str) -> String {
    let spki = openssl(dir, &["pkey", "-in", key, "-pubout", "-outform", "DER"]);
    match alg.alg {
        "EdDSA" => {
            format!(r#"{{"crv":"Ed25519","kid":"{kid}","kty":"OKP","x":"{}"}}"#, b64url(&spki[spki.len() - 32..]))
        }
        "RS256" | "PS256" | "PS384" => {
            let text = text(&openssl(dir, &["rsa", "-pubin", "-in", &format!("{key}.pub"), "-noout", "-modulus"]));
            let hex = text.trim().trim_start_matches("Modulus=");
            let n: Vec<u8> =
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            format!(r#"{{"e":"AQAB","kid":"{kid}","kty":"RSA","n":"{}"}}"#, b64url(&n))
        }
        _ => {
            let size = alg.ecdsa.unwrap();
            let point = &spki[spki.len() - 2 * size..];
            let crv = match size {
                32 => "P-256",
                48 => "P-384",
                _ => "P-521",
            };
            format!(
                r#"{{"crv":"{crv}","kid":"{kid}","kty":"EC","x":"{}","y":"{}"}}"#,
                b64url(&point[..size]),
                b64url(&point[size..])
            )
        }
    }
}

/// A compact JWS over `payload` signed by OpenSSL.
fn openssl_jws(dir: &Path, key: &str, alg: &Algorithm, kid: &str, payload: &[u8]) -> String {
    let input =
        format!("{}.{}", b64url(format!(r#"{{"alg":"{}","kid":"{kid}"}}"#, alg.alg).as_bytes()), b64url(payload));
    std::fs::write(dir.join("input"), &input).unwrap();
    let args: Vec<&str> = if alg.sign[0] == "dgst" {
        [alg.sign, &["-sign", key, "-out", "signature", "input"]].concat()
    } else {
        vec!["pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", "input", "-out", "signature"]
    };
    openssl(dir, &args);
    let signature = std::fs::read(dir.join("signature")).unwrap();
    let signature = match alg.ecdsa {
        Some(size) => raw_ecdsa(&signature, size),
        None => signature,
    };
    format!("{input}.{}", b64url(&signature))
}

#[test]
fn partners_jws_of_every_algorithm_are_recorded_shown_and_checked_again() {
    let work = Workdir::new("messages");
    let dir = &work.0;
    assert_exit(&evidentia(dir, &["keygen", "--out", "operator.jwk"]), 0);
    assert_exit(
        &evidentia(dir, &["log", "init", "log", "--key", "operator.jwk", "--id", "scheme.example/disputes"]),
        0,
    );
    for (n, alg) in ALGORITHMS.iter().enumerate() {
        let key = format!("{}.pem", alg.alg);
        let mut genpkey = vec!["genpkey"];
        genpkey.extend(alg.genpkey);
        genpkey.extend(["-out", &key]);
        openssl(dir, &genpkey);
        std::fs::write(dir.join(format!("{key}.pub")), openssl(dir, &["pkey", "-in", &key, "-pubout"])).unwrap();
        let kid = format!("issuer-{}", alg.alg.to_lowercase());
        let jwk = public_jwk(dir, &key, alg, &kid);
        std::fs::write(dir.join("partner.jwks"), format!(r#"{{"keys":[{jwk}]}}"#)).unwrap();
        let payload = format!(r#"{{"amount":"30000.00","instruction_id":"INS-{n}"}}"#);
        let jws = openssl_jws(dir, &key, alg, &kid, payload.as_bytes());
        std::fs::write(dir.join("auth.jws"), format!("{jws}\n")).unwrap();
        std::fs::write(
            dir.join("provenance.json"),
            r#"{"jwks_url":"https://issuer.example/.well-known/jwks.json","fetched_at":"2026-03-01T09:00:00Z","partner_id":"BANK-042","established_by":"jwks_fetch"}"#,
        )
        .unwrap();
        let recorded = evidentia(
            dir,
            &[
                "message",
                "record",
                "log",
                "--jws",
                "auth.jws",
                "--keys",
                "partner.jwks",
                "--provenance",
                "provenance.json",
                "--direction",
                "inbound",
            ],
        );
        assert_exit(&recorded, 0);
        let index = n.to_string();
        let shown = evidentia(dir, &["--json", "message", "show", "log", "--index", &index]);
        assert_exit(&shown, 0);
        let shown = text(&shown.stdout);
        assert!(shown.contains(&jws), "the JWS is kept exactly: {shown}");
        assert!(shown.contains(&format!(r#""instruction_id":"INS-{n}""#)), "{shown}");
        assert!(shown.contains(&format!(r#""alg":"{}""#, alg.alg)), "{shown}");
        let again = evidentia(dir, &["message", "verify", "log", "--index", &index]);
        assert_exit(&again, 0);
        assert!(text(&again.stdout).starts_with("VALID"), "{}", text(&again.stdout));

        // One changed bit of the signature: refused, or recorded as failed on request.
        let mut signature = b64url_decode(jws.rsplit('.').next().unwrap()).unwrap();
        signature[4] ^= 1;
        let bad = format!("{}.{}", &jws[..jws.rfind('.').unwrap()], b64url(&signature));
        std::fs::write(dir.join("bad.jws"), &bad).unwrap();
        let args = ["message", "record", "log", "--jws", "bad.jws", "--keys", "partner.jwks", "--direction", "inbound"];
        let refused = evidentia(dir, &args);
        assert_exit(&refused, 1);
        assert!(text(&refused.stderr).contains("SIGNATURE_INVALID"), "{}", text(&refused.stderr));
    }

    // A failure recorded as such, answering record 0.
    let failed = evidentia(
        dir,
        &[
            "message",
            "record",
            "log",
            "--jws",
            "bad.jws",
            "--keys",
            "partner.jwks",
            "--direction",
            "outbound",
            "--record-failure",
            "--link",
            "0",
        ],
    );
    assert_exit(&failed, 0);
    assert!(text(&failed.stderr).contains("recorded as failed"), "{}", text(&failed.stderr));
    let index = ALGORITHMS.len().to_string();
    let again = evidentia(dir, &["message", "verify", "log", "--index", &index]);
    assert_exit(&again, 1);
    assert!(text(&again.stdout).starts_with("INVALID (as recorded)"), "{}", text(&again.stdout));
    let shown = evidentia(dir, &["message", "show", "log", "--index", &index]);
    assert!(text(&shown.stdout).contains("answers:    record 0"), "{}", text(&shown.stdout));
    // A link to a record the log does not have; a record the log does not have.
    let args = [
        "message",
        "record",
        "log",
        "--jws",
        "auth.jws",
        "--keys",
        "partner.jwks",
        "--direction",
        "inbound",
        "--link",
        "999",
    ];
    assert_exit(&evidentia(dir, &args), 2);
    assert_exit(&evidentia(dir, &["message", "show", "log", "--index", "999"]), 2);

    let log_verify = evidentia(dir, &["--json", "log", "verify", "log"]);
    assert_exit(&log_verify, 0);
    let report = text(&log_verify.stdout);
    assert!(report.contains(r#""check":"message","description""#), "{report}");
    assert!(report.contains(r#""status":"passed"}],"findings":[]"#), "the message check ran last and passed: {report}");
}
