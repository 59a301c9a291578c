fn main() {
    let seg =
        policybot::text::segment::Segmenter::load(std::path::Path::new("data/lexicon")).unwrap();
    for w in std::env::args().skip(1) {
        println!("{w} {:?}", seg.tag(&w));
    }
}
