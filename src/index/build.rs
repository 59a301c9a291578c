//! One index generation: built from the parsed corpus ([`build_into`]: the tantivy documents,
//! `corpus.json` and the manifest; the only writer of an index) and read back from its directory
//! into a [`KnowledgeBase`] ([`Generation`]: checked by `verify`, the clause haystacks and facts,
//! the spelling vocabulary). The only place that registers the analyzers on an index. Which
//! generation is live, and when one is built, is `open`'s.

use std::path::{Path, PathBuf};

use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument};

use super::matcher::Matcher;
use super::open::KnowledgeBase;
use super::schema;
use super::store::{self, Manifest};
use super::verify;
use crate::answer::ClauseMemo;
use crate::corpus::Corpus;
use crate::error::Error;
use crate::places::Places;
use crate::text::analyzer;
use crate::text::lexicon::Lexicon;
use crate::text::normalize::normalize;
use crate::text::occur::WordList;
use crate::text::segment::Segmenter;
use crate::text::spelling::{MIN_DOC_FREQ, Speller};

/// A generation read from disk: everything of a [`KnowledgeBase`] but what needs the segmenter
/// (so all of it is done while jieba's dictionary loads on another thread).
pub(super) struct Generation {
    pub(super) dir: PathBuf,
    loaded: verify::Loaded,
    derived: Derived,
    multi_char_stopwords: WordList,
    speller: Speller,
}

/// What ranking reads off the corpus alone: the clause haystacks, facts and grams.
pub(super) struct Derived {
    haystacks: Vec<(String, usize)>,
    facts: Vec<super::facts::Facts>,
    grams: super::grams::GramIndex,
}

impl Derived {
    /// The haystacks, facts and grams of `corpus`, its facts by the words of `lexicon`.
    pub(super) fn of(corpus: &Corpus, lexicon: &Lexicon) -> Self {
        let haystacks = haystacks(corpus);
        let (facts, grams) = super::facts::facts(corpus, &haystacks, &lexicon.clause_facts);
        Derived {
            haystacks,
            facts,
            grams,
        }
    }
}

impl Generation {
    /// Reads generation `dir` into memory and checks it against `manifest` (see
    /// [`verify::load`]); `built`: the corpus and what was derived from it when the caller has
    /// just built it; else the clause facts by the words of `lexicon`. Then its
    /// multi-character stop words and the spelling vocabulary.
    pub(super) fn read(
        dir: &Path,
        manifest: &Manifest,
        built: Option<(Corpus, Derived)>,
        lexicon: &Lexicon,
    ) -> Result<Self, String> {
        let (corpus, derived) = built.unzip();
        let loaded = verify::load(dir, manifest, corpus)?;
        let derived = derived.unwrap_or_else(|| Derived::of(&loaded.corpus, lexicon));
        let mut multi_char_stopwords: Vec<String> = lexicon
            .stopwords
            .iter()
            .filter(|w| w.chars().count() >= 2)
            .cloned()
            .collect();
        multi_char_stopwords
            .sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
        let multi_char_stopwords = WordList::new(multi_char_stopwords);
        // Stop words are read too, so that a mistyped one (多绍 for 多少) is stripped as a
        // question word instead of counting as a content word the corpus lacks.
        let stopwords = (lexicon.stopwords.iter()).map(|w| (w.clone(), MIN_DOC_FREQ));
        let speller = Speller::new(
            vocabulary(&loaded.reader, loaded.fields.body)
                .into_iter()
                .chain(stopwords),
        );
        Ok(Generation {
            dir: dir.to_path_buf(),
            loaded,
            derived,
            multi_char_stopwords,
            speller,
        })
    }

    /// Registers the analyzers on the index, checks the jieba field against the sampled clauses
    /// and assembles the knowledge base.
    pub(super) fn finish(
        self,
        segmenter: Segmenter,
        lexicon: &Lexicon,
        places: &Places,
    ) -> Result<KnowledgeBase, String> {
        let verify::Loaded {
            corpus,
            index,
            reader,
            fields,
        } = self.loaded;
        analyzer::register(&index, &segmenter);
        verify::check_words(&index, &reader, fields, &corpus)?;
        let matcher = Matcher::new(
            reader.searcher(),
            &[fields.title, fields.path, fields.body, fields.bigram],
        )
        .map_err(|e| format!("index unreadable: {e}"))?;
        Ok(KnowledgeBase {
            cites: ClauseMemo::new(corpus.clauses.len()),
            multi_char_stopwords: self.multi_char_stopwords,
            speller: self.speller,
            corpus,
            segmenter,
            lexicon: lexicon.clone(),
            places: places.clone(),
            haystacks: self.derived.haystacks,
            facts: self.derived.facts,
            grams: self.derived.grams,
            matcher,
            pages: super::pages::Pages::default(),
            fields,
            generation: self.dir,
        })
    }
}

