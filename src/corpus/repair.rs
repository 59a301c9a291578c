//! Page-break repair: joins classified lines into logical paragraphs (no separator, characters
//! never rewritten), re-attaches orphan fragments, lets footnotes float out of split paragraphs and
//! splits an inline `**第九条**` off the line that swallowed it.

use std::sync::LazyLock;

use regex::Regex;

use super::lines::{Kind, Line, Marker, TERMINAL, classify, ends_with_doc_word};

static INLINE_ARTICLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"。(第[一二三四五六七八九十百零]{1,5}条)\s").expect("valid regex")
});

/// A logical paragraph: one or more raw lines joined.
#[derive(Clone, Debug)]
pub(crate) struct Para {
    /// Raw line numbers this paragraph owns (a line split by an inline article is owned once).
    pub lines: Vec<usize>,
    /// `(byte offset in text, line number)` where each joined piece starts.
    pub starts: Vec<(usize, usize)>,
    /// Joined text.
    pub text: String,
    /// Kind of the first line.
    pub kind: Kind,
    /// Characters in `text`, kept as pieces are joined (counting again would make joining a
    /// long run of lines quadratic).
    chars: usize,
    /// Whether `text` holds inner punctuation (see [`has_inner_punct`]), kept the same way.
    inner_punct: bool,
}

impl Para {
    fn new(piece: Piece) -> Self {
        Para {
            lines: if piece.owns {
                vec![piece.no]
            } else {
                Vec::new()
            },
            starts: vec![(0, piece.no)],
            chars: piece.text.chars().count(),
            inner_punct: has_inner_punct(&piece.text),
            text: piece.text,
            kind: piece.kind,
        }
    }

    /// Frees the text and line lists of a paragraph that has been consumed (a large file's
    /// paragraphs would otherwise be held twice, here and in the clauses built from them).
    pub(crate) fn release(&mut self) {
        self.text = String::new();
        self.lines = Vec::new();
        self.starts = Vec::new();
    }

    fn push(&mut self, piece: &Piece) {
        self.starts.push((self.text.len(), piece.no));
        self.text.push_str(&piece.text);
        self.chars += piece.text.chars().count();
        self.inner_punct |= has_inner_punct(&piece.text);
        if piece.owns {
            self.lines.push(piece.no);
        }
    }
}

struct Piece {
    no: usize,
    text: String,
    kind: Kind,
    owns: bool,
}

/// The non-blank lines as pieces, an inline `第X条` split off; produced one at a time, not
/// collected (a large file's text is held in its lines and paragraphs already).
fn pieces(lines: &[Line]) -> impl Iterator<Item = Piece> + '_ {
    lines
        .iter()
        .filter(|l| l.kind != Kind::Blank)
        .flat_map(|l| {
            let split_at = match l.kind {
                Kind::Body | Kind::Heading(_) => {
                    INLINE_ARTICLE.captures(&l.text).and_then(|c| c.get(1))
                }
                _ => None,
            };
            let (first, second) = match split_at {
                Some(m) => {
                    let (a, b) = l.text.split_at(m.start());
                    let rest = Piece {
                        no: l.no,
                        text: b.to_string(),
                        kind: classify("", b),
                        owns: false,
                    };
                    (a.to_string(), Some(rest))
                }
                None => (l.text.clone(), None),
            };
            let first = Piece {
                no: l.no,
                text: first,
                kind: l.kind,
                owns: true,
            };
            std::iter::once(first).chain(second)
        })
}

fn has_inner_punct(text: &str) -> bool {
    text.chars().any(|c| "，。、；,".contains(c))
}

/// Whether `p` ends with a closed responsibility tag, e.g. `…按职责分工负责）`.
fn ends_with_tag(p: &str) -> bool {
    if !p.ends_with(['）', ')']) {
        return false;
    }
    let tail: String = p
        .chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    ["负责", "单位", "部门", "牵头"]
        .iter()
        .any(|k| tail.contains(k))
}

/// Whether the next body piece continues `p`. Looks only at the end of `p` and at counts kept
/// while joining (a heading is scanned while it is at most 28 characters long), so joining a
/// long run of lines stays linear.
fn can_continue(p: &Para) -> bool {
    let open = match p.kind {
        Kind::Body => true,
        Kind::Heading(Marker::Title) => false,
        // A heading's own marker may hold a `、`: only sentence punctuation opens it.
        // 第X条 always carries its sentence on the same line.
        Kind::Heading(Marker::Article) => true,
        Kind::Heading(_) | Kind::Meta => p.chars > 28 || p.text.contains(['。', '，', '；', ',']),
        _ => false,
    };
    open && !p.text.ends_with(TERMINAL)
        && !ends_with_tag(&p.text)
        && (p.kind == Kind::Heading(Marker::Article)
            || p.inner_punct
            || (p.chars > 45 && !ends_with_doc_word(&p.text)))
}

