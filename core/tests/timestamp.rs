//! RFC 3161: real responses from real authorities (testvectors/external/rfc3161) get
//! the same verdict from Evidentia as from `openssl ts -verify` at each token's own
//! time, and every byte of a token matters.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use evidentia::ErrorCode;
use evidentia::timestamp::{
    HashAlgorithm, TimestampRequest, TimestampTrust, certificate_to_pem, read_certificates, read_timestamp_token,
    timestamp_token, verify_timestamp, verify_timestamp_token,
};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testvectors/external/rfc3161/trailofbits")
}

struct Case {
    response: &'static str,
    data: Vec<u8>,
    /// The chain file: leaf (and intermediates) first, root last; one DER root for identrust.
    chain: &'static str,
}

fn cases() -> Vec<Case> {
    let hello = b"hello".to_vec();
    let payload = std::fs::read(vectors().join("sigstore.mock/payload")).unwrap();
    let mut list = Vec::new();
    for response in [
        "identrust/issue-104.tsr",
        "sigstage/response-sha256.tsr",
        "sigstage/response-sha384.tsr",
        "sigstage/response-sha512.tsr",
        "sigstage/response-no-embedded-cert.tsr",
        "sigstage/response-invalid-signature.tsr",
        "sigstore.mock/response-expired.tsr",
        "test_tsa/response.tsr",
        "test_tsa/other_response.tsr",
        "test_tsa/response-injected-certs.tsr",
    ] {
        let folder = response.split('/').next().unwrap();
        let data = if folder == "sigstore.mock" { payload.clone() } else { hello.clone() };
        let chain = match folder {
            "identrust" => "identrust/ts_chain.pem",
            "sigstage" => "sigstage/ts_chain.pem",
            "sigstore.mock" => "sigstore.mock/ts_chain.pem",
            _ => "test_tsa/ts_chain.pem",
        };
        list.push(Case { response, data, chain });
    }
    list
}

fn trust_for(chain: &str) -> TimestampTrust {
    let mut certificates = read_certificates(&std::fs::read(vectors().join(chain)).unwrap()).unwrap();
    let root = certificates.pop().unwrap();
    TimestampTrust { roots: vec![root], intermediates: certificates, tsa_certificate: None }
}

/// `openssl ts -verify` at the token's time; true when it prints "Verification: OK".
fn openssl_verdict(case: &Case, trust: &TimestampTrust, gen_time: i64, dir: &Path) -> bool {
    let data = dir.join("data");
    let root = dir.join("root.pem");
    std::fs::write(&data, &case.data).unwrap();
    std::fs::write(&root, certificate_to_pem(&trust.roots[0])).unwrap();
    let mut command = Command::new("openssl");
    command.args(["ts", "-verify", "-data"]).arg(&data).arg("-in").arg(vectors().join(case.response));
    command.arg("-CAfile").arg(&root).args(["-attime", &gen_time.to_string()]);
    if !trust.intermediates.is_empty() {
        let untrusted = dir.join("untrusted.pem");
        let pem: String = trust.intermediates.iter().map(|c| certificate_to_pem(c)).collect();
        std::fs::write(&untrusted, pem).unwrap();
        command.arg("-untrusted").arg(&untrusted);
    }
    let output = command.output().expect("openssl runs (cargo xtask test installs it)");
    String::from_utf8_lossy(&output.stdout).contains("Verification: OK")
}

