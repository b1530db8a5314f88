//! Strict unpadded base64url (RFC 7515 §2), decoded by hand so the crate needs no extra
//! runtime dependency for it.
//!
//! Strict means: no `=` padding, no whitespace, no standard-alphabet `+`/`/`, no length of
//! 4n+1, and the unused low bits of the last symbol must be zero. Rejecting non-canonical
//! encodings keeps one token = one string, which the verified-token cache relies on.

/// Why a part did not decode; the caller names the part in its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    InvalidSymbol,
    InvalidLength,
    NonCanonical,
}

impl DecodeError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            DecodeError::InvalidSymbol => "contains a character outside the base64url alphabet",
            DecodeError::InvalidLength => "has an impossible base64url length",
            DecodeError::NonCanonical => "is not canonical base64url (non-zero trailing bits)",
        }
    }
}

fn value(symbol: u8) -> Option<u32> {
    match symbol {
        b'A'..=b'Z' => Some(u32::from(symbol - b'A')),
        b'a'..=b'z' => Some(u32::from(symbol - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(symbol - b'0') + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Decode unpadded base64url.
pub(crate) fn decode(input: &str) -> Result<Vec<u8>, DecodeError> {
    let bytes = input.as_bytes();
    if bytes.len() % 4 == 1 {
        return Err(DecodeError::InvalidLength);
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    for chunk in bytes.chunks(4) {
        let mut acc: u32 = 0;
        for &symbol in chunk {
            acc = (acc << 6) | value(symbol).ok_or(DecodeError::InvalidSymbol)?;
        }
        // The `as u8` casts below deliberately keep the low byte of the shifted accumulator.
        match chunk.len() {
            4 => {
                out.push((acc >> 16) as u8);
                out.push((acc >> 8) as u8);
                out.push(acc as u8);
            }
            3 => {
                if acc & 0b11 != 0 {
                    return Err(DecodeError::NonCanonical);
                }
                out.push((acc >> 10) as u8);
                out.push((acc >> 2) as u8);
            }
            2 => {
                if acc & 0b1111 != 0 {
                    return Err(DecodeError::NonCanonical);
                }
                out.push((acc >> 4) as u8);
            }
            _ => return Err(DecodeError::InvalidLength),
        }
    }
    Ok(out)
}

/// Encode unpadded base64url (used by tests and by callers that build challenge material).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let symbol = |v: u32| -> char {
        // `v & 63` is always a valid index; `get` keeps the no-indexing rule without a panic path.
        ALPHABET.get((v & 63) as usize).map_or('A', |&b| char::from(b))
    };
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let mut acc: u32 = 0;
        for &b in chunk {
            acc = (acc << 8) | u32::from(b);
        }
        match chunk.len() {
            3 => {
                out.push(symbol(acc >> 18));
                out.push(symbol(acc >> 12));
                out.push(symbol(acc >> 6));
                out.push(symbol(acc));
            }
            2 => {
                acc <<= 2;
                out.push(symbol(acc >> 12));
                out.push(symbol(acc >> 6));
                out.push(symbol(acc));
            }
            _ => {
                acc <<= 4;
                out.push(symbol(acc >> 6));
                out.push(symbol(acc));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..40 {
            let slice = data.get(..n).unwrap_or_default();
            let enc = encode(slice);
            assert_eq!(decode(&enc).as_deref(), Ok(slice), "length {n}");
        }
    }

    #[test]
    fn known_vectors() {
        assert_eq!(encode(b"{\"alg\":\"none\"}"), "eyJhbGciOiJub25lIn0");
        assert_eq!(decode("eyJhbGciOiJub25lIn0").as_deref(), Ok(&b"{\"alg\":\"none\"}"[..]));
        assert_eq!(decode(""), Ok(vec![]));
    }

    #[test]
    fn rejects_non_strict_input() {
        assert_eq!(decode("eyJ="), Err(DecodeError::InvalidSymbol));
        assert_eq!(decode("ab+/"), Err(DecodeError::InvalidSymbol));
        assert_eq!(decode("ab c"), Err(DecodeError::InvalidSymbol));
        assert_eq!(decode("abcde"), Err(DecodeError::InvalidLength));
        // "QR" encodes 'A' with a stray low bit set; canonical is "QQ".
        assert_eq!(decode("QR"), Err(DecodeError::NonCanonical));
        assert_eq!(decode("QQ"), Ok(vec![b'A']));
        assert_eq!(decode("QUF"), Err(DecodeError::NonCanonical));
        assert_eq!(decode("QUE"), Ok(vec![b'A', b'A']));
    }
}
