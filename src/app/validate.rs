//! What makes a message a usable question ([`validate`]), and how user input is echoed back
//! ([`visible`]).

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;

/// Why a message is not a usable question (the text is the Chinese reply).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidQuestion {
    /// Nothing but whitespace.
    #[error("问题为空，请输入您想了解的政策问题，例如“小店房租能减免吗”。")]
    Empty,
    /// Longer than [`MAX_QUESTION_CHARS`].
    #[error("问题太长（{0} 字），请精简到 500 字以内再问。")]
    TooLong(usize),
    /// Control characters other than ordinary whitespace.
    #[error("问题中含有无法识别的控制字符，请只输入文字。")]
    ControlCharacters,
    /// No letter, digit or CJK character at all (emoji only, punctuation only).
    #[error("没有看懂这条消息，请用文字描述您的问题，例如“安阳上市有奖励吗”。")]
    NoText,
}

/// Checks a message and returns it trimmed, or why it cannot be answered.
///
/// # Errors
/// See [`InvalidQuestion`].
pub fn validate(text: &str) -> Result<&str, InvalidQuestion> {
    let t = text.trim();
    if t.is_empty() {
        return Err(InvalidQuestion::Empty);
    }
    let n = t.chars().count();
    if n > MAX_QUESTION_CHARS {
        return Err(InvalidQuestion::TooLong(n));
    }
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(InvalidQuestion::ControlCharacters);
    }
    if !t.chars().any(char::is_alphanumeric) {
        return Err(InvalidQuestion::NoText);
    }
    Ok(t)
}

/// `text` with control characters shown as `\u{…}` escapes, for echoing user input.
#[must_use]
pub fn visible(text: &str) -> String {
    text.chars()
        .map(|c| match c.is_control() {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect()
}
