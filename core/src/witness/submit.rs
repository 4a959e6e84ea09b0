//! The log's side of c2sp.org/tlog-witness `add-checkpoint` (SPEC §22.4): the
//! request body a log sends a witness, and what the witness's answer means.
//! Sans-I/O: the caller does the HTTP.

use crate::checkpoint::{read_checkpoint, split_note};
use crate::encoding::b64;
use crate::error::{Error, ErrorCode, Result};
use crate::merkle::Hash;
use crate::witness::cosignature::{Cosignature, WitnessKey};

/// The most consistency proof lines a request may carry (tlog-witness).
const MAX_PROOF_LINES: usize = 63;
/// The largest answer a witness is read up to: a few signature lines, or a size.
pub const MAX_WITNESS_ANSWER_SIZE: usize = 16 * 1024;
/// The `Content-Type` of a 409 answer that gives the witness's size.
pub const WITNESS_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

fn failed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::WitnessFailed, message)
}

/// The body of an `add-checkpoint` request: `old <size>`, the consistency proof
/// from that size to the checkpoint's (one base64 hash a line), an empty line and
/// the signed checkpoint note.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for a note that is not a signed checkpoint;
/// [`ErrorCode::InvalidArgument`] for an old size beyond the checkpoint's, a proof
/// given from size 0, or more than 63 proof hashes.
pub fn add_checkpoint_body(old_size: u64, proof: &[Hash], note: &str) -> Result<String> {
    let checkpoint = read_checkpoint(note)?;
    if old_size > checkpoint.size {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("the old size {old_size} is beyond the checkpoint's size {}", checkpoint.size),
        ));
    }
    if (old_size == 0 && !proof.is_empty()) || proof.len() > MAX_PROOF_LINES {
        return Err(Error::new(ErrorCode::InvalidArgument, "a consistency proof of 0 to 63 hashes, none from size 0"));
    }
    let mut body = format!("old {old_size}\n");
    for hash in proof {
        body.push_str(&b64(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    Ok(body)
}

/// What a witness answered an `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessAnswer {
    /// It cosigned: the note with its verified cosignature line added (unless the
    /// note has a line of that key already).
    Cosigned(String),
    /// 409 Conflict: the size of the latest checkpoint it cosigned for the log,
    /// which the request's old size must be.
    Conflict(u64),
}

/// Reads a witness's answer to an `add-checkpoint` request for `note`: the HTTP
/// status, the `Content-Type` and the body (at most [`MAX_WITNESS_ANSWER_SIZE`] bytes).
/// Lines of other keys in a 200 answer are ignored, as tlog-witness says.
///
/// # Errors
/// [`ErrorCode::WitnessFailed`] for another status (with what the witness said),
/// a 200 answer that is not signature lines, has no line of `witness`'s key or one
/// with the timestamp 0, or a 409 answer that is not a size;
/// [`ErrorCode::CosignatureInvalid`] for a line of `witness`'s key that does not
/// verify; [`ErrorCode::CheckpointMalformed`] for a note that is not well-formed,
/// or one that has 100 signatures already.
pub fn read_witness_answer(
    witness: &WitnessKey,
    note: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<WitnessAnswer> {
    let name = witness.name();
    match status {
        200 => {
            let line = verified_line(witness, note, body)
                .map_err(|e| Error::new(e.code(), format!("witness {name} answered 200: {}", e.message())))?;
            Ok(WitnessAnswer::Cosigned(merge_notes(note, &format!("{}\n{line}", split_note(note)?.0))?))
        }
        409 => {
            let size = std::str::from_utf8(body)
                .ok()
                .filter(|_| {
                    content_type.is_some_and(|t| {
                        t.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(WITNESS_SIZE_CONTENT_TYPE))
                    })
                })
                .and_then(|text| text.strip_suffix('\n'))
                .filter(|digits| {
                    !digits.is_empty()
                        && digits.bytes().all(|b| b.is_ascii_digit())
                        && (digits == &"0" || !digits.starts_with('0'))
                })
                .and_then(|digits| digits.parse::<u64>().ok());
            size.map(WitnessAnswer::Conflict).ok_or_else(|| {
                failed(format!("witness {name} answered 409 Conflict without its size ({WITNESS_SIZE_CONTENT_TYPE})"))
            })
        }
        _ => Err(failed(format!("witness {name} answered {status} {}: {}", reason(status), excerpt(body)))),
    }
}

/// Two signed notes of the same text as one: `note` with the lines of `other` by
/// keys (key name and key ID) it has no line of, in `other`'s order. A key keeps
/// the line it had: merging the cosignatures of rounds at one size adds nothing
/// once every witness cosigned.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for a note that is not well-formed, or more
/// than 100 signatures together; [`ErrorCode::InvalidArgument`] for notes of
/// different texts.
pub fn merge_notes(note: &str, other: &str) -> Result<String> {
    let (text, have) = split_note(note)?;
    let (other_text, lines) = split_note(other)?;
    if text != other_text {
        return Err(Error::new(ErrorCode::InvalidArgument, "the notes sign different texts"));
    }
    let mut merged = note.to_owned();
    let mut keys: Vec<(&str, [u8; 4])> = have.iter().map(|s| (s.name.as_str(), s.key_hash)).collect();
    for (line, signature) in other[other_text.len() + 1..].split_inclusive('\n').zip(&lines) {
        if !keys.contains(&(signature.name.as_str(), signature.key_hash)) {
            keys.push((signature.name.as_str(), signature.key_hash));
            merged.push_str(line);
        }
    }
    split_note(&merged)?;
    Ok(merged)
}

/// The one cosignature line of `witness` in a 200 answer, verified: the answer must
/// be signature lines (lines of other keys are ignored), and one of them the
/// witness's, with a timestamp that is not zero (tlog-witness).
fn verified_line(witness: &WitnessKey, note: &str, body: &[u8]) -> Result<String> {
    let answer = std::str::from_utf8(body).map_err(|_| failed("bytes that are not UTF-8"))?;
    let (text, _) = split_note(note)?;
    // Read as the signature block of a note of the same text, by the one parser.
    let (_, signatures) = split_note(&format!("{text}\n{answer}"))
        .map_err(|e| failed(format!("not signature lines ({})", e.message())))?;
    let lines: Vec<&str> = answer.split_inclusive('\n').collect();
    let mut found = None;
    for (line, signature) in lines.iter().zip(&signatures) {
        if signature.name != witness.name() || signature.key_hash != witness.key_hash() {
            continue;
        }
        let cosignature = Cosignature::from_note_signature(signature)?;
        witness.verify(text, &cosignature)?;
        if cosignature.timestamp == 0 {
            return Err(failed("a cosignature with the timestamp 0, which tlog-witness forbids"));
        }
        found.get_or_insert((*line).to_owned());
    }
    found.ok_or_else(|| failed("no cosignature by its key"))
}

/// What tlog-witness says each refusal means.
fn reason(status: u16) -> &'static str {
    match status {
        400 => "(the request was malformed)",
        403 => "(no signature of a log key it trusts verified)",
        404 => "(it does not know the log's origin)",
        422 => "(the consistency proof, or the root of an unchanged size, did not check)",
        _ => "",
    }
}

