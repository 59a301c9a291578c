//! Reading an editor's file as text: only regular `.txt`, `.md` and `.docx` files, never more
//! than the ingest [`Limits`] allow (file size, uncompressed Word XML, extracted text, lines), and
//! never a prefix cut inside a character. A `.docx` is read as a zip holding
//! `word/document.xml`, parsed with `quick-xml`, its paragraphs one per line.

use std::path::Path;

use super::{Limits, Rejection};

/// Reads an editor's file as text, or says why it cannot be ingested. Only regular files are
/// opened, and no more than the limits allow is read.
///
/// # Errors
/// See [`Rejection`] (all but `NoDocument` and the limits on parsed files).
pub fn read_source(path: &Path, limits: &Limits) -> Result<String, Rejection> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let word = match ext.as_deref() {
        Some("txt" | "md") => false,
        Some("docx") => true,
        _ => {
            return Err(Rejection::Format {
                path: path.to_path_buf(),
            });
        }
    };
    let unreadable = |source| Rejection::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let too_large = |what, size, limit| Rejection::TooLarge {
        path: path.to_path_buf(),
        what,
        size,
        limit,
    };
    // `stat` first: opening a FIFO for reading would block until a writer comes.
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(Rejection::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > limits.max_file_bytes {
        return Err(too_large("文件", meta.len(), limits.max_file_bytes));
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let bytes = read_at_most(file, limits.max_file_bytes).map_err(unreadable)?;
    let Some(bytes) = bytes else {
        return Err(too_large(
            "文件",
            limits.max_file_bytes + 1,
            limits.max_file_bytes,
        ));
    };
    let text = if word {
        let xml = match docx_xml(&bytes, limits.max_docx_xml_bytes) {
            Ok(xml) => xml,
            Err(DocxError::Corrupt) => {
                return Err(Rejection::Docx {
                    path: path.to_path_buf(),
                });
            }
            Err(DocxError::TooLarge(size)) => {
                return Err(too_large(
                    "Word 文档内容（XML）",
                    size,
                    limits.max_docx_xml_bytes,
                ));
            }
        };
        drop(bytes);
        let Some(text) = docx_paragraphs(&xml) else {
            return Err(Rejection::Docx {
                path: path.to_path_buf(),
            });
        };
        if text.len() as u64 > limits.max_file_bytes {
            return Err(too_large(
                "提取的文本",
                text.len() as u64,
                limits.max_file_bytes,
            ));
        }
        text
    } else {
        if bytes.contains(&0) {
            return Err(Rejection::Binary {
                path: path.to_path_buf(),
            });
        }
        String::from_utf8(bytes).map_err(|_| Rejection::Binary {
            path: path.to_path_buf(),
        })?
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    if text.trim().is_empty() {
        return Err(Rejection::Empty {
            path: path.to_path_buf(),
        });
    }
    let lines = text.lines().count();
    if lines > limits.max_lines {
        return Err(Rejection::TooManyLines {
            path: path.to_path_buf(),
            count: lines,
            limit: limits.max_lines,
        });
    }
    Ok(text)
}

/// All of `reader` when it holds at most `limit` bytes, `None` when it holds more. Never
/// returns a prefix: a cut could split a character.
fn read_at_most(reader: impl std::io::Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    Ok((out.len() as u64 <= limit).then_some(out))
}

/// Why the XML of a Word document was not read.
enum DocxError {
    /// Not a zip with `word/document.xml` in UTF-8.
    Corrupt,
    /// The XML is larger than allowed (its declared or actual size).
    TooLarge(u64),
}

/// The complete `word/document.xml` of a Word document, up to `limit` bytes.
fn docx_xml(bytes: &[u8], limit: u64) -> Result<String, DocxError> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| DocxError::Corrupt)?;
    let entry = archive
        .by_name("word/document.xml")
        .map_err(|_| DocxError::Corrupt)?;
    if entry.size() > limit {
        return Err(DocxError::TooLarge(entry.size()));
    }
    match read_at_most(entry, limit) {
        Ok(Some(xml)) => String::from_utf8(xml).map_err(|_| DocxError::Corrupt),
        Ok(None) => Err(DocxError::TooLarge(limit + 1)),
        Err(_) => Err(DocxError::Corrupt),
    }
}

