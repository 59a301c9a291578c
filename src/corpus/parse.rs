//! One file → documents, clauses and discards: front matter, TOC anchoring, nested originals,
//! per-document metadata (level, region, validity) and clause records.

use super::clauses::{self, Unit};
use super::documents::{self, Span};
use super::lines::{self, Kind, Line, Marker, title_key};
use super::{
    Clause, ClauseKind, Corpus, Discard, DiscardClass, Document, Level, SourceRef,
    assign_clause_ids, tags,
};
use crate::places::Places;

fn discard_range(
    lines: &[Line],
    from: usize,
    to: usize,
    class: DiscardClass,
    file: &str,
    out: &mut Vec<Discard>,
) {
    for l in lines.iter().take(to).skip(from) {
        if l.kind != Kind::Blank {
            out.push(Discard {
                file: file.to_string(),
                line: l.no,
                class,
            });
        }
    }
}

/// Part header at the tail of a compendium span (`第二章 …` before the next document).
fn tail_part_header(lines: &[Line], start: usize, end: usize) -> usize {
    let tail: Vec<usize> = (start..end)
        .rev()
        .filter(|&i| lines[i].kind != Kind::Blank)
        .take(3)
        .collect();
    for &i in tail.iter().rev() {
        let l = &lines[i];
        let after: Vec<usize> = (i + 1..end)
            .filter(|&j| lines[j].kind != Kind::Blank)
            .collect();
        let titled_rest = after
            .iter()
            .all(|&j| documents::is_title_fragment(&lines[j]))
            && after.len() <= 1;
        if l.kind == Kind::Heading(Marker::Chapter)
            && !l.text.contains('。')
            && titled_rest
            && i > start
        {
            return i;
        }
    }
    end
}

fn spans(
    places: &Places,
    lines: &[Line],
    file: &str,
    discards: &mut Vec<Discard>,
) -> (Vec<Span>, Option<(Level, String)>) {
    let mut top: Vec<(usize, Option<String>)> = Vec::new();
    let home;
    let compendium;
    match documents::find_toc(lines) {
        Some(toc) => {
            discard_range(lines, 0, toc.start, DiscardClass::Cover, file, discards);
            discard_range(
                lines,
                toc.start,
                toc.end + 1,
                DiscardClass::Toc,
                file,
                discards,
            );
            let cover: String = lines[..toc.start].iter().map(|l| l.text.as_str()).collect();
            home = places.in_document_text(&cover);
            top = documents::anchor_toc(lines, &toc);
            match top.first() {
                Some(&(first, _)) => {
                    discard_range(
                        lines,
                        toc.end + 1,
                        first,
                        DiscardClass::PartHeader,
                        file,
                        discards,
                    );
                }
                None => top.push((toc.end + 1, None)),
            }
            compendium = true;
        }
        None => {
            let head: String = lines.iter().take(20).map(|l| l.text.as_str()).collect();
            home = places.in_document_text(&head);
            top.push((0, None));
            compendium = false;
        }
    }
    let mut out = Vec::new();
    for (k, (start, part)) in top.iter().enumerate() {
        let mut end = top.get(k + 1).map_or(lines.len(), |t| t.0);
        if compendium {
            let cut = tail_part_header(lines, *start, end);
            discard_range(lines, cut, end, DiscardClass::PartHeader, file, discards);
            end = cut;
        }
        let nested = documents::nested_starts(lines, *start, end);
        let parent = out.len();
        let first_end = nested.first().copied().unwrap_or(end);
        out.push(Span {
            start: *start,
            end: first_end,
            part: part.clone(),
            parent: None,
        });
        for (j, &s) in nested.iter().enumerate() {
            let e = nested.get(j + 1).copied().unwrap_or(end);
            out.push(Span {
                start: s,
                end: e,
                part: part.clone(),
                parent: Some(parent),
            });
        }
    }
    (out, home)
}

fn validity(units: &[Unit]) -> Option<String> {
    for u in units {
        for sentence in u.text.split(['。', '\n']) {
            let s = sentence.trim();
            let hit = s.contains("有效期")
                || (s.contains("之日起")
                    && (s.contains("施行") || s.contains("实施") || s.contains("执行")))
                || (s.contains("起执行") || s.contains("起实施") || s.contains("起施行"))
                || s.contains("截止");
            if hit && s.chars().count() <= 120 {
                return Some(s.to_string());
            }
        }
    }
    None
}

fn doc_id(docno: Option<&str>, title: &str, file: &str, ordinal: usize) -> String {
    let key = match docno {
        Some(d) => format!("docno:{d}"),
        None => format!("title:{}@{file}#{ordinal}", title_key(title)),
    };
    format!("d{}", crate::digest::sha256_hex(key.as_bytes(), 11))
}

/// Parses one file; document regions come from `places`.
#[must_use]
pub(crate) fn parse(file: &str, text: &str, places: &Places) -> Corpus {
    let lines = lines::split(text);
    let mut corpus = Corpus::default();
    let (spans, home) = spans(places, &lines, file, &mut corpus.discards);
    let mut doc_index: Vec<Option<usize>> = Vec::with_capacity(spans.len());
    let mut title_counts = std::collections::HashMap::<String, usize>::new();
    for span in &spans {
        let slice = &lines[span.start.min(lines.len())..span.end.min(lines.len())];
        let Some(first) = slice.iter().find(|l| l.kind != Kind::Blank) else {
            doc_index.push(None);
            continue;
        };
        let built = clauses::build(slice);
        let m = &built.meta;
        let (level, region) = documents::region(
            places,
            m.docno.as_deref(),
            &m.title,
            m.issuer.as_deref(),
            span.part.as_deref(),
            home.as_ref(),
        );
        let n = title_counts.entry(title_key(&m.title)).or_insert(0);
        *n += 1;
        let id = doc_id(m.docno.as_deref(), &m.title, file, *n);
        let parent = span
            .parent
            .and_then(|p| doc_index.get(p).copied().flatten());
        let d = corpus.documents.len();
        corpus.documents.push(Document {
            id,
            title: m.title.clone(),
            doc_number: m.docno.clone(),
            issuer: m.issuer.clone(),
            date: m.date.clone(),
            level,
            region,
            sources: vec![SourceRef {
                file: file.to_string(),
                line: first.no,
            }],
            draft: m.draft,
            abridged: m.abridged,
            parent: parent.map(|p| corpus.documents[p].id.clone()),
            validity: validity(&built.units),
        });
        doc_index.push(Some(d));
        for (line, class) in &built.discards {
            corpus.discards.push(Discard {
                file: file.to_string(),
                line: *line,
                class: *class,
            });
        }
        for u in built.units {
            if u.lines.is_empty() && u.text.is_empty() {
                continue;
            }
            let mut line_nos: Vec<usize> = u.lines.iter().map(|l| l.1).collect();
            line_nos.sort_unstable();
            line_nos.dedup();
            let first_line = line_nos.first().copied().unwrap_or(first.no);
            corpus.clauses.push(Clause {
                id: String::new(),
                doc: d,
                kind: u.kind,
                path: u.path,
                departments: if u.kind == ClauseKind::Header {
                    Vec::new()
                } else {
                    tags::departments(&u.text)
                },
                deadline: tags::deadline(&u.text),
                text: u.text,
                sources: vec![SourceRef {
                    file: file.to_string(),
                    line: first_line,
                }],
                lines: line_nos,
            });
        }
    }
    assign_clause_ids(&mut corpus);
    corpus
}