/// The start of an answer's body, printable, for an error message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::witness::cosignature::cosignature_message;
    use crate::{Checkpoint, SigningKey, sign_checkpoint};
    use ed25519_dalek::Signer as _;

    fn note() -> String {
        let checkpoint = Checkpoint { origin: "example.com/log".into(), size: 5, root: [9u8; 32], extensions: vec![] };
        sign_checkpoint(&checkpoint, &SigningKey::from_bytes(&[7u8; 32]).unwrap()).unwrap()
    }

    fn cosignature_line(seed: u8, name: &str, note: &str, time: u64) -> (WitnessKey, String) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let witness = WitnessKey::new(name, key.verifying_key().as_bytes()).unwrap();
        let (text, _) = split_note(note).unwrap();
        let mut bytes = witness.key_hash().to_vec();
        bytes.extend_from_slice(&time.to_be_bytes());
        bytes.extend_from_slice(&key.sign(cosignature_message(text, time).as_bytes()).to_bytes());
        (witness, format!("— {name} {}\n", b64(&bytes)))
    }

    #[test]
    fn the_body_is_old_size_proof_and_note() {
        let note = note();
        let body = add_checkpoint_body(3, &[[1u8; 32], [2u8; 32]], &note).unwrap();
        assert_eq!(body, format!("old 3\n{}\n{}\n\n{note}", b64(&[1u8; 32]), b64(&[2u8; 32])));
        assert_eq!(add_checkpoint_body(0, &[], &note).unwrap(), format!("old 0\n\n{note}"));
        assert_eq!(add_checkpoint_body(6, &[], &note).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(add_checkpoint_body(0, &[[1u8; 32]], &note).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(add_checkpoint_body(1, &[], "junk").unwrap_err().code(), ErrorCode::CheckpointMalformed);
    }

    #[test]
    fn a_cosignature_is_verified_and_merged_and_others_ignored() {
        let note = note();
        let (witness, line) = cosignature_line(1, "witness.example/w1", &note, 1_700_000_000);
        let (_, other) = cosignature_line(2, "witness.example/w2", &note, 1_700_000_000);
        let body = format!("{line}{other}");
        let WitnessAnswer::Cosigned(merged) =
            read_witness_answer(&witness, &note, 200, Some("text/plain"), body.as_bytes()).unwrap()
        else {
            panic!("not cosigned")
        };
        assert_eq!(merged, format!("{note}{line}"));
        // Its line again: merged once.
        let again = read_witness_answer(&witness, &merged, 200, None, line.as_bytes()).unwrap();
        assert_eq!(again, WitnessAnswer::Cosigned(merged.clone()));
        // A cosignature of another checkpoint by its key does not verify.
        let other_note = note.replacen("\n5\n", "\n6\n", 1);
        let (_, stale) = cosignature_line(1, "witness.example/w1", &other_note, 1_700_000_000);
        let error = read_witness_answer(&witness, &note, 200, None, stale.as_bytes()).unwrap_err();
        assert_eq!(error.code(), ErrorCode::CosignatureInvalid);
        // Its key's line at a later time adds nothing: one line a key.
        let (_, later) = cosignature_line(1, "witness.example/w1", &note, 1_700_000_001);
        assert_eq!(read_witness_answer(&witness, &merged, 200, None, later.as_bytes()).unwrap(), again);
        // A line under its name with another key ID is not its, and not kept.
        let (_, impostor) = cosignature_line(3, "witness.example/w1", &note, 1_700_000_000);
        let body = format!("{impostor}{line}");
        let answer = read_witness_answer(&witness, &note, 200, None, body.as_bytes()).unwrap();
        assert_eq!(answer, WitnessAnswer::Cosigned(format!("{note}{line}")));
        // Only other keys, not signature lines, a zero time, CRLF: not cosigned.
        let (_, zero) = cosignature_line(1, "witness.example/w1", &note, 0);
        let crlf = line.replace('\n', "\r\n");
        for body in [other.as_str(), "", "hello\n", line.trim_end(), zero.as_str(), crlf.as_str()] {
            let error = read_witness_answer(&witness, &note, 200, None, body.as_bytes()).unwrap_err();
            assert_eq!(error.code(), ErrorCode::WitnessFailed, "{body:?}");
        }
    }

    #[test]
    fn notes_of_one_text_merge() {
        let note = note();
        let (_, one) = cosignature_line(1, "witness.example/w1", &note, 1);
        let (_, two) = cosignature_line(2, "witness.example/w2", &note, 2);
        let merged = merge_notes(&format!("{note}{one}"), &format!("{note}{two}{one}")).unwrap();
        assert_eq!(merged, format!("{note}{one}{two}"));
        // A later line of a key the note has a line of is not added.
        let (_, later) = cosignature_line(1, "witness.example/w1", &note, 9);
        assert_eq!(merge_notes(&merged, &format!("{note}{later}")).unwrap(), merged);
        let other = note.replacen("\n5\n", "\n6\n", 1);
        assert_eq!(merge_notes(&note, &other).unwrap_err().code(), ErrorCode::InvalidArgument);
    }

    #[test]
    fn a_conflict_gives_the_witness_size_and_refusals_say_why() {
        let note = note();
        let (witness, _) = cosignature_line(1, "witness.example/w1", &note, 1);
        let answer = |status, content_type, body: &str| {
            read_witness_answer(&witness, &note, status, content_type, body.as_bytes())
        };
        assert_eq!(answer(409, Some("text/x.tlog.size"), "4\n").unwrap(), WitnessAnswer::Conflict(4));
        assert_eq!(answer(409, Some("text/x.tlog.size; charset=utf-8"), "0\n").unwrap(), WitnessAnswer::Conflict(0));
        assert_eq!(answer(409, Some("Text/X.TLOG.Size"), "7\n").unwrap(), WitnessAnswer::Conflict(7));
        for (content_type, body) in [
            (None, "4\n"),
            (Some("text/plain"), "4\n"),
            (Some(WITNESS_SIZE_CONTENT_TYPE), "04\n"),
            (Some(WITNESS_SIZE_CONTENT_TYPE), "4"),
        ] {
            assert_eq!(answer(409, content_type, body).unwrap_err().code(), ErrorCode::WitnessFailed);
        }
        let error = answer(422, None, "bad proof\u{7}").unwrap_err();
        assert_eq!(error.code(), ErrorCode::WitnessFailed);
        assert!(error.message().contains("422") && error.message().contains("bad proof"), "{error}");
    }
}
