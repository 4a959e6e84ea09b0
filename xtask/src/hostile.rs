//! `testvectors/hostile.json`: the hostile-input corpus. Every entry point that
//! takes outside data, in every language, is fed each case of its kind and must
//! return a result or an error with a code of the table: never panic, crash, hang
//! or allocate without bound.
//!
//! The cases are hand-written nasties plus systematic mutations of valid artifacts
//! the core makes here (truncations, bit flips, doubled and deleted bytes, members
//! missing, of the wrong type, duplicated, added or swapped). Generation is
//! deterministic: fixed keys, fixed times, and a fixed-seed PRNG.

use std::collections::{BTreeMap, HashSet};

use evidentia::encoding::{b64, b64url};
use evidentia::json::Value;
use evidentia::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root};
use evidentia::package::{PackageFile, PackageInput, build_package};
use evidentia::timestamp::{HashAlgorithm, TimestampRequest, read_certificates, timestamp_token};
use evidentia::{
    BatchReceipt, ChainState, Checkpoint, ConsistencyProof, Digest, InclusionProof, KeySet, NoteVerifier, SigningKey,
    Validity, canonicalize, canonicalize_value, evidence_file, issue_receipt, sign_checkpoint, sign_jws, sign_note,
};

use crate::vectors::{EVENTS, LOG_ID, test_key, time};

/// SplitMix64 with a fixed seed: the same corpus on every run, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A JSON string literal (RFC 8785 escaping).
fn quote(text: &str) -> String {
    String::from_utf8(canonicalize_value(&Value::from(text)).expect("a string is JSON")).expect("UTF-8")
}

fn bytes64(bytes: &[u8]) -> String {
    quote(&b64(bytes))
}

