//! Keys in a real PKCS#11 token: SoftHSM2.
//!
//! Skipped (with a notice) when SoftHSM2 is not installed, unless
//! `EVIDENTIA_REQUIRE_SOFTHSM` is set (as `cargo xtask test` does), in which case
//! its absence fails the tests.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cryptoki::context::Pkcs11;
use evidentia::{
    ChainState, Checkpoint, ErrorCode, KeySet, NoteVerifier, Signer, Timestamp, issue_receipt, sign_checkpoint,
    verify_checkpoint, verify_receipt,
};
use evidentia_pkcs11::{Pkcs11Signer, Pkcs11Uri, generate_key};

const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "24681357";

struct Hsm {
    module: String,
    dir: PathBuf,
}

impl Hsm {
    fn uri(&self, token: &str, key: &str) -> String {
        format!("pkcs11:token={token};object={key}?module-path={}&pin-value={PIN}", self.module)
    }

    fn token_dir(&self, label: &str) -> Option<PathBuf> {
        // SoftHSM2 names a token's folder by its UUID; the label is in token.object.
        std::fs::read_dir(self.dir.join("tokens")).ok()?.flatten().map(|e| e.path()).find(|p| {
            std::fs::read(p.join("token.object")).is_ok_and(|b| b.windows(label.len()).any(|w| w == label.as_bytes()))
        })
    }
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// One token directory for this test binary, made once: the module reads
/// SOFTHSM2_CONF when it is first initialized, and stays initialized.
fn hsm() -> Option<&'static Hsm> {
    static HSM: OnceLock<Option<Hsm>> = OnceLock::new();
    HSM.get_or_init(|| {
        let module = std::env::var("EVIDENTIA_PKCS11_MODULE").unwrap_or_else(|_| DEFAULT_MODULE.to_owned());
        if !Path::new(&module).exists() {
            assert!(
                std::env::var_os("EVIDENTIA_REQUIRE_SOFTHSM").is_none(),
                "EVIDENTIA_REQUIRE_SOFTHSM is set but {module} is missing (apt-get install softhsm2 opensc)"
            );
            eprintln!("SKIPPED: SoftHSM2 is not installed ({module} is missing)");
            return None;
        }
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale(base);
        let dir = base.join(format!("softhsm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        set_conf(&conf);
        for label in ["main", "pins", "doomed", "fresh"] {
            run("softhsm2-util", &["--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "975312"]);
        }
        let tool = |token: &str, args: &[&str]| {
            let mut all = vec!["--module", &module, "--token-label", token, "--login", "--pin", PIN];
            all.extend_from_slice(args);
            run("pkcs11-tool", &all);
        };
        tool("main", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "evkey", "--id", "01"]);
        tool("main", &["--keypairgen", "--key-type", "EC:secp384r1", "--label", "p384", "--id", "02"]);
        tool("main", &["--keypairgen", "--key-type", "rsa:2048", "--label", "rsa", "--id", "03"]);
        tool("main", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "twin", "--id", "04"]);
        tool("main", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "twin", "--id", "05"]);
        tool("main", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "lonely", "--id", "06"]);
        tool("main", &["--delete-object", "--type", "pubkey", "--id", "06"]);
        // "orphan" (id 07) lost its public key object; "stray", another key pair,
        // has the same id 07.
        tool("main", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "orphan", "--id", "07"]);
        tool("main", &["--delete-object", "--type", "pubkey", "--id", "07"]);
        tool("main", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "stray", "--id", "07"]);
        // "mixed" (id 08) lost its public key object; the public key object of another
        // "mixed" key pair (id 09) was given the id 08: same id and label, another key.
        tool("main", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "mixed", "--id", "08"]);
        tool("main", &["--delete-object", "--type", "pubkey", "--id", "08"]);
        tool("main", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "mixed", "--id", "09"]);
        tool("main", &["--type", "pubkey", "--id", "09", "--set-id", "08"]);
        tool("pins", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "evkey", "--id", "01"]);
        tool("doomed", &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "evkey", "--id", "01"]);
        Some(Hsm { module, dir })
    })
    .as_ref()
}

