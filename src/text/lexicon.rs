//! Synonym table, stop list, answer-type words and clause facts loaded from `data/lexicon/`: how
//! owners phrase things mapped to the documents' wording, the question words a query should
//! ignore, the words that say what kind of answer a question wants, and the words and units by
//! which a clause states a time limit or an amount. Pure data, no retrieval.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::text::normalize::normalize;

/// File name of the synonym table inside the lexicon directory.
pub const SYNONYMS: &str = "synonyms.tsv";
/// File name of the stop list inside the lexicon directory.
pub const STOPWORDS: &str = "stopwords.txt";
/// File name of the answer-type words inside the lexicon directory.
pub const ANSWER_TYPES: &str = "answer_types.tsv";
/// File name of the clause facts (time-limit words, amount units) inside the lexicon directory.
pub const CLAUSE_FACTS: &str = "clause_facts.tsv";

/// Synonyms (term → weighted alternatives), stop words, answer types and clause facts.
#[derive(Clone, Debug, Default)]
pub struct Lexicon {
    /// term → [(alternative, weight < 1)].
    pub synonyms: HashMap<String, Vec<(String, f32)>>,
    /// Question and filler words ignored in queries.
    pub stopwords: HashSet<String>,
    /// Words by which a question says what kind of answer it wants.
    pub answer_types: AnswerTypes,
    /// Words and units by which a clause states a time limit, an amount or a target.
    pub clause_facts: ClauseFacts,
}

/// Words by which a question asks for a kind of answer (`answer_types.tsv`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnswerTypes {
    /// A date, deadline or time limit (什么时候, 多久, 截止 …).
    pub when: Vec<String>,
    /// An amount, rate or count (多少, 最高, 比例 …).
    pub amount: Vec<String>,
    /// The responsible units (谁, 哪个部门, 牵头 …).
    pub who: Vec<String>,
    /// A plan's target (目标, 要新增, 计划 …).
    pub goal: Vec<String>,
}

/// Words and units by which a clause states a kind of fact (`clause_facts.tsv`), as written:
/// they are matched in the clause text as the compendium has it, not normalised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClauseFacts {
    /// Words that state a date, deadline or time limit (日前, 起施行, 有效期 …).
    pub time: Vec<String>,
    /// Units that, right after a number, state an amount, rate, count or period (万, %, 个, 年 …).
    pub quantity: Vec<String>,
    /// Units that, right after a number, state what an enterprise gets (万元, %, 倍, 个月 …).
    pub benefit: Vec<String>,
    /// Words that state a plan's target (目标, 力争 …).
    pub goal: Vec<String>,
}

impl AnswerTypes {
    /// Every word of every type.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.when
            .iter()
            .chain(&self.amount)
            .chain(&self.who)
            .chain(&self.goal)
            .map(String::as_str)
    }
}

impl Lexicon {
    /// Loads `synonyms.tsv`, `stopwords.txt`, `answer_types.tsv` and `clause_facts.tsv` from
    /// `dir`.
    ///
    /// # Errors
    /// Unreadable or malformed files, naming file and line.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let synonyms_path = dir.join(SYNONYMS);
        let stopwords_path = dir.join(STOPWORDS);
        let answer_types_path = dir.join(ANSWER_TYPES);
        let clause_facts_path = dir.join(CLAUSE_FACTS);
        Ok(Lexicon {
            synonyms: parse_synonyms(&read(&synonyms_path)?, &synonyms_path)?,
            stopwords: parse_stopwords(&read(&stopwords_path)?, &stopwords_path)?,
            answer_types: parse_answer_types(&read(&answer_types_path)?, &answer_types_path)?,
            clause_facts: parse_clause_facts(&read(&clause_facts_path)?, &clause_facts_path)?,
        })
    }

    /// Weighted alternatives of `term` (already normalised), empty when it has none.
    #[must_use]
    pub fn alternatives(&self, term: &str) -> &[(String, f32)] {
        self.synonyms.get(term).map_or(&[], Vec::as_slice)
    }

    /// Whether `term` (already normalised) is a question or filler word.
    #[must_use]
    pub fn is_stopword(&self, term: &str) -> bool {
        self.stopwords.contains(term)
    }
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::InvalidData => Error::Binary {
            path: path.to_owned(),
        },
        _ => Error::Io {
            path: path.to_owned(),
            source,
        },
    })
}

