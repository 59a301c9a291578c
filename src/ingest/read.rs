//! Reading an editor's file as text: only regular `.txt`, `.md` and `.docx` files, never more
//! than the ingest [`Limits`] allow (file size, uncompressed Word XML, extracted text, lines), and
//! never a prefix cut inside a character. A `.docx` is read as a zip holding
//! `word/document.xml`, its paragraphs one per line.

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
        let text = docx_paragraphs(&xml);
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
        .map(|xml| docx_paragraphs(&xml))
}

/// Text runs (`<w:t>`) of WordprocessingML, a line per paragraph (`</w:p>`) or break, tabs kept.
/// Deleted revisions (`<w:delText>`) and everything else are skipped.
fn docx_paragraphs(xml: &str) -> String {
    let mut out = String::new();
    let mut in_text = false;
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        if in_text {
            decode_entities(&rest[..lt], &mut out);
        }
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        rest = &rest[lt + gt + 1..];
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_end_matches('/')
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("");
        match name {
            "w:t" => in_text = !self_closing,
            "/w:t" => in_text = false,
            "w:tab" => out.push('\t'),
            "w:br" | "w:cr" | "/w:p" => out.push('\n'),
            _ => {}
        }
    }
    out
}

/// Appends `s` with the XML entities (`&amp;`, `&#x4E00;` …) decoded.
fn decode_entities(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_document_text_is_read_paragraph_by_paragraph() {
        use std::io::Write as _;
        let xml = r#"<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t>关于支持</w:t></w:r><w:r><w:t xml:space="preserve">小微企业 &amp; 个体户</w:t></w:r></w:p><w:p><w:r><w:t>安政〔2023〕7号</w:t><w:tab/><w:t>&#x4E00;、减免</w:t><w:delText>删除</w:delText></w:r></w:p><w:tbl><w:tc><w:p><w:r><w:t>表格</w:t></w:r></w:p></w:tc></w:tbl></w:body></w:document>"#;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("word/document.xml", opts).expect("start");
        zip.write_all(xml.as_bytes()).expect("write");
        let bytes = zip.finish().expect("finish").into_inner();
        assert_eq!(
            docx_text(&bytes).as_deref(),
            Some("关于支持小微企业 & 个体户\n安政〔2023〕7号\t一、减免\n表格\n")
        );
        assert_eq!(docx_text(b"PK\x03\x04 broken"), None);
        assert_eq!(
            docx_text("关于支持小微企业发展的若干措施\n".as_bytes()),
            None
        );
    }
}
