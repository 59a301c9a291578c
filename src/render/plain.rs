//! Plain-text presenters: the terminal answer (`policybot ask`, `chat`: lead, numbered
//! citations with 【】-marked matched terms, numbered follow-ups; no colours, no terminal control
//! codes) and the helpline ticket (`ticket`: question, then per cited clause the policy, 文号,
//! clause, responsible units, validity and source, within Telegram's 4096 characters).

use std::fmt::Write as _;

use crate::answer::{Answer, Cited, Followup, Ticket, short_region};

/// Longest ticket, in UTF-16 code units as Telegram counts a message.
pub const MAX_TICKET: usize = 4096;

/// Room for each clause when they are too many to share the ticket (code units).
const MIN_CLAUSE_ROOM: usize = 200;

/// Ends a clause cut to fit the ticket.
const CLAUSE_CUT: &str = "……（条款较长，已截断，全文见来源）";

/// Ends a ticket cut to fit (too many clauses to show each).
const TICKET_CUT: &str = "（内容较长，以下从略，请点按“全文”查看其余条款。）";

/// Sentence ends a clause is cut after.
const SENTENCE_ENDS: &[char] = &['。', '！', '？', '；', '\n', '!', '?', ';'];

/// `ticket` laid out for a helpline ticket, plain text (no markup) of at most [`MAX_TICKET`]:
/// the question, then per cited clause the policy title, 文号, issuer and date, section, the
/// clause, responsible units, validity note and source (file and line). When it would be longer,
/// the clauses share the room left, each cut after a sentence and marked; if even that does not
/// fit, the ticket ends at a line with a note.
#[must_use]
pub fn ticket(ticket: &Ticket) -> String {
    let full = ticket_text(ticket, None);
    if utf16(&full) <= MAX_TICKET {
        return full;
    }
    let fixed = utf16(&ticket_text(ticket, Some(0)));
    let share = MAX_TICKET.saturating_sub(fixed) / ticket.clauses.len().max(1);
    let shared = ticket_text(ticket, Some(share));
    if utf16(&shared) <= MAX_TICKET {
        return shared;
    }
    // Too many clauses to show each: a short part of each, as many as fit, whole lines.
    let lines = ticket_text(ticket, Some(share.max(MIN_CLAUSE_ROOM)));
    let room = MAX_TICKET - utf16(TICKET_CUT);
    let mut out = String::new();
    for line in lines.split_inclusive('\n') {
        if utf16(&out) + utf16(line) > room {
            break;
        }
        out.push_str(line);
    }
    out.push_str(TICKET_CUT);
    out
}

