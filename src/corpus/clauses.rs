//! One document's lines → header metadata, heading tree and retrievable units (measures,
//! articles, paragraphs, FAQ pairs, table rows), plus the lines it deliberately discards.

use std::collections::HashSet;

use super::lines::{Kind, Line, Marker, ends_with_doc_word, squeeze_cjk_spaces};
use super::repair::{Para, paragraphs};
use super::{ClauseKind, DiscardClass};

/// Longest unit before it is split at sentence boundaries.
const MAX_UNIT: usize = 600;
/// Sibling items shorter than this merge into their parent item.
const TINY: usize = 50;
/// Title lines are collected until the title is this long (the longest real title is about 80
/// characters): a file of thousands of short unpunctuated lines has no title that long, and a
/// title copied into every clause's index entry must stay short.
const MAX_TITLE: usize = 150;
/// A unit under construction.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    pub kind: ClauseKind,
    pub path: Vec<String>,
    pub text: String,
    /// `(byte offset where the line's text starts, line number)`; offset 0 for heading-only lines.
    pub lines: Vec<(usize, usize)>,
}

impl Unit {
    fn new(kind: ClauseKind, path: Vec<String>) -> Self {
        Unit {
            kind,
            path,
            text: String::new(),
            lines: Vec::new(),
        }
    }

    fn append(&mut self, p: &Para) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        let base = self.text.len();
        self.text.push_str(&p.text);
        // Offset of the first piece of each line (one lookup table: a paragraph of many joined
        // lines must not be searched once per line).
        let mut first_start = std::collections::HashMap::with_capacity(p.starts.len());
        for &(off, no) in &p.starts {
            first_start.entry(no).or_insert(off);
        }
        for &no in &p.lines {
            let off = first_start.get(&no).copied().unwrap_or(0);
            self.lines.push((base + off, no));
        }
    }
}

/// Header metadata of one document.
#[derive(Clone, Debug, Default)]
pub(crate) struct Meta {
    pub title: String,
    pub docno: Option<String>,
    pub issuer: Option<String>,
    pub date: Option<String>,
    pub draft: bool,
    pub abridged: bool,
}

/// Result of building one document.
#[derive(Clone, Debug, Default)]
pub(crate) struct Built {
    pub meta: Meta,
    pub units: Vec<Unit>,
    pub discards: Vec<(usize, DiscardClass)>,
}

/// Short title of a heading: text before the first `。`/`？`, at most 40 chars.
#[must_use]
pub(crate) fn short_title(text: &str) -> String {
    let cut = text.find(['。', '？', '?']).map_or(text, |i| &text[..i]);
    let first_line = cut.lines().next().unwrap_or_default();
    first_line
        .chars()
        .take(40)
        .collect::<String>()
        .trim()
        .to_string()
}

fn iso_date(text: &str) -> Option<String> {
    let digits: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    match digits[..] {
        [y, m, d, ..] if (1..=12).contains(&m) && (1..=31).contains(&d) => {
            Some(format!("{y:04}-{m:02}-{d:02}"))
        }
        _ => None,
    }
}

fn is_title_para(p: &Para) -> bool {
    p.kind == Kind::Body
        && !p.text.contains(['。', '；', '！', '？', '：', ':', '，'])
        && p.text.chars().count() <= 90
        && !is_annex_marker(&p.text)
}

pub(crate) fn is_annex_marker(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("附件") && t.chars().count() <= 5 && !t.contains('：')
}

fn norm_row(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '|' && *c != '-' && *c != ':')
        .collect()
}

