//! Issue 9: the Redis inbox of accepted updates on a real Redis: a redelivered update (still
//! pending, or older than the newest recorded) is dropped; unfinished updates come back oldest
//! first, and one that never finishes is dropped after `MAX_REPLAYS` starts; a fetched batch is
//! recorded in one call with the same de-duplication.

use policybot::telegram::{Inbox, MAX_REPLAYS};
use serde_json::json;
use teloxide::types::Update;

use crate::fake_bot_api as fake;
use crate::support::redis::{TestRedis, unique_prefix};

fn update(id: u32, user: u64) -> Update {
    let mut value = fake::private(user, "小店房租能减免吗");
    value["update_id"] = json!(id);
    serde_json::from_str(&value.to_string()).expect("help: a teloxide update")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeliveries_are_dropped_and_unfinished_updates_come_back_in_order() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("inbox");
    let inbox = Inbox::open(redis.url(), &prefix, "a").expect("valid URL");
    assert!(inbox.accept(&update(12, 5)).await);
    // Older than the newest recorded: Telegram sends updates in order, so a redelivery.
    assert!(!inbox.accept(&update(10, 5)).await, "help: older than 12");
    assert!(!inbox.accept(&update(12, 5)).await, "help: still pending");
    assert!(inbox.accept(&update(13, 6)).await);
    inbox.done(teloxide::types::UpdateId(12)).await;
    assert!(!inbox.accept(&update(12, 5)).await, "help: handled before");

    let other = Inbox::open(redis.url(), &prefix, "b").expect("valid URL");
    assert!(
        other.unfinished().await.is_empty(),
        "help: a replica recovers only its own updates"
    );
    let ids = |updates: Vec<Update>| updates.iter().map(|u| u.id.0).collect::<Vec<_>>();
    assert!(inbox.accept(&update(15, 7)).await);
    assert!(!inbox.accept(&update(14, 7)).await, "help: older than 15");
    assert_eq!(
        ids(inbox.unfinished().await),
        [13, 15],
        "help: oldest first"
    );
    inbox.done(teloxide::types::UpdateId(15)).await;
    for _ in 1..MAX_REPLAYS {
        assert_eq!(ids(inbox.unfinished().await), [13]);
    }
    assert!(
        inbox.unfinished().await.is_empty(),
        "help: dropped after {MAX_REPLAYS} replays"
    );
    assert!(inbox.unfinished().await.is_empty());
}

/// A fetched batch is recorded in one call: its new updates kept in order, the redeliveries in
/// it (still pending, or not newer than the newest recorded) dropped, as one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_recorded_at_once_with_the_same_de_duplication() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let prefix = unique_prefix("inbox-batch");
    let inbox = Inbox::open(redis.url(), &prefix, "a").expect("valid URL");
    let ids = |updates: Vec<Update>| updates.iter().map(|u| u.id.0).collect::<Vec<_>>();
    let batch = |from: u32, to: u32| (from..=to).map(|id| update(id, 5)).collect::<Vec<_>>();
    assert_eq!(ids(inbox.accept_all(batch(20, 22)).await), [20, 21, 22]);
    inbox.done(teloxide::types::UpdateId(21)).await;
    // Telegram sends the unconfirmed batch again with one more update.
    assert_eq!(ids(inbox.accept_all(batch(20, 23)).await), [23]);
    assert!(inbox.accept_all(Vec::new()).await.is_empty());
    assert!(!inbox.accept(&update(19, 5)).await, "help: older than 23");
    assert_eq!(ids(inbox.unfinished().await), [20, 22, 23]);
}
