//! Plain-text presenter for the terminal (`policybot ask`, `chat`): lead, numbered citations
//! with 【】-marked matched terms, and numbered follow-ups. No colours, no terminal control codes.

use std::fmt::Write as _;

use crate::answer::{Answer, Cited, Followup, short_region};

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
