//! Shared by the benchmarks: the sample questions and a config over the bundled data.

use std::path::{Path, PathBuf};

use policybot::config::Config;

/// Colloquial questions across the main topics.
pub const QUESTIONS: &[&str] = &[
    "小店房租能减免吗",
    "安阳这边上市有奖励没",
    "专精特新小巨人认定条件",
    "社保费能缓缴吗",
    "创业担保贷款最高能贷多少",
    "新乡招应届毕业生有补贴吗",
    "科技贷去哪里申请",
    "政府采购合同能融资吗",
];

/// Config over the bundled `data/` and `intents/` with the index in `index_dir`.
pub fn config(index_dir: &Path) -> Config {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Config {
        data_dir: root.join("data"),
        intents_dir: root.join("intents"),
        index_dir: index_dir.to_path_buf(),
        ..Config::default()
    }
}
