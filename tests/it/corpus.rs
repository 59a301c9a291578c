//! Corpus parser tests on the real `data/compendium/` files and on short real excerpts.

use std::collections::BTreeMap;
use std::path::Path;

use policybot::corpus::{ClauseKind, Corpus, Level, load_dir};

use super::kb::places;

fn data() -> Corpus {
    load_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/compendium")),
        places(),
    )
    .expect("load data")
}

#[test]
fn corpus_totals() {
    let c = data();
    let mut kinds = BTreeMap::new();
    for cl in &c.clauses {
        *kinds.entry(format!("{:?}", cl.kind)).or_insert(0) += 1;
    }
    let mut discards = BTreeMap::new();
    for d in &c.discards {
        *discards.entry(format!("{:?}", d.class)).or_insert(0) += 1;
    }
    println!(
        "docs {} clauses {kinds:?} discards {discards:?}",
        c.documents.len()
    );
    // 93 top-level + 7 nested originals found − 3 merged duplicates.
    assert_eq!(c.documents.len(), 97);
    assert_eq!(kinds["Header"], c.documents.len());
    assert!(kinds["Measure"] > 2000 && kinds["TableRow"] > 500 && kinds["Faq"] >= 6);
    assert!(discards["Duplicate"] > 100);
}

fn squash(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn every_nonblank_line_is_accounted_for_exactly_once() {
    let c = data();
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/compendium"));
    let mut seen: BTreeMap<(String, usize), usize> = BTreeMap::new();
    for cl in &c.clauses {
        let file = &cl.sources[0].file;
        for &l in &cl.lines {
            *seen.entry((file.clone(), l)).or_default() += 1;
        }
    }
    for d in &c.discards {
        *seen.entry((d.file.clone(), d.line)).or_default() += 1;
    }
    let mut missing = Vec::new();
    let mut twice = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match seen.get(&(name.clone(), i + 1)) {
                None => missing.push(format!("{name}:{}", i + 1)),
                Some(1) => {}
                Some(_) => twice.push(format!("{name}:{}", i + 1)),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "help: {} lines lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        twice.is_empty(),
        "help: {} lines counted twice, e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(10)]
    );
}

#[test]
fn dev_gold_snippets_are_substrings_of_clauses() {
    let c = data();
    let texts: Vec<String> = c.clauses.iter().map(|cl| squash(&cl.text)).collect();
    let dev = std::fs::read_to_string("/work/shared/eval/dev.jsonl").or_else(|_| {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/eval/dev.jsonl"
        ))
    });
    let Ok(dev) = dev else { return };
    let mut failed = Vec::new();
    let mut n = 0;
    for line in dev.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for g in v["gold"].as_array().into_iter().flatten() {
            let snippet = squash(g["snippet"].as_str().unwrap_or_default());
            n += 1;
            if !texts.iter().any(|t| t.contains(&snippet)) {
                failed.push(snippet);
            }
        }
    }
    assert!(n > 0);
    assert!(
        failed.is_empty(),
        "help: snippets not found in any clause: {failed:?}"
    );
}

fn file(name: &str) -> Corpus {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/compendium")).join(name);
    policybot::corpus::parse_file(name, &std::fs::read_to_string(path).unwrap(), places())
}

#[test]
fn document_counts_per_file() {
    let cases = [
        ("huojia-2022-compendium.txt", 33),
        ("anyang-2022-compendium.txt", 57),
        ("linxia-2022-financial-relief-measures.txt", 1),
        ("jiyuan-2022-sme-finance-guidance.txt", 1),
        ("jiyuan-2022-credit-access-plan.md", 1),
    ];
    let mut nested = 0;
    for (name, want) in cases {
        let c = file(name);
        let top = c.documents.iter().filter(|d| d.parent.is_none()).count();
        assert_eq!(top, want, "help: top-level documents in {name}");
        nested += c.documents.len() - top;
    }
    println!("nested {nested}");
}