/// SoftHSM2 reads SOFTHSM2_CONF when the module is initialized; so do the tools.
fn set_conf(conf: &Path) {
    // SAFETY: called once from the fixture before the module is loaded; tests that
    // read the environment concurrently only read this same value.
    unsafe { std::env::set_var("SOFTHSM2_CONF", conf) };
}

/// Removes the token folders of earlier runs whose process is gone.
fn remove_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("softhsm-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

macro_rules! hsm_or_skip {
    () => {
        match hsm() {
            Some(hsm) => hsm,
            None => return,
        }
    };
}

/// A signature of the token, checked against the signer's public key.
fn checked(signer: &Pkcs11Signer, message: &[u8]) -> evidentia::Result<[u8; 64]> {
    let signature = signer.sign_message(message)?;
    signer.public_key().normalize_signature(message, &signature)
}

fn code<T: std::fmt::Debug>(result: evidentia::Result<T>) -> ErrorCode {
    result.expect_err("an error").code()
}

#[test]
fn receipts_and_checkpoints_signed_in_the_token_verify() {
    let hsm = hsm_or_skip!();
    let signer = Pkcs11Signer::open(&hsm.uri("main", "evkey")).unwrap();
    let keys = KeySet::single(signer.public_key());
    let mut state = ChainState::new("example.com/token-log").unwrap();
    let time = Timestamp::parse("2026-01-02T03:04:05Z").unwrap();
    for n in 0..3 {
        let event = format!("{{\"n\":{n}}}");
        let issued = issue_receipt(&signer, &mut state, event.as_bytes(), time, None).unwrap();
        let report = verify_receipt(issued.receipt.as_str(), &keys, Some(&issued.event)).unwrap();
        assert!(report.is_valid(), "{report:?}");
    }
    let checkpoint =
        Checkpoint { origin: "example.com/token-log".into(), size: 3, root: [7u8; 32], extensions: Vec::new() };
    let note = sign_checkpoint(&checkpoint, &signer).unwrap();
    let verifier = NoteVerifier::new("example.com/token-log", signer.public_key()).unwrap();
    let (read, _) = verify_checkpoint(&note, &[verifier]).unwrap();
    assert_eq!(read.size, 3);
    // Random nonces: the token's signatures differ, and both verify.
    assert!(!signer.is_deterministic());
    assert_ne!(signer.sign_message(b"m").unwrap(), signer.sign_message(b"m").unwrap());
}

#[test]
fn a_signer_is_shared_by_threads() {
    let hsm = hsm_or_skip!();
    let signer = Pkcs11Signer::open(&hsm.uri("main", "evkey")).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let signer = &signer;
            s.spawn(move || {
                for i in 0..10u8 {
                    checked(signer, &[t, i]).unwrap();
                }
            });
        }
    });
}

#[test]
fn the_key_is_found_by_id_too() {
    let hsm = hsm_or_skip!();
    let by_label = Pkcs11Signer::open(&hsm.uri("main", "evkey")).unwrap();
    let uri = format!("pkcs11:token=main;id=%01?module-path={}&pin-value={PIN}", hsm.module);
    let by_id = Pkcs11Signer::open(&uri).unwrap();
    assert_eq!(by_label.public_key().kid(), by_id.public_key().kid());
}

