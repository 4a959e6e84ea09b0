//! `testvectors/witness.json`: checkpoints cosigned by witnesses, checked against a
//! tlog-policy, and tlog-proof files (SPEC.md §22), for every binding's run. An
//! Evidentia log (ECDSA P-256, `sign_checkpoint`) and three witnesses (Ed25519,
//! `cosignature/v1`) with fixed keys sign the notes here; the expected verdicts
//! are core's, and each is also asserted here, so that a change in core's answer
//! fails the generation instead of silently changing the file.

use ed25519_dalek::Signer as _;
use evidentia::encoding::b64;
use evidentia::json::{Number, Value};
use evidentia::merkle::{MemoryTree, inclusion_proof, leaf_hash};
use evidentia::{
    Checkpoint, Digest, NoteVerifier, Policy, PolicyResult, SigningKey, TlogProof, WitnessKey, sign_checkpoint,
};

const DESCRIPTION: &str = "Witness cosignatures and policies (SPEC.md §22). Each 'policies' case checks the signed checkpoint note against the tlog-policy text (the quorum must be met); each 'proofs' case verifies the tlog-proof text for the entry (UTF-8 text, hashed as an RFC 6962 leaf) against the policy. 'code' names the error expected (null when valid); 'result' is what a valid check gives: the checkpoint's origin, size and root (standard base64), the log key names that signed, the policy witnesses that cosigned (policy name, key name, timestamp) in policy order, and whether the quorum is met.";

const ORIGIN: &str = "example.com/evidentia-witnessed";
const POLICY_GROUP: &str = "group two-of-three 2 w1 w2 w3\nquorum two-of-three\n";

fn number(n: u64) -> Value {
    Value::Number(Number::from_i64(i64::try_from(n).expect("small")).expect("small"))
}

fn seed(label: &str) -> [u8; 32] {
    *Digest::sha256(format!("evidentia witness vector {label}").as_bytes()).as_bytes()
}

struct Witness {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl Witness {
    fn vkey(&self) -> String {
        WitnessKey::new(&self.name, self.key.verifying_key().as_bytes()).expect("a witness key").to_vkey()
    }