#[test]
fn duplicates_are_merged_once_with_both_sources() {
    let c = data();
    let by_no = |no: &str| {
        c.documents
            .iter()
            .filter(|d| d.doc_number.as_deref() == Some(no))
            .collect::<Vec<_>>()
    };
    for no in [
        "国发〔2022〕12号",
        "工信部企业函〔2022〕103号",
        "银发〔2022〕92号",
    ] {
        let docs = by_no(no);
        assert_eq!(docs.len(), 1, "help: {no} indexed once");
        let files: Vec<&str> = docs[0].sources.iter().map(|s| s.file.as_str()).collect();
        assert!(
            files.contains(&"huojia-2022-compendium.txt")
                && files.contains(&"anyang-2022-compendium.txt"),
            "help: {no} {files:?}"
        );
    }
    // 000 drops the responsibility tags of 103号: the 002 copy is kept.
    assert_eq!(
        by_no("工信部企业函〔2022〕103号")[0].sources[0].file,
        "anyang-2022-compendium.txt"
    );
    // Same title, different 文号: not merged.
    assert_eq!(
        c.documents
            .iter()
            .filter(|d| d.title == "关于促进工业经济平稳增长的通知")
            .count(),
        2
    );
    // Clause provenance from both copies.
    let d12 = c
        .documents
        .iter()
        .position(|d| d.doc_number.as_deref() == Some("国发〔2022〕12号"))
        .unwrap();
    let two = c
        .clauses
        .iter()
        .filter(|cl| cl.doc == d12 && cl.sources.len() == 2)
        .count();
    assert!(
        two >= 30,
        "help: only {two} clauses of 国发12号 carry both sources"
    );
    assert!(
        c.discards
            .iter()
            .any(|d| d.class == policybot::corpus::DiscardClass::Duplicate)
    );
}

#[test]
fn levels_regions_and_flags() {
    let c = data();
    let find = |no: &str| {
        c.documents
            .iter()
            .find(|d| d.doc_number.as_deref() == Some(no))
            .unwrap()
    };
    let d = find("安政〔2022〕6号");
    assert_eq!((d.level, d.region.as_str()), (Level::City, "河南省/安阳市"));
    assert!(d.abridged);
    assert_eq!(d.date.as_deref(), Some("2022-06-08"));
    assert_eq!(find("国发〔2022〕12号").region, "全国");
    assert_eq!(find("临州办发〔2022〕84号").region, "甘肃省/临夏回族自治州");
    assert_eq!(
        find("临州办发〔2022〕84号").date.as_deref(),
        Some("2022-11-27")
    );
    assert_eq!(find("济管财金办〔2022〕22号").region, "河南省/济源示范区");
    assert_eq!(find("豫科金〔2021〕11号").level, Level::Province);
    assert_eq!(find("获银发〔2021〕24号").region, "河南省/新乡市/获嘉县");
    let draft = c
        .documents
        .iter()
        .find(|d| {
            d.title
                .contains("新乡市贯彻落实稳住经济一揽子政策措施实施方案")
        })
        .unwrap();
    assert!(draft.draft);
    assert_eq!(draft.region, "河南省/新乡市");
    let nested = find("豫发改财金〔2021〕628号");
    assert_eq!(
        nested.parent.as_deref(),
        Some(find("安发改财金〔2021〕263号").id.as_str())
    );
    assert_eq!(nested.level, Level::Province);
    assert!(c.documents.iter().any(|d| {
        d.validity
            .as_deref()
            .is_some_and(|v| v.contains("有效期至"))
    }));
}

