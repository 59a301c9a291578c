//! Text processing shared by indexing and questions: normalisation, jieba segmentation with the
//! policy user dictionary, the tantivy analyzers, the lexicon (synonyms, stop words, answer-type
//! words, clause facts), the A-not-A question form, finding a fixed list of words in one pass
//! (`occur`), and the small character rules (`chars`) every module shares. Pure.

pub mod analyzer;
pub mod chars;
pub mod lexicon;
pub mod normalize;
pub mod numbers;
pub mod occur;
pub mod segment;
pub mod spelling;
pub mod yesno;

#[cfg(test)]
pub(crate) mod test_support {
    //! Shared test fixtures: the shipped lexicon directory and the compendium text.

    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    use crate::text::normalize::compact;

    /// A fixed pseudo-random walk (a linear congruential generator) from `seed`, for tests
    /// that check a fast path against the plain one on many generated inputs.
    pub(crate) fn walk(mut seed: u64) -> impl FnMut() -> usize {
        move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        }
    }

    /// `data/lexicon/` of this checkout.
    pub(crate) fn lexicon_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/lexicon")
    }

    /// The benefit units of this checkout's `clause_facts.tsv`.
    pub(crate) fn benefit_units() -> Vec<String> {
        crate::text::lexicon::Lexicon::load(&lexicon_dir())
            .expect("data/lexicon loads")
            .clause_facts
            .benefit
    }

    /// All of `data/compendium/` concatenated in [`compact`] form (normalised, no whitespace),
    /// so a term broken across a line or letter-spaced still counts as occurring.
    pub(crate) fn corpus() -> &'static str {
        static CORPUS: OnceLock<String> = OnceLock::new();
        CORPUS.get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/compendium");
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .expect("data/compendium exists")
                .map(|e| e.expect("directory entry").path())
                .collect();
            files.sort();
            let mut text = String::new();
            for f in files {
                text.push_str(&compact(
                    &std::fs::read_to_string(&f).expect("UTF-8 corpus file"),
                ));
                text.push('\u{0}');
            }
            assert!(
                text.len() > 1_000_000,
                "help: data/compendium looks incomplete"
            );
            text
        })
    }
}
