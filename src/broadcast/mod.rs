//! Announcements of newly added and revised policies: what a document's announcement says
//! (title, 文号, issuer, date, region, its three most important measures; for a revision, the
//! clauses added and removed), its key points, subscription
//! filters (`/subscribe 融资 安阳`) and whether an announcement matches them. Pure; the Redis
//! queue and subscription store live in [`store`].

pub mod store;

use serde::{Deserialize, Serialize};

use crate::corpus::{Clause, ClauseKind, Corpus};
use crate::intents::{IntentKind, IntentSet};
use crate::places::{Places, Relation, relation};
use crate::text::chars::{BENEFIT_UNITS, has_amount, truncate};
use crate::text::normalize::normalize;

/// Measures shown in an announcement.
pub const ANNOUNCED_MEASURES: usize = 3;

/// Key points shown by the 要点 button.
pub const MAX_KEY_POINTS: usize = 12;

/// Longest measure line, in characters.
const MEASURE_CHARS: usize = 90;

/// Most filter words in one `/subscribe`.
pub const MAX_FILTERS: usize = 6;

/// Longest topic keyword, in characters.
const MAX_KEYWORD_CHARS: usize = 12;

/// Distinct trigger words a document needs to be tagged with a topic (besides its best topic).
const TOPIC_MIN_TRIGGERS: usize = 3;

/// Words that make a measure worth announcing: what an enterprise gets.
const BENEFIT_WORDS: [&str; 22] = [
    "补贴", "奖励", "奖补", "补助", "减免", "免征", "减半", "贴息", "缓缴", "返还", "免收", "降低",
    "延期", "给予", "支持", "贷款", "担保", "扶持", "退还", "退税", "资金", "额度",
];

/// What subscribers are told about one added document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// Document id in the knowledge base (for the 要点 / 全文 buttons).
    pub doc_id: String,
    /// Title.
    pub title: String,
    /// 文号, if any.
    pub doc_number: Option<String>,
    /// Issuing body.
    pub issuer: Option<String>,
    /// Date printed in the document (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// Region path (`河南省/安阳市`).
    pub region: String,
    /// Labels of the policy topics the document is about.
    pub topics: Vec<String>,
    /// Its most important measures, in document order (at most [`ANNOUNCED_MEASURES`]).
    pub measures: Vec<String>,
    /// For a revised document (same 文号, new text): what changed. `None` for a new document
    /// (and in entries queued before revisions were announced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
}

/// What a revision changed: the clauses of the new text that the old one did not have, and
/// those it dropped (a reworded clause is both), one line each, in document order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// Digest of the new text: each text of a document is announced once.
    pub version: String,
    /// Clauses added, one line each.
    pub added: Vec<String>,
    /// Clauses removed, one line each.
    pub removed: Vec<String>,
}

impl Revision {
    /// What document `new_doc` of `new` changed against `old_doc` of `old` (header units, which
    /// hold the title and dates, left out). `None` when no clause was added or removed.
    #[must_use]
    pub fn between(old: &Corpus, old_doc: usize, new: &Corpus, new_doc: usize) -> Option<Self> {
        let units = |corpus: &Corpus, doc: usize| -> Vec<String> {
            corpus
                .clauses
                .iter()
                .filter(|c| c.doc == doc && c.kind != ClauseKind::Header)
                .map(|c| c.text.trim().to_string())
                .collect()
        };
        let key = |text: &str| -> String { text.chars().filter(|c| !c.is_whitespace()).collect() };
        let (before, after) = (units(old, old_doc), units(new, new_doc));
        let keys = |units: &[String]| -> std::collections::HashSet<String> {
            units.iter().map(|u| key(u)).collect()
        };
        let (had, has) = (keys(&before), keys(&after));
        let line = |u: &String| truncate(&u.replace('\n', " "), MEASURE_CHARS);
        let added: Vec<String> = after
            .iter()
            .filter(|u| !had.contains(&key(u)))
            .map(line)
            .collect();
        let removed: Vec<String> = before
            .iter()
            .filter(|u| !has.contains(&key(u)))
            .map(line)
            .collect();
        if added.is_empty() && removed.is_empty() {
            return None;
        }
        let version = crate::digest::sha256_hex(after.join("\n").as_bytes(), 12);
        Some(Revision {
            version,
            added,
            removed,
        })
    }
}