#[test]
fn spot_checks_of_clauses() {
    let c = data();
    // 004: measure with 时间节点/责任部门 lines kept in the text and parsed.
    let cl = c
        .clauses
        .iter()
        .find(|cl| cl.text.contains("责任部门：政府采购监督管理科"))
        .unwrap();
    assert_eq!(cl.kind, ClauseKind::Measure);
    assert!(
        cl.departments
            .iter()
            .any(|d| d.role == "责任部门" && d.name == "政府采购监督管理科")
    );
    assert!(cl.deadline.is_some());
    assert!(
        cl.path.iter().any(|p| p.starts_with("三、主要措施")),
        "help: {:?}",
        cl.path
    );
    // 国发12号: continuous numbering across sections, path = section › measure.
    let cl = c
        .clauses
        .iter()
        .find(|cl| {
            cl.path
                .last()
                .is_some_and(|p| p.starts_with("6. 扩大实施社保费缓缴政策"))
        })
        .unwrap();
    assert_eq!(cl.path.len(), 2, "help: {:?}", cl.path);
    assert!(cl.path[0].starts_with("一、财政政策"));
    // 001: bracket tag at the end of a one-line measure.
    let cl = c
        .clauses
        .iter()
        .find(|cl| {
            cl.text
                .contains("“两增”目标。(责任单位：人行临夏州中心支行")
        })
        .unwrap();
    assert!(cl.departments.iter().any(|d| d.name == "临夏银保监分局"));
    // 002 FAQ.
    let faqs: Vec<_> = c
        .clauses
        .iter()
        .filter(|cl| cl.kind == ClauseKind::Faq)
        .collect();
    assert!(faqs.len() >= 6);
    assert!(faqs.iter().any(|f| {
        f.path
            .last()
            .is_some_and(|p| p.contains("是不是所有企业都可以申报"))
    }));
    // 004 annex table: rows kept, repeated headers dropped.
    let rows = c
        .clauses
        .iter()
        .filter(|cl| cl.kind == ClauseKind::TableRow && cl.sources[0].file.ends_with(".md"))
        .count();
    assert!((33..=35).contains(&rows), "help: {rows} rows");
    let headers = c
        .discards
        .iter()
        .filter(|d| {
            d.file.ends_with(".md") && d.class == policybot::corpus::DiscardClass::TableHeader
        })
        .count();
    assert_eq!(
        headers, 13,
        "help: 6 repeated headers + 7 separator rows (7 page chunks)"
    );
    // Ids are unique and stable.
    let ids: std::collections::HashSet<_> = c.clauses.iter().map(|cl| cl.id.as_str()).collect();
    assert_eq!(ids.len(), c.clauses.len());
    assert_eq!(data().clauses[100].id, c.clauses[100].id);
}

#[test]
fn parse_all_files_fast() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/compendium"));
    let texts: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    let t = std::time::Instant::now();
    let n: usize = texts
        .iter()
        .map(|(n, t)| policybot::corpus::parse_file(n, t, places()).clauses.len())
        .sum();
    let ms = t.elapsed().as_millis();
    println!("parsed {n} clauses in {ms} ms");
    // A generous bound that only a pathological (quadratic) parser misses on a loaded machine;
    // the speed itself is measured by `cargo bench --bench parse`.
    assert!(ms < 60_000, "help: parsing took {ms} ms");
}

fn one(text: &str) -> Corpus {
    policybot::corpus::parse_file("excerpt.txt", text, places())
}

fn paths(c: &Corpus) -> Vec<(ClauseKind, Vec<String>)> {
    c.clauses
        .iter()
        .map(|cl| (cl.kind, cl.path.clone()))
        .collect()
}

#[test]
fn golden_three_level_numbering() {
    // 国办发〔2021〕52号 (000 L129-L137).
    let c = one(
        "国务院办公厅关于印发加强信用信息共享应用促进中小微企业融资实施方案的通知\n\n国办发〔2021〕52号\n\n各省、自治区、直辖市人民政府：\n\n现印发给你们，请认真贯彻执行。\n\n一、总体要求\n\n（一）指导思想\n\n以习近平新时代中国特色社会主义思想为指导，深入贯彻落实党的十九大精神。\n\n1. 健全信息共享网络。省级人民政府要在充分利用现有地方信用信息共享平台、征信平台、综合金融服务平台等信息平台的基础上，完善地方融资信用服务平台。\n",
    );
    assert_eq!(c.documents.len(), 1);
    assert_eq!(
        c.documents[0].doc_number.as_deref(),
        Some("国办发〔2021〕52号")
    );
    let p = paths(&c);
    assert_eq!(p[0].0, ClauseKind::Header);
    assert_eq!(
        p[1],
        (
            ClauseKind::Measure,
            vec!["一、总体要求".to_string(), "（一）指导思想".to_string()]
        )
    );
    assert_eq!(p[2].1.len(), 3);
}

