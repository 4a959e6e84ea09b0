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

/// What a search for valid frames may still checksum while one file is read: each
/// candidate costs a checksum over its claimed payload, and hostile bytes full of
/// the magic could make searching quadratic. One budget serves every search in a
/// file; once it is spent, searches find nothing more (which never leads to cutting
/// acknowledged data: damage without valid frames after it is still damage).
#[derive(Debug)]
pub(crate) struct Budget(usize);

impl Budget {
    /// Twice the largest payload, for one file.
    pub(crate) fn new() -> Budget {
        Budget(2 * MAX_PAYLOAD)
    }
}

/// The offset of the first valid frame at or after `from`, if any (within `budget`).
pub(crate) fn next_valid(data: &[u8], from: usize, budget: &mut Budget) -> Option<usize> {
    let mut offset = from;
    while offset + HEADER <= data.len() {
        match data[offset..].windows(4).position(|w| w == MAGIC) {
            Some(found) => offset += found,
            None => return None,
        }
        let claimed = data
            .get(offset + 4..offset + 8)
            .map_or(0, |len| u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize);
        let cost = claimed.min(data.len() - offset).max(1);
        if cost > budget.0 {
            budget.0 = 0;
            return None;
        }
        budget.0 -= cost;
        if matches!(decode(data, offset), Decoded::Frame(..)) {
            return Some(offset);
        }
        offset += 1;
    }
    None
}

/// Disks write in sectors of at least this many bytes.
const SECTOR: usize = 512;

/// Whether `data[at..until]` (bytes where a valid frame was expected, up to the next
/// valid frame or the end) is what a write that never completed leaves, rather than
/// bytes that were written and changed since. `base` is the offset of `data` in its
/// file (sectors are aligned in the file).
///
/// A write cut short leaves a prefix of a frame at the end of the file (the magic or
/// part of it, or a header whose length reaches past the end while the bytes present
/// are not themselves a whole frame of another length). A power cut leaves sectors
/// that never reached the disk as zeros: a run of zeros from a sector boundary, a
/// whole sector long or to the end of the file, or nothing but zeros. A bit flipped
/// in a written frame, or any other change, leaves neither.
pub(crate) fn unwritten(data: &[u8], at: usize, until: usize, base: u64) -> bool {
    let span = &data[at..until];
    if span.is_empty() {
        return false;
    }
    if span.iter().all(|b| *b == 0) {
        return true;
    }
    let at_end = until == data.len();
    if at_end && frame_prefix(span) {
        return true;
    }
    let misaligned = ((base + at as u64) % SECTOR as u64) as usize;
    let mut sector = at + (SECTOR - misaligned) % SECTOR;
    while sector < until {
        let sector_end = (sector + SECTOR).min(until);
        if (sector_end == sector + SECTOR || at_end) && data[sector..sector_end].iter().all(|b| *b == 0) {
            return true;
        }
        sector += SECTOR;
    }
    false
}

/// Whether `bytes` could be the beginning of a frame that continues past them.
fn frame_prefix(bytes: &[u8]) -> bool {
    if bytes.len() < HEADER {
        return MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]);
    }
    if bytes[..4] != MAGIC {
        return false;
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    if len > MAX_PAYLOAD || HEADER + len <= bytes.len() {
        return false;
    }
    // Unless the bytes there form a whole frame under another length (the length
    // field was changed).
    let present = (bytes.len() - HEADER) as u32;
    let stored = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    checksum(present.to_le_bytes(), &bytes[HEADER..]) != stored
}

/// The valid frames at the start of `data` and where they end, and what follows.
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
    /// What a write that never completed leaves (see [`unwritten`]), up to the end
    /// of the file or to valid frames after a hole (`next_valid`).
    Unwritten {
        /// The offset of the next valid frame, if any.
        next_valid: Option<usize>,
    },
    /// Bytes that were written and have changed since; `next_valid` is where valid
    /// frames start again after them, if they do.
    Damaged {
        /// The offset of the next valid frame, if any.
        next_valid: Option<usize>,
    },
}

/// What the bytes of `data` from `end` (where valid frames stop) are; `base` is the
/// offset of `data` in its file.
pub(crate) fn classify_tail(data: &[u8], end: usize, base: u64, budget: &mut Budget) -> Tail {
    if end >= data.len() {
        return Tail::Clean;
    }
    let next = next_valid(data, end + 1, budget);
    match unwritten(data, end, next.unwrap_or(data.len()), base) {
        true => Tail::Unwritten { next_valid: next },
        false => Tail::Damaged { next_valid: next },
    }
}

