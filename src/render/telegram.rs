//! Telegram presenter: `Answer` → HTML message text (escaped, hits in `<b>`, within Telegram's
//! 4096-character limit), the inline keyboard of follow-ups (its callback data is the
//! [`Callback`] protocol of `telegram::callback`), the inline-mode results of an answer, the
//! announcement of a newly added or revised policy, and the splitting of a clause's full text
//! into several messages. Pure: sends nothing.

use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResult, InlineQueryResultArticle,
    InlineQueryResultsButton, InlineQueryResultsButtonKind, InputMessageContent,
    InputMessageContentText, ParseMode,
};

use crate::answer::{Answer, Cited, Followup, FullText, Status};
use crate::app::Action;
use crate::broadcast::Announcement;
use crate::telegram::callback::Callback;
use crate::text::chars::truncate;

/// Telegram's limit for one message text.
pub const MAX_MESSAGE: usize = 4096;

/// Longest button label, in characters (longer labels are shortened with `…`).
const MAX_LABEL: usize = 24;

/// Room kept free in each full-text message for the `（2/3）` page marker.
const PAGE_MARKER_ROOM: usize = 16;

/// Escapes text for Telegram's HTML parse mode.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Length as Telegram counts it (UTF-16 code units). Measured on the HTML source, which is never
/// shorter than the text after entity parsing, so a source within the limit is always accepted.
#[must_use]
pub fn tg_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The HTML text of an answer, at most [`MAX_MESSAGE`] long. `header` (raw text, e.g. where a
/// forwarded question came from) is shown first, in italics. Excerpts are shortened first, then
/// trailing citations dropped, then the lead shortened, until the text fits.
#[must_use]
pub fn answer(answer: &Answer, header: Option<&str>) -> String {
    let header = header.map(|h| format!("<i>{}</i>\n\n", escape(&truncate(h, 300))));
    let header = header.unwrap_or_default();
    let longest = answer.hits.iter().map(excerpt_chars).max().unwrap_or(0);
    let mut cap = Some(longest);
    let mut hits = answer.hits.len();
    let mut lead_cap = answer.lead.chars().count();
    loop {
        let text = assemble(answer, &header, cap, hits, lead_cap);
        if tg_len(&text) <= MAX_MESSAGE {
            return text;
        }
        // Shrink the most expendable part first: excerpts, then citations, then the lead.
        match cap {
            Some(c) if c > 20 => cap = Some(c * 3 / 4),
            Some(_) => cap = None,
            None if hits > 0 => hits -= 1,
            None => lead_cap = lead_cap * 3 / 4,
        }
    }
}

/// The inline keyboard of an answer: one button per follow-up, 全文 buttons side by side, with
/// `ticket` (the reply to a forwarded question) a 📋 工单格式 button when clauses are cited, and a
/// 👍/👎 row under answered questions. Every button carries `answer_id`, so presses on an older
/// answer are recognised. `None` when there is no button.
#[must_use]
pub fn keyboard(answer: &Answer, answer_id: u64, ticket: bool) -> Option<InlineKeyboardMarkup> {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    let mut full_texts = Vec::new();
    for (i, followup) in answer.followups.iter().enumerate() {
        let (n, kind) = (i + 1, followup.kind());
        let callback = Callback::Press(Action::Followup { answer_id, n, kind });
        let button = button(&followup.label(), &callback);
        match followup {
            Followup::FullText { .. } => full_texts.push(button),
            _ => rows.push(vec![button]),
        }
    }
    // 全文 buttons first, up to four per row.
    let full_rows: Vec<Vec<InlineKeyboardButton>> =
        full_texts.chunks(4).map(<[_]>::to_vec).collect();
    rows.splice(0..0, full_rows);
    let cited = matches!(answer.status, Status::Answered | Status::Related);
    if ticket && cited {
        let callback = Callback::Press(Action::Ticket { answer_id });
        rows.push(vec![button(TICKET_LABEL, &callback)]);
    }
    if cited {
        let rate = |useful| Callback::Press(Action::Rate { answer_id, useful });
        rows.push(vec![
            button("👍 有用", &rate(true)),
            button("👎 没用", &rate(false)),
        ]);
    }
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// The button under a forwarded question's reply that sends the answer as a ticket.
pub const TICKET_LABEL: &str = "📋 工单格式";

/// Telegram's limit for the results of one inline query.
pub const MAX_INLINE_RESULTS: usize = 50;

/// Telegram's limit for an inline result id, in bytes.
pub const MAX_RESULT_ID: usize = 64;

/// Longest inline result title and description, in characters (Telegram shows two lines).
const MAX_INLINE_TITLE: usize = 60;
const MAX_INLINE_DESCRIPTION: usize = 120;

/// The `/start` parameter of the button shown over an empty inline query (opens the private
/// chat, where /region and full conversations live).
pub const INLINE_START: &str = "inline";

/// Label of that button.
const INLINE_HINT: &str = "输入问题查政策，例如：房租减免（点此私聊）";

/// The inline-mode results of an answer (`@bot 问题` in any chat): one article per cited clause
/// (title: the policy title; description: 文号 and excerpt), each sending [`inline_message`] into
/// the chat; an answer without citations (no match, invalid question, conversational intent) is
/// one article saying so. At most [`MAX_INLINE_RESULTS`]; ids are unique and at most
/// [`MAX_RESULT_ID`] bytes.
#[must_use]
pub fn inline_results(answer: &Answer) -> Vec<InlineQueryResult> {
    if answer.hits.is_empty() {
        let title = match answer.status {
            Status::Invalid => "无法查询",
            Status::Intent => "提示",
            _ => "没有找到相关条款",
        };
        let lead = answer.lead.trim();
        let content = text_content(escape(&truncate(lead, MAX_MESSAGE / 2)));
        let article = InlineQueryResultArticle::new("none", title, content)
            .description(truncate(lead, MAX_INLINE_DESCRIPTION));
        return vec![InlineQueryResult::Article(article)];
    }
    let related = answer.status == Status::Related;
    answer
        .hits
        .iter()
        .take(MAX_INLINE_RESULTS)
        .map(|c| {
            // Rank keeps ids unique; the digest names the clause whatever its id's length.
            let id = format!(
                "{}-{}",
                c.rank,
                crate::digest::sha256_hex(c.clause_id.as_bytes(), 32)
            );
            let mut description = Vec::new();
            if related {
                description.push("可能相关".to_string());
            }
            description.extend(c.doc_number.clone());
            description.push(c.excerpt_text());
            let content = text_content(inline_message(&answer.question, c, related));
            let article = InlineQueryResultArticle::new(
                id,
                truncate(&c.doc_title, MAX_INLINE_TITLE),
                content,
            )
            .description(truncate(&description.join("｜"), MAX_INLINE_DESCRIPTION));
            InlineQueryResult::Article(article)
        })
        .collect()
}

/// The button shown over the (empty) results of an empty inline query: how to ask, and a way
/// into the private chat.
#[must_use]
pub fn inline_hint() -> InlineQueryResultsButton {
    InlineQueryResultsButton {
        text: INLINE_HINT.to_string(),
        kind: InlineQueryResultsButtonKind::StartParameter(INLINE_START.to_string()),
    }
}

fn text_content(html: String) -> InputMessageContent {
    InputMessageContent::Text(InputMessageContentText::new(html).parse_mode(ParseMode::Html))
}

/// The message an inline result sends: the question, the policy (title, 文号, issuer, date), the
/// section, the clause (cut at a sentence when it does not fit, marked `…`), responsible units,
/// validity note and source (file and line); HTML within [`MAX_MESSAGE`].
#[must_use]
pub fn inline_message(question: &str, c: &Cited, related: bool) -> String {
    let mut head = format!(
        "<b>问：</b>{}
",
        escape(&truncate(question, 300))
    );
    if related {
        head.push_str(
            "<i>没有找到直接规定，以下条款可能相关</i>
",
        );
    }
    head.push_str(&format!(
        "<b>《{}》</b>",
        escape(&truncate(&c.doc_title, 300))
    ));
    let meta: Vec<&str> = [
        c.doc_number.as_deref(),
        c.issuer.as_deref(),
        c.date.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    if !meta.is_empty() {
        head.push('\n');
        head.push_str(&escape(&truncate(&meta.join("｜"), 300)));
    }
    if !c.section.is_empty() {
        head.push('\n');
        head.push_str(&escape(&truncate(&c.section, 300)));
    }
    head.push('\n');
    let mut tail = String::new();
    if let Some(d) = c.departments_line() {
        tail.push('\n');
        tail.push_str(&escape(&truncate(&d, 500)));
    }
    if let Some(v) = c.validity.as_deref().filter(|v| !v.is_empty()) {
        tail.push_str(&format!("\n<i>{}</i>", escape(&truncate(v, 300))));
    }
    if !c.sources.is_empty() {
        tail.push_str(&format!(
            "\n来源：{}",
            escape(&truncate(&c.sources_line(), 500))
        ));
    }
    let budget = MAX_MESSAGE.saturating_sub(tg_len(&head) + tg_len(&tail));
    let text = c.text.trim();
    let body = match tg_len(&escape(text)) <= budget {
        true => escape(text),
        false => {
            let first = split_text(text, budget.saturating_sub(1))
                .into_iter()
                .next();
            format!("{}…", escape(first.unwrap_or_default().trim_end()))
        }
    };
    format!("{head}{body}{tail}")
}

/// A keyboard of one button per row, e.g. /start's example questions or /topics.
#[must_use]
pub fn list_keyboard(buttons: &[(String, Callback)]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(buttons.iter().map(|(label, cb)| vec![button(label, cb)]))
}

/// Clauses listed per kind (added, removed) in a revision's announcement.
const REVISION_LINES: usize = 5;

/// The announcement of a newly added policy: a bold headline with the title, the 文号, issuer,
/// date and region lines, and its key measures; of a revised one (修订), the clauses added and
/// removed instead of the measures. Within [`MAX_MESSAGE`] (measures and title are shortened
/// when needed).
#[must_use]
pub fn announcement(a: &Announcement) -> String {
    let mut measure_cap = 200;
    loop {
        let text = announcement_text(a, measure_cap);
        if tg_len(&text) <= MAX_MESSAGE || measure_cap == 0 {
            return text;
        }
        measure_cap /= 2;
    }
}

fn announcement_text(a: &Announcement, measure_cap: usize) -> String {
    let kind = match a.revision {
        Some(_) => "政策修订",
        None => "新政策",
    };
    let mut out = format!("📢 <b>{kind}：{}</b>\n", escape(&truncate(&a.title, 300)));
    let facts = [
        ("文号", a.doc_number.as_deref()),
        ("发文", a.issuer.as_deref()),
        ("日期", a.date.as_deref()),
        ("地区", Some(crate::answer::short_region(&a.region))),
    ];
    for (label, value) in facts {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push_str(&format!("{label}：{}\n", escape(&truncate(v, 200))));
        }
    }
    if let Some(r) = &a.revision {
        for (heading, lines) in [("新增条款", &r.added), ("删除条款", &r.removed)] {
            if lines.is_empty() || measure_cap == 0 {
                continue;
            }
            out.push_str(&format!("\n<b>{heading}（{} 条）</b>\n", lines.len()));
            for (i, line) in lines.iter().take(REVISION_LINES).enumerate() {
                out.push_str(&format!(
                    "{}. {}\n",
                    i + 1,
                    escape(&truncate(line, measure_cap))
                ));
            }
            if lines.len() > REVISION_LINES {
                out.push_str("……\n");
            }
        }
    } else if !a.measures.is_empty() && measure_cap > 0 {
        out.push_str("\n<b>主要措施</b>\n");
        for (i, m) in a.measures.iter().enumerate() {
            out.push_str(&format!(
                "{}. {}\n",
                i + 1,
                escape(&truncate(m, measure_cap))
            ));
        }
    }
    out.push_str("\n<i>点按下方按钮查看要点或全文；发送 /unsubscribe 取消订阅。</i>");
    out
}

/// The buttons under an announcement: 要点 and 全文 of its document.
#[must_use]
pub fn announcement_keyboard(doc_id: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([vec![
        button("📋 要点", &Callback::DocPoints(doc_id.to_string())),
        button("📄 全文", &Callback::DocText(doc_id.to_string())),
    ]])
}

/// The full text of a clause as messages of at most [`MAX_MESSAGE`]: citation in bold first, the
/// text split on paragraph, then sentence, then clause boundaries (a hard cut only for a clause
/// longer than a whole message), and `（i/n）` markers when there is more than one.
#[must_use]
pub fn full_text(full: &FullText) -> Vec<String> {
    let header = format!("<b>{}</b>\n\n", escape(&truncate(&full.citation, 300)));
    let budget = MAX_MESSAGE - tg_len(&header) - PAGE_MARKER_ROOM;
    let chunks = split_text(&full.text, budget);
    if chunks.is_empty() {
        return vec![header.trim_end().to_string()];
    }
    let total = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let body = escape(chunk.trim_matches('\n'));
            let head = if i == 0 { header.as_str() } else { "" };
            match total {
                1 => format!("{head}{body}"),
                _ => format!("{head}{body}\n（{}/{total}）", i + 1),
            }
        })
        .collect()
}

