//! What ranking knows beyond the words: per clause, computed once when the index is opened
//! ([`Facts`]: character bigrams for copy detection, whether it states a time limit, an amount
//! or a plan's target, the measure words it counts in; built with the [`GramIndex`] of all
//! clauses' grams), and per question, what kind of answer it asks for ([`Asks`]: a date, an
//! amount, the responsible units, a target, the measure word of a count), the boost of a clause
//! that carries it, and the question without those words (for follow-ups). The words on both
//! sides are the lexicon's (`answer_types.tsv` for the question, `clause_facts.tsv` for the
//! clause), except the measure words, which are read off the texts themselves.

use super::grams::{GramIndex, TextGrams};
use crate::text::chars::{has_amount, is_cjk, is_digit, is_numeral};
use crate::text::lexicon::{AnswerTypes, ClauseFacts};
use crate::text::segment::Segmenter;

/// What ranking needs to know about a clause, computed once when the index is opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Character pairs of the clause's own text, for copy detection ([`similar`]).
    pub(super) pairs: Pairs,
    /// Carries a date, deadline or time limit.
    time_limit: bool,
    /// Carries an amount, rate or count.
    amount: bool,
    /// States a plan's target (its heading or text says 目标, 力争 …).
    goal: bool,
    /// The measure words it states numbers in (家 of 245家, 月 of 6 个月), sorted.
    counted: Vec<char>,
}

/// Facts of every clause, and the index of every clause's own grams and every document's title
/// grams; `haystacks` are the normalised texts with the clause-own offset, `words` the
/// lexicon's time-limit words and quantity units.
#[must_use]
pub(super) fn facts(
    corpus: &crate::corpus::Corpus,
    haystacks: &[(String, usize)],
    words: &ClauseFacts,
) -> (Vec<Facts>, GramIndex) {
    let mut titles = vec![TextGrams::default(); corpus.documents.len()];
    let mut seen = vec![false; corpus.documents.len()];
    let own: Vec<TextGrams> = (corpus.clauses.iter().zip(haystacks))
        .map(|(c, (full, split))| {
            if let Some(seen) = seen.get_mut(c.doc).filter(|s| !**s) {
                *seen = true;
                titles[c.doc] = TextGrams::of(&full[..*split]);
            }
            TextGrams::of(&full[*split..])
        })
        .collect();
    let index = GramIndex::new(&own, &titles);
    let facts = (corpus.clauses.iter().zip(own))
        .map(|(c, grams)| Facts {
            pairs: Pairs::new(grams.pairs),
            time_limit: has_time_limit(&c.text, &words.time),
            amount: has_amount(&c.text, &words.quantity),
            goal: states_goal(&c.path, &c.text, &words.goal),
            counted: counted(&c.text),
        })
        .collect();
    (facts, index)
}

/// Whether a clause states a plan's target: its heading path (二、工作目标) or its text (力争…,
/// 培育目标是…) holds one of `words`.
fn states_goal(path: &[String], text: &str, words: &[String]) -> bool {
    (words.iter()).any(|w| text.contains(w.as_str()) || path.iter().any(|h| h.contains(w.as_str())))
}

/// What kind of answer the question asks for, read from its question words (which are stop
/// words for matching but say what the answering clause must contain).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Asks {
    /// 啥时候 / 多久 / 截止 …: a date, deadline or time limit.
    when: bool,
    /// 多少 / 最高 / 比例 …: an amount, rate or count.
    amount: bool,
    /// 谁负责 / 哪个部门 …: the responsible units.
    who: bool,
    /// 目标 / 要新增 … with 多少 / 几 …: a plan's target. The target words alone do not
    /// count: 计划 also names programmes (科技计划, 春笋计划) whose questions ask no target.
    goal: bool,
    /// The measure word a count is asked in (家 in 多少家, 月 in 几个月).
    unit: Option<char>,
}

/// Boost of a clause that carries what the question asks for.
const ASKS_BOOST: f32 = 1.4;

impl Asks {
    pub(super) fn of(question: &str, types: &AnswerTypes) -> Self {
        let has = |words: &[String]| words.iter().any(|w| question.contains(w.as_str()));
        let amount = has(&types.amount);
        Asks {
            when: has(&types.when),
            amount,
            who: has(&types.who),
            goal: amount && has(&types.goal),
            unit: measure(question),
        }
    }

    /// Whether the question asks for a date, deadline, amount, rate or count.
    pub(super) fn figure(self) -> bool {
        self.when || self.amount
    }