#[test]
fn external_responses_get_openssl_verdicts() {
    let dir = std::env::temp_dir().join(format!("evidentia-tsa-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut valid = 0;
    for case in cases() {
        let response = std::fs::read(vectors().join(case.response)).unwrap();
        let trust = trust_for(case.chain);
        let gen_time = match timestamp_token(&response) {
            Ok(token) => read_timestamp_token(&token).unwrap().gen_time,
            Err(e) => panic!("{}: {e}", case.response),
        };
        let ours = verify_timestamp(&response, &case.data, None, &trust);
        let theirs = openssl_verdict(&case, &trust, gen_time.unix_seconds(), &dir);
        assert_eq!(ours.is_ok(), theirs, "{}: Evidentia {ours:?}, OpenSSL valid = {theirs}", case.response);
        match case.response {
            "sigstage/response-invalid-signature.tsr" => {
                assert_eq!(ours.unwrap_err().code(), ErrorCode::TimestampSignatureInvalid);
            }
            // Signed by a TSA whose chain is not in ts_chain.pem: neither verifier finds a path.
            "test_tsa/other_response.tsr" => assert_eq!(ours.unwrap_err().code(), ErrorCode::TimestampUntrusted),
            _ => {
                let verified = ours.unwrap();
                assert_eq!(verified.gen_time, gen_time);
                // The bare token verifies the same way.
                let token = timestamp_token(&response).unwrap();
                assert_eq!(verify_timestamp_token(&token, &case.data, &trust).unwrap(), verified);
                assert_eq!(verified.chain.len(), verified.chain_der.len());
                valid += 1;
            }
        }
        // Other data never verifies.
        let err = verify_timestamp(&response, b"something else", None, &trust).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TimestampMismatch, "{}", case.response);
    }
    assert_eq!(valid, 8);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn algorithms_and_times_are_those_of_each_token() {
    let expect = [
        (
            "identrust/issue-104.tsr",
            HashAlgorithm::Sha512,
            "2025-03-11T08:52:08Z",
            "C=US, O=IdenTrust, CN=TrustID Timestamp Authority",
        ),
        (
            "sigstage/response-sha384.tsr",
            HashAlgorithm::Sha384,
            "2025-05-09T11:58:55Z",
            "O=sigstore.dev, CN=sigstore-tsa",
        ),
        (
            "sigstore.mock/response-expired.tsr",
            HashAlgorithm::Sha256,
            "2023-02-01T00:00:00Z",
            "CN=tsa signing, O=sigstore.mock",
        ),
        ("test_tsa/response.tsr", HashAlgorithm::Sha512, "2024-10-08T15:40:32Z", "O=local, CN=Test TSA Timestamping"),
    ];
    for (response, hash, time, tsa) in expect {
        let case = cases().into_iter().find(|c| c.response == response).unwrap();
        let verified = verify_timestamp(
            &std::fs::read(vectors().join(response)).unwrap(),
            &case.data,
            None,
            &trust_for(case.chain),
        )
        .unwrap();
        assert_eq!((verified.hash, verified.gen_time.to_string().as_str(), verified.tsa.as_str()), (hash, time, tsa));
    }
}

#[test]
fn the_response_answers_its_request() {
    let response = std::fs::read(vectors().join("test_tsa/response.tsr")).unwrap();
    let request = TimestampRequest::parse(&std::fs::read(vectors().join("test_tsa/request.der")).unwrap()).unwrap();
    let other = TimestampRequest::parse(&std::fs::read(vectors().join("test_tsa/other_request.der")).unwrap()).unwrap();
    let trust = trust_for("test_tsa/ts_chain.pem");
    verify_timestamp(&response, b"hello", Some(&request), &trust).unwrap();
    let err = verify_timestamp(&response, b"hello", Some(&other), &trust).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TimestampMismatch, "{err}");
    let fresh = TimestampRequest::new(b"hello", HashAlgorithm::Sha512, [1; 8]);
    let err = verify_timestamp(&response, b"hello", Some(&fresh), &trust).unwrap_err();
    assert!(err.to_string().contains("nonce"), "{err}");
}

#[test]
fn expired_certificates_are_judged_at_the_tokens_time_not_today() {
    // sigstore.mock's certificates expired on 2024-01-01; the token is from 2023.
    let case = cases().into_iter().find(|c| c.response.starts_with("sigstore.mock")).unwrap();
    let response = std::fs::read(vectors().join(case.response)).unwrap();
    verify_timestamp(&response, &case.data, None, &trust_for(case.chain)).unwrap();
}

#[test]
fn pinning_the_tsa_rejects_injected_certificates() {
    let trust = trust_for("test_tsa/ts_chain.pem");
    let leaf = trust.intermediates[0].clone();
    let pinned = TimestampTrust { tsa_certificate: Some(leaf), ..trust.clone() };
    let injected = std::fs::read(vectors().join("test_tsa/response-injected-certs.tsr")).unwrap();
    let clean = std::fs::read(vectors().join("test_tsa/response.tsr")).unwrap();
    // Cryptographically valid, so OpenSSL and an unpinned check accept it ...
    verify_timestamp(&injected, b"hello", None, &trust).unwrap();
    verify_timestamp(&clean, b"hello", None, &pinned).unwrap();
    // ... but with the TSA pinned, certificates outside its chain are refused.
    let err = verify_timestamp(&injected, b"hello", None, &pinned).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TimestampUntrusted);
    assert!(err.to_string().contains("CN=Spoofed TSA"), "{err}");
    // Pinning another certificate refuses the real one.
    let wrong = TimestampTrust { tsa_certificate: Some(trust.intermediates[1].clone()), ..trust };
    assert_eq!(verify_timestamp(&clean, b"hello", None, &wrong).unwrap_err().code(), ErrorCode::TimestampUntrusted);
}

