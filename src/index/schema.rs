//! The tantivy schema: which clause fields are indexed with which analyzer.

use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};

use crate::text::analyzer::{BIGRAM, JIEBA};

/// Bumped whenever the schema or the way clauses are indexed changes (part of the fingerprint).
pub const SCHEMA_VERSION: u32 = 1;

/// Handles of the schema's fields.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    /// Position of the clause in `Corpus::clauses` (fast field).
    pub ord: Field,
    /// Document title and 文号 (jieba).
    pub title: Field,
    /// Heading path (jieba).
    pub path: Field,
    /// Clause text (jieba).
    pub body: Field,
    /// Title, path and text as CJK bigrams, for words jieba does not know.
    pub bigram: Field,
}

/// Builds the schema and returns it with its field handles.
#[must_use]
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let ord = b.add_u64_field("ord", FAST | STORED);
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let title = b.add_text_field("title", text(JIEBA));
    let path = b.add_text_field("path", text(JIEBA));
    let body = b.add_text_field("body", text(JIEBA));
    let bigram = b.add_text_field("bigram", text(BIGRAM));
    (
        b.build(),
        Fields {
            ord,
            title,
            path,
            body,
            bigram,
        },
    )
}

/// Field handles of an opened index's schema.
///
/// # Errors
/// The schema lacks one of the fields (an index of another version).
pub fn fields(schema: &Schema) -> tantivy::Result<Fields> {
    Ok(Fields {
        ord: schema.get_field("ord")?,
        title: schema.get_field("title")?,
        path: schema.get_field("path")?,
        body: schema.get_field("body")?,
        bigram: schema.get_field("bigram")?,
    })
}