/// Splits `text` into pieces whose escaped length is at most `budget`, preferring paragraph
/// breaks, then sentence ends, then clause marks. The pieces concatenate to `text`; blank pieces
/// are dropped.
#[must_use]
pub fn split_text(text: &str, budget: usize) -> Vec<String> {
    let budget = budget.max(8);
    let mut units = Vec::new();
    cut(text, 0, budget, &mut units);
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for unit in units {
        let len = tg_len(&escape(unit));
        if current_len + len > budget && !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
            current_len = 0;
        }
        current.push_str(unit);
        current_len += len;
    }
    chunks.push(current);
    chunks.retain(|c| !c.trim().is_empty());
    chunks
}

/// Boundary classes, strongest first: paragraph, sentence, clause.
const BOUNDARIES: [&[char]; 3] = [
    &['\n'],
    &['。', '！', '？', '；', '!', '?', ';'],
    &['，', '、', '：', ',', ':'],
];

/// Cuts `text` into units that each fit `budget`, using boundary class `level` and weaker ones.
fn cut<'a>(text: &'a str, level: usize, budget: usize, out: &mut Vec<&'a str>) {
    if tg_len(&escape(text)) <= budget {
        out.push(text);
        return;
    }
    let Some(marks) = BOUNDARIES.get(level) else {
        hard_cut(text, budget, out);
        return;
    };
    for piece in text.split_inclusive(*marks) {
        if tg_len(&escape(piece)) <= budget {
            out.push(piece);
        } else {
            cut(piece, level + 1, budget, out);
        }
    }
}