    pub(super) fn boost(self, facts: &Facts, clause: &crate::corpus::Clause) -> f32 {
        let mut b = 1.0;
        if self.when && facts.time_limit {
            b *= ASKS_BOOST;
        }
        if self.amount && facts.amount {
            b *= ASKS_BOOST;
        }
        if self.who && !clause.departments.is_empty() {
            b *= ASKS_BOOST;
        }
        if self.goal && facts.goal {
            b *= ASKS_BOOST;
        }
        if self
            .unit
            .is_some_and(|u| facts.counted.binary_search(&u).is_ok())
        {
            b *= UNIT_BOOST;
        }
        b
    }
}

/// Boost of a clause that states a number in the measure word the question asks a count in.
const UNIT_BOOST: f32 = 1.4;

/// The measure word after the question's 多少 or 几 (a 个 between them skipped): the unit the
/// answer is counted in. Mandarin puts the classifier right after the interrogative numeral.
fn measure(question: &str) -> Option<char> {
    let mut chars = question.chars().peekable();
    while let Some(c) = chars.next() {
        let asks = match c {
            '几' => true,
            '多' => chars.next_if_eq(&'少').is_some(),
            _ => false,
        };
        if asks {
            chars.next_if_eq(&'个');
            return chars.next().filter(|c| is_cjk(*c) && !is_numeral(*c));
        }
    }
    None
}

/// The measure words `text` states numbers in (a 个 between them allowed), sorted: 家 of
/// 245家, 月 of 6 个月, 家 of 一家. A four-digit number before 年 is a year, not a count of years.
fn counted(text: &str) -> Vec<char> {
    let mut units = Vec::new();
    // Inside a number: how many ASCII digits it has so far; and whether a 个 followed it.
    let mut number: Option<usize> = None;
    let mut ge = false;
    for c in text.chars() {
        let digit = is_digit(c) || is_numeral(c);
        match number {
            Some(ascii) if digit && !ge => number = Some(ascii + usize::from(c.is_ascii_digit())),
            Some(_) if !ge && (c == '.' || c.is_whitespace()) => {}
            Some(_) if !ge && c == '个' => ge = true,
            Some(ascii) => {
                if is_cjk(c) && !(c == '年' && ascii == 4) {
                    units.push(c);
                }
                number = None;
                ge = false;
            }
            None => {}
        }
        if number.is_none() && digit {
            number = Some(usize::from(c.is_ascii_digit()));
            ge = false;
        }
    }
    units.sort_unstable();
    units.dedup();
    units
}

/// A date, deadline or time limit: one of `words` (`6月30日前`, `年底前`, `起实施`,
/// `5个工作日内`, `有效期`), or a day followed closely by 前.
fn has_time_limit(text: &str, words: &[String]) -> bool {
    if words.iter().any(|w| text.contains(w.as_str())) {
        return true;
    }
    // A day followed closely by 前: `9 日下午 5:30 前`.
    text.match_indices('日')
        .any(|(at, _)| text[at..].chars().take(12).any(|c| c == '前'))
}

/// A clause's character pairs as copy detection compares them: the sorted, de-duplicated set,
/// and how many of them fall in each bucket of a hash ([`SKETCH_BUCKETS`]; empty when a bucket
/// would overflow a byte). Two sets share at most the sum over buckets of the smaller count,
/// which rules most dissimilar clauses out without merging their pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Pairs {
    pub(super) set: Vec<u64>,
    sketch: Vec<u8>,
}

/// Buckets of a [`Pairs`] sketch.
const SKETCH_BUCKETS: usize = 256;

