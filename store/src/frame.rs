//! Frames: how entries are laid out in segment and checkpoint files.
//!
//! A frame is `magic (4) ‖ length (u32 LE) ‖ CRC-32 (u32 LE) of length and payload ‖
//! payload`. The checksum finds torn and damaged writes; the magic lets a reader
//! tell a torn tail (nothing valid after it) from damage in the middle (valid
//! frames after it).

/// The bytes every frame starts with.
pub(crate) const MAGIC: [u8; 4] = *b"EVD1";
/// Magic, length and checksum.
pub(crate) const HEADER: usize = 12;
/// The largest payload a frame may carry.
pub(crate) const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

fn checksum(len: [u8; 4], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len);
    hasher.update(payload);
    hasher.finalize()
}

/// Appends a frame holding `payload` to `out`.
pub(crate) fn encode(payload: &[u8], out: &mut Vec<u8>) {
    let len = (payload.len() as u32).to_le_bytes();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len);
    out.extend_from_slice(&checksum(len, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Appends a frame whose payload `write` appends to `out`, without an intermediate
/// buffer.
pub(crate) fn encode_with(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[0u8; 8]);
    write(out);
    let len = ((out.len() - start - HEADER) as u32).to_le_bytes();
    let crc = checksum(len, &out[start + HEADER..]);
    out[start + 4..start + 8].copy_from_slice(&len);
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
}

/// What is at an offset of a frame file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A valid frame: its payload, and the offset after it.
    Frame(&'a [u8], usize),
    /// The end of the data.
    End,
    /// The frame header or payload runs past the end of the data.
    Truncated,
    /// Not a valid frame: wrong magic, impossible length, or checksum mismatch.
    Invalid,
}

/// Decodes the frame at `offset` of `data`.
pub(crate) fn decode(data: &[u8], offset: usize) -> Decoded<'_> {
    let rest = &data[offset.min(data.len())..];
    if rest.is_empty() {
        return Decoded::End;
    }
    if rest.len() < HEADER {
        // A header cut short, or garbage too short to be one.
        return if MAGIC.starts_with(&rest[..rest.len().min(4)]) { Decoded::Truncated } else { Decoded::Invalid };
    }
    if rest[..4] != MAGIC {
        return Decoded::Invalid;
    }
    let len_bytes = [rest[4], rest[5], rest[6], rest[7]];
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len > MAX_PAYLOAD {
        return Decoded::Invalid;
    }
    if rest.len() < HEADER + len {
        return Decoded::Truncated;
    }
    let stored = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
    let payload = &rest[HEADER..HEADER + len];
    if checksum(len_bytes, payload) != stored {
        return Decoded::Invalid;
    }
    Decoded::Frame(payload, offset + HEADER + len)
}

/// The offset of the first valid frame at or after `from`, if any. Each candidate
/// costs a checksum over its claimed payload; hostile bytes full of the magic could
/// make that quadratic, so after checksumming `SEARCH_BUDGET` bytes the search gives
/// up and says none was found (which never leads to cutting acknowledged data:
/// damage without valid frames after it is still damage).
pub(crate) fn next_valid(data: &[u8], from: usize) -> Option<usize> {
    let mut offset = from;
    let mut spent = 0usize;
    while offset + HEADER <= data.len() {
        match data[offset..].windows(4).position(|w| w == MAGIC) {
            Some(found) => offset += found,
            None => return None,
        }
        let claimed = data
            .get(offset + 4..offset + 8)
            .map_or(0, |len| u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize);
        spent += claimed.min(data.len() - offset);
        if spent > SEARCH_BUDGET {
            return None;
        }
        if matches!(decode(data, offset), Decoded::Frame(..)) {
            return Some(offset);
        }
        offset += 1;
    }
    None
}

/// Bytes a search for the next valid frame may checksum: twice the largest payload.
const SEARCH_BUDGET: usize = 2 * MAX_PAYLOAD;

/// The valid frames at the start of `data` and where they end, or how the data
/// after them is damaged.
#[derive(Debug)]
pub(crate) struct Scan {
    /// `(offset, payload range)` of every valid frame before the first bad one.
    pub frames: Vec<(usize, std::ops::Range<usize>)>,
    /// Where the valid frames end.
    pub end: usize,
    /// What follows them.
    pub tail: Tail,
}

/// What follows the valid frames of a file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Nothing: the file ends with a complete frame.
    Clean,
    /// The beginning of a frame that was never completely written (a write cut
    /// short by a crash, or in progress), or zeros (a file extended whose data never
    /// reached the disk), and nothing valid after it. Never acknowledged.
    Torn,
    /// Bytes that were completely written and have changed since: a complete frame
    /// whose checksum, length or magic no longer holds, or garbage; `next_valid` is
    /// where valid frames start again after it, if they do.
    Damaged {
        /// The offset of the next valid frame, if any.
        next_valid: Option<usize>,
    },
}

