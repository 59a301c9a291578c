//! Shared fixture: one `App` over the bundled compendium, indexed into the target directory's
//! test scratch space (`CARGO_TARGET_TMPDIR`: nothing is left in the system's temp directory; a
//! later run reuses the index while the data is unchanged).

use std::path::PathBuf;
use std::sync::OnceLock;

use policybot::app::App;
use policybot::config::Config;
use policybot::places::Places;

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled place table (`data/lexicon/places.tsv`), loaded once.
pub fn places() -> &'static Places {
    static PLACES: OnceLock<Places> = OnceLock::new();
    PLACES.get_or_init(|| {
        Places::load(&root().join("data/lexicon/places.tsv")).expect("bundled places.tsv loads")
    })
}

/// Config pointing at the bundled data and a fresh index directory.
pub fn config(index_dir: PathBuf) -> Config {
    Config {
        data_dir: root().join("data"),
        intents_dir: root().join("intents"),
        index_dir,
        ..Config::default()
    }
}

/// A directory of the test binary's own under `CARGO_TARGET_TMPDIR`, kept between runs.
pub fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// The shared app (built on first use).
pub fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(fresh_app)
}

/// An app of its own over the shared index: nothing it keeps between questions is shared with
/// [`app`].
pub fn fresh_app() -> App {
    let (app, _) = App::load(
        &config(scratch("kb-index")),
        false,
        &mut |_, _| {},
        &mut || {},
    )
    .expect("bundled data loads");
    app
}