/// The text of a Word document: the paragraphs of `word/document.xml`, one per line.
#[cfg(test)]
fn docx_text(bytes: &[u8]) -> Option<String> {
    docx_xml(bytes, Limits::default().max_docx_xml_bytes)
        .ok()
        .and_then(|xml| docx_paragraphs(&xml))
}

/// Text runs (`<w:t>`) of WordprocessingML, a line per paragraph (`</w:p>`) or break, tabs kept.
/// Deleted revisions (`<w:delText>`), comments, processing instructions and everything else are
/// skipped; CDATA inside a text run is text. `None` when the XML is not well-formed.
fn docx_paragraphs(xml: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = String::new();
    let mut in_text = false;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => match e.name().as_ref() {
                "w:t" => in_text = true,
                "w:tab" => out.push('\t'),
                "w:br" | "w:cr" => out.push('\n'),
                _ => {}
            },
            Event::Empty(e) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:tab" => out.push('\t'),
                "w:br" | "w:cr" => out.push('\n'),
                _ => {}
            },
            Event::End(e) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:p" => out.push('\n'),
                _ => {}
            },
            Event::Text(t) if in_text => out.push_str(&t),
            Event::CData(t) if in_text => out.push_str(&t.into_inner()),
            Event::GeneralRef(r) if in_text => match r.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                // A named reference: the five XML ones; any other is kept as written.
                _ => match quick_xml::escape::resolve_xml_entity(&r) {
                    Some(s) => out.push_str(s),
                    None => {
                        out.push('&');
                        out.push_str(&r);
                        out.push(';');
                    }
                },
            },
            Event::Eof => return Some(out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.docx` (zip, stored) holding `xml` as `word/document.xml`.
    fn docx(xml: &str) -> Vec<u8> {
        use std::io::Write as _;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("word/document.xml", opts).expect("start");
        zip.write_all(xml.as_bytes()).expect("write");
        zip.finish().expect("finish").into_inner()
    }

    #[test]
    fn word_document_text_is_read_paragraph_by_paragraph() {
        let xml = r#"<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t>关于支持</w:t></w:r><w:r><w:t xml:space="preserve">小微企业 &amp; 个体户</w:t></w:r></w:p><w:p><w:r><w:t>安政〔2023〕7号</w:t><w:tab/><w:t>&#x4E00;、减免</w:t><w:delText>删除</w:delText></w:r></w:p><w:tbl><w:tc><w:p><w:r><w:t>表格</w:t></w:r></w:p></w:tc></w:tbl></w:body></w:document>"#;
        assert_eq!(
            docx_text(&docx(xml)).as_deref(),
            Some("关于支持小微企业 & 个体户\n安政〔2023〕7号\t一、减免\n表格\n")
        );
        assert_eq!(docx_text(b"PK\x03\x04 broken"), None);
        assert_eq!(
            docx_text("关于支持小微企业发展的若干措施\n".as_bytes()),
            None
        );
    }

    #[test]
    fn word_markup_inside_attributes_comments_and_cdata_is_not_text_markup() {
        let xml = r#"<?xml version="1.0"?><!-- <w:t>注释</w:t> > --><w:document><w:body><w:p w:rsidR="a>b"><w:r><w:t w:rsidR="c>d">关于</w:t><w:t>支持<!-- > 批注 <w:br/> --></w:t><w:t><![CDATA[小微企业 <减免> & 房租]]></w:t></w:r></w:p><w:p><w:r><w:rPr><w:rFonts w:ascii="x>y"/></w:rPr><w:t xml:space="preserve">第二段 &lt;&gt; &foo;</w:t></w:r></w:p></w:body></w:document>"#;
        assert_eq!(
            docx_text(&docx(xml)).as_deref(),
            Some("关于支持小微企业 <减免> & 房租\n第二段 <> &foo;\n")
        );
    }

    #[test]
    fn malformed_word_xml_is_refused() {
        let xml = r#"<w:document><w:body><w:p><w:r><w:t>关于</w:r></w:p></w:body></w:document>"#;
        assert_eq!(docx_text(&docx(xml)), None);
    }
}
