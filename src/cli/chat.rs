//! `policybot chat`: a terminal conversation through the same `App::message` as the bot; only
//! `/region`, `/reset` and `/quit` are the terminal's own.

use std::io::{BufRead, Write};

use super::Outcome;
use super::out::{out, outln};
use crate::answer::short_region;
use crate::app::{App, AskOptions, Reply};
use crate::render;
use crate::session::Session;

/// The conversation, starting with `region` set (refused when it is not a known place).
pub(super) fn run(app: &App, region: Option<String>) -> anyhow::Result<Outcome> {
    let mut session = Session::default();
    if let Some(r) = region
        && let Err(unknown) = app.set_region(&mut session, &r)
    {
        eprintln!("错误: {unknown}");
        return Ok(Outcome::Refused);
    }
    chat(app, session)?;
    Ok(Outcome::Done)
}

fn chat(app: &App, mut session: Session) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    outln!("惠企政策问答（输入问题；数字选择后续操作；/region 地区；/reset 重置；/quit 退出）")?;
    loop {
        out!("> ")?;
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim();
        match line {
            "" => continue,
            "/quit" | "/exit" | "退出" => return Ok(()),
            "/reset" => {
                session = Session::default();
                outln!("已重置对话。")?;
                continue;
            }
            _ => {}
        }
        if let Some(r) = line.strip_prefix("/region") {
            match app.set_region(&mut session, r) {
                Ok(region) => outln!(
                    "地区已设为：{}",
                    region.as_deref().map_or("不限", short_region)
                )?,
                Err(unknown) => outln!("{unknown}。地区未更改。")?,
            }
            continue;
        }
        match app.message(line, &mut session, &AskOptions::default()) {
            Reply::Answer(a) => outln!("{}", render::plain::render(&a))?,
            Reply::FullText(t) => outln!("{}\n{}", t.citation, t.text)?,
            // Only buttons rate an answer or ask for a ticket; the terminal has none.
            Reply::Rated { .. } | Reply::Ticket(_) => {}
        }
    }
}
