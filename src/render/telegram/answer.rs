//! The HTML text of an answer: lead, then per cited clause the title, 文号, section, excerpt
//! with hits in `<b>`, responsible units and validity note; excerpts, citations and lead are
//! shortened in that order until the text fits one message.

use super::{MAX_MESSAGE, escape, push_escaped, tg_len};
use crate::answer::{Answer, Cited};
use crate::text::chars::truncate;

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

fn assemble(
    answer: &Answer,
    header: &str,
    cap: Option<usize>,
    hits: usize,
    lead_cap: usize,
) -> String {
    let mut text = String::with_capacity(header.len() + 1024 * hits.max(1));
    text.push_str(header);
    push_escaped(&mut text, &truncate(answer.lead.trim(), lead_cap));
    for cited in answer.hits.iter().take(hits) {
        text.push_str("\n\n");
        push_cited_block(&mut text, cited, cap);
    }
    text
}

fn push_cited_block(out: &mut String, cited: &Cited, cap: Option<usize>) {
    out.push_str(&format!("<b>{}. ", cited.rank));
    push_escaped(out, &cited.doc_title);
    out.push_str("</b>");
    let meta = cited.meta_line();
    if !meta.is_empty() {
        out.push('\n');
        push_escaped(out, &meta);
    }
    if !cited.section.is_empty() {
        out.push('\n');
        push_escaped(out, &cited.section);
    }
    if let Some(cap) = cap
        && cap > 0
        && cited.excerpt.iter().any(|s| !s.text.is_empty())
    {
        out.push('\n');
        push_excerpt_html(out, cited, cap);
    }
    if !cited.departments.is_empty() {
        out.push('\n');
        push_escaped(out, "责任单位：");
        for (i, d) in cited.departments.iter().enumerate() {
            if i > 0 {
                out.push('、');
            }
            push_escaped(out, &d.name);
        }
    }
    if let Some(validity) = cited.validity.as_deref().filter(|v| !v.is_empty()) {
        out.push_str("\n<i>");
        push_escaped(out, validity);
        out.push_str("</i>");
    }
}

/// Excerpt with hit spans in `<b>`, cut after `cap` characters (never inside a tag or entity:
/// text is cut before escaping).
fn push_excerpt_html(out: &mut String, cited: &Cited, cap: usize) {
    let mut left = cap;
    let total = excerpt_chars(cited);
    for span in &cited.excerpt {
        if left == 0 {
            break;
        }
        let (piece, chars) = match span.text.char_indices().nth(left) {
            Some((cut, _)) => (&span.text[..cut], left),
            None => (span.text.as_str(), span.text.chars().count()),
        };
        left -= chars;
        if piece.is_empty() {
            continue;
        }
        if span.hit {
            out.push_str("<b>");
            push_escaped(out, piece);
            out.push_str("</b>");
        } else {
            push_escaped(out, piece);
        }
    }
    if cap < total {
        out.push('…');
    }
}

fn excerpt_chars(cited: &Cited) -> usize {
    cited.excerpt.iter().map(|s| s.text.chars().count()).sum()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::sample;
    use super::*;

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
}