/// Every term of `field` with the number of clauses containing it (summed over segments).
fn vocabulary(reader: &IndexReader, field: tantivy::schema::Field) -> Vec<(String, u32)> {
    let mut words: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for segment in reader.searcher().segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut terms) = inverted.terms().stream() else {
            continue;
        };
        while terms.advance() {
            if let Ok(word) = std::str::from_utf8(terms.key()) {
                *words.entry(word.to_string()).or_default() += terms.value().doc_freq;
            }
        }
    }
    words.into_iter().collect()
}

/// Normalised `title 文号 path text` of each clause, with the offset of `path text`.
fn haystacks(corpus: &Corpus) -> Vec<(String, usize)> {
    corpus
        .clauses
        .iter()
        .map(|c| {
            let doc = &corpus.documents[c.doc];
            let mut s = String::with_capacity(doc.title.len() + c.text.len() + 64);
            s.push_str(&doc.title);
            s.push(' ');
            s.push_str(doc.doc_number.as_deref().unwrap_or(""));
            let mut own = String::with_capacity(c.text.len() + 64);
            for p in &c.path {
                own.push_str(p);
                own.push(' ');
            }
            own.push_str(&c.text);
            let mut hay = normalize(&s);
            hay.push(' ');
            let split = hay.len();
            hay.push_str(&normalize(&own));
            (hay, split)
        })
        .collect()
}

/// Builds a generation of `corpus` in `dir`: the tantivy index, `corpus.json` and the manifest
/// (with `fingerprint`). `progress(done, total)` is called while documents are added.
pub(super) fn build_into(
    dir: &Path,
    corpus: &Corpus,
    segmenter: &Segmenter,
    fingerprint: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Manifest, Error> {
    let (schema, f) = schema::build();
    let tantivy_dir = dir.join("tantivy");
    std::fs::create_dir_all(&tantivy_dir).map_err(|source| Error::Io {
        path: tantivy_dir.clone(),
        source,
    })?;
    let index = Index::create_in_dir(&tantivy_dir, schema)?;
    analyzer::register(&index, segmenter);
    // Two indexing threads, one per core here: analysing (jieba's search-mode cut) and indexing
    // the clauses is most of a build. The clauses then fall into two segments; ranking breaks
    // ties by clause number (`matcher::top`), so answers do not depend on which segment holds a
    // clause. It costs about 15 MB more peak memory during a build than one thread.
    let mut writer: IndexWriter = index.writer_with_num_threads(2, 64_000_000)?;
    let total = corpus.clauses.len();
    for (ord, clause) in corpus.clauses.iter().enumerate() {
        let doc = &corpus.documents[clause.doc];
        let mut d = TantivyDocument::default();
        d.add_u64(f.ord, ord as u64);
        d.add_text(f.title, &doc.title);
        if let Some(n) = &doc.doc_number {
            d.add_text(f.title, n);
        }
        let path = clause.path.join(" ");
        d.add_text(f.path, &path);
        d.add_text(f.body, &clause.text);
        d.add_text(f.bigram, &doc.title);
        d.add_text(f.bigram, &path);
        d.add_text(f.bigram, &clause.text);
        writer.add_document(d)?;
        if ord % 256 == 0 || ord + 1 == total {
            progress(ord + 1, total);
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let corpus_path = dir.join("corpus.json");
    let json = serde_json::to_vec(corpus).map_err(|e| Error::Index(e.to_string()))?;
    std::fs::write(&corpus_path, json).map_err(|source| Error::Io {
        path: corpus_path,
        source,
    })?;
    let manifest = Manifest {
        fingerprint: fingerprint.to_string(),
        documents: corpus.documents.len(),
        clauses: corpus.clauses.len(),
        files: store::file_sums(dir)?,
    };
    store::write_manifest(dir, &manifest)?;
    Ok(manifest)
}