    /// A `cosignature/v1` line on the checkpoint text at `time`.
    fn cosign(&self, text: &str, time: u64) -> String {
        let key = WitnessKey::new(&self.name, self.key.verifying_key().as_bytes()).expect("a witness key");
        let message = evidentia::cosignature_message(text, time);
        let mut bytes = key.key_hash().to_vec();
        bytes.extend_from_slice(&time.to_be_bytes());
        bytes.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
        format!("\u{2014} {} {}\n", self.name, b64(&bytes))
    }
}

/// The case's verdict, as core gives it, checked against the one expected.
fn verdict(name: &str, outcome: evidentia::Result<PolicyResult>, expected: Option<&str>) -> (Value, Value) {
    let got = outcome.as_ref().err().map(|e| e.code().name());
    assert_eq!(got, expected, "witness.json case {name:?}: {outcome:?}");
    match outcome {
        Ok(result) => (Value::Null, result.to_value()),
        Err(e) => (Value::from(e.code().name()), Value::Null),
    }
}

pub(crate) fn generate() -> Value {
    let log = SigningKey::from_bytes(&seed("log")).expect("a P-256 scalar");
    let other_log = SigningKey::from_bytes(&seed("another log")).expect("a P-256 scalar");
    let log_vkey = NoteVerifier::new(ORIGIN, log.public_key()).expect("a note key").to_vkey();
    let witnesses: Vec<Witness> = (1..=3)
        .map(|i| Witness {
            name: format!("witness{i}.example"),
            key: ed25519_dalek::SigningKey::from_bytes(&seed(&format!("witness {i}"))),
        })
        .collect();
    let mut head = format!("# An Evidentia log and three witnesses, two of which must cosign\nlog {log_vkey}\n");
    for (i, w) in witnesses.iter().enumerate() {
        head.push_str(&format!("witness w{} {}\n", i + 1, w.vkey()));
    }
    let policy_text = format!("{head}{POLICY_GROUP}");
    let policy = Policy::parse(&policy_text).expect("the vectors' policy");

    let entries: Vec<String> = (0..5).map(|i| format!("entry {i}")).collect();
    let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e.as_bytes())));
    let checkpoint =
        Checkpoint { origin: ORIGIN.into(), size: entries.len() as u64, root: tree.root(), extensions: vec![] };
    let text = checkpoint.to_text();
    let signed = sign_checkpoint(&checkpoint, &log).expect("signing");
    let cosigned_by = |which: &[usize]| -> String {
        let mut note = signed.clone();
        for &i in which {
            note.push_str(&witnesses[i - 1].cosign(&text, 1_767_225_600 + i as u64 * 60));
        }
        note
    };
    let two = cosigned_by(&[1, 3]);
    let one = cosigned_by(&[2]);
    // The last byte of w3's signature (the note's last line) changed.
    let tampered = {
        let mut bytes = two.clone().into_bytes();
        let at = bytes.len() - 3;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("base64 stays text")
    };
    let foreign = {
        let mut note = sign_checkpoint(&checkpoint, &other_log).expect("signing");
        note.push_str(&witnesses[0].cosign(&text, 1_767_225_660));
        note.push_str(&witnesses[1].cosign(&text, 1_767_225_720));
        note
    };
    let malformed = format!("{head}group two-of-three 4 w1 w2 w3\nquorum two-of-three\n");
    let one_of_three = format!("{head}group any-of-three any w1 w2 w3\nquorum any-of-three\n");

    let mut policies = Vec::new();
    let mut policy_case = |name: &str, policy_text: &str, note: &str, expected: Option<&str>| {
        let outcome = Policy::parse(policy_text).and_then(|p| p.check(note));
        let (code, result) = verdict(name, outcome, expected);
        policies.push(Value::object([
            ("code", code),
            ("name", Value::from(name)),
            ("note", Value::from(note)),
            ("policy", Value::from(policy_text)),
            ("result", result),
        ]));
    };
    policy_case("2 of 3 witnesses cosigned: the quorum is met", &policy_text, &two, None);
    policy_case("3 of 3 witnesses cosigned", &policy_text, &cosigned_by(&[3, 2, 1]), None);
    policy_case("1 of 3 witnesses cosigned: refused", &policy_text, &one, Some("POLICY_NOT_SATISFIED"));
    policy_case("1 of 3 witnesses cosigned, under a 1-of-3 policy", &one_of_three, &one, None);
    policy_case("no cosignature", &policy_text, &signed, Some("POLICY_NOT_SATISFIED"));
    policy_case("a tampered cosignature", &policy_text, &tampered, Some("COSIGNATURE_INVALID"));
    policy_case(
        "signed by a key the policy does not name",
        &policy_text,
        &foreign,
        Some("CHECKPOINT_SIGNATURE_INVALID"),
    );
    policy_case("a group of 3 needing 4: a malformed policy", &malformed, &two, Some("POLICY_MALFORMED"));
    policy_case("not a checkpoint note", &policy_text, "not a note\n", Some("CHECKPOINT_MALFORMED"));

    let proof_text = |index: u64, note: &str| -> String {
        let hashes = inclusion_proof(&tree, index, checkpoint.size).expect("a proof");
        TlogProof { extra: None, index, hashes, checkpoint: note.to_owned() }.to_text()
    };
    let mut proofs = Vec::new();
    let mut proof_case = |name: &str, proof: &str, entry: &str, expected: Option<&str>| {
        let outcome = TlogProof::parse(proof).and_then(|p| p.verify(entry.as_bytes(), &policy));
        let (code, result) = verdict(name, outcome, expected);
        proofs.push(Value::object([
            ("code", code),
            ("entry", Value::from(entry)),
            ("name", Value::from(name)),
            ("policy", Value::from(policy_text.as_str())),
            ("proof", Value::from(proof)),
            ("result", result),
        ]));
    };
    proof_case("entry 3, cosigned by 2 of 3", &proof_text(3, &two), "entry 3", None);
    proof_case("entry 0, cosigned by 2 of 3", &proof_text(0, &two), "entry 0", None);
    proof_case("another entry", &proof_text(3, &two), "entry 2", Some("INCLUSION_PROOF_INVALID"));
    proof_case("cosigned by 1 of 3: refused", &proof_text(3, &one), "entry 3", Some("POLICY_NOT_SATISFIED"));
    proof_case("a tampered cosignature", &proof_text(3, &tampered), "entry 3", Some("COSIGNATURE_INVALID"));
    let leading_zero = proof_text(3, &two).replacen("index 3\n", "index 03\n", 1);
    proof_case("an index with a leading zero", &leading_zero, "entry 3", Some("PROOF_MALFORMED"));

    Value::object([
        ("description", Value::from(DESCRIPTION)),
        ("generator", Value::from("cargo xtask vectors")),
        ("policies", Value::Array(policies)),
        ("proofs", Value::Array(proofs)),
        ("version", number(1)),
    ])
}
