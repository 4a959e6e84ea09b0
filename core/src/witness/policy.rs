//! C2SP tlog-policy files (SPEC §22.2): which logs may sign a checkpoint, which
//! witnesses may cosign it, and the quorum of cosignatures it needs.

use crate::checkpoint::{Checkpoint, split_note};
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Number, Value};
use crate::witness::cosignature::{Cosignature, LogKey, WitnessKey, verify_note_lines};

/// Larger policy files are refused.
const MAX_POLICY_SIZE: usize = 64 * 1024;
/// More logs, witnesses or groups than this are refused (tlog-policy recommends
/// supporting at least 32 of each).
const MAX_ENTRIES: usize = 256;
/// Groups nested deeper than this are refused (a witness has depth 0, a group one
/// more than its deepest member).
const MAX_DEPTH: usize = 32;
/// The predefined name of the empty quorum.
const NONE: &str = "none";

/// Whether a witness is one of the policy's logs under another title: the same
/// public key, or the log's name (its origin) as the witness's name or key name. A
/// log cannot witness itself: its own signature would count toward the quorum.
fn is_log_itself(name: &str, witness: &WitnessKey, log: &LogKey) -> bool {
    log.key_bytes() == witness.public_key() || log.name() == name || log.name() == witness.name()
}

fn log_as_witness(name: &str) -> String {
    format!("the witness '{name}' is a log of the policy (the same key or name): a log cannot witness itself")
}

fn malformed(line: usize, message: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::PolicyMalformed, format!("policy line {line}: {message}"))
}

/// A member of a group, or the quorum: a witness or a group, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Member>,
    depth: usize,
}

/// A parsed tlog-policy: the logs, the named witnesses, the groups and the quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<LogKey>,
    witnesses: Vec<(String, WitnessKey)>,
    /// Each witness's submission prefix (tlog-witness), when the policy gives one.
    witness_urls: Vec<Option<String>>,
    groups: Vec<Group>,
    /// `None` for `quorum none`.
    quorum: Option<Member>,
}

/// A witness of the policy whose cosignature on the checkpoint verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The witness's name in the policy.
    pub witness: String,
    /// The key name of its cosignature line.
    pub key_name: String,
    /// The cosignature's timestamp, seconds since the epoch (as the witness says).
    pub timestamp: u64,
}

/// What checking a checkpoint against a policy found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyResult {
    /// The checkpoint, read from the note's text.
    pub checkpoint: Checkpoint,
    /// The key names of the policy's logs whose signatures verified (the origin).
    pub signed_by: Vec<String>,
    /// The policy's witnesses whose cosignatures verified, in policy order.
    pub cosigned: Vec<Cosigned>,
    /// Whether those cosignatures meet the quorum.
    pub quorum_met: bool,
}

impl PolicyResult {
    /// The result as JSON, as the C, Node and WASM bindings give it: `origin`,
    /// `size`, `root` (standard base64), `signed_by` (key names), `cosigned` (each
    /// `witness`, `key_name`, `timestamp`) and `quorum_met`. A size or timestamp
    /// beyond 2^53 − 1, which a JSON number cannot hold exactly, is decimal text.
    pub fn to_value(&self) -> Value {
        fn number(n: u64) -> Value {
            i64::try_from(n)
                .ok()
                .and_then(|n| Number::from_i64(n).ok())
                .map_or_else(|| Value::from(n.to_string()), Value::Number)
        }
        let cosigned = self
            .cosigned
            .iter()
            .map(|c| {
                Value::object([
                    ("key_name", Value::from(c.key_name.as_str())),
                    ("timestamp", number(c.timestamp)),
                    ("witness", Value::from(c.witness.as_str())),
                ])
            })
            .collect();
        Value::object([
            ("cosigned", Value::Array(cosigned)),
            ("origin", Value::from(self.checkpoint.origin.as_str())),
            ("quorum_met", Value::Bool(self.quorum_met)),
            ("root", Value::from(crate::encoding::b64(&self.checkpoint.root))),
            ("signed_by", Value::Array(self.signed_by.iter().map(|s| Value::from(s.as_str())).collect())),
            ("size", number(self.checkpoint.size)),
        ])
    }
}

