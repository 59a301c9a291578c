//! The A-not-A question form (降不降, 有没有, 享不享受, 支持不支持): Chinese asks a yes/no
//! question by repeating the verb around 不 or 没. The form is grammar, not content, so the
//! query side keeps only the verb (降不降 → 降, 享不享受 → 享受). Pure.

use crate::text::normalize::is_ideograph;

/// Rewrites every A-not-A span of `text` to its verb: `A不A` → `A` (also before a second
/// character, `享不享受` → `享受`), and `AB不AB` → `AB`; `没` works like `不`.
#[must_use]
pub fn collapse_a_not_a(text: &str) -> String {
    if !text.contains(['不', '没']) {
        return text.to_string();
    }
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let negation = |j: usize| c.get(j).is_some_and(|&x| is_negation(x));
        let ideograph = |j: usize| {
            c.get(j)
                .is_some_and(|&x| is_ideograph(x) && !is_negation(x))
        };
        if ideograph(i) && negation(i + 1) && c.get(i + 2) == Some(&c[i]) {
            // A不A(B): keep A; B (if any) follows as ordinary text.
            out.push(c[i]);
            i += 3;
        } else if ideograph(i)
            && ideograph(i + 1)
            && negation(i + 2)
            && c.get(i + 3) == Some(&c[i])
            && c.get(i + 4) == Some(&c[i + 1])
        {
            out.push(c[i]);
            out.push(c[i + 1]);
            i += 5;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn is_negation(c: char) -> bool {
    matches!(c, '不' | '没')
}

#[cfg(test)]
mod tests {
    use super::collapse_a_not_a;

    #[test]
    fn a_not_a_keeps_the_verb() {
        for (asked, kept) in [
            ("工伤保险费率今年还降不降", "工伤保险费率今年还降"),
            ("迁回省里奖不奖", "迁回省里奖"),
            ("能享不享受减免", "能享受减免"),
            ("银行支持不支持", "银行支持"),
            ("补贴发没发", "补贴发"),
            ("房租减免", "房租减免"),
            ("不得不", "不得不"),
            ("不不不", "不不不"),
        ] {
            assert_eq!(collapse_a_not_a(asked), kept, "{asked}");
        }
    }
}
