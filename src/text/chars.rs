//! Small character-level rules shared by every module that needs them, so that one name means
//! one behaviour: what counts as a CJK character, a digit or a Chinese numeral, whether a text
//! states an amount (the units are data: `data/lexicon/clause_facts.tsv`), and how text is
//! shortened to a number of characters.

/// Han ideographs (with 〇, extensions and compatibility forms), kana and Hangul syllables: the
/// characters the bigram analyzer pairs, and that typo repair and retrieval treat as words of
/// running CJK text.
#[must_use]
pub fn is_cjk(c: char) -> bool {
    matches!(
        c,
        '\u{3007}'
            | '\u{3040}'..='\u{30FF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{AC00}'..='\u{D7AF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{3134F}'
    )
}

/// An ASCII or full-width digit.
#[must_use]
pub fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// A Chinese numeral character (一, 两, 十, 万, 半 …).
#[must_use]
pub fn is_numeral(c: char) -> bool {
    "零一二三四五六七八九两十百千万亿半".contains(c)
}

/// Whether `text` states an amount: a number (ASCII or full-width digits, with spaces or a
/// decimal point inside) directly followed by one of `units`.
#[must_use]
pub fn has_amount<S: AsRef<str>>(text: &str, units: &[S]) -> bool {
    text.char_indices().any(|(i, c)| {
        is_digit(c) && {
            let rest = &text[i..];
            let after =
                rest.trim_start_matches(|c: char| is_digit(c) || c == '.' || c.is_whitespace());
            units.iter().any(|u| after.starts_with(u.as_ref()))
        }
    })
}

/// `text` cut to at most `max` characters, the last of them `…` when anything was cut.
#[must_use]
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((i, _)) if max > 0 => format!(
            "{}…",
            &text[..text[..i].char_indices().last().map_or(0, |(j, _)| j)]
        ),
        Some(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::lexicon::Lexicon;
    use crate::text::test_support::lexicon_dir;

    #[test]
    fn truncate_never_exceeds() {
        assert_eq!(truncate("abcdef", 3), "ab…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(truncate("减免房租三个月", 4).chars().count(), 4);
    }

    #[test]
    fn amounts_need_a_unit_right_after_the_number() {
        let units = Lexicon::load(&lexicon_dir()).expect("lexicon").clause_facts;
        let (quantity, benefit) = (&units.quantity, &units.benefit);
        assert!(has_amount("补贴标准为每人 1000 元", quantity));
        assert!(has_amount("减免３—６个月租金", benefit));
        assert!(has_amount("贴息比例 1.5 倍", benefit));
        assert!(!has_amount("第一条 为了规范管理", quantity));
        assert!(has_amount("2022年底前", quantity));
        assert!(
            !has_amount("2022年底前", benefit),
            "help: a year is a date, not a benefit"
        );
    }

    #[test]
    fn cjk_covers_han_kana_and_hangul() {
        assert!(
            ['贷', '〇', 'か', '한', '\u{20000}']
                .into_iter()
                .all(is_cjk)
        );
        assert!(!['a', '1', '，', '😀'].into_iter().any(is_cjk));
    }
}