/// Non-blank, non-comment lines of `text` with their 1-based numbers, comments (`#…`) cut off.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, raw)| {
        let line = raw.split('#').next().unwrap_or("").trim();
        (!line.is_empty()).then_some((i + 1, line))
    })
}

fn config_error(path: &Path, line: usize, message: String) -> Error {
    Error::Config {
        path: PathBuf::from(path),
        line,
        message,
    }
}

/// Parses `term<TAB>alternative<TAB>weight` lines, weight in (0, 1).
///
/// # Errors
/// [`Error::Config`] naming `path` and the line of the first malformed or duplicate entry.
pub fn parse_synonyms(
    text: &str,
    path: &Path,
) -> Result<HashMap<String, Vec<(String, f32)>>, Error> {
    let mut out: HashMap<String, Vec<(String, f32)>> = HashMap::new();
    for (line, content) in content_lines(text) {
        let bad = |message: String| config_error(path, line, message);
        let fields: Vec<&str> = content.split('\t').map(str::trim).collect();
        let [term, alternative, weight] = fields.as_slice() else {
            return Err(bad(format!(
                "expected `term<TAB>alternative<TAB>weight`, found {} tab-separated fields",
                fields.len()
            )));
        };
        let (term, alternative) = (normalize(term), normalize(alternative));
        if term.is_empty() || alternative.is_empty() {
            return Err(bad("empty term or alternative".to_owned()));
        }
        if term == alternative {
            return Err(bad(format!("`{term}` is its own synonym")));
        }
        let weight: f32 = match weight.parse() {
            Ok(w) if w > 0.0 && w < 1.0 => w,
            _ => return Err(bad(format!("weight `{weight}` is not a number in (0, 1)"))),
        };
        let alternatives = out.entry(term.clone()).or_default();
        if alternatives.iter().any(|(a, _)| *a == alternative) {
            return Err(bad(format!("duplicate pair `{term}` → `{alternative}`")));
        }
        alternatives.push((alternative, weight));
    }
    Ok(out)
}

/// Parses one stop word per line.
///
/// # Errors
/// [`Error::Config`] naming `path` and the line of the first entry holding whitespace.
pub fn parse_stopwords(text: &str, path: &Path) -> Result<HashSet<String>, Error> {
    let mut out = HashSet::new();
    for (line, content) in content_lines(text) {
        if content.contains(char::is_whitespace) {
            return Err(config_error(
                path,
                line,
                format!("`{content}`: one stop word per line"),
            ));
        }
        out.insert(normalize(content));
    }
    Ok(out)
}

/// Parses `type<TAB>word` lines, type `when`, `amount`, `who` or `goal`; words are normalised.
///
/// # Errors
/// A line without a tab, an unknown type or an empty word, naming the line.
pub fn parse_answer_types(text: &str, path: &Path) -> Result<AnswerTypes, Error> {
    let [when, amount, who, goal] =
        parse_kinds(text, path, ["when", "amount", "who", "goal"], normalize)?;
    Ok(AnswerTypes {
        when,
        amount,
        who,
        goal,
    })
}

/// Parses `kind<TAB>word` lines, kind `time`, `quantity`, `benefit` or `goal`; words are kept as
/// written.
///
/// # Errors
/// A line without a tab, an unknown kind or an empty word, naming the line.
pub fn parse_clause_facts(text: &str, path: &Path) -> Result<ClauseFacts, Error> {
    let [time, quantity, benefit, goal] = parse_kinds(
        text,
        path,
        ["time", "quantity", "benefit", "goal"],
        str::to_string,
    )?;
    Ok(ClauseFacts {
        time,
        quantity,
        benefit,
        goal,
    })
}

