//! Subscriptions in the hash `{prefix}subs`: one JSON [`Subscription`] per chat id.

use redis::AsyncCommands;

use super::{BroadcastStore, Result, bounded};
use crate::broadcast::Subscription;

impl BroadcastStore {
    /// Stores (or replaces) a subscription.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn subscribe(&self, sub: &Subscription) -> Result<()> {
        let json = serde_json::to_string(sub)?;
        let mut conn = self.conn.clone();
        let _: () = bounded(conn.hset(self.key("subs"), sub.chat, json)).await?;
        Ok(())
    }

    /// Removes the subscription of `chat`; whether there was one.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn unsubscribe(&self, chat: i64) -> Result<bool> {
        let mut conn = self.conn.clone();
        let removed: u64 = bounded(conn.hdel(self.key("subs"), chat)).await?;
        Ok(removed > 0)
    }

    /// The subscription of `chat`, if any.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn subscription(&self, chat: i64) -> Result<Option<Subscription>> {
        let mut conn = self.conn.clone();
        let json: Option<String> = bounded(conn.hget(self.key("subs"), chat)).await?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Every subscription (malformed entries are skipped with a warning).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, String)> = bounded(conn.hgetall(self.key("subs"))).await?;
        let mut subs: Vec<Subscription> = all
            .into_iter()
            .filter_map(|(chat, json)| match serde_json::from_str(&json) {
                Ok(s) => Some(s),
                Err(error) => {
                    tracing::warn!(%chat, %error, "malformed subscription skipped");
                    None
                }
            })
            .collect();
        subs.sort_by_key(|s: &Subscription| s.chat);
        Ok(subs)
    }

    /// Moves the subscription of group `from` to supergroup `to`; whether there was one.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn migrate(&self, from: i64, to: i64) -> Result<bool> {
        let Some(mut sub) = self.subscription(from).await? else {
            return Ok(false);
        };
        sub.chat = to;
        let json = serde_json::to_string(&sub)?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(self.key("subs"), to, json)
            .ignore()
            .hdel(self.key("subs"), from)
            .ignore();
        let mut conn = self.conn.clone();
        let _: () = bounded(pipe.query_async(&mut conn)).await?;
        Ok(true)
    }
}
