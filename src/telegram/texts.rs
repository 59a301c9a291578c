//! Every fixed text the bot sends (Chinese), in one place: command menu, /start and /help,
//! confirmations, the polite refusals, subscription replies, and how a forwarded message's
//! origin is named.
//! Plain text: the sender escapes it for HTML.

use teloxide::types::MessageOrigin;

/// Commands registered with setMyCommands: (command, menu description).
pub const COMMANDS: [(&str, &str); 9] = [
    ("start", "这个机器人能做什么"),
    ("help", "使用说明"),
    ("ask", "提问（群聊中使用）：/ask 小微企业贷款贴息"),
    ("region", "设置地区：/region 安阳"),
    ("topics", "常见政策话题"),
    ("subscribe", "订阅新政策推送：/subscribe 融资 安阳"),
    ("unsubscribe", "取消新政策推送"),
    ("subscriptions", "查看订阅设置"),
    ("reset", "清除对话记录"),
];

/// /start: what the bot does; followed by [`EXAMPLES`] as buttons.
pub const START: &str = "您好！我是惠企政策问答机器人。\n\
直接发来您的问题，我会从政策汇编中找出相关条款，注明文件名称、文号和出处，并给出后续可以追问的按钮。\n\
也可以把客户的消息转发给我。\n\n\
试试下面的问题：";

/// Three example questions shown as buttons under /start.
pub const EXAMPLES: [&str; 3] = [
    "小微企业贷款有什么贴息政策？",
    "个体工商户房租可以减免吗？",
    "稳岗返还怎么申请？",
];

/// /help.
pub const HELP: &str = "使用方法：\n\
• 私聊：直接发送问题，例如“小微企业贷款有什么贴息政策？”\n\
• 追问：“那安阳呢”“申请条件呢”“找哪个部门”会接着上一个问题回答\n\
• 按钮：更多结果、全文、只看某地区、相关问题、👍/👎 反馈\n\
• 群聊：/ask 问题、@我加问题，或回复我的消息\n\
• 转发：把客户的消息转发给我，回答下方“📋 工单格式”可得到便于复制的纯文本\n\
• 任意聊天中输入 @机器人用户名 加问题：选一条带出处的答案发到该聊天\n\
• /region 安阳：以后优先回答安阳的政策（/region 清除 取消）\n\
• /topics：常见政策话题\n\
• /reset：清除对话记录\n\
回答摘自政策原文，请以发文机关的最新规定为准。";

/// Posted once when the bot is added to a group: what it answers and how to ask there (privacy
/// mode: it only sees commands and replies to its own messages).
pub const GROUP_GREETING: &str = "大家好！我是惠企政策问答机器人，回答贷款担保、税费减免、社保缓缴、房租减免、\
补贴奖励、企业上市、专精特新等惠企政策问题，并注明政策原文出处。\n\
在群里提问：发送 /ask 加问题（例如：/ask 小店房租能减免吗），或直接回复我的消息。";

/// Added to [`GROUP_GREETING`] when announcements are on.
pub const GROUP_GREETING_SUBSCRIBE: &str = "\n群管理员可发送 /subscribe 订阅新政策推送。";

/// A button whose answer is gone (expired session, older answer, forged data).
pub const EXPIRED: &str = "这个按钮已过期，请重新提问。";

/// Too many questions in a minute.
pub const FLOOD: &str = "您提问太快了，请稍等一分钟再问。";

/// /reset done.
pub const RESET: &str = "已清除对话记录，可以重新提问了。";

/// /ask without a question.
pub const ASK_USAGE: &str = "请在 /ask 后面写上问题，例如：/ask 小微企业贷款有什么贴息政策？";

/// A private message without text (sticker, photo without caption …).
pub const NOT_TEXT: &str = "请用文字发送您的问题。";

/// /topics header.
pub const TOPICS: &str = "常见政策话题，点按即可提问：";

/// /topics when no topic is configured.
pub const NO_TOPICS: &str = "暂时没有可选的话题，请直接发送您的问题。";

/// 👍/👎 received.
pub const THANKS: &str = "谢谢您的反馈！";

/// Something unexpected failed while answering.
pub const APOLOGY: &str = "抱歉，处理您的问题时出了点问题，请稍后再试。";

/// Subscriptions need Redis, which this deployment does not have.
pub const NO_SUBSCRIPTIONS: &str = "本机器人暂未开通新政策推送功能。";

