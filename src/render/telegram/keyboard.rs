//! The inline keyboards of answers: one button per follow-up (全文 buttons side by side), the
//! 📋 工单格式 button of a forwarded question's reply and the 👍/👎 row; and plain lists of buttons.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::button;
use crate::answer::{Answer, Followup, Status};
use crate::app::Action;
use crate::telegram::callback::Callback;

/// The inline keyboard of an answer: one button per follow-up, 全文 buttons side by side, with
/// `ticket` (the reply to a forwarded question) a 📋 工单格式 button when clauses are cited, and a
/// 👍/👎 row under answered questions. Every button carries `answer_id`, so presses on an older
/// answer are recognised. `None` when there is no button.
#[must_use]
pub fn keyboard(answer: &Answer, answer_id: u64, ticket: bool) -> Option<InlineKeyboardMarkup> {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    let mut full_texts = Vec::new();
    for (i, followup) in answer.followups.iter().enumerate() {
        let (n, kind) = (i + 1, followup.kind());
        let callback = Callback::Press(Action::Followup { answer_id, n, kind });
        let button = button(&followup.label(), &callback);
        match followup {
            Followup::FullText { .. } => full_texts.push(button),
            _ => rows.push(vec![button]),
        }
    }
    // 全文 buttons first, up to four per row.
    let full_rows: Vec<Vec<InlineKeyboardButton>> =
        full_texts.chunks(4).map(<[_]>::to_vec).collect();
    rows.splice(0..0, full_rows);
    let cited = matches!(answer.status, Status::Answered | Status::Related);
    if ticket && cited {
        let callback = Callback::Press(Action::Ticket { answer_id });
        rows.push(vec![button(TICKET_LABEL, &callback)]);
    }
    if cited {
        let rate = |useful| Callback::Press(Action::Rate { answer_id, useful });
        rows.push(vec![
            button("👍 有用", &rate(true)),
            button("👎 没用", &rate(false)),
        ]);
    }
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// The button under a forwarded question's reply that sends the answer as a ticket.
pub const TICKET_LABEL: &str = "📋 工单格式";

/// A keyboard of one button per row, e.g. /start's example questions or /topics.
#[must_use]
pub fn list_keyboard(buttons: &[(String, Callback)]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(buttons.iter().map(|(label, cb)| vec![button(label, cb)]))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{callback_data, sample};
    use super::*;

    #[test]
    fn keyboard_has_every_followup_and_feedback() {
        let mut no_buttons = sample(1, 10);
        no_buttons.status = Status::Intent;
        no_buttons.followups.clear();
        assert_eq!(keyboard(&no_buttons, 1, true), None);
        let kb = keyboard(&sample(2, 10), 42, false).unwrap();
        let data = callback_data(&kb);
        assert_eq!(
            data,
            [
                "t:16:2", "t:16:3", "m:16:1", "r:16:4", "a:16:5", "v:16:1", "v:16:0"
            ]
        );
        let kb = keyboard(&sample(2, 10), 42, true).unwrap();
        let labels: Vec<&str> = kb
            .inline_keyboard
            .iter()
            .flatten()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(
            labels[labels.len() - 3..],
            [TICKET_LABEL, "👍 有用", "👎 没用"]
        );
        assert_eq!(callback_data(&kb)[callback_data(&kb).len() - 3], "k:16");
    }
}