/// The corpus being built: cases in order, without duplicates (same kind, same inputs).
struct Corpus {
    cases: Vec<(&'static str, String, String)>,
    seen: HashSet<(&'static str, String)>,
    names: HashSet<(&'static str, String)>,
}

impl Corpus {
    /// Adds a case whose inputs are the raw JSON members `members` (after kind and name).
    fn raw(&mut self, kind: &'static str, name: &str, members: String) {
        if !self.seen.insert((kind, members.clone())) {
            return;
        }
        let mut name = name.to_owned();
        let mut n = 2;
        while self.names.contains(&(kind, name.clone())) {
            name = format!("{} ({n})", name.trim_end_matches(&format!(" ({})", n - 1)));
            n += 1;
        }
        self.names.insert((kind, name.clone()));
        self.cases.push((kind, name, members));
    }

    fn add(&mut self, kind: &'static str, name: &str, input: &[u8]) {
        self.raw(kind, name, format!("\"input\":{}", bytes64(input)));
    }

    fn add2(&mut self, kind: &'static str, name: &str, input: &[u8], input2: Option<&[u8]>) {
        match input2 {
            None => self.add(kind, name, input),
            Some(second) => {
                self.raw(kind, name, format!("\"input\":{},\"input2\":{}", bytes64(input), bytes64(second)))
            }
        }
    }

    /// Adds every mutation of `base` (see [`mutations`]) under `kind`.
    fn mutations(&mut self, kind: &'static str, what: &str, base: &[u8], plan: Plan, rng: &mut Rng) {
        for (name, bytes) in mutations(base, plan, rng) {
            self.add(kind, &format!("{what}: {name}"), &bytes);
        }
    }
}

/// How many mutations of each sort to make of one artifact.
#[derive(Clone, Copy)]
struct Plan {
    cuts: usize,
    flips: usize,
    doubles: usize,
    deletes: usize,
    swaps: usize,
}

impl Plan {
    const fn new(cuts: usize, flips: usize, doubles: usize, deletes: usize, swaps: usize) -> Plan {
        Plan { cuts, flips, doubles, deletes, swaps }
    }
}

/// Systematic mutations of `base`: truncations at spread points, single-bit flips at
/// spread positions, a byte doubled, a byte deleted, two adjacent bytes swapped.
/// Positions are spread evenly over the input, each within its stretch by the PRNG.
fn mutations(base: &[u8], plan: Plan, rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let len = base.len();
    let mut out = Vec::new();
    if len == 0 {
        return out;
    }
    let spread = |count: usize, rng: &mut Rng| -> Vec<usize> {
        (0..count)
            .map(|i| {
                let (from, to) = (i * len / count, ((i + 1) * len / count).max(i * len / count + 1));
                (from + rng.below(to - from)).min(len - 1)
            })
            .collect()
    };
    for k in 1..=plan.cuts {
        let cut = len * k / (plan.cuts + 1);
        out.push((format!("cut to {cut} of {len} bytes"), base[..cut].to_vec()));
    }
    if plan.cuts > 0 {
        out.push((format!("cut to {} of {len} bytes", len - 1), base[..len - 1].to_vec()));
    }
    for pos in spread(plan.flips, rng) {
        let bit = rng.below(8);
        let mut bytes = base.to_vec();
        bytes[pos] ^= 1 << bit;
        out.push((format!("bit {bit} of byte {pos} flipped"), bytes));
    }
    for pos in spread(plan.doubles, rng) {
        let mut bytes = base.to_vec();
        bytes.insert(pos, base[pos]);
        out.push((format!("byte {pos} doubled"), bytes));
    }
    for pos in spread(plan.deletes, rng) {
        let mut bytes = base.to_vec();
        bytes.remove(pos);
        out.push((format!("byte {pos} deleted"), bytes));
    }
    for pos in spread(plan.swaps, rng) {
        if pos + 1 < len && base[pos] != base[pos + 1] {
            let mut bytes = base.to_vec();
            bytes.swap(pos, pos + 1);
            out.push((format!("bytes {pos} and {} swapped", pos + 1), bytes));
        }
    }
    out
}

/// Raw JSON values of a wrong type or out of range, for any member.
const WRONG: &[(&str, &str)] = &[
    ("null", "null"),
    ("true", "true"),
    ("0", "0"),
    ("-1", "-1"),
    ("2^53", "9007199254740992"),
    ("2^64", "18446744073709551616"),
    ("1e999999", "1e999999"),
    ("an empty string", "\"\""),
    ("another string", "\"x\""),
    ("a lone surrogate", "\"\\ud800\""),
    ("an empty array", "[]"),
    ("an empty object", "{}"),
    ("nested arrays", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
];

/// The members of a JSON object as (name, raw canonical value text).
fn members_of(json: &[u8]) -> Vec<(String, String)> {
    let value = evidentia::json::parse(json).expect("a valid artifact");
    value
        .as_object()
        .expect("an object")
        .iter()
        .map(|(name, value)| {
            (name.clone(), String::from_utf8(canonicalize_value(value).expect("valid")).expect("UTF-8"))
        })
        .collect()
}

fn object_text(members: &[(String, String)]) -> String {
    let inner: Vec<String> = members.iter().map(|(name, value)| format!("{}:{value}", quote(name))).collect();
    format!("{{{}}}", inner.join(","))
}

/// Variants of an object: each member missing, of every wrong type, given twice
/// (first or second with a wrong value), the values of two members swapped, and
/// members added. `extra` holds additional raw values to try for a member.
fn object_variants(members: &[(String, String)], extra: &[(&str, &str, &str)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, (name, value)) in members.iter().enumerate() {
        let mut without = members.to_vec();
        without.remove(i);
        out.push((format!("'{name}' missing"), object_text(&without)));
        for (what, wrong) in WRONG {
            let mut changed = members.to_vec();
            changed[i].1 = (*wrong).to_owned();
            out.push((format!("'{name}' is {what}"), object_text(&changed)));
        }
        for (member, what, raw) in extra {
            if member == name {
                let mut changed = members.to_vec();
                changed[i].1 = (*raw).to_owned();
                out.push((format!("'{name}' is {what}"), object_text(&changed)));
            }
        }
        let mut twice = members.to_vec();
        twice.insert(i + 1, (name.clone(), value.clone()));
        out.push((format!("'{name}' twice, same value"), object_text(&twice)));
        let mut twice = members.to_vec();
        twice.insert(i + 1, (name.clone(), "null".to_owned()));
        out.push((format!("'{name}' twice, then null"), object_text(&twice)));
    }
    // Neighbours, and the first with the last.
    let n = members.len();
    let pairs: Vec<(usize, usize)> =
        (0..n.saturating_sub(1)).map(|i| (i, i + 1)).chain((n > 2).then_some((0, n - 1))).collect();
    for (i, j) in pairs {
        {
            if members[i].1 != members[j].1 {
                let mut swapped = members.to_vec();
                let value = swapped[i].1.clone();
                swapped[i].1 = swapped[j].1.clone();
                swapped[j].1 = value;
                out.push((format!("'{}' and '{}' swapped", members[i].0, members[j].0), object_text(&swapped)));
            }
        }
    }
    let mut added = members.to_vec();
    added.push(("zzz".into(), "1".into()));
    out.push(("an extra member".into(), object_text(&added)));
    let mut added = members.to_vec();
    added.insert(0, (String::new(), "null".into()));
    out.push(("an extra member with an empty name".into(), object_text(&added)));
    let mut added = members.to_vec();
    added.push(("\u{0}".into(), "[]".into()));
    out.push(("an extra member named NUL".into(), object_text(&added)));
    out
}

/// Every fixed artifact the cases derive from and the runners use as the other
/// arguments of an entry point.
struct Fixture {
    key: SigningKey,
    jwks: String,
    /// Receipts of a four-record receipts-mode log, with canonical events.
    receipts: Vec<(String, Vec<u8>, Vec<u8>)>,
    checkpoint: String,
    old_checkpoint: String,
    checkpoint_at_two: String,
    inclusion: String,
    consistency: String,
    leaf: Vec<u8>,
    root: Vec<u8>,
    old_root: Vec<u8>,
    /// The same events appended in one batch to a batch-mode log.
    batch_records: Vec<Vec<u8>>,
    batch_receipts: Vec<String>,
    batch_checkpoint: String,
    jws: String,
    detached: String,
    vkey: String,
}

fn fixture() -> Fixture {
    let key = test_key(1);
    let jwks = KeySet::single(key.public_key()).to_json();
    let mut chain = ChainState::new(LOG_ID).expect("valid id");
    let receipts: Vec<(String, Vec<u8>, Vec<u8>)> = EVENTS
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let nonce = (i % 2 == 0).then(|| format!("req-{i:04}"));
            let issued = issue_receipt(&key, &mut chain, event.as_bytes(), time(60 * i as i64), nonce.as_deref())
                .expect("issue");
            (issued.receipt.as_str().to_owned(), issued.event, issued.receipt.record_bytes().to_vec())
        })
        .collect();
    let tree = MemoryTree::from_leaf_hashes(receipts.iter().map(|r| leaf_hash(&r.2)));
    let checkpoint_at = |size: u64| {
        let checkpoint = Checkpoint {
            origin: LOG_ID.into(),
            size,
            root: root(&tree, size).expect("in the tree"),
            extensions: vec![],
        };
        sign_checkpoint(&checkpoint, &key).expect("valid origin")
    };
    let inclusion =
        InclusionProof { leaf_index: 1, tree_size: 4, hashes: inclusion_proof(&tree, 1, 4).expect("proof") };
    let consistency =
        ConsistencyProof { old_size: 3, new_size: 4, hashes: consistency_proof(&tree, 3, 4).expect("proof") };

    let mut chain = ChainState::new(LOG_ID).expect("valid id");
    let batch_records: Vec<Vec<u8>> = EVENTS
        .iter()
        .map(|event| {
            let canonical = canonicalize(event.as_bytes()).expect("valid");
            chain.append(key.kid(), Digest::sha256(&canonical), time(0), None).expect("record").bytes
        })
        .collect();
    let batch_tree = MemoryTree::from_leaf_hashes(batch_records.iter().map(|r| leaf_hash(r)));
    let batch_checkpoint = sign_checkpoint(
        &Checkpoint { origin: LOG_ID.into(), size: 4, root: batch_tree.root(), extensions: vec![] },
        &key,
    )
    .expect("valid origin");
    let batch_receipts = (0..4u64)
        .map(|i| {
            let proof = InclusionProof {
                leaf_index: i,
                tree_size: 4,
                hashes: inclusion_proof(&batch_tree, i, 4).expect("proof"),
            };
            BatchReceipt::new(&batch_records[i as usize], proof, &batch_checkpoint).expect("consistent").to_json()
        })
        .collect();
    let jws = sign_jws(&key, b"hello", Default::default()).expect("sign");
    let detached = sign_jws(&key, b"hello", evidentia::JwsOptions { detached: true, unencoded: false }).expect("sign");
    let vkey = NoteVerifier::new(LOG_ID, key.public_key()).expect("name").to_vkey();
    Fixture {
        jwks,
        leaf: receipts[1].2.clone(),
        root: root(&tree, 4).expect("root").to_vec(),
        old_root: root(&tree, 3).expect("root").to_vec(),
        checkpoint: checkpoint_at(4),
        old_checkpoint: checkpoint_at(3),
        checkpoint_at_two: checkpoint_at(2),
        inclusion: inclusion.to_json().expect("small"),
        consistency: consistency.to_json().expect("small"),
        receipts,
        batch_records,
        batch_receipts,
        batch_checkpoint,
        jws,
        detached,
        vkey,
        key,
    }
}

/// A compact JWS signed by `key` over the given header and payload texts, as they are.
fn signed(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64url(header), b64url(payload));
    format!("{input}.{}", b64url(&key.sign(input.as_bytes())))
}

fn receipt_header(key: &SigningKey) -> String {
    format!(r#"{{"alg":"ES256","kid":{},"typ":"evidentia-receipt+jws"}}"#, quote(key.kid()))
}

/// The timestamp material: real responses published by others (testvectors/external).
struct Rfc3161 {
    response: Vec<u8>,
    other_response: Vec<u8>,
    data: Vec<u8>,
    roots: Vec<Vec<u8>>,
    intermediates: Vec<Vec<u8>>,
    request: Vec<u8>,
    chain_pem: Vec<u8>,
}

fn rfc3161() -> Rfc3161 {
    let dir = crate::util::root().join("testvectors/external/rfc3161/trailofbits");
    let read = |path: &str| std::fs::read(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let chain_pem = read("sigstore.mock/ts_chain.pem");
    let mut intermediates = read_certificates(&chain_pem).expect("a chain");
    let roots = vec![intermediates.pop().expect("a root")];
    let data = read("sigstore.mock/payload");
    Rfc3161 {
        response: read("sigstore.mock/response-expired.tsr"),
        other_response: read("sigstage/response-no-embedded-cert.tsr"),
        request: TimestampRequest::new(&data, HashAlgorithm::Sha256, *b"hostile!").to_der().to_vec(),
        data,
        roots,
        intermediates,
        chain_pem,
    }
}

/// The corpus file's text: one case per line, so that diffs stay readable.
pub(crate) fn generate() -> String {
    let f = fixture();
    let tsa = rfc3161();
    let package = package_files(&f);
    let mut rng = Rng(0x4556_4944_454e_5449); // "EVIDENTI"
    let mut c = Corpus { cases: Vec::new(), seen: HashSet::new(), names: HashSet::new() };
    json_cases(&mut c, &mut rng);
    jws_cases(&mut c, &f, &mut rng);
    jwks_cases(&mut c, &f, &mut rng);
    jwk_cases(&mut c, &f, &mut rng);
    pem_cases(&mut c, &f, &mut rng);
    receipt_cases(&mut c, &f, &mut rng);
    batch_receipt_cases(&mut c, &f, &mut rng);
    evidence_cases(&mut c, &f, &mut rng);
    inclusion_proof_cases(&mut c, &f, &mut rng);
    consistency_proof_cases(&mut c, &f, &mut rng);
    checkpoint_cases(&mut c, &f, &mut rng);
    pair_cases(&mut c, &f);
    log_entries_cases(&mut c, &f, &mut rng);
    chain_cases(&mut c);
    vkey_cases(&mut c, &f, &mut rng);
    timestamp_cases(&mut c, &tsa, &mut rng);
    package_cases(&mut c, &package, &mut rng);

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for (kind, _, _) in &c.cases {
        *kinds.entry(kind).or_default() += 1;
    }
    let mut out = String::new();
    out.push_str("{\n");
    out.push_str(&format!("\"description\":{},\n", quote(DESCRIPTION)));
    out.push_str("\"generator\":\"cargo xtask vectors\",\n\"version\":1,\n");
    out.push_str(&format!("\"total\":{},\n", c.cases.len()));
    let counts: Vec<String> = kinds.iter().map(|(k, n)| format!("{}:{n}", quote(k))).collect();
    out.push_str(&format!("\"counts\":{{{}}},\n", counts.join(",")));
    out.push_str("\"context\":{\n");
    let text = |name: &str, value: &str| format!("{}:{}", quote(name), quote(value));
    let bin = |name: &str, value: &[u8]| format!("{}:{}", quote(name), bytes64(value));
    let package_json: Vec<String> = package
        .iter()
        .map(|file| format!("{{\"name\":{},\"bytes\":{}}}", quote(&file.name), bytes64(&file.bytes)))
        .collect();
    let ders = |list: &[Vec<u8>]| list.iter().map(|d| bytes64(d)).collect::<Vec<_>>().join(",");
    let context = [
        text("jwks", &f.jwks),
        text("private_jwk", &f.key.to_jwk()),
        text("jws", &f.jws),
        text("receipt", &f.receipts[1].0),
        bin("event", &f.receipts[1].1),
        text("inclusion_proof", &f.inclusion),
        text("checkpoint", &f.checkpoint),
        bin("leaf", &f.leaf),
        bin("root", &f.root),
        text("consistency_proof", &f.consistency),
        text("old_checkpoint", &f.old_checkpoint),
        bin("old_root", &f.old_root),
        text("vkey", &f.vkey),
        bin("timestamp_data", &tsa.data),
        bin("timestamp_request", &tsa.request),
        bin("timestamp_response", &tsa.response),
        format!("\"timestamp_roots\":[{}]", ders(&tsa.roots)),
        format!("\"timestamp_intermediates\":[{}]", ders(&tsa.intermediates)),
        text("timestamp_time", "2024-06-01T00:00:00Z"),
        format!("\"package\":[\n{}\n]", package_json.join(",\n")),
    ];
    out.push_str(&context.join(",\n"));
    out.push_str("\n},\n\"cases\":[\n");
    let lines: Vec<String> = c
        .cases
        .iter()
        .map(|(kind, name, members)| format!("{{\"kind\":{},\"name\":{},{members}}}", quote(kind), quote(name)))
        .collect();
    out.push_str(&lines.join(",\n"));
    out.push_str("\n]\n}\n");
    out
}

const DESCRIPTION: &str = "Hostile input for every entry point that takes outside data: each must give a result or an error with a code of errors.json, never a panic, a crash, a hang or unbounded memory. A case has a kind, a name and its input as base64 ('input', and 'input2' for the second input of an entry point that takes two); log_entries cases have 'entries' (each 'entry' and 'event', base64 or null) and 'checkpoints' (each 'size' and 'note'); package cases change files of the context's package ('files': each 'name' with 'input', or 'remove'). The context holds the valid artifacts given as the other arguments. What each kind is fed to, per language: testvectors/README.md.";

fn json_cases(c: &mut Corpus, rng: &mut Rng) {
    const K: &str = "json";
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let deep_objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    let mut nasties: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), b"".to_vec()),
        ("a space".into(), b" ".to_vec()),
        ("only whitespace".into(), b" \t\r\n \n".to_vec()),
        ("a NUL byte".into(), b"\0".to_vec()),
        ("NUL after a value".into(), b"{}\0".to_vec()),
        ("NUL inside a string".into(), b"\"a\0b\"".to_vec()),
        ("escaped NUL".into(), br#"["a\u0000b"]"#.to_vec()),
        ("UTF-8 byte order mark".into(), b"\xef\xbb\xbf{}".to_vec()),
        ("UTF-16 BE byte order mark".into(), b"\xfe\xff\0{\0}".to_vec()),
        ("UTF-16 LE text".into(), b"\xff\xfe{\0}\0".to_vec()),
        ("UTF-32 text".into(), b"\0\0\0[\0\0\0]".to_vec()),
        ("vertical tab as whitespace".into(), b"\x0b[]".to_vec()),
        ("form feed as whitespace".into(), b"\x0c[]".to_vec()),
        ("no-break space as whitespace".into(), "\u{a0}[]".as_bytes().to_vec()),
        ("1e999999".into(), b"1e999999".to_vec()),
        ("-1e999999".into(), b"-1e999999".to_vec()),
        ("1e-999999".into(), b"1e-999999".to_vec()),
        ("1E400 in an array".into(), b"[1E400]".to_vec()),
        ("an exponent of 30 digits".into(), b"1e100000000000000000000000000000".to_vec()),
        ("a negative exponent of 30 digits".into(), b"1e-100000000000000000000000000000".to_vec()),
        ("zero with a huge exponent".into(), b"0e99999999999999999999".to_vec()),
        ("2^53 + 1".into(), b"9007199254740993".to_vec()),
        ("2^64".into(), b"18446744073709551616".to_vec()),
        ("-2^63 - 1".into(), b"-9223372036854775809".to_vec()),
        ("30 digits".into(), b"123456789012345678901234567890".to_vec()),
        ("401 digits".into(), format!("1{}", "0".repeat(400)).into_bytes()),
        ("a fraction of 1000 digits".into(), format!("0.{}1", "0".repeat(1000)).into_bytes()),
        ("5000 digits of a double".into(), format!("1.{}", "1".repeat(5000)).into_bytes()),
        ("the largest double".into(), b"1.7976931348623157e308".to_vec()),
        ("just beyond the largest double".into(), b"1.7976931348623159e308".to_vec()),
        ("the smallest subnormal".into(), b"5e-324".to_vec()),
        ("below the smallest subnormal".into(), b"2e-324".to_vec()),
        ("minus zero".into(), b"-0".to_vec()),
        ("minus zero with exponent".into(), b"-0e-0".to_vec()),
        ("NaN".into(), b"NaN".to_vec()),
        ("Infinity".into(), b"[Infinity]".to_vec()),
        ("-Infinity".into(), b"-Infinity".to_vec()),
        ("a hex number".into(), b"0x10".to_vec()),
        ("a plus sign".into(), b"+1".to_vec()),
        ("leading zeros".into(), b"007".to_vec()),
        ("a bare minus".into(), b"-".to_vec()),
        ("a bare exponent".into(), b"1e".to_vec()),
        ("a trailing dot".into(), b"1.".to_vec()),
        ("a leading dot".into(), b".1".to_vec()),
        ("an underscore in a number".into(), b"1_000".to_vec()),
        ("a trailing comma".into(), b"[1,]".to_vec()),
        ("a trailing comma in an object".into(), br#"{"a":1,}"#.to_vec()),
        ("a missing value".into(), br#"{"a":}"#.to_vec()),
        ("single quotes".into(), b"{'a':1}".to_vec()),
        ("an unquoted name".into(), b"{a:1}".to_vec()),
        ("a comment".into(), b"[1 /* one */]".to_vec()),
        ("a line comment".into(), b"// c\n1".to_vec()),
        ("two values".into(), b"1 2".to_vec()),
        ("two objects".into(), b"{}{}".to_vec()),
        ("trailing garbage".into(), b"[] x".to_vec()),
        ("an unterminated string".into(), b"\"abc".to_vec()),
        ("an unterminated escape".into(), b"\"\\".to_vec()),
        ("a short unicode escape".into(), br#""\u00""#.to_vec()),
        ("a bad unicode escape".into(), br#""\u00G0""#.to_vec()),
        ("an uppercase U escape".into(), br#""\U0041""#.to_vec()),
        ("a hex escape".into(), br#""\x41""#.to_vec()),
        ("a raw tab in a string".into(), b"\"a\tb\"".to_vec()),
        ("a raw newline in a string".into(), b"\"a\nb\"".to_vec()),
        ("a raw DEL in a string (allowed)".into(), b"\"a\x7fb\"".to_vec()),
        ("a duplicate member".into(), br#"{"a":1,"a":1}"#.to_vec()),
        ("a duplicate member with different values".into(), br#"{"a":1,"a":2}"#.to_vec()),
        ("a duplicate member spelled with an escape".into(), br#"{"a":1,"\u0061":1}"#.to_vec()),
        ("a duplicate member deep inside".into(), br#"[{"b":[{"a":1,"a":1}]}]"#.to_vec()),
        ("duplicate empty names".into(), br#"{"":1,"":2}"#.to_vec()),
        (
            "duplicate names differing in normalization (allowed)".into(),
            "{\"\u{e9}\":1,\"e\u{301}\":2}".as_bytes().to_vec(),
        ),
        ("a lone high surrogate".into(), br#""\ud800""#.to_vec()),
        ("a lone low surrogate".into(), br#""\udc00""#.to_vec()),
        ("two high surrogates".into(), br#""\ud800\ud800""#.to_vec()),
        ("a high surrogate and a letter".into(), br#""\ud800\u0041""#.to_vec()),
        ("reversed surrogates".into(), br#""\udc00\ud800""#.to_vec()),
        ("a lone surrogate in a name".into(), br#"{"\udbff":1}"#.to_vec()),
        ("the last code point (allowed)".into(), br#""\udbff\udfff""#.to_vec()),
        ("a continuation byte".into(), b"\"\x80\"".to_vec()),
        ("a truncated 2-byte sequence".into(), b"\"\xc3\"".to_vec()),
        ("a bad continuation".into(), b"\"\xc3\x28\"".to_vec()),
        ("a truncated 3-byte sequence".into(), b"\"\xe2\x82\"".to_vec()),
        ("a truncated 4-byte sequence".into(), b"\"\xf0\x9f\x98\"".to_vec()),
        ("a 5-byte sequence".into(), b"\"\xf8\x88\x80\x80\x80\"".to_vec()),
        ("a 6-byte sequence".into(), b"\"\xfc\x84\x80\x80\x80\x80\"".to_vec()),
        ("0xFF".into(), b"\"\xff\"".to_vec()),
        ("0xFE outside a string".into(), b"[\xfe]".to_vec()),
        ("overlong NUL".into(), b"\"\xc0\x80\"".to_vec()),
        ("overlong slash".into(), b"\"\xc0\xaf\"".to_vec()),
        ("overlong 3-byte slash".into(), b"\"\xe0\x80\xaf\"".to_vec()),
        ("overlong 4-byte slash".into(), b"\"\xf0\x80\x80\xaf\"".to_vec()),
        ("overlong quote ending a string".into(), b"\"a\xc0\xa2".to_vec()),
        ("UTF-8 encoded surrogate".into(), b"\"\xed\xa0\x80\"".to_vec()),
        ("UTF-8 encoded surrogate pair".into(), b"\"\xed\xa0\xbd\xed\xb8\x80\"".to_vec()),
        ("beyond U+10FFFF".into(), b"\"\xf4\x90\x80\x80\"".to_vec()),
        ("invalid UTF-8 in a name".into(), b"{\"\xff\":1}".to_vec()),
        ("a C1 control (allowed)".into(), "\"\u{85}\"".as_bytes().to_vec()),
        ("U+2028 raw (allowed)".into(), "\"\u{2028}\"".as_bytes().to_vec()),
        ("nesting at the default limit of 128".into(), deep(128).into_bytes()),
        ("nesting one past the default limit".into(), deep(129).into_bytes()),
        ("nesting at the largest limit, 1024".into(), deep(1024).into_bytes()),
        ("nesting past the largest limit".into(), deep(1025).into_bytes()),
        ("objects nested 129 deep".into(), deep_objects(129).into_bytes()),
        ("objects nested 128 deep".into(), deep_objects(128).into_bytes()),
        ("10,000 unclosed brackets".into(), "[".repeat(10_000).into_bytes()),
        ("2,000 unclosed objects".into(), "{\"a\":".repeat(2_000).into_bytes()),
        ("10,000 closing brackets".into(), "]".repeat(10_000).into_bytes()),
        ("mixed nesting".into(), format!("{}{}", "[{\"a\":".repeat(100), "0}]".repeat(100)).into_bytes()),
        ("mismatched closers".into(), b"[{]}".to_vec()),
        ("an array of 5,000 zeros".into(), format!("[{}0]", "0,".repeat(5_000)).into_bytes()),
        (
            "an object of 1,000 members".into(),
            format!("{{{}}}", (0..1000).map(|i| format!("\"m{i}\":{i}")).collect::<Vec<_>>().join(",")).into_bytes(),
        ),
        (
            "1,000 members with one duplicate at the end".into(),
            format!("{{{},\"m0\":0}}", (0..1000).map(|i| format!("\"m{i}\":{i}")).collect::<Vec<_>>().join(","))
                .into_bytes(),
        ),
        ("a string of 10,000 bytes".into(), format!("\"{}\"", "a".repeat(10_000)).into_bytes()),
        ("2,000 escapes".into(), format!("\"{}\"", "\\u0041".repeat(2_000)).into_bytes()),
        ("1,000 surrogate pairs".into(), format!("\"{}\"", "\\ud83d\\ude00".repeat(1_000)).into_bytes()),
        ("true spelled wrong".into(), b"tru".to_vec()),
        ("null with trailing letters".into(), b"nulll".to_vec()),
        ("capital TRUE".into(), b"TRUE".to_vec()),
    ];
    for (name, wrong) in WRONG {
        nasties.push((format!("a member that is {name}"), format!("{{\"a\":{wrong}}}").into_bytes()));
    }
    for (name, input) in &nasties {
        c.add(K, name, input);
    }
    let bases: [&[u8]; 3] = [
        EVENTS[0].as_bytes(),
        EVENTS[2].as_bytes(),
        br#"{"\u20ac":"\u20ac","\ud83d\ude00":[1E2, 0.1, -0, 1e-7, 9007199254740991, 1.5e300, 5E-324], "a\tb": "\u001f"}"#,
    ];
    for (i, base) in bases.iter().enumerate() {
        c.mutations(K, &format!("event {i}"), base, Plan::new(10, 40, 8, 8, 8), rng);
    }
}

fn jws_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "jws";
    let key = &f.key;
    let kid = quote(key.kid());
    let (head, rest) = f.jws.split_once('.').expect("compact");
    let (payload, signature) = rest.split_once('.').expect("compact");
    let mut cases: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("a dot".into(), ".".into()),
        ("two dots".into(), "..".into()),
        ("three dots".into(), "...".into()),
        ("one part".into(), head.into()),
        ("two parts".into(), format!("{head}.{payload}")),
        ("four parts".into(), format!("{}.x", f.jws)),
        ("five parts".into(), format!("{}.{payload}.{signature}", f.jws)),
        ("no header".into(), format!(".{payload}.{signature}")),
        ("no signature".into(), format!("{head}.{payload}.")),
        ("padded header".into(), format!("{head}=.{payload}.{signature}")),
        ("padded signature".into(), format!("{head}.{payload}.{signature}==")),
        ("standard base64 alphabet".into(), f.jws.replace('-', "+").replace('_', "/")),
        ("a space inside".into(), format!("{head} .{payload}.{signature}")),
        ("a newline at the end".into(), format!("{}\n", f.jws)),
        ("a NUL at the end".into(), format!("{}\0", f.jws)),
        ("a non-ASCII letter".into(), format!("{head}.{payload}é.{signature}")),
        ("header with one base64 character".into(), format!("e.{payload}.{signature}")),
        ("header with nonzero trailing bits".into(), format!("{}f.{payload}.{signature}", &head[..head.len() - 1])),
        ("signature of 0 bytes".into(), format!("{head}.{payload}.")),
        ("signature of 63 bytes".into(), format!("{head}.{payload}.{}", b64url(&[1; 63]))),
        ("signature of 65 bytes".into(), format!("{head}.{payload}.{}", b64url(&[1; 65]))),
        ("signature of zeros (r = s = 0)".into(), format!("{head}.{payload}.{}", b64url(&[0; 64]))),
        ("signature of 0xFF (r, s >= n)".into(), format!("{head}.{payload}.{}", b64url(&[0xff; 64]))),
        ("a DER signature".into(), format!("{head}.{payload}.{}", b64url(&key.sign_der(b"x")))),
        ("signature of 10,000 bytes".into(), format!("{head}.{payload}.{}", b64url(&[7; 10_000]))),
        ("a payload of 10,000 bytes".into(), format!("{head}.{}.{signature}", b64url(&[b'a'; 10_000]))),
    ];
    let headers: Vec<(&str, String)> = vec![
        ("header not JSON", "{".into()),
        ("header an array", "[]".into()),
        ("header null", "null".into()),
        ("header a string", "\"ES256\"".into()),
        ("header empty object", "{}".into()),
        (
            "header with invalid UTF-8",
            format!("{{\"alg\":\"ES256\",\"kid\":{kid},\"x\":\"\u{fffd}\"}}").replace('\u{fffd}', "\u{ff}"),
        ),
        ("header with a lone surrogate kid", r#"{"alg":"ES256","kid":"\ud800"}"#.into()),
        ("alg missing", format!("{{\"kid\":{kid}}}")),
        ("alg none", format!("{{\"alg\":\"none\",\"kid\":{kid}}}")),
        ("alg HS256", format!("{{\"alg\":\"HS256\",\"kid\":{kid}}}")),
        ("alg lowercase", format!("{{\"alg\":\"es256\",\"kid\":{kid}}}")),
        ("alg ES256K", format!("{{\"alg\":\"ES256K\",\"kid\":{kid}}}")),
        ("alg a number", format!("{{\"alg\":256,\"kid\":{kid}}}")),
        ("alg an array", format!("{{\"alg\":[\"ES256\"],\"kid\":{kid}}}")),
        ("alg twice", format!("{{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":{kid}}}")),
        ("alg twice, same", format!("{{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":{kid}}}")),
        ("kid a number", r#"{"alg":"ES256","kid":1}"#.into()),
        ("kid null", r#"{"alg":"ES256","kid":null}"#.into()),
        ("kid an object", r#"{"alg":"ES256","kid":{}}"#.into()),
        ("kid empty", r#"{"alg":"ES256","kid":""}"#.into()),
        ("kid of 10,000 characters", format!("{{\"alg\":\"ES256\",\"kid\":\"{}\"}}", "k".repeat(10_000))),
        ("no kid", r#"{"alg":"ES256"}"#.into()),
        ("typ a number", format!("{{\"alg\":\"ES256\",\"kid\":{kid},\"typ\":1}}")),
        ("cty an array", format!("{{\"alg\":\"ES256\",\"cty\":[],\"kid\":{kid}}}")),
        ("b64 a string", format!("{{\"alg\":\"ES256\",\"b64\":\"false\",\"crit\":[\"b64\"],\"kid\":{kid}}}")),
        ("b64 false without crit", format!("{{\"alg\":\"ES256\",\"b64\":false,\"kid\":{kid}}}")),
        ("b64 true in crit", format!("{{\"alg\":\"ES256\",\"b64\":true,\"crit\":[\"b64\"],\"kid\":{kid}}}")),
        ("crit empty", format!("{{\"alg\":\"ES256\",\"b64\":false,\"crit\":[],\"kid\":{kid}}}")),
        ("crit b64 twice", format!("{{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\",\"b64\"],\"kid\":{kid}}}")),
        ("crit a string", format!("{{\"alg\":\"ES256\",\"b64\":false,\"crit\":\"b64\",\"kid\":{kid}}}")),
        ("crit a number", format!("{{\"alg\":\"ES256\",\"crit\":[1],\"kid\":{kid}}}")),
        ("crit names an absent member", format!("{{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"kid\":{kid}}}")),
        ("crit unknown", format!("{{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1,\"kid\":{kid}}}")),
        (
            "crit of 1,000 names",
            format!("{{\"alg\":\"ES256\",\"crit\":[{}],\"kid\":{kid}}}", vec!["\"x\""; 1000].join(",")),
        ),
        (
            "an embedded jwk of another key",
            format!("{{\"alg\":\"ES256\",\"jwk\":{},\"kid\":{}}}", test_key(2).public_jwk(), quote(test_key(2).kid())),
        ),
        (
            "jku and x5u",
            format!(
                "{{\"alg\":\"ES256\",\"jku\":\"https://example.com\",\"kid\":{kid},\"x5u\":\"https://example.com\"}}"
            ),
        ),
        (
            "header nested 1025 deep",
            format!("{{\"alg\":\"ES256\",\"kid\":{kid},\"x\":{}{}}}", "[".repeat(1025), "]".repeat(1025)),
        ),
        (
            "header nested 129 deep",
            format!("{{\"alg\":\"ES256\",\"kid\":{kid},\"x\":{}{}}}", "[".repeat(128), "]".repeat(128)),
        ),
        (
            "header of 16 KiB",
            format!("{{\"alg\":\"ES256\",\"kid\":{kid},\"x\":\"{}\"}}", "x".repeat(16 * 1024 - 80 - key.kid().len())),
        ),
        (
            "header of 16 KiB + 1",
            format!("{{\"alg\":\"ES256\",\"kid\":{kid},\"x\":\"{}\"}}", "x".repeat(16 * 1024 + 1)),
        ),
        ("header with 1e999999", format!("{{\"alg\":\"ES256\",\"kid\":{kid},\"n\":1e999999}}")),
        ("header with a BOM", format!("\u{feff}{{\"alg\":\"ES256\",\"kid\":{kid}}}")),
    ];
    for (name, header) in headers {
        let header = if name == "header with invalid UTF-8" {
            let mut bytes = header.into_bytes();
            if let Some(at) = bytes.iter().position(|&b| b == 0xc3) {
                bytes[at] = 0xff;
            }
            bytes
        } else {
            header.into_bytes()
        };
        cases.push((format!("{name}, signed"), signed(key, &header, b"hello")));
    }
    // Unencoded payloads (RFC 7797) signed by hand: the payload is in the signing input as is.
    let unencoded = |payload: &str| {
        let header = b64url(format!("{{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"],\"kid\":{kid}}}").as_bytes());
        let input = format!("{header}.{payload}");
        format!("{input}.{}", b64url(&key.sign(input.as_bytes())))
    };
    cases.push(("unencoded payload with a dot".into(), unencoded("a.b")));
    cases.push(("unencoded payload with non-ASCII".into(), unencoded("Zoë")));
    cases.push(("unencoded empty payload".into(), unencoded("")));
    for (name, jws) in &cases {
        c.add(K, name, jws.as_bytes());
    }
    // A payload given with the JWS (input2): detached and attached.
    let payloads: [(&str, &[u8]); 6] = [
        ("its payload", b"hello"),
        ("another payload", b"hellO"),
        ("an empty payload", b""),
        ("a payload of invalid UTF-8", b"\xff\xfe"),
        ("a payload of 10,000 bytes", &[b'h'; 10_000]),
        ("a NUL payload", b"\0"),
    ];
    for (name, payload) in payloads {
        c.add2(K, &format!("detached with {name}"), f.detached.as_bytes(), Some(payload));
        c.add2(K, &format!("attached with {name}"), f.jws.as_bytes(), Some(payload));
    }
    c.mutations(K, "attached", f.jws.as_bytes(), Plan::new(10, 40, 6, 6, 6), rng);
    for (name, bytes) in mutations(f.detached.as_bytes(), Plan::new(6, 20, 3, 3, 3), rng) {
        c.add2(K, &format!("detached: {name}"), &bytes, Some(b"hello"));
    }
}

fn jwks_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "jwks";
    let public = f.key.public_jwk();
    let other = test_key(2).public_jwk();
    let with = |extra: &str| public.replacen('}', &format!(",{extra}}}"), 1);
    let mut cases: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("null".into(), "null".into()),
        ("an array".into(), format!("[{public}]")),
        ("an empty object".into(), "{}".into()),
        ("keys null".into(), r#"{"keys":null}"#.into()),
        ("keys an object".into(), format!("{{\"keys\":{public}}}")),
        ("keys a string".into(), r#"{"keys":"x"}"#.into()),
        ("keys empty".into(), r#"{"keys":[]}"#.into()),
        ("keys holds null".into(), r#"{"keys":[null]}"#.into()),
        ("keys holds a number".into(), r#"{"keys":[1]}"#.into()),
        ("keys holds an array".into(), format!("{{\"keys\":[[{public}]]}}")),
        ("keys holds an empty object".into(), r#"{"keys":[{}]}"#.into()),
        ("keys twice".into(), format!("{{\"keys\":[],\"keys\":[{public}]}}")),
        ("keys and kty".into(), format!("{{\"keys\":[{public}],\"kty\":\"EC\"}}")),
        ("the same key twice".into(), format!("{{\"keys\":[{public},{public}]}}")),
        (
            "two keys with one kid".into(),
            format!("{{\"keys\":[{},{}]}}", with("\"kid\":\"k\""), other.replacen('}', ",\"kid\":\"k\"}", 1)),
        ),
        (
            "an explicit kid naming another key".into(),
            format!("{{\"keys\":[{},{other}]}}", with(&format!("\"kid\":{}", quote(test_key(2).kid())))),
        ),
        (
            "an RSA key and the key".into(),
            format!("{{\"keys\":[{{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"{}\"}},{public}]}}", b64url(&[0xc5; 512])),
        ),
        ("an oct key".into(), r#"{"keys":[{"k":"AAAA","kty":"oct"}]}"#.into()),
        (
            "an OKP key".into(),
            format!("{{\"keys\":[{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{}\"}}]}}", b64url(&[1; 32])),
        ),
        ("an unknown kty".into(), r#"{"keys":[{"kty":"XYZ"}]}"#.into()),
        (
            "a P-384 key".into(),
            format!(
                "{{\"keys\":[{{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"{0}\",\"y\":\"{0}\"}}]}}",
                b64url(&[1; 48])
            ),
        ),
        ("a private key in the set".into(), format!("{{\"keys\":[{}]}}", f.key.to_jwk())),
        ("keys nested 1025 deep".into(), format!("{{\"keys\":{}{}}}", "[".repeat(1025), "]".repeat(1025))),
        (
            "a member nested 200 deep".into(),
            format!("{{\"keys\":[{}]}}", with(&format!("\"x\":{}{}", "[".repeat(200), "]".repeat(200)))),
        ),
        (
            "200 distinct keys".into(),
            format!(
                "{{\"keys\":[{}]}}",
                (0..200)
                    .map(|i| format!("{{\"k\":\"{}\",\"kty\":\"oct\"}}", b64url(&(i as u32).to_be_bytes())))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
    ];
    let validity: [(&str, &str); 28] = [
        ("nbf a string", "\"nbf\":\"yesterday\""),
        ("nbf null", "\"nbf\":null"),
        ("nbf -1", "\"nbf\":-1"),
        ("nbf 1e999999", "\"nbf\":1e999999"),
        ("nbf 1e300", "\"nbf\":1e300"),
        ("nbf -1e300", "\"nbf\":-1e300"),
        ("nbf 2^53", "\"nbf\":9007199254740992"),
        ("nbf beyond year 9999", "\"nbf\":253402300800"),
        ("nbf before year 0", "\"nbf\":-62167219201"),
        ("nbf a fraction", "\"nbf\":1767225600.5"),
        ("nbf a tiny fraction", "\"nbf\":1e-300"),
        ("nbf an array", "\"nbf\":[1]"),
        ("exp a string", "\"exp\":\"tomorrow\""),
        ("exp 0", "\"exp\":0"),
        ("exp 2^64", "\"exp\":18446744073709551616"),
        ("exp before nbf", "\"exp\":1,\"nbf\":2"),
        ("revoked null", "\"revoked\":null"),
        ("revoked true", "\"revoked\":true"),
        ("revoked empty", "\"revoked\":{}"),
        ("revoked an array", "\"revoked\":[]"),
        ("revoked_at a string", "\"revoked\":{\"revoked_at\":\"now\"}"),
        ("revoked_at 1e999999", "\"revoked\":{\"revoked_at\":1e999999}"),
        ("revoked_at 2^64", "\"revoked\":{\"revoked_at\":18446744073709551616}"),
        ("revoked_at -2^63 - 1", "\"revoked\":{\"revoked_at\":-9223372036854775809}"),
        ("reason a number", "\"revoked\":{\"reason\":5,\"revoked_at\":1}"),
        ("reason of 10,000 characters", "\"revoked\":{\"reason\":\"RRRR\",\"revoked_at\":1}"),
        ("revoked with an extra member", "\"revoked\":{\"revoked_at\":1,\"zzz\":[]}"),
        ("revoked twice", "\"revoked\":{\"revoked_at\":1},\"revoked\":{\"revoked_at\":2}"),
    ];
    for (name, extra) in validity {
        let extra = extra.replace("RRRR", &"r".repeat(10_000));
        cases.push((name.into(), format!("{{\"keys\":[{}]}}", with(&extra))));
    }
    let usage: [(&str, &str); 12] = [
        ("use enc", "\"use\":\"enc\""),
        ("use a number", "\"use\":1"),
        ("key_ops without verify", "\"key_ops\":[\"sign\"]"),
        ("key_ops empty", "\"key_ops\":[]"),
        ("key_ops a string", "\"key_ops\":\"verify\""),
        ("key_ops holds numbers", "\"key_ops\":[1,2]"),
        ("alg RS256", "\"alg\":\"RS256\""),
        ("alg a number", "\"alg\":256"),
        ("kid a number", "\"kid\":1"),
        ("kid empty", "\"kid\":\"\""),
        ("kid null", "\"kid\":null"),
        ("x5c garbage", "\"x5c\":[\"!!\"]"),
    ];
    for (name, extra) in usage {
        cases.push((name.into(), format!("{{\"keys\":[{}]}}", with(extra))));
    }
    for (name, text) in &cases {
        c.add(K, name, text.as_bytes());
    }
    // The key set of the fixture with a validity, member by member.
    let mut keys = KeySet::new();
    keys.add(
        f.key.public_key(),
        Validity {
            not_before: Some(time(-3600)),
            expires: Some(time(86_400)),
            revoked_at: Some(time(86_400 * 2)),
            revocation_reason: Some("superseded".into()),
        },
    )
    .expect("add");
    let full = keys.to_json();
    let entry = evidentia::json::parse(full.as_bytes()).expect("JSON");
    let entry = entry.get("keys").and_then(Value::as_array).expect("keys")[0].clone();
    let members = members_of(&canonicalize_value(&entry).expect("valid"));
    for (name, variant) in object_variants(&members, &[]) {
        c.add(K, &format!("key with validity: {name}"), format!("{{\"keys\":[{variant}]}}").as_bytes());
    }
    c.mutations(K, "key with validity", full.as_bytes(), Plan::new(6, 20, 3, 3, 3), rng);
}

fn jwk_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "jwk";
    let n_minus_1 = "_____wAAAAD__________7zm-q2nF56E87nKwvxjJVA";
    let n = "_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE";
    let p = "_____wAAAAEAAAAAAAAAAAAAAAD_______________8";
    let public = f.key.public_jwk();
    let point = f.key.public_key().to_sec1(false);
    let (x, y) = (b64url(&point[1..33]), b64url(&point[33..]));
    let ec = |x: &str, y: &str| format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let private = |d: &str| format!(r#"{{"crv":"P-256","d":"{d}","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let cases: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("not JSON".into(), "{".into()),
        ("an array".into(), format!("[{public}]")),
        ("a string".into(), quote(&public)),
        ("an empty object".into(), "{}".into()),
        ("a JWKS".into(), format!("{{\"keys\":[{public}]}}")),
        (
            "the point at infinity".into(),
            ec("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
        ("x = p".into(), ec(p, &y)),
        ("coordinates of 0xFF".into(), ec(&b64url(&[0xff; 32]), &b64url(&[0xff; 32]))),
        (
            "y of the other point".into(),
            ec(
                &x,
                &b64url(&{
                    // p - y: the point's negation, on the curve.
                    let mut neg = [0u8; 32];
                    let pb = evidentia::encoding::b64url_decode(p).expect("p");
                    let mut borrow = 0i16;
                    for i in (0..32).rev() {
                        let v = i16::from(pb[i]) - i16::from(point[33 + i]) - borrow;
                        neg[i] = v.rem_euclid(256) as u8;
                        borrow = i16::from(v < 0);
                    }
                    neg
                }),
            ),
        ),
        ("x of 31 bytes".into(), ec(&b64url(&point[2..33]), &y)),
        ("x of 33 bytes".into(), ec(&b64url(&point[0..33]), &y)),
        ("x of 10,000 bytes".into(), ec(&b64url(&[1; 10_000]), &y)),
        ("x padded".into(), ec(&format!("{x}="), &y)),
        ("x in standard base64".into(), ec(&b64(&point[1..33]), &y)),
        ("x with a space".into(), ec(&format!(" {x}"), &y)),
        ("compressed point as x".into(), ec(&b64url(&f.key.public_key().to_sec1(true)), "")),
        ("d zero".into(), private("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
        ("d = n".into(), private(n)),
        ("d = n - 1".into(), private(n_minus_1)),
        ("d of 0xFF".into(), private(&b64url(&[0xff; 32]))),
        ("d of 31 bytes".into(), private(&b64url(&[1; 31]))),
        ("d of 33 bytes".into(), private(&b64url(&[1; 33]))),
        ("d a number".into(), format!(r#"{{"crv":"P-256","d":1,"kty":"EC","x":"{x}","y":"{y}"}}"#)),
        ("d empty".into(), private("")),
        ("d of another key".into(), private(&b64url(&test_key(2).to_bytes()))),
        ("d without x and y".into(), format!(r#"{{"crv":"P-256","d":"{}","kty":"EC"}}"#, b64url(&f.key.to_bytes()))),
        (
            "RSA with a huge modulus".into(),
            format!("{{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"{}\"}}", b64url(&[0xc5; 4096])),
        ),
        ("RSA with e a number".into(), r#"{"e":65537,"kty":"RSA","n":"AQAB"}"#.into()),
        ("RSA without n".into(), r#"{"e":"AQAB","kty":"RSA"}"#.into()),
        ("RSA with empty members".into(), r#"{"e":"","kty":"RSA","n":""}"#.into()),
        ("OKP Ed25519".into(), format!("{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{}\"}}", b64url(&[9; 32]))),
        ("OKP with x a number".into(), r#"{"crv":"Ed25519","kty":"OKP","x":5}"#.into()),
        ("oct".into(), r#"{"k":"GawgguFyGrWKav7AX4VKUg","kty":"oct"}"#.into()),
        ("oct with k null".into(), r#"{"k":null,"kty":"oct"}"#.into()),
        ("oct without k".into(), r#"{"kty":"oct"}"#.into()),
        ("kty lowercase".into(), public.replace("\"EC\"", "\"ec\"")),
        ("crv P-384".into(), public.replace("P-256", "P-384")),
        ("crv secp256k1".into(), public.replace("P-256", "secp256k1")),
        ("an invalid UTF-8 member".into(), public.replacen('}', ",\"z\":\"\u{e9}\"}", 1)),
    ];
    for (name, text) in &cases {
        let mut bytes = text.as_bytes().to_vec();
        if name == "an invalid UTF-8 member" {
            let at = bytes.iter().position(|&b| b == 0xc3).expect("é");
            bytes[at] = 0xff;
        }
        c.add(K, name, &bytes);
    }
    for (what, jwk) in [("public", public.clone()), ("private", f.key.to_jwk())] {
        for (name, variant) in object_variants(&members_of(jwk.as_bytes()), &[]) {
            c.add(K, &format!("{what}: {name}"), variant.as_bytes());
        }
        c.mutations(K, what, jwk.as_bytes(), Plan::new(6, 16, 3, 3, 3), rng);
    }
}

/// A PEM block of `der` under `label`.
fn pem(label: &str, der: &[u8]) -> String {
    let body = b64(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).expect("ASCII")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn pem_der(text: &str) -> Vec<u8> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    evidentia::encoding::b64_decode(&body).expect("PEM body")
}

fn pem_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "pem";
    let private = f.key.to_pem();
    let public = f.key.public_key().to_pem();
    let der = pem_der(&private);
    let body = |text: &str| text.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().join("\n");
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), b"".to_vec()),
        ("a BEGIN line only".into(), b"-----BEGIN PRIVATE KEY-----\n".to_vec()),
        ("an END line only".into(), b"-----END PRIVATE KEY-----\n".to_vec()),
        (
            "END before BEGIN".into(),
            format!("-----END PRIVATE KEY-----\n{}\n-----BEGIN PRIVATE KEY-----\n", body(&private)).into_bytes(),
        ),
        (
            "mismatched labels".into(),
            format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PUBLIC KEY-----\n", body(&private)).into_bytes(),
        ),
        ("an empty body".into(), b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n".to_vec()),
        (
            "a body that is not base64".into(),
            b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".to_vec(),
        ),
        ("a body of one character".into(), b"-----BEGIN PRIVATE KEY-----\nA\n-----END PRIVATE KEY-----\n".to_vec()),
        ("a body without padding".into(), private.replace('=', "").into_bytes()),
        ("a body with spaces".into(), private.replace('\n', " \n").into_bytes()),
        ("CRLF line ends".into(), private.replace('\n', "\r\n").into_bytes()),
        (
            "no line breaks in the body".into(),
            format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", b64(&der)).into_bytes(),
        ),
        (
            "12,000 characters of A".into(),
            format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", "A".repeat(12_000)).into_bytes(),
        ),
        (
            "a nested BEGIN".into(),
            format!("-----BEGIN PRIVATE KEY-----\n{private}-----END PRIVATE KEY-----\n").into_bytes(),
        ),
        ("two keys".into(), format!("{private}{}", test_key(2).to_pem()).into_bytes()),
        ("text before and after".into(), format!("key:\n{private}trailing\n").into_bytes()),
        ("a NUL in the body".into(), private.replacen('\n', "\n\0", 2).into_bytes()),
        ("invalid UTF-8 in the body".into(), {
            let mut b = private.clone().into_bytes();
            b[40] = 0xff;
            b
        }),
        ("a certificate label".into(), pem("CERTIFICATE", &der).into_bytes()),
        ("an RSA label".into(), pem("RSA PRIVATE KEY", &der).into_bytes()),
        ("an encrypted key label".into(), pem("ENCRYPTED PRIVATE KEY", &der).into_bytes()),
        ("an EC label on PKCS#8".into(), pem("EC PRIVATE KEY", &der).into_bytes()),
        ("a PRIVATE KEY label on SPKI".into(), pem("PRIVATE KEY", &pem_der(&public)).into_bytes()),
        ("a PUBLIC KEY label on PKCS#8".into(), pem("PUBLIC KEY", &der).into_bytes()),
        ("a lowercase label".into(), private.replace("PRIVATE KEY", "private key").into_bytes()),
        (
            "DER with an indefinite length".into(),
            pem("PRIVATE KEY", &[0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00]).into_bytes(),
        ),
        (
            "DER with a length of 2^32 - 1".into(),
            pem("PRIVATE KEY", &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02]).into_bytes(),
        ),
        (
            "DER with a 9-byte length".into(),
            pem("PRIVATE KEY", &[0x30, 0x89, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).into_bytes(),
        ),
        (
            "DER nested 2,000 deep".into(),
            pem("PRIVATE KEY", &{
                let mut v = Vec::new();
                for _ in 0..2000 {
                    v.extend_from_slice(&[0x30, 0x80]);
                }
                v
            })
            .into_bytes(),
        ),
        ("DER of zeros".into(), pem("PRIVATE KEY", &[0; 138]).into_bytes()),
        ("an SEC1 key with the scalar zero".into(), pem("EC PRIVATE KEY", &sec1(&[0; 32])).into_bytes()),
        (
            "an SEC1 key with the scalar n".into(),
            pem(
                "EC PRIVATE KEY",
                &sec1(&evidentia::encoding::b64url_decode("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE").expect("n")),
            )
            .into_bytes(),
        ),
        ("an SEC1 key with a 33-byte scalar".into(), pem("EC PRIVATE KEY", &sec1(&[1; 33])).into_bytes()),
        (
            "a P-384 OID".into(),
            pem(
                "PRIVATE KEY",
                &replace_all(
                    &der,
                    &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
                    &[0x2b, 0x81, 0x04, 0x00, 0x22, 0x00, 0x00, 0x00],
                ),
            )
            .into_bytes(),
        ),
    ];
    for (name, bytes) in &cases {
        c.add(K, name, bytes);
    }
    c.mutations(K, "private PEM", private.as_bytes(), Plan::new(8, 24, 4, 4, 4), rng);
    c.mutations(K, "public PEM", public.as_bytes(), Plan::new(6, 16, 3, 3, 3), rng);
    for (name, bytes) in mutations(&der, Plan::new(8, 40, 4, 4, 4), rng) {
        c.add(K, &format!("private key DER: {name}"), pem("PRIVATE KEY", &bytes).as_bytes());
    }
    for (name, bytes) in mutations(&pem_der(&public), Plan::new(4, 24, 2, 2, 2), rng) {
        c.add(K, &format!("public key DER: {name}"), pem("PUBLIC KEY", &bytes).as_bytes());
    }
}

/// An SEC1 ECPrivateKey with the scalar as given and the P-256 OID.
fn sec1(scalar: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x01, 0x04, scalar.len() as u8];
    body.extend_from_slice(scalar);
    body.extend_from_slice(&[0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

fn receipt_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "receipt";
    let key = &f.key;
    let header = receipt_header(key);
    let (receipt, event, record) = &f.receipts[1];
    let generic = sign_jws(key, record, Default::default()).expect("sign");
    let mut cases: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("not a JWS".into(), "receipt".into()),
        ("a generic JWS of the record".into(), generic),
        ("a JWS of another key".into(), signed(&test_key(2), header.as_bytes(), record)),
    ];
    let headers: [(&str, String); 9] = [
        ("typ missing", format!("{{\"alg\":\"ES256\",\"kid\":{}}}", quote(key.kid()))),
        ("typ a number", format!("{{\"alg\":\"ES256\",\"kid\":{},\"typ\":1}}", quote(key.kid()))),
        ("typ of a batch receipt", header.replace("evidentia-receipt+jws", "evidentia-batch-receipt")),
        ("typ in capitals", header.replace("evidentia-receipt+jws", "EVIDENTIA-RECEIPT+JWS")),
        ("kid missing", r#"{"alg":"ES256","typ":"evidentia-receipt+jws"}"#.to_owned()),
        ("kid of another key", header.replace(key.kid(), test_key(2).kid())),
        ("kid empty", header.replace(key.kid(), "")),
        (
            "unencoded",
            format!(
                "{{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"],\"kid\":{},\"typ\":\"evidentia-receipt+jws\"}}",
                quote(key.kid())
            ),
        ),
        ("the header twice over", header.replacen('}', &format!(",\"x\":{header}}}"), 1)),
    ];
    for (name, h) in &headers {
        cases.push((format!("header {name}"), signed(key, h.as_bytes(), record)));
    }
    let detached = {
        let input = format!("{}.", b64url(header.as_bytes()));
        let sig = key.sign(format!("{}.{}", b64url(header.as_bytes()), b64url(record)).as_bytes());
        format!("{input}.{}", b64url(&sig))
    };
    cases.push(("detached".into(), detached));
    cases.push(("an empty payload, signed".into(), signed(key, header.as_bytes(), b"")));
    // Payloads signed by the key, so that record checks are reached.
    let payloads: Vec<(String, Vec<u8>)> = vec![
        ("a payload that is not JSON".into(), b"{".to_vec()),
        ("a payload of invalid UTF-8".into(), b"\xff\xfe\xfd".to_vec()),
        ("a JSON array payload".into(), b"[]".to_vec()),
        ("a JSON string payload".into(), b"\"record\"".to_vec()),
        ("the record with spaces".into(), String::from_utf8_lossy(record).replace(",", ", ").into_bytes()),
        ("the record with a BOM".into(), [b"\xef\xbb\xbf".as_slice(), record].concat()),
        ("the record nested 1025 deep".into(), format!("{}{}", "[".repeat(1025), "]".repeat(1025)).into_bytes()),
        ("the record and a NUL".into(), [record.as_slice(), b"\0"].concat()),
        ("the record twice".into(), [record.as_slice(), record].concat()),
    ];
    for (name, payload) in &payloads {
        cases.push((format!("{name}, signed"), signed(key, header.as_bytes(), payload)));
    }
    let extra: &[(&str, &str, &str)] = &[
        ("v", "2", "2"),
        ("v", "\"1\"", "\"1\""),
        ("v", "1.0", "1.0"),
        ("seq", "2^53 - 1", "9007199254740991"),
        ("seq", "1.0", "1.0"),
        ("seq", "1e0", "1e0"),
        ("seq", "-0", "-0"),
        ("prev", "an uppercase digest", "\"sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\""),
        ("prev", "a sha512 digest", "\"sha512:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\""),
        ("prev", "a digest of 63 digits", "\"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0\""),
        (
            "event",
            "a digest without its prefix",
            "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
        ),
        (
            "event",
            "a digest of 65 digits",
            "\"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a080\"",
        ),
        ("time", "a leap second", "\"2026-01-01T23:59:60Z\""),
        ("time", "year 0000", "\"0000-01-01T00:00:00Z\""),
        ("time", "the last instant of 9999", "\"9999-12-31T23:59:59.999999999Z\""),
        ("time", "a fraction with a trailing zero", "\"2026-01-01T00:01:00.10Z\""),
        ("time", "10 fraction digits", "\"2026-01-01T00:01:00.1234567891Z\""),
        ("time", "lowercase t and z", "\"2026-01-01t00:01:00z\""),
        ("time", "an offset", "\"2026-01-01T00:01:00+00:00\""),
        ("time", "February 30", "\"2026-02-30T00:00:00Z\""),
        ("time", "month 13", "\"2026-13-01T00:00:00Z\""),
        ("time", "hour 24", "\"2026-01-01T24:00:00Z\""),
        ("time", "a five-digit year", "\"10000-01-01T00:00:00Z\""),
        ("time", "a negative year", "\"-001-01-01T00:00:00Z\""),
        ("time", "a date only", "\"2026-01-01\""),
        ("time", "seconds since 1970", "1767225660"),
        ("log_id", "257 characters", "\"LLLL\""),
        ("log_id", "a space", "\"a b\""),
        ("log_id", "non-ASCII", "\"caf\\u00e9\""),
        ("log_id", "a NUL", "\"a\\u0000b\""),
        ("kid", "of 257 bytes", "\"KKKK\""),
        ("kid", "of another key", "\"KID2\""),
        ("nonce", "empty", "\"\""),
        ("nonce", "of 257 bytes", "\"NNNN\""),
        ("nonce", "a NUL", "\"\\u0000\""),
    ];
    let extra: Vec<(&str, &str, String)> = extra
        .iter()
        .map(|(m, w, raw)| {
            let raw = raw
                .replace("LLLL", &"l".repeat(257))
                .replace("KKKK", &"k".repeat(257))
                .replace("NNNN", &"n".repeat(257))
                .replace("KID2", test_key(2).kid());
            (*m, *w, raw)
        })
        .collect();
    let extra: Vec<(&str, &str, &str)> = extra.iter().map(|(m, w, r)| (*m, *w, r.as_str())).collect();
    // Record 2 has a nonce, record 1 has none: vary both.
    for (which, base) in [("record", record), ("record with a nonce", &f.receipts[2].2)] {
        let members = members_of(base);
        let plan = if which == "record" { extra.clone() } else { Vec::new() };
        for (name, variant) in object_variants(&members, &plan) {
            // Of the record with a nonce, only what concerns the nonce.
            if which == "record" || name.contains("'nonce'") {
                cases.push((format!("{which}: {name}, signed"), signed(key, header.as_bytes(), variant.as_bytes())));
            }
        }
    }
    for (name, text) in &cases {
        c.add(K, name, text.as_bytes());
    }
    // With an event (input2).
    let events: Vec<(&str, Vec<u8>)> = vec![
        ("its event", event.clone()),
        ("its event re-formatted", EVENTS[1].as_bytes().to_vec()),
        ("another event", EVENTS[0].as_bytes().to_vec()),
        ("an empty event", Vec::new()),
        ("an event that is not JSON", b"{".to_vec()),
        ("an event with a duplicate member", br#"{"a":1,"a":1}"#.to_vec()),
        ("an event of invalid UTF-8", b"\"\xff\"".to_vec()),
        ("an event of 1e999999", b"1e999999".to_vec()),
        ("an event nested 129 deep", format!("{}{}", "[".repeat(129), "]".repeat(129)).into_bytes()),
        ("an event with a lone surrogate", br#"{"a":"\ud800"}"#.to_vec()),
        ("an event of 10,000 bytes", format!("\"{}\"", "e".repeat(10_000)).into_bytes()),
        ("a NUL event", b"\0".to_vec()),
    ];
    for (name, ev) in &events {
        c.add2(K, &format!("with {name}"), receipt.as_bytes(), Some(ev));
    }
    for (name, bytes) in mutations(event, Plan::new(4, 12, 2, 2, 2), rng) {
        c.add2(K, &format!("with its event: {name}"), receipt.as_bytes(), Some(&bytes));
    }
    c.mutations(K, "receipt 1", receipt.as_bytes(), Plan::new(8, 40, 5, 5, 5), rng);
    c.mutations(K, "receipt 0", f.receipts[0].0.as_bytes(), Plan::new(3, 10, 2, 2, 2), rng);
}

fn batch_receipt_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "batch_receipt";
    let base = &f.batch_receipts[1];
    let members = members_of(base.as_bytes());
    let proof = members.iter().find(|m| m.0 == "proof").expect("proof").1.clone();
    let cases: Vec<(String, String)> = vec![
        ("an empty object".into(), "{}".into()),
        ("a bare brace".into(), "{".into()),
        ("an array".into(), format!("[{base}]")),
        (
            "another batch receipt's record".into(),
            base.replace(
                &quote(std::str::from_utf8(&f.batch_records[1]).expect("UTF-8"))[1..],
                &quote(std::str::from_utf8(&f.batch_records[2]).expect("UTF-8"))[1..],
            ),
        ),
        (
            "a receipt's record".into(),
            base.replace(
                &quote(std::str::from_utf8(&f.batch_records[1]).expect("UTF-8"))[1..],
                &quote(std::str::from_utf8(&f.receipts[1].2).expect("UTF-8"))[1..],
            ),
        ),
        (
            "the checkpoint of the receipts log".into(),
            base.replace(&quote(&f.batch_checkpoint)[1..], &quote(&f.checkpoint)[1..]),
        ),
        ("with spaces".into(), base.replacen(',', ", ", 3)),
        ("nested 1025 deep".into(), format!("{{\"a\":{}{}}}", "[".repeat(1025), "]".repeat(1025))),
    ];
    for (name, text) in &cases {
        c.add(K, name, text.as_bytes());
    }
    let extra: &[(&str, &str, &str)] = &[
        ("type", "a receipt's typ", "\"evidentia-receipt+jws\""),
        ("v", "2", "2"),
        ("record", "not JSON", "\"{\""),
        ("record", "a JSON object, not its text", "{\"v\":1}"),
        (
            "checkpoint",
            "a body without signatures",
            "\"vectors.evidentia.dev/payments\\n4\\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\\n\"",
        ),
        ("checkpoint", "garbage", "\"checkpoint\""),
    ];
    for (name, variant) in object_variants(&members, extra) {
        c.add(K, &name, variant.as_bytes());
    }
    // The proof inside, member by member.
    let proof_members = members_of(proof.as_bytes());
    for (name, variant) in
        object_variants(&proof_members, &[("leaf_index", "another leaf", "2"), ("tree_size", "5", "5")])
    {
        let mut changed = members.clone();
        changed.iter_mut().find(|m| m.0 == "proof").expect("proof").1 = variant;
        c.add(K, &format!("proof: {name}"), object_text(&changed).as_bytes());
    }
    // With an event (input2).
    c.add2(K, "with its event", base.as_bytes(), Some(&f.receipts[1].1));
    c.add2(K, "with another event", base.as_bytes(), Some(EVENTS[0].as_bytes()));
    c.add2(K, "with an event that is not JSON", base.as_bytes(), Some(b"{"));
    c.add2(K, "with an event of invalid UTF-8", base.as_bytes(), Some(b"\"\xc0\xaf\""));
    c.mutations(K, "batch receipt 1", base.as_bytes(), Plan::new(8, 30, 3, 3, 3), rng);
}

fn evidence_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "evidence";
    let keys = KeySet::from_json(&f.jwks).expect("valid");
    let file = evidence_file(&f.receipts[1].0, &keys, Some(&f.receipts[1].1), None).expect("evidence file");
    let batch = evidence_file(&f.batch_receipts[1], &keys, Some(&f.receipts[1].1), None).expect("evidence file");
    let receipt = quote(&f.receipts[1].0);
    let cases: Vec<(String, String)> = vec![
        ("an empty object".into(), "{}".into()),
        ("not JSON".into(), "{\"receipt\":".into()),
        ("an array".into(), format!("[{file}]")),
        (
            "both a receipt and a batch receipt".into(),
            format!("{{\"batch_receipt\":{},\"jwks\":{},\"receipt\":{receipt}}}", quote(&f.batch_receipts[1]), f.jwks),
        ),
        (
            "a batch receipt as an object".into(),
            format!("{{\"batch_receipt\":{},\"jwks\":{}}}", f.batch_receipts[1], f.jwks),
        ),
        (
            "a batch receipt as a non-canonical object".into(),
            format!("{{\"batch_receipt\":{},\"jwks\":{}}}", f.batch_receipts[1].replacen(',', " , ", 2), f.jwks),
        ),
        ("the key set as text".into(), format!("{{\"jwks\":{},\"receipt\":{receipt}}}", quote(&f.jwks))),
        ("the key set as text that is not JSON".into(), format!("{{\"jwks\":\"{{\",\"receipt\":{receipt}}}")),
        ("no key set".into(), format!("{{\"receipt\":{receipt}}}")),
        ("an event of 1e999999".into(), format!("{{\"event\":1e999999,\"jwks\":{},\"receipt\":{receipt}}}", f.jwks)),
        (
            "an event with a lone surrogate".into(),
            format!("{{\"event\":\"\\ud800\",\"jwks\":{},\"receipt\":{receipt}}}", f.jwks),
        ),
        (
            "an event with a duplicate member".into(),
            format!("{{\"event\":{{\"a\":1,\"a\":2}},\"jwks\":{},\"receipt\":{receipt}}}", f.jwks),
        ),
        (
            "an event nested 1025 deep".into(),
            format!("{{\"event\":{}{},\"jwks\":{},\"receipt\":{receipt}}}", "[".repeat(1025), "]".repeat(1025), f.jwks),
        ),
        (
            "an event of 2^53 + 1".into(),
            format!("{{\"event\":9007199254740993,\"jwks\":{},\"receipt\":{receipt}}}", f.jwks),
        ),
        (
            "members twice".into(),
            format!("{{\"jwks\":{0},\"jwks\":{0},\"receipt\":{receipt},\"receipt\":\"x\"}}", f.jwks),
        ),
    ];
    for (name, text) in &cases {
        c.add(K, name, text.as_bytes());
    }
    for (what, text) in [("receipt evidence", &file), ("batch evidence", &batch)] {
        let members = members_of(text.as_bytes());
        for (name, variant) in object_variants(&members, &[]) {
            // Of the batch evidence, only what concerns the batch receipt.
            if what == "receipt evidence" || name.contains("'batch_receipt'") {
                c.add(K, &format!("{what}: {name}"), variant.as_bytes());
            }
        }
    }
    c.mutations(K, "receipt evidence", file.as_bytes(), Plan::new(6, 20, 2, 2, 2), rng);
    c.mutations(K, "batch evidence", batch.as_bytes(), Plan::new(3, 10, 1, 1, 1), rng);
}

fn hashes(n: usize) -> String {
    let h = b64(&[0x5a; 32]);
    format!("[{}]", vec![quote(&h); n].join(","))
}

fn inclusion_proof_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "inclusion_proof";
    let proof = |hashes: &str, index: &str, size: &str| {
        format!("{{\"hashes\":{hashes},\"leaf_index\":{index},\"tree_size\":{size},\"type\":\"inclusion\"}}")
    };
    let h = |n: usize| hashes(n);
    let cases: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("not JSON".into(), "{".into()),
        ("a consistency proof".into(), f.consistency.clone()),
        ("index = size".into(), proof(&h(2), "4", "4")),
        ("size 0".into(), proof("[]", "0", "0")),
        ("index -1".into(), proof(&h(2), "-1", "4")),
        ("index 2^53 - 1, size 2^53 - 1".into(), proof(&h(53), "9007199254740990", "9007199254740991")),
        ("index 2^53, size 2^53 + 2".into(), proof(&h(53), "9007199254740992", "9007199254740994")),
        ("index 2^63".into(), proof(&h(2), "9223372036854775808", "18446744073709551615")),
        ("size 2^64".into(), proof(&h(64), "1", "18446744073709551616")),
        ("size 2^64 - 1".into(), proof(&h(64), "1", "18446744073709551615")),
        ("size 1e300".into(), proof(&h(2), "1", "1e300")),
        ("size 1e999999".into(), proof(&h(2), "1", "1e999999")),
        ("index 1.0".into(), proof(&h(2), "1.0", "4")),
        ("index 1e0".into(), proof(&h(2), "1e0", "4")),
        ("index -0".into(), proof(&h(2), "-0", "4")),
        ("index 0.5".into(), proof(&h(2), "0.5", "4")),
        ("index a string".into(), proof(&h(2), "\"1\"", "4")),
        ("no hashes for 4 leaves".into(), proof("[]", "1", "4")),
        ("65 hashes".into(), proof(&h(65), "1", "4")),
        ("500 hashes".into(), proof(&h(500), "1", "4")),
        ("a hash of 31 bytes".into(), proof(&format!("[{}]", quote(&b64(&[1; 31]))), "1", "2")),
        ("a hash of 33 bytes".into(), proof(&format!("[{}]", quote(&b64(&[1; 33]))), "1", "2")),
        (
            "a hash without padding".into(),
            proof(&format!("[{}]", quote(b64(&[1; 32]).trim_end_matches('='))), "1", "2"),
        ),
        (
            "a hash in base64url".into(),
            proof(&format!("[{}]", quote(&b64(&[0xfb; 32]).replace('+', "-").replace('/', "_"))), "1", "2"),
        ),
        ("a hash with a space".into(), proof(&format!("[{}]", quote(&format!(" {}", b64(&[1; 32])))), "1", "2")),
        (
            "a hash with nonzero trailing bits".into(),
            proof("[\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQF=\"]", "1", "2"),
        ),
        ("a hash that is a number".into(), proof("[1]", "1", "2")),
        ("a hash that is null".into(), proof("[null]", "1", "2")),
        ("a hash of 10,000 bytes".into(), proof(&format!("[{}]", quote(&b64(&[1; 10_000]))), "1", "2")),
        ("type Inclusion".into(), f.inclusion.replace("\"inclusion\"", "\"Inclusion\"")),
        (
            "type twice".into(),
            f.inclusion.replace("\"type\":\"inclusion\"", "\"type\":\"inclusion\",\"type\":\"consistency\""),
        ),
    ];
    for (name, text) in &cases {
        c.add(K, name, text.as_bytes());
    }
    for (name, variant) in object_variants(&members_of(f.inclusion.as_bytes()), &[]) {
        c.add(K, &name, variant.as_bytes());
    }
    c.mutations(K, "proof", f.inclusion.as_bytes(), Plan::new(10, 40, 6, 6, 6), rng);
}

fn consistency_proof_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "consistency_proof";
    let proof = |hashes: &str, old: &str, new: &str| {
        format!("{{\"hashes\":{hashes},\"new_size\":{new},\"old_size\":{old},\"type\":\"consistency\"}}")
    };
    let h = |n: usize| hashes(n);
    let cases: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("not JSON".into(), "[".into()),
        ("an inclusion proof".into(), f.inclusion.clone()),
        ("old 0".into(), proof("[]", "0", "4")),
        ("old 0, new 0".into(), proof("[]", "0", "0")),
        ("old > new".into(), proof(&h(2), "4", "3")),
        ("old = new with hashes".into(), proof(&h(2), "4", "4")),
        ("old = new without hashes".into(), proof("[]", "4", "4")),
        ("old 1, new 2^53 - 1".into(), proof(&h(53), "1", "9007199254740991")),
        ("old 2^53 - 2, new 2^53 - 1".into(), proof(&h(60), "9007199254740990", "9007199254740991")),
        ("new 2^64 - 1".into(), proof(&h(64), "3", "18446744073709551615")),
        ("new 2^64".into(), proof(&h(64), "3", "18446744073709551616")),
        ("old -1".into(), proof(&h(2), "-1", "4")),
        ("new 1e999999".into(), proof(&h(2), "3", "1e999999")),
        ("old 3.0".into(), proof(&h(2), "3.0", "4")),
        ("old a power of two with no hashes".into(), proof("[]", "2", "4")),
        ("100 hashes".into(), proof(&h(100), "3", "4")),
        ("300 hashes".into(), proof(&h(300), "3", "4")),
        ("a hash of 31 bytes".into(), proof(&format!("[{}]", quote(&b64(&[1; 31]))), "3", "4")),
        ("a hash that is an object".into(), proof("[{}]", "3", "4")),
        (
            "type twice".into(),
            f.consistency.replace("\"type\":\"consistency\"", "\"type\":\"consistency\",\"type\":\"consistency\""),
        ),
    ];
    for (name, text) in &cases {
        c.add(K, name, text.as_bytes());
    }
    for (name, variant) in object_variants(&members_of(f.consistency.as_bytes()), &[]) {
        c.add(K, &name, variant.as_bytes());
    }
    c.mutations(K, "proof", f.consistency.as_bytes(), Plan::new(10, 40, 6, 6, 6), rng);
}

/// A note: the text, an empty line, and the signature of `key` under `name`.
fn note(text: &str, key: &SigningKey) -> String {
    sign_note(text, LOG_ID, key).unwrap_or_else(|_| format!("{text}\n"))
}

fn checkpoint_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "checkpoint";
    let key = &f.key;
    let root = b64(&f.root);
    let (body, signatures) = f.checkpoint.split_once("\n\n").expect("a signed note");
    let signature = signatures.lines().next().expect("a signature line");
    let (_, sig_b64) = signature.rsplit_once(' ').expect("name and signature");
    let sig_bytes = evidentia::encoding::b64_decode(sig_b64).expect("base64");
    let bodies: Vec<(&str, String)> = vec![
        ("size 2^64 - 1", format!("{LOG_ID}\n18446744073709551615\n{root}\n")),
        ("size 2^64", format!("{LOG_ID}\n18446744073709551616\n{root}\n")),
        ("size 10^30", format!("{LOG_ID}\n1000000000000000000000000000000\n{root}\n")),
        ("size -1", format!("{LOG_ID}\n-1\n{root}\n")),
        ("size with a leading zero", format!("{LOG_ID}\n04\n{root}\n")),
        ("size with a plus", format!("{LOG_ID}\n+4\n{root}\n")),
        ("size with a space", format!("{LOG_ID}\n 4\n{root}\n")),
        ("size 4.0", format!("{LOG_ID}\n4.0\n{root}\n")),
        ("size 0", format!("{LOG_ID}\n0\n{root}\n")),
        ("size empty", format!("{LOG_ID}\n\n{root}\n")),
        ("size in Arabic-Indic digits", format!("{LOG_ID}\n\u{664}\n{root}\n")),
        ("root of 31 bytes", format!("{LOG_ID}\n4\n{}\n", b64(&[1; 31]))),
        ("root of 33 bytes", format!("{LOG_ID}\n4\n{}\n", b64(&[1; 33]))),
        ("root without padding", format!("{LOG_ID}\n4\n{}\n", root.trim_end_matches('='))),
        ("root in base64url", format!("{LOG_ID}\n4\n{}\n", b64(&[0xfb; 32]).replace('+', "-").replace('/', "_"))),
        ("root empty", format!("{LOG_ID}\n4\n\n")),
        ("origin empty", format!("\n4\n{root}\n")),
        ("origin another log", format!("example.com/other\n4\n{root}\n")),
        ("origin with a space", format!("{LOG_ID} x\n4\n{root}\n")),
        ("origin non-ASCII", format!("vectors.evidentia.dev/päyments\n4\n{root}\n")),
        ("origin of 10,000 characters", format!("{}\n4\n{root}\n", "o".repeat(10_000))),
        ("two lines only", format!("{LOG_ID}\n4\n")),
        ("one line only", format!("{LOG_ID}\n")),
        ("no final newline", format!("{LOG_ID}\n4\n{root}")),
        ("an extension line", format!("{LOG_ID}\n4\n{root}\nextension\n")),
        ("100 extension lines", format!("{LOG_ID}\n4\n{root}\n{}", "ext\n".repeat(100))),
        ("an empty extension line", format!("{LOG_ID}\n4\n{root}\n\nx\n")),
        ("CRLF line ends", format!("{LOG_ID}\r\n4\r\n{root}\r\n")),
        ("a tab", format!("{LOG_ID}\t\n4\n{root}\n")),
        ("a NUL", format!("{LOG_ID}\0\n4\n{root}\n")),
        ("a DEL", format!("{LOG_ID}\n4\n{root}\n\u{7f}\n")),
    ];
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, text) in &bodies {
        cases.push((format!("{name}, signed"), note(text, key).into_bytes()));
        cases.push((format!("{name}, with the valid signature"), format!("{text}\n{signature}\n").into_bytes()));
    }
    let line = |name: &str, sig: &[u8]| format!("\u{2014} {name} {}\n", b64(sig));
    let many = |n: usize| (0..n).map(|i| line(&format!("witness{i}"), &[i as u8; 70])).collect::<String>();
    let notes: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("the body only", body.to_owned()),
        ("no signatures", format!("{body}\n\n")),
        ("no empty line", format!("{body}\n{signature}\n")),
        ("two empty lines", format!("{body}\n\n\n{signature}\n")),
        ("no final newline", format!("{body}\n\n{signature}")),
        ("a hyphen instead of the em dash", format!("{body}\n\n{}\n", signature.replacen('\u{2014}', "-", 1))),
        ("an en dash", format!("{body}\n\n{}\n", signature.replacen('\u{2014}', "\u{2013}", 1))),
        ("no space after the dash", format!("{body}\n\n{}\n", signature.replacen("\u{2014} ", "\u{2014}", 1))),
        ("two spaces", format!("{body}\n\n{}\n", signature.replacen(' ', "  ", 1))),
        ("no key name", format!("{body}\n\n\u{2014}  {sig_b64}\n")),
        ("no signature", format!("{body}\n\n\u{2014} {LOG_ID}\n")),
        ("a signature that is not base64", format!("{body}\n\n\u{2014} {LOG_ID} !!!!\n")),
        ("a signature of 3 bytes", format!("{body}\n\n{}", line(LOG_ID, &[1, 2, 3]))),
        ("a signature of only the key hash", format!("{body}\n\n{}", line(LOG_ID, &sig_bytes[..4]))),
        (
            "the key hash and garbage",
            format!(
                "{body}\n\n{}",
                line(LOG_ID, &[&sig_bytes[..4], &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff][..]].concat())
            ),
        ),
        (
            "the key hash and 10,000 bytes",
            format!("{body}\n\n{}", line(LOG_ID, &[&sig_bytes[..4], &[0x30; 10_000][..]].concat())),
        ),
        ("the signature twice", format!("{body}\n\n{signature}\n{signature}\n")),
        ("100 unknown signatures", format!("{body}\n\n{}", many(100))),
        ("101 unknown signatures", format!("{body}\n\n{}", many(101))),
        ("100 unknown signatures and the valid one", format!("{body}\n\n{}{signature}\n", many(100))),
        ("64 KiB + 1", format!("{}{}", f.checkpoint, "x".repeat(64 * 1024 + 1 - f.checkpoint.len()))),
        (
            "the signature of the old checkpoint",
            format!("{body}\n\n{}", f.old_checkpoint.split_once("\n\n").expect("note").1),
        ),
        ("a signature by another key", note(&format!("{body}\n"), &test_key(2))),
        ("a BOM", format!("\u{feff}{}", f.checkpoint)),
        ("CRLF everywhere", f.checkpoint.replace('\n', "\r\n")),
        ("text after the signatures", format!("{}trailing", f.checkpoint)),
        ("an empty line after the signatures", format!("{}\n", f.checkpoint)),
    ];
    for (name, text) in notes {
        cases.push((name.into(), text.into_bytes()));
    }
    let mut invalid = f.checkpoint.clone().into_bytes();
    invalid[5] = 0xff;
    cases.push(("invalid UTF-8 in the origin".into(), invalid));
    let mut invalid = f.checkpoint.clone().into_bytes();
    let at = invalid.iter().position(|&b| b == 0xe2).expect("em dash");
    invalid[at + 1] = 0x28;
    cases.push(("a broken em dash".into(), invalid));
    for (name, bytes) in &cases {
        c.add(K, name, bytes);
    }
    c.mutations(K, "note", f.checkpoint.as_bytes(), Plan::new(12, 60, 8, 8, 8), rng);
}

/// Two inputs at once: a proof with a checkpoint of the matching size.
fn pair_cases(c: &mut Corpus, f: &Fixture) {
    let key = &f.key;
    let root = b64(&f.root);
    let body = |size: &str| format!("{LOG_ID}\n{size}\n{root}\n");
    let inclusion = |index: &str, size: &str, n: usize| {
        format!("{{\"hashes\":{},\"leaf_index\":{index},\"tree_size\":{size},\"type\":\"inclusion\"}}", hashes(n))
    };
    let consistency = |old: &str, new: &str, n: usize| {
        format!("{{\"hashes\":{},\"new_size\":{new},\"old_size\":{old},\"type\":\"consistency\"}}", hashes(n))
    };
    let sizes: [(&str, &str, usize); 10] = [
        ("1", "1", 0),
        ("2", "2", 1),
        ("5", "5", 3),
        ("4", "4", 2),
        ("2^32", "4294967296", 32),
        ("2^53 - 1", "9007199254740991", 53),
        ("2^53", "9007199254740992", 53),
        ("2^63", "9223372036854775808", 63),
        ("2^64 - 1", "18446744073709551615", 64),
        ("0", "0", 0),
    ];
    for (what, size, n) in sizes {
        let checkpoint = note(&body(size), key);
        for (index_name, index) in [("the first leaf", "0"), ("leaf 1", "1"), ("the last leaf", "LAST")] {
            let index = if index == "LAST" {
                size.parse::<u128>().map_or_else(|_| size.to_owned(), |s| s.saturating_sub(1).to_string())
            } else {
                index.to_owned()
            };
            c.add2(
                "inclusion",
                &format!("{index_name} of {what} records, signed"),
                inclusion(&index, size, n).as_bytes(),
                Some(checkpoint.as_bytes()),
            );
        }
        c.add2(
            "consistency",
            &format!("3 to {what} records, signed"),
            consistency("3", size, n).as_bytes(),
            Some(checkpoint.as_bytes()),
        );
        c.add2(
            "consistency",
            &format!("{what} to {what} records, signed"),
            consistency(size, size, 0).as_bytes(),
            Some(checkpoint.as_bytes()),
        );
    }
    // The valid proofs with hostile checkpoints, and the reverse.
    let hostile_notes: [(&str, String); 5] = [
        ("an empty checkpoint", String::new()),
        ("an unsigned checkpoint", format!("{}\n", body("4"))),
        ("the old checkpoint", f.old_checkpoint.clone()),
        (
            "a checkpoint of another origin",
            sign_note(&format!("other.example/log\n4\n{root}\n"), "other.example/log", key).expect("name"),
        ),
        ("a checkpoint with a changed root", note(&format!("{LOG_ID}\n4\n{}\n", b64(&[9; 32])), key)),
    ];
    for (name, cp) in &hostile_notes {
        c.add2("inclusion", &format!("the valid proof with {name}"), f.inclusion.as_bytes(), Some(cp.as_bytes()));
        c.add2("consistency", &format!("the valid proof with {name}"), f.consistency.as_bytes(), Some(cp.as_bytes()));
    }
    c.add2("inclusion", "an empty proof with the checkpoint", b"", Some(f.checkpoint.as_bytes()));
    c.add2("consistency", "an empty proof with the checkpoint", b"", Some(f.checkpoint.as_bytes()));
    c.add2("inclusion", "both valid", f.inclusion.as_bytes(), Some(f.checkpoint.as_bytes()));
    c.add2("consistency", "both valid", f.consistency.as_bytes(), Some(f.checkpoint.as_bytes()));
}

/// A log held in memory: its entries (entry, event) and checkpoints (size, note).
fn log_case(c: &mut Corpus, name: &str, entries: &[(Vec<u8>, Option<Vec<u8>>)], checkpoints: &[(u64, Vec<u8>)]) {
    let entries: Vec<String> = entries
        .iter()
        .map(|(entry, event)| {
            format!("{{\"entry\":{},\"event\":{}}}", bytes64(entry), event.as_deref().map_or("null".into(), bytes64))
        })
        .collect();
    let checkpoints: Vec<String> =
        checkpoints.iter().map(|(size, note)| format!("{{\"size\":{size},\"note\":{}}}", bytes64(note))).collect();
    c.raw(
        "log_entries",
        name,
        format!("\"entries\":[{}],\"checkpoints\":[{}]", entries.join(","), checkpoints.join(",")),
    );
}

fn log_entries_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    type Entries = Vec<(Vec<u8>, Option<Vec<u8>>)>;
    // The first two records of the fixture's log, and its checkpoint at 2.
    let base: Entries = f.receipts[..2].iter().map(|(r, e, _)| (r.as_bytes().to_vec(), Some(e.clone()))).collect();
    let at_two = f.checkpoint_at_two.clone().into_bytes();
    let checkpoints = vec![(2u64, at_two.clone())];
    log_case(c, "the valid log", &base, &checkpoints);
    log_case(c, "no entries", &[], &[]);
    log_case(c, "no entries, with a checkpoint", &[], &checkpoints);
    let full: Entries = f.receipts.iter().map(|(r, e, _)| (r.as_bytes().to_vec(), Some(e.clone()))).collect();
    let both = vec![(3u64, f.old_checkpoint.clone().into_bytes()), (4, f.checkpoint.clone().into_bytes())];
    log_case(c, "four records and two checkpoints", &full, &both);
    log_case(c, "four records and two checkpoints in reverse", &full, &[both[1].clone(), both[0].clone()]);
    log_case(c, "without events", &base.iter().map(|(r, _)| (r.clone(), None)).collect::<Vec<_>>(), &[]);
    let batch: Entries =
        f.batch_records.iter().zip(&f.receipts).map(|(r, (_, e, _))| (r.clone(), Some(e.clone()))).collect();
    let batch_checkpoint = vec![(4u64, f.batch_checkpoint.clone().into_bytes())];
    log_case(c, "a batch-mode log", &batch, &batch_checkpoint);
    log_case(c, "a batch-mode log without its checkpoint", &batch, &[]);
    let mut mixed = base.clone();
    mixed[1] = batch[1].clone();
    log_case(c, "a receipt replaced by a batch record", &mixed, &checkpoints);
    let mut mixed = base.clone();
    mixed[1].0 = f.batch_receipts[1].clone().into_bytes();
    log_case(c, "a receipt replaced by a batch receipt", &mixed, &checkpoints);
    // Entries changed one at a time.
    let hostile: [(&str, &[u8]); 8] = [
        ("empty", b""),
        ("garbage", b"garbage"),
        ("a JSON object", b"{}"),
        ("invalid UTF-8", b"\xff\xfe"),
        ("a NUL", b"\0"),
        ("JSON nested 1025 deep", &[b'['; 1025]),
        ("a JWS of three dots", b"..."),
        ("a record with spaces", b"{ \"v\": 1 }"),
    ];
    for (name, bytes) in hostile {
        let mut changed = base.clone();
        changed[1].0 = bytes.to_vec();
        log_case(c, &format!("entry 1 {name}"), &changed, &checkpoints);
    }
    for (i, _) in base.iter().enumerate() {
        for (name, bytes) in mutations(&base[i].0, Plan::new(1, 4, 1, 1, 0), rng) {
            let mut changed = base.clone();
            changed[i].0 = bytes;
            log_case(c, &format!("entry {i}: {name}"), &changed, &checkpoints);
        }
        for (name, bytes) in mutations(base[i].1.as_deref().unwrap_or_default(), Plan::new(0, 2, 0, 0, 0), rng) {
            let mut changed = base.clone();
            changed[i].1 = Some(bytes);
            log_case(c, &format!("event {i}: {name}"), &changed, &checkpoints);
        }
        let mut changed = base.clone();
        changed[i].1 = Some(b"\xff".to_vec());
        log_case(c, &format!("event {i} invalid UTF-8"), &changed, &checkpoints);
    }
    let reorder: [(&str, Vec<usize>); 6] = [
        ("reversed", vec![1, 0]),
        ("first removed", vec![1]),
        ("last removed", vec![0]),
        ("every entry twice", vec![0, 0, 1, 1]),
        ("the first and the last, twice", vec![0, 1, 0, 1]),
        ("the first 20 times", vec![0; 20]),
    ];
    for (name, order) in reorder {
        let entries: Entries = order.iter().map(|&i| base[i].clone()).collect();
        log_case(c, &format!("entries {name}"), &entries, &checkpoints);
    }
    let sized: [(&str, u64); 6] = [
        ("at size 0", 0),
        ("at size 1", 1),
        ("beyond the entries", 3),
        ("at 2^53 - 1", (1 << 53) - 1),
        ("at 2^32", 1 << 32),
        ("at size 1, not its own", 1),
    ];
    for (name, size) in sized {
        log_case(c, &format!("the checkpoint {name}"), &base, &[(size, at_two.clone())]);
    }
    log_case(c, "the checkpoint 30 times", &base, &vec![checkpoints[0].clone(); 30]);
    log_case(c, "a checkpoint of another log", &base, &[(2, f.batch_checkpoint.clone().into_bytes())]);
    log_case(c, "the checkpoint of 3 records", &base, &[(2, f.old_checkpoint.clone().into_bytes())]);
    let hostile_notes: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("garbage", b"checkpoint"),
        ("invalid UTF-8", b"\xff\n"),
        ("unsigned", b"vectors.evidentia.dev/payments\n4\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"),
        (
            "size 2^64 - 1",
            b"vectors.evidentia.dev/payments\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
        ),
    ];
    for (name, bytes) in hostile_notes {
        log_case(c, &format!("a checkpoint {name}"), &base, &[(2, bytes.to_vec())]);
    }
    for (name, bytes) in mutations(&at_two, Plan::new(2, 6, 1, 1, 0), rng) {
        log_case(c, &format!("the checkpoint: {name}"), &base, &[(2, bytes)]);
    }
}

/// Arguments of a receipt chain kept by the application: log ids, times, nonces.
fn chain_cases(c: &mut Corpus) {
    let texts = |c: &mut Corpus, kind: &'static str, list: &[(&str, Vec<u8>)]| {
        for (name, bytes) in list {
            c.add(kind, name, bytes);
        }
    };
    texts(
        c,
        "log_id",
        &[
            ("empty", b"".to_vec()),
            ("a space", b"a b".to_vec()),
            ("256 characters", vec![b'l'; 256]),
            ("257 characters", vec![b'l'; 257]),
            ("10,000 characters", vec![b'l'; 10_000]),
            ("a NUL", b"a\0b".to_vec()),
            ("a newline", b"log\n".to_vec()),
            ("a tab", b"\tlog".to_vec()),
            ("a DEL", b"log\x7f".to_vec()),
            ("non-ASCII", "caf\u{e9}".as_bytes().to_vec()),
            ("an emoji", "\u{1f600}".as_bytes().to_vec()),
            ("invalid UTF-8", b"log\xff".to_vec()),
            ("a lone surrogate encoded", b"\xed\xa0\x80".to_vec()),
            ("a plus", b"a+b".to_vec()),
            ("a quote and a backslash", b"a\"b\\c".to_vec()),
            ("valid", LOG_ID.as_bytes().to_vec()),
        ],
    );
    texts(
        c,
        "time",
        &[
            ("empty", b"".to_vec()),
            ("valid", b"2026-01-01T00:00:00Z".to_vec()),
            ("a fraction", b"2026-01-01T00:00:00.5Z".to_vec()),
            ("a fraction with a trailing zero", b"2026-01-01T00:00:00.50Z".to_vec()),
            ("nine fraction digits", b"2026-01-01T00:00:00.123456789Z".to_vec()),
            ("ten fraction digits", b"2026-01-01T00:00:00.1234567891Z".to_vec()),
            ("1,000 fraction digits", format!("2026-01-01T00:00:00.{}Z", "1".repeat(1000)).into_bytes()),
            ("a leap second", b"2026-12-31T23:59:60Z".to_vec()),
            ("February 29 of a common year", b"2026-02-29T00:00:00Z".to_vec()),
            ("February 29 of a leap year", b"2028-02-29T00:00:00Z".to_vec()),
            ("February 29, 1900", b"1900-02-29T00:00:00Z".to_vec()),
            ("February 29, 2000", b"2000-02-29T00:00:00Z".to_vec()),
            ("day 0", b"2026-01-00T00:00:00Z".to_vec()),
            ("month 0", b"2026-00-01T00:00:00Z".to_vec()),
            ("day 32", b"2026-01-32T00:00:00Z".to_vec()),
            ("hour 24", b"2026-01-01T24:00:00Z".to_vec()),
            ("minute 60", b"2026-01-01T00:60:00Z".to_vec()),
            ("year 0000", b"0000-01-01T00:00:00Z".to_vec()),
            ("year 9999, last instant", b"9999-12-31T23:59:59.999999999Z".to_vec()),
            ("year 10000", b"10000-01-01T00:00:00Z".to_vec()),
            ("a negative year", b"-0001-01-01T00:00:00Z".to_vec()),
            ("a lowercase t", b"2026-01-01t00:00:00Z".to_vec()),
            ("a lowercase z", b"2026-01-01T00:00:00z".to_vec()),
            ("a space for T", b"2026-01-01 00:00:00Z".to_vec()),
            ("an offset", b"2026-01-01T00:00:00+00:00".to_vec()),
            ("no zone", b"2026-01-01T00:00:00".to_vec()),
            ("a comma fraction", b"2026-01-01T00:00:00,5Z".to_vec()),
            ("an empty fraction", b"2026-01-01T00:00:00.Z".to_vec()),
            ("single-digit month", b"2026-1-01T00:00:00Z".to_vec()),
            ("full-width digits", "\u{ff12}026-01-01T00:00:00Z".as_bytes().to_vec()),
            ("a NUL", b"2026-01-01T00:00:00Z\0".to_vec()),
            ("a newline", b"2026-01-01T00:00:00Z\n".to_vec()),
            ("invalid UTF-8", b"2026-01-01T00:00:00\xff".to_vec()),
            ("seconds since 1970", b"1767225600".to_vec()),
            ("10,000 characters", vec![b'9'; 10_000]),
        ],
    );
    texts(
        c,
        "nonce",
        &[
            ("empty", b"".to_vec()),
            ("one byte", b"n".to_vec()),
            ("256 bytes", vec![b'n'; 256]),
            ("257 bytes", vec![b'n'; 257]),
            ("128 two-byte characters", "\u{e9}".repeat(128).into_bytes()),
            ("a three-byte character across byte 256", format!("{}\u{20ac}", "n".repeat(254)).into_bytes()),
            ("10,000 bytes", vec![b'n'; 10_000]),
            ("a NUL", b"\0".to_vec()),
            ("a newline", b"\n".to_vec()),
            ("a quote", b"\"".to_vec()),
            ("invalid UTF-8", b"\xff".to_vec()),
            ("a lone surrogate encoded", b"\xed\xb0\x80".to_vec()),
            ("JSON escapes as text", br#"\u0000\ud800"#.to_vec()),
        ],
    );
}

fn vkey_cases(c: &mut Corpus, f: &Fixture, rng: &mut Rng) {
    const K: &str = "vkey";
    let (name, rest) = f.vkey.split_once('+').expect("vkey");
    let (hash, key) = rest.split_once('+').expect("vkey");
    let cases: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("one plus".into(), "+".into()),
        ("two pluses".into(), "++".into()),
        ("no name".into(), format!("+{hash}+{key}")),
        ("a name with a space".into(), format!("a b+{hash}+{key}")),
        ("a name with a newline".into(), format!("a\nb+{hash}+{key}")),
        ("a hash of 7 digits".into(), format!("{name}+{}+{key}", &hash[..7])),
        ("a hash of 9 digits".into(), format!("{name}+{hash}0+{key}")),
        ("an uppercase hash".into(), format!("{name}+{}+{key}", hash.to_uppercase())),
        ("a hash that is not hex".into(), format!("{name}+zzzzzzzz+{key}")),
        ("a wrong hash".into(), format!("{name}+00000000+{key}")),
        ("a key that is not base64".into(), format!("{name}+{hash}+!!!")),
        ("an empty key".into(), format!("{name}+{hash}+")),
        ("an Ed25519 key".into(), format!("{name}+{hash}+{}", b64(&[[1u8].as_slice(), &[7; 32]].concat()))),
        ("a cosignature key".into(), format!("{name}+{hash}+{}", b64(&[[4u8].as_slice(), &[7; 32]].concat()))),
        ("the type byte alone".into(), format!("{name}+{hash}+{}", b64(&[2]))),
        (
            "an ECDSA type with garbage".into(),
            format!("{name}+{hash}+{}", b64(&[2, 0x30, 0x84, 0xff, 0xff, 0xff, 0xff])),
        ),
        ("a key of 10,000 bytes".into(), format!("{name}+{hash}+{}", b64(&[2; 10_000]))),
        ("a trailing newline".into(), format!("{}\n", f.vkey)),
        ("a name of 10,000 characters".into(), format!("{}+{hash}+{key}", "n".repeat(10_000))),
    ];
    for (name, text) in &cases {
        c.add(K, name, text.as_bytes());
    }
    c.mutations(K, "vkey", f.vkey.as_bytes(), Plan::new(8, 30, 4, 4, 4), rng);
    let der = evidentia::encoding::b64_decode(key).expect("base64");
    for (what, bytes) in mutations(&der, Plan::new(4, 20, 2, 2, 0), rng) {
        c.add(K, &format!("key DER: {what}"), format!("{name}+{hash}+{}", b64(&bytes)).as_bytes());
    }
}

/// DER TLVs of `der`: (offset of the header, header length, content length).
fn tlvs(der: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![(0usize, der.len())];
    while let Some((mut at, end)) = stack.pop() {
        while at + 2 <= end {
            let tag = der[at];
            let first = der[at + 1] as usize;
            let (header, len) = if first < 0x80 {
                (2, first)
            } else {
                let n = first & 0x7f;
                if n == 0 || n > 4 || at + 2 + n > end {
                    break;
                }
                (2 + n, der[at + 2..at + 2 + n].iter().fold(0usize, |acc, &b| acc << 8 | b as usize))
            };
            if at + header + len > end {
                break;
            }
            out.push((at, header, len));
            if tag & 0x20 != 0 || (tag == 0x04 && len > 2 && der[at + header] == 0x30) {
                stack.push((at + header, at + header + len));
            }
            at += header + len;
        }
    }
    out.sort_unstable();
    out
}

/// Mutations of DER structure: every `step`-th TLV gets other lengths and tags.
fn der_mutations(der: &[u8], step: usize, offset: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, &(at, header, len)) in tlvs(der).iter().enumerate() {
        if i % step != offset % step {
            continue;
        }
        let rebuild = |new_header: &[u8]| {
            let mut bytes = der[..at].to_vec();
            bytes.extend_from_slice(new_header);
            bytes.extend_from_slice(&der[at + header..]);
            bytes
        };
        let tag = der[at];
        let variants: Vec<(String, Vec<u8>)> = vec![
            (format!("TLV at {at}: length 0"), rebuild(&[tag, 0])),
            (format!("TLV at {at}: length + 1"), rebuild(&length_header(tag, len + 1))),
            (format!("TLV at {at}: length - 1"), rebuild(&length_header(tag, len.saturating_sub(1)))),
            (format!("TLV at {at}: indefinite length"), rebuild(&[tag, 0x80])),
            (format!("TLV at {at}: length 2^32 - 1"), rebuild(&[tag, 0x84, 0xff, 0xff, 0xff, 0xff])),
            (
                format!("TLV at {at}: a 9-byte length"),
                rebuild(&[tag, 0x89, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            ),
            (
                format!("TLV at {at}: a non-minimal length"),
                rebuild(&[&[tag, 0x82][..], &(len as u16).to_be_bytes()].concat()),
            ),
            (format!("TLV at {at}: tag NULL"), rebuild(&length_header(0x05, len))),
            (format!("TLV at {at}: tag SEQUENCE"), rebuild(&length_header(0x30, len))),
            (format!("TLV at {at}: tag OCTET STRING"), rebuild(&length_header(0x04, len))),
            (
                format!("TLV at {at}: a high tag number"),
                rebuild(&[&[0x1f, 0x81, 0x80, 0x01][..], &length_header(0, len)[1..]].concat()),
            ),
        ];
        out.extend(variants.into_iter().filter(|(_, bytes)| bytes != der));
    }
    out
}

fn length_header(tag: u8, len: usize) -> Vec<u8> {
    match len {
        0..=0x7f => vec![tag, len as u8],
        0x80..=0xff => vec![tag, 0x81, len as u8],
        _ => vec![tag, 0x82, (len >> 8) as u8, len as u8],
    }
}

fn timestamp_cases(c: &mut Corpus, tsa: &Rfc3161, rng: &mut Rng) {
    let nested = |n: usize| {
        let mut v = Vec::new();
        for _ in 0..n {
            v.extend_from_slice(&[0x30, 0x80]);
        }
        v
    };
    let status = |code: u8, with_token: &[u8]| {
        let mut info = vec![0x30, 0x03, 0x02, 0x01, code];
        info.extend_from_slice(with_token);
        let mut out = vec![0x30];
        out.extend(length_header(0, info.len())[1..].iter());
        out.extend(info);
        out
    };
    let token = timestamp_token(&tsa.response).expect("a granted response");
    let common: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one byte", vec![0x30]),
        ("an empty SEQUENCE", vec![0x30, 0x00]),
        ("an indefinite SEQUENCE", vec![0x30, 0x80, 0x00, 0x00]),
        ("a length of 2^32 - 1", vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x00]),
        ("a 9-byte length", vec![0x30, 0x89, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ("SEQUENCEs nested 5,000 deep", nested(5000)),
        ("definite SEQUENCEs nested 100 deep", {
            let mut v: Vec<u8> = Vec::new();
            for _ in 0..100 {
                let mut outer = length_header(0x30, v.len());
                outer.extend(v);
                v = outer;
            }
            v
        }),
        ("PEM text", b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n".to_vec()),
        ("zeros", vec![0; 64]),
        ("0xFF", vec![0xff; 64]),
    ];
    for (name, bytes) in &common {
        for kind in ["timestamp_response", "timestamp_token", "timestamp_request", "certificate"] {
            c.add(kind, name, bytes);
        }
    }
    const R: &str = "timestamp_response";
    c.add(R, "status rejection (2), no token", &status(2, &[]));
    c.add(R, "status waiting (3), no token", &status(3, &[]));
    c.add(R, "status granted (0), no token", &status(0, &[]));
    c.add(R, "status 200, no token", &status(200, &[]));
    c.add(R, "status rejection (2) with a token", &status(2, &token));
    c.add(R, "status granted with the token twice", &status(0, &[token.clone(), token.clone()].concat()));
    c.add(R, "the token alone", &token);
    c.add(R, "the response twice", &[tsa.response.clone(), tsa.response.clone()].concat());
    c.add(R, "the response and a trailing byte", &[tsa.response.as_slice(), &[0]].concat());
    c.add(R, "another authority's response", &tsa.other_response);
    c.add(R, "the valid response", &tsa.response);
    for (name, bytes) in der_mutations(&tsa.response, 6, 0) {
        c.add(R, &name, &bytes);
    }
    c.mutations(R, "response", &tsa.response, Plan::new(6, 30, 3, 3, 3), rng);
    c.mutations(R, "another authority's response", &tsa.other_response, Plan::new(4, 12, 1, 1, 1), rng);

    const T: &str = "timestamp_token";
    c.add(T, "the response instead", &tsa.response);
    c.add(T, "the valid token", &token);
    for (name, bytes) in der_mutations(&token, 7, 1) {
        c.add(T, &name, &bytes);
    }
    c.mutations(T, "token", &token, Plan::new(4, 16, 2, 2, 2), rng);

    const Q: &str = "timestamp_request";
    c.add(Q, "the valid request", &tsa.request);
    for (name, bytes) in der_mutations(&tsa.request, 1, 0) {
        c.add(Q, &name, &bytes);
    }
    c.mutations(Q, "request", &tsa.request, Plan::new(6, 20, 3, 3, 3), rng);

    const C: &str = "certificate";
    let certificates: Vec<&Vec<u8>> = tsa.intermediates.iter().chain(&tsa.roots).collect();
    c.add(C, "the chain as PEM", &tsa.chain_pem);
    c.add(C, "the chain as PEM with CRLF", String::from_utf8_lossy(&tsa.chain_pem).replace('\n', "\r\n").as_bytes());
    c.add(C, "a PEM without END", &tsa.chain_pem[..tsa.chain_pem.len() / 2]);
    c.add(C, "a PEM body that is not base64", b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
    c.add(
        C,
        "a PEM of 300 certificates",
        "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n".repeat(300).as_bytes(),
    );
    for (i, der) in certificates.iter().enumerate() {
        c.add(C, &format!("certificate {i}"), der);
        for (name, bytes) in der_mutations(der, 12, i) {
            c.add(C, &format!("certificate {i}: {name}"), &bytes);
        }
        c.mutations(C, &format!("certificate {i}"), der, Plan::new(3, 8, 1, 1, 1), rng);
    }
}

fn package_files(f: &Fixture) -> Vec<PackageFile> {
    let keys = KeySet::from_json(&f.jwks).expect("valid");
    let proof = InclusionProof::from_json(&f.inclusion).expect("valid");
    build_package(PackageInput {
        receipt: &f.receipts[1].0,
        event: &f.receipts[1].1,
        disclosures: &[],
        keys: &keys,
        proof: Some(&proof),
        checkpoint: Some(&f.checkpoint),
        timestamp: None,
        exported_at: None,
        request: None,
        key_records: &[],
        witnesses: None,
        erasure: None,
    })
    .expect("the fixture's package")
}

/// Files added to a package: name and bytes.
type Files<'a> = Vec<(&'a str, Vec<u8>)>;

fn package_cases(c: &mut Corpus, files: &[PackageFile], rng: &mut Rng) {
    const K: &str = "package";
    let change = |changes: &[(&str, Option<&[u8]>)]| {
        let list: Vec<String> = changes
            .iter()
            .map(|(name, bytes)| match bytes {
                Some(bytes) => format!("{{\"name\":{},\"input\":{}}}", quote(name), bytes64(bytes)),
                None => format!("{{\"name\":{},\"remove\":true}}", quote(name)),
            })
            .collect();
        format!("\"files\":[{}]", list.join(","))
    };
    // Checks read these; verify.sh, VERIFICATION.md and manifest.json are only summed.
    let read: Vec<&PackageFile> = files
        .iter()
        .filter(|f| !matches!(f.name.as_str(), "verify.sh" | "VERIFICATION.md" | "manifest.json"))
        .collect();
    c.raw(K, "the valid package", change(&[]));
    for file in files {
        c.raw(K, &format!("{} removed", file.name), change(&[(&file.name, None)]));
    }
    for file in &read {
        let name = file.name.as_str();
        let half = &file.bytes[..file.bytes.len() / 2];
        let variants: Vec<(String, Vec<u8>)> = vec![
            ("empty".into(), Vec::new()),
            ("cut in half".into(), half.to_vec()),
            ("invalid UTF-8 first".into(), [b"\xff".as_slice(), &file.bytes].concat()),
            ("a NUL appended".into(), [file.bytes.as_slice(), b"\0"].concat()),
            ("twice over".into(), [file.bytes.as_slice(), &file.bytes].concat()),
        ];
        for (what, bytes) in variants {
            c.raw(K, &format!("{name} {what}"), change(&[(name, Some(&bytes))]));
        }
        for (i, (what, bytes)) in mutations(&file.bytes, Plan::new(1, 3, 0, 1, 0), rng).into_iter().enumerate() {
            c.raw(K, &format!("{name}: {what}"), change(&[(name, Some(&bytes))]));
            if i == 2 {
                // With SHA256SUMS made to agree, so that only the later checks fail.
                let sums = sums_with(files, name, &bytes);
                c.raw(
                    K,
                    &format!("{name}: {what}, with the sums updated"),
                    change(&[(name, Some(&bytes)), ("SHA256SUMS", Some(sums.as_bytes()))]),
                );
            }
        }
    }
    let token = {
        let dir = crate::util::root().join("testvectors/external/rfc3161/trailofbits/sigstore.mock");
        timestamp_token(&std::fs::read(dir.join("response-expired.tsr")).expect("fixture")).expect("granted")
    };
    let pem_cert =
        std::fs::read(crate::util::root().join("testvectors/external/rfc3161/trailofbits/sigstore.mock/ts_chain.pem"))
            .expect("fixture");
    let added: Vec<(&str, Files<'_>)> = vec![
        ("an unknown file", vec![("extra.txt", b"x".to_vec())]),
        ("a second receipt, a batch receipt", vec![("batch-receipt.json", b"{}".to_vec())]),
        ("a timestamp of garbage", vec![("timestamp.tst", b"garbage".to_vec())]),
        (
            "a timestamp of another checkpoint",
            vec![("timestamp.tst", token.clone()), ("tsa-root.pem", pem_cert.clone())],
        ),
        ("a timestamp without its root", vec![("timestamp.tst", token.clone())]),
        (
            "a TSA root of garbage",
            vec![
                ("timestamp.tst", token.clone()),
                ("tsa-root.pem", b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n".to_vec()),
            ],
        ),
        (
            "a TSA chain of garbage",
            vec![
                ("timestamp.tst", token.clone()),
                ("tsa-root.pem", pem_cert.clone()),
                ("tsa-chain.pem", vec![0xff; 10]),
            ],
        ),
        (
            "a checkpoint key of garbage",
            vec![("checkpoint-key.pem", b"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n".to_vec())],
        ),
        (
            "the checkpoint key of another key",
            vec![("checkpoint-key.pem", test_key(2).public_key().to_pem().into_bytes())],
        ),
    ];
    for (what, adds) in &added {
        let mut changes: Vec<(&str, Option<&[u8]>)> = adds.iter().map(|(n, b)| (*n, Some(b.as_slice()))).collect();
        c.raw(K, &format!("{what} added"), change(&changes));
        let mut sums = String::from_utf8(files.iter().find(|f| f.name == "SHA256SUMS").expect("sums").bytes.clone())
            .expect("UTF-8");
        for (name, bytes) in adds {
            sums.push_str(&format!("{}  {name}\n", Digest::sha256(bytes).to_string().trim_start_matches("sha256:")));
        }
        changes.push(("SHA256SUMS", Some(sums.as_bytes())));
        c.raw(K, &format!("{what} added, with the sums updated"), change(&changes));
    }
    let sums = &files.iter().find(|f| f.name == "SHA256SUMS").expect("sums").bytes;
    let sums_text = String::from_utf8_lossy(sums);
    let hostile_sums: Vec<(&str, Vec<u8>)> = vec![
        (
            "SHA256SUMS naming a file twice",
            format!("{sums_text}{}", sums_text.lines().next().expect("a line")).into_bytes(),
        ),
        ("SHA256SUMS naming a missing file", format!("{sums_text}{}  extra.txt\n", "0".repeat(64)).into_bytes()),
        ("SHA256SUMS naming a path", format!("{sums_text}{}  ../x\n", "0".repeat(64)).into_bytes()),
        ("SHA256SUMS in binary mode", sums_text.replace("  ", " *").into_bytes()),
        ("SHA256SUMS with uppercase digests", sums_text.to_uppercase().into_bytes()),
        ("SHA256SUMS with CRLF", sums_text.replace('\n', "\r\n").into_bytes()),
        ("SHA256SUMS of 100 lines", sums_text.repeat(5).into_bytes()),
        ("SHA256SUMS with a line of 20,000 characters", format!("{sums_text}{}\n", "a".repeat(20_000)).into_bytes()),
    ];
    for (name, bytes) in &hostile_sums {
        c.raw(K, name, change(&[("SHA256SUMS", Some(bytes))]));
    }
}

/// SHA256SUMS of the package with `name` changed to `bytes`.
fn sums_with(files: &[PackageFile], name: &str, bytes: &[u8]) -> String {
    let sums =
        String::from_utf8(files.iter().find(|f| f.name == "SHA256SUMS").expect("sums").bytes.clone()).expect("UTF-8");
    let digest = Digest::sha256(bytes).to_string();
    sums.lines()
        .map(|line| {
            if line.get(66..) == Some(name) {
                format!("{}  {name}\n", digest.trim_start_matches("sha256:"))
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}