fn is_orphan(n: &Piece) -> bool {
    n.kind == Kind::Body && n.text.chars().count() <= 6 && n.text.ends_with(['。', '；'])
}

/// Joins the non-blank lines of `lines` into paragraphs.
#[must_use]
pub(crate) fn paragraphs(lines: &[Line]) -> Vec<Para> {
    let mut out: Vec<Para> = Vec::new();
    let mut footnotes: Vec<Para> = Vec::new();
    let mut cur: Option<Para> = None;
    for piece in pieces(lines) {
        if piece.kind == Kind::Footnote {
            footnotes.push(Para::new(piece));
            continue;
        }
        let join = match &cur {
            Some(p) if p.kind == Kind::Table => false,
            Some(p) if p.kind == Kind::Body && p.chars == 1 => piece.kind == Kind::Body,
            Some(p) if is_orphan(&piece) => {
                !matches!(p.kind, Kind::Table | Kind::DocNo | Kind::Date)
            }
            Some(p) => piece.kind == Kind::Body && can_continue(p),
            None => false,
        };
        if join {
            if let Some(p) = cur.as_mut() {
                p.push(&piece);
            }
            continue;
        }
        if let Some(p) = cur.take() {
            out.push(p);
            out.append(&mut footnotes);
        }
        cur = Some(Para::new(piece));
    }
    if let Some(p) = cur {
        out.push(p);
    }
    out.append(&mut footnotes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::lines::split;

    fn texts(src: &str) -> Vec<String> {
        paragraphs(&split(src))
            .into_iter()
            .map(|p| p.text)
            .collect()
    }

    #[test]
    fn page_break_split_is_joined() {
        // 000 L83/85.
        let src = "一、加大纾困资金支持力度。鼓励地方安排中小企业纾困资金，（财政部、工业和信息化部等按职\n\n责分工负责)\n\n二、进一步推进减税降费。";
        assert_eq!(
            texts(src),
            vec![
                "一、加大纾困资金支持力度。鼓励地方安排中小企业纾困资金，（财政部、工业和信息化部等按职责分工负责)",
                "二、进一步推进减税降费。"
            ]
        );
    }

    #[test]
    fn orphan_fragment_joins_previous() {
        // 000 L141/143.
        let src = "多方参与，协同联动。健全信用信息共享协调机制，发挥政府在组织协调、信息整合等方面的作用，形成工作合\n\n力。\n\n依法依规，保护权益。";
        let t = texts(src);
        assert_eq!(t.len(), 2, "help: {t:?}");
        assert!(t[0].ends_with("形成工作合力。"));
    }

    #[test]
    fn footnote_floats_out_of_split_paragraph() {
        // 000 L1942/1944/1946.
        let src = "各银行业金融机构要建立专门机制，负责制定工作目\n\n¹ 根据国家工信部有关规定。\n\n标、把牢工作方向，统筹推进。";
        let t = texts(src);
        assert_eq!(
            t[0],
            "各银行业金融机构要建立专门机制，负责制定工作目标、把牢工作方向，统筹推进。"
        );
        assert_eq!(t[1], "¹ 根据国家工信部有关规定。");
    }

    #[test]
    fn titles_and_headings_do_not_join() {
        let src = "加强信用信息共享应用促进中小微企业融资实施方案\n\n中小微企业是稳增长、促就业、保民生的重要力量。\n\n（一）指导思想\n\n以习近平新时代中国特色社会主义思想为指导";
        assert_eq!(texts(src).len(), 4);
    }

    #[test]
    fn inline_article_is_split() {
        let src = "第八条 优质中小企业评价和认定工作坚持政策引领。**第九条** 工业和信息化部发布并适时更新创新型中小企业\n\n评价标准（附件1）。";
        let paras = paragraphs(&split(src));
        assert_eq!(paras.len(), 2, "{paras:?}");
        assert_eq!(
            paras[1].text,
            "第九条 工业和信息化部发布并适时更新创新型中小企业评价标准（附件1）。"
        );
        assert_eq!(paras[0].lines, vec![1]);
        assert_eq!(paras[1].lines, vec![3]);
    }
}
