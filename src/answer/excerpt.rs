//! Excerpts: the best-matching sentences of a clause, at most [`MAX_EXCERPT_CHARS`] characters,
//! with matched question terms marked as highlight spans. Pure; works on characters, never bytes.

use unicode_normalization::UnicodeNormalization;

use crate::text::chars::is_digit;
use crate::text::normalize::is_ideograph;

use super::Span;

/// Upper bound of an excerpt in characters, `…` markers included.
pub const MAX_EXCERPT_CHARS: usize = 150;

/// Ellipsis shown where the clause text was cut.
const CUT: &str = "…";

/// A clause's characters with their folded (NFKC, lower case, whitespace dropped) form, the
/// map from folded positions back to original ones and the sentence ranges, so terms match
/// across stray spaces and full-width forms yet highlights land on the original text. Depends
/// on the clause alone: built once per clause ([`super::memo`]).
#[derive(Clone, Debug)]
pub struct Folded {
    chars: Vec<char>,
    folded: Vec<char>,
    origin: Vec<usize>,
    sentences: Vec<(usize, usize)>,
    /// The sentence (index into `sentences`) each folded character comes from.
    sentence_of: Vec<usize>,
}

impl Folded {
    /// Folds `text`.
    #[must_use]
    pub fn new(text: &str) -> Folded {
        let chars: Vec<char> = text.chars().collect();
        let mut folded = Vec::with_capacity(chars.len());
        let mut origin = Vec::with_capacity(chars.len());
        for (i, c) in chars.iter().enumerate() {
            push_folded(*c, &mut folded);
            origin.resize(folded.len(), i);
        }
        let sentences = sentences(&chars);
        // Characters fold one by one, so a sentence's folded form is the run of the clause's
        // folded characters that come from it. Only whitespace is outside every sentence, and
        // whitespace folds to nothing.
        let mut sentence_of = vec![usize::MAX; folded.len()];
        for (k, (s, e)) in sentences.iter().enumerate() {
            let from = origin.partition_point(|o| o < s);
            let to = origin.partition_point(|o| o < e);
            sentence_of[from..to].fill(k);
        }
        Folded {
            chars,
            folded,
            origin,
            sentences,
            sentence_of,
        }
    }

    /// Every folded position where `term` (folded, not empty) occurs, overlapping ones
    /// included, in ascending order.
    fn occurrences<'a>(&'a self, term: &'a [char]) -> impl Iterator<Item = usize> + 'a {
        // The first character rules out almost every position without a slice compare.
        self.folded
            .windows(term.len())
            .enumerate()
            .filter(move |(_, w)| w[0] == term[0] && *w == term)
            .map(|(p, _)| p)
    }

    /// The original characters covered by occurrences of `terms` (each term's occurrences taken
    /// left to right without overlap), per sentence how many of the terms occur in it and how
    /// many of those are also in `focus`, and every occurrence as (term, first original character, end), by first character.
    fn matches(&self, terms: &[Vec<char>], focus: &[Vec<char>]) -> Matches {
        let mut mask = vec![false; self.chars.len()];
        let mut found = Vec::new();
        let mut distinct = vec![0; self.sentences.len()];
        let mut focused = vec![0; self.sentences.len()];
        // The last term (index + 1) counted for each sentence.
        let mut counted = vec![0; self.sentences.len()];
        for (t, term) in terms.iter().enumerate().filter(|(_, t)| !t.is_empty()) {
            let n = term.len();
            let in_focus = focus.contains(term);
            let mut free = 0;
            for p in self.occurrences(term) {
                found.push((t, self.origin[p], self.origin[p + n - 1] + 1));
                if p >= free {
                    mask[self.origin[p]..=self.origin[p + n - 1]].fill(true);
                    free = p + n;
                }
                let k = self.sentence_of[p];
                if k == self.sentence_of[p + n - 1]
                    && let Some(seen) = counted.get_mut(k)
                    && *seen != t + 1
                {
                    *seen = t + 1;
                    distinct[k] += 1;
                    focused[k] += usize::from(in_focus);
                }
            }
        }
        found.sort_by_key(|o| o.1);
        Matches {
            mask,
            distinct,
            focused,
            found,
        }
    }
}

/// What [`Folded::matches`] finds.
struct Matches {
    /// Per original character: inside an occurrence.
    mask: Vec<bool>,
    /// Per sentence: how many distinct terms occur in it.
    distinct: Vec<usize>,
    /// Per sentence: how many of those are focus terms.
    focused: Vec<usize>,
    /// Every occurrence: (term, first original character, end), by first character.
    found: Vec<(usize, usize, usize)>,
}

