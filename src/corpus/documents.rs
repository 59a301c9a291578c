//! Document boundaries: front matter and table of contents, TOC-anchored document starts (文号
//! first, fuzzy title second), nested 转发 originals, and the generic level/region rules. The
//! issuers whose documents are national are data ([`CorpusWords`], `corpus_words.tsv`), beside
//! the places of `places.tsv`.

use std::sync::LazyLock;

use regex::Regex;

use super::lines::{Kind, Line, Marker, norm_docno, title_key};
use super::{CorpusWords, Level};
use crate::places::{NATIONAL, Places};

static TOC_DOCNO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{Han}A-Za-z]{1,12}\s*[〔\[（(]\s*(?:19|20)\d\d\s*[〕\]）)]\s*\d{1,4}\s*号")
        .expect("valid regex")
});
static TOC_NUM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{1,3}\s*[.．、]\s*").expect("valid regex"));

/// One entry of a compendium's table of contents.
#[derive(Clone, Debug)]
pub(crate) struct TocEntry {
    /// Index into [`Toc::parts`].
    pub part: Option<usize>,
    /// Title as printed (number, leaders and page removed).
    pub title: String,
    /// Normalised 文号 candidate found in the entry (may carry extra leading characters).
    pub docno: Option<String>,
}

/// A compendium's table of contents: line range and entries.
#[derive(Clone, Debug)]
pub(crate) struct Toc {
    /// Line index of `目 录`.
    pub start: usize,
    /// Last TOC line index (inclusive).
    pub end: usize,
    /// Part / chapter titles.
    pub parts: Vec<String>,
    /// Entries in order.
    pub entries: Vec<TocEntry>,
}

/// A document's line range (indices into the line vector, `end` exclusive).
#[derive(Clone, Debug)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    /// TOC part title, if anchored by a TOC.
    pub part: Option<String>,
    /// Index of the enclosing span for a nested original.
    pub parent: Option<usize>,
}

fn is_toc_line(l: &Line) -> bool {
    l.kind == Kind::Table || l.text.contains("....") || l.text.contains("……")
}

fn strip_toc_decor(text: &str) -> String {
    let t = text.split('\t').next().unwrap_or_default();
    t.trim_end_matches(|c: char| c == '.' || c == '…' || c.is_ascii_digit() || c.is_whitespace())
        .to_string()
}

/// Finds and parses the table of contents (within the first 300 lines).
#[must_use]
pub(crate) fn find_toc(lines: &[Line]) -> Option<Toc> {
    let start = lines
        .iter()
        .take(300)
        .position(|l| title_key(&l.text) == "目录")?;
    let mut end = start;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if is_toc_line(l) {
            end = i;
        } else if l.kind != Kind::Blank && i > end + 6 {
            break;
        }
    }
    if end == start {
        return None;
    }
    let mut parts = Vec::new();
    let mut entries: Vec<TocEntry> = Vec::new();
    for l in &lines[start + 1..=end] {
        if l.kind == Kind::Blank {
            continue;
        }
        let t = strip_toc_decor(&l.text);
        if let Some(m) = TOC_NUM.find(&t) {
            entries.push(TocEntry {
                part: parts.len().checked_sub(1),
                title: t[m.end()..].to_string(),
                docno: None,
            });
        } else if matches!(l.kind, Kind::Heading(Marker::Chapter | Marker::CnNum)) {
            parts.push(t);
        } else if let Some(e) = entries.last_mut() {
            e.title.push_str(&t);
        }
    }
    for e in &mut entries {
        e.docno = TOC_DOCNO.find(&e.title).map(|m| norm_docno(m.as_str()));
    }
    Some(Toc {
        start,
        end,
        parts,
        entries,
    })
}

fn prev_nonblank(lines: &[Line], i: usize, floor: usize) -> Option<usize> {
    (floor..i).rev().find(|&j| lines[j].kind != Kind::Blank)
}

fn is_bare_chapter(l: &Line) -> bool {
    l.kind == Kind::Heading(Marker::Chapter) && l.text.chars().count() <= 5
}

/// A line that can be part of a (split) title.
pub(crate) fn is_title_fragment(l: &Line) -> bool {
    l.kind == Kind::Body
        && !l.text.contains(['。', '；', '！', '？', '：', ':', '，'])
        && l.text.chars().count() <= 90
        && !super::clauses::is_annex_marker(&l.text)
}

