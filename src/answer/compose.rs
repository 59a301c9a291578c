//! `compose()`: turns a retrieval result (or a conversational intent) into an [`Answer`] with
//! cited clauses, a one-line lead and a short list of follow-ups. Pure and sync.

use std::borrow::Cow;

use crate::corpus::Corpus;
use crate::index::{Hit, Retrieval};
use crate::intents::{Intent, IntentMatch, IntentSet};
use crate::text::normalize::normalize;

use super::memo::{ClauseMemo, Prepared};
use super::{Answer, Cited, Followup, Status, excerpt, validity};

/// Most follow-ups offered by one answer.
pub const MAX_FOLLOWUPS: usize = 8;
/// Most 只看<地区> follow-ups.
const MAX_REGIONS: usize = 2;
/// Most related-question follow-ups on an answered question.
const MAX_ASKS: usize = 3;
/// Topic suggestions after a no-match.
const MAX_SUGGESTIONS: usize = 6;
/// Question characters quoted in the no-match lead.
const MAX_QUOTED_CHARS: usize = 40;
/// The human hand-off of a no-match answer.
const HAND_OFF: &str = "如需人工帮助，可拨打 12345 政务服务便民热线，或咨询相关主管部门。";

/// Everything `compose()` needs; borrowed, nothing is copied until the answer is built.
#[derive(Clone, Copy, Debug)]
pub struct ComposeInput<'a> {
    /// The effective question (after follow-up resolution).
    pub question: &'a str,
    /// Retrieval result for this page (ignored for conversational intents).
    pub retrieval: &'a Retrieval,
    /// The knowledge base the hits point into.
    pub corpus: &'a Corpus,
    /// What citing its clauses needs, kept from earlier answers.
    pub memo: &'a ClauseMemo,
    /// All intents (reply texts, topic follow-ups, no-match suggestions).
    pub intents: &'a IntentSet,
    /// `IntentSet::classify(question)`, if anything matched.
    pub intent: Option<&'a IntentMatch>,
    /// Grouped hits already shown for this question (paging); ranks start at `offset + 1`.
    pub offset: usize,
    /// True when results beyond this page exist (offers 更多结果).
    pub more: bool,
    /// Today's date, `YYYY-MM-DD`, for the expiry notes.
    pub today: &'a str,
    /// Extra region choices to offer as 只看<地区> (short names such as `安阳`), after those
    /// found among the hits.
    pub regions: &'a [String],
    /// The hits only touch the question (the answerability model said so): cite them under a
    /// hedge, without claiming they answer it.
    pub related: bool,
    /// The words a follow-up added to the last question ("申请条件"): excerpts favour the
    /// sentences that hold them; empty for a question of its own.
    pub focus: &'a str,
}

/// Composes the answer. Conversational intents (greeting, help, thanks, human) answer with
/// their reply and no retrieval; otherwise the hits are cited, or a no-match lead with topic
/// suggestions is given when retrieval declined or found nothing. Hits that point outside the
/// corpus are skipped, never a panic.
#[must_use]
pub fn compose(input: &ComposeInput<'_>) -> Answer {
    let intent = input
        .intent
        .and_then(|m| input.intents.intents().get(m.index));
    if let Some(i) = intent.filter(|i| i.kind.is_conversational()) {
        return Answer {
            question: input.question.to_string(),
            status: Status::Intent,
            intent: Some(i.name.clone()),
            region: input.retrieval.region.clone(),
            lead: i.reply.clone().unwrap_or_default(),
            hits: Vec::new(),
            followups: asks(i, input.question, MAX_FOLLOWUPS),
            continued: false,
        };
    }
    let hits: Vec<Cited> = if input.retrieval.declined {
        Vec::new()
    } else {
        input
            .retrieval
            .hits
            .iter()
            .filter_map(|h| cite(input, h))
            .enumerate()
            .map(|(n, mut c)| {
                c.rank = input.offset + n + 1;
                c
            })
            .collect()
    };
    if hits.is_empty() {
        return no_match(input, intent);
    }
    let lead = lead(input, hits.len());
    let followups = followups(input, intent, &hits);
    Answer {
        question: input.question.to_string(),
        status: if input.related {
            Status::Related
        } else {
            Status::Answered
        },
        intent: intent.map(|i| i.name.clone()),
        region: input.retrieval.region.clone(),
        lead,
        hits,
        followups,
        continued: false,
    }
}