/// Cuts at character boundaries when no punctuation helps.
fn hard_cut<'a>(text: &'a str, budget: usize, out: &mut Vec<&'a str>) {
    let mut start = 0;
    let mut len = 0;
    for (i, c) in text.char_indices() {
        let w = tg_len(&escape(c.encode_utf8(&mut [0; 4])));
        if len + w > budget {
            out.push(&text[start..i]);
            start = i;
            len = 0;
        }
        len += w;
    }
    out.push(&text[start..]);
}

fn assemble(
    answer: &Answer,
    header: &str,
    cap: Option<usize>,
    hits: usize,
    lead_cap: usize,
) -> String {
    let mut text = header.to_string();
    text.push_str(&escape(&truncate(answer.lead.trim(), lead_cap)));
    for cited in answer.hits.iter().take(hits) {
        text.push_str("\n\n");
        text.push_str(&cited_block(cited, cap));
    }
    text
}

fn cited_block(cited: &Cited, cap: Option<usize>) -> String {
    let mut out = format!("<b>{}. {}</b>", cited.rank, escape(&cited.doc_title));
    let meta: Vec<&str> = [
        cited.doc_number.as_deref(),
        cited.issuer.as_deref(),
        cited.date.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    if !meta.is_empty() {
        out.push('\n');
        out.push_str(&escape(&meta.join("｜")));
    }
    if !cited.section.is_empty() {
        out.push('\n');
        out.push_str(&escape(&cited.section));
    }
    if let Some(cap) = cap {
        let excerpt = excerpt_html(cited, cap);
        if !excerpt.is_empty() {
            out.push('\n');
            out.push_str(&excerpt);
        }
    }
    if !cited.departments.is_empty() {
        let names: Vec<&str> = cited.departments.iter().map(|d| d.name.as_str()).collect();
        out.push('\n');
        out.push_str(&escape(&format!("责任单位：{}", names.join("、"))));
    }
    if let Some(validity) = cited.validity.as_deref().filter(|v| !v.is_empty()) {
        out.push_str(&format!("\n<i>{}</i>", escape(validity)));
    }
    out
}

/// Excerpt with hit spans in `<b>`, cut after `cap` characters (never inside a tag or entity:
/// text is cut before escaping).
fn excerpt_html(cited: &Cited, cap: usize) -> String {
    let mut out = String::new();
    let mut left = cap;
    let total = excerpt_chars(cited);
    for span in &cited.excerpt {
        if left == 0 {
            break;
        }
        let piece: String = span.text.chars().take(left).collect();
        left -= piece.chars().count();
        if piece.is_empty() {
            continue;
        }
        match span.hit {
            true => out.push_str(&format!("<b>{}</b>", escape(&piece))),
            false => out.push_str(&escape(&piece)),
        }
    }
    if cap < total {
        out.push('…');
    }
    out
}

fn excerpt_chars(cited: &Cited) -> usize {
    cited.excerpt.iter().map(|s| s.text.chars().count()).sum()
}

fn button(label: &str, callback: &Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(truncate(label, MAX_LABEL), callback.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Span;
    use crate::corpus::{Department, Level};

    fn cited(rank: usize, excerpt_len: usize) -> Cited {
        Cited {
            rank,
            score: 1.0,
            clause_id: format!("doc-{rank}"),
            doc_title: "关于<进一步>支持中小企业&个体工商户的通知".to_string(),
            doc_number: Some("豫政〔2022〕1号".to_string()),
            issuer: Some("河南省人民政府".to_string()),
            date: Some("2022-05-01".to_string()),
            level: Level::Province,
            region: "河南省".to_string(),
            section: "二、金融支持".to_string(),
            text: "全文".to_string(),
            excerpt: vec![
                Span {
                    text: "对符合条件的".to_string(),
                    hit: false,
                },
                Span {
                    text: "小微企业".to_string(),
                    hit: true,
                },
                Span {
                    text: "给予<贷款>贴息&".repeat(excerpt_len / 9 + 1),
                    hit: false,
                },
            ],
            departments: vec![Department {
                role: "责任单位".to_string(),
                name: "省财政厅".to_string(),
            }],
            sources: Vec::new(),
            validity: Some("政策发布于2022年，部分措施可能已到期，请以最新规定为准".to_string()),
        }
    }

    fn sample(hits: usize, excerpt_len: usize) -> Answer {
        Answer {
            question: "小微企业贷款贴息".to_string(),
            status: Status::Answered,
            intent: Some("融资贷款".to_string()),
            region: None,
            lead: "找到以下政策 <条款>：".to_string(),
            hits: (1..=hits).map(|r| cited(r, excerpt_len)).collect(),
            followups: vec![
                Followup::More,
                Followup::FullText {
                    rank: 1,
                    clause_id: "doc-1".to_string(),
                },
                Followup::FullText {
                    rank: 2,
                    clause_id: "doc-2".to_string(),
                },
                Followup::Region {
                    region: "安阳".to_string(),
                },
                Followup::Ask {
                    label: "申请条件".to_string(),
                    question: "贴息申请条件".to_string(),
                },
            ],
            continued: false,
        }
    }

    /// Inline results: one article per cited clause (at most 50, ids unique and at most 64
    /// bytes even for long clause ids), the message cited with its source and within 4096
    /// characters (a long clause cut at a sentence, marked `…`), escaped; no citation: one
    /// article saying why.
    #[test]
    fn inline_results_fit_telegrams_limits() {
        let mut answer = sample(60, 50);
        for (i, c) in answer.hits.iter_mut().enumerate() {
            c.clause_id = format!("{}/{i}", "很长的条款编号".repeat(20));
            c.text = "第一句<很长>&的条款正文。".repeat(400);
            c.sources = vec![crate::corpus::SourceRef {
                file: "henan-2022.txt".to_string(),
                line: 12,
            }];
        }
        let results = inline_results(&answer);
        assert_eq!(results.len(), MAX_INLINE_RESULTS);
        let json = serde_json::to_value(&results).unwrap();
        let mut ids = std::collections::HashSet::new();
        for r in json.as_array().unwrap() {
            let id = r["id"].as_str().unwrap();
            assert!(
                id.len() <= MAX_RESULT_ID && ids.insert(id.to_string()),
                "{id}"
            );
            assert_eq!(r["title"], "关于<进一步>支持中小企业&个体工商户的通知");
            let description = r["description"].as_str().unwrap();
            assert!(description.starts_with("豫政〔2022〕1号｜对符合条件的小微企业"));
            let text = r["input_message_content"]["message_text"].as_str().unwrap();
            assert!(tg_len(text) <= MAX_MESSAGE, "{}", tg_len(text));
            assert!(text.starts_with("<b>问：</b>小微企业贷款贴息\n<b>《关于&lt;进一步&gt;"));
            assert!(text.contains("豫政〔2022〕1号｜河南省人民政府｜2022-05-01"));
            assert!(
                text.contains("的条款正文。…\n责任单位：省财政厅"),
                "help: cut at a sentence"
            );
            assert!(text.ends_with("\n来源：henan-2022.txt 第12行"), "{text}");
            assert_eq!(r["input_message_content"]["parse_mode"], "HTML");
        }
        answer.status = Status::Related;
        answer.hits.truncate(1);
        let json = serde_json::to_value(inline_results(&answer)).unwrap();
        assert!(
            json[0]["description"]
                .as_str()
                .unwrap()
                .starts_with("可能相关｜")
        );
        let short = answer.hits[0].clone();
        let text = inline_message(
            "q",
            &Cited {
                text: "短<条款>。".into(),
                ..short
            },
            true,
        );
        assert!(
            text.contains("可能相关") && text.contains("短&lt;条款&gt;。\n"),
            "{text}"
        );

        answer.hits.clear();
        answer.status = Status::Invalid;
        answer.lead = "问题太长（600 字），请精简到 500 字以内再问。".to_string();
        let json = serde_json::to_value(inline_results(&answer)).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 1);
        assert_eq!(json[0]["title"], "无法查询");
        assert_eq!(
            json[0]["input_message_content"]["message_text"],
            answer.lead
        );
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape(r#"<a href="x">&amp;</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn answer_escapes_corpus_text_and_bolds_hits() {
        let html = answer(&sample(1, 20), Some("转发自 <张三>"));
        assert!(
            html.starts_with("<i>转发自 &lt;张三&gt;</i>"),
            "help: header first: {html}"
        );
        assert!(html.contains("<b>小微企业</b>"));
        assert!(html.contains("关于&lt;进一步&gt;支持中小企业&amp;个体工商户"));
        assert!(
            !html.contains("<贷款>"),
            "help: raw corpus markup leaked: {html}"
        );
    }

    #[test]
    fn long_answers_fit_one_message() {
        for (hits, len) in [(1, 10_000), (5, 2_000), (30, 400), (200, 10)] {
            let mut a = sample(hits, len);
            a.lead = "长".repeat(len);
            let html = answer(&a, Some(&"头".repeat(1000)));
            assert!(
                tg_len(&html) <= MAX_MESSAGE,
                "help: {hits} hits × {len}: {}",
                tg_len(&html)
            );
            assert_eq!(html.matches("<b>").count(), html.matches("</b>").count());
            assert!(
                !html.contains("&am…") && !html.contains("<…"),
                "help: cut inside an entity"
            );
        }
    }

    #[test]
    fn short_answers_are_not_truncated() {
        let html = answer(&sample(3, 60), None);
        assert!(!html.contains('…'), "help: {html}");
        assert_eq!(html.matches("<i>").count(), 3);
    }

    /// The callback data of every button of `keyboard`, in order.
    fn callback_data(keyboard: &InlineKeyboardMarkup) -> Vec<String> {
        keyboard
            .inline_keyboard
            .iter()
            .flatten()
            .filter_map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn announcement_fits_and_escapes() {
        let mut a = Announcement {
            doc_id: "dabc".into(),
            title: "关于发放<算力券>的通知".into(),
            doc_number: Some("豫工信〔2022〕9号".into()),
            issuer: Some("河南省工业和信息化厅".into()),
            date: Some("2022-05-01".into()),
            region: "河南省/安阳市".into(),
            topics: Vec::new(),
            measures: vec!["算力券：给予30%补贴。".into(), "贴息：首贷贴息。".into()],
            revision: None,
        };
        let html = announcement(&a);
        assert!(html.contains("&lt;算力券&gt;"), "{html}");
        assert!(html.contains("文号：豫工信〔2022〕9号"), "{html}");
        assert!(html.contains("地区：安阳"), "{html}");
        assert!(html.contains("1. 算力券：给予30%补贴。\n2. 贴息"), "{html}");
        a.revision = Some(crate::broadcast::Revision {
            version: "v".into(),
            added: vec!["新增<条款>".into(); 7],
            removed: vec!["删除的条款".into()],
        });
        let html = announcement(&a);
        assert!(
            html.starts_with("📢 <b>政策修订：关于发放&lt;算力券&gt;的通知</b>"),
            "{html}"
        );
        assert!(
            html.contains("<b>新增条款（7 条）</b>\n1. 新增&lt;条款&gt;\n"),
            "{html}"
        );
        assert!(html.contains("5. 新增&lt;条款&gt;\n……\n"), "{html}");
        assert!(
            html.contains("<b>删除条款（1 条）</b>\n1. 删除的条款\n"),
            "{html}"
        );
        assert!(!html.contains("主要措施"), "{html}");
        a.revision = None;
        a.measures = vec!["很长的措施".repeat(2000); 3];
        assert!(tg_len(&announcement(&a)) <= MAX_MESSAGE);
        let keyboard = announcement_keyboard("dabc");
        let data = callback_data(&keyboard);
        assert_eq!(data, vec!["p:dabc", "d:dabc"]);
    }

    #[test]
    fn keyboard_has_every_followup_and_feedback() {
        let mut no_buttons = sample(1, 10);
        no_buttons.status = Status::Intent;
        no_buttons.followups.clear();
        assert_eq!(keyboard(&no_buttons, 1, true), None);
        let kb = keyboard(&sample(2, 10), 42, false).unwrap();
        let data = callback_data(&kb);
        assert_eq!(
            data,
            [
                "t:16:2", "t:16:3", "m:16:1", "r:16:4", "a:16:5", "v:16:1", "v:16:0"
            ]
        );
        let kb = keyboard(&sample(2, 10), 42, true).unwrap();
        let labels: Vec<&str> = kb
            .inline_keyboard
            .iter()
            .flatten()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(
            labels[labels.len() - 3..],
            [TICKET_LABEL, "👍 有用", "👎 没用"]
        );
        assert_eq!(callback_data(&kb)[callback_data(&kb).len() - 3], "k:16");
    }

    #[test]
    fn full_text_splits_on_sentence_boundaries() {
        let sentence = "第一条 对符合条件的小微企业给予贷款贴息<50%>。";
        let text = format!("{}\n{}", sentence.repeat(150), sentence.repeat(150));
        let full = FullText {
            citation: "豫政〔2022〕1号 二、金融支持".to_string(),
            text: text.clone(),
        };
        let messages = full_text(&full);
        assert!(messages.len() >= 3, "help: {}", messages.len());
        for (i, m) in messages.iter().enumerate() {
            assert!(
                tg_len(m) <= MAX_MESSAGE,
                "help: message {i} is {}",
                tg_len(m)
            );
            assert!(m.contains(&format!("（{}/{}）", i + 1, messages.len())));
            let body = m.rsplit_once('\n').map_or(m.as_str(), |(b, _)| b);
            assert!(
                body.ends_with("。"),
                "help: message {i} not cut at a sentence end"
            );
        }
        assert!(messages[0].starts_with("<b>豫政〔2022〕1号"));
    }

    #[test]
    fn split_text_concatenates_to_input() {
        let texts = [
            "一".repeat(10_000),
            "甲，乙、丙：".repeat(3_000),
            "A&B<C>".repeat(2_000),
            "段落。\n\n".repeat(900),
            String::new(),
        ];
        for text in texts {
            let chunks = split_text(&text, 4000);
            for c in &chunks {
                assert!(
                    tg_len(&escape(c)) <= 4000,
                    "help: chunk of {}",
                    tg_len(&escape(c))
                );
            }
            let joined: String = chunks.concat();
            assert_eq!(
                joined.trim(),
                text.trim(),
                "help: pieces must concatenate to the input"
            );
        }
    }
}
