//! Normalisation applied identically to documents and questions (NFKC, lower case), with an
//! optional byte-offset map back to the original text. Owns no segmentation.
//!
//! NFKC is applied per cluster (a starter plus its following combining marks), so that every
//! byte of the output can be traced back to the cluster it came from. This equals whole-string
//! NFKC except for compositions across two starters (conjoining Hangul jamo, half-width kana
//! voicing marks), which do not occur in the policy texts; documents and questions go through the
//! same function, so they always agree.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

/// NFKC + lower case. Whitespace is kept.
#[must_use]
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for_each_cluster(s, |cluster, _| push_normalized(cluster, &mut out));
    out
}

/// [`normalize`] with all whitespace removed: the form in which the evaluator compares a gold
/// snippet with an answer, so that `每人 1000 元` matches `每人1000元`.
#[must_use]
pub fn compact(s: &str) -> String {
    let mut out = normalize(s);
    out.retain(|c| !c.is_whitespace());
    out
}

/// Normalised text plus the map from its byte offsets to byte offsets of the original.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// The text exactly as [`normalize`] returns it.
    pub text: String,
    /// Spans in ascending order of `norm`; the first starts at 0.
    spans: Vec<Span>,
    /// Byte length of the original text.
    original_len: usize,
}

/// A run of the output that maps back to the original either byte for byte (`linear`) or as one
/// indivisible cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    norm: usize,
    orig: usize,
    linear: bool,
}

impl Normalized {
    /// Normalises `original`, remembering where each output byte came from.
    #[must_use]
    pub fn new(original: &str) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut spans: Vec<Span> = Vec::new();
        for_each_cluster(original, |cluster, orig| {
            let norm = text.len();
            push_normalized(cluster, &mut text);
            let produced = text.len() - norm;
            // A single character whose normal form is one character of the same byte length
            // (ASCII, almost all CJK) maps byte for byte; consecutive such clusters share one span.
            let linear = produced == cluster.len()
                && cluster.chars().nth(1).is_none()
                && text[norm..].chars().nth(1).is_none();
            match spans.last() {
                Some(last) if linear && last.linear => {}
                _ => spans.push(Span { norm, orig, linear }),
            }
        });
        Normalized {
            text,
            spans,
            original_len: original.len(),
        }
    }

    /// Original byte offset of the token starting at normalised byte offset `norm`.
    #[must_use]
    pub fn original_start(&self, norm: usize) -> usize {
        let i = self.spans.partition_point(|s| s.norm <= norm);
        let Some(span) = i.checked_sub(1).and_then(|i| self.spans.get(i)) else {
            return 0;
        };
        if span.linear {
            (span.orig + norm - span.norm).min(self.span_orig_end(i - 1))
        } else {
            span.orig
        }
    }

    /// Original byte offset one past the token ending at normalised byte offset `norm`.
    #[must_use]
    pub fn original_end(&self, norm: usize) -> usize {
        // The span holding the last byte of the token, i.e. the last one starting before `norm`.
        let i = self.spans.partition_point(|s| s.norm < norm);
        let Some(span) = i.checked_sub(1).and_then(|i| self.spans.get(i)) else {
            return 0;
        };
        let span_end = self.span_orig_end(i - 1);
        if span.linear {
            (span.orig + norm - span.norm).min(span_end)
        } else {
            span_end
        }
    }

    /// Byte length of the original text.
    #[must_use]
    pub fn original_len(&self) -> usize {
        self.original_len
    }

    fn span_orig_end(&self, i: usize) -> usize {
        self.spans.get(i + 1).map_or(self.original_len, |s| s.orig)
    }
}

/// A CJK Unified Ideograph (U+4E00–U+9FFF, the bulk of the documents): no decomposition, no
/// case, combining class 0 — NFKC and lower-casing leave it as it is.
#[must_use]
pub fn is_ideograph(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// A character NFKC and lower-casing may skip the table look-ups for (ASCII or an ideograph);
/// its combining class is 0.
fn is_stable(c: char) -> bool {
    c.is_ascii() || is_ideograph(c)
}

/// Calls `f(cluster, byte_offset)` for each starter-led cluster of `s`, in order.
fn for_each_cluster(s: &str, mut f: impl FnMut(&str, usize)) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if i > start && (is_stable(c) || canonical_combining_class(c) == 0) {
            f(&s[start..i], start);
            start = i;
        }
    }
    if start < s.len() {
        f(&s[start..], start);
    }
}

