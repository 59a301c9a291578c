//! Which measures of a document are worth announcing, and each as one line: measures and
//! articles over prose, amounts, rates and benefit words (what an enterprise gets), in document
//! order; the heading's list number removed. The benefit words are data ([`CorpusWords`],
//! `corpus_words.tsv`).

use crate::corpus::{Clause, ClauseKind, Corpus, CorpusWords};
use crate::text::chars::{has_amount, truncate};

/// Key points shown by the 要点 button.
pub const MAX_KEY_POINTS: usize = 12;

/// Longest measure line, in characters.
pub(super) const MEASURE_CHARS: usize = 90;

/// The key points of document `doc`: one line per measure, in document order (the
/// highest-scoring [`MAX_KEY_POINTS`] when there are more). `benefit`: the units that, after a
/// number, state what an enterprise gets (the lexicon's `clause_facts.benefit`).
#[must_use]
pub fn key_points(corpus: &Corpus, doc: usize, benefit: &[String]) -> Vec<String> {
    let clauses: Vec<&Clause> = corpus.clauses.iter().filter(|c| c.doc == doc).collect();
    top_measures(&clauses, MAX_KEY_POINTS, benefit)
}

/// Up to `n` measures by importance, returned in document order as one line each.
pub(super) fn top_measures(clauses: &[&Clause], n: usize, benefit: &[String]) -> Vec<String> {
    let mut scored: Vec<(usize, f32, String)> = clauses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind != ClauseKind::Header)
        .filter_map(|(i, c)| {
            let line = measure_line(c)?;
            Some((i, importance(c, benefit), line))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<(usize, String)> = Vec::with_capacity(n);
    for (i, _, line) in scored {
        if chosen.len() == n {
            break;
        }
        if !chosen.iter().any(|(_, l)| *l == line) {
            chosen.push((i, line));
        }
    }
    chosen.sort_by_key(|(i, _)| *i);
    chosen.into_iter().map(|(_, line)| line).collect()
}

/// How much a clause tells an enterprise what it gets: measures and articles over prose, amounts
/// and rates, benefit words; very short or very long clauses count less.
fn importance(c: &Clause, benefit: &[String]) -> f32 {
    let text = &c.text;
    let mut score = match c.kind {
        ClauseKind::Measure | ClauseKind::Article => 2.0,
        ClauseKind::Faq | ClauseKind::TableRow => 1.0,
        ClauseKind::Paragraph | ClauseKind::Header => 0.0,
    };
    if has_amount(text, benefit) {
        score += 2.0;
    }
    let benefits = CorpusWords::shipped().benefits(text);
    score += benefits.min(4) as f32 * 0.75;
    let chars = text.chars().count();
    if chars < 12 {
        score -= 2.0;
    } else if chars > 600 {
        score -= 0.5;
    }
    score
}

/// Longest heading used as a measure's title (longer ones are the start of the text itself).
const TITLE_CHARS: usize = 24;

/// One line for a clause: its short heading (numbering removed) as a title, then the first
/// sentence of what follows, cut to [`MEASURE_CHARS`]; a long heading that merely starts the
/// text is not repeated. `None` for a clause without text.
fn measure_line(c: &Clause) -> Option<String> {
    const LEAD: &[char] = &['。', '；', '：', ':', ';', '，', ',', '、', ' ', '\u{3000}'];
    let heading = c
        .path
        .last()
        .map(|h| strip_numbering(h.trim()).trim_end_matches(LEAD))
        .unwrap_or_default();
    let text = strip_numbering(c.text.trim());
    let full = text.lines().next().unwrap_or_default().trim();
    // A title is short and no sentence; an article's heading is the start of its text.
    let short = !heading.is_empty()
        && heading.chars().count() <= TITLE_CHARS
        && !heading.contains(['，', ','])
        && c.kind != ClauseKind::Article;
    // The text starts with its heading, run in (`一、支持对象。在本市…`) or on a line of its own.
    let body = match text.strip_prefix(heading) {
        Some(rest) if !heading.is_empty() => rest.trim_start(),
        _ => text,
    };
    let body = body.trim_start_matches(LEAD);
    let sentence = first_sentence(body.lines().next().unwrap_or_default().trim());
    let line = match (short, sentence.is_empty()) {
        (true, false) if !sentence.starts_with(heading) => format!("{heading}：{sentence}"),
        (true, true) => heading.to_string(),
        (true, false) => sentence.to_string(),
        // A long heading is the start of the text: show the text from its beginning.
        (false, _) => first_sentence(full).to_string(),
    };
    let line = line.trim().to_string();
    (line.chars().filter(|c| c.is_alphanumeric()).count() >= 4)
        .then(|| truncate(&line, MEASURE_CHARS))
}

/// The text up to and including its first `。` or `；` (the whole text when there is none).
fn first_sentence(text: &str) -> &str {
    match text.char_indices().find(|(_, c)| matches!(c, '。' | '；')) {
        Some((i, c)) => &text[..i + c.len_utf8()],
        None => text,
    }
}

/// Removes a leading list number: `一、` `（三）` `3.` `(2)` `第五条`.
fn strip_numbering(text: &str) -> &str {
    const CJK_DIGITS: &str = "一二三四五六七八九十百零〇两";
    let t = text.trim_start();
    let digits = |s: &str| {
        s.char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || CJK_DIGITS.contains(*c)))
            .map_or(s.len(), |(i, _)| i)
    };
    // （三） / (2)
    for (open, close) in [('（', '）'), ('(', ')')] {
        if let Some(rest) = t.strip_prefix(open) {
            let n = digits(rest);
            if n > 0
                && let Some(after) = rest[n..].strip_prefix(close)
            {
                return after.trim_start();
            }
        }
    }
    // 第五条
    if let Some(rest) = t.strip_prefix('第') {
        let n = digits(rest);
        if n > 0
            && let Some(after) = rest[n..].strip_prefix('条')
        {
            return after.trim_start();
        }
    }
    // 一、 / 3. / 3、 / 3．
    let n = digits(t);
    if n > 0 {
        for sep in ['、', '.', '．'] {
            if let Some(after) = t[n..].strip_prefix(sep) {
                return after.trim_start();
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::clause;
    use super::*;

    #[test]
    fn strips_list_numbers() {
        for (raw, want) in [
            ("一、加大信贷支持", "加大信贷支持"),
            ("（三）降低担保费率", "降低担保费率"),
            ("(2) 延期还本", "延期还本"),
            ("3. 缓缴社保费", "缓缴社保费"),
            ("第五条 本办法", "本办法"),
            ("2022年", "2022年"),
            ("十分重要", "十分重要"),
        ] {
            assert_eq!(strip_numbering(raw), want, "help: {raw}");
        }
    }

    #[test]
    fn picks_measures_with_amounts_and_benefits_in_document_order() {
        let clauses = [
            clause(0, ClauseKind::Header, &[], "关于支持中小企业的通知"),
            clause(
                0,
                ClauseKind::Paragraph,
                &[],
                "为深入贯彻落实党中央决策部署，现通知如下。",
            ),
            clause(
                0,
                ClauseKind::Measure,
                &["一、加强组织领导"],
                "一、加强组织领导\n各部门要高度重视，压实责任。",
            ),
            clause(
                0,
                ClauseKind::Measure,
                &["二、发放算力券"],
                "二、发放算力券\n对中小企业购买算力服务给予50%补贴，每家最高20万元。",
            ),
            clause(
                0,
                ClauseKind::Measure,
                &["三、贷款贴息"],
                "三、贷款贴息\n对首贷给予贴息支持，贴息比例1个百分点。",
            ),
            clause(
                0,
                ClauseKind::Measure,
                &["四、减免房租"],
                "四、减免房租\n国有房屋租金减免3个月。",
            ),
        ];
        let refs: Vec<&Clause> = clauses.iter().collect();
        let top = top_measures(&refs, 3, &crate::text::test_support::benefit_units());
        assert_eq!(top.len(), 3, "{top:?}");
        assert!(top[0].starts_with("发放算力券："), "{top:?}");
        assert!(top[1].starts_with("贷款贴息："), "{top:?}");
        assert!(top[2].starts_with("减免房租："), "{top:?}");
        assert!(top.iter().all(|l| l.chars().count() <= MEASURE_CHARS));
    }

    #[test]
    fn measure_lines_handle_run_in_and_long_headings() {
        let run_in = clause(
            0,
            ClauseKind::Measure,
            &["一、支持对象"],
            "一、支持对象。在本市登记注册的中小微企业。其他内容。",
        );
        assert_eq!(
            measure_line(&run_in).as_deref(),
            Some("支持对象：在本市登记注册的中小微企业。")
        );
        let long = clause(
            0,
            ClauseKind::Article,
            &["第十五条 有效期内的创新型中小企业和专精特新中小企业，如"],
            "第十五条 有效期内的创新型中小企业和专精特新中小企业，如发生更名，应在3个月内报告。",
        );
        assert_eq!(
            measure_line(&long).as_deref(),
            Some("有效期内的创新型中小企业和专精特新中小企业，如发生更名，应在3个月内报告。")
        );
        let bare = clause(0, ClauseKind::TableRow, &[], "（二）。");
        assert_eq!(measure_line(&bare), None);
    }
}
