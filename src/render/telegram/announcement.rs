//! The announcement of a newly added or revised policy to subscribers, and its 要点/全文 buttons.

use teloxide::types::InlineKeyboardMarkup;

use super::{MAX_MESSAGE, button, escape, tg_len};
use crate::broadcast::Announcement;
use crate::telegram::callback::Callback;
use crate::text::chars::truncate;

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

#[cfg(test)]
mod tests {
    use super::super::fixtures::callback_data;
    use super::*;

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
}