fn push_normalized(cluster: &str, out: &mut String) {
    // Fast paths: ASCII needs lower-casing only; a lone CJK ideograph stays as it is.
    if cluster.len() == 1 {
        out.push(char::from(cluster.as_bytes()[0].to_ascii_lowercase()));
        return;
    }
    let mut chars = cluster.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && is_ideograph(c)
    {
        out.push(c);
        return;
    }
    for c in cluster.nfkc() {
        out.extend(c.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_and_lower_case() {
        assert_eq!(normalize("ＬＰＲ１０００元"), "lpr1000元");
        assert_eq!(normalize("Ｅ 15％"), "e 15%");
        assert_eq!(normalize("（二）"), "(二)");
        assert_eq!(normalize("⑴ café"), "(1) café");
        assert_eq!(normalize("cafe\u{301}"), "café");
    }

    #[test]
    fn compact_drops_all_whitespace() {
        assert_eq!(compact("每人 1000 元\t（含）\n"), "每人1000元(含)");
        assert_eq!(compact("　全角空格　"), "全角空格");
    }

    #[test]
    fn offsets_map_back_to_the_original() {
        let original = "ＬＰＲ下降０.５个百分点，cafe\u{301}！";
        let n = Normalized::new(original);
        assert_eq!(n.text, normalize(original));
        assert_eq!(n.text, "lpr下降0.5个百分点,café!");
        let find = |needle: &str| {
            let from = n.text.find(needle).expect("needle in text");
            let to = from + needle.len();
            &original[n.original_start(from)..n.original_end(to)]
        };
        assert_eq!(find("lpr"), "ＬＰＲ");
        assert_eq!(find("pr"), "ＰＲ");
        assert_eq!(find("下降"), "下降");
        assert_eq!(find("0.5"), "０.５");
        assert_eq!(find("个百分点"), "个百分点");
        assert_eq!(find("café"), "cafe\u{301}");
        assert_eq!(find("!"), "！");
        assert_eq!(n.original_end(n.text.len()), original.len());
        assert_eq!(n.original_len(), original.len());
    }

    #[test]
    fn offsets_of_expanding_characters_cover_the_whole_cluster() {
        let original = "第⑴项";
        let n = Normalized::new(original);
        assert_eq!(n.text, "第(1)项");
        // "1" alone lies inside the expansion of ⑴: it maps to the whole character.
        assert_eq!(n.original_start(4), 3);
        assert_eq!(n.original_end(5), 6);
        assert_eq!(&original[n.original_start(6)..n.original_end(9)], "项");
    }

    #[test]
    fn empty_input() {
        let n = Normalized::new("");
        assert_eq!(n.text, "");
        assert_eq!(n.original_start(0), 0);
        assert_eq!(n.original_end(0), 0);
    }

    proptest::proptest! {
        #[test]
        fn offset_map_is_consistent(s in "[a-zA-Zａ-ｚＡ-Ｚ０-９0-9 ，。（）\u{300}-\u{36f}\u{2460}-\u{2473}\u{4e00}-\u{4e2f}\u{f900}-\u{f90f}]{0,24}") {
            let n = Normalized::new(&s);
            proptest::prop_assert_eq!(&n.text, &normalize(&s));
            let mut last_start = 0;
            for (i, _) in n.text.char_indices() {
                let start = n.original_start(i);
                proptest::prop_assert!(s.is_char_boundary(start) && start >= last_start);
                last_start = start;
                let end = n.original_end(i + n.text[i..].chars().next().map_or(0, char::len_utf8));
                proptest::prop_assert!(s.is_char_boundary(end) && end > start && end <= s.len());
            }
            proptest::prop_assert_eq!(n.original_end(n.text.len()), s.len());
        }
    }
}
