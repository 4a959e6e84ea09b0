//! `evidentia message`: a partner's JWS, signed here by OpenSSL with each algorithm
//! partners use, recorded in a log with its key snapshot and provenance, shown,
//! checked again, and verified with the log.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use evidentia::encoding::{b64url, b64url_decode};
use support::partner::{ALGORITHMS, assert_exit, openssl, openssl_jws, public_jwk};
use support::{Workdir, evidentia, text};

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
    let message = report.find(r#""check":"message""#).unwrap();
    assert!(report[message..].starts_with(r#""check":"message","description""#), "{report}");
    let status = &report[message..message + report[message..].find('}').unwrap()];
    assert!(status.ends_with(r#""status":"passed""#), "the message check passed: {report}");
    assert!(report.contains(r#""findings":[]"#), "{report}");
}
