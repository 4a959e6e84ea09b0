//! Cases of SPEC.md's evidence files (§18): reading order, the members' shapes,
//! and the trusted key set a verifier may use instead of the file's.

use evidentia::ErrorCode as E;

use super::fixtures::{
    LOG_ID, World, batch_receipt, checkpoint_of, event, event_reformatted, inclusion, jwk, quote, set, signed,
};
use super::{Op, Outcome, Suite, file};

const GROUP: &str = "evidence";

/// An evidence file of members given as raw JSON text, in the given order.
fn evidence(members: &[(&str, &str)]) -> String {
    let inner: Vec<String> = members.iter().map(|(name, raw)| format!("{}: {raw}", quote(name))).collect();
    format!("{{{}}}", inner.join(", "))
}

pub(crate) fn cases(suite: &mut Suite, world: &World) {
    let keys = world.keys();
    let receipt = quote(&world.receipts[1]);
    let event1 = String::from_utf8(event(1)).expect("UTF-8");
    let tree = &world.batch_tree;
    let batch = batch_receipt(
        &world.batch_records[2],
        inclusion(tree, 2, 5),
        &signed(&checkpoint_of(tree, 5, LOG_ID), &world.k1),
    );
    let mut case = |slug: &str, why: &str, outcome: Outcome, text: &str, trusted: Option<&str>| {
        let mut inputs = vec![file("evidence", "evidence.json", text)];
        if let Some(trusted) = trusted {
            inputs.push(file("jwks", "trusted.jwks", trusted));
        }
        suite.add(GROUP, slug, Op::Evidence, "§18", why, outcome, inputs);
    };

    // Valid files.
    case(
        "receipt-key-set-object-and-event",
        "A receipt, its key set as an object and its event: the receipt verifies as §12 says, with the event: valid.",
        Outcome::Valid,
        &evidence(&[("receipt", &receipt), ("jwks", &keys), ("event", &event1)]),
        None,
    );
    case(
        "key-set-as-string",
        "jwks may be the key set's text, a JSON string: valid.",
        Outcome::Valid,
        &evidence(&[("receipt", &receipt), ("jwks", &quote(&keys))]),
        None,
    );
    case(
        "key-set-as-single-jwk",
        "The key set is read as §4 says, so a single JWK object is a set of one: valid.",
        Outcome::Valid,
        &evidence(&[("jwks", &jwk(&world.k1)), ("receipt", &receipt)]),
        None,
    );
    case(
        "event-reformatted",
        "The event is any JSON value in any formatting; its canonical JSON is what is hashed: valid.",
        Outcome::Valid,
        &evidence(&[
            ("receipt", &receipt),
            ("jwks", &keys),
            ("event", &String::from_utf8(event_reformatted(1)).expect("UTF-8")),
        ]),
        None,
    );
    case(
        "other-members-ignored",
        "Members other than receipt, batch_receipt, jwks and event are ignored: valid.",
        Outcome::Valid,
        &evidence(&[("note", r#""for the auditor""#), ("receipt", &receipt), ("jwks", &keys), ("version", "7")]),
        None,
    );
    case(
        "batch-receipt-as-string",
        "A batch receipt as its text verifies as §11 says: valid.",
        Outcome::Valid,
        &evidence(&[
            ("batch_receipt", &quote(&batch)),
            ("jwks", &keys),
            ("event", &String::from_utf8(event(2)).expect("UTF-8")),
        ]),
        None,
    );
    // The object with its members in another order and spaced: its canonical JSON is the batch receipt.
    let object = batch.replacen('{', r#"{"v": 1, "#, 1).replace(r#","v":1}"#, "}").replace("\":{", "\": {");
    case(
        "batch-receipt-as-object",
        "A batch receipt object is written back as canonical JSON, so other member order and spacing do not matter: valid.",
        Outcome::Valid,
        &evidence(&[("batch_receipt", &object), ("jwks", &keys)]),
        None,
    );

    // Step 1: JSON.
    case(
        "not-json",
        "Step 1: the file is not JSON (a trailing comma): JSON_SYNTAX.",
        Outcome::Error(E::JsonSyntax),
        &evidence(&[("receipt", &receipt), ("jwks", &keys)]).replace("]}}", "]},}"),
        None,
    );
    case(
        "duplicate-member",
        "Step 1: receipt appears twice, which §1 refuses: JSON_DUPLICATE_KEY.",
        Outcome::Error(E::JsonDuplicateKey),
        &evidence(&[("receipt", &receipt), ("jwks", &keys), ("receipt", &receipt)]),
        None,
    );

    // Step 2: the shapes of the members.
    for (slug, text, why) in [
        ("array-not-object", format!("[{receipt}, {keys}]"), "the file is an array, not an object"),
        ("neither-receipt-nor-batch-receipt", evidence(&[("jwks", &keys)]), "it has neither receipt nor batch_receipt"),
        (
            "both-receipt-and-batch-receipt",
            evidence(&[("receipt", &receipt), ("batch_receipt", &quote(&batch)), ("jwks", &keys)]),
            "it has both receipt and batch_receipt",
        ),
        (
            "receipt-not-a-string",
            evidence(&[("receipt", r#"{"jws":"x"}"#), ("jwks", &keys)]),
            "receipt is an object, not a string",
        ),
        (
            "batch-receipt-as-array",
            evidence(&[("batch_receipt", &format!("[{}]", quote(&batch))), ("jwks", &keys)]),
            "batch_receipt is an array",
        ),
        ("without-jwks", evidence(&[("receipt", &receipt)]), "jwks is missing"),
        (
            "jwks-as-array",
            evidence(&[("receipt", &receipt), ("jwks", &format!("[{}]", jwk(&world.k1)))]),
            "jwks is an array",
        ),
        (
            "receipt-not-a-string-and-bad-key-set",
            evidence(&[("receipt", "1"), ("jwks", r#"{"keys":5}"#)]),
            "receipt is a number (step 2 comes before reading the key set)",
        ),
    ] {
        case(slug, &format!("Step 2: {why}: INVALID_ARGUMENT."), Outcome::Error(E::InvalidArgument), &text, None);
    }

    // Step 3: the key set.
    case(
        "key-set-string-malformed",
        "Step 3: jwks is text of a key set whose keys is not an array: KEY_SET_MALFORMED.",
        Outcome::Error(E::KeySetMalformed),
        &evidence(&[("receipt", &receipt), ("jwks", &quote(r#"{"keys":5}"#))]),
        None,
    );
    case(
        "key-set-before-receipt",
        "Step 3 comes before step 4: a key set listing k1 twice and a receipt of two parts give KEY_SET_MALFORMED.",
        Outcome::Error(E::KeySetMalformed),
        &evidence(&[("receipt", r#""a.b""#), ("jwks", &set(&[&world.k1, &world.k1]))]),
        None,
    );

    // Step 4: the receipt, the batch receipt and the event.
    case(
        "receipt-malformed",
        "Step 4: the receipt has two parts, which §5 step 1 refuses: JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &evidence(&[("receipt", r#""a.b""#), ("jwks", &keys)]),
        None,
    );
    case(
        "batch-receipt-object-with-extra-member",
        "Step 4: the object's canonical JSON has a sixth member, so it is no batch receipt: BATCH_RECEIPT_MALFORMED.",
        Outcome::Error(E::BatchReceiptMalformed),
        &evidence(&[("batch_receipt", &batch.replace(r#","v":1}"#, r#","v":1,"x":1}"#)), ("jwks", &keys)]),
        None,
    );
    case(
        "event-as-string-of-its-json",
        "Step 4: a string event is the JSON string, not JSON text, so its canonical JSON is a quoted string: EVENT_MISMATCH.",
        Outcome::Findings(vec![E::EventMismatch]),
        &evidence(&[("receipt", &receipt), ("jwks", &keys), ("event", &quote(&event1))]),
        None,
    );
    case(
        "event-null",
        "Step 4: event is present with the value null, whose canonical JSON `null` is not the event: EVENT_MISMATCH.",
        Outcome::Findings(vec![E::EventMismatch]),
        &evidence(&[("receipt", &receipt), ("jwks", &keys), ("event", "null")]),
        None,
    );
    case(
        "another-event",
        "Step 4: the event is another one (event 2): EVENT_MISMATCH.",
        Outcome::Findings(vec![E::EventMismatch]),
        &evidence(&[("receipt", &receipt), ("jwks", &keys), ("event", &String::from_utf8(event(2)).expect("UTF-8"))]),
        None,
    );
    case(
        "receipt-of-a-key-not-in-the-set",
        "Step 4: the file's key set holds only k3, which did not sign: KEY_NOT_FOUND.",
        Outcome::Findings(vec![E::KeyNotFound]),
        &evidence(&[("receipt", &receipt), ("jwks", &set(&[&world.k3]))]),
        None,
    );

    // Trusted keys given to the verifier replace the file's (step 3 skipped).
    let stranger = set(&[&world.k3]);
    case(
        "trusted-keys-replace-the-files",
        "The file's key set holds only k3, but the verifier's trusted set (k1) is used instead: valid.",
        Outcome::Valid,
        &evidence(&[("receipt", &receipt), ("jwks", &stranger)]),
        Some(&keys),
    );
    case(
        "trusted-keys-without-the-signer",
        "The file's key set holds k1, but the verifier's trusted set (k3 only) is used instead: KEY_NOT_FOUND.",
        Outcome::Findings(vec![E::KeyNotFound]),
        &evidence(&[("receipt", &receipt), ("jwks", &keys)]),
        Some(&stranger),
    );
    case(
        "trusted-keys-skip-reading-the-files",
        "With trusted keys step 3 is skipped, so the file's malformed key set (keys not an array) is never read: valid.",
        Outcome::Valid,
        &evidence(&[("receipt", &receipt), ("jwks", r#"{"keys":5}"#)]),
        Some(&keys),
    );
    case(
        "trusted-keys-still-need-jwks",
        "Step 2 still requires jwks to be an object or a string when the verifier has trusted keys: INVALID_ARGUMENT.",
        Outcome::Error(E::InvalidArgument),
        &evidence(&[("receipt", &receipt), ("jwks", "5")]),
        Some(&keys),
    );

    // A version-2 record's event, checked with the salt the file holds (§12).
    let salted = quote(&super::receipts::salted_receipt(world));
    let salt_hex = quote(&evidentia::encoding::hex(&super::receipts::SALT));
    case(
        "version-2-event-and-salt-hex",
        "A version-2 record's receipt, its event and the event's salt in hex: the event is checked with it: valid.",
        Outcome::Valid,
        &evidence(&[("receipt", &salted), ("jwks", &keys), ("event", &event1), ("salt_hex", &salt_hex)]),
        None,
    );
    case(
        "version-2-event-and-salt-hex-in-capitals",
        "salt_hex is hex digits of either case: valid.",
        Outcome::Valid,
        &evidence(&[("receipt", &salted), ("jwks", &keys), ("event", &event1), ("salt_hex", &salt_hex.to_uppercase())]),
        None,
    );
    case(
        "version-2-other-event-and-salt-hex",
        "Step 4: another event under the salt makes another commitment: EVENT_MISMATCH.",
        Outcome::Findings(vec![E::EventMismatch]),
        &evidence(&[
            ("receipt", &salted),
            ("jwks", &keys),
            ("event", &String::from_utf8(event(2)).expect("UTF-8")),
            ("salt_hex", &salt_hex),
        ]),
        None,
    );
    case(
        "version-2-event-without-salt-hex",
        "Step 4: a version-2 record's event without its salt cannot be judged (§12): INVALID_ARGUMENT.",
        Outcome::Error(E::InvalidArgument),
        &evidence(&[("receipt", &salted), ("jwks", &keys), ("event", &event1)]),
        None,
    );
    case(
        "salt-hex-of-odd-length",
        "Step 2: salt_hex is an even number of hex digits, before the key set is read (it is malformed too): INVALID_ARGUMENT.",
        Outcome::Error(E::InvalidArgument),
        &evidence(&[("receipt", &salted), ("jwks", r#"{"keys":5}"#), ("event", &event1), ("salt_hex", r#""5a5""#)]),
        None,
    );
    case(
        "salt-hex-not-a-string",
        "Step 2: salt_hex is a string: INVALID_ARGUMENT.",
        Outcome::Error(E::InvalidArgument),
        &evidence(&[("receipt", &salted), ("jwks", &keys), ("event", &event1), ("salt_hex", "[90]")]),
        None,
    );
}
