//! Line classification: splits a source text into raw lines (1-based numbers kept) and labels each
//! one (heading marker, 文号, date, issuer, meta tag, table row, …). Pure, no document logic.
//! Its word lists — the endings of issuers, the document-type words that end a title line
//! (`DOC_WORDS`: the kinds of official documents) — are the grammar of the source format and
//! stay in code; vocabulary an editor extends lives in `corpus_words.tsv` ([`super::CorpusWords`]).

use std::sync::LazyLock;

use regex::Regex;

/// Numbering marker of a heading line; the heading tree is built from marker types, never from
/// Markdown depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    /// 第X章
    Chapter,
    /// 第X条
    Article,
    /// 一、
    CnNum,
    /// （一） / (一)
    ParenCn,
    /// 1. / 1．
    ArabicDot,
    /// 1、
    ArabicComma,
    /// （1） / (1)
    ParenArabic,
    /// A. / a.
    Letter,
    /// A sub-document title (annex, attached 方案); resets the tree.
    Title,
}

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Blank,
    /// Table row: contains a TAB or starts with `|`.
    Table,
    /// Stand-alone 文号 line.
    DocNo,
    /// Stand-alone date line.
    Date,
    /// Issuing body line (short, ends with an organisation suffix, no punctuation).
    Issuer,
    /// Numbered heading.
    Heading(Marker),
    /// Responsibility / deadline / contact meta line (`责任单位：…`).
    Meta,
    /// Footnote line (`¹ …`).
    Footnote,
    /// Stand-alone editorial mark (`（本文有删减）`, `(此页无正文)`, `（征求意见稿）`).
    Mark,
    /// Letterhead remnant (`文件`, `… 文件`).
    Letterhead,
    /// Anything else.
    Body,
}

/// One raw line.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// 1-based raw line number.
    pub no: usize,
    /// Text with Markdown markup (`#`, leading `- `, `**`) and outer whitespace removed.
    pub text: String,
    /// Classification.
    pub kind: Kind,
}

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).expect("valid regex"));
    };
}

re!(CHAPTER, r"^第[一二三四五六七八九十百零〇]{1,4}章");
re!(ARTICLE, r"^第[一二三四五六七八九十百零〇]{1,5}条");
re!(CN_NUM, r"^[一二三四五六七八九十]{1,3}\s*、");
re!(PAREN_CN, r"^[（(]\s*[一二三四五六七八九十]{1,4}\s*[)）]");
re!(ARABIC_DOT, r"^\d{1,3}\s*[.．]");
re!(ARABIC_COMMA, r"^\d{1,3}\s*、");
re!(PAREN_ARABIC, r"^[（(]\s*\d{1,3}\s*[)）]");
re!(LETTER, r"^[A-Fa-f]\s*[.．、]\s*\S");
re!(
    DOCNO,
    r"^[（(]?\s*[\p{Han}A-Za-z]{1,12}\s*[〔\[（(]\s*(?:19|20)\d\d\s*[〕\]）)]\s*\d{1,4}\s*号\s*[)）]?$"
);
re!(
    DATE,
    r"^[（(]?\s*(?:19|20)\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*[)）]?$"
);
re!(
    META,
    r"^[（(]?(?:责任单位|牵头单位|配合单位|配合部门|责任部门|责任科室|牵头领导|时序进度|时间节点|完成时限|联系人|联系方式|联系电话|邮\s*箱)\s*[：:]"
);
re!(
    MARK,
    r"^[（(](?:本文有删减|此件公开发布|此件主动公开|此页无正文|此件不公开|征求意见稿|草拟稿|样本|供参考)[)）]$"
);
re!(
    ISSUER,
    r"(?:局|厅|部|委|行|办公室|政府|分局|支行|监管组|委员会|联合会|国务院|小组|中心|管委会|市委|县委|党委|分行)$"
);

/// Characters that end a sentence or a clause; a line ending in one is complete.
pub(crate) const TERMINAL: &[char] = &['。', '！', '？', '；', '：', '?', '!', ';', ':'];

