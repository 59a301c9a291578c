//! File fixtures: `.docx` files built in memory, `ingest` without progress output, directory
//! copies.

use std::path::{Path, PathBuf};

use policybot::index::Paths;
use policybot::ingest::{self, IngestError, IngestReport, Limits};

/// A `.docx` whose `word/document.xml` is `xml`.
pub fn docx(xml: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("zip entry");
    zip.write_all(xml.as_bytes()).expect("zip write");
    zip.finish().expect("zip").into_inner()
}

/// WordprocessingML with one paragraph per line.
pub fn word_xml(lines: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut xml = String::from("<w:document><w:body>");
    for l in lines {
        xml.push_str(&format!("<w:p><w:r><w:t>{}</w:t></w:r></w:p>", l.as_ref()));
    }
    xml + "</w:body></w:document>"
}

/// `ingest::ingest` with no waiting or progress output.
pub fn ingest(
    paths: &Paths,
    files: &[PathBuf],
    limits: &Limits,
) -> Result<IngestReport, IngestError> {
    ingest::ingest(paths, files, limits, &mut || {}, &mut |_, _| {})
}

/// Copies directory `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}