fn starts_title(text: &str) -> bool {
    text.starts_with("关于") || text.starts_with("转发") || text.starts_with("印发")
}

/// Moves a document start from its anchor (文号 or title line) back over title lines and, when
/// the title has no issuer prefix, over the issuer block and letterhead above it.
#[must_use]
pub(crate) fn move_back(lines: &[Line], anchor: usize, floor: usize) -> usize {
    let mut s = anchor;
    for _ in 0..4 {
        if starts_title(&lines[s].text) {
            break;
        }
        let Some(p) = prev_nonblank(lines, s, floor) else {
            break;
        };
        let after_chapter =
            prev_nonblank(lines, p, floor).is_some_and(|q| is_bare_chapter(&lines[q]));
        if !is_title_fragment(&lines[p]) || after_chapter {
            break;
        }
        s = p;
    }
    let first = &lines[s].text;
    let bare = starts_title(first)
        || lines[s].kind == Kind::DocNo
        || prev_nonblank(lines, s, floor).is_some_and(|p| lines[p].kind == Kind::Letterhead);
    if bare {
        for _ in 0..8 {
            let Some(p) = prev_nonblank(lines, s, floor) else {
                break;
            };
            if !matches!(lines[p].kind, Kind::Issuer | Kind::Letterhead) {
                break;
            }
            s = p;
        }
    }
    s
}

fn search_key(title: &str) -> String {
    let mut t = title.to_string();
    if let Some(m) = TOC_DOCNO.find(title) {
        t.truncate(m.start());
    }
    let k = title_key(&t);
    let from = k.find("关于").unwrap_or(0);
    k[from..]
        .chars()
        .take(if from > 0 { 10 } else { 16 })
        .collect()
}

fn find_title(lines: &[Line], key: &str, from: usize, to: usize) -> Option<usize> {
    if key.chars().count() < 4 {
        return None;
    }
    (from..to).find(|&i| {
        if !is_title_fragment(&lines[i]) && lines[i].kind != Kind::Issuer {
            return false;
        }
        let mut window = title_key(&lines[i].text);
        let own = window.len();
        let mut j = i + 1;
        let mut taken = 0;
        while j < to && taken < 2 {
            if lines[j].kind != Kind::Blank {
                window.push_str(&title_key(&lines[j].text));
                taken += 1;
            }
            j += 1;
        }
        window.find(key).is_some_and(|pos| pos < own)
    })
}

/// Document starts in a compendium, anchored on its TOC entries. Returns `(start, part)` pairs.
#[must_use]
pub(crate) fn anchor_toc(lines: &[Line], toc: &Toc) -> Vec<(usize, Option<String>)> {
    let body = toc.end + 1;
    let n = toc.entries.len();
    let mut anchors: Vec<Option<usize>> = vec![None; n];
    let mut cursor = body;
    for (k, e) in toc.entries.iter().enumerate() {
        let Some(d) = &e.docno else { continue };
        let hit = (cursor..lines.len()).find(|&i| {
            lines[i].kind == Kind::DocNo && {
                let b = norm_docno(&lines[i].text);
                b.chars().count() >= 6 && d.ends_with(&b)
            }
        });
        if let Some(i) = hit {
            anchors[k] = Some(i);
            cursor = i + 1;
        }
    }
    for k in 0..n {
        if anchors[k].is_some() {
            continue;
        }
        let from = anchors[..k]
            .iter()
            .rev()
            .flatten()
            .next()
            .map_or(body, |&a| a + 1);
        let to = anchors[k + 1..]
            .iter()
            .flatten()
            .next()
            .copied()
            .unwrap_or(lines.len());
        let e = &toc.entries[k];
        anchors[k] = find_title(lines, &search_key(&e.title), from, to);
    }
    let mut out = Vec::new();
    let mut floor = body;
    for (k, a) in anchors.iter().enumerate() {
        let Some(a) = *a else { continue };
        let start = move_back(lines, a, floor);
        let part = toc.entries[k].part.and_then(|p| toc.parts.get(p)).cloned();
        out.push((start, part));
        floor = a + 1;
    }
    out
}

