//! A clause's full text as messages of at most 4096 UTF-16 units: split at paragraph, then
//! sentence, then clause boundaries (a hard cut only when none helps), with `（i/n）` markers.

use super::{MAX_MESSAGE, escape, tg_len};
use crate::answer::FullText;
use crate::text::chars::truncate;

/// Room kept free in each full-text message for the `（2/3）` page marker.
const PAGE_MARKER_ROOM: usize = 16;

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

#[cfg(test)]
mod tests {
    use super::*;

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