#[test]
fn golden_paren_restarts_per_section_with_mixed_brackets() {
    // 003: (一) restarts in each 一、; （四） full-width then (六) half-width.
    let c = one(
        "一、发挥信贷主渠道作用\n\n(一) 确保实现小微企业融资“两增”考核目标。各银行业机构要落实监管要求，确保完成任务。\n\n二、提升服务质效\n\n（一）完善小微企业信贷产品体系。各银行业机构要充分挖\n\n掘小微企业有效融资需求，立足于自身金融服务实力。\n\n(二) 优化服务流程。各银行业机构要压缩审批时限，提高服务效率。\n",
    );
    let p = paths(&c);
    let measures: Vec<_> = p
        .iter()
        .filter(|x| x.0 == ClauseKind::Measure)
        .map(|x| x.1.clone())
        .collect();
    assert_eq!(measures.len(), 3, "help: {p:?}");
    assert_eq!(measures[1][0], "二、提升服务质效");
    assert_eq!(
        measures[2],
        vec![
            "二、提升服务质效".to_string(),
            "(二) 优化服务流程".to_string()
        ]
    );
    assert!(
        c.clauses
            .iter()
            .any(|cl| cl.text.contains("充分挖掘小微企业有效融资需求")),
        "help: page-break join"
    );
}

#[test]
fn golden_chapters_articles_and_inline_bold_article() {
    // 002 L336-L342.
    let c = one(
        "第一章 总 则\n\n第七条 工业和信息化部建设优质中小企业梯度培育平台，搭建优质中小企业数据库。\n\n第二章 评价和认定\n\n第八条 优质中小企业评价和认定工作坚持政策引领、企业自愿的原则。**第九条** 工业和信息化部发布并适时更新创新型中小企业\n\n评价标准（附件1）、专精特新中小企业认定标准（附件2）。\n",
    );
    let arts: Vec<_> = c
        .clauses
        .iter()
        .filter(|cl| cl.kind == ClauseKind::Article)
        .collect();
    assert_eq!(arts.len(), 3);
    assert_eq!(arts[2].path, vec!["第二章 评价和认定".to_string(), "第九条 工业和信息化部发布并适时更新创新型中小企业评价标准（附件1）、专精特新中小企业认定标准（附件2）".chars().take(40).collect::<String>()]);
    assert!(arts[2].text.contains("更新创新型中小企业评价标准（附件1）"));
    assert_eq!(
        arts[1].lines,
        vec![5, 7],
        "help: the split line is owned by the first article"
    );
    assert_eq!(arts[2].lines, vec![9]);
}

#[test]
fn golden_markdown_measure_with_meta_lines_and_pipe_table() {
    // 004 L27-L35 and the annex table.
    let c = one(
        "## 三、主要措施\n\n## **（一）保持信贷稳定增长**\n\n**1.加大小微企业信贷供给。**引导金融机构加大对小微企业的信贷支持力度，确保单户授信总额1000万元及以下的普惠型小微企业贷款增速。\n\n时间节点：2022年12月\n\n责任部门：金融服务科\n\n配合部门：金融信息服务中心\n\n| 序号 | 所属专项 | 责任科室 |\n|----|------|------|\n| 1  | 获得信贷 | 金融服务科 |\n\n| 序号 | 所属专项 | 责任科室  |\n|----|------|-------|\n| 2  | 获得信贷 | 金融服务科 |\n",
    );
    let m = c
        .clauses
        .iter()
        .find(|cl| cl.kind == ClauseKind::Measure)
        .unwrap();
    assert_eq!(
        m.path,
        vec![
            "三、主要措施".to_string(),
            "（一）保持信贷稳定增长".to_string(),
            "1.加大小微企业信贷供给".to_string()
        ]
    );
    assert!(
        m.text.ends_with(
            "增速。\n时间节点：2022年12月\n责任部门：金融服务科\n配合部门：金融信息服务中心"
        ),
        "help: {}",
        m.text
    );
    assert_eq!(m.deadline.as_deref(), Some("2022年12月"));
    assert_eq!(m.departments.len(), 2);
    let rows = c
        .clauses
        .iter()
        .filter(|cl| cl.kind == ClauseKind::TableRow)
        .count();
    assert_eq!(rows, 3, "help: header once + 2 data rows");
    assert_eq!(
        c.discards.len(),
        3,
        "help: 2 separators + 1 repeated header"
    );
}