/// Nested originals inside `[start, end)`: further 文号 lines after the document's own.
#[must_use]
pub(crate) fn nested_starts(lines: &[Line], start: usize, end: usize) -> Vec<usize> {
    let docnos: Vec<usize> = (start..end)
        .filter(|&i| lines[i].kind == Kind::DocNo)
        .collect();
    let Some(&own) = docnos.first() else {
        return Vec::new();
    };
    if own > start + 30 {
        return Vec::new();
    }
    let mut seen = vec![norm_docno(&lines[own].text)];
    let mut out = Vec::new();
    let mut floor = own + 1;
    for &d in &docnos[1..] {
        let key = norm_docno(&lines[d].text);
        if seen.contains(&key) {
            continue;
        }
        let s = move_back(lines, d, floor);
        let titled =
            s < d && prev_nonblank(lines, d, floor).is_some_and(|p| is_title_fragment(&lines[p]));
        if titled {
            seen.push(key);
            out.push(s);
            floor = d + 1;
        }
    }
    out
}

fn national() -> (Level, String) {
    (Level::National, NATIONAL.to_string())
}

fn from_part(
    places: &Places,
    part: &str,
    home: Option<&(Level, String)>,
) -> Option<(Level, String)> {
    if CorpusWords::shipped().is_national(part) {
        return Some(national());
    }
    if let Some(p) = places.in_document_text(part) {
        return Some(p);
    }
    let home_path = home.map(|h| h.1.clone())?;
    let mut segs = home_path.split('/');
    if part.contains('省') {
        return segs.next().map(|p| (Level::Province, p.to_string()));
    }
    if part.contains('市') {
        let path: Vec<&str> = home_path.split('/').take(2).collect();
        return Some((Level::City, path.join("/")));
    }
    if part.contains('县') {
        return home.cloned();
    }
    None
}

/// Generic level/region rules: 文号 prefix, then place names in title/issuer, then the TOC part,
/// then the compendium's home region, then national. Places come from `places.tsv`.
#[must_use]
pub(crate) fn region(
    places: &Places,
    docno: Option<&str>,
    title: &str,
    issuer: Option<&str>,
    part: Option<&str>,
    home: Option<&(Level, String)>,
) -> (Level, String) {
    if let Some(d) = docno {
        return places.of_doc_number(d);
    }
    let named = places.in_document_text(title);
    if let Some(p) = named.or_else(|| issuer.and_then(|i| places.in_document_text(i))) {
        return p;
    }
    let is_national = |t: &str| CorpusWords::shipped().is_national(t);
    if is_national(title) || issuer.is_some_and(is_national) {
        return national();
    }
    if let Some(r) = part.and_then(|p| from_part(places, p, home)) {
        return r;
    }
    home.cloned().unwrap_or_else(national)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/lexicon/places.tsv");
        Places::load(std::path::Path::new(path)).expect("bundled places.tsv loads")
    }

    /// Issue 10: the parser reads places from `places.tsv`, as questions do: a 郑州 document is
    /// the city's, while the province-wide 人民银行郑州中心支行 stays the province's.
    #[test]
    fn places_come_from_the_data_file() {
        let places = places();
        let title = "郑州市促进中小企业发展的若干措施";
        assert_eq!(
            region(&places, None, title, None, None, None),
            (Level::City, "河南省/郑州市".into())
        );
        assert_eq!(places.resolve("郑州"), Some("河南省/郑州市"));
        let issuer = "中国人民银行郑州中心支行";
        assert_eq!(
            region(
                &places,
                None,
                "关于做好普惠金融工作的通知",
                Some(issuer),
                None,
                None
            ),
            (Level::Province, "河南省".into())
        );
    }

    #[test]
    fn region_rules() {
        let places = places();
        assert_eq!(
            region(&places, Some("安政〔2022〕6号"), "", None, None, None),
            (Level::City, "河南省/安阳市".into())
        );
        assert_eq!(
            region(&places, Some("郑银发〔2022〕65号"), "", None, None, None).0,
            Level::Province
        );
        assert_eq!(
            region(
                &places,
                Some("工信部企业函〔2022〕103号"),
                "",
                None,
                None,
                None
            )
            .1,
            "全国"
        );
        let home = (Level::City, "河南省/安阳市".to_string());
        assert_eq!(
            region(
                &places,
                None,
                "关于营造更好环境支持科技型中小企业研发的实施方案",
                None,
                Some("二、省政策"),
                Some(&home)
            ),
            (Level::Province, "河南省".into())
        );
        assert_eq!(
            region(
                &places,
                None,
                "中国人民银行获嘉县支行 2022 年度货币信贷工作指导意见",
                None,
                None,
                None
            ),
            (Level::County, "河南省/新乡市/获嘉县".into())
        );
    }
}