fn is_separator_row(text: &str) -> bool {
    text.starts_with('|')
        && text
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

/// Builds the units of one document from `lines` (the document's own line range).
#[must_use]
pub(crate) fn build(lines: &[Line]) -> Built {
    let mut paras = paragraphs(lines);
    let mut b = Builder::default();
    b.units.push(Unit::new(ClauseKind::Header, Vec::new()));
    for i in 0..paras.len() {
        let (done, rest) = paras.split_at_mut(i + 1);
        b.step(&done[i], rest);
        // Steps only look ahead: this paragraph is now in a unit (or discarded).
        done[i].release();
    }
    b.finish()
}

#[derive(Default)]
struct Builder {
    meta: Meta,
    units: Vec<Unit>,
    discards: Vec<(usize, DiscardClass)>,
    issuers: Vec<String>,
    letterhead: Option<String>,
    title: Vec<String>,
    /// Characters in `title`.
    title_chars: usize,
    header_open: bool,
    header_body: usize,
    stack: Vec<(Marker, String)>,
    /// Lines of pure heading nodes waiting for the next unit.
    pending: Vec<usize>,
    pending_title: bool,
    title_open: bool,
    /// Sub-document titles seen so far.
    titles: usize,
    /// The 主送 line was seen: no more title lines.
    addressed: bool,
    table_headers: HashSet<String>,
    started: bool,
}

impl Builder {
    fn discard(&mut self, p: &Para, class: DiscardClass) {
        self.discards.extend(p.lines.iter().map(|&l| (l, class)));
    }

    fn path(&self) -> Vec<String> {
        self.stack.iter().map(|s| s.1.clone()).collect()
    }

    fn push_unit(&mut self, kind: ClauseKind, p: &Para) {
        let mut u = Unit::new(kind, self.path());
        u.lines.extend(self.pending.drain(..).map(|l| (0, l)));
        u.append(p);
        self.units.push(u);
    }

    fn header(&mut self) -> &mut Unit {
        &mut self.units[0]
    }

    fn step(&mut self, p: &Para, rest: &[Para]) {
        if !self.started {
            self.started = true;
            self.header_open = true;
        }
        if p.text.contains("本文有删减") {
            self.meta.abridged = true;
        }
        if p.text.contains("征求意见稿") || p.text.contains("草拟稿") {
            self.meta.draft = true;
        }
        match p.kind {
            Kind::Mark | Kind::Letterhead => {
                if p.kind == Kind::Letterhead && self.letterhead.is_none() {
                    let t = p.text.trim_end_matches("文件").trim();
                    if !t.is_empty() {
                        self.letterhead = Some(t.to_string());
                    }
                }
                return self.discard(p, DiscardClass::Letterhead);
            }
            Kind::Date => {
                if self.meta.date.is_none() {
                    self.meta.date = iso_date(&p.text);
                }
                if self.header_body > 0 {
                    self.header_open = false;
                }
                return self.discard(p, DiscardClass::Signature);
            }
            Kind::Issuer if self.is_signature(rest) => {
                if self.header_body > 0 {
                    self.header_open = false;
                }
                return self.discard(p, DiscardClass::Signature);
            }
            _ => {}
        }
        if self.header_open && self.header_step(p) {
            return;
        }
        self.header_open = false;
        self.body_step(p, rest);
    }

    /// A signature: issuer lines followed by a date, or trailing issuer lines at the end.
    fn is_signature(&self, rest: &[Para]) -> bool {
        if self.header_open && self.header_body == 0 {
            return false;
        }
        for q in rest.iter().take(6) {
            match q.kind {
                Kind::Date => return true,
                Kind::Issuer | Kind::Mark | Kind::Letterhead => {}
                _ => return false,
            }
        }
        true
    }

    /// Consumes `p` into the header if it belongs there.
    fn header_step(&mut self, p: &Para) -> bool {
        match p.kind {
            Kind::Issuer if self.header_body == 0 && self.title.is_empty() => {
                self.issuers.push(p.text.clone());
            }
            Kind::DocNo if self.meta.docno.is_none() => {
                self.meta.docno = Some(super::lines::norm_docno(&p.text));
            }
            Kind::Body
                if self.header_body == 0
                    && !self.addressed
                    && self.title_chars < MAX_TITLE
                    && is_title_para(p) =>
            {
                self.title_chars += p.text.chars().count();
                self.title.push(p.text.clone());
            }
            Kind::Body
                if self.header_body == 0
                    && p.text.ends_with(['：', ':'])
                    && p.text.chars().count() <= 120 =>
            {
                self.addressed = true;
            }
            Kind::Body | Kind::Meta if self.header_body == 0 => {
                self.header_body += 1;
            }
            _ => return false,
        }
        self.header().append(p);
        true
    }

    fn body_step(&mut self, p: &Para, rest: &[Para]) {
        match p.kind {
            Kind::Table => self.table_row(p, rest),
            Kind::Heading(m) => {
                if let Some(pos) = self.stack.iter().position(|s| s.0 == m) {
                    self.stack.truncate(pos);
                }
                self.stack.push((m, short_title(&p.text)));
                let kind = if m == Marker::Article {
                    ClauseKind::Article
                } else if p.text.trim_end().ends_with(['？', '?']) {
                    ClauseKind::Faq
                } else {
                    ClauseKind::Measure
                };
                self.push_unit(kind, p);
                self.pending_title = false;
                self.title_open = false;
            }
            Kind::Meta => self.append_or_paragraph(p),
            _ => {
                if is_annex_marker(&p.text) {
                    self.pending.extend(&p.lines);
                    self.pending_title = true;
                    return;
                }
                if is_title_para(p) && self.sub_title(p, rest) {
                    return;
                }
                self.title_open = false;
                self.pending_title = false;
                self.append_or_paragraph(p);
            }
        }
    }

    /// A sub-document title (annex, attached 方案) opens a new tree; a split title continues.
    fn sub_title(&mut self, p: &Para, rest: &[Para]) -> bool {
        let complete = ends_with_doc_word(&p.text);
        let t = squeeze_cjk_spaces(&p.text);
        if self.title_open {
            if let Some(last) = self.stack.last_mut() {
                last.1 = (last.1.clone() + &t).chars().take(60).collect();
            }
            self.pending.extend(&p.lines);
            self.title_open = !complete;
            return true;
        }
        let next_completes = rest
            .first()
            .is_some_and(|q| is_title_para(q) && ends_with_doc_word(&q.text));
        if !(self.pending_title || complete || next_completes) {
            return false;
        }
        self.stack.clear();
        // The first attached text (the 印发 notice's 方案) is the document itself; later titles
        // (annexes, 细则) root their own subtree.
        if self.titles > 0 {
            self.stack
                .push((Marker::Title, t.chars().take(60).collect()));
        }
        self.titles += 1;
        self.pending.extend(&p.lines);
        self.title_open = !complete && next_completes;
        self.pending_title = false;
        true
    }

    fn append_or_paragraph(&mut self, p: &Para) {
        let path = self.path();
        let last = self.units.len() - 1;
        let attach = last > 0
            && self.pending.is_empty()
            && matches!(
                self.units[last].kind,
                ClauseKind::Measure | ClauseKind::Article | ClauseKind::Faq
            )
            && self.units[last].path == path;
        if attach || (p.kind == Kind::Meta && last > 0 && self.pending.is_empty()) {
            self.units[last].append(p);
        } else {
            self.push_unit(ClauseKind::Paragraph, p);
        }
    }

    fn table_row(&mut self, p: &Para, rest: &[Para]) {
        if is_separator_row(&p.text) {
            return self.discard(p, DiscardClass::TableHeader);
        }
        let key = norm_row(&p.text);
        let pipe_header = rest.first().is_some_and(|q| is_separator_row(&q.text));
        if self.table_headers.contains(&key) {
            return self.discard(p, DiscardClass::TableHeader);
        }
        let prev_is_table = self
            .units
            .last()
            .is_some_and(|u| u.kind == ClauseKind::TableRow);
        if pipe_header || !prev_is_table {
            self.table_headers.insert(key);
        }
        self.push_unit(ClauseKind::TableRow, p);
    }

    fn finish(mut self) -> Built {
        let title = squeeze_cjk_spaces(&self.title.concat());
        self.meta.title = title;
        if self.meta.title.is_empty() {
            self.meta.title = self
                .units
                .iter()
                .find(|u| !u.text.is_empty())
                .map(|u| short_title(&u.text))
                .unwrap_or_default();
        }
        self.meta.issuer = if self.issuers.is_empty() {
            let prefix = self
                .meta
                .title
                .find("关于")
                .map(|i| self.meta.title[..i].trim().to_string());
            prefix
                .filter(|p| super::lines::is_issuer(p))
                .or(self.letterhead.clone())
        } else {
            Some(self.issuers.join("、"))
        };
        if !self.pending.is_empty() {
            let lines = std::mem::take(&mut self.pending);
            let last = self.units.len() - 1;
            self.units[last]
                .lines
                .extend(lines.into_iter().map(|l| (0, l)));
        }
        let units = postprocess(self.units);
        Built {
            meta: self.meta,
            units,
            discards: self.discards,
        }
    }
}

/// Drops pure heading nodes (their lines go to the next unit), merges tiny items into their
/// parent, splits long units.
fn postprocess(units: Vec<Unit>) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::with_capacity(units.len());
    let mut carry: Vec<(usize, usize)> = Vec::new();
    let n = units.len();
    let mut it = units.into_iter().peekable();
    let mut idx = 0;
    while let Some(mut u) = it.next() {
        idx += 1;
        u.lines.splice(0..0, carry.drain(..).map(|l| (0, l.1)));
        let body = u.text.trim_end_matches(['。', '：', ':']);
        let heading_only = u.kind == ClauseKind::Measure
            && !u.text.contains('\n')
            && body.chars().count() <= 40
            && !body.contains(['。', '：', ':', '；']);
        let parent_of_next = it
            .peek()
            .is_some_and(|v| v.path.len() > u.path.len() && v.path.starts_with(&u.path));
        if heading_only && parent_of_next && idx < n {
            carry = u.lines;
            continue;
        }
        if u.text.is_empty()
            && u.kind != ClauseKind::Header
            && let Some(prev) = out.last_mut()
        {
            prev.lines.extend(u.lines);
            continue;
        }
        let tiny = u.text.chars().count() < TINY;
        if tiny && let Some(prev) = out.last_mut() {
            let child = matches!(u.kind, ClauseKind::Measure)
                && prev.kind == ClauseKind::Measure
                && prev.path.len() < u.path.len()
                && u.path.starts_with(&prev.path);
            let para = u.kind == ClauseKind::Paragraph
                && prev.kind != ClauseKind::TableRow
                && prev.path == u.path;
            if child || para {
                let base = prev.text.len() + 1;
                prev.text.push('\n');
                prev.text.push_str(&u.text);
                prev.lines
                    .extend(u.lines.into_iter().map(|(o, l)| (o + base, l)));
                continue;
            }
        }
        out.push(u);
    }
    out.into_iter().flat_map(split_long).collect()
}

