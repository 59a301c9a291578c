//! `policybot chat`: a terminal conversation through the same `App::message` as the bot; only
//! `/region`, `/reset` and `/quit` are the terminal's own.

use std::io::{BufRead, Write};

use super::Outcome;
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
    let mut out = std::io::stdout();
    writeln!(
        out,
        "惠企政策问答（输入问题；数字选择后续操作；/region 地区；/reset 重置；/quit 退出）"
    )?;
    loop {
        write!(out, "> ")?;
        out.flush()?;
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
                writeln!(out, "已重置对话。")?;
                continue;
            }
            _ => {}
        }
        if let Some(r) = line.strip_prefix("/region") {
            match app.set_region(&mut session, r) {
                Ok(region) => writeln!(
                    out,
                    "地区已设为：{}",
                    region.as_deref().map_or("不限", short_region)
                )?,
                Err(unknown) => writeln!(out, "{unknown}。地区未更改。")?,
            }
            continue;
        }
        match app.message(line, &mut session, &AskOptions::default()) {
            Reply::Answer(a) => writeln!(out, "{}", render::plain::render(&a))?,
            Reply::FullText(t) => writeln!(out, "{}\n{}", t.citation, t.text)?,
            // Only buttons rate an answer or ask for a ticket; the terminal has none.
            Reply::Rated { .. } | Reply::Ticket(_) => {}
        }
    }
}