/// Document-type words that end a (sub-)document title.
const DOC_WORDS: &[&str] = &[
    "通知",
    "方案",
    "办法",
    "细则",
    "意见",
    "指南",
    "解读",
    "体系",
    "规定",
    "措施",
    "计划",
    "清单",
    "标准",
    "要点",
    "重点",
    "指引",
    "须知",
    "决定",
    "条例",
    "政策",
    "名单",
    "通告",
    "公告",
    "表",
    "申请书",
    "报告",
    "承诺书",
    "目录",
];

/// Whether `text` ends with a document-type word (a trailing （试行）-style parenthetical ignored).
#[must_use]
pub(crate) fn ends_with_doc_word(text: &str) -> bool {
    // Looks at the end only (the opening bracket is searched for only after a closing one), so
    // that it stays cheap on a long joined paragraph.
    let t = match text.ends_with(['）', ')']).then(|| text.rfind(['（', '('])) {
        Some(Some(i)) => &text[..i],
        _ => text,
    };
    DOC_WORDS.iter().any(|w| t.ends_with(w)) && t.chars().nth(5).is_some()
}

/// Removes Markdown markup that is not content: leading `#`s, a leading `- ` bullet, `**`.
#[must_use]
pub(crate) fn clean(raw: &str) -> String {
    let mut s = raw.trim();
    s = s.trim_start_matches('#').trim_start();
    if let Some(rest) = s.strip_prefix("- ") {
        s = rest.trim_start();
    }
    if s.contains("**") {
        s.replace("**", "").trim().to_string()
    } else {
        s.to_string()
    }
}

/// Heading marker at the start of `text`, if any.
#[must_use]
pub(crate) fn marker(text: &str) -> Option<Marker> {
    // Cheap first-character gate: most lines are not headings.
    let first = text.chars().next()?;
    if !(first.is_ascii_alphanumeric() || "第一二三四五六七八九十（(".contains(first)) {
        return None;
    }
    if CHAPTER.is_match(text) {
        return Some(Marker::Chapter);
    }
    if ARTICLE.is_match(text) {
        return Some(Marker::Article);
    }
    if CN_NUM.is_match(text) {
        return Some(Marker::CnNum);
    }
    if PAREN_CN.is_match(text) {
        return Some(Marker::ParenCn);
    }
    if let Some(m) = ARABIC_DOT.find(text) {
        // `1.5倍` is a number, not a heading.
        let next = text[m.end()..].chars().next();
        return match next {
            Some(c) if c.is_ascii_digit() => None,
            None => None,
            _ => Some(Marker::ArabicDot),
        };
    }
    if ARABIC_COMMA.is_match(text) {
        return Some(Marker::ArabicComma);
    }
    if PAREN_ARABIC.is_match(text) {
        return Some(Marker::ParenArabic);
    }
    if LETTER.is_match(text) {
        return Some(Marker::Letter);
    }
    None
}

/// Whether `text` is a stand-alone 文号 line.
#[must_use]
pub(crate) fn is_docno(text: &str) -> bool {
    text.len() <= 120 && text.ends_with(['号', ')', '）']) && DOCNO.is_match(text)
}

/// Whether `text` is a stand-alone date line.
#[must_use]
pub(crate) fn is_date(text: &str) -> bool {
    text.len() <= 60 && text.contains('年') && DATE.is_match(text)
}

/// Whether `text` looks like an issuing body (or several, space-separated).
#[must_use]
pub(crate) fn is_issuer(text: &str) -> bool {
    let n = text.chars().count();
    (2..=48).contains(&n)
        && !text.contains("关于")
        && !text
            .chars()
            .any(|c| "，。；：、,;:（）()《》“”\t|".contains(c))
        && ISSUER.is_match(text)
}

/// Classifies one cleaned line. `raw` is needed for table detection (TABs survive cleaning, the
/// leading `|` too).
#[must_use]
pub(crate) fn classify(raw: &str, text: &str) -> Kind {
    if text.is_empty() {
        return Kind::Blank;
    }
    if raw.contains('\t') || text.starts_with('|') {
        return Kind::Table;
    }
    if text.starts_with(['¹', '²', '³']) {
        return Kind::Footnote;
    }
    if text.starts_with(['（', '(']) && text.len() <= 40 && MARK.is_match(text) {
        return Kind::Mark;
    }
    if text == "文件"
        || (text.ends_with(" 文件") || text.ends_with("局文件")) && !text.contains('，')
    {
        return Kind::Letterhead;
    }
    if is_docno(text) {
        return Kind::DocNo;
    }
    if is_date(text) {
        return Kind::Date;
    }
    if text.contains([':', '：']) && META.is_match(text) {
        return Kind::Meta;
    }
    if let Some(m) = marker(text) {
        return Kind::Heading(m);
    }
    if is_issuer(text) {
        return Kind::Issuer;
    }
    Kind::Body
}