fn split_long(u: Unit) -> Vec<Unit> {
    if u.text.chars().count() <= MAX_UNIT || u.kind == ClauseKind::TableRow {
        return vec![u];
    }
    let mut bounds = Vec::new();
    for (i, c) in u.text.char_indices() {
        if matches!(c, '。' | '；' | '\n') {
            bounds.push(i + c.len_utf8());
        }
    }
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    let mut last_ok = None;
    for &b in &bounds {
        let len = u.text[start..b].chars().count();
        if len > MAX_UNIT
            && let Some(ok) = last_ok
        {
            pieces.push((start, ok));
            start = ok;
        }
        last_ok = Some(b);
    }
    let tail = u.text.len();
    if start < tail {
        match pieces.last_mut() {
            Some(last) if u.text[start..].chars().count() < 100 => last.1 = tail,
            _ => pieces.push((start, tail)),
        }
    }
    pieces
        .into_iter()
        .enumerate()
        .map(|(k, (a, b))| {
            let lines = u
                .lines
                .iter()
                .filter(|l| if k == 0 { l.0 < b } else { l.0 >= a && l.0 < b })
                .copied()
                .collect();
            Unit {
                kind: u.kind,
                path: u.path.clone(),
                text: u.text[a..b].trim_matches('\n').to_string(),
                lines,
            }
        })
        .collect()
}