/// Short display name of a region path: its last part without the administrative suffix:
/// `河南省/安阳市` → `安阳`, `河南省/济源示范区` → `济源`, `甘肃省/临夏回族自治州` → `临夏`,
/// `河南省` → `河南`, `全国` → `全国`. Accepts short names unchanged.
#[must_use]
pub fn short_region(region: &str) -> &str {
    let last = region.rsplit('/').next().unwrap_or(region).trim();
    for suffix in [
        "回族自治州",
        "自治州",
        "示范区",
        "省",
        "市",
        "县",
        "州",
        "区",
    ] {
        if let Some(stem) = last.strip_suffix(suffix)
            && stem.chars().count() >= 2
        {
            return stem;
        }
    }
    last
}

fn cite(input: &ComposeInput<'_>, hit: &Hit) -> Option<Cited> {
    let (mut cited, prepared) = cited(input.corpus, input.memo, hit.clause, input.today)?;
    cited.score = hit.score;
    let figure = input.retrieval.wants_figure;
    let focus: Vec<String> = match input.focus.is_empty() {
        true => Vec::new(),
        false => (hit.matched.iter())
            .filter(|t| input.focus.contains(t.as_str()))
            .cloned()
            .collect(),
    };
    cited.excerpt = excerpt::excerpt(&prepared.folded, &hit.matched, figure, &focus);
    Some(cited)
}

/// Clause number `clause` of `corpus` cited as rank `rank`, without a score or excerpt (no
/// question matched it): for showing again a clause an answer cited. `None` outside the corpus.
#[must_use]
pub fn cite_clause(
    corpus: &Corpus,
    memo: &ClauseMemo,
    clause: usize,
    rank: usize,
    today: &str,
) -> Option<Cited> {
    let (cited, _) = cited(corpus, memo, clause, today)?;
    Some(Cited { rank, ..cited })
}

/// Clause number `clause` cited (rank 0, no score or excerpt), with its prepared part.
fn cited<'m>(
    corpus: &Corpus,
    memo: &'m ClauseMemo,
    index: usize,
    today: &str,
) -> Option<(Cited, Cow<'m, Prepared>)> {
    let clause = corpus.clauses.get(index)?;
    let doc = corpus.documents.get(clause.doc)?;
    let prepared = memo.get(index, clause);
    let cited = Cited {
        rank: 0,
        score: 0.0,
        clause_id: clause.id.clone(),
        doc_title: doc.title.clone(),
        doc_number: doc.doc_number.clone(),
        issuer: doc.issuer.clone(),
        date: doc.date.clone(),
        level: doc.level,
        region: doc.region.clone(),
        section: clause.path.join(" › "),
        text: clause.text.clone(),
        excerpt: Vec::new(),
        departments: clause.departments.clone(),
        sources: clause.sources.clone(),
        validity: validity::note(corpus, doc, clause, &prepared.dates, today),
    };
    Some((cited, prepared))
}

fn lead(input: &ComposeInput<'_>, n: usize) -> String {
    let scope = match input.retrieval.region.as_deref() {
        Some(r) => format!(
            "（优先显示{}及上级政策）",
            r.rsplit('/').next().unwrap_or(r)
        ),
        None => String::new(),
    };
    let read_as: String = input
        .retrieval
        .corrections
        .iter()
        .map(|c| format!("（“{}”按“{}”理解）", c.typed, c.read_as))
        .collect();
    if input.related && input.offset == 0 {
        format!(
            "{read_as}没有找到直接规定，以下 {n} 条条款可能相关{scope}，仅供参考，具体请向责任部门或 12345 热线核实："
        )
    } else if input.offset == 0 {
        format!("{read_as}找到 {n} 条相关条款{scope}：")
    } else {
        format!(
            "以下是第 {}–{} 条相关条款{scope}：",
            input.offset + 1,
            input.offset + n
        )
    }
}