impl Policy {
    /// Reads a policy file (c2sp.org/tlog-policy), strictly: lines `log <vkey>
    /// [<url>]`, `witness <name> <vkey> [<url>]`, `group <name> <k|any|all>
    /// <name>...`, `quorum <name>`, empty and `#` comment lines. Log keys are
    /// Ed25519 (0x01) or ECDSA P-256 (0x02) vkeys, witness keys `cosignature/v1`
    /// vkeys (0x04).
    ///
    /// # Errors
    /// [`ErrorCode::PolicyMalformed`]: a control character other than tab and
    /// newline, an unknown line kind, a wrong number of fields, a bad key, a name
    /// defined twice or `none`, the same key twice among logs or among witnesses,
    /// a witness with the key or the name (origin) of a log of the policy,
    /// a reference to a name not defined on an earlier line, a name used as a
    /// group member twice, a threshold not in 1..=n, not exactly one quorum line,
    /// or more than the limits (64 KiB, 256 logs, witnesses or groups, groups
    /// nested 32 deep).
    pub fn parse(text: &str) -> Result<Policy> {
        if text.len() > MAX_POLICY_SIZE {
            return Err(Error::new(ErrorCode::PolicyMalformed, "the policy is larger than 64 KiB"));
        }
        let mut policy = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            witness_urls: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut quorum_seen = false;
        // Names already listed as a group member: each at most once in the file, so
        // that a witness counts toward the quorum in one way only.
        let mut used: Vec<Member> = Vec::new();
        for (number, line) in text.split('\n').enumerate() {
            let number = number + 1;
            if line.chars().any(|c| c.is_ascii_control() && c != '\t') {
                return Err(malformed(number, "the only control characters allowed are tab and newline"));
            }
            let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
            match fields.as_slice() {
                [] => {}
                [first, ..] if first.starts_with('#') => {}
                ["log", vkey] | ["log", vkey, _] => {
                    let key = LogKey::from_vkey(vkey).map_err(|e| malformed(number, e.message()))?;
                    if policy.logs.iter().any(|k| k.key_bytes() == key.key_bytes()) {
                        return Err(malformed(number, "the same log key is listed twice"));
                    }
                    if let Some((name, _)) = policy.witnesses.iter().find(|(name, w)| is_log_itself(name, w, &key)) {
                        return Err(malformed(number, log_as_witness(name)));
                    }
                    policy.logs.push(key);
                    check_count(number, policy.logs.len())?;
                }
                ["witness", name, vkey, url @ ..] if url.len() <= 1 => {
                    policy.check_new_name(number, name)?;
                    let key = WitnessKey::from_vkey(vkey).map_err(|e| malformed(number, e.message()))?;
                    if policy.witnesses.iter().any(|(_, k)| k.public_key() == key.public_key()) {
                        return Err(malformed(number, "the same witness key is listed twice"));
                    }
                    if policy.logs.iter().any(|log| is_log_itself(name, &key, log)) {
                        return Err(malformed(number, log_as_witness(name)));
                    }
                    policy.witnesses.push(((*name).to_owned(), key));
                    policy.witness_urls.push(url.first().map(|u| (*u).to_owned()));
                    check_count(number, policy.witnesses.len())?;
                }
                ["group", name, threshold, members @ ..] if !members.is_empty() => {
                    policy.check_new_name(number, name)?;
                    let mut group_members = Vec::with_capacity(members.len());
                    for member in members {
                        let member = policy.lookup(number, member)?;
                        if used.contains(&member) {
                            return Err(malformed(number, "a name is a group member at most once"));
                        }
                        used.push(member);
                        group_members.push(member);
                    }
                    let threshold = match *threshold {
                        "any" => 1,
                        "all" => members.len(),
                        k => parse_threshold(number, k, members.len())?,
                    };
                    let depth = 1 + group_members.iter().map(|m| policy.depth(*m)).max().unwrap_or(0);
                    if depth > MAX_DEPTH {
                        return Err(malformed(number, format!("groups are nested deeper than {MAX_DEPTH}")));
                    }
                    policy.groups.push(Group { name: (*name).to_owned(), threshold, members: group_members, depth });
                    check_count(number, policy.groups.len())?;
                }
                ["quorum", name] => {
                    if quorum_seen {
                        return Err(malformed(number, "a policy has exactly one quorum line"));
                    }
                    quorum_seen = true;
                    policy.quorum = if *name == NONE { None } else { Some(policy.lookup(number, name)?) };
                }
                [kind @ ("log" | "witness" | "group" | "quorum"), ..] => {
                    return Err(malformed(number, format!("a '{kind}' line has the wrong number of fields")));
                }
                _ => return Err(malformed(number, "unknown line kind")),
            }
        }
        if !quorum_seen {
            return Err(Error::new(ErrorCode::PolicyMalformed, "the policy has no quorum line"));
        }
        Ok(policy)
    }

    fn check_new_name(&self, number: usize, name: &str) -> Result<()> {
        if name == NONE {
            return Err(malformed(number, "'none' is predefined"));
        }
        if self.witnesses.iter().any(|(n, _)| n == name) || self.groups.iter().any(|g| g.name == name) {
            return Err(malformed(number, format!("the name {name:?} is defined twice")));
        }
        Ok(())
    }

    /// A name defined on an earlier line (which also rules out cycles).
    fn lookup(&self, number: usize, name: &str) -> Result<Member> {
        if let Some(i) = self.witnesses.iter().position(|(n, _)| n == name) {
            return Ok(Member::Witness(i));
        }
        if let Some(i) = self.groups.iter().position(|g| g.name == name) {
            return Ok(Member::Group(i));
        }
        Err(malformed(number, format!("{name:?} is not a witness or group defined on an earlier line")))
    }

    fn depth(&self, member: Member) -> usize {
        match member {
            Member::Witness(_) => 0,
            Member::Group(i) => self.groups[i].depth,
        }
    }

    /// The logs whose signatures a checkpoint may carry.
    pub fn logs(&self) -> &[LogKey] {
        &self.logs
    }