#[test]
fn a_token_without_its_certificate_needs_it_given() {
    let response = std::fs::read(vectors().join("sigstage/response-no-embedded-cert.tsr")).unwrap();
    let trust = trust_for("sigstage/ts_chain.pem");
    verify_timestamp(&response, b"hello", None, &trust).unwrap();
    let roots_only = TimestampTrust { intermediates: vec![], ..trust };
    let err = verify_timestamp(&response, b"hello", None, &roots_only).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TimestampUntrusted, "{err}");
}

#[test]
fn the_wrong_root_is_not_trusted() {
    let response = std::fs::read(vectors().join("test_tsa/response.tsr")).unwrap();
    let other_root = trust_for("sigstage/ts_chain.pem").roots;
    let trust = TimestampTrust { roots: other_root, ..trust_for("test_tsa/ts_chain.pem") };
    let err = verify_timestamp(&response, b"hello", None, &trust).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TimestampUntrusted, "{err}");
    let none = TimestampTrust::default();
    assert_eq!(verify_timestamp(&response, b"hello", None, &none).unwrap_err().code(), ErrorCode::TimestampUntrusted);
}

#[test]
fn every_byte_of_a_token_matters() {
    // Flip one bit at every position of real responses. Each change is refused with
    // a code (never accepted, never a panic) except one: the status byte, where
    // granted (0) and grantedWithMods (1) both mean granted and nothing signs it.
    // The trust holds only the root and intermediates, so the token's embedded TSA
    // certificate is the one that must be used.
    for (response, chain) in
        [("test_tsa/response.tsr", "test_tsa/ts_chain.pem"), ("identrust/issue-104.tsr", "identrust/ts_chain.pem")]
    {
        let bytes = std::fs::read(vectors().join(response)).unwrap();
        let mut trust = trust_for(chain);
        let embedded = read_timestamp_token(&timestamp_token(&bytes).unwrap()).unwrap().certificates;
        trust.intermediates.retain(|c| !embedded.contains(c));
        verify_timestamp(&bytes, b"hello", None, &trust).unwrap();
        let status_byte = bytes.windows(4).position(|w| w == [0x30, 0x03, 0x02, 0x01]).unwrap() + 4;
        let mut accepted = Vec::new();
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            if verify_timestamp(&changed, b"hello", None, &trust).is_ok() {
                accepted.push(i);
            }
        }
        assert_eq!(accepted, [status_byte], "{response}: changes accepted at {accepted:?}");
    }
}
