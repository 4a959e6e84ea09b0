//! `evidentia timestamp`: requests answered by a real local TSA (`openssl ts -reply`,
//! P-256 and RSA keys, a throwaway CA), responses verified and attached, the same
//! verdicts as `openssl ts -verify`, and clear refusals of everything else.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use support::{LocalTsa, TsaKey, Workdir, evidentia, text};

fn make_log(dir: &Path) -> std::path::PathBuf {
    let log = dir.join("log");
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    let out = evidentia(dir, &["log", "init", "--key", "key.jwk", "--id", "example.com/ts", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for i in 0..3 {
        std::fs::write(dir.join("event.json"), format!("{{\"n\":{i}}}")).unwrap();
        assert!(evidentia(dir, &["log", "append", log.to_str().unwrap(), "event.json"]).status.success());
    }
    assert!(evidentia(dir, &["log", "checkpoint", log.to_str().unwrap()]).status.success());
    log
}

fn json(out: &std::process::Output) -> evidentia::json::Value {
    evidentia::json::parse(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

fn openssl_verifies(tsa: &LocalTsa, response: &Path, data: &Path) -> bool {
    let mut command = Command::new("openssl");
    command.args(["ts", "-verify", "-in"]).arg(response).arg("-data").arg(data).arg("-CAfile").arg(&tsa.root);
    if let Some(intermediate) = &tsa.intermediate {
        command.arg("-untrusted").arg(intermediate);
    }
    String::from_utf8_lossy(&command.output().unwrap().stdout).contains("Verification: OK")
}

#[test]
fn a_local_tsa_with_p256_and_rsa_keys_stamps_checkpoints() {
    let work = Workdir::new("timestamp-local");
    let dir = &work.0;
    let log = make_log(dir);
    let log_arg = log.to_str().unwrap();
    let p256 = LocalTsa::new(dir, "p256", TsaKey::P256, false, false);
    let rsa = LocalTsa::new(dir, "rsa", TsaKey::Rsa, true, true);
    let note = dir.join("checkpoint.txt");
    std::fs::write(&note, evidentia(dir, &["log", "checkpoint", log_arg]).stdout).unwrap();

    for (tsa, hash) in [(&p256, "sha256"), (&p256, "sha512"), (&rsa, "sha384"), (&rsa, "sha256")] {
        let request = dir.join(format!("{hash}.tsq"));
        let response = dir.join(format!("{hash}-{}.tsr", tsa.dir.file_name().unwrap().to_string_lossy()));
        let _ = std::fs::remove_file(&request);
        let out =
            evidentia(dir, &["timestamp", "request", log_arg, "--hash", hash, "--out", request.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        tsa.reply(&request, &response);
        assert!(openssl_verifies(tsa, &response, &note), "OpenSSL accepts the local TSA's answer");

        // Verified for the log's checkpoint and for the same bytes as a file, with the request.
        let trust = tsa.trust_args();
        let trust: Vec<&str> = trust.iter().map(String::as_str).collect();
        let mut args = vec!["--json", "timestamp", "verify", response.to_str().unwrap(), "--log", log_arg];
        args.extend(["--request", request.to_str().unwrap()]);
        args.extend(&trust);
        let out = evidentia(dir, &args);
        assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
        let report = json(&out);
        assert_eq!(report.get("hash").and_then(|v| v.as_str()), Some(hash));
        let chain_length = report.get("chain").and_then(|c| c.as_array()).map(|c| c.len());
        assert_eq!(chain_length, Some(if tsa.intermediate.is_some() { 3 } else { 2 }));
        let mut args = vec!["timestamp", "verify", response.to_str().unwrap(), "--data", note.to_str().unwrap()];
        args.extend(&trust);
        assert_eq!(evidentia(dir, &args).status.code(), Some(0));

        // Other data: exit 1, TIMESTAMP_MISMATCH, as OpenSSL refuses it too.
        let other = dir.join("other.txt");
        std::fs::write(&other, "not the checkpoint").unwrap();
        let mut args = vec!["timestamp", "verify", response.to_str().unwrap(), "--data", other.to_str().unwrap()];
        args.extend(&trust);
        let out = evidentia(dir, &args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("[TIMESTAMP_MISMATCH]"), "{}", text(&out.stderr));
        assert!(!openssl_verifies(tsa, &response, &other));

        // Attached: stored beside the checkpoint.
        let mut args = vec!["timestamp", "attach", log_arg, "--response", response.to_str().unwrap()];
        args.extend(["--request", request.to_str().unwrap()]);
        args.extend(&trust);
        let out = evidentia(dir, &args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(log.join("timestamps/3.stamp").is_file());
    }

    // The other authority's root does not make a token trusted.
    let response = dir.join("sha256-p256.tsr");
    let out = evidentia(
        dir,
        &["timestamp", "verify", response.to_str().unwrap(), "--log", log_arg, "--ca", rsa.root.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("[TIMESTAMP_UNTRUSTED]"), "{}", text(&out.stderr));

    // Pinning the TSA certificate: its own tokens pass, the other TSA's do not.
    let pinned = p256.dir.join("tsa.pem");
    let root = p256.root.to_str().unwrap();
    let verify_pinned = |response: &Path, ca: &str| {
        let args = [
            "timestamp",
            "verify",
            response.to_str().unwrap(),
            "--log",
            log_arg,
            "--ca",
            ca,
            "--tsa-cert",
            pinned.to_str().unwrap(),
        ];
        evidentia(dir, &args).status.code()
    };
    assert_eq!(verify_pinned(&response, root), Some(0));
    let rsa_response = dir.join("sha256-rsa.tsr");
    assert_eq!(verify_pinned(&rsa_response, rsa.root.to_str().unwrap()), Some(1));

    // A response to another request is refused by `attach --request`.
    let request = dir.join("fresh.tsq");
    assert!(evidentia(dir, &["timestamp", "request", log_arg, "--out", request.to_str().unwrap()]).status.success());
    let out = evidentia(
        dir,
        &[
            "timestamp",
            "attach",
            log_arg,
            "--response",
            response.to_str().unwrap(),
            "--request",
            request.to_str().unwrap(),
            "--ca",
            root,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("[TIMESTAMP_MISMATCH]"), "{}", text(&out.stderr));
}

#[test]
fn certificates_unfit_for_time_stamping_are_refused_as_openssl_refuses_them() {
    let work = Workdir::new("timestamp-unfit");
    let dir = &work.0;
    let log = make_log(dir);
    let log_arg = log.to_str().unwrap();
    let note = dir.join("checkpoint.txt");
    std::fs::write(&note, evidentia(dir, &["log", "checkpoint", log_arg]).stdout).unwrap();
    let eku = "extendedKeyUsage=critical,timeStamping\n";
    // (OpenSSL's TSA itself refuses to sign with a certificate whose key usage or
    // extended key usage is wrong, so those cases cannot be made with it.)
    let (name, extensions, reason) =
        ("unknown-critical", format!("1.3.6.1.4.1.55555.1=critical,ASN1:NULL\n{eku}"), "critical extension");
    let tsa = LocalTsa::with_tsa_extensions(dir, name, TsaKey::P256, false, false, &extensions);
    let request = dir.join(format!("{name}.tsq"));
    let response = dir.join(format!("{name}.tsr"));
    assert!(evidentia(dir, &["timestamp", "request", log_arg, "--out", request.to_str().unwrap()]).status.success());
    tsa.reply(&request, &response);
    assert!(!openssl_verifies(&tsa, &response, &note), "{name}: OpenSSL refuses it");
    let out = evidentia(
        dir,
        &["timestamp", "verify", response.to_str().unwrap(), "--log", log_arg, "--ca", tsa.root.to_str().unwrap()],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
    assert!(stderr.contains("[TIMESTAMP_UNTRUSTED]") && stderr.contains(reason), "{name}: {stderr}");
}

#[test]
fn a_refusal_from_the_tsa_is_reported_with_its_reason() {
    let work = Workdir::new("timestamp-refused");
    let dir = &work.0;
    let log = make_log(dir);
    let tsa = LocalTsa::new(dir, "p256", TsaKey::P256, false, false);
    // SHA-1 is not among the digests the authority accepts: it answers "rejection".
    std::fs::write(dir.join("data"), "x").unwrap();
    let out = Command::new("openssl")
        .args(["ts", "-query", "-data", "data", "-sha1", "-cert", "-out", "sha1.tsq"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let response = dir.join("refused.tsr");
    tsa.reply(&dir.join("sha1.tsq"), &response);
    let out = evidentia(
        dir,
        &[
            "timestamp",
            "attach",
            log.to_str().unwrap(),
            "--response",
            "refused.tsr",
            "--ca",
            tsa.root.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[TIMESTAMP_NOT_GRANTED]") && stderr.contains("rejection"), "{stderr}");
    assert!(!log.join("timestamps").exists());
}

#[test]
fn external_responses_verify_from_the_command_line() {
    let work = Workdir::new("timestamp-external");
    let dir = &work.0;
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testvectors/external/rfc3161/trailofbits");
    std::fs::write(dir.join("hello"), "hello").unwrap();
    let chain = std::fs::read_to_string(vectors.join("test_tsa/ts_chain.pem")).unwrap();
    let split = chain.rfind("-----BEGIN CERTIFICATE-----").unwrap();
    std::fs::write(dir.join("root.pem"), &chain[split..]).unwrap();
    std::fs::write(dir.join("chain.pem"), &chain[..split]).unwrap();
    let verify = |response: &str| {
        let response = vectors.join(response);
        evidentia(
            dir,
            &[
                "timestamp",
                "verify",
                response.to_str().unwrap(),
                "--data",
                "hello",
                "--ca",
                "root.pem",
                "--certs",
                "chain.pem",
            ],
        )
    };
    let out = verify("test_tsa/response.tsr");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("existed at 2024-10-08T15:40:32Z"), "{}", text(&out.stdout));
    let out = verify("sigstage/response-invalid-signature.tsr");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn garbage_is_refused_with_exit_2() {
    let work = Workdir::new("timestamp-garbage");
    let dir = &work.0;
    let log = make_log(dir);
    let log_arg = log.to_str().unwrap();
    std::fs::write(dir.join("garbage"), b"\x30\x80 not DER").unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    let tsa = LocalTsa::new(dir, "p256", TsaKey::P256, false, false);
    let root = tsa.root.to_str().unwrap();
    for args in [
        vec!["timestamp", "attach", log_arg, "--response", "garbage", "--ca", root],
        vec!["timestamp", "attach", log_arg, "--response", "empty", "--ca", root],
        vec!["timestamp", "attach", log_arg, "--response", "missing.tsr", "--ca", root],
        vec!["timestamp", "verify", "garbage", "--data", "empty", "--ca", root],
        vec!["timestamp", "verify", "garbage", "--data", "empty", "--ca", "garbage"],
        vec!["timestamp", "verify", "garbage", "--data", "empty", "--ca", "empty"],
        vec!["timestamp", "verify", "garbage", "--log", "missing-log", "--ca", root],
        vec!["timestamp", "attach", log_arg, "--response", "garbage", "--request", "garbage", "--ca", root],
        vec!["timestamp", "request", "missing-log", "--out", "x.tsq"],
        vec!["timestamp", "request", log_arg, "--size", "99", "--out", "x.tsq"],
        vec!["timestamp", "request", log_arg, "--hash", "md5", "--out", "x.tsq"],
        vec!["timestamp", "request", log_arg, "--out", "garbage"],
        vec!["timestamp", "request", "--data", "missing", "--out", "y.tsq"],
    ] {
        let out = evidentia(dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stderr).starts_with("error: ") || text(&out.stderr).contains("error:"), "{args:?}");
    }
}

#[test]
fn log_verify_checks_stored_timestamps_again_and_export_leaves_out_one_that_fails() {
    let work = Workdir::new("ts-reverify");
    let dir = &work.0;
    let log = make_log(dir);
    let tsa = LocalTsa::new(dir, "tsa", TsaKey::P256, true, false);
    tsa.stamp_log(dir, &log, "sha256");
    let verify = |dir: &Path| {
        let out = evidentia(dir, &["--json", "log", "verify", log.to_str().unwrap()]);
        let report = json(&out);
        let mut codes: Vec<String> = report
            .get("findings")
            .and_then(|c| c.as_array())
            .map(|findings| findings.iter().filter_map(|f| f.get("name")?.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        codes.dedup();
        (out.status.code(), codes)
    };
    let exported_stamp = |name: &str| {
        let package = dir.join(name);
        let out =
            evidentia(dir, &["export", log.to_str().unwrap(), "--index", "1", "--out", package.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        package.join("timestamp.tst").is_file()
    };
    assert_eq!(verify(dir), (Some(0), vec![]));

    // One file holds the chain and the response.
    let stamps = log.join("timestamps");
    let stamp = std::fs::read_to_string(stamps.join("3.stamp")).unwrap();
    assert!(!stamps.join("3.tsr").exists() && !stamps.join("3.pem").exists());
    let (chain, block) = stamp.split_once("-----BEGIN TIME-STAMP RESPONSE-----\n").unwrap();
    let body: String =
        block.trim_end().strip_suffix("-----END TIME-STAMP RESPONSE-----").unwrap().split_whitespace().collect();
    let original = evidentia::encoding::b64_decode(&body).unwrap();

    // A log written before keeps the response and its chain in two files: read alike.
    let (response, chain_file) = (stamps.join("3.tsr"), stamps.join("3.pem"));
    std::fs::remove_file(stamps.join("3.stamp")).unwrap();
    std::fs::write(&response, &original).unwrap();
    std::fs::write(&chain_file, chain).unwrap();
    assert_eq!(verify(dir), (Some(0), vec![]));
    assert!(exported_stamp("package-legacy"));

    // The token's signature, changed: no longer the authority's. The package is
    // still made, without it.
    let mut changed = original.clone();
    let last = changed.len() - 1;
    changed[last] ^= 0x01;
    std::fs::write(&response, &changed).unwrap();
    assert_eq!(verify(dir), (Some(1), vec!["TIMESTAMP_SIGNATURE_INVALID".to_owned()]));
    assert!(!exported_stamp("package-changed"));
    // Another checkpoint's token: it does not cover this checkpoint.
    let other = dir.join("other");
    std::fs::create_dir(&other).unwrap();
    let other_log = make_log(&other);
    for file in ["sha256.tsq", "sha256.tsr"] {
        std::fs::remove_file(tsa.dir.join(file)).unwrap();
    }
    tsa.stamp_log(&other, &other_log, "sha256");
    let other_stamp = std::fs::read(other_log.join("timestamps/3.stamp")).unwrap();
    let (_, other_block) = std::str::from_utf8(&other_stamp).unwrap().split_once("RESPONSE-----\n").unwrap();
    let other_body: String =
        other_block.trim_end().strip_suffix("-----END TIME-STAMP RESPONSE-----").unwrap().split_whitespace().collect();
    std::fs::write(&response, evidentia::encoding::b64_decode(&other_body).unwrap()).unwrap();
    assert_eq!(verify(dir), (Some(1), vec!["TIMESTAMP_MISMATCH".to_owned()]));
    // The chain stored with it, damaged, or leading to another root.
    std::fs::write(&response, &original).unwrap();
    std::fs::write(&chain_file, "not a certificate").unwrap();
    assert_eq!(verify(dir), (Some(1), vec!["TIMESTAMP_MALFORMED".to_owned()]));
    let stranger = LocalTsa::new(dir, "stranger", TsaKey::P256, false, false);
    std::fs::copy(&stranger.root, &chain_file).unwrap();
    assert_eq!(verify(dir), (Some(1), vec!["TIMESTAMP_UNTRUSTED".to_owned()]));
    // A .stamp is read before the two files: the other log's, here.
    std::fs::write(stamps.join("3.stamp"), &other_stamp).unwrap();
    assert_eq!(verify(dir), (Some(1), vec!["TIMESTAMP_MISMATCH".to_owned()]));
    std::fs::write(stamps.join("3.stamp"), &stamp).unwrap();
    assert_eq!(verify(dir), (Some(0), vec![]));
    assert!(exported_stamp("package-restored"));
}