#[test]
fn keygen_makes_a_sensitive_key_that_never_leaves_the_token() {
    let hsm = hsm_or_skip!();
    // A token of its own: SoftHSM2 may answer CKR_GENERAL_ERROR to a key generation
    // while other sessions use the same token's files.
    let uri = format!("pkcs11:token=fresh;object=generated;id=%10?module-path={}&pin-value={PIN}", hsm.module);
    let public = generate_key(&uri).unwrap();
    let signer = Pkcs11Signer::open(&uri).unwrap();
    assert_eq!(signer.public_key().kid(), public.kid());
    checked(&signer, b"hello").unwrap();
    // Read the private key's attributes with cryptoki directly.
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;
    let module = Pkcs11::new(&hsm.module).unwrap();
    let _ =
        module.initialize(cryptoki::context::CInitializeArgs::new(cryptoki::context::CInitializeFlags::OS_LOCKING_OK));
    let slot = module
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        // Another test deletes the token "doomed": its slot answers CKR_GENERAL_ERROR.
        .find(|s| module.get_token_info(*s).is_ok_and(|i| i.label() == "fresh"))
        .unwrap();
    let session = module.open_ro_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::from(PIN)))
        .or_else(|e| match e {
            cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _) => Ok(()),
            e => Err(e),
        })
        .unwrap();
    let keys = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(b"generated".to_vec())])
        .unwrap();
    assert_eq!(keys.len(), 1);
    let attributes = session
        .get_attributes(
            keys[0],
            &[AttributeType::Extractable, AttributeType::Sensitive, AttributeType::Token, AttributeType::Value],
        )
        .unwrap();
    assert!(attributes.contains(&Attribute::Extractable(false)), "{attributes:?}");
    assert!(attributes.contains(&Attribute::Sensitive(true)), "{attributes:?}");
    assert!(attributes.contains(&Attribute::Token(true)), "{attributes:?}");
    assert!(!attributes.iter().any(|a| matches!(a, Attribute::Value(_))), "the private value is readable");
    // A second key of the same label or id is refused: a key is never replaced.
    assert_eq!(code(generate_key(&uri)), ErrorCode::KeyUriInvalid);
    let same_id = format!("pkcs11:token=fresh;object=other;id=%10?module-path={}&pin-value={PIN}", hsm.module);
    assert_eq!(code(generate_key(&same_id)), ErrorCode::KeyUriInvalid);
}

#[test]
fn a_wrong_pin_is_a_login_failure_and_is_never_shown() {
    let hsm = hsm_or_skip!();
    let uri = format!("pkcs11:token=pins;object=evkey?module-path={}&pin-value=99999999", hsm.module);
    let error = Pkcs11Signer::open(&uri).unwrap_err();
    assert_eq!(error.code(), ErrorCode::TokenLoginFailed);
    assert!(!error.message().contains("99999999"), "{error:?}");
    // The right PIN from a file, with its trailing newline.
    let pin_file = hsm.dir.join("pin.txt");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let uri =
        format!("pkcs11:token=pins;object=evkey?module-path={}&pin-source=file://{}", hsm.module, pin_file.display());
    Pkcs11Signer::open(&uri).unwrap();
    let plain = format!("pkcs11:token=pins;object=evkey?module-path={}&pin-source={}", hsm.module, pin_file.display());
    let open = Pkcs11Signer::open(&plain).unwrap();
    // While a signer keeps the token logged in, PKCS#11 does not look at a PIN given
    // to C_Login: a wrong one must still be refused, the right one still accepted.
    let wrong = format!("pkcs11:token=pins;object=evkey?module-path={}&pin-value=99999999", hsm.module);
    let error = Pkcs11Signer::open(&wrong).unwrap_err();
    assert_eq!(error.code(), ErrorCode::TokenLoginFailed, "{error:?}");
    assert!(!error.message().contains("99999999"), "{error:?}");
    Pkcs11Signer::open(&plain).unwrap();
    drop(open);
    let no_pin = format!("pkcs11:token=pins;object=evkey?module-path={}", hsm.module);
    assert_eq!(code(Pkcs11Signer::open(&no_pin)), ErrorCode::TokenLoginFailed);
    let missing = format!("pkcs11:token=pins;object=evkey?module-path={}&pin-source=/nonexistent/pin", hsm.module);
    assert_eq!(code(Pkcs11Signer::open(&missing)), ErrorCode::KeyUriInvalid);
}

#[test]
fn missing_keys_and_tokens() {
    let hsm = hsm_or_skip!();
    assert_eq!(code(Pkcs11Signer::open(&hsm.uri("main", "nothing"))), ErrorCode::TokenKeyNotFound);
    // Two keys share the label "twin": ambiguous.
    assert_eq!(code(Pkcs11Signer::open(&hsm.uri("main", "twin"))), ErrorCode::TokenKeyNotFound);
    let twin = format!("pkcs11:token=main;object=twin;id=%05?module-path={}&pin-value={PIN}", hsm.module);
    Pkcs11Signer::open(&twin).unwrap();
    assert_eq!(code(Pkcs11Signer::open(&hsm.uri("absent", "evkey"))), ErrorCode::TokenNotFound);
    let no_module = format!("pkcs11:token=main;object=evkey?module-path=/nonexistent/libnothing.so&pin-value={PIN}");
    assert_eq!(code(Pkcs11Signer::open(&no_module)), ErrorCode::TokenNotFound);
}