impl Announcement {
    /// The announcement of document `doc` of `corpus`; topics from `intents`.
    #[must_use]
    pub fn of(corpus: &Corpus, doc: usize, intents: &IntentSet) -> Option<Announcement> {
        let d = corpus.documents.get(doc)?;
        let clauses: Vec<&Clause> = corpus.clauses.iter().filter(|c| c.doc == doc).collect();
        let text: String = std::iter::once(d.title.as_str())
            .chain(clauses.iter().map(|c| c.text.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        Some(Announcement {
            doc_id: d.id.clone(),
            title: d.title.clone(),
            doc_number: d.doc_number.clone(),
            issuer: d.issuer.clone(),
            date: d.date.clone(),
            region: d.region.clone(),
            topics: topics(&text, intents),
            measures: top_measures(&clauses, ANNOUNCED_MEASURES),
            revision: None,
        })
    }

    /// The title as `broadcast status` lists it: `修订：` first for a revision.
    #[must_use]
    pub fn label(&self) -> String {
        match &self.revision {
            Some(_) => format!("修订：{}", self.title),
            None => self.title.clone(),
        }
    }

    /// What delivery is recorded under, once per subscriber: the document id for a new
    /// document, the id and the revision's version for a revision.
    #[must_use]
    pub fn key(&self) -> String {
        match &self.revision {
            Some(r) => format!("{}-r{}", self.doc_id, r.version),
            None => self.doc_id.clone(),
        }
    }
}

/// The key points of document `doc`: one line per measure, in document order (the
/// highest-scoring [`MAX_KEY_POINTS`] when there are more).
#[must_use]
pub fn key_points(corpus: &Corpus, doc: usize) -> Vec<String> {
    let clauses: Vec<&Clause> = corpus.clauses.iter().filter(|c| c.doc == doc).collect();
    top_measures(&clauses, MAX_KEY_POINTS)
}

/// Labels of the topics `text` is about: the best topic, plus every topic with at least
/// [`TOPIC_MIN_TRIGGERS`] distinct trigger words in the text.
fn topics(text: &str, intents: &IntentSet) -> Vec<String> {
    let text = normalize(text);
    let best = intents.best_topic(&text).map(|m| m.index);
    intents
        .intents()
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind == IntentKind::Topic)
        .filter(|(n, i)| {
            Some(*n) == best
                || i.triggers
                    .iter()
                    .filter(|t| text.contains(t.as_str()))
                    .count()
                    >= TOPIC_MIN_TRIGGERS
        })
        .map(|(_, i)| i.label.clone())
        .collect()
}

/// Up to `n` measures by importance, returned in document order as one line each.
fn top_measures(clauses: &[&Clause], n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, f32, String)> = clauses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind != ClauseKind::Header)
        .filter_map(|(i, c)| {
            let line = measure_line(c)?;
            Some((i, importance(c), line))
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
fn importance(c: &Clause) -> f32 {
    let text = &c.text;
    let mut score = match c.kind {
        ClauseKind::Measure | ClauseKind::Article => 2.0,
        ClauseKind::Faq | ClauseKind::TableRow => 1.0,
        ClauseKind::Paragraph | ClauseKind::Header => 0.0,
    };
    if has_amount(text, BENEFIT_UNITS) {
        score += 2.0;
    }
    let benefits = BENEFIT_WORDS.iter().filter(|w| text.contains(*w)).count();
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

/// What a subscriber wants to hear about: topic keywords and regions. Empty = everything.
/// A document matches when it matches any keyword (or there are none) and lies in, above or
/// below any of the regions (or there are none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Topic keywords (`融资`, `算力`), normalised.
    pub topics: Vec<String>,
    /// Region paths (`河南省/安阳市`).
    pub regions: Vec<String>,
}

/// Why `/subscribe` arguments were not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// More than [`MAX_FILTERS`] words.
    #[error("too many filter words")]
    TooMany,
    /// A word too long to be a topic keyword.
    #[error("not a topic or place: {0}")]
    Unknown(String),
}

impl Filters {
    /// Parses `/subscribe` arguments: words separated by spaces or `，、,`; a word that names a
    /// place is a region, any other a topic keyword.
    ///
    /// # Errors
    /// Too many words, or a word too long to be a keyword.
    pub fn parse(args: &str, places: &Places) -> Result<Filters, FilterError> {
        let words: Vec<&str> = args
            .split(|c: char| c.is_whitespace() || matches!(c, '，' | '、' | ',' | '；' | ';'))
            .filter(|w| !w.is_empty())
            .collect();
        if words.len() > MAX_FILTERS {
            return Err(FilterError::TooMany);
        }
        let mut filters = Filters::default();
        for word in words {
            if let Some(path) = places.resolve(word) {
                push_unique(&mut filters.regions, path.to_string());
                continue;
            }
            let keyword = normalize(word);
            if keyword.chars().count() > MAX_KEYWORD_CHARS
                || !keyword.chars().any(char::is_alphanumeric)
            {
                return Err(FilterError::Unknown(word.to_string()));
            }
            push_unique(&mut filters.topics, keyword);
        }
        Ok(filters)
    }

    /// Whether `a` is for this subscriber.
    #[must_use]
    pub fn matches(&self, a: &Announcement) -> bool {
        let topic_ok = self.topics.is_empty() || {
            let about = normalize(
                &std::iter::once(a.title.as_str())
                    .chain(a.topics.iter().map(String::as_str))
                    .chain(a.measures.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            self.topics.iter().any(|k| about.contains(k.as_str()))
        };
        let region_ok = self.regions.is_empty()
            || self
                .regions
                .iter()
                .any(|r| relation(r, &a.region) != Relation::Other);
        topic_ok && region_ok
    }

    /// Whether there is no filter at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty() && self.regions.is_empty()
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// One subscriber (a group, or a user in a private chat).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Telegram chat id.
    pub chat: i64,
    /// What it wants to hear about.
    pub filters: Filters,
    /// When it subscribed (Unix seconds).
    pub since: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Document;

    fn clause(doc: usize, kind: ClauseKind, path: &[&str], text: &str) -> Clause {
        Clause {
            id: String::new(),
            doc,
            kind,
            path: path.iter().map(ToString::to_string).collect(),
            text: text.to_string(),
            departments: Vec::new(),
            deadline: None,
            sources: Vec::new(),
            lines: Vec::new(),
        }
    }

    fn announcement(region: &str, title: &str, topics: &[&str]) -> Announcement {
        Announcement {
            doc_id: "d1".into(),
            title: title.into(),
            doc_number: None,
            issuer: None,
            date: None,
            region: region.into(),
            topics: topics.iter().map(ToString::to_string).collect(),
            measures: vec!["对首次贷款给予贴息。".into()],
            revision: None,
        }
    }

    /// A revision lists the clauses the new text added and the old one had that it dropped (a
    /// reworded clause is both), ignores whitespace and the header, and has a version of its
    /// own per text; no clause change is no revision.
    #[test]
    fn revision_lists_added_and_removed_clauses() {
        let places = Places::default();
        let notice = "关于支持小微企业发展的若干措施\n安政〔2023〕7号\n\n一、减免房租。对承租国有房屋的小微企业免除三个月租金。\n二、贷款贴息。对新增贷款给予百分之五十贴息。\n\n安阳市人民政府\n2023年3月1日\n";
        let old = crate::corpus::parse_file("v1.txt", notice, &places);
        let changed = notice
            .replace("三个月", "六个月")
            .replace("二、贷款贴息", "二、贷款 贴息")
            .replace(
                "\n\n安阳市",
                "\n三、稳岗返还。对不裁员企业返还失业保险费。\n\n安阳市",
            );
        let new = crate::corpus::parse_file("v2.txt", &changed, &places);
        let r = Revision::between(&old, 0, &new, 0).expect("a revision");
        assert_eq!(
            r.added,
            [
                "一、减免房租。对承租国有房屋的小微企业免除六个月租金。",
                "三、稳岗返还。对不裁员企业返还失业保险费。"
            ]
        );
        assert_eq!(
            r.removed,
            ["一、减免房租。对承租国有房屋的小微企业免除三个月租金。"]
        );
        assert!(Revision::between(&old, 0, &old, 0).is_none());
        let again = Revision::between(&old, 0, &new, 0).expect("a revision");
        assert_eq!(again.version, r.version);
        let mut a = announcement("河南省/安阳市", "若干措施", &[]);
        assert_eq!(
            (a.key(), a.label()),
            ("d1".to_string(), "若干措施".to_string())
        );
        a.revision = Some(r);
        assert_eq!(a.key(), format!("d1-r{}", again.version));
        assert_eq!(a.label(), "修订：若干措施");
    }

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
        let top = top_measures(&refs, 3);
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

    #[test]
    fn announces_a_parsed_document() {
        let corpus = Corpus {
            documents: vec![Document {
                id: "dabc".into(),
                title: "关于发放算力券的通知".into(),
                doc_number: Some("豫工信〔2022〕9号".into()),
                issuer: Some("河南省工业和信息化厅".into()),
                date: Some("2022-05-01".into()),
                level: crate::corpus::Level::Province,
                region: "河南省".into(),
                sources: Vec::new(),
                draft: false,
                abridged: false,
                parent: None,
                validity: None,
            }],
            clauses: vec![clause(
                0,
                ClauseKind::Measure,
                &["一、算力券"],
                "对购买算力服务的中小企业给予30%补贴。",
            )],
            discards: Vec::new(),
        };
        let a = Announcement::of(&corpus, 0, &IntentSet::default()).expect("document 0");
        assert_eq!(a.doc_id, "dabc");
        assert_eq!(
            a.measures,
            vec!["算力券：对购买算力服务的中小企业给予30%补贴。"]
        );
        assert!(Announcement::of(&corpus, 1, &IntentSet::default()).is_none());
        assert_eq!(key_points(&corpus, 0), a.measures);
    }

    #[test]
    fn filters_by_keyword_and_region() {
        let places =
            Places::parse("安阳\t河南省/安阳市\n河南\t河南省\n临夏\t甘肃省/临夏回族自治州")
                .expect("valid places");
        let f = Filters::parse("融资 安阳", &places).expect("valid");
        assert_eq!(f.topics, vec!["融资"]);
        assert_eq!(f.regions, vec!["河南省/安阳市"]);
        let anyang = announcement("河南省/安阳市", "安阳市金融支持措施", &["融资贷款"]);
        let henan = announcement("河南省", "河南省融资担保办法", &[]);
        let linxia = announcement("甘肃省/临夏回族自治州", "临夏融资措施", &["融资贷款"]);
        let rent = announcement("河南省/安阳市", "安阳市房租减免", &["房租减免"]);
        assert!(f.matches(&anyang));
        assert!(
            f.matches(&henan),
            "a province's policy applies to its cities"
        );
        assert!(!f.matches(&linxia), "another region");
        assert!(!f.matches(&rent), "another topic");
        assert!(Filters::default().matches(&linxia));
        assert!(Filters::default().is_empty());
        assert_eq!(
            Filters::parse("a b c d e f g", &places),
            Err(FilterError::TooMany)
        );
        assert!(matches!(
            Filters::parse("这是一个非常非常长的不像关键词的句子", &places),
            Err(FilterError::Unknown(_))
        ));
        assert_eq!(
            Filters::parse("融资，融资、安阳", &places)
                .expect("valid")
                .topics,
            vec!["融资"]
        );
    }
}
