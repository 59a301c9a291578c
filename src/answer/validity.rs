//! Validity notes: warns that a 2021–2022 measure may have expired relative to "today", that a
//! document is a draft, or that it was abridged. Pure; "today" is passed in, never read.

use std::sync::LazyLock;

use regex::Regex;

use crate::corpus::{Clause, Corpus, Document};

/// Deadline phrases as printed: `2022年12月31日`, `2022 年底前`, `6月底前`, `今年底`, `上半年`.
static DEADLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:20\d{2}\s*年\s*(?:\d{1,2}\s*月\s*(?:\d{1,2}\s*日)?|底|年底)\s*(?:底)?\s*(?:前|以前|截止)?|\d{1,2}\s*月底前|今年底|年底前|上半年)",
    )
    .expect("valid deadline pattern")
});

/// Years printed in the text (`2022年`, `2023 年`).
static YEAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(20\d{2})\s*年").expect("valid year pattern"));

/// Longest deadline quoted in a note.
const MAX_PHRASE_CHARS: usize = 24;

/// A date as (year, month, day); `day`/`month` are 0 when unknown.
type Ymd = (u32, u32, u32);

/// Parses `YYYY-MM-DD` (or a prefix `YYYY-MM`, `YYYY`).
fn parse_date(s: &str) -> Option<Ymd> {
    let mut parts = s.trim().splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let year = parts.next().flatten()?;
    let month = parts.next().flatten().unwrap_or(0);
    let day = parts.next().flatten().unwrap_or(0);
    (1900..=9999).contains(&year).then_some((year, month, day))
}

/// What a clause itself says about its validity: the latest year it (or its 时间节点) mentions
/// and its first deadline phrase. Depends on the clause alone: found once per clause
/// ([`super::memo`]).
#[derive(Clone, Debug, Default)]
pub struct ClauseDates {
    latest_year: Option<u32>,
    first_deadline: Option<String>,
}

impl ClauseDates {
    /// Reads `clause`.
    #[must_use]
    pub fn new(clause: &Clause) -> ClauseDates {
        ClauseDates {
            latest_year: [clause.deadline.as_deref(), Some(clause.text.as_str())]
                .into_iter()
                .flatten()
                .flat_map(years)
                .max(),
            first_deadline: first_deadline(&clause.text),
        }
    }
}

/// The years printed in `text`.
fn years(text: &str) -> impl Iterator<Item = u32> + '_ {
    YEAR.captures_iter(text)
        .filter_map(|c| c[1].parse::<u32>().ok())
}

/// The validity note for `clause` of `doc` (`dates` read from it), or `None` when there is
/// nothing to warn about. `today` is `YYYY-MM-DD`; when it cannot be parsed no expiry warning
/// is given.
#[must_use]
pub fn note(
    corpus: &Corpus,
    doc: &Document,
    clause: &Clause,
    dates: &ClauseDates,
    today: &str,
) -> Option<String> {
    let mut notes: Vec<String> = Vec::new();
    let parent = doc
        .parent
        .as_deref()
        .and_then(|p| corpus.documents.iter().find(|d| d.id == p));
    if doc.draft || parent.is_some_and(|p| p.draft) {
        notes.push("征求意见稿，非正式生效文件".to_string());
    }
    if let Some(today) = parse_date(today) {
        notes.extend(expiry_note(doc, clause, dates, today));
    }
    if doc.abridged {
        notes.push("本文有删减".to_string());
    }
    (!notes.is_empty()).then(|| notes.join("；"))
}

fn expiry_note(doc: &Document, clause: &Clause, dates: &ClauseDates, today: Ymd) -> Option<String> {
    let issued = doc.date.as_deref().and_then(parse_date);
    // The measure is treated as running to the end of the latest year it mentions (or of the year
    // it was issued); after that the note warns it may have expired.
    let latest_year = dates
        .latest_year
        .into_iter()
        .chain(doc.validity.as_deref().into_iter().flat_map(years))
        .chain(issued.map(|d| d.0))
        .max()?;
    if today.0 <= latest_year {
        return None;
    }
    let phrase = clause
        .deadline
        .as_deref()
        .filter(|d| d.chars().count() <= MAX_PHRASE_CHARS)
        .map(str::trim)
        .map(ToString::to_string)
        .or_else(|| dates.first_deadline.clone())
        .or_else(|| doc.validity.as_deref().and_then(first_deadline));
    let when = match issued {
        Some((y, m, _)) if m > 0 => format!("该政策发布于{y}年{m}月"),
        Some((y, _, _)) => format!("该政策发布于{y}年"),
        None => "该文件未注明发布日期".to_string(),
    };
    Some(match phrase {
        Some(p) => {
            format!("{when}，相关措施多有执行期限（如“{p}”），可能已到期，请向责任部门确认最新规定")
        }
        None => format!("{when}，部分措施可能已调整或到期，请向责任部门确认最新规定"),
    })
}

fn first_deadline(text: &str) -> Option<String> {
    DEADLINE.find(text).map(|m| m.as_str().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_or_not() {
        assert_eq!(parse_date("2025-03-01"), Some((2025, 3, 1)));
        assert_eq!(parse_date("2022-05"), Some((2022, 5, 0)));
        assert_eq!(parse_date("today"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn deadline_phrases() {
        let cases = [
            ("缓缴期限阶段性实施到今年底。", Some("今年底")),
            ("2022年6月30日前基本完成", Some("2022年6月30日前")),
            ("有效期至 2022 年底。", Some("2022 年底")),
            ("力争6月底前完成", Some("6月底前")),
            ("持续推进", None),
        ];
        for (text, want) in cases {
            assert_eq!(first_deadline(text).as_deref(), want, "help: {text}");
        }
    }
}