/// A group member who is not an administrator tried to change the group's subscription.
pub const ADMINS_ONLY: &str = "抱歉，只有群管理员可以设置本群的新政策推送。";

/// Subscription storage failed.
pub const SUBSCRIPTION_FAILED: &str = "抱歉，订阅设置暂时无法保存，请稍后再试。";

/// /unsubscribe done.
pub const UNSUBSCRIBED: &str = "已取消新政策推送。需要时发送 /subscribe 重新订阅。";

/// /unsubscribe without a subscription.
pub const NOT_SUBSCRIBED: &str =
    "当前没有订阅新政策推送。发送 /subscribe 即可订阅，例如：/subscribe 融资 安阳";

/// /subscribe with more filter words than allowed.
pub const TOO_MANY_FILTERS: &str =
    "订阅条件太多了，请最多写 6 个话题或地区，例如：/subscribe 融资 安阳";

/// /subscribe with a word that is neither a place nor a plausible keyword (too long, no letters).
#[must_use]
pub fn bad_filter(word: &str) -> String {
    format!("“{word}”不像话题或地区名称。请用简短的词，例如：/subscribe 融资 安阳")
}

/// Human description of subscription filters.
#[must_use]
pub fn filters(filters: &crate::broadcast::Filters) -> String {
    let topics = match filters.topics.is_empty() {
        true => "全部话题".to_string(),
        false => format!("话题：{}", filters.topics.join("、")),
    };
    let regions = match filters.regions.is_empty() {
        true => "全部地区".to_string(),
        false => format!(
            "地区：{}",
            filters
                .regions
                .iter()
                .map(|r| crate::answer::short_region(r))
                .collect::<Vec<_>>()
                .join("、")
        ),
    };
    format!("{topics}；{regions}")
}

/// /subscribe done.
#[must_use]
pub fn subscribed(description: &str) -> String {
    format!("已订阅新政策推送（{description}）。有新政策时会发到这里；发送 /unsubscribe 取消。")
}

/// /subscriptions.
#[must_use]
pub fn subscription(description: Option<&str>) -> String {
    match description {
        Some(d) => format!("当前订阅：{d}。\n发送 /subscribe 话题 地区 修改，/unsubscribe 取消。"),
        None => NOT_SUBSCRIBED.to_string(),
    }
}

/// The 要点 / 全文 of an announced document that is no longer in the knowledge base.
pub const NO_DOCUMENT: &str = "没有找到这份文件，可能已被更新，请直接提问。";

/// /region <地区> done.
#[must_use]
pub fn region_set(region: &str) -> String {
    format!("好的，以后优先为您查找{region}的政策。发送 /region 清除 可取消。")
}

/// /region 清除 done.
pub const REGION_CLEARED: &str = "已取消地区设置，将在全部政策中查找。";

/// /region with a place the bot does not know (`reason` names the known ones).
#[must_use]
pub fn region_unknown(reason: &str) -> String {
    format!("{reason}。地区未更改。")
}

/// /region without argument.
#[must_use]
pub fn region_current(region: Option<&str>) -> String {
    match region {
        Some(r) => format!("当前地区：{r}。发送 /region 地区名 可修改，/region 清除 可取消。"),
        None => "当前未设置地区。发送 /region 地区名 设置，例如：/region 安阳".to_string(),
    }
}

/// Names where a forwarded question came from, so helpline staff can relay the answer.
#[must_use]
pub fn forwarded_from(origin: &MessageOrigin) -> String {
    match origin {
        MessageOrigin::User { sender_user, .. } => match &sender_user.username {
            Some(username) => format!("转发自用户 {}（@{username}）", sender_user.full_name()),
            None => format!("转发自用户 {}", sender_user.full_name()),
        },
        MessageOrigin::HiddenUser {
            sender_user_name, ..
        } => {
            format!("转发自用户 {sender_user_name}（未公开账号）")
        }
        MessageOrigin::Chat {
            sender_chat,
            author_signature,
            ..
        } => with_signature(
            format!("转发自群组「{}」", title(sender_chat)),
            author_signature,
        ),
        MessageOrigin::Channel {
            chat,
            author_signature,
            ..
        } => with_signature(format!("转发自频道「{}」", title(chat)), author_signature),
    }
}

fn title(chat: &teloxide::types::Chat) -> &str {
    chat.title().unwrap_or("未命名")
}

fn with_signature(origin: String, signature: &Option<String>) -> String {
    match signature {
        Some(s) => format!("{origin}，署名 {s}"),
        None => origin,
    }
}