/// The words of `kind<TAB>word` lines, one list per kind of `kinds` in file order, each word
/// trimmed and passed through `word`: one word per line, none listed twice under its kind. The
/// one parser of the lexicon's kind-tagged word files (`answer_types.tsv`, `clause_facts.tsv`,
/// `corpus_words.tsv`).
///
/// # Errors
/// A line without a tab, an unknown kind, an empty, spaced or repeated word, naming the line.
pub(crate) fn parse_kinds<const N: usize>(
    text: &str,
    path: &Path,
    kinds: [&str; N],
    word: fn(&str) -> String,
) -> Result<[Vec<String>; N], Error> {
    let mut out: [Vec<String>; N] = std::array::from_fn(|_| Vec::new());
    for (line, content) in content_lines(text) {
        let Some((kind, w)) = content.split_once('\t') else {
            return Err(config_error(
                path,
                line,
                format!("`{content}`: expected type<TAB>word"),
            ));
        };
        let Some(at) = kinds.iter().position(|k| *k == kind.trim()) else {
            let (last, rest) = kinds.split_last().unwrap_or((&"", &[]));
            return Err(config_error(
                path,
                line,
                format!(
                    "`{}`: the type is {} or {last}",
                    kind.trim(),
                    rest.join(", ")
                ),
            ));
        };
        let w = word(w.trim());
        if w.is_empty() {
            return Err(config_error(path, line, "empty word".to_string()));
        }
        if w.contains(char::is_whitespace) {
            return Err(config_error(
                path,
                line,
                format!("`{w}`: one word per line"),
            ));
        }
        if out[at].contains(&w) {
            return Err(config_error(path, line, format!("`{w}` is listed twice")));
        }
        out[at].push(w);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::test_support::{corpus, lexicon_dir};

    fn expect_line<T: std::fmt::Debug>(result: Result<T, Error>, line: usize, input: &str) {
        match result {
            Err(Error::Config { line: l, .. }) => {
                assert_eq!(l, line, "help: wrong line reported for {input:?}");
            }
            other => panic!("help: {input:?} should be rejected at line {line}, got {other:?}"),
        }
    }

    #[test]
    fn answer_types_load_and_bad_lines_are_named() {
        let types = Lexicon::load(&lexicon_dir())
            .expect("shipped lexicon")
            .answer_types;
        assert!(types.when.iter().any(|w| w == "什么时候"));
        assert!(types.amount.iter().any(|w| w == "多少"));
        assert!(types.who.iter().any(|w| w == "哪个部门"));
        expect_line(
            parse_answer_types("when\t多久\nhow\t怎么", Path::new("t")),
            2,
            "how",
        );
        expect_line(parse_answer_types("# c\n多少", Path::new("t")), 2, "no tab");
        expect_line(parse_answer_types("who\t ", Path::new("t")), 1, "empty");
    }

    #[test]
    fn clause_facts_load_as_written_and_bad_lines_are_named() {
        let facts = Lexicon::load(&lexicon_dir())
            .expect("shipped lexicon")
            .clause_facts;
        assert!(facts.time.iter().any(|w| w == "起施行"));
        assert!(
            facts.quantity.iter().any(|u| u == "％"),
            "help: units are not normalised (full-width ％ stays)"
        );
        assert!(facts.benefit.iter().any(|u| u == "个百分点"));
        let parsed = parse_clause_facts("# c\nquantity\t％\ntime\t日前\n", Path::new("t"));
        assert_eq!(parsed.expect("valid").quantity, ["％"]);
        expect_line(
            parse_clause_facts("time\t日前\nwhen\t多久", Path::new("t")),
            2,
            "when",
        );
        expect_line(parse_clause_facts("benefit\t ", Path::new("t")), 1, "empty");
    }

    #[test]
    fn parses_synonyms_with_comments_and_normalisation() {
        let text = "# colloquial → document\n社保\t社会保险\t0.8\n\n社保\t社保费\t0.5 # fees\nＬＰＲ\t贷款市场报价利率\t0.7\n";
        let map = parse_synonyms(text, Path::new("s.tsv")).expect("valid");
        assert_eq!(
            map["社保"],
            [("社会保险".to_owned(), 0.8), ("社保费".to_owned(), 0.5)]
        );
        assert_eq!(map["lpr"], [("贷款市场报价利率".to_owned(), 0.7)]);
    }

    #[test]
    fn rejects_malformed_synonym_lines() {
        let p = Path::new("s.tsv");
        for (text, line) in [
            ("社保\t社会保险\n", 1),
            ("# c\n社保 社会保险 0.8\n", 2),
            ("社保\t社会保险\t1.0\n", 1),
            ("社保\t社会保险\t0\n", 1),
            ("社保\t社会保险\tabc\n", 1),
            ("社保\t社保\t0.5\n", 1),
            ("社保\t社会保险\t0.8\n社保\t社会保险\t0.7\n", 2),
            ("社保\t\t0.8\n", 1),
        ] {
            expect_line(parse_synonyms(text, p), line, text);
        }
    }

    #[test]
    fn parses_and_rejects_stopwords() {
        let p = Path::new("stop.txt");
        let set = parse_stopwords("# 疑问词\n吗\n请问 # polite\n\nＯＫ\n", p).expect("valid");
        assert_eq!(set.len(), 3);
        assert!(set.contains("请问") && set.contains("ok"));
        expect_line(parse_stopwords("吗\n有 没有\n", p), 2, "有 没有");
    }

    #[test]
    fn load_names_the_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(SYNONYMS), "社保\t社会保险\t0.8\n").expect("write");
        match Lexicon::load(dir.path()) {
            Err(Error::Io { path, .. }) => assert!(path.ends_with(STOPWORDS)),
            other => panic!("expected Io error for the stop list, got {other:?}"),
        }
        std::fs::write(dir.path().join(STOPWORDS), "吗\n").expect("write");
        std::fs::write(dir.path().join(SYNONYMS), "a\tb\t0.5\nbad line\n").expect("write");
        match Lexicon::load(dir.path()) {
            Err(Error::Config { path, line: 2, .. }) => assert!(path.ends_with(SYNONYMS)),
            other => panic!("expected Config error at synonyms line 2, got {other:?}"),
        }
    }

    #[test]
    fn shipped_lexicon_loads() {
        let lexicon = Lexicon::load(&lexicon_dir()).expect("data/lexicon loads");
        let pairs: usize = lexicon.synonyms.values().map(Vec::len).sum();
        assert!(
            pairs >= 150,
            "help: only {pairs} synonym pairs in data/lexicon/synonyms.tsv"
        );
        assert!(lexicon.is_stopword("请问"));
        assert!(
            !lexicon.is_stopword("企业"),
            "help: 企业 is a content word (see stopwords.txt)"
        );
        assert!(
            lexicon
                .alternatives("社保")
                .iter()
                .any(|(a, _)| a == "社会保险")
        );
        assert!(lexicon.alternatives("没有这个词").is_empty());
    }

    #[test]
    fn every_synonym_alternative_occurs_in_the_corpus() {
        let lexicon = Lexicon::load(&lexicon_dir()).expect("data/lexicon loads");
        let corpus = corpus();
        let mut absent: Vec<String> = lexicon
            .synonyms
            .iter()
            .flat_map(|(term, alts)| alts.iter().map(move |(a, _)| (term, a)))
            .filter(|(_, a)| !corpus.contains(a.as_str()))
            .map(|(term, a)| format!("{term}→{a}"))
            .collect();
        absent.sort();
        assert!(
            absent.is_empty(),
            "help: alternatives not in data/compendium: {absent:?}"
        );
    }
}
