//! tantivy analyzers: the jieba word tokenizer and the CJK bigram tokenizer, and their registration.
//! Both normalise like [`crate::text::normalize`] and report offsets into the original text.
//! Stop words are not removed here: the query side decides what to ignore.

use tantivy::Index;
use tantivy::tokenizer::{RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer};

use crate::text::chars::is_cjk;
use crate::text::normalize::Normalized;
use crate::text::segment::Segmenter;

/// Name under which the jieba analyzer is registered on every index open.
pub const JIEBA: &str = "policy_jieba";
/// Name under which the CJK bigram analyzer is registered.
pub const BIGRAM: &str = "policy_bigram";

/// Tokens longer than this many bytes (base64 blobs, long digit strings) are not indexed.
const MAX_TOKEN_BYTES: usize = 64;

/// Registers the [`JIEBA`] and [`BIGRAM`] analyzers on `index`. Tokenizers are not stored in the
/// index, so this must run on every open.
pub fn register(index: &Index, seg: &Segmenter) {
    let manager = index.tokenizers();
    manager.register(JIEBA, analyzer(JiebaTokenizer::new(seg.clone())));
    manager.register(BIGRAM, analyzer(BigramTokenizer::default()));
}

/// The CJK bigrams and alphanumeric runs of `text`, exactly the texts the [`BIGRAM`] analyzer
/// indexes, for building the query side of the bigram field.
#[must_use]
pub fn bigrams(text: &str) -> Vec<String> {
    bigram_tokens(text).into_iter().map(|t| t.text).collect()
}

/// tantivy tokenizer over the shared [`Segmenter`] (search mode, offsets into the original).
#[derive(Clone, Debug)]
pub struct JiebaTokenizer {
    seg: Segmenter,
    tokens: Vec<Token>,
}

impl JiebaTokenizer {
    /// Wraps a (cheaply cloned) segmenter.
    #[must_use]
    pub fn new(seg: Segmenter) -> Self {
        JiebaTokenizer {
            seg,
            tokens: Vec::new(),
        }
    }
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        let tokens = self.seg.tokens(text).into_iter().map(|t| Token {
            offset_from: t.start,
            offset_to: t.end,
            position: t.position,
            text: t.text,
            position_length: 1,
        });
        VecTokenStream::new(&mut self.tokens, tokens)
    }
}

/// tantivy tokenizer emitting overlapping bigrams of CJK runs (a lone CJK character as itself)
/// and alphanumeric runs whole; everything else separates tokens.
#[derive(Clone, Debug, Default)]
pub struct BigramTokenizer {
    tokens: Vec<Token>,
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        VecTokenStream::new(&mut self.tokens, bigram_tokens(text))
    }
}

/// Token stream over tokens computed up front. Slot 0 holds a placeholder so that `token()` is
/// defined even before the first `advance()`.
#[derive(Debug)]
pub struct VecTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    current: usize,
}

impl<'a> VecTokenStream<'a> {
    fn new(buf: &'a mut Vec<Token>, tokens: impl IntoIterator<Item = Token>) -> Self {
        buf.clear();
        buf.push(Token::default());
        buf.extend(tokens);
        VecTokenStream {
            tokens: buf,
            current: 0,
        }
    }
}

impl TokenStream for VecTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.current + 1 < self.tokens.len() {
            self.current += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.current]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.current]
    }
}

fn analyzer<T: Tokenizer>(tokenizer: T) -> TextAnalyzer {
    TextAnalyzer::builder(tokenizer)
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .build()
}

/// Character classes of the bigram tokenizer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Cjk,
    Alnum,
    Other,
}

fn class(c: char) -> Class {
    if is_cjk(c) {
        Class::Cjk
    } else if c.is_alphanumeric() {
        Class::Alnum
    } else {
        Class::Other
    }
}

