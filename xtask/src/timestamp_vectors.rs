//! `testvectors/timestamps.json`: RFC 3161 responses of real authorities
//! (testvectors/external/rfc3161, Trail of Bits' rfc3161-client test data, Apache
//! 2.0) with the trust each is checked with and core's verdict, for every binding's
//! run (SPEC.md §20). core/tests/timestamp.rs holds core to OpenSSL's verdicts on
//! the same responses; each verdict is also asserted here, so that a change in
//! core's answer fails the generation instead of silently changing the file.

use std::path::Path;

use evidentia::encoding::hex;
use evidentia::json::Value;
use evidentia::timestamp::{TimestampRequest, TimestampTrust, certificate_to_pem, read_certificates, verify_timestamp};

const DESCRIPTION: &str = "RFC 3161 time-stamp responses from real authorities (SPEC.md §20), each verified for data_hex through the trusted root certificate in 'roots' (PEM), with the certificates in 'intermediates' (PEM, or null) that may complete the chain, and, when 'request_hex' is not null, as the answer to that request (same imprint and nonce). 'code' names the error expected (null when valid); 'result' is what a valid verification gives. 'requests' are made by each binding for data_hex with the hash named: the DER request holds the data's digest ('imprint_hex'); 'code' is the error for a hash that is not supported.";

struct Case {
    name: &'static str,
    response: &'static str,
    data: &'static [u8],
    chain: &'static str,
    request: Option<&'static str>,
    expected: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "IdenTrust, SHA-512",
        response: "identrust/issue-104.tsr",
        data: b"hello",
        chain: "identrust/ts_chain.pem",
        request: None,
        expected: None,
    },
    Case {
        name: "sigstore staging, SHA-256",
        response: "sigstage/response-sha256.tsr",
        data: b"hello",
        chain: "sigstage/ts_chain.pem",
        request: None,
        expected: None,
    },
    Case {
        name: "sigstore staging, SHA-384",
        response: "sigstage/response-sha384.tsr",
        data: b"hello",
        chain: "sigstage/ts_chain.pem",
        request: None,
        expected: None,
    },
    Case {
        name: "sigstore staging, no embedded certificate (the chain file completes it)",
        response: "sigstage/response-no-embedded-cert.tsr",
        data: b"hello",
        chain: "sigstage/ts_chain.pem",
        request: None,
        expected: None,
    },
    Case {
        name: "an OpenSSL test TSA, answering its request",
        response: "test_tsa/response.tsr",
        data: b"hello",
        chain: "test_tsa/ts_chain.pem",
        request: Some("test_tsa/request.der"),
        expected: None,
    },
    Case {
        name: "other data than the token's imprint",
        response: "sigstage/response-sha256.tsr",
        data: b"hello!",
        chain: "sigstage/ts_chain.pem",
        request: None,
        expected: Some("TIMESTAMP_MISMATCH"),
    },
    Case {
        name: "a response to another request (its nonce)",
        response: "test_tsa/response.tsr",
        data: b"hello",
        chain: "test_tsa/ts_chain.pem",
        request: Some("test_tsa/other_request.der"),
        expected: Some("TIMESTAMP_MISMATCH"),
    },
    Case {
        name: "a signature that does not verify",
        response: "sigstage/response-invalid-signature.tsr",
        data: b"hello",
        chain: "sigstage/ts_chain.pem",
        request: None,
        expected: Some("TIMESTAMP_SIGNATURE_INVALID"),
    },
    Case {
        name: "signed by an authority outside the trusted chain",
        response: "test_tsa/other_response.tsr",
        data: b"hello",
        chain: "test_tsa/ts_chain.pem",
        request: None,
        expected: Some("TIMESTAMP_UNTRUSTED"),
    },
    Case {
        name: "another authority's root trusted instead",
        response: "sigstage/response-sha256.tsr",
        data: b"hello",
        chain: "identrust/ts_chain.pem",
        request: None,
        expected: Some("TIMESTAMP_UNTRUSTED"),
    },
];

pub(crate) fn generate(root: &Path) -> Value {
    let folder = root.join("testvectors/external/rfc3161/trailofbits");
    let read = |name: &str| std::fs::read(folder.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut cases = Vec::new();
    for case in CASES {
        // The chain file: the TSA's certificate (and intermediates) first, the root last.
        let mut chain = read_certificates(&read(case.chain)).expect("a chain file");
        let root = chain.pop().expect("a root");
        let pem = |list: &[Vec<u8>]| list.iter().map(|c| certificate_to_pem(c)).collect::<String>();
        let trust = TimestampTrust { roots: vec![root.clone()], intermediates: chain.clone(), tsa_certificate: None };
        let response = read(case.response);
        let request = case.request.map(|name| TimestampRequest::parse(&read(name)).expect("a request"));
        let outcome = verify_timestamp(&response, case.data, request.as_ref(), &trust);
        let got = outcome.as_ref().err().map(|e| e.code().name());
        assert_eq!(got, case.expected, "timestamps.json case {:?}: {outcome:?}", case.name);
        cases.push(Value::object([
            ("name", Value::from(case.name)),
            ("response_hex", Value::from(hex(&response))),
            ("data_hex", Value::from(hex(case.data))),
            ("roots", Value::from(pem(&[root]))),
            ("intermediates", if chain.is_empty() { Value::Null } else { Value::from(pem(&chain)) }),
            ("request_hex", request.as_ref().map_or(Value::Null, |r| Value::from(hex(r.to_der())))),
            ("code", got.map_or(Value::Null, Value::from)),
            ("result", outcome.map_or(Value::Null, |verified| verified.to_value())),
        ]));
    }
    let requests = [("sha256", None), ("sha384", None), ("sha512", None), ("md5", Some("INVALID_ARGUMENT"))]
        .into_iter()
        .map(|(hash, code): (&str, Option<&str>)| {
            let imprint = evidentia::timestamp::HashAlgorithm::from_name(hash).map(|h| hex(&h.digest(b"hello")));
            Value::object([
                ("data_hex", Value::from(hex(b"hello"))),
                ("hash", Value::from(hash)),
                ("imprint_hex", imprint.map_or(Value::Null, Value::from)),
                ("code", code.map_or(Value::Null, Value::from)),
            ])
        })
        .collect();
    Value::object([
        ("description", Value::from(DESCRIPTION)),
        ("cases", Value::Array(cases)),
        ("requests", Value::Array(requests)),
    ])
}
