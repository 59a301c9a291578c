//! Parser scaling: wall time of `corpus::parse_file` and of `ingest::plan` (parse, signatures,
//! recognition) on generated inputs of 10,000–100,000 lines, in the shapes that used to take
//! quadratic time (short unnumbered lines, lines numbered 1, 2, 3…, comma lines that join into one
//! paragraph, numbered `.docx` paragraphs). Prints one line per shape and size; a linear parser
//! shows times roughly proportional to the line count. Sizes: `PARSE_BENCH_LINES=10000,20000`.

use std::path::Path;
use std::time::Instant;

use policybot::corpus;
use policybot::ingest;
use policybot::places::Places;

/// One generated input shape: name and line `i` of it.
type Shape = (&'static str, fn(usize) -> String);

const SHAPES: &[Shape] = &[
    ("short unnumbered lines", |i| {
        format!("企业服务事项第{i}项内容说明文字")
    }),
    ("ascii lines", |i| {
        format!("This is line number {i} of a plain test file with text")
    }),
    ("bare numbers 1 2 3", |i| format!("{}", i + 1)),
    ("short sentences", |i| {
        format!("对小微企业给予第{i}档补贴。")
    }),
    ("comma lines (one paragraph)", |i| {
        format!("对符合条件的小微企业，按第{i}档给予补贴")
    }),
    ("numbered 1. 2. 3.", |i| {
        format!("{}. 对小微企业给予贷款贴息，最高{i}万元。", i + 1)
    }),
    ("numbered 1、2、3、 (titles)", |i| {
        format!("{}、企业服务事项", i % 999 + 1)
    }),
];

const HEADER: &str = "关于支持小微企业发展的若干措施\n安政〔2023〕7号\n\n";

fn sizes() -> Vec<usize> {
    std::env::var("PARSE_BENCH_LINES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 20_000, 50_000, 100_000])
}

fn text(shape: fn(usize) -> String, n: usize) -> String {
    let mut s = String::from(HEADER);
    for i in 0..n {
        s.push_str(&shape(i));
        s.push('\n');
    }
    s
}

/// A `.docx` with one paragraph per line of `text`.
fn word_document(text: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><w:document><w:body>"#);
    for line in text.lines() {
        xml.push_str("<w:p><w:r><w:t>");
        xml.push_str(line);
        xml.push_str("</w:t></w:r></w:p>");
    }
    xml.push_str("</w:body></w:document>");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("zip entry");
    zip.write_all(xml.as_bytes()).expect("zip write");
    zip.finish().expect("zip").into_inner()
}

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters shapes by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let keep = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let places = Places::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/lexicon/places.tsv"
    )))
    .expect("bundled places.tsv loads");
    println!(
        "{:<30} {:>8} {:>9} {:>10} {:>10} {:>8}",
        "shape", "lines", "bytes", "parse ms", "plan ms", "clauses"
    );
    for &(name, shape) in SHAPES.iter().filter(|s| keep(s.0)) {
        for n in sizes() {
            let input = text(shape, n);
            let started = Instant::now();
            let parsed = corpus::parse_file("bench.txt", &input, &places);
            let parse = ms(started);
            let started = Instant::now();
            let planned = ingest::plan(&[], "bench.txt", &input, &places);
            let plan = ms(started);
            assert!(planned.is_some(), "{name}: recognised");
            println!(
                "{name:<30} {n:>8} {:>9} {parse:>10.1} {plan:>10.1} {:>8}",
                input.len(),
                parsed.clauses.len()
            );
        }
    }
    let name = "docx numbered paragraphs";
    if keep(name) {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in sizes() {
            let numbered = SHAPES
                .iter()
                .find(|s| s.0.starts_with("numbered 1."))
                .expect("shape")
                .1;
            let input = text(numbered, n);
            let path = dir.path().join(format!("bench-{n}.docx"));
            std::fs::write(&path, word_document(&input)).expect("write");
            let started = Instant::now();
            let read = ingest::read_source(&path, &ingest::Limits::default()).expect("readable");
            let planned = ingest::plan(&[], "bench.docx", &read, &places);
            let total = ms(started);
            assert!(planned.is_some(), "{name}: recognised");
            println!(
                "{name:<30} {n:>8} {:>9} {:>10} {total:>10.1} {:>8}",
                input.len(),
                "-",
                "-"
            );
        }
    }
}