/// Reads every valid frame of `data` (at offset `base` of its file) from the start.
pub(crate) fn scan(data: &[u8], base: u64) -> Scan {
    let mut frames = Vec::new();
    let mut offset = 0;
    while let Decoded::Frame(payload, next) = decode(data, offset) {
        let start = offset + HEADER;
        frames.push((offset, start..start + payload.len()));
        offset = next;
    }
    Scan { frames, end: offset, tail: classify_tail(data, offset, base, &mut Budget::new()) }
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
    fn clean_unwritten_and_damaged() {
        let data = file(&[b"one", b"two", b"three"]);
        let s = scan(&data, 0);
        assert_eq!((s.frames.len(), s.end, s.tail), (3, data.len(), Tail::Clean));
        assert_eq!(&data[s.frames[2].1.clone()], b"three");
        let unwritten_end = Tail::Unwritten { next_valid: None };

        // Every cut inside the last frame leaves what a write cut short leaves.
        let second_end = s.frames[2].0;
        for cut in second_end + 1..data.len() {
            let s = scan(&data[..cut], 0);
            assert_eq!(
                (s.frames.len(), s.end, s.tail),
                (2, second_end, Tail::Unwritten { next_valid: None }),
                "cut at {cut}"
            );
        }
        // A flipped bit in the middle frame, with a valid frame after it, is damage.
        for i in s.frames[1].0..second_end {
            let mut damaged = data.clone();
            damaged[i] ^= 0x10;
            let s = scan(&damaged, 0);
            assert_eq!(s.frames.len(), 1, "bit {i}");
            assert_eq!(s.tail, Tail::Damaged { next_valid: Some(second_end) }, "bit {i}");
        }
        // Any flipped bit of the complete last frame is damage, never a write cut
        // short: in the magic, the length, the checksum or the payload.
        for i in second_end..data.len() {
            for bit in 0..8 {
                let mut damaged = data.clone();
                damaged[i] ^= 1 << bit;
                let s = scan(&damaged, 0);
                assert_eq!(s.frames.len(), 2, "byte {i} bit {bit}");
                assert_eq!(s.tail, Tail::Damaged { next_valid: None }, "byte {i} bit {bit}");
            }
        }
        // Zeros appended (a file extended without its data) were never written.
        let mut zeros = data.clone();
        zeros.extend_from_slice(&[0u8; 100]);
        assert_eq!(scan(&zeros, 0).tail, unwritten_end);
        // Garbage that does not begin like a frame is damage.
        let mut garbage = data.clone();
        garbage.extend_from_slice(b"xyz");
        assert_eq!(scan(&garbage, 0).tail, Tail::Damaged { next_valid: None });
        assert_eq!(scan(&[], 0).tail, Tail::Clean);
    }

    #[test]
    fn a_sector_lost_in_a_power_cut_was_never_written() {
        // Three frames of 2,000 bytes; the second one's first full sector is zeros.
        let big = vec![b'x'; 2000];
        let data = file(&[&big, &big, &big]);
        let second = data.len() / 3;
        let mut lost = data.clone();
        let sector = second.next_multiple_of(SECTOR);
        lost[sector..sector + SECTOR].fill(0);
        let s = scan(&lost, 0);
        assert_eq!(s.frames.len(), 1);
        assert_eq!(s.tail, Tail::Unwritten { next_valid: Some(2 * second) });
        // The same zeros read from an offset that shifts the sectors are not aligned.
        let s = scan(&lost[7..], 7);
        assert_ne!(s.tail, Tail::Clean);
        // A zero run shorter than a sector, in the middle, is damage.
        let mut flipped = data.clone();
        flipped[second + 100..second + 140].fill(0);
        assert_eq!(scan(&flipped, 0).tail, Tail::Damaged { next_valid: Some(2 * second) });
    }

    #[test]
    fn searching_hostile_bytes_stays_within_the_budget() {
        // The magic every 12 bytes, each claiming the rest of 8 MiB.
        let mut hostile = Vec::new();
        let total = 8 << 20;
        while hostile.len() < total {
            let remaining = (total - hostile.len()) as u32;
            hostile.extend_from_slice(&MAGIC);
            hostile.extend_from_slice(&remaining.to_le_bytes());
            hostile.extend_from_slice(&[0xAB; 4]);
        }
        let mut budget = Budget::new();
        assert_eq!(next_valid(&hostile, 0, &mut budget), None);
        assert_eq!(next_valid(&hostile, 12, &mut budget), None, "the budget is spent");
    }
}
