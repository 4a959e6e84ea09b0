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

/// The offset of the first valid frame at or after `from`, if any.
pub(crate) fn next_valid(data: &[u8], from: usize) -> Option<usize> {
    let mut offset = from;
    while offset + HEADER <= data.len() {
        match data[offset..].windows(4).position(|w| w == MAGIC) {
            Some(found) => offset += found,
            None => return None,
        }
        if matches!(decode(data, offset), Decoded::Frame(..)) {
            return Some(offset);
        }
        offset += 1;
    }
    None
}

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
    /// Bytes that are not a complete valid frame, with no valid frame after them:
    /// a write that was cut short.
    Torn,
    /// Damage followed by further valid frames (at this offset).
    Corrupt(usize),
}

/// Reads every valid frame of `data` from the start.
pub(crate) fn scan(data: &[u8]) -> Scan {
    let mut frames = Vec::new();
    let mut offset = 0;
    loop {
        match decode(data, offset) {
            Decoded::Frame(payload, next) => {
                let start = offset + HEADER;
                frames.push((offset, start..start + payload.len()));
                offset = next;
            }
            Decoded::End => return Scan { frames, end: offset, tail: Tail::Clean },
            Decoded::Truncated | Decoded::Invalid => {
                let tail = match next_valid(data, offset + 1) {
                    Some(valid) => Tail::Corrupt(valid),
                    None => Tail::Torn,
                };
                return Scan { frames, end: offset, tail };
            }
        }
    }
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
    fn clean_torn_and_corrupt() {
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
        // A flipped bit in the middle frame, with a valid frame after it, is corruption.
        for i in s.frames[1].0..second_end {
            let mut damaged = data.clone();
            damaged[i] ^= 0x10;
            let s = scan(&damaged);
            assert_eq!(s.frames.len(), 1, "bit {i}");
            assert_eq!(s.tail, Tail::Corrupt(second_end), "bit {i}");
        }
        // Zeros appended (a file extended without its data) are a torn tail.
        let mut zeros = data.clone();
        zeros.extend_from_slice(&[0u8; 100]);
        assert_eq!(scan(&zeros).tail, Tail::Torn);
        assert_eq!(scan(&[]).tail, Tail::Clean);
    }
}
