//! Numbers and amounts as owners type them (`600w`, `1千多万`, `两百万`, `５００万`, `5个点`,
//! `百分之五`, `半年`, `两年`, `21年`) rewritten in the forms the clauses print (`600万`,
//! `1000万`, `200万`, `5%`, `6个月`, `2年`, `2021年`). Hand-written: the rules are a few lines
//! each and no crate knows the documents' conventions. Pure.

use crate::text::normalize::normalize;

/// Rewrites the numbers of a question the way the documents print them. The text is NFKC
/// normalised and lower-cased first (full-width digits, `W` → `w`).
#[must_use]
pub fn normalize_numbers(text: &str) -> String {
    let text = arabic_numbers(&normalize(text));
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        // 百分之五 / 百分之5 → 5%.
        if starts_with(&chars, i, "百分之") {
            let (n, len) = leading_number(&chars[i + 3..]);
            if let Some(n) = n {
                out.push_str(&n);
                out.push('%');
                i += 3 + len;
                continue;
            }
        }
        if starts_with(&chars, i, "半年") && !starts_with(&chars, i + 2, "度") {
            out.push_str("6个月");
            i += 2;
            continue;
        }
        if !chars[i].is_ascii_digit() || (i > 0 && is_number_char(chars[i - 1])) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_number_char(chars[i]) {
            i += 1;
        }
        let digits: String = chars[start..i].iter().collect();
        // `1000多万`, `300来万`, `10余万`: the approximation word goes.
        let mut j = i;
        if matches!(chars.get(j), Some('多' | '来' | '余'))
            && matches!(
                chars.get(j + 1),
                Some('万' | '亿' | '千' | '百' | '元' | '个' | '家')
            )
        {
            j += 1;
        }
        match (chars.get(j), chars.get(j + 1)) {
            // 600w → 600万; 5k → 5千 → 5000.
            (Some('w'), next) if !next.is_some_and(|c| c.is_ascii_alphabetic()) => {
                out.push_str(&digits);
                out.push('万');
                i = j + 1;
            }
            (Some('k'), next) if !next.is_some_and(|c| c.is_ascii_alphabetic()) => {
                out.push_str(&scale(&digits, 1000));
                i = j + 1;
            }
            // 1千万 → 1000万, 2百万 → 200万, 3千 → 3000.
            (Some('千'), _) => {
                out.push_str(&scale(&digits, 1000));
                i = j + 1;
                if matches!(chars.get(i), Some('多' | '来' | '余'))
                    && matches!(chars.get(i + 1), Some('万' | '亿'))
                {
                    i += 1;
                }
            }
            (Some('百'), Some('万' | '元')) => {
                out.push_str(&scale(&digits, 100));
                i = j + 1;
            }
            // 21年 / 22年底 → 2021年 / 2022年底: a year typed with two digits, in the span the
            // compendiums cover (2015–2029), as the documents print it in full.
            (Some('年'), _)
                if j == i
                    && digits.len() == 2
                    && (15..30).contains(&digits.parse::<u32>().unwrap_or(0)) =>
            {
                out.push_str("20");
                out.push_str(&digits);
                i = j;
            }
            // 5个点 → 5%.
            (Some('个'), Some('点')) => {
                out.push_str(&digits);
                out.push('%');
                i = j + 2;
            }
            _ => {
                out.push_str(&digits);
                i = j;
            }
        }
    }
    out
}

fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || c == '.'
}

fn starts_with(chars: &[char], at: usize, word: &str) -> bool {
    word.chars()
        .enumerate()
        .all(|(k, w)| chars.get(at + k) == Some(&w))
}

/// The number at the start of `chars` (digits, or one Chinese digit such as 五) and its length.
fn leading_number(chars: &[char]) -> (Option<String>, usize) {
    let n = chars.iter().take_while(|c| is_number_char(**c)).count();
    if n > 0 {
        return (Some(chars[..n].iter().collect()), n);
    }
    match chars.first().and_then(|c| chinese_digit(*c)) {
        Some(d) => (Some(d.to_string()), 1),
        None => (None, 0),
    }
}