fn bigram_tokens(text: &str) -> Vec<Token> {
    let norm = Normalized::new(text);
    let s = norm.text.as_str();
    let mut out: Vec<Token> = Vec::new();
    let mut push = |from: usize, to: usize| {
        out.push(Token {
            offset_from: norm.original_start(from),
            offset_to: norm.original_end(to),
            position: out.len(),
            text: s[from..to].to_owned(),
            position_length: 1,
        });
    };
    let mut chars = s.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match class(c) {
            Class::Other => {}
            Class::Alnum => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, d)) = chars.peek() {
                    if class(d) != Class::Alnum {
                        break;
                    }
                    end = i + d.len_utf8();
                    chars.next();
                }
                push(start, end);
            }
            Class::Cjk => {
                let mut run = vec![start];
                while let Some(&(i, d)) = chars.peek() {
                    if class(d) != Class::Cjk {
                        break;
                    }
                    run.push(i);
                    chars.next();
                }
                let run_end = chars.peek().map_or(s.len(), |&(i, _)| i);
                run.push(run_end);
                // `run` holds the run's character boundaries: n characters, n + 1 boundaries.
                if run.len() == 2 {
                    push(run[0], run[1]);
                }
                for w in run.windows(3) {
                    push(w[0], w[2]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::OnceLock;

    use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};

    use super::*;

    fn seg() -> &'static Segmenter {
        static SEG: OnceLock<Segmenter> = OnceLock::new();
        SEG.get_or_init(|| {
            Segmenter::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/lexicon"))
                .expect("user dictionary loads")
        })
    }

    fn run(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
        let mut tokens = Vec::new();
        analyzer
            .token_stream(text)
            .process(&mut |t: &Token| tokens.push(t.clone()));
        tokens
    }

    fn assert_token(token: &Token, position: usize, text: &str, from: usize, to: usize) {
        assert_eq!(
            token.position, position,
            "expected position {position} but {token:?}"
        );
        assert_eq!(token.text, text, "expected text {text} but {token:?}");
        assert_eq!(
            token.offset_from, from,
            "expected offset_from {from} but {token:?}"
        );
        assert_eq!(token.offset_to, to, "expected offset_to {to} but {token:?}");
    }

    #[test]
    fn bigram_tokenizer_texts_offsets_positions() {
        let mut a = analyzer(BigramTokenizer::default());
        // 首(0..3)贷(3..6)户(6..9)，(9..12)ＬＰＲ(12..21)降(21..24) (24)5(25..26)%(26)
        let tokens = run(&mut a, "首贷户，ＬＰＲ降 5%");
        assert_eq!(tokens.len(), 5, "{tokens:?}");
        assert_token(&tokens[0], 0, "首贷", 0, 6);
        assert_token(&tokens[1], 1, "贷户", 3, 9);
        assert_token(&tokens[2], 2, "lpr", 12, 21);
        assert_token(&tokens[3], 3, "降", 21, 24);
        assert_token(&tokens[4], 4, "5", 25, 26);
    }

    #[test]
    fn bigrams_helper_matches_the_tokenizer() {
        let text = "小微企业〇贷款，ABC-12（三）";
        let mut a = analyzer(BigramTokenizer::default());
        let texts: Vec<String> = run(&mut a, text).into_iter().map(|t| t.text).collect();
        assert_eq!(bigrams(text), texts);
        assert_eq!(
            texts,
            [
                "小微", "微企", "企业", "业〇", "〇贷", "贷款", "abc", "12", "三"
            ]
        );
        assert!(bigrams("，。！").is_empty());
        assert!(bigrams("").is_empty());
    }

    #[test]
    fn jieba_tokenizer_texts_offsets_positions() {
        let mut a = analyzer(JiebaTokenizer::new(seg().clone()));
        // 申请(0..6)，(6..9)创业担保贷款(9..27)１０００(27..39)元(39..42)
        let tokens = run(&mut a, "申请，创业担保贷款１０００元");
        let whole = tokens
            .iter()
            .find(|t| t.text == "创业担保贷款")
            .expect("whole word");
        assert_token(&tokens[0], 0, "申请", 0, 6);
        assert_token(whole, 1, "创业担保贷款", 9, 27);
        for t in tokens.iter().filter(|t| t.position == 1) {
            assert!(
                9 <= t.offset_from && t.offset_to <= 27,
                "sub-word outside its word: {t:?}"
            );
        }
        let amount = tokens.iter().find(|t| t.text == "1000").expect("amount");
        assert_token(amount, 2, "1000", 27, 39);
        assert_token(tokens.last().expect("tokens"), 3, "元", 39, 42);
    }

    #[test]
    fn registered_analyzers_index_and_find() {
        let mut builder = Schema::builder();
        let indexing = |name: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(name)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
        };
        let words = builder.add_text_field("words", indexing(JIEBA));
        let grams = builder.add_text_field("grams", indexing(BIGRAM));
        let index = Index::create_in_ram(builder.build());
        register(&index, seg());
        let mut writer = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        let text = "对首贷户给予贷款贴息";
        writer
            .add_document(tantivy::doc!(words => text, grams => text))
            .expect("add document");
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        let count = |field, term: &str| {
            let query = tantivy::query::TermQuery::new(
                tantivy::Term::from_field_text(field, term),
                IndexRecordOption::Basic,
            );
            searcher
                .search(&query, &tantivy::collector::Count)
                .expect("search")
        };
        assert_eq!(count(words, "首贷户"), 1);
        assert_eq!(count(grams, "贷户"), 1);
        assert_eq!(count(grams, "首贷户"), 0);
    }
}
