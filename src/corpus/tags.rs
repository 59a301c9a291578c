//! Responsibility tags: `责任单位：…`, `（…牵头，…按职责分工负责）`, `时序进度：…` parsed into
//! [`Department`]s and a deadline. The tag text itself stays in the clause text. The tag labels
//! (`ROLES`, `DEADLINES`) are markers of the compendium's format, part of this grammar like its
//! brackets and separators, so they stay in code (vocabulary lives in `corpus_words.tsv`).

use super::Department;

const ROLES: &[&str] = &[
    "责任单位",
    "牵头单位",
    "配合单位",
    "配合部门",
    "责任部门",
    "责任科室",
    "配合科室",
    "牵头领导",
];
const DEADLINES: &[&str] = &["时序进度", "时间节点", "完成时限"];

fn is_open(c: char) -> bool {
    matches!(c, '（' | '(' | '〔' | '[')
}

fn is_close(c: char) -> bool {
    matches!(c, '）' | ')' | '〕' | ']')
}

/// Value after `role：` up to the end of the line, a `；` at depth 0, or the bracket closing the
/// enclosing tag.
fn value_after(chars: &[char], from: usize) -> String {
    let mut depth = 0i32;
    let mut out = String::new();
    for &c in chars.iter().skip(from) {
        if c == '\n' || ((c == '；' || c == ';') && depth == 0) {
            break;
        }
        if is_open(c) {
            depth += 1;
        } else if is_close(c) {
            if depth == 0 {
                break;
            }
            depth -= 1;
        }
        out.push(c);
    }
    out.trim().trim_end_matches(['。', '，', ',']).to_string()
}

/// Splits a unit list on `、，,；` at bracket depth 0.
fn split_units(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in list.chars() {
        if is_open(c) {
            depth += 1;
        } else if is_close(c) {
            depth -= 1;
        }
        if depth <= 0 && matches!(c, '、' | '，' | ',' | '；' | ';') {
            push_unit(&mut out, &cur);
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    push_unit(&mut out, &cur);
    out
}

fn push_unit(out: &mut Vec<String>, unit: &str) {
    let u = unit.trim().trim_end_matches('。');
    let u = u
        .strip_suffix("等部门")
        .or_else(|| u.strip_suffix("等单位"))
        .unwrap_or(u);
    let u = u.trim_end_matches('等').trim();
    if !u.is_empty() && u.chars().count() <= 40 {
        out.push(u.to_string());
    }
}

fn labelled(text: &str, out: &mut Vec<Department>) {
    if !ROLES.iter().any(|r| text.contains(r)) {
        return;
    }
    let chars: Vec<char> = text.chars().collect();
    for role in ROLES.iter().filter(|r| text.contains(*r)) {
        let rc: Vec<char> = role.chars().collect();
        let mut i = 0;
        while i + rc.len() < chars.len() {
            if chars[i..i + rc.len()] == rc[..] && matches!(chars[i + rc.len()], '：' | ':') {
                let value = value_after(&chars, i + rc.len() + 1);
                for name in split_units(&value) {
                    out.push(Department {
                        role: (*role).to_string(),
                        name,
                    });
                }
                i += rc.len();
            }
            i += 1;
        }
    }
}

/// `（国家发展改革委、人民银行牵头，…按职责分工负责）`: scan back from `负责）` to its opening bracket.
fn national(text: &str, out: &mut Vec<Department>) {
    if !text.contains("负责") {
        return;
    }
    let chars: Vec<char> = text.chars().collect();
    for end in 0..chars.len() {
        if !is_close(chars[end]) || end < 2 || chars[end - 2..end] != ['负', '责'] {
            continue;
        }
        let mut depth = 0i32;
        let mut start = None;
        for j in (0..end).rev() {
            if is_close(chars[j]) {
                depth += 1;
            } else if is_open(chars[j]) {
                if depth == 0 {
                    start = Some(j);
                    break;
                }
                depth -= 1;
            }
        }
        let Some(start) = start else { continue };
        let inner: String = chars[start + 1..end].iter().collect();
        if ROLES.iter().any(|r| inner.contains(r)) {
            continue;
        }
        for seg in inner.split(['，', ',', '；']) {
            let (role, list) = if let Some(l) = seg.strip_suffix("牵头") {
                ("牵头", l)
            } else if let Some(l) = seg.strip_suffix("按职责分工负责") {
                ("负责", l)
            } else if let Some(l) = seg.strip_suffix("负责") {
                ("负责", l)
            } else {
                ("负责", seg)
            };
            for name in split_units(list) {
                out.push(Department {
                    role: role.to_string(),
                    name,
                });
            }
        }
    }
}

/// Departments named by every responsibility tag in `text`.
#[must_use]
pub(crate) fn departments(text: &str) -> Vec<Department> {
    let mut out = Vec::new();
    labelled(text, &mut out);
    national(text, &mut out);
    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert((d.role.clone(), d.name.clone())));
    out
}

/// The first `时序进度` / `时间节点` value in `text`.
#[must_use]
pub(crate) fn deadline(text: &str) -> Option<String> {
    if !DEADLINES.iter().any(|k| text.contains(k)) {
        return None;
    }
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['（', '(']);
        for key in DEADLINES {
            if let Some(rest) = line.strip_prefix(key) {
                let v = rest.trim_start_matches([' ', '：', ':']).trim();
                let v = v.trim_end_matches([')', '）']).trim();
                if !v.is_empty() {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, String)> {
        departments(text)
            .into_iter()
            .map(|d| (d.role, d.name))
            .collect()
    }

    #[test]
    fn bracket_tag_with_nested_parens() {
        // 000 L2372.
        let got = names("…政策。(责任单位:市财政局等部门,各县(市、区)政府、管委会)");
        assert_eq!(
            got,
            vec![
                ("责任单位".into(), "市财政局".into()),
                ("责任单位".into(), "各县(市、区)政府".into()),
                ("责任单位".into(), "管委会".into()),
            ]
        );
    }

    #[test]
    fn lead_and_cooperating_units() {
        let got =
            names("（责任单位：市科技局；配合单位：市工业和信息化局、市财政局、安阳市税务局）");
        assert_eq!(got[0], ("责任单位".into(), "市科技局".into()));
        assert_eq!(got.len(), 4);
        assert_eq!(got[3], ("配合单位".into(), "安阳市税务局".into()));
    }

    #[test]
    fn national_style() {
        let got = names("……服务。（国家发展改革委、人民银行牵头，银保监会等按职责分工负责）");
        assert_eq!(
            got,
            vec![
                ("牵头".into(), "国家发展改革委".into()),
                ("牵头".into(), "人民银行".into()),
                ("负责".into(), "银保监会".into()),
            ]
        );
    }

    #[test]
    fn line_triple_of_004() {
        let text = "1.加大小微企业信贷供给。引导金融机构。\n时间节点：2022年12月\n责任部门：金融服务科\n配合部门：金融信息服务中心";
        assert_eq!(deadline(text).as_deref(), Some("2022年12月"));
        let got = names(text);
        assert_eq!(
            got,
            vec![
                ("配合部门".into(), "金融信息服务中心".into()),
                ("责任部门".into(), "金融服务科".into()),
            ]
        );
    }
}
