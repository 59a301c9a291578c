//! Shared fixture: one `App` over the bundled compendium, indexed once per test binary into a
//! temporary directory.

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

/// The shared app (built on first use).
pub fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let (app, _) = App::load(&config(dir), false, &mut |_, _| {}).expect("bundled data loads");
        app
    })
}