/// The ticket with each clause cut to `clause_room` code units (after whole sentences) when given.
fn ticket_text(ticket: &Ticket, clause_room: Option<usize>) -> String {
    let mut out = format!(
        "【政策咨询工单】\n咨询问题：{}\n",
        one_line(&ticket.question)
    );
    if ticket.clauses.is_empty() {
        out.push_str(
            "\n答复依据：政策汇编中没有找到直接相关的条款，建议转相关主管部门或 12345 政务服务便民热线。\n",
        );
    }
    for (i, c) in ticket.clauses.iter().enumerate() {
        let _ = writeln!(out, "\n【依据{}】《{}》", i + 1, one_line(&c.doc_title));
        if let Some(n) = &c.doc_number {
            let _ = writeln!(out, "文号：{}", one_line(n));
        }
        let issued: Vec<&str> = [c.issuer.as_deref(), c.date.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !issued.is_empty() {
            let _ = writeln!(out, "发文：{}", one_line(&issued.join(" ")));
        }
        if !c.section.is_empty() {
            let _ = writeln!(out, "条款位置：{}", one_line(&c.section));
        }
        let text = c.text.trim();
        let clause = match clause_room {
            Some(room) if utf16(text) > room => cut_after_sentence(text, room),
            _ => text.to_string(),
        };
        let _ = writeln!(out, "条款内容：{clause}");
        // Already labelled by role: 责任单位：…；配合单位：….
        if let Some(d) = c.departments_line() {
            let _ = writeln!(out, "{d}");
        }
        if let Some(v) = c.validity.as_deref().filter(|v| !v.is_empty()) {
            let _ = writeln!(out, "时效提示：{}", one_line(v));
        }
        if !c.sources.is_empty() {
            let _ = writeln!(out, "出处：{}", c.sources_line());
        }
    }
    out.push_str("\n（摘自政策原文，请以发文机关的最新规定为准。）");
    out
}

/// The whole sentences of `text` that fit in `room` code units, then [`CLAUSE_CUT`].
fn cut_after_sentence(text: &str, room: usize) -> String {
    let mut out = String::new();
    for sentence in text.split_inclusive(SENTENCE_ENDS) {
        if utf16(&out) + utf16(sentence) > room {
            break;
        }
        out.push_str(sentence);
    }
    format!("{}{CLAUSE_CUT}", out.trim_end())
}

/// `text` on one line (a label's value never starts a line of its own).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn utf16(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Renders `answer` as terminal text, ending with a newline.
#[must_use]
pub fn render(answer: &Answer) -> String {
    let mut out = String::new();
    out.push_str(answer.lead.trim_end());
    out.push('\n');
    for c in &answer.hits {
        out.push('\n');
        cited(&mut out, c);
    }
    if !answer.followups.is_empty() {
        out.push_str("\n回复编号继续：\n");
        for (n, f) in answer.followups.iter().enumerate() {
            let _ = writeln!(out, "（{}）{}", n + 1, followup(f));
        }
    }
    out
}

/// `[1] 《title》（文号）issuer · date · level region` and the indented detail lines.
fn cited(out: &mut String, c: &Cited) {
    let _ = write!(out, "[{}] 《{}》", c.rank, c.doc_title);
    if let Some(n) = &c.doc_number {
        let _ = write!(out, "（{n}）");
    }
    let mut meta: Vec<String> = Vec::new();
    meta.extend(c.issuer.clone());
    meta.extend(c.date.clone());
    meta.push(format!("{} {}", c.level.label(), short_region(&c.region)));
    let _ = writeln!(out, "{}", meta.join(" · "));
    if !c.section.is_empty() {
        let _ = writeln!(out, "   {}", c.section);
    }
    let excerpt: String = c
        .excerpt
        .iter()
        .map(|s| {
            if s.hit {
                format!("【{}】", s.text)
            } else {
                s.text.clone()
            }
        })
        .collect();
    if !excerpt.is_empty() {
        let _ = writeln!(out, "   {excerpt}");
    }
    if let Some(d) = c.departments_line() {
        let _ = writeln!(out, "   {d}");
    }
    if let Some(v) = &c.validity {
        let _ = writeln!(out, "   ⚠ {v}");
    }
    if !c.sources.is_empty() {
        let _ = writeln!(out, "   来源：{}", c.sources_line());
    }
}

fn followup(f: &Followup) -> String {
    match f {
        Followup::Ask { label, question } if label != question => format!("{label}：{question}"),
        _ => f.label(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::answer::{Span, Status};
    use crate::corpus::{Department, Level, SourceRef};

    pub(crate) fn sample() -> Answer {
        Answer {
            question: "房租能减免吗".into(),
            status: Status::Answered,
            intent: Some("房租减免".into()),
            region: Some("河南省/安阳市".into()),
            lead: "找到 1 条相关条款（优先显示安阳市及上级政策）：".into(),
            hits: vec![Cited {
                rank: 1,
                score: 2.5,
                clause_id: "安政/二/25".into(),
                doc_title: "安阳市稳经济实施方案".into(),
                doc_number: Some("安政〔2022〕6号".into()),
                issuer: Some("安阳市人民政府".into()),
                date: Some("2022-06-10".into()),
                level: Level::City,
                region: "河南省/安阳市".into(),
                section: "二、减轻负担 › 25. 减免租金".into(),
                text: "25. 减免租金。承租国有房屋减免3—6个月租金。".into(),
                excerpt: vec![
                    Span {
                        text: "承租国有房屋减免3—6个月".into(),
                        hit: false,
                    },
                    Span {
                        text: "租金".into(),
                        hit: true,
                    },
                    Span {
                        text: "。".into(),
                        hit: false,
                    },
                ],
                departments: vec![
                    Department {
                        role: "责任单位".into(),
                        name: "市财政局".into(),
                    },
                    Department {
                        role: "责任单位".into(),
                        name: "市税务局".into(),
                    },
                    Department {
                        role: "配合单位".into(),
                        name: "市国资委".into(),
                    },
                ],
                sources: vec![SourceRef {
                    file: "anyang-2022-compendium.txt".into(),
                    line: 820,
                }],
                validity: Some("本文有删减".into()),
            }],
            followups: vec![
                Followup::More,
                Followup::FullText {
                    rank: 1,
                    clause_id: "安政/二/25".into(),
                },
                Followup::Region {
                    region: "河南".into(),
                },
                Followup::Ask {
                    label: "出租人税收".into(),
                    question: "出租人减免租金可以减免房产税吗？".into(),
                },
            ],
            continued: false,
        }
    }

    #[test]
    fn golden() {
        let want = "\
找到 1 条相关条款（优先显示安阳市及上级政策）：

[1] 《安阳市稳经济实施方案》（安政〔2022〕6号）安阳市人民政府 · 2022-06-10 · 市级 安阳
   二、减轻负担 › 25. 减免租金
   承租国有房屋减免3—6个月【租金】。
   责任单位：市财政局、市税务局；配合单位：市国资委
   ⚠ 本文有删减
   来源：anyang-2022-compendium.txt 第820行

回复编号继续：
（1）更多结果
（2）全文 1
（3）只看河南
（4）出租人税收：出租人减免租金可以减免房产税吗？
";
        assert_eq!(render(&sample()), want);
    }

    #[test]
    fn ticket_golden() {
        let a = sample();
        let t = Ticket {
            question: "房租能减免吗".into(),
            clauses: a.hits,
        };
        let want = "\
【政策咨询工单】
咨询问题：房租能减免吗

【依据1】《安阳市稳经济实施方案》
文号：安政〔2022〕6号
发文：安阳市人民政府 2022-06-10
条款位置：二、减轻负担 › 25. 减免租金
条款内容：25. 减免租金。承租国有房屋减免3—6个月租金。
责任单位：市财政局、市税务局；配合单位：市国资委
时效提示：本文有删减
出处：anyang-2022-compendium.txt 第820行

（摘自政策原文，请以发文机关的最新规定为准。）";
        assert_eq!(ticket(&t), want);
        let none = Ticket {
            question: "x".into(),
            clauses: Vec::new(),
        };
        assert!(ticket(&none).contains("没有找到直接相关的条款"));
    }

    /// Long clauses share the room, each cut after a sentence and keeping its source; too many
    /// clauses end the ticket at a line with a note; never over 4096 code units.
    #[test]
    fn long_tickets_are_cut_at_sentences_and_lines() {
        let mut c = sample().hits.remove(0);
        c.text = "第一条很长的规定内容。".repeat(500);
        let t = Ticket {
            question: "房租".into(),
            clauses: vec![c.clone(), c.clone(), c.clone()],
        };
        let out = ticket(&t);
        assert!(utf16(&out) <= MAX_TICKET, "{}", utf16(&out));
        assert_eq!(
            out.matches("规定内容。……（条款较长，已截断，全文见来源）")
                .count(),
            3
        );
        assert_eq!(
            out.matches("出处：anyang-2022-compendium.txt 第820行")
                .count(),
            3
        );
        assert!(!out.contains('<') && !out.contains("&amp;"));

        c.text = "短。".into();
        let many = Ticket {
            question: "房租".into(),
            clauses: vec![c; 40],
        };
        let out = ticket(&many);
        assert!(utf16(&out) <= MAX_TICKET, "{}", utf16(&out));
        assert!(out.ends_with(&format!("\n{TICKET_CUT}")), "{out}");
        assert!(out.starts_with("【政策咨询工单】\n咨询问题：房租\n"));
    }

    #[test]
    fn no_match_is_just_the_lead() {
        let mut a = sample();
        a.hits.clear();
        a.followups.clear();
        a.lead = "抱歉，政策汇编中没有找到与“x”直接相关的条款。".into();
        assert_eq!(
            render(&a),
            "抱歉，政策汇编中没有找到与“x”直接相关的条款。\n"
        );
    }
}