#[test]
fn golden_split_tag_orphan_and_signature() {
    // 000 L75-L107: title with a stray space, 按职 ⏎⏎ 责分工负责), signature without date.
    let c = one(
        "国务院办公厅关于进一步加大对 中小企业纾困帮扶力度的通知\n\n国办发〔2021〕45号\n\n各省、自治区、直辖市人民政府，国务院各部委、各直属机构：\n\n中小企业是国民经济和社会发展的主力军。\n\n一、加大纾困资金支持力度。鼓励地方安排中小企业纾困资金，对生产经营暂时面临困难的中小企业给予专项资金支持。(财政部、工业和信息化部等按职\n\n责分工负责)\n\n二、加强用电保障。科学实施有序用电，合理安排错峰用电，形成工作合\n\n力。\n\n国务院办公厅\n",
    );
    let d = &c.documents[0];
    assert_eq!(
        d.title,
        "国务院办公厅关于进一步加大对中小企业纾困帮扶力度的通知"
    );
    assert_eq!(d.issuer.as_deref(), Some("国务院办公厅"));
    let m1 = &c.clauses[1];
    assert!(m1.text.ends_with("等按职责分工负责)"));
    assert_eq!(
        m1.departments
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        vec!["财政部", "工业和信息化部"]
    );
    assert!(c.clauses[2].text.ends_with("形成工作合力。"));
    assert_eq!(c.discards.len(), 1);
    assert_eq!(
        c.discards[0].class,
        policybot::corpus::DiscardClass::Signature
    );
}

#[test]
fn golden_docno_first_and_split_title() {
    // 001 L1-L11.
    let c = one(
        "临州办发〔2022〕84号\n\n临夏回族自治州人民政府办公室印发\n\n关于贯彻落实甘肃省进一步强化金融支持\n\n中小微企业纾困发展实施方案若干措施的通知\n\n各县市人民政府，临夏经济开发区管委会，州政府有关部门：\n\n现将《若干措施》印发给你们，请认真贯彻落实。\n\n                临夏回族自治州人民政府办公室\n\n                2022年11月27日\n",
    );
    let d = &c.documents[0];
    assert_eq!(
        d.title,
        "临夏回族自治州人民政府办公室印发关于贯彻落实甘肃省进一步强化金融支持中小微企业纾困发展实施方案若干措施的通知"
    );
    assert_eq!(d.date.as_deref(), Some("2022-11-27"));
    assert_eq!(
        (d.level, d.region.as_str()),
        (Level::City, "甘肃省/临夏回族自治州")
    );
    assert_eq!(c.discards.len(), 2);
}

#[test]
fn golden_nested_original_in_forwarding_notice() {
    // 002 L4986-L5016 shape: a 转发 notice embedding the original with its own 文号.
    let c = one(
        "关于转发《省发展改革委关于强化“信易贷”支持防汛救灾金融服务的通知》的通知\n\n安发改财金〔2021〕263号\n\n各县（市、区）发展改革委：\n\n现将文件转发给你们，请认真贯彻落实。\n\n2021年8月9日\n\n河南省发展和改革委员会\n\n关于强化“信易贷”支持防汛救灾金融服务的通知\n\n豫发改财金〔2021〕628号\n\n各省辖市发展改革委：\n\n为做好防汛救灾金融服务工作，现将有关事项通知如下。\n\n一、梳理申报重点企业白名单。各地要重点组织企业申报。\n",
    );
    assert_eq!(c.documents.len(), 2);
    let child = &c.documents[1];
    assert_eq!(child.doc_number.as_deref(), Some("豫发改财金〔2021〕628号"));
    assert_eq!(child.parent.as_deref(), Some(c.documents[0].id.as_str()));
    assert_eq!(child.issuer.as_deref(), Some("河南省发展和改革委员会"));
    assert_eq!(
        (child.level, c.documents[0].level),
        (Level::Province, Level::City)
    );
}

