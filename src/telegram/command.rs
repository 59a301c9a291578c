//! Bot commands: parsing `/cmd@bot args` (addressed to this bot, to no bot, or to another bot),
//! a group message that @mentions the bot, and the list registered with setMyCommands.

use teloxide::types::BotCommand;

use super::texts;

/// A command for this bot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// /start.
    Start,
    /// /help.
    Help,
    /// /region [地区]: set, show or clear the sticky region.
    Region(String),
    /// /topics.
    Topics,
    /// /ask <问题> (groups; works in private chats too).
    Ask(String),
    /// /reset.
    Reset,
    /// /subscribe [话题 地区…].
    Subscribe(String),
    /// /unsubscribe.
    Unsubscribe,
    /// /subscriptions.
    Subscriptions,
    /// /review: the operators' summary of unanswered and 👎 questions (not in the menu).
    Review,
    /// Any other command addressed to this bot.
    Unknown,
}

/// What a message's text is, command-wise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not a command: a question or chatter.
    Text,
    /// A command addressed to another bot (`/ask@other_bot`): not ours to answer.
    OtherBot,
    /// A command for this bot.
    Command(Command),
}

/// Parses `text` as sent to a chat where this bot is `@username`.
#[must_use]
pub fn parse(text: &str, username: &str) -> Parsed {
    let text = text.trim_start();
    let Some(rest) = text.strip_prefix('/') else {
        return Parsed::Text;
    };
    let (head, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let name = match head.split_once('@') {
        Some((name, bot)) if bot.eq_ignore_ascii_case(username) => name,
        Some(_) => return Parsed::OtherBot,
        None => head,
    };
    if name.is_empty() {
        return Parsed::Text;
    }
    let command = match name.to_ascii_lowercase().as_str() {
        "start" => Command::Start,
        "help" => Command::Help,
        "region" => Command::Region(args.to_string()),
        "topics" => Command::Topics,
        "ask" => Command::Ask(args.to_string()),
        "reset" => Command::Reset,
        "subscribe" => Command::Subscribe(args.to_string()),
        "unsubscribe" => Command::Unsubscribe,
        "subscriptions" => Command::Subscriptions,
        "review" => Command::Review,
        _ => Command::Unknown,
    };
    Parsed::Command(command)
}

/// The command menu for setMyCommands.
#[must_use]
pub fn menu() -> Vec<BotCommand> {
    texts::COMMANDS
        .iter()
        .map(|(c, d)| BotCommand::new(*c, *d))
        .collect()
}

/// A group message that @mentions this bot (`@username`, any case): the text without the
/// mention, trimmed; `None` when the bot is not mentioned.
#[must_use]
pub fn strip_mention(text: &str, username: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mention = format!("@{}", username.to_ascii_lowercase());
    let at = lower.find(&mention)?;
    let end = at + mention.len();
    // `@policybot_dev` is another bot: the name must end there.
    let next = text[end..].chars().next();
    if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let rest = format!("{} {}", &text[..at], &text[end..]);
    Some(
        rest.trim()
            .trim_start_matches([',', '，', ':', '：'])
            .trim()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_of_this_bot_is_stripped() {
        for (text, want) in [
            ("@policybot 房租能减免吗", Some("房租能减免吗")),
            ("@PolicyBot，房租能减免吗", Some("房租能减免吗")),
            ("房租能减免吗 @policybot", Some("房租能减免吗")),
            ("@policybot", Some("")),
            ("@policybot_dev 房租", None),
            ("@other 房租", None),
            ("房租能减免吗", None),
        ] {
            assert_eq!(
                strip_mention(text, "policybot").as_deref(),
                want,
                "help: {text}"
            );
        }
    }

    #[test]
    fn parses_commands_for_this_bot() {
        let cases = [
            (
                "/ask 小微企业贷款",
                Parsed::Command(Command::Ask("小微企业贷款".into())),
            ),
            (
                "/ask@PolicyBot  贴息 政策 ",
                Parsed::Command(Command::Ask("贴息 政策".into())),
            ),
            (
                "/ASK@policybot",
                Parsed::Command(Command::Ask(String::new())),
            ),
            ("/ask@other_bot 问题", Parsed::OtherBot),
            (
                "/region 安阳",
                Parsed::Command(Command::Region("安阳".into())),
            ),
            ("/start", Parsed::Command(Command::Start)),
            ("/help@policybot", Parsed::Command(Command::Help)),
            ("/topics", Parsed::Command(Command::Topics)),
            ("/reset", Parsed::Command(Command::Reset)),
            (
                "/subscribe@policybot 融资 安阳",
                Parsed::Command(Command::Subscribe("融资 安阳".into())),
            ),
            ("/unsubscribe", Parsed::Command(Command::Unsubscribe)),
            ("/subscriptions", Parsed::Command(Command::Subscriptions)),
            ("/review@policybot", Parsed::Command(Command::Review)),
            ("/foo", Parsed::Command(Command::Unknown)),
            ("小微企业 /ask", Parsed::Text),
            ("/ 问题", Parsed::Text),
            ("", Parsed::Text),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text, "policybot"), want, "help: {text:?}");
        }
    }

    #[test]
    fn menu_matches_the_parser() {
        for command in menu() {
            let parsed = parse(&format!("/{} x", command.command), "bot");
            assert!(
                !matches!(parsed, Parsed::Command(Command::Unknown)),
                "help: {}",
                command.command
            );
            assert!(command.description.chars().count() <= 256);
        }
    }
}
