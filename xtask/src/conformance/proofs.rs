//! Cases of SPEC.md's proofs rules: signed checkpoints (§10), a receipt's or a
//! record's inclusion in a checkpoint, and consistency between two checkpoints (§9).

use evidentia::encoding::{b64, b64url};
use evidentia::merkle::Hash;
use evidentia::{ErrorCode, SigningKey};

use super::fixtures::{
    LOG_ID, OTHER_LOG, World, at, batch_receipt, batch_receipt_json, checkpoint_of, consistency, consistency_json,
    event, inclusion, inclusion_json, jwk, jwk_with, jwk_without, jwks, jws, note_key_hash, note_signature, receipt,
    receipt_header, record, root_at, set, signed, value,
};
use super::{Input, Op, Outcome, Suite, file};

use ErrorCode::{
    BatchReceiptMalformed, CheckpointMalformed, CheckpointMismatch, CheckpointSignatureInvalid,
    ConsistencyProofInvalid, InclusionProofInvalid, JwsMalformed, KeyExpired, KeyNotFound, KidMismatch, ProofMalformed,
    SignatureInvalid,
};

/// A witness's key name: signature lines under it are never trusted here.
const WITNESS: &str = "witness.example";

/// 32 bytes whose standard base64 has `+` and `/` (and whose base64url has `-`
/// and `_`), for cases about the alphabet.
const PLUS_SLASH: [u8; 32] = [
    0xfb, 0xef, 0xff, 0xfb, 0xef, 0xff, 0xfb, 0xef, 0xff, 0xfb, 0xef, 0xff, 0xfb, 0xef, 0xff, 0xfb, 0xef, 0xff, 0xfb,
    0xef, 0xff, 0xfb, 0xef, 0xff, 0xfb, 0xef, 0xff, 0xfb, 0xef, 0xff, 0xfb, 0xef,
];

/// A signature line (ending in a line feed) of `bytes` under the key name `name`.
fn line(name: &str, bytes: &[u8]) -> String {
    format!("\u{2014} {name} {}\n", b64(bytes))
}

/// The signature line of `key` over `text` (taken as it is) under `name`.
fn sig(text: &str, name: &str, key: &SigningKey) -> String {
    line(name, &note_signature(text.as_bytes(), key))
}

/// `text` signed by `key` under the suite's log id, whatever the text holds.
fn note(text: &str, key: &SigningKey) -> String {
    format!("{text}\n{}", sig(text, LOG_ID, key))
}

/// A checkpoint text of the suite's log from its lines as they are.
fn body(size: &str, root: &str, extensions: &[&str]) -> String {
    let mut text = format!("{LOG_ID}\n{size}\n{root}\n");
    for extension in extensions {
        text.push_str(extension);
        text.push('\n');
    }
    text
}

/// The text of the receipts-mode log's checkpoint at `size`.
fn text(world: &World, size: u64) -> String {
    checkpoint_of(&world.tree, size, LOG_ID).to_text()
}

/// The base64 root of the receipts-mode log at `size`.
fn root(world: &World, size: u64) -> String {
    b64(&root_at(&world.tree, size))
}

/// The checkpoint of 7 signed by `k1`, padded with one extension line of `x` to
/// exactly `total` bytes (the DER signature's length varies, so a few are tried).
fn note_of_length(world: &World, total: usize) -> String {
    let base = text(world, 7);
    let estimate = total - note(&base, &world.k1).len() - 1;
    for pad in estimate - 8..estimate + 8 {
        let note = note(&format!("{base}{}\n", "x".repeat(pad)), &world.k1);
        if note.len() == total {
            return note;
        }
    }
    unreachable!("a DER signature varies by a few bytes only")
}

/// A JSON array of standard base64 strings.
fn hashes_json(hashes: &[Hash]) -> String {
    let strings: Vec<String> = hashes.iter().map(|h| format!("\"{}\"", b64(h))).collect();
    format!("[{}]", strings.join(","))
}

/// `hash` with its first byte changed.
fn altered(hash: &Hash) -> Hash {
    let mut hash = *hash;
    hash[0] ^= 0x01;
    hash
}

fn checkpoint_case(suite: &mut Suite, slug: &str, why: &str, outcome: Outcome, note: impl Into<Vec<u8>>, keys: &str) {
    suite.add(
        "checkpoint",
        slug,
        Op::Checkpoint,
        "§10",
        why,
        outcome,
        vec![file("checkpoint", "checkpoint.txt", note), file("jwks", "keys.jwks", keys)],
    );
}