#[test]
fn keys_other_than_p256_are_unsupported() {
    let hsm = hsm_or_skip!();
    assert_eq!(code(Pkcs11Signer::open(&hsm.uri("main", "p384"))), ErrorCode::KeyUnsupported);
    assert_eq!(code(Pkcs11Signer::open(&hsm.uri("main", "rsa"))), ErrorCode::KeyUnsupported);
}

#[test]
fn a_removed_token_is_not_found() {
    let hsm = hsm_or_skip!();
    let signer = Pkcs11Signer::open(&hsm.uri("doomed", "evkey")).unwrap();
    checked(&signer, b"before").unwrap();
    let dir = hsm.token_dir("doomed").expect("the token's folder");
    std::fs::remove_dir_all(&dir).unwrap();
    let error = checked(&signer, b"after").unwrap_err();
    eprintln!("signing after removal: {error:?}");
    assert_eq!(error.code(), ErrorCode::TokenNotFound, "{error:?}");
    let error = Pkcs11Signer::open(&hsm.uri("doomed", "evkey")).unwrap_err();
    eprintln!("opening after removal: {error:?}");
    assert_eq!(error.code(), ErrorCode::TokenNotFound, "{error:?}");
}

#[test]
fn malformed_uris() {
    for uri in [
        "pkcs12:token=a;object=b",
        "token=a;object=b",
        "pkcs11:token=a",
        "pkcs11:token=a;object=b;object=c",
        "pkcs11:token=a;object=b%zz",
        "pkcs11:token=a;object=b%4",
        "pkcs11:token=a;objet=b",
        "pkcs11:token=a;object=b;slot-id=x",
        "pkcs11:token=a;object=b;type=public",
        "pkcs11:token=a;object=b;type=nonsense",
        "pkcs11:token=a;object",
        "pkcs11:token=a;=b;object=c",
        "pkcs11:token=a;object=b?pin-value=1&pin-source=/x",
        "pkcs11:token=a;object=b?module-path=",
        "pkcs11:token=a;object=b?token=c",
        "pkcs11:token=a;object=b;pin-value=1",
        "pkcs11:token=a;object=b?module-name=/usr/lib/x.so",
        "pkcs11:token=a;object=b#frag",
        "pkcs11:token=a;object=%ff",
    ] {
        let error = Pkcs11Uri::parse(uri).expect_err(uri);
        assert_eq!(error.code(), ErrorCode::KeyUriInvalid, "{uri}: {error:?}");
        assert_eq!(Pkcs11Signer::open(uri).unwrap_err().code(), ErrorCode::KeyUriInvalid, "{uri}");
    }
}

#[test]
fn uris_parse_and_store_without_the_pin() {
    let uri = Pkcs11Uri::parse(
        "pkcs11:token=My%20Token;object=log%2Dkey;id=%01%02;type=private;x-vendor=1?pin-source=file:/etc/pin&module-path=/m.so",
    )
    .unwrap();
    assert_eq!(uri.token(), Some("My Token"));
    assert_eq!(uri.object(), Some("log-key"));
    assert_eq!(uri.id(), Some(&[1u8, 2][..]));
    assert_eq!(
        uri.to_storable().unwrap(),
        "pkcs11:token=My%20Token;object=log%2Dkey;id=%01%02;type=private;x-vendor=1?pin-source=file:/etc/pin&module-path=/m.so"
    );
    let secret = Pkcs11Uri::parse("pkcs11:object=k?pin-value=s3cr3t-pin").unwrap();
    assert!(secret.has_pin_value());
    let error = secret.to_storable().unwrap_err();
    assert_eq!(error.code(), ErrorCode::KeyUriInvalid);
    assert!(!error.message().contains("s3cr3t"));
    assert!(!format!("{secret:?}").contains("s3cr3t"));
}

#[test]
fn a_private_key_without_its_public_key() {
    let hsm = hsm_or_skip!();
    let result = Pkcs11Signer::open(&hsm.uri("main", "lonely"));
    eprintln!("a private key alone: {result:?}");
    assert_eq!(code(result), ErrorCode::TokenKeyNotFound);
}

