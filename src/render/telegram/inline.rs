//! Inline mode (`@bot 问题` in any chat): the results of an answer, the hint button over an
//! empty query, and the cited message a picked result sends.

use teloxide::types::{
    InlineQueryResult, InlineQueryResultArticle, InlineQueryResultsButton,
    InlineQueryResultsButtonKind, InputMessageContent, InputMessageContentText, ParseMode,
};

use super::{MAX_MESSAGE, escape, split_text, tg_len};
use crate::answer::{Answer, Cited, Status};
use crate::text::chars::truncate;

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
    let meta = c.meta_line();
    if !meta.is_empty() {
        head.push('\n');
        head.push_str(&escape(&truncate(&meta, 300)));
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::sample;
    use super::*;

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
}