/// Splits `text` into classified lines (blank lines included, so indices map to line numbers).
#[must_use]
pub(crate) fn split(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .map(|(i, raw)| {
            let cleaned = clean(raw);
            let kind = classify(raw, &cleaned);
            Line {
                no: i + 1,
                text: cleaned,
                kind,
            }
        })
        .collect()
}

/// Normalises a 文号 for comparison: spaces and outer parentheses removed, brackets → 〔〕.
#[must_use]
pub(crate) fn norm_docno(text: &str) -> String {
    let s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let s = s
        .trim_start_matches(['（', '('])
        .trim_end_matches([')', '）']);
    let mut out = String::with_capacity(s.len());
    let mut seen_open = false;
    for c in s.chars() {
        match c {
            '[' | '（' | '(' | '〔' if !seen_open => {
                seen_open = true;
                out.push('〔');
            }
            ']' | '）' | ')' | '〕' if seen_open => out.push('〕'),
            _ => out.push(c),
        }
    }
    out
}

/// Key for fuzzy title comparison: only CJK, letters and digits.
#[must_use]
pub(crate) fn title_key(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Removes a space between two CJK characters (titles only): `加大对 中小企业` → `加大对中小企业`.
#[must_use]
pub(crate) fn squeeze_cjk_spaces(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
            let next = chars.get(i + 1).copied();
            let cjk = |o: Option<char>| o.is_some_and(|c| !c.is_ascii());
            if cjk(prev) && cjk(next) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_by_scheme() {
        let cases = [
            ("一、财政政策（7 项）", Some(Marker::CnNum)),
            ("（一）指导思想", Some(Marker::ParenCn)),
            ("(一) 确保实现小微企业融资", Some(Marker::ParenCn)),
            ("(十一) 开展", Some(Marker::ParenCn)),
            ("6. 扩大实施社保费缓缴政策。", Some(Marker::ArabicDot)),
            ("1.5倍以上", None),
            ("1、营业执照", Some(Marker::ArabicComma)),
            ("（1）申报", Some(Marker::ParenArabic)),
            ("A. 5%以上（20 分）", Some(Marker::Letter)),
            ("第一章 总 则", Some(Marker::Chapter)),
            ("第二十六条 本细则", Some(Marker::Article)),
            ("A股上市", None),
        ];
        for (text, want) in cases {
            assert_eq!(marker(text), want, "help: {text}");
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(
            classify("国发〔2022〕12号", "国发〔2022〕12号"),
            Kind::DocNo
        );
        assert_eq!(classify("", "(新银发[2021]37号)"), Kind::DocNo);
        assert_eq!(classify("", "银保监办发〔2022〕37 号"), Kind::DocNo);
        assert_eq!(classify("", "豫 xxxx 免罚决字〔xxx〕x 号"), Kind::Body);
        assert_eq!(classify("", "2022 年 4 月 29 日"), Kind::Date);
        assert_eq!(classify("", "中国人民银行郑州中心支行"), Kind::Issuer);
        assert_eq!(classify("", "责任单位：市财政局、税务局"), Kind::Meta);
        assert_eq!(classify("", "(本文有删减)"), Kind::Mark);
        assert_eq!(
            classify("", "中国人民银行济源市中心支行 文件"),
            Kind::Letterhead
        );
        assert_eq!(classify("a\tb", "a\tb"), Kind::Table);
        assert_eq!(
            clean("## **（一）保持信贷稳定增长**"),
            "（一）保持信贷稳定增长"
        );
    }

    #[test]
    fn docno_normalised() {
        assert_eq!(norm_docno("(新银发[2021]37号)"), "新银发〔2021〕37号");
        assert_eq!(norm_docno("新金（2021）68号"), "新金〔2021〕68号");
        assert_eq!(
            norm_docno("银保监办发〔2022〕37 号"),
            "银保监办发〔2022〕37号"
        );
    }
}