fn no_match(input: &ComposeInput<'_>, intent: Option<&Intent>) -> Answer {
    let topics = input.intents.topics();
    let names: Vec<&str> = topics.iter().map(|t| t.label.as_str()).collect();
    let lead = if input.offset > 0 {
        "没有更多相关条款了。".to_string()
    } else {
        let quoted: String = input
            .question
            .trim()
            .chars()
            .take(MAX_QUOTED_CHARS)
            .collect();
        let ellipsis = if input.question.trim().chars().count() > MAX_QUOTED_CHARS {
            "…"
        } else {
            ""
        };
        let mut lead = format!("抱歉，政策汇编中没有找到与“{quoted}{ellipsis}”直接相关的条款。");
        if !names.is_empty() {
            lead.push_str(&format!(
                "您可以换个说法，或按主题提问：{}。",
                names.join("、")
            ));
        }
        lead.push_str(HAND_OFF);
        lead
    };
    // The question's own topic first (its related questions may still be answerable), then
    // example questions of the other topics.
    let mut followups = intent
        .map(|i| asks(i, input.question, MAX_ASKS))
        .unwrap_or_default();
    for t in topics {
        if followups.len() >= MAX_SUGGESTIONS {
            break;
        }
        if intent.is_some_and(|i| i.name == t.name) {
            continue;
        }
        if let Some(example) = &t.example {
            followups.push(Followup::Ask {
                label: t.label.clone(),
                question: example.clone(),
            });
        }
    }
    Answer {
        question: input.question.to_string(),
        status: Status::NoMatch,
        intent: intent.map(|i| i.name.clone()),
        region: input.retrieval.region.clone(),
        lead,
        hits: Vec::new(),
        followups,
        continued: false,
    }
}

fn followups(input: &ComposeInput<'_>, intent: Option<&Intent>, hits: &[Cited]) -> Vec<Followup> {
    let mut out = Vec::new();
    if input.more {
        out.push(Followup::More);
    }
    out.extend(hits.iter().map(|c| Followup::FullText {
        rank: c.rank,
        clause_id: c.clause_id.clone(),
    }));
    let current = input.retrieval.region.as_deref().map(short_region);
    // Choices the caller asked for first, then regions of the cited documents.
    let mut regions: Vec<&str> = Vec::new();
    for r in input
        .regions
        .iter()
        .map(|r| short_region(r))
        .chain(hits.iter().map(|c| short_region(&c.region)))
    {
        if r != "全国" && Some(r) != current && !regions.contains(&r) {
            regions.push(r);
        }
    }
    let topic = intent
        .filter(|i| !i.kind.is_conversational())
        .or_else(|| inferred_topic(input, &input.retrieval.hits));
    let asks = topic
        .map(|t| asks(t, input.question, MAX_ASKS))
        .unwrap_or_default();
    // Region choices never crowd out the related questions: keep room for at least one.
    let room = MAX_FOLLOWUPS.saturating_sub(out.len() + usize::from(!asks.is_empty()));
    out.extend(
        regions
            .into_iter()
            .take(room.min(MAX_REGIONS))
            .map(|r| Followup::Region {
                region: r.to_string(),
            }),
    );
    let room = MAX_FOLLOWUPS.saturating_sub(out.len());
    out.extend(asks.into_iter().take(room));
    out.truncate(MAX_FOLLOWUPS);
    out
}

/// The topic suggested by the cited clauses' own words (their documents' titles and openings),
/// when the question named none.
fn inferred_topic<'a>(input: &ComposeInput<'a>, hits: &[Hit]) -> Option<&'a Intent> {
    let mut sample = String::new();
    for h in hits {
        if let Some(clause) = input.corpus.clauses.get(h.clause)
            && let Some(doc) = input.corpus.documents.get(clause.doc)
        {
            sample.push_str(input.memo.get(h.clause, clause).topic_sample(clause, doc));
        }
    }
    let m = input.intents.best_topic_normalized(&sample)?;
    input.intents.intents().get(m.index)
}