impl Pairs {
    /// The pairs of a sorted, de-duplicated `set`.
    pub(super) fn new(set: Vec<u64>) -> Pairs {
        let mut sketch = vec![0u8; SKETCH_BUCKETS];
        for &p in &set {
            let bucket = &mut sketch[(p.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize];
            match bucket.checked_add(1) {
                Some(n) => *bucket = n,
                None => {
                    sketch = Vec::new();
                    break;
                }
            }
        }
        Pairs { set, sketch }
    }

    /// At least as many pairs as `self` and `other` share.
    fn shared_at_most(&self, other: &Pairs) -> usize {
        if self.sketch.is_empty() || other.sketch.is_empty() {
            return self.set.len().min(other.set.len());
        }
        // In chunks whose sum fits 16 bits, so that the minimums are taken and added many
        // lanes at a time.
        (self
            .sketch
            .chunks_exact(32)
            .zip(other.sketch.chunks_exact(32)))
        .map(|(a, b)| {
            let chunk: u16 = (a.iter().zip(b)).map(|(x, y)| u16::from(*x.min(y))).sum();
            usize::from(chunk)
        })
        .sum()
    }
}

/// Whether the Jaccard similarity of two pair sets reaches `threshold`. Exact, but cheap for the
/// common dissimilar pair: sets whose sizes differ too much cannot reach it (|a∩b| / |a∪b| ≤
/// min / max), nor sets whose sketches bound what they share below the need, and the merge
/// stops once the rest cannot make up the shortfall.
pub(super) fn similar(a: &Pairs, b: &Pairs, threshold: f32) -> bool {
    let (a_set, b_set) = (&a.set, &b.set);
    let (short, long) = if a_set.len() <= b_set.len() {
        (a_set, b_set)
    } else {
        (b_set, a_set)
    };
    // A small margin keeps the shortcuts on the safe side of float rounding.
    const SAFE: f32 = 0.999;
    if (short.len() as f32) < threshold * long.len() as f32 * SAFE {
        return false;
    }
    // inter / (|a| + |b| − inter) ≥ t  ⇔  inter ≥ t (|a| + |b|) / (1 + t).
    let need = threshold * (a_set.len() + b_set.len()) as f32 / (1.0 + threshold) * SAFE;
    if (a.shared_at_most(b) as f32) < need {
        return false;
    }
    let (a, b) = (a_set, b_set);
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        inter += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
        if (i & 63) == 0 && ((inter + (a.len() - i).min(b.len() - j)) as f32) < need {
            return false;
        }
    }
    let inter = inter as f32;
    let union = (a.len() + b.len()) as f32 - inter;
    union > 0.0 && inter / union >= threshold
}

