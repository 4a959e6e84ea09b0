//! A partner for the tests: keys and JWS of every algorithm partners use
//! (SPEC.md §21.3), made by OpenSSL, with their public JWKs.

use std::path::Path;
use std::process::{Command, Output};

use evidentia::encoding::b64url;

use super::text;

pub(crate) fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
    out.stdout
}

pub(crate) fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
}

/// The contents of a DER TLV at the start of `der`, and what follows it.
pub(crate) fn tlv(der: &[u8]) -> (&[u8], &[u8]) {
    let (len, start) = match der[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(der[2]), 3),
        0x82 => (usize::from(der[2]) << 8 | usize::from(der[3]), 4),
        _ => panic!("unexpected DER length"),
    };
    (&der[start..start + len], &der[start + len..])
}

/// A DER ECDSA signature as JOSE's R ‖ S of `size` bytes each.
pub(crate) fn raw_ecdsa(der: &[u8], size: usize) -> Vec<u8> {
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
pub(crate) struct Algorithm {
    pub(crate) alg: &'static str,
    pub(crate) genpkey: &'static [&'static str],
    pub(crate) sign: &'static [&'static str],
    /// ECDSA: the size of R and S.
    pub(crate) ecdsa: Option<usize>,
}

pub(crate) const ALGORITHMS: &[Algorithm] = &[
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
pub(crate) fn public_jwk(dir: &Path, key: &str, alg: &Algorithm, kid: &str) -> String {
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

/// OpenSSL's signature over `input`, as JOSE writes it (ECDSA as R ‖ S).
pub(crate) fn openssl_sign(dir: &Path, key: &str, alg: &Algorithm, input: &[u8]) -> Vec<u8> {
    std::fs::write(dir.join("input"), input).unwrap();
    let args: Vec<&str> = if alg.sign[0] == "dgst" {
        [alg.sign, &["-sign", key, "-out", "signature", "input"]].concat()
    } else {
        vec!["pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", "input", "-out", "signature"]
    };
    openssl(dir, &args);
    let signature = std::fs::read(dir.join("signature")).unwrap();
    match alg.ecdsa {
        Some(size) => raw_ecdsa(&signature, size),
        None => signature,
    }
}

/// A compact JWS over `payload` signed by OpenSSL.
pub(crate) fn openssl_jws(dir: &Path, key: &str, alg: &Algorithm, kid: &str, payload: &[u8]) -> String {
    let input =
        format!("{}.{}", b64url(format!(r#"{{"alg":"{}","kid":"{kid}"}}"#, alg.alg).as_bytes()), b64url(payload));
    format!("{input}.{}", b64url(&openssl_sign(dir, key, alg, input.as_bytes())))
}
