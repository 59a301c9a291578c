//! SHA-256 digests written as lower-case hex — document and clause ids, review item ids, user
//! pseudonyms, index file checksums — with one encoder for all of them.

use sha2::{Digest, Sha256};

/// `bytes` as lower-case hex, cut to the first `digits` hex digits (all of them when fewer).
#[must_use]
pub fn hex(bytes: &[u8], digits: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0f])
        .take(digits)
        .map(|n| char::from(HEX[usize::from(n)]))
        .collect()
}

/// The first `digits` hex digits of the SHA-256 of `data` (64 for the whole digest).
#[must_use]
pub fn sha256_hex(data: &[u8], digits: usize) -> String {
    hex(&Sha256::digest(data), digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_cut_to_digits() {
        assert_eq!(hex(&[0x0a, 0xbc, 0xff], usize::MAX), "0abcff");
        assert_eq!(hex(&[0x0a, 0xbc, 0xff], 3), "0ab");
        assert_eq!(
            sha256_hex(b"abc", 16),
            "ba7816bf8f01cfea",
            "help: SHA-256(\"abc\")"
        );
    }
}