#[test]
fn golden_faq() {
    // 002 L689-L701.
    let c = one(
        "《优质中小企业梯度培育管理暂行办法》解读\n\n近日，工业和信息化部印发了《办法》。\n\n一、制定《办法》的主要考虑是什么？\n\n优质中小企业创新能力强、成长性好，是提升产业链供应链稳定性的重要力量。\n\n二、《办法》的主要内容有哪些？\n\n《办法》正文共五章，第一章总则，提出了制定依据。\n",
    );
    let faqs: Vec<_> = c
        .clauses
        .iter()
        .filter(|cl| cl.kind == ClauseKind::Faq)
        .collect();
    assert_eq!(faqs.len(), 2);
    assert!(
        faqs[0]
            .text
            .starts_with("一、制定《办法》的主要考虑是什么？\n优质中小企业")
    );
}

proptest::proptest! {
    #[test]
    fn parse_file_never_panics(s in "[一二三（）()〔〕\\[\\]、。，：；#|*\\-\t\n 0-9a-zA-Z第章条号年月日关于通知附件责任单位负责发改豫安新]{0,400}") {
        let c = policybot::corpus::parse_file("p.txt", &s, places());
        for cl in &c.clauses {
            proptest::prop_assert!(cl.doc < c.documents.len());
        }
    }

    #[test]
    fn parse_file_never_panics_on_any_string(s in "\\PC{0,300}") {
        let _ = policybot::corpus::parse_file("p.txt", &s, places());
    }
}

#[test]
fn load_dir_errors_name_the_path() {
    let missing = load_dir(Path::new("/nonexistent/policybot-corpus"), places());
    assert!(
        missing
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/policybot-corpus")
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(
        load_dir(empty.path(), places())
            .unwrap_err()
            .to_string()
            .contains(&*empty.path().to_string_lossy())
    );
    let bin = tempfile::tempdir().unwrap();
    std::fs::write(bin.path().join("x.txt"), [0xff, 0xfe, 0x00, 0x01]).unwrap();
    assert!(
        load_dir(bin.path(), places())
            .unwrap_err()
            .to_string()
            .contains("x.txt")
    );
    let blank = tempfile::tempdir().unwrap();
    std::fs::write(blank.path().join("y.txt"), "\n\n").unwrap();
    assert!(
        load_dir(blank.path(), places())
            .unwrap_err()
            .to_string()
            .contains("y.txt")
    );
}

/// Issue 9: thousands of short unpunctuated lines are not one giant title (the title is copied
/// into every clause's index entry), and lines joined into one paragraph keep their line numbers.
#[test]
fn short_unpunctuated_lines_do_not_make_a_giant_title() {
    let mut text = String::from("关于支持小微企业发展的若干措施\n安政〔2023〕8号\n\n");
    for i in 0..5_000 {
        text.push_str(&format!("企业服务事项第{i}项内容说明文字\n"));
    }
    let c = policybot::corpus::parse_file("lines.txt", &text, places());
    assert!(
        c.documents[0]
            .title
            .starts_with("关于支持小微企业发展的若干措施")
    );
    assert!(c.documents.iter().all(|d| d.title.chars().count() < 300));
    let accounted: usize =
        c.clauses.iter().map(|cl| cl.lines.len()).sum::<usize>() + c.discards.len();
    assert_eq!(accounted, 5_002, "every non-blank line accounted for");

    let joined: String = (0..3_000)
        .map(|i| format!("对符合条件的小微企业，按第{i}档给予补贴\n"))
        .collect();
    let c = policybot::corpus::parse_file("joined.txt", &joined, places());
    let mut lines: Vec<usize> = c.clauses.iter().flat_map(|cl| cl.lines.clone()).collect();
    lines.sort_unstable();
    assert_eq!(lines, (1..=3_000).collect::<Vec<_>>());
}