/// Appends the NFKC + lower case form of `c` to `out`, whitespace dropped. Ideographs and ASCII
/// (digits, Latin letters, punctuation), which NFKC leaves as they are, skip its tables.
fn push_folded(c: char, out: &mut Vec<char>) {
    if is_ideograph(c) {
        out.push(c);
    } else if c.is_ascii() {
        if !c.is_whitespace() {
            out.push(c.to_ascii_lowercase());
        }
    } else {
        out.extend(
            std::iter::once(c)
                .nfkc()
                .flat_map(char::to_lowercase)
                .filter(|c| !c.is_whitespace()),
        );
    }
}

/// Folds a question term the same way as clause text.
fn fold(term: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(term.len());
    for c in term.chars() {
        push_folded(c, &mut out);
    }
    out
}

/// The terms used for highlighting: folded, de-duplicated, longest first. Single characters are
/// dropped (they would light up half a Chinese clause) unless nothing longer was matched.
fn usable_terms(matched: &[String]) -> Vec<Vec<char>> {
    let mut terms: Vec<Vec<char>> = matched
        .iter()
        .map(|t| fold(t))
        .filter(|t| !t.is_empty())
        .collect();
    terms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    terms.dedup();
    if terms.iter().any(|t| t.len() > 1) {
        terms.retain(|t| t.len() > 1);
    }
    terms
}