    /// The witnesses, with their names in the policy, in order of definition.
    pub fn witnesses(&self) -> impl Iterator<Item = (&str, &WitnessKey)> {
        self.witnesses.iter().map(|(name, key)| (name.as_str(), key))
    }

    /// The witnesses that give a submission prefix (the URL `add-checkpoint` is
    /// posted under), with their names in the policy, in order of definition.
    pub fn witness_urls(&self) -> impl Iterator<Item = (&str, &WitnessKey, &str)> {
        self.witnesses
            .iter()
            .zip(&self.witness_urls)
            .filter_map(|((name, key), url)| url.as_deref().map(|url| (name.as_str(), key, url)))
    }

    /// Checks a signed checkpoint note against the policy and says whether its
    /// cosignatures meet the quorum, without failing when they do not:
    /// 1. the note is read (one parser, `checkpoint::split_note`) and its text must
    ///    be a checkpoint;
    /// 2. it must be signed by a log of the policy whose key name is the
    ///    checkpoint's origin (signed-note rules: other lines are ignored, a line
    ///    of such a log must verify);
    /// 3. every line whose key name and key ID are a policy witness's must be a
    ///    valid `cosignature/v1` cosignature of the checkpoint body: a bad one
    ///    fails the whole check (signed-note: a known key's failing signature
    ///    SHOULD reject the note), lines of other keys are ignored, and a witness
    ///    counts once however many lines it has;
    /// 4. groups are evaluated in order (a group's members come before it), each
    ///    met when at least k of its members are.
    ///
    /// Timestamps are reported, not judged: core has no clock.
    ///
    /// # Errors
    /// [`ErrorCode::CheckpointMalformed`]; [`ErrorCode::CheckpointSignatureInvalid`]
    /// when no log of the policy for the origin signed, or its signature does not
    /// verify; [`ErrorCode::CosignatureInvalid`].
    pub fn evaluate(&self, note: &str) -> Result<PolicyResult> {
        let (text, lines) = split_note(note)?;
        let checkpoint = Checkpoint::from_text(text)?;
        let logs: Vec<LogKey> = self.logs.iter().filter(|k| k.name() == checkpoint.origin).cloned().collect();
        if logs.is_empty() {
            return Err(Error::new(
                ErrorCode::CheckpointSignatureInvalid,
                format!("the policy has no log key for the origin {:?}", checkpoint.origin),
            ));
        }
        let signed_by = verify_note_lines(text, &lines, &logs)?;

        let mut cosigned: Vec<Option<Cosigned>> = vec![None; self.witnesses.len()];
        for line in &lines {
            for (i, (name, key)) in self.witnesses.iter().enumerate() {
                if line.name != key.name() || line.key_hash != key.key_hash() {
                    continue;
                }
                let cosignature = Cosignature::from_note_signature(line)?;
                key.verify(text, &cosignature)?;
                cosigned[i].get_or_insert_with(|| Cosigned {
                    witness: name.clone(),
                    key_name: key.name().to_owned(),
                    timestamp: cosignature.timestamp,
                });
            }
        }

        let mut met = vec![false; self.groups.len()];
        let is_met = |member: Member, met: &[bool]| match member {
            Member::Witness(i) => cosigned[i].is_some(),
            Member::Group(i) => met[i],
        };
        for (i, group) in self.groups.iter().enumerate() {
            let count = group.members.iter().filter(|m| is_met(**m, &met)).count();
            met[i] = count >= group.threshold;
        }
        let quorum_met = self.quorum.is_none_or(|q| is_met(q, &met));
        Ok(PolicyResult { checkpoint, signed_by, cosigned: cosigned.into_iter().flatten().collect(), quorum_met })
    }

    /// As [`Policy::evaluate`], and the quorum must be met.
    ///
    /// # Errors
    /// As [`Policy::evaluate`], and [`ErrorCode::PolicyNotSatisfied`] when the
    /// verified cosignatures do not meet the quorum.
    pub fn check(&self, note: &str) -> Result<PolicyResult> {
        let result = self.evaluate(note)?;
        if !result.quorum_met {
            return Err(Error::new(
                ErrorCode::PolicyNotSatisfied,
                format!(
                    "the checkpoint's {} valid cosignature(s) of policy witnesses do not meet the quorum",
                    result.cosigned.len()
                ),
            ));
        }
        Ok(result)
    }
}

fn check_count(number: usize, count: usize) -> Result<()> {
    if count > MAX_ENTRIES {
        return Err(malformed(number, format!("more than {MAX_ENTRIES} logs, witnesses or groups")));
    }
    Ok(())
}

/// A decimal threshold k without leading zeros, 1 <= k <= n.
fn parse_threshold(number: usize, k: &str, n: usize) -> Result<usize> {
    let valid = !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) && !k.starts_with('0');
    let k = if valid { k.parse::<usize>().ok() } else { None };
    match k {
        Some(k) if k <= n => Ok(k),
        Some(k) => Err(malformed(number, format!("a group's threshold {k} is more than its {n} members"))),
        None => Err(malformed(number, "a group's threshold is 'any', 'all' or a decimal number from 1")),
    }
}