/// How the bytes of `data` from `end` (where valid frames stop) came to be.
///
/// A write always begins with the magic and the length, so what a crash leaves is
/// a prefix of a frame: a header cut short, or a length that reaches past the end
/// of the file. Everything else was complete once and has changed since, which is
/// damage, never cut: a frame with all its bytes present whose checksum fails, a
/// length field changed so that it reaches past the end (the bytes present still
/// check out as a whole frame of the length that is there), or bytes that do not
/// begin with the magic.
pub(crate) fn classify_tail(data: &[u8], end: usize) -> Tail {
    let rest = &data[end.min(data.len())..];
    if rest.is_empty() {
        return Tail::Clean;
    }
    if let Some(next) = next_valid(data, end + 1) {
        return Tail::Damaged { next_valid: Some(next) };
    }
    if rest.iter().all(|b| *b == 0) {
        return Tail::Torn;
    }
    let damaged = Tail::Damaged { next_valid: None };
    if rest.len() < HEADER {
        // A header cut short starts with (part of) the magic.
        let magic = &rest[..rest.len().min(MAGIC.len())];
        return if MAGIC.starts_with(magic) { Tail::Torn } else { damaged };
    }
    if rest[..4] != MAGIC {
        return damaged;
    }
    let len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
    if len > MAX_PAYLOAD || HEADER + len <= rest.len() {
        return damaged;
    }
    // The length reaches past the end: cut short, unless the bytes that are there
    // form a whole frame under another length (the length field was changed).
    let present = (rest.len() - HEADER) as u32;
    let stored = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
    if checksum(present.to_le_bytes(), &rest[HEADER..]) == stored { damaged } else { Tail::Torn }
}

/// Reads every valid frame of `data` from the start.
pub(crate) fn scan(data: &[u8]) -> Scan {
    let mut frames = Vec::new();
    let mut offset = 0;
    while let Decoded::Frame(payload, next) = decode(data, offset) {
        let start = offset + HEADER;
        frames.push((offset, start..start + payload.len()));
        offset = next;
    }
    Scan { frames, end: offset, tail: classify_tail(data, offset) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode(p, &mut out);
        }
        out
    }

    #[test]
    fn encode_with_matches_encode() {
        let (mut a, mut b) = (Vec::new(), b"prefix".to_vec());
        encode(b"payload", &mut a);
        encode_with(&mut b, |out| out.extend_from_slice(b"payload"));
        assert_eq!(&b[6..], a.as_slice());
    }

    #[test]
    fn clean_torn_and_damaged() {
        let data = file(&[b"one", b"two", b"three"]);
        let s = scan(&data);
        assert_eq!((s.frames.len(), s.end, s.tail), (3, data.len(), Tail::Clean));
        assert_eq!(&data[s.frames[2].1.clone()], b"three");

        // Every cut inside the last frame is a torn tail after two frames.
        let second_end = s.frames[2].0;
        for cut in second_end + 1..data.len() {
            let s = scan(&data[..cut]);
            assert_eq!((s.frames.len(), s.end, s.tail), (2, second_end, Tail::Torn), "cut at {cut}");
        }
        // A flipped bit in the middle frame, with a valid frame after it, is damage.
        for i in s.frames[1].0..second_end {
            let mut damaged = data.clone();
            damaged[i] ^= 0x10;
            let s = scan(&damaged);
            assert_eq!(s.frames.len(), 1, "bit {i}");
            assert_eq!(s.tail, Tail::Damaged { next_valid: Some(second_end) }, "bit {i}");
        }
        // Any flipped bit of the complete last frame is damage, never a torn write:
        // in the magic, the length, the checksum or the payload.
        for i in second_end..data.len() {
            for bit in 0..8 {
                let mut damaged = data.clone();
                damaged[i] ^= 1 << bit;
                let s = scan(&damaged);
                assert_eq!(s.frames.len(), 2, "byte {i} bit {bit}");
                assert_eq!(s.tail, Tail::Damaged { next_valid: None }, "byte {i} bit {bit}");
            }
        }
        // Zeros appended (a file extended without its data) are a torn tail.
        let mut zeros = data.clone();
        zeros.extend_from_slice(&[0u8; 100]);
        assert_eq!(scan(&zeros).tail, Tail::Torn);
        // Garbage that does not begin like a frame is damage.
        let mut garbage = data.clone();
        garbage.extend_from_slice(b"xyz");
        assert_eq!(scan(&garbage).tail, Tail::Damaged { next_valid: None });
        assert_eq!(scan(&[]).tail, Tail::Clean);
    }
}