/// `digits × factor` for integers; a decimal (`1.5千`) keeps its unit spelled out.
fn scale(digits: &str, factor: u64) -> String {
    match digits.parse::<u64>() {
        Ok(n) if n < 1_000_000 => (n * factor).to_string(),
        _ => {
            let unit = if factor == 1000 { '千' } else { '百' };
            format!("{digits}{unit}")
        }
    }
}

fn chinese_digit(c: char) -> Option<u64> {
    "零一二三四五六七八九"
        .chars()
        .position(|d| d == c)
        .map(|i| i as u64)
        .or((c == '两').then_some(2))
}

/// Rewrites Chinese numerals that carry a unit (一百亿 → 100亿, 十万 → 10万, 两千 → 2000,
/// 两年 → 2年) as digits, the way the documents print amounts. Bare 一/二 (一次性, 一是) and
/// ordinals are left alone.
#[must_use]
pub fn arabic_numbers(text: &str) -> String {
    fn unit(c: char) -> Option<u64> {
        match c {
            '十' => Some(10),
            '百' => Some(100),
            '千' => Some(1000),
            _ => None,
        }
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && (chinese_digit(chars[i]).is_some() || unit(chars[i]).is_some()) {
            i += 1;
        }
        if i == start {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = &chars[start..i];
        let next = chars.get(i).copied();
        let after = chars.get(i + 1).copied();
        let has_digit = run.iter().any(|c| chinese_digit(*c).is_some());
        let has_unit = run.iter().any(|c| unit(*c).is_some());
        // 1000多万, 三百来万: the approximation word is skipped when a unit follows it.
        let approx =
            matches!(next, Some('多' | '来' | '余')) && matches!(after, Some('万' | '亿' | '元'));
        let amount_follows = matches!(next, Some('万' | '亿' | '元' | '%')) || approx;
        // 两年 / 三年 are periods only when not part of a longer word (三年行动 is a plan name).
        let period = run.len() == 1
            && has_digit
            && run[0] != '一'
            && next == Some('年')
            && !matches!(after, Some('行' | '计' | '倍' | '攻' | '规' | '级' | '以'));
        let ten_thousand = run == ['十'] && amount_follows;
        let convert = (has_digit && (has_unit || (amount_follows && run.len() > 1)))
            || ten_thousand
            || period;
        if !convert || run.len() > 8 {
            out.extend(run);
            continue;
        }
        let (mut total, mut pending) = (0, 0);
        for &c in run {
            if let Some(d) = chinese_digit(c) {
                pending = d;
            } else if let Some(u) = unit(c) {
                total += if pending == 0 { 1 } else { pending } * u;
                pending = 0;
            }
        }
        total += pending;
        out.push_str(&total.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_amounts_become_digits() {
        for (input, want) in [
            ("营收每多一百亿", "营收每多100亿"),
            ("最多贷十万吗", "最多贷10万吗"),
            ("补贴两千元", "补贴2000元"),
            ("三十五万", "35万"),
            ("一次性吸纳", "一次性吸纳"),
            ("一是二是", "一是二是"),
            ("三个月", "三个月"),
            ("百日竞赛", "百日竞赛"),
            ("两年内", "2年内"),
            ("三年行动", "三年行动"),
        ] {
            assert_eq!(arabic_numbers(input), want, "help: {input}");
        }
    }

    #[test]
    fn typed_numbers_take_the_documents_forms() {
        for (input, want) in [
            ("营收600w", "营收600万"),
            ("6000W的贷款", "6000万的贷款"),
            ("1千万", "1000万"),
            ("一千多万", "1000万"),
            ("1千多万", "1000万"),
            ("两百万", "200万"),
            ("５００万", "500万"),
            ("5个点", "5%"),
            ("几个点", "几个点"),
            ("百分之五", "5%"),
            ("半年", "6个月"),
            ("上半年度", "上半年度"),
            ("3年", "3年"),
            ("21年四季度", "2021年四季度"),
            ("22年底", "2022年底"),
            ("12年", "12年"),
            ("2021年", "2021年"),
            ("一百来万", "100万"),
            ("2.5w", "2.5万"),
            ("lpr", "lpr"),
            ("5k", "5000"),
            ("window", "window"),
        ] {
            assert_eq!(normalize_numbers(input), want, "help: {input}");
        }
    }
}