pub(crate) fn checkpoint_cases(suite: &mut Suite, world: &World) {
    use Outcome::{Error, Valid};
    let (k1, k2, k3) = (&world.k1, &world.k2, &world.k3);
    let keys = world.keys();
    let t7 = text(world, 7);
    let good = world.checkpoint(7);
    let witness = sig(&t7, WITNESS, k3);
    let mut c = |slug: &str, why: &str, outcome: Outcome, note: &[u8], keys: &str| {
        checkpoint_case(suite, slug, why, outcome, note, keys)
    };

    // Valid checkpoints, some of which look odd.
    c(
        "valid",
        "A checkpoint of 7 records signed by the log's key under its origin: valid.",
        Valid,
        good.as_bytes(),
        &keys,
    );
    c(
        "size-zero",
        "A checkpoint of the empty tree (size 0, root SHA-256 of nothing): 0 has no leading zero, so valid.",
        Valid,
        world.checkpoint(0).as_bytes(),
        &keys,
    );
    c(
        "size-of-2-64-minus-1",
        "The size 18446744073709551615 is at most 2^64 − 1; alone a checkpoint is only signed text, so valid.",
        Valid,
        note(&body("18446744073709551615", &root(world, 7), &[]), k1).as_bytes(),
        &keys,
    );
    c(
        "extension-lines",
        "Two non-empty extension lines after the root are allowed (step 4) and signed with the text: valid.",
        Valid,
        note(&body("7", &root(world, 7), &["timestamp 1800000000", "ext two"]), k1).as_bytes(),
        &keys,
    );
    c(
        "non-ascii-extension-line",
        "An extension line with non-ASCII letters has no control character (step 2): valid.",
        Valid,
        note(&body("7", &root(world, 7), &["témoin: Zoë"]), k1).as_bytes(),
        &keys,
    );
    c(
        "line-separator-in-extension-line",
        "U+2028 LINE SEPARATOR is category Zl, not Cc, and is not a line feed, so the text is fine: valid.",
        Valid,
        note(&body("7", &root(world, 7), &["a\u{2028}b"]), k1).as_bytes(),
        &keys,
    );
    c(
        "witness-cosignature-ignored",
        "A second line by an unknown witness key under another name is ignored; the log's key signed: valid.",
        Valid,
        format!("{good}{witness}").as_bytes(),
        &keys,
    );
    c(
        "witness-line-before-the-logs",
        "The ignored witness line may come first; the log's key's line still verifies: valid.",
        Valid,
        format!("{t7}\n{witness}{}", sig(&t7, LOG_ID, k1)).as_bytes(),
        &keys,
    );
    c(
        "untrusted-key-under-the-origin-ignored",
        "A line under the origin whose key hash is of an untrusted key matches no trusted key and is ignored: valid.",
        Valid,
        format!("{good}{}", sig(&t7, LOG_ID, k3)).as_bytes(),
        &keys,
    );
    c(
        "witness-line-with-a-garbage-signature",
        "A well-formed line of an unknown key with a signature that verifies nothing is ignored: valid.",
        Valid,
        format!("{good}{}", line(WITNESS, &[1, 2, 3, 4, 5, 6, 7, 8])).as_bytes(),
        &keys,
    );
    c(
        "non-ascii-witness-name",
        "A key name may be non-ASCII (only '+', space, tab, line feed and control characters are refused): valid.",
        Valid,
        format!("{good}{}", sig(&t7, "témoin.example", k3)).as_bytes(),
        &keys,
    );
    c(
        "no-break-space-in-witness-name",
        "U+00A0 NO-BREAK SPACE is neither a space (U+0020) nor a control character, so the key name is allowed: valid.",
        Valid,
        format!("{good}{}", sig(&t7, "witness\u{a0}example", k3)).as_bytes(),
        &keys,
    );
    c(
        "signed-by-another-key-of-the-set",
        "Any usable, never-revoked key of the set may sign a checkpoint alone; k2 of {k1, k2} signed: valid.",
        Valid,
        signed(&checkpoint_of(&world.tree, 7, LOG_ID), k2).as_bytes(),
        &set(&[k1, k2]),
    );
    c(
        "two-trusted-signatures",
        "Both keys of the set signed and both lines verify: valid.",
        Valid,
        format!("{good}{}", sig(&t7, LOG_ID, k2)).as_bytes(),
        &set(&[k1, k2]),
    );
    c(
        "signer-expired",
        "The signer's exp is in 2001, but a checkpoint has no time, so exp does not matter (§10, §13): valid.",
        Valid,
        good.as_bytes(),
        &jwks(&[jwk_with(k1, r#""exp":1000000000"#)]),
    );
    c(
        "signer-not-yet-valid",
        "The signer's nbf is in 2096, but a checkpoint has no time, so nbf does not matter (§10, §13): valid.",
        Valid,
        good.as_bytes(),
        &jwks(&[jwk_with(k1, r#""nbf":4000000000"#)]),
    );
    c(
        "kid-is-not-the-key-name",
        "The signer's JWK has another explicit kid; lines are matched by the origin and the key hash: valid.",
        Valid,
        good.as_bytes(),
        &jwks(&[jwk_without(k1, &["kid"], r#""kid":"log-key-2027""#)]),
    );
    c(
        "origin-of-another-log",
        "Alone a checkpoint is checked against no log id; signed by a key of the set under its origin: valid.",
        Valid,
        signed(&checkpoint_of(&world.tree, 7, OTHER_LOG), k1).as_bytes(),
        &keys,
    );
    c(
        "root-of-any-32-bytes",
        "A root of any 32 bytes in standard base64 is readable; alone nothing binds it to a tree: valid.",
        Valid,
        note(&body("7", &b64(&PLUS_SLASH), &[]), k1).as_bytes(),
        &keys,
    );
    let hundred = format!("{good}{}", witness.repeat(99));
    c(
        "exactly-100-signatures",
        "100 signature lines are allowed (step 3: 1 to 100): valid.",
        Valid,
        hundred.as_bytes(),
        &keys,
    );
    c(
        "exactly-64-kib",
        "A note of exactly 65,536 bytes is at most 64 KiB (step 1): valid.",
        Valid,
        note_of_length(world, 65_536).as_bytes(),
        &keys,
    );

    // Signatures that do not make the checkpoint trusted.
    let revoked = |at: &str| jwks(&[jwk_with(k1, &format!(r#""revoked":{{"revoked_at":{at}}}"#))]);
    c(
        "signer-revoked",
        "Alone a checkpoint trusts only keys never revoked; its only signer is revoked: CHECKPOINT_SIGNATURE_INVALID.",
        Error(CheckpointSignatureInvalid),
        good.as_bytes(),
        &revoked("1800000000"),
    );
    c(
        "signer-revoked-in-the-future",
        "revoked_at is in 2096, but a checkpoint has no time to compare it with: a key ever revoked is not trusted, 619.",
        Error(CheckpointSignatureInvalid),
        good.as_bytes(),
        &revoked("4000000000"),
    );
    c(
        "revoked-signer-and-a-trusted-one",
        "k1 is revoked, so its line matches no trusted key and is ignored; k2 (never revoked) signed: valid.",
        Valid,
        format!("{good}{}", sig(&t7, LOG_ID, k2)).as_bytes(),
        &jwks(&[jwk_with(k1, r#""revoked":{"revoked_at":1800000000}"#), jwk(k2)]),
    );
    c(
        "signer-not-usable-for-es256",
        "The signer's JWK has use enc, so it is not usable for ES256 and not trusted: CHECKPOINT_SIGNATURE_INVALID.",
        Error(CheckpointSignatureInvalid),
        good.as_bytes(),
        &jwks(&[jwk_without(k1, &["use"], r#""use":"enc""#)]),
    );
    c(
        "signed-by-an-unknown-key",
        "Signed by a key not in the set: its line is ignored and no trusted key signed: CHECKPOINT_SIGNATURE_INVALID.",
        Error(CheckpointSignatureInvalid),
        signed(&checkpoint_of(&world.tree, 7, LOG_ID), k3).as_bytes(),
        &keys,
    );
    c(
        "signed-under-another-name",
        "The log's key signed under a name other than the origin, so the line matches no trusted key: 619.",
        Error(CheckpointSignatureInvalid),
        format!("{t7}\n{}", sig(&t7, OTHER_LOG, k1)).as_bytes(),
        &keys,
    );
    c(
        "only-witness-signatures",
        "Only an unknown witness signed: no trusted key signed, CHECKPOINT_SIGNATURE_INVALID.",
        Error(CheckpointSignatureInvalid),
        format!("{t7}\n{witness}").as_bytes(),
        &keys,
    );
    let mut corrupt = note_signature(t7.as_bytes(), k1);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x01;
    c(
        "signature-altered",
        "The trusted key's line has a changed signature byte; a line matching a trusted key must verify: 619.",
        Error(CheckpointSignatureInvalid),
        format!("{t7}\n{}", line(LOG_ID, &corrupt)).as_bytes(),
        &keys,
    );
    c(
        "second-line-of-the-trusted-key-fails",
        "The trusted key's first line verifies, a second line under its name and key hash does not: 619.",
        Error(CheckpointSignatureInvalid),
        format!("{good}{}", line(LOG_ID, &corrupt)).as_bytes(),
        &keys,
    );
    let t6 = text(world, 6);
    c(
        "signature-of-another-text",
        "The signature line is the log key's over the checkpoint of size 6, on the text of size 7: 619.",
        Error(CheckpointSignatureInvalid),
        format!("{t7}\n{}", sig(&t6, LOG_ID, k1)).as_bytes(),
        &keys,
    );
    c(
        "text-changed-after-signing",
        "The size was changed from 7 to 6 after signing; the trusted key's line no longer verifies: 619.",
        Error(CheckpointSignatureInvalid),
        good.replacen("\n7\n", "\n6\n", 1).as_bytes(),
        &keys,
    );
    let mut other_hash = note_key_hash(k3);
    other_hash.extend_from_slice(&note_signature(t7.as_bytes(), k1)[4..]);
    c(
        "key-hash-of-another-key",
        "The log key's signature under another key's hash matches no trusted key and is ignored; none signed: 619.",
        Error(CheckpointSignatureInvalid),
        format!("{t7}\n{}", line(LOG_ID, &other_hash)).as_bytes(),
        &keys,
    );
    let mut stolen_hash = note_key_hash(k1);
    stolen_hash.extend_from_slice(&note_signature(t7.as_bytes(), k3)[4..]);
    c(
        "key-hash-of-the-trusted-key-signed-by-another",
        "A stranger's signature under the trusted key's name and hash matches that key and must verify: 619.",
        Error(CheckpointSignatureInvalid),
        format!("{t7}\n{}", line(LOG_ID, &stolen_hash)).as_bytes(),
        &keys,
    );
    let mut raw = note_key_hash(k1);
    raw.extend_from_slice(&k1.sign(t7.as_bytes()));
    c(
        "signature-as-r-and-s",
        "The trusted key's signature as 64-byte R‖S instead of ASN.1 DER does not verify as DER: 619.",
        Error(CheckpointSignatureInvalid),
        format!("{t7}\n{}", line(LOG_ID, &raw)).as_bytes(),
        &keys,
    );
    let mut short = note_key_hash(k1);
    short.push(0x30);
    c(
        "signature-of-one-byte",
        "5 bytes (key hash and 1 signature byte) is readable (step 3) but the trusted key's line fails: 619.",
        Error(CheckpointSignatureInvalid),
        format!("{t7}\n{}", line(LOG_ID, &short)).as_bytes(),
        &keys,
    );

    // Notes that cannot be read (step 1-4): CHECKPOINT_MALFORMED whoever signed them.
    let sig7 = sig(&t7, LOG_ID, k1);
    let mut m = |slug: &str, why: &str, note: &[u8]| c(slug, why, Error(CheckpointMalformed), note, &keys);
    m(
        "no-signatures",
        "A checkpoint text with no empty line and no signature has no \\n\\n to split at (step 1): 801.",
        t7.as_bytes(),
    );
    m(
        "empty-signature-block",
        "The note ends with the empty line: the signature block has no line, and 1 to 100 are needed (step 3): 801.",
        format!("{t7}\n").as_bytes(),
    );
    m(
        "trailing-empty-line",
        "An empty line after the signatures: the note splits there, and the text then holds an empty line: 801.",
        format!("{good}\n").as_bytes(),
    );
    m(
        "no-final-line-feed",
        "The signature line does not end with a line feed, so the signature block does not (step 3): 801.",
        good.trim_end_matches('\n').as_bytes(),
    );
    m(
        "text-after-the-signatures",
        "A line after the signature that is not '— name base64' is a malformed signature line (step 3): 801.",
        format!("{good}checked by hand\n").as_bytes(),
    );
    m(
        "empty-line-between-signatures",
        "An empty line between two signature lines: the note splits at the last, the text holds an empty line: 801.",
        format!("{good}\n{witness}").as_bytes(),
    );
    m(
        "101-signatures",
        "101 signature lines (the log's and 100 witnesses'), more than 100 (step 3): 801.",
        format!("{hundred}{witness}").as_bytes(),
    );
    m(
        "over-64-kib",
        "A correctly signed note of 65,537 bytes is over 64 KiB (step 1): 801.",
        note_of_length(world, 65_537).as_bytes(),
    );
    m(
        "crlf-line-endings",
        "CR LF line endings: there is no \\n\\n to split at (and CR is a control character): 801.",
        good.replace('\n', "\r\n").as_bytes(),
    );
    m(
        "carriage-return-after-the-signature",
        "The signature line ends in CR LF: the CR is part of the base64, which is then not base64 (step 3): 801.",
        format!("{}\r\n", good.trim_end_matches('\n')).as_bytes(),
    );
    m(
        "tab-in-extension-line",
        "A tab is a control character (Cc) other than \\n in the text (step 2), even though signed: 801.",
        note(&body("7", &root(world, 7), &["key\tvalue"]), k1).as_bytes(),
    );
    m(
        "next-line-in-extension-line",
        "U+0085 NEXT LINE is a control character (category Cc) in the text (step 2), even though signed: 801.",
        note(&body("7", &root(world, 7), &["a\u{85}b"]), k1).as_bytes(),
    );
    m(
        "delete-in-extension-line",
        "U+007F DELETE is a control character (category Cc) in the text (step 2), even though signed: 801.",
        note(&body("7", &root(world, 7), &["a\u{7f}b"]), k1).as_bytes(),
    );
    let mut latin1 = body("7", &root(world, 7), &["t"]).into_bytes();
    latin1.pop();
    latin1.pop();
    latin1.extend_from_slice(b"t\xe9moin\n");
    let mut latin1_note = latin1.clone();
    latin1_note.push(b'\n');
    latin1_note.extend_from_slice(line(LOG_ID, &note_signature(&latin1, k1)).as_bytes());
    m(
        "not-utf-8",
        "An extension line in Latin-1 (byte E9): a signed note is UTF-8 text, this one cannot be read: 801.",
        &latin1_note,
    );
    m(
        "empty-line-in-text",
        "An empty line between the root and an extension line: the text has an empty line (step 2): 801.",
        note(&body("7", &root(world, 7), &["", "ext"]), k1).as_bytes(),
    );
    m(
        "empty-origin",
        "The text starts with an empty line: the origin is empty (step 4) and the text has an empty line: 801.",
        note(&format!("\n{t7}"), k1).as_bytes(),
    );
    m(
        "no-root-line",
        "The text has only the origin and the size lines; the third line, the root, is missing (step 4): 801.",
        note(&format!("{LOG_ID}\n7\n"), k1).as_bytes(),
    );
    for (slug, size, why) in [
        ("size-with-leading-zero", "07", "The size 07 has a leading zero (step 4): 801."),
        ("size-with-plus-sign", "+7", "The size +7 has a sign; a size is decimal digits only (step 4): 801."),
        ("size-negative", "-7", "The size -7 has a sign; a size is decimal digits only (step 4): 801."),
        (
            "size-with-space",
            " 7",
            "The size line ' 7' starts with a space; a size is decimal digits only (step 4): 801.",
        ),
        ("size-of-2-64", "18446744073709551616", "The size 2^64 is above 2^64 − 1 (step 4): 801."),
        (
            "size-in-arabic-indic-digits",
            "\u{667}",
            "The size ٧ (ARABIC-INDIC DIGIT SEVEN) is not an ASCII decimal digit (step 4): 801.",
        ),
    ] {
        m(slug, why, note(&body(size, &root(world, 7), &[]), k1).as_bytes());
    }
    let root7 = root_at(&world.tree, 7);
    for (slug, root, why) in [
        ("root-of-31-bytes", b64(&root7[..31]), "The root is base64 of 31 bytes, not 32 (step 4): 801."),
        (
            "root-of-33-bytes",
            b64(&[&root7[..], &[0]].concat()),
            "The root is base64 of 33 bytes, not 32 (step 4): 801.",
        ),
        (
            "root-without-padding",
            b64(&root7).trim_end_matches('=').to_owned(),
            "The root's base64 lacks its '=' padding; standard base64 with padding is required (steps 3-4): 801.",
        ),
        (
            "root-in-base64url",
            b64url(&PLUS_SLASH),
            "The root is base64url ('-', '_'), not standard base64 (step 4): 801.",
        ),
        (
            "root-in-hex",
            evidentia::encoding::hex(&root7),
            "The root is 64 hexadecimal digits, not base64 of 32 bytes (step 4): 801.",
        ),
    ] {
        m(slug, why, note(&body("7", &root, &[]), k1).as_bytes());
    }
    m(
        "hyphen-instead-of-em-dash",
        "The signature line starts with '-' (U+002D) instead of '— ' (U+2014 and a space) (step 3): 801.",
        format!("{t7}\n-{}", &sig7['\u{2014}'.len_utf8()..]).as_bytes(),
    );
    m(
        "no-space-after-em-dash",
        "The signature line starts '—' directly followed by the key name, without the space (step 3): 801.",
        format!("{t7}\n\u{2014}{}", &sig7['\u{2014}'.len_utf8() + 1..]).as_bytes(),
    );
    m(
        "two-spaces-before-the-signature",
        "Two spaces between the key name and the base64: the signature part is not base64 (step 3): 801.",
        format!("{t7}\n{}", sig7.replacen(&format!("{LOG_ID} "), &format!("{LOG_ID}  "), 1)).as_bytes(),
    );
    let witness_bytes = note_signature(t7.as_bytes(), k3);
    for (slug, name, why) in [
        (
            "key-name-with-plus",
            "witness+1.example",
            "A witness line's key name has a '+' (step 3), even though the line would be ignored: 801.",
        ),
        (
            "key-name-with-tab",
            "witness\t1.example",
            "A witness line's key name has a tab (step 3), even though the line would be ignored: 801.",
        ),
        (
            "key-name-empty",
            "",
            "A witness line has an empty key name (step 3), even though the line would be ignored: 801.",
        ),
    ] {
        m(slug, why, format!("{good}{}", line(name, &witness_bytes)).as_bytes());
    }
    m(
        "witness-signature-in-base64url",
        "A witness line's signature is base64url ('-', '_'), not standard base64 (step 3), even if ignored: 801.",
        format!("{good}\u{2014} {WITNESS} {}\n", b64url(&PLUS_SLASH)).as_bytes(),
    );
    m(
        "witness-signature-without-padding",
        "A witness line's base64 of 5 bytes lacks its '=' padding (step 3), even if ignored: 801.",
        format!("{good}\u{2014} {WITNESS} {}\n", b64(&[1, 2, 3, 4, 5]).trim_end_matches('=')).as_bytes(),
    );
    m(
        "signature-of-4-bytes",
        "A signature line of 4 bytes holds a key hash and no signature; at least 5 are needed (step 3): 801.",
        format!("{t7}\n{}", line(LOG_ID, &note_key_hash(k1))).as_bytes(),
    );
    m(
        "malformed-line-and-failing-signature",
        "The trusted key's signature fails and a witness line is malformed: notes are read before any signature is checked: 801.",
        format!("{t7}\n{}{}", line(LOG_ID, &corrupt), line("witness+1.example", &witness_bytes)).as_bytes(),
    );
}

/// What an inclusion proof is checked for: a receipt, a batch receipt, or a
/// record's canonical bytes.
enum Of {
    Receipt(String),
    Batch(String),
    Record(Vec<u8>),
}

#[allow(clippy::too_many_arguments)]
fn inclusion_case(
    suite: &mut Suite,
    slug: &str,
    why: &str,
    outcome: Outcome,
    proof: &str,
    checkpoint: &str,
    keys: &str,
    of: Of,
) {
    let subject: Input = match of {
        Of::Receipt(receipt) => file("receipt", "receipt.jws", receipt),
        Of::Batch(receipt) => file("receipt", "batch-receipt.json", receipt),
        Of::Record(record) => file("record", "record.json", record),
    };
    let inputs = vec![
        file("proof", "proof.json", proof),
        file("checkpoint", "checkpoint.txt", checkpoint),
        file("jwks", "keys.jwks", keys),
        subject,
    ];
    suite.add("inclusion", slug, Op::Inclusion, "§9", why, outcome, inputs);
}

pub(crate) fn inclusion_cases(suite: &mut Suite, world: &World) {
    use Outcome::{Error, Valid};
    let (k1, k3) = (&world.k1, &world.k3);
    let keys = world.keys();
    let proof = world.proof(3, 7);
    let path = inclusion(&world.tree, 3, 7).hashes;
    let cp7 = world.checkpoint(7);
    let r3 = || Of::Receipt(world.receipts[3].clone());
    let mut c = |slug: &str, why: &str, outcome: Outcome, proof: &str, checkpoint: &str, keys: &str, of: Of| {
        inclusion_case(suite, slug, why, outcome, proof, checkpoint, keys, of)
    };

    c(
        "receipt-in-checkpoint",
        "Receipt 3, its proof in the tree of 7 and the signed checkpoint of 7: valid.",
        Valid,
        &proof,
        &cp7,
        &keys,
        r3(),
    );
    c(
        "record-in-checkpoint",
        "Record 3's bytes, its proof in the tree of 7 and the signed checkpoint of 7: valid.",
        Valid,
        &proof,
        &cp7,
        &keys,
        Of::Record(world.record_bytes[3].clone()),
    );
    c(
        "only-record-of-a-tree-of-one",
        "Record 0 in the tree of 1: the proof has no hashes and the leaf hash is the root: valid.",
        Valid,
        &world.proof(0, 1),
        &world.checkpoint(1),
        &keys,
        Of::Receipt(world.receipts[0].clone()),
    );
    c(
        "last-record",
        "Record 6, the last of the tree of 7: valid.",
        Valid,
        &world.proof(6, 7),
        &cp7,
        &keys,
        Of::Receipt(world.receipts[6].clone()),
    );
    let reformatted = format!(
        "{{\n  \"type\": \"inclusion\",\n  \"tree_size\": 7,\n  \"leaf_index\": 3,\n  \"hashes\": [\n    {}\n  ]\n}}\n",
        path.iter().map(|h| format!("\"{}\"", b64(h))).collect::<Vec<_>>().join(",\n    ")
    );
    c(
        "proof-reformatted",
        "The proof with spaces, line feeds and members in another order: read in any formatting §1 accepts, valid.",
        Valid,
        &reformatted,
        &cp7,
        &keys,
        r3(),
    );
    c(
        "counts-as-fraction-and-exponent",
        "leaf_index 3.0 and tree_size 7e0 are the numbers 3 and 7 (§1 reads numbers as doubles, canonically 3 and 7): valid.",
        Valid,
        &inclusion_json(&path, "3.0", "7e0"),
        &cp7,
        &keys,
        r3(),
    );
    let batch_cp3 = signed(&checkpoint_of(&world.batch_tree, 3, LOG_ID), k1);
    let batch_cp5 = signed(&checkpoint_of(&world.batch_tree, 5, LOG_ID), k1);
    let batch_proof5 = inclusion(&world.batch_tree, 2, 5).to_json().expect("small");
    let batch2 = batch_receipt(&world.batch_records[2], inclusion(&world.batch_tree, 2, 3), &batch_cp3);
    c(
        "batch-receipt-in-a-later-checkpoint",
        "A valid batch receipt of record 2 (checkpoint of 3), with its proof in a later checkpoint of 5: valid.",
        Valid,
        &batch_proof5,
        &batch_cp5,
        &keys,
        Of::Batch(batch2.clone()),
    );

    // The proof is read first: PROOF_MALFORMED.
    let mut m = |slug: &str, why: &str, proof: &str| c(slug, why, Error(ProofMalformed), proof, &cp7, &keys, r3());
    let hashes = hashes_json(&path);
    let raw = |hashes: &str, index: &str, size: &str| {
        format!(r#"{{"hashes":{hashes},"leaf_index":{index},"tree_size":{size},"type":"inclusion"}}"#)
    };
    m(
        "proof-not-json",
        "The proof is not JSON (a trailing comma): invalid JSON is PROOF_MALFORMED.",
        &format!("{},", &proof),
    );
    m("proof-not-an-object", "The proof is a JSON array, not an object of four members: PROOF_MALFORMED.", &hashes);
    m(
        "type-missing",
        "The proof lacks its type member; exactly four members are needed: PROOF_MALFORMED.",
        &format!(r#"{{"hashes":{hashes},"leaf_index":3,"tree_size":7}}"#),
    );
    m(
        "hashes-missing",
        "The proof lacks its hashes member; exactly four members are needed: PROOF_MALFORMED.",
        r#"{"leaf_index":3,"tree_size":7,"type":"inclusion"}"#,
    );
    m(
        "extra-member",
        "The proof has a fifth member (log_id); exactly four members are allowed: PROOF_MALFORMED.",
        &format!(r#"{{"hashes":{hashes},"leaf_index":3,"log_id":"{LOG_ID}","tree_size":7,"type":"inclusion"}}"#),
    );
    m(
        "duplicate-member",
        "The proof has leaf_index twice; duplicate names are invalid JSON (§1.1), so PROOF_MALFORMED.",
        &format!(r#"{{"hashes":{hashes},"leaf_index":3,"leaf_index":3,"tree_size":7,"type":"inclusion"}}"#),
    );
    m(
        "type-consistency",
        "The proof's type is consistency, with an inclusion proof's members: not an inclusion proof, PROOF_MALFORMED.",
        &raw(&hashes, "3", "7").replace("\"inclusion\"", "\"consistency\""),
    );
    m(
        "leaf-index-as-string",
        "The leaf index is the string \"3\", not a number: wrong type, PROOF_MALFORMED.",
        &raw(&hashes, "\"3\"", "7"),
    );
    m("leaf-index-negative", "The leaf index is -1, not a count: PROOF_MALFORMED.", &raw(&hashes, "-1", "7"));
    m("leaf-index-fraction", "The leaf index is 3.5, not a count: PROOF_MALFORMED.", &raw(&hashes, "3.5", "7"));
    m(
        "tree-size-of-2-53",
        "The tree size 9007199254740992 is beyond 2^53 − 1: PROOF_MALFORMED.",
        &raw(&hashes, "3", "9007199254740992"),
    );
    m(
        "tree-size-not-exactly-a-double",
        "The tree size 9007199254740993 is refused by §1.1 (not the spelling of a double) and beyond 2^53 − 1: PROOF_MALFORMED.",
        &raw(&hashes, "3", "9007199254740993"),
    );
    m(
        "proof-with-byte-order-mark",
        "The proof starts with a byte order mark, which §1.1 refuses as JSON text: PROOF_MALFORMED.",
        &format!("\u{feff}{proof}"),
    );
    m(
        "tree-size-null",
        "The tree size is null, not a number: wrong type, PROOF_MALFORMED.",
        &raw(&hashes, "3", "null"),
    );
    m(
        "leaf-index-equal-to-size",
        "Leaf index 7 in a tree of 7 is not below the size: PROOF_MALFORMED.",
        &raw(&hashes, "7", "7"),
    );
    m("empty-tree", "Leaf index 0 in a tree of 0 is not below the size: PROOF_MALFORMED.", &raw("[]", "0", "0"));
    m(
        "hashes-not-an-array",
        "The hashes member is a string, not an array: wrong type, PROOF_MALFORMED.",
        &raw(&format!("\"{}\"", b64(&path[0])), "3", "7"),
    );
    m(
        "hash-not-a-string",
        "A hash is a number, not a base64 string: wrong type, PROOF_MALFORMED.",
        &raw(&format!("[{},1]", &hashes[1..hashes.len() - 1]), "3", "7"),
    );
    let one_off = |text: String| raw(&format!("[{text},{}]", &hashes[1..hashes.len() - 1]), "3", "7");
    m(
        "hash-of-31-bytes",
        "An extra hash of 31 bytes: a hash that is not 32 bytes is PROOF_MALFORMED.",
        &one_off(format!("\"{}\"", b64(&path[0][..31]))),
    );
    m(
        "hash-of-33-bytes",
        "An extra hash of 33 bytes: a hash that is not 32 bytes is PROOF_MALFORMED.",
        &one_off(format!("\"{}\"", b64(&[&path[0][..], &[0]].concat()))),
    );
    m(
        "hash-in-base64url",
        "An extra hash in base64url ('-', '_'): hashes are standard base64, so PROOF_MALFORMED.",
        &one_off(format!("\"{}\"", b64url(&PLUS_SLASH))),
    );
    m(
        "hash-without-padding",
        "A hash in base64 without its '=' padding: hashes are base64 with padding, so PROOF_MALFORMED.",
        &raw(&hashes.replacen("=\"", "\"", 1), "3", "7"),
    );

    // The proof does not lead to the root.
    let mut too_many = path.clone();
    too_many.push(path[0]);
    c(
        "one-hash-too-many",
        "The audit path has an extra hash: RFC 9162 §2.1.3.2 fails on a path too long, INCLUSION_PROOF_INVALID.",
        Error(InclusionProofInvalid),
        &inclusion_json(&too_many, "3", "7"),
        &cp7,
        &keys,
        r3(),
    );
    c(
        "one-hash-too-few",
        "The audit path lacks its last hash: it does not reach the root, INCLUSION_PROOF_INVALID.",
        Error(InclusionProofInvalid),
        &inclusion_json(&path[..path.len() - 1], "3", "7"),
        &cp7,
        &keys,
        r3(),
    );
    let mut wrong = path.clone();
    wrong[1] = altered(&wrong[1]);
    let wrong_proof = inclusion_json(&wrong, "3", "7");
    c(
        "wrong-hash",
        "A hash of the audit path is changed: the path leads to another root, INCLUSION_PROOF_INVALID.",
        Error(InclusionProofInvalid),
        &wrong_proof,
        &cp7,
        &keys,
        r3(),
    );
    c(
        "proof-of-another-record",
        "Receipt 4 with the proof of leaf 3: the leaf index is not the record's seq, INCLUSION_PROOF_INVALID.",
        Error(InclusionProofInvalid),
        &proof,
        &cp7,
        &keys,
        Of::Receipt(world.receipts[4].clone()),
    );
    c(
        "record-not-the-proofs",
        "Record 4's bytes with the proof of leaf 3: the path does not lead from its leaf to the root: 617.",
        Error(InclusionProofInvalid),
        &proof,
        &cp7,
        &keys,
        Of::Record(world.record_bytes[4].clone()),
    );
    let forged_root = checkpoint_of(&world.tree, 7, LOG_ID);
    let forged_root = evidentia::Checkpoint { root: root_at(&world.tree, 6), ..forged_root };
    c(
        "checkpoint-root-of-another-tree",
        "The checkpoint of size 7 is signed but carries the root of 6 records: the path does not reach it, 617.",
        Error(InclusionProofInvalid),
        &proof,
        &signed(&forged_root, k1),
        &keys,
        r3(),
    );

    // The checkpoint, after the receipt.
    let other_cp7 = signed(&checkpoint_of(&world.tree, 7, OTHER_LOG), k1);
    c(
        "checkpoint-of-another-log",
        "The checkpoint's origin is another log than the record's log_id: CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &proof,
        &other_cp7,
        &keys,
        r3(),
    );
    c(
        "checkpoint-of-another-size",
        "The proof is for a tree of 7, the checkpoint of 6: its size is not the proof's tree_size, CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &proof,
        &world.checkpoint(6),
        &keys,
        r3(),
    );
    c(
        "record-and-checkpoint-of-another-size",
        "Record 3's bytes with a proof for 7 and the checkpoint of 6: sizes differ, CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &proof,
        &world.checkpoint(6),
        &keys,
        Of::Record(world.record_bytes[3].clone()),
    );
    let mut other_log = world.records[3].clone();
    other_log.log_id = OTHER_LOG.to_owned();
    c(
        "receipt-of-another-log",
        "A valid receipt of a record of another log, with this log's checkpoint: origin is not the log_id, 620.",
        Error(CheckpointMismatch),
        &proof,
        &cp7,
        &keys,
        Of::Receipt(receipt(k1, &other_log)),
    );
    let unsigned7 = signed(&checkpoint_of(&world.tree, 7, LOG_ID), k3);
    c(
        "checkpoint-not-signed-by-a-trusted-key",
        "The checkpoint is signed by a key outside the set: CHECKPOINT_SIGNATURE_INVALID (§10).",
        Error(CheckpointSignatureInvalid),
        &proof,
        &unsigned7,
        &keys,
        r3(),
    );
    c(
        "record-and-checkpoint-not-signed-by-a-trusted-key",
        "Record 3's bytes with a checkpoint signed by a key outside the set: CHECKPOINT_SIGNATURE_INVALID (§10).",
        Error(CheckpointSignatureInvalid),
        &proof,
        &unsigned7,
        &keys,
        Of::Record(world.record_bytes[3].clone()),
    );
    c(
        "checkpoint-signer-revoked-after-the-record",
        "k1 is revoked after record 3's time, so the receipt verifies, but alone a checkpoint needs a never-revoked signer (§10): 619.",
        Error(CheckpointSignatureInvalid),
        &proof,
        &cp7,
        &jwks(&[jwk_with(k1, r#""revoked":{"revoked_at":1800000100}"#)]),
        r3(),
    );
    c(
        "checkpoint-signer-expired-after-the-record",
        "k1 expired after record 3's time, so the receipt verifies, and a checkpoint has no time, so exp does not matter (§10): valid.",
        Valid,
        &proof,
        &cp7,
        &jwks(&[jwk_with(k1, r#""exp":1800000005"#)]),
        r3(),
    );
    c(
        "checkpoint-malformed",
        "The checkpoint's size has a leading zero: CHECKPOINT_MALFORMED (§10 step 4).",
        Error(CheckpointMalformed),
        &proof,
        &cp7.replacen("\n7\n", "\n07\n", 1),
        &keys,
        r3(),
    );

    // The receipt, verified first.
    let bad_signature = jws(k3, receipt_header(k1.kid()).as_bytes(), &world.record_bytes[3]);
    c(
        "receipt-signature-invalid",
        "The receipt's signature is not k1's though its kid names k1: the receipt's first failure, SIGNATURE_INVALID.",
        Error(SignatureInvalid),
        &proof,
        &cp7,
        &keys,
        Of::Receipt(bad_signature.clone()),
    );
    c(
        "receipt-key-expired",
        "k1 expired (exp 2027-01-15T08:00:02Z) before record 3's time (08:00:03Z): the receipt's first failure, KEY_EXPIRED.",
        Error(KeyExpired),
        &proof,
        &cp7,
        &jwks(&[jwk_with(k1, r#""exp":1800000002"#)]),
        r3(),
    );
    // Record 3 as k3 would have made it: the same fields, k3's kid.
    let stranger = record(3, world.records[3].prev, &event(3), at(3), k3);
    c(
        "receipt-by-an-unknown-key",
        "The receipt is signed by a key outside the set: the receipt's first failure, KEY_NOT_FOUND, before the proof.",
        Error(KeyNotFound),
        &proof,
        &cp7,
        &keys,
        Of::Receipt(receipt(k3, &stranger)),
    );
    c(
        "receipt-kid-mismatch",
        "k1 signed a record naming k3's kid: the receipt's first (and only) failure, KID_MISMATCH, is the result (§12).",
        Error(KidMismatch),
        &proof,
        &cp7,
        &keys,
        Of::Receipt(jws(k1, receipt_header(k1.kid()).as_bytes(), &stranger.to_bytes())),
    );
    c(
        "receipt-not-a-jws",
        "The receipt has two '.'-separated parts, not three: malformed receipt input is an error, JWS_MALFORMED (§12, §5).",
        Error(JwsMalformed),
        &proof,
        &cp7,
        &keys,
        Of::Receipt("eyJhbGciOiJFUzI1NiJ9.e30".to_owned()),
    );
    let wrong_inner = {
        let mut inner = inclusion(&world.batch_tree, 2, 3);
        inner.hashes[0] = altered(&inner.hashes[0]);
        batch_receipt_json(&world.batch_records[2], &value(&inner.to_json().expect("small")), &batch_cp3)
    };
    c(
        "batch-receipt-proof-invalid",
        "The batch receipt's own proof fails (§11 inclusion) though the proof given leads to the checkpoint: 617 from the batch receipt.",
        Error(InclusionProofInvalid),
        &batch_proof5,
        &batch_cp5,
        &keys,
        Of::Batch(wrong_inner),
    );
    c(
        "batch-receipt-not-canonical",
        "The batch receipt has a space after '{': not exactly canonical JSON, BATCH_RECEIPT_MALFORMED (§11).",
        Error(BatchReceiptMalformed),
        &batch_proof5,
        &batch_cp5,
        &keys,
        Of::Batch(batch2.replacen('{', "{ ", 1)),
    );

    // Two failures, to pin the order §9 gives.
    c(
        "proof-malformed-and-receipt-signature-invalid",
        "A proof whose leaf index is a string and a receipt whose signature fails: the proof is read first, PROOF_MALFORMED.",
        Error(ProofMalformed),
        &raw(&hashes, "\"3\"", "7"),
        &cp7,
        &keys,
        Of::Receipt(bad_signature.clone()),
    );
    c(
        "receipt-signature-invalid-and-checkpoint-malformed",
        "A receipt whose signature fails and a malformed checkpoint: the receipt comes before the checkpoint, SIGNATURE_INVALID.",
        Error(SignatureInvalid),
        &proof,
        &cp7.replacen("\n7\n", "\n07\n", 1),
        &keys,
        Of::Receipt(bad_signature),
    );
    c(
        "checkpoint-unsigned-and-of-another-log",
        "A checkpoint of another log signed by an untrusted key: the signature (§10) is checked before the origin, 619.",
        Error(CheckpointSignatureInvalid),
        &proof,
        &signed(&checkpoint_of(&world.tree, 7, OTHER_LOG), k3),
        &keys,
        r3(),
    );
    c(
        "checkpoint-of-another-size-and-wrong-hash",
        "A checkpoint of 6 for a proof of 7 whose path is also wrong: the sizes are compared first, CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &wrong_proof,
        &world.checkpoint(6),
        &keys,
        r3(),
    );
}

#[allow(clippy::too_many_arguments)]
fn consistency_case(
    suite: &mut Suite,
    slug: &str,
    why: &str,
    outcome: Outcome,
    proof: &str,
    old: &str,
    new: &str,
    keys: &str,
) {
    let inputs = vec![
        file("proof", "proof.json", proof),
        file("old_checkpoint", "old-checkpoint.txt", old),
        file("checkpoint", "checkpoint.txt", new),
        file("jwks", "keys.jwks", keys),
    ];
    suite.add("consistency", slug, Op::Consistency, "§9", why, outcome, inputs);
}

pub(crate) fn consistency_cases(suite: &mut Suite, world: &World) {
    use Outcome::{Error, Valid};
    let (k1, k2, k3) = (&world.k1, &world.k2, &world.k3);
    let keys = world.keys();
    let proof_of = |old: u64, new: u64| consistency(&world.tree, old, new).to_json().expect("small");
    let path = consistency(&world.tree, 3, 7).hashes;
    let proof = proof_of(3, 7);
    let (cp3, cp7) = (world.checkpoint(3), world.checkpoint(7));
    let mut c = |slug: &str, why: &str, outcome: Outcome, proof: &str, old: &str, new: &str, keys: &str| {
        consistency_case(suite, slug, why, outcome, proof, old, new, keys)
    };

    for (old, new, why) in [
        (3, 7, "From 3 to 7 records, both checkpoints signed by the log's key: valid."),
        (1, 7, "From 1 to 7 records: valid."),
        (4, 7, "From 4 records (a power of two, whose root the proof omits) to 7: valid."),
        (6, 7, "From 6 to 7 records: valid."),
    ] {
        c(
            &format!("from-{old}-to-{new}"),
            why,
            Valid,
            &proof_of(old, new),
            &world.checkpoint(old),
            &world.checkpoint(new),
            &keys,
        );
    }
    c(
        "equal-sizes",
        "From 7 to 7 records with an empty proof and equal roots: valid (§9, equal sizes).",
        Valid,
        &consistency_json(&[], "7", "7"),
        &cp7,
        &cp7,
        &keys,
    );
    let reformatted = format!(
        "{{ \"type\": \"consistency\", \"old_size\": 3, \"new_size\": 7,\n  \"hashes\": [{}] }}\n",
        path.iter().map(|h| format!("\"{}\"", b64(h))).collect::<Vec<_>>().join(", ")
    );
    c(
        "proof-reformatted",
        "The proof with spaces, line feeds and members in another order: read in any formatting §1 accepts, valid.",
        Valid,
        &reformatted,
        &cp3,
        &cp7,
        &keys,
    );
    c(
        "sizes-as-fraction-and-exponent",
        "old_size 3.0 and new_size 7e0 are the numbers 3 and 7 (§1 reads numbers as doubles, canonically 3 and 7): valid.",
        Valid,
        &consistency_json(&path, "3.0", "7e0"),
        &cp3,
        &cp7,
        &keys,
    );
    c(
        "signed-by-two-keys-of-the-set",
        "The old checkpoint signed by k1, the new by k2 (after a rotation), both in the set: valid.",
        Valid,
        &proof,
        &cp3,
        &signed(&checkpoint_of(&world.tree, 7, LOG_ID), k2),
        &set(&[k1, k2]),
    );

    // The proof is read first: PROOF_MALFORMED.
    let hashes = hashes_json(&path);
    let raw = |hashes: &str, old: &str, new: &str| {
        format!(r#"{{"hashes":{hashes},"new_size":{new},"old_size":{old},"type":"consistency"}}"#)
    };
    let mut m = |slug: &str, why: &str, proof: &str| c(slug, why, Error(ProofMalformed), proof, &cp3, &cp7, &keys);
    m(
        "from-the-empty-tree",
        "Old size 0: a proof from the empty tree proves nothing and is refused as malformed, PROOF_MALFORMED.",
        &raw("[]", "0", "7"),
    );
    m(
        "from-0-to-0",
        "Old size 0 and new size 0: a proof from the empty tree, 0 → 0 included, is PROOF_MALFORMED.",
        &raw("[]", "0", "0"),
    );
    m(
        "old-above-new",
        "Old size 7 above new size 3: PROOF_MALFORMED, before the checkpoints are looked at.",
        &raw(&hashes, "7", "3"),
    );
    m(
        "proof-not-json",
        "The proof is not JSON (it is cut short): invalid JSON is PROOF_MALFORMED.",
        &proof[..proof.len() - 1],
    );
    m(
        "old-size-missing",
        "The proof lacks old_size; exactly four members are needed: PROOF_MALFORMED.",
        &format!(r#"{{"hashes":{hashes},"new_size":7,"type":"consistency"}}"#),
    );
    m(
        "extra-member",
        "The proof has a fifth member (leaf_index); exactly four members are allowed: PROOF_MALFORMED.",
        &format!(r#"{{"hashes":{hashes},"leaf_index":3,"new_size":7,"old_size":3,"type":"consistency"}}"#),
    );
    m(
        "type-inclusion",
        "The proof's type is inclusion, with a consistency proof's members: not a consistency proof, PROOF_MALFORMED.",
        &raw(&hashes, "3", "7").replace("\"consistency\"", "\"inclusion\""),
    );
    m(
        "old-size-as-string",
        "The old size is the string \"3\", not a number: wrong type, PROOF_MALFORMED.",
        &raw(&hashes, "\"3\"", "7"),
    );
    m("old-size-negative", "The old size is -3, not a count: PROOF_MALFORMED.", &raw(&hashes, "-3", "7"));
    m(
        "new-size-of-2-53",
        "The new size 9007199254740992 is beyond 2^53 − 1: PROOF_MALFORMED.",
        &raw(&hashes, "3", "9007199254740992"),
    );
    m(
        "hashes-not-an-array",
        "The hashes member is an object, not an array: wrong type, PROOF_MALFORMED.",
        &raw("{}", "3", "7"),
    );
    m(
        "hash-of-31-bytes",
        "A hash of 31 bytes in place of the first: a hash that is not 32 bytes is PROOF_MALFORMED.",
        &raw(&hashes.replacen(&b64(&path[0]), &b64(&path[0][..31]), 1), "3", "7"),
    );
    m(
        "hash-in-hex",
        "A hash written as 64 hexadecimal digits decodes as base64 to 48 bytes, not 32: PROOF_MALFORMED.",
        &raw(&format!("[\"{}\"]", evidentia::encoding::hex(&path[0])), "3", "7"),
    );

    // The proof does not lead from the old root to the new.
    let mut v = |slug: &str, why: &str, proof: &str, old: &str, new: &str| {
        c(slug, why, Error(ConsistencyProofInvalid), proof, old, new, &keys)
    };
    v(
        "equal-sizes-with-a-hash",
        "From 7 to 7 with one hash: equal sizes need an empty proof, CONSISTENCY_PROOF_INVALID.",
        &consistency_json(&[path[0]], "7", "7"),
        &cp7,
        &cp7,
    );
    let batch5 = signed(&checkpoint_of(&world.batch_tree, 5, LOG_ID), k1);
    v(
        "equal-sizes-different-roots",
        "From 5 to 5 with an empty proof, but the two checkpoints' roots differ: equal sizes need equal roots, 618.",
        &consistency_json(&[], "5", "5"),
        &world.checkpoint(5),
        &batch5,
    );
    let mut wrong = path.clone();
    wrong[0] = altered(&wrong[0]);
    let wrong_proof = consistency_json(&wrong, "3", "7");
    v(
        "wrong-hash",
        "A hash of the proof is changed: it does not lead from the old root to the new, 618.",
        &wrong_proof,
        &cp3,
        &cp7,
    );
    v(
        "one-hash-too-few",
        "The proof lacks its last hash: CONSISTENCY_PROOF_INVALID.",
        &consistency_json(&path[..path.len() - 1], "3", "7"),
        &cp3,
        &cp7,
    );
    let mut too_many = path.clone();
    too_many.push(path[0]);
    v(
        "one-hash-too-many",
        "The proof has an extra hash: CONSISTENCY_PROOF_INVALID.",
        &consistency_json(&too_many, "3", "7"),
        &cp3,
        &cp7,
    );
    v(
        "old-checkpoint-of-a-fork",
        "The old checkpoint of 3 is signed but of other records (the batch log's): the proof does not lead from its root, 618.",
        &proof,
        &signed(&checkpoint_of(&world.batch_tree, 3, LOG_ID), k1),
        &cp7,
    );

    // The checkpoints: verified older first, then compared with each other and the proof.
    let other3 = signed(&checkpoint_of(&world.tree, 3, OTHER_LOG), k1);
    c(
        "checkpoints-of-different-logs",
        "The old checkpoint names another origin than the new one: CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &proof,
        &other3,
        &cp7,
        &keys,
    );
    c(
        "old-checkpoint-of-another-size",
        "The proof is from 3, the old checkpoint of 4: the proof's sizes are not theirs, CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &proof,
        &world.checkpoint(4),
        &cp7,
        &keys,
    );
    c(
        "new-checkpoint-of-another-size",
        "The proof is to 7, the new checkpoint of 6: the proof's sizes are not theirs, CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &proof,
        &cp3,
        &world.checkpoint(6),
        &keys,
    );
    c(
        "checkpoints-swapped",
        "The checkpoint of 7 given as the old one and that of 3 as the new: sizes are not the proof's, CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &proof,
        &cp7,
        &cp3,
        &keys,
    );
    c(
        "old-checkpoint-unsigned",
        "The old checkpoint is signed by a key outside the set: CHECKPOINT_SIGNATURE_INVALID (§10).",
        Error(CheckpointSignatureInvalid),
        &proof,
        &signed(&checkpoint_of(&world.tree, 3, LOG_ID), k3),
        &cp7,
        &keys,
    );
    c(
        "new-checkpoint-by-a-revoked-key",
        "The new checkpoint's only signer is revoked: alone a checkpoint trusts never-revoked keys only (§10), 619.",
        Error(CheckpointSignatureInvalid),
        &proof,
        &signed(&checkpoint_of(&world.tree, 3, LOG_ID), k2),
        &cp7,
        &jwks(&[jwk_with(k1, r#""revoked":{"revoked_at":1800000010}"#), jwk(k2)]),
    );
    c(
        "new-checkpoint-malformed",
        "The new checkpoint's root lacks its padding: CHECKPOINT_MALFORMED (§10 step 4).",
        Error(CheckpointMalformed),
        &proof,
        &cp3,
        &cp7.replacen("=\n", "\n", 1),
        &keys,
    );

    // Two failures, to pin the order §9 gives.
    c(
        "proof-malformed-and-checkpoints-of-different-logs",
        "Old size 0 and checkpoints of different logs: the proof is read first, PROOF_MALFORMED.",
        Error(ProofMalformed),
        &raw("[]", "0", "7"),
        &other3,
        &cp7,
        &keys,
    );
    c(
        "old-unsigned-and-new-malformed",
        "The old checkpoint unsigned by a trusted key, the new malformed: the older is verified first, 619.",
        Error(CheckpointSignatureInvalid),
        &proof,
        &signed(&checkpoint_of(&world.tree, 3, LOG_ID), k3),
        &cp7.replacen("=\n", "\n", 1),
        &keys,
    );
    c(
        "old-malformed-and-new-unsigned",
        "The old checkpoint malformed, the new unsigned by a trusted key: the older is verified first, 801.",
        Error(CheckpointMalformed),
        &proof,
        &cp3.replacen("=\n", "\n", 1),
        &signed(&checkpoint_of(&world.tree, 7, LOG_ID), k3),
        &keys,
    );
    c(
        "new-unsigned-and-of-another-size",
        "The new checkpoint, of 6 for a proof to 7, is unsigned by a trusted key: signatures come before sizes, 619.",
        Error(CheckpointSignatureInvalid),
        &proof,
        &cp3,
        &signed(&checkpoint_of(&world.tree, 6, LOG_ID), k3),
        &keys,
    );
    c(
        "different-logs-and-wrong-hash",
        "Checkpoints of different logs and a proof with a wrong hash: the origins are compared first, CHECKPOINT_MISMATCH.",
        Error(CheckpointMismatch),
        &wrong_proof,
        &other3,
        &cp7,
        &keys,
    );
}