/// Sentence ranges (char indices, end exclusive, terminator included).
fn sentences(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in chars.iter().enumerate() {
        if matches!(c, '。' | '；' | '！' | '？' | '\n' | ';' | '!' | '?') {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < chars.len() {
        out.push((start, chars.len()));
    }
    out.retain(|(s, e)| chars[*s..*e].iter().any(|c| !c.is_whitespace()));
    out
}

/// Builds the excerpt of a clause's `folded` text for the matched question `terms`; `figure`:
/// the question asks for a date or an amount; `focus`: those of the terms a follow-up added to
/// the last question ("要什么材料"), which count twice.
///
/// The best sentence (most distinct terms, half a term more for one that states a number when
/// the question asks for a `figure`, then most highlighted characters, then earliest) is
/// always included, cut around its first match when it alone is too long; neighbours are added
/// (following first) while the total stays within [`MAX_EXCERPT_CHARS`].
#[must_use]
pub fn excerpt(folded: &Folded, terms: &[String], figure: bool, focus: &[String]) -> Vec<Span> {
    let terms = usable_terms(terms);
    let Matches {
        mask,
        distinct,
        focused,
        found,
    } = folded.matches(&terms, &usable_terms(focus));
    let chars = &folded.chars;
    let sents = &folded.sentences;
    if sents.is_empty() {
        return Vec::new();
    }
    // In halves of a term: a matching sentence that states a number gains half a term, and a
    // focus term counts twice.
    let score: Vec<usize> = (distinct.iter().zip(sents))
        .enumerate()
        .map(|(i, (&d, &(s, e)))| {
            let number = figure && d > 0 && chars[s..e].iter().any(|c| is_digit(*c));
            2 * (d + focused[i]) + usize::from(number)
        })
        .collect();
    let best = best_sentence(&score, &mask, sents);
    let (s, e) = sents[best];
    let budget = |from: usize, to: usize| {
        let cuts = usize::from(from > 0) + usize::from(to < chars.len());
        to - from + cuts
    };
    let (mut from, mut to) = (s, e);
    if budget(s, e) > MAX_EXCERPT_CHARS {
        let width = MAX_EXCERPT_CHARS - 2;
        from = best_window(chars, &mask, &found, (s, e), width, figure);
        to = (from + width).min(e);
    } else {
        let (mut prev, mut next) = (best, best + 1);
        loop {
            let mut grew = false;
            if next < sents.len() && budget(from, sents[next].1) <= MAX_EXCERPT_CHARS {
                to = sents[next].1;
                next += 1;
                grew = true;
            }
            if prev > 0 && budget(sents[prev - 1].0, to) <= MAX_EXCERPT_CHARS {
                prev -= 1;
                from = sents[prev].0;
                grew = true;
            }
            if !grew {
                break;
            }
        }
    }
    spans(chars, &mask, from, to)
}

/// Where to start a `width`-character window inside the overlong sentence `s..e`: a little
/// before one of its matches, taking the window with the most distinct terms, then (for a
/// `figure` question) one that states a number, then the most highlighted characters, then the
/// earliest; the sentence start when nothing in it matched.
fn best_window(
    chars: &[char],
    mask: &[bool],
    found: &[(usize, usize, usize)],
    (s, e): (usize, usize),
    width: usize,
    figure: bool,
) -> usize {
    let inside: Vec<_> = found.iter().filter(|o| s <= o.1 && o.2 <= e).collect();
    let mut best = (s, (0, false, 0));
    let mut terms: Vec<usize> = Vec::new();
    for o in &inside {
        let from = o.1.saturating_sub(LEAD).max(s).min(e.saturating_sub(width));
        let to = (from + width).min(e);
        terms.clear();
        terms.extend(
            inside
                .iter()
                .filter(|i| from <= i.1 && i.2 <= to)
                .map(|i| i.0),
        );
        terms.sort_unstable();
        terms.dedup();
        let number = figure && chars[from..to].iter().any(|c| is_digit(*c));
        let lit = mask[from..to].iter().filter(|m| **m).count();
        let score = (terms.len(), number, lit);
        if score > best.1 {
            best = (from, score);
        }
    }
    best.0
}

/// Characters of context kept before the first match of a window cut out of a long sentence.
const LEAD: usize = 20;

/// The sentence with the highest `score`, then the most highlighted characters, then the
/// earliest.
fn best_sentence(score: &[usize], mask: &[bool], sents: &[(usize, usize)]) -> usize {
    let mut best = 0;
    let mut best_score = (0, 0);
    for (n, ((s, e), score)) in sents.iter().zip(score).enumerate() {
        let lit = mask[*s..*e].iter().filter(|m| **m).count();
        if (*score, lit) > best_score {
            best_score = (*score, lit);
            best = n;
        }
    }
    best
}

/// Turns `chars[from..to]` into spans, trimming whitespace at the edges, turning line breaks
/// into spaces and adding `…` where the clause was cut.
fn spans(chars: &[char], mask: &[bool], mut from: usize, mut to: usize) -> Vec<Span> {
    let cut_before = from > 0;
    let cut_after = to < chars.len();
    while from < to && chars[from].is_whitespace() {
        from += 1;
    }
    while to > from && chars[to - 1].is_whitespace() {
        to -= 1;
    }
    let mut out: Vec<Span> = Vec::new();
    if cut_before {
        out.push(Span {
            text: CUT.to_string(),
            hit: false,
        });
    }
    // One span per run of characters that are all highlighted or all not.
    let mut start = from;
    while start < to {
        let hit = mask[start];
        let end = (start..to).find(|i| mask[*i] != hit).unwrap_or(to);
        out.push(Span {
            text: chars[start..end]
                .iter()
                .map(|c| if *c == '\n' { ' ' } else { *c })
                .collect(),
            hit,
        });
        start = end;
    }
    if cut_after {
        out.push(Span {
            text: CUT.to_string(),
            hit: false,
        });
    }
    out
}

/// The excerpt as plain text (no markers).
#[must_use]
pub fn plain(spans: &[Span]) -> String {
    spans.iter().map(|s| s.text.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(t: &[&str]) -> Vec<String> {
        t.iter().map(ToString::to_string).collect()
    }

    fn excerpt(text: &str, terms: &[String]) -> Vec<Span> {
        super::excerpt(&Folded::new(text), terms, false, &[])
    }

    #[test]
    fn a_question_for_a_figure_prefers_the_sentence_that_states_one() {
        // Each sentence holds one term; only the second states a number.
        let text = format!(
            "{}贴息由财政安排。{}贴息比例为50%。",
            "甲".repeat(70),
            "乙".repeat(70)
        );
        let folded = Folded::new(&text);
        let terms = terms(&["贴息"]);
        let plain_of = |figure| plain(&super::excerpt(&folded, &terms, figure, &[]));
        assert!(plain_of(false).contains("财政安排"), "{}", plain_of(false));
        assert!(!plain_of(false).contains("50%"), "{}", plain_of(false));
        assert!(plain_of(true).contains("50%"), "{}", plain_of(true));
        // A number in a sentence without the terms does not count.
        let other = Folded::new(&format!(
            "{}贴息由财政安排。{}比例为50%。",
            "甲".repeat(70),
            "乙".repeat(70)
        ));
        assert!(!plain(&super::excerpt(&other, &terms, true, &[])).contains("50%"));
    }

    #[test]
    fn a_follow_up_prefers_the_sentence_with_its_own_words() {
        // Both sentences hold two terms; only the second holds the follow-up's 材料.
        let text = format!(
            "{}房租减免按月执行。{}减免需提交材料。",
            "甲".repeat(70),
            "乙".repeat(70)
        );
        let folded = Folded::new(&text);
        let terms = terms(&["房租", "减免", "材料"]);
        let plain_of = |focus: &[String]| plain(&super::excerpt(&folded, &terms, false, focus));
        assert!(plain_of(&[]).contains("按月执行"), "{}", plain_of(&[]));
        let focused = plain_of(&["材料".to_string()]);
        assert!(focused.contains("提交材料"), "{focused}");
        assert!(!focused.contains("按月执行"), "{focused}");
    }

    #[test]
    fn short_clause_is_whole_and_uncut() {
        let spans = excerpt("对小微企业减免房租。", &terms(&["房租"]));
        assert_eq!(plain(&spans), "对小微企业减免房租。");
        assert_eq!(
            spans
                .iter()
                .filter(|s| s.hit)
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>(),
            ["房租"]
        );
    }

    #[test]
    fn window_holds_best_sentence_within_limit() {
        let filler = "各地要加强组织领导，认真抓好落实，确保各项工作取得实效。".repeat(6);
        let best = "对月销售额15万元以下的小规模纳税人免征增值税。";
        let text = format!("{filler}{best}{filler}");
        let spans = excerpt(&text, &terms(&["小规模纳税人", "增值税"]));
        let out = plain(&spans);
        assert!(
            out.chars().count() <= MAX_EXCERPT_CHARS,
            "help: {} chars",
            out.chars().count()
        );
        assert!(out.contains(best), "help: {out}");
        assert!(out.starts_with('…') && out.ends_with('…'), "help: {out}");
        let hits: Vec<&str> = spans
            .iter()
            .filter(|s| s.hit)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(hits, ["小规模纳税人", "增值税"]);
    }

    #[test]
    fn overlong_sentence_is_cut_around_the_match() {
        let text = format!(
            "{}创业担保贷款最高300万元{}",
            "甲".repeat(200),
            "乙".repeat(200)
        );
        let out = plain(&excerpt(&text, &terms(&["创业担保贷款"])));
        assert!(out.chars().count() <= MAX_EXCERPT_CHARS);
        assert!(out.contains("创业担保贷款最高300万元"), "help: {out}");
    }

    #[test]
    fn a_long_sentence_is_cut_where_most_terms_meet() {
        // The first match stands alone at the start; two terms meet near the end.
        let text = format!(
            "受疫情影响的企业{}，本息最长可延6个月，展期不算逾期",
            "甲".repeat(200)
        );
        let out = plain(&excerpt(&text, &terms(&["受疫情影响", "本息", "展期"])));
        assert!(out.chars().count() <= MAX_EXCERPT_CHARS);
        assert!(out.contains("本息最长可延6个月，展期"), "help: {out}");
    }

    #[test]
    fn matching_ignores_width_case_and_stray_spaces() {
        let spans = excerpt(
            "有效期至 2022 年底，LPR 减去 150 个基点。",
            &terms(&["2022年", "lpr"]),
        );
        let hits: Vec<&str> = spans
            .iter()
            .filter(|s| s.hit)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(hits, ["2022 年", "LPR"]);
        let full = excerpt("ＬＰＲ下降", &terms(&["lpr"]));
        assert_eq!(
            full[0],
            Span {
                text: "ＬＰＲ".into(),
                hit: true
            }
        );
    }

    #[test]
    fn no_match_starts_at_the_beginning() {
        let text = "第一句。".repeat(60);
        let out = plain(&excerpt(&text, &terms(&["不存在"])));
        assert!(out.starts_with("第一句") && out.ends_with('…'));
        assert!(out.chars().count() <= MAX_EXCERPT_CHARS);
        assert!(excerpt("", &terms(&["x"])).is_empty());
    }

    #[test]
    fn occurrences_are_marked_left_to_right_and_counted_per_sentence() {
        // "补贴补贴补" holds 补贴补 at 0 and (overlapping) at 2: only the first is marked.
        let folded = Folded::new("补贴补贴补。无关。补贴补。");
        let Matches {
            mask,
            distinct,
            focused,
            found,
        } = folded.matches(&[fold("补贴补"), fold("无关")], &[fold("无关")]);
        let lit: String = folded
            .chars
            .iter()
            .zip(&mask)
            .map(|(c, m)| if *m { *c } else { '_' })
            .collect();
        assert_eq!(lit, "补贴补___无关_补贴补_");
        assert_eq!(distinct, [1, 1, 1]);
        assert_eq!(focused, [0, 1, 0], "only 无关 is a focus term");
        // Every occurrence is listed, overlapping ones too, by first character.
        assert_eq!(found, [(0, 0, 3), (0, 2, 5), (1, 6, 8), (0, 9, 12)]);
        // A term across a sentence end counts for neither sentence.
        let distinct = Folded::new("申请补。贴息")
            .matches(&[fold("补。贴")], &[])
            .distinct;
        assert_eq!(distinct, [0, 0]);
    }

    #[test]
    fn single_characters_only_when_nothing_longer() {
        let spans = excerpt("税费减免和贷款贴息。", &terms(&["税", "贷款"]));
        let hits: Vec<&str> = spans
            .iter()
            .filter(|s| s.hit)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(hits, ["贷款"]);
    }
}