/// Related questions of `intent` other than the one just asked.
fn asks(intent: &Intent, question: &str, max: usize) -> Vec<Followup> {
    let asked = normalize(question.trim());
    intent
        .followups
        .iter()
        .filter(|q| normalize(q.question.trim()) != asked)
        .take(max)
        .map(|q| Followup::Ask {
            label: q.label.clone(),
            question: q.question.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::corpus::{Clause, ClauseKind, Department, Document, Level, SourceRef};

    fn doc(id: &str, title: &str, date: Option<&str>, level: Level, region: &str) -> Document {
        Document {
            id: id.into(),
            title: title.into(),
            doc_number: Some(format!("{id}〔2022〕1号")),
            issuer: Some("某某人民政府".into()),
            date: date.map(Into::into),
            level,
            region: region.into(),
            sources: vec![SourceRef {
                file: "test.txt".into(),
                line: 1,
            }],
            draft: false,
            abridged: false,
            parent: None,
            validity: None,
        }
    }

    fn clause(id: &str, doc: usize, path: &[&str], text: &str, line: usize) -> Clause {
        Clause {
            id: id.into(),
            doc,
            kind: ClauseKind::Measure,
            path: path.iter().map(ToString::to_string).collect(),
            text: text.into(),
            departments: vec![Department {
                role: "责任单位".into(),
                name: "市财政局".into(),
            }],
            deadline: None,
            sources: vec![SourceRef {
                file: "test.txt".into(),
                line,
            }],
            lines: vec![line],
        }
    }

    /// Three documents: a national notice, an 安阳 city plan and a 新乡 draft.
    fn corpus() -> Corpus {
        let mut draft = doc(
            "新金",
            "新乡市稳企助企措施（征求意见稿）",
            Some("2022-06-01"),
            Level::City,
            "河南省/新乡市",
        );
        draft.draft = true;
        Corpus {
            documents: vec![
                doc(
                    "国发",
                    "扎实稳住经济的一揽子政策措施",
                    Some("2022-05-31"),
                    Level::National,
                    "全国",
                ),
                doc(
                    "安政",
                    "安阳市稳经济实施方案",
                    Some("2022-06-10"),
                    Level::City,
                    "河南省/安阳市",
                ),
                draft,
            ],
            clauses: vec![
                clause(
                    "国发/一/6",
                    0,
                    &["一、财政政策", "6. 扩大实施社保费缓缴政策"],
                    "6. 扩大实施社保费缓缴政策。对受疫情影响生产经营出现暂时困难的所有中小微企业、以单位方式参保的个体工商户，阶段性缓缴三项社会保险单位缴费部分，缓缴期限阶段性实施到今年底。",
                    140,
                ),
                clause(
                    "安政/二/25",
                    1,
                    &["二、减轻市场主体负担", "25. 减免房屋租金"],
                    "25. 减免房屋租金。2022年对服务业小微企业和个体工商户承租国有房屋减免3—6个月租金。出租人减免租金的可按规定减免当年房产税。",
                    820,
                ),
                clause(
                    "新金/三/1",
                    2,
                    &["三、社保支持"],
                    "对困难企业缓缴社会保险费，具体办法另行制定。",
                    3000,
                ),
            ],
            discards: Vec::new(),
        }
    }

    /// The test corpora are small: their clauses are prepared anew each time.
    static NO_MEMO: ClauseMemo = ClauseMemo::EMPTY;

    fn intents() -> IntentSet {
        IntentSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("intents")).unwrap()
    }

    fn hit(clause: usize, matched: &[&str]) -> Hit {
        Hit {
            clause,
            score: 1.5,
            matched: matched.iter().map(ToString::to_string).collect(),
        }
    }

    fn input<'a>(
        question: &'a str,
        retrieval: &'a Retrieval,
        corpus: &'a Corpus,
        intents: &'a IntentSet,
        intent: Option<&'a IntentMatch>,
    ) -> ComposeInput<'a> {
        ComposeInput {
            question,
            retrieval,
            corpus,
            memo: &NO_MEMO,
            intents,
            intent,
            offset: 0,
            more: true,
            today: "2025-01-15",
            regions: &[],
            related: false,
            focus: "",
        }
    }

    #[test]
    fn answered_golden() {
        let (corpus, intents) = (corpus(), intents());
        let question = "社保可以缓缴吗";
        let m = intents.classify(question);
        let retrieval = Retrieval {
            hits: vec![hit(0, &["社保", "缓缴"]), hit(2, &["缓缴"])],
            terms: vec!["社保".into(), "缓缴".into()],
            coverage: 1.0,
            region: Some("河南省/安阳市".into()),
            declined: false,
            ..Retrieval::default()
        };
        let a = compose(&input(question, &retrieval, &corpus, &intents, m.as_ref()));
        assert_eq!(a.status, Status::Answered);
        assert_eq!(a.intent.as_deref(), Some("社保缓缴"));
        assert_eq!(a.lead, "找到 2 条相关条款（优先显示安阳市及上级政策）：");
        let first = &a.hits[0];
        assert_eq!((first.rank, first.clause_id.as_str()), (1, "国发/一/6"));
        assert_eq!(first.section, "一、财政政策 › 6. 扩大实施社保费缓缴政策");
        assert_eq!(first.doc_number.as_deref(), Some("国发〔2022〕1号"));
        assert_eq!(
            first.validity.as_deref(),
            Some(
                "该政策发布于2022年5月，相关措施多有执行期限（如“今年底”），可能已到期，请向责任部门确认最新规定"
            )
        );
        assert!(first.excerpt.iter().any(|s| s.hit && s.text == "缓缴"));
        let draft = &a.hits[1];
        assert_eq!(draft.rank, 2);
        assert!(
            draft
                .validity
                .as_deref()
                .unwrap()
                .starts_with("征求意见稿，非正式生效文件；")
        );
        let labels: Vec<String> = a.followups.iter().map(Followup::label).collect();
        assert_eq!(labels[..4], ["更多结果", "全文 1", "全文 2", "只看新乡"]);
        assert!(labels.len() <= MAX_FOLLOWUPS);
        // Related questions of the matched topic follow, never the question just asked.
        assert!(matches!(a.followups[4], Followup::Ask { .. }));
        assert!(!a.followups.iter().any(
            |f| matches!(f, Followup::Region { region } if region == "全国" || region == "安阳")
        ));
    }

    #[test]
    fn paging_ranks_and_lead() {
        let (corpus, intents) = (corpus(), intents());
        let retrieval = Retrieval {
            hits: vec![hit(1, &["租金"])],
            ..Retrieval::default()
        };
        let mut inp = input("房租能减免吗", &retrieval, &corpus, &intents, None);
        inp.offset = 3;
        inp.more = false;
        let a = compose(&inp);
        assert_eq!(a.lead, "以下是第 4–4 条相关条款：");
        assert_eq!(a.hits[0].rank, 4);
        assert_eq!(
            a.followups[0],
            Followup::FullText {
                rank: 4,
                clause_id: "安政/二/25".into()
            }
        );
        // No topic in the question: related questions come from the topic of the cited text.
        assert!(
            a.followups
                .iter()
                .any(|f| matches!(f, Followup::Ask { label, .. } if label.contains("租"))),
            "help: {:?}",
            a.followups
        );
        // Not expired yet when "today" is still within the years the clause names.
        inp.today = "2022-07-01";
        assert_eq!(compose(&inp).hits[0].validity, None);
    }

    #[test]
    fn no_match_has_no_hits_and_suggests_topics() {
        let (corpus, intents) = (corpus(), intents());
        let retrieval = Retrieval {
            hits: vec![hit(0, &["天气"])],
            declined: true,
            ..Retrieval::default()
        };
        let a = compose(&input(
            "明天天气怎么样",
            &retrieval,
            &corpus,
            &intents,
            None,
        ));
        assert_eq!(a.status, Status::NoMatch);
        assert!(a.hits.is_empty());
        assert!(
            a.lead
                .starts_with("抱歉，政策汇编中没有找到与“明天天气怎么样”直接相关的条款。"),
            "help: {}",
            a.lead
        );
        assert!(a.lead.contains("融资贷款"));
        assert!(
            !a.followups.is_empty()
                && a.followups
                    .iter()
                    .all(|f| matches!(f, Followup::Ask { .. }))
        );
        assert!(a.followups.len() <= MAX_FOLLOWUPS);
    }

    #[test]
    fn conversational_intent_answers_without_hits() {
        let (corpus, intents) = (corpus(), intents());
        let retrieval = Retrieval {
            hits: vec![hit(0, &["你好"])],
            ..Retrieval::default()
        };
        let m = intents.classify("你好！");
        let a = compose(&input("你好！", &retrieval, &corpus, &intents, m.as_ref()));
        assert_eq!(a.status, Status::Intent);
        assert_eq!(a.intent.as_deref(), Some("greeting"));
        assert!(a.hits.is_empty());
        assert_eq!(
            Some(&a.lead),
            intents.get("greeting").unwrap().reply.as_ref()
        );
    }

    #[test]
    fn out_of_range_hits_are_skipped() {
        let (corpus, intents) = (corpus(), intents());
        let retrieval = Retrieval {
            hits: vec![hit(99, &[]), hit(1, &["租金"])],
            ..Retrieval::default()
        };
        let a = compose(&input("租金", &retrieval, &corpus, &intents, None));
        assert_eq!(a.hits.len(), 1);
        assert_eq!(a.hits[0].rank, 1);
    }

    #[test]
    fn regions_shorten() {
        let cases = [
            ("河南省/安阳市", "安阳"),
            ("河南省/新乡市/获嘉县", "获嘉"),
            ("河南省/济源示范区", "济源"),
            ("甘肃省/临夏回族自治州", "临夏"),
            ("河南省", "河南"),
            ("全国", "全国"),
            ("安阳", "安阳"),
        ];
        for (path, short) in cases {
            assert_eq!(short_region(path), short, "help: {path}");
        }
    }
}