/// `question` without the words that say what kind of answer it wants (多少, 什么时候, 哪个部门 …),
/// so that a follow-up combined with it asks only for what the follow-up asks. A question word
/// inside a longer word of the question stays: in 工伤保险费率 the 费率 names the topic.
#[must_use]
pub fn without_question_words(
    question: &str,
    segmenter: &Segmenter,
    types: &AnswerTypes,
) -> String {
    let words = segmenter.tokens(question);
    let inside_longer = |from: usize, to: usize| {
        words
            .iter()
            .any(|w| w.start <= from && to <= w.end && w.end - w.start > to - from)
    };
    let mut cut: Vec<(usize, usize)> = Vec::new();
    for w in types.words() {
        if w.chars().count() < 2 {
            continue;
        }
        for (from, _) in question.match_indices(w) {
            let to = from + w.len();
            if !inside_longer(from, to) {
                cut.push((from, to));
            }
        }
    }
    cut.sort_unstable();
    let mut out = String::with_capacity(question.len());
    let mut at = 0;
    for (from, to) in cut {
        if from >= at {
            out.push_str(&question[at..from]);
            out.push(' ');
            at = to;
        } else {
            at = at.max(to);
        }
    }
    out.push_str(&question[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::ClauseKind;
    use crate::text::lexicon::Lexicon;
    use crate::text::test_support::walk;

    fn lexicon() -> Lexicon {
        Lexicon::load(&crate::text::test_support::lexicon_dir()).expect("data/lexicon loads")
    }

    #[test]
    fn the_measure_word_follows_the_interrogative() {
        assert_eq!(measure("安阳今年计划新认定多少家高新技术企业"), Some('家'));
        assert_eq!(measure("商用货车的贷款能延几个月"), Some('月'));
        assert_eq!(measure("研发占营收5%以上得几分"), Some('分'));
        assert_eq!(measure("利率多少"), None);
        assert_eq!(measure("能贷几十万"), None);
        assert_eq!(measure("有多大"), None);
    }

    #[test]
    fn a_count_is_a_number_in_the_measure_word() {
        assert_eq!(counted("新认定高新技术企业245家"), ['家']);
        assert_eq!(counted("减免 6 个月租金，其他地区减免 3 个月"), ['月']);
        assert_eq!(counted("济源原则上只保留一家政府性融资担保机构"), ['家']);
        assert_eq!(counted("从事相关领域达 10 年及以上"), ['年']);
        assert_eq!(counted("2022年起实施，奖励 5 万元"), ['元']);
        assert!(counted("支持企业家参加培训").is_empty());
        assert!(counted("").is_empty());
    }

    #[test]
    fn answer_types_are_read_from_question_words() {
        let Lexicon {
            answer_types: types,
            clause_facts,
            ..
        } = lexicon();
        let a = Asks::of("社保能缓缴到啥时候，找哪个部门", &types);
        assert!(a.when && a.who && !a.amount);
        assert!(Asks::of("最高能贷多少", &types).amount);
        let time = &clause_facts.time;
        assert!(has_time_limit("于 2022 年 6 月 30 日前完成", time));
        assert!(has_time_limit(
            "于 2022 年 6 月 9 日下午 5：30 前报送",
            time
        ));
        assert!(has_time_limit("自印发之日起施行", time));
        assert!(!has_time_limit("加大信贷投放力度", time));
    }

    /// A question after a plan's target (要新增多少, 计划…多少, 目标是多少) favours a clause that
    /// states one, in its heading or its text; other questions, a programme's name among them
    /// (科技计划), leave it be.
    #[test]
    fn a_target_question_favours_a_clause_that_states_a_target() {
        let Lexicon {
            answer_types: types,
            clause_facts,
            ..
        } = lexicon();
        let goal = &clause_facts.goal;
        let path = |h: &str| vec![h.to_string()];
        assert!(states_goal(
            &path("二、工作目标"),
            "信贷投放新增达280亿元以上",
            goal
        ));
        assert!(states_goal(
            &[],
            "力争上半年各项贷款新增投放达到 180 亿元以上",
            goal
        ));
        assert!(!states_goal(&path("三、工作措施"), "扩大普惠覆盖", goal));
        let clause = crate::broadcast::fixtures::clause(0, ClauseKind::Measure, &[], "");
        let target = Facts {
            goal: true,
            ..Facts::default()
        };
        let asks = Asks::of("安阳今年要新增多少家规上工业企业", &types);
        assert!(asks.goal);
        assert!(asks.boost(&target, &clause) > asks.boost(&Facts::default(), &clause));
        assert!(!Asks::of("申报科技计划项目有补贴吗", &types).goal);
        let asks = Asks::of("小店房租能减免吗", &types);
        assert!(!asks.goal);
        assert_eq!(
            asks.boost(&target, &clause),
            asks.boost(&Facts::default(), &clause)
        );
    }

    #[test]
    fn question_words_go_but_not_from_inside_longer_words() {
        let seg = Segmenter::load(&crate::text::test_support::lexicon_dir()).expect("loads");
        let types = lexicon().answer_types;
        let topic = without_question_words("工伤保险费率今年还降吗", &seg, &types);
        assert!(topic.contains("工伤保险费率"), "{topic}");
        let topic = without_question_words("创业担保贷款利率最高多少", &seg, &types);
        assert!(topic.contains("创业担保贷款"), "{topic}");
        assert!(
            !topic.contains("多少") && !topic.contains("最高"),
            "{topic}"
        );
        let topic = without_question_words("社保缓缴到什么时候，找哪个部门", &seg, &types);
        assert!(
            !topic.contains("什么时候") && !topic.contains("部门"),
            "{topic}"
        );
    }

    #[test]
    fn bigram_similarity_counts_shared_pairs() {
        let a = Pairs::new(TextGrams::of("普惠 小微贷款").pairs);
        let b = Pairs::new(TextGrams::of("普惠小微企业").pairs);
        assert_eq!(a.set.len(), 5);
        // 普惠 惠小 小微 shared of 7: Jaccard 3/7.
        assert!(similar(&a, &b, 0.42));
        assert!(!similar(&a, &b, 0.44));
        assert!(!similar(
            &Pairs::new(Vec::new()),
            &Pairs::new(Vec::new()),
            0.1
        ));
    }

    #[test]
    fn a_set_too_large_for_its_sketch_is_still_compared() {
        let big: Vec<u64> = (0..70_000).collect();
        let (a, b) = (Pairs::new(big.clone()), Pairs::new(big[..60_000].to_vec()));
        assert!(a.sketch.is_empty() && !b.sketch.is_empty());
        assert!(similar(&a, &b, 0.8) && !similar(&a, &b, 0.9));
    }

    #[test]
    fn similarity_shortcuts_agree_with_the_plain_ratio() {
        // Sets of varied sizes and overlaps from a fixed pseudo-random walk.
        let mut walk = walk(7);
        let mut next = || walk() as u64;
        for _ in 0..400 {
            let (n, m, range) = (next() % 300, next() % 300, 50 + next() % 400);
            let mut a: Vec<u64> = (0..n).map(|_| next() % range).collect();
            let mut b: Vec<u64> = (0..m).map(|_| next() % range).collect();
            for v in [&mut a, &mut b] {
                v.sort_unstable();
                v.dedup();
            }
            let inter = a.iter().filter(|x| b.binary_search(x).is_ok()).count() as f32;
            let union = (a.len() + b.len()) as f32 - inter;
            for t in [0.3, 0.6, 0.8] {
                let plain = union > 0.0 && inter / union >= t;
                assert_eq!(
                    similar(&Pairs::new(a.clone()), &Pairs::new(b.clone()), t),
                    plain,
                    "{} {} {inter} {t}",
                    a.len(),
                    b.len()
                );
            }
        }
    }
}