#[test]
fn a_pin_in_a_malformed_uri_is_never_shown() {
    for (uri, shown) in [
        ("pkcs11:token=rv;object=k1?pin-value 1234&module-path=/m.so", "the 3rd attribute"),
        ("pkcs11:token=rv;object=k1?pin-value:1234", "the 3rd attribute"),
        ("pkcs11:token=rv;object=k1?1234", "the 3rd attribute"),
        ("pkcs11:token=rv;object=k1;1234", "the 3rd attribute"),
        ("pkcs11:token=rv;object=k1?pin-value1234=x", "the 3rd attribute"),
        ("pkcs11:token=rv;object=k1?pin-value%201234=x", "the 3rd attribute"),
        ("pkcs11:token=rv;object=k1?1234=x", "the 3rd attribute"),
        ("pkcs11:token=rv;object=k1?pin-source 1234", "\"pin-source\""),
        ("pkcs11:token=rv;object=k1;pin-value=1234", "pin-value"),
        ("pkcs11:token=rv;object=k1?pin-value=%zz1234", "pin-value"),
        ("pkcs11:token=rv;object=k1?pin-value=1234&pin-value=1234", "pin-value"),
    ] {
        let error = Pkcs11Uri::parse(uri).expect_err(uri);
        assert_eq!(error.code(), ErrorCode::KeyUriInvalid, "{uri}: {error:?}");
        assert!(!error.message().contains("1234"), "{uri}: {}", error.message());
        assert!(error.message().contains(shown), "{uri}: {}", error.message());
    }
    // A plain misspelt name is still shown, to help.
    let error = Pkcs11Uri::parse("pkcs11:token=a;objet=b").unwrap_err();
    assert!(error.message().contains("\"objet\""), "{}", error.message());
}

#[test]
fn a_pin_file_is_read_up_to_4_kib() {
    let hsm = hsm_or_skip!();
    let uri = |source: &str| format!("pkcs11:token=pins;object=evkey?module-path={}&pin-source={source}", hsm.module);
    let error = Pkcs11Signer::open(&uri("/dev/zero")).unwrap_err();
    assert_eq!(error.code(), ErrorCode::KeyUriInvalid, "{error:?}");
    assert!(error.message().contains("larger than 4096 bytes"), "{error:?}");
    let big = hsm.dir.join("big-pin.txt");
    std::fs::write(&big, vec![b'1'; 5 * 1024]).unwrap();
    let error = Pkcs11Signer::open(&uri(&big.display().to_string())).unwrap_err();
    assert_eq!(error.code(), ErrorCode::KeyUriInvalid, "{error:?}");
    assert!(error.message().contains("larger than"), "{error:?}");
    // A PIN file of exactly 4096 bytes is read (and the PIN is wrong).
    let full = hsm.dir.join("full-pin.txt");
    std::fs::write(&full, vec![b'1'; 4096]).unwrap();
    assert_ne!(code(Pkcs11Signer::open(&uri(&full.display().to_string()))), ErrorCode::KeyUriInvalid);
}

#[test]
fn a_public_key_object_of_another_key_is_refused() {
    let hsm = hsm_or_skip!();
    let orphan = Pkcs11Signer::open(&hsm.uri("main", "orphan"));
    eprintln!("a private key whose id another key pair shares: {orphan:?}");
    let error = orphan.unwrap_err();
    assert_eq!(error.code(), ErrorCode::TokenKeyNotFound, "{error:?}");
    let mixed = format!("pkcs11:token=main;object=mixed;id=%08?module-path={}&pin-value={PIN}", hsm.module);
    let error = Pkcs11Signer::open(&mixed).unwrap_err();
    assert_eq!(error.code(), ErrorCode::TokenKeyNotFound, "{error:?}");
    assert!(error.message().contains("does not belong to the private key"), "{error:?}");
    // The key pair that kept its public key object, with the same id, opens.
    let stray = format!("pkcs11:token=main;object=stray;id=%07?module-path={}&pin-value={PIN}", hsm.module);
    let signer = Pkcs11Signer::open(&stray).unwrap();
    checked(&signer, b"stray").unwrap();
}
