//! The second seam: LiveKit's own Redis, read to find zombie rooms (their node is gone) and,
//! with `--purge-zombies`, to remove their records as LiveKit's DeleteRoom would.
//!
//! It feeds the same flow as the API: [`read`](Store::read) gives a [`ClusterView`] that
//! the inventory carries, evaluation turns a room on a dead node into a `zombie_room`
//! finding, and execution calls [`Purge::purge_room`] for it.

mod redis;
mod url;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prost::Message;

pub use self::redis::Store;
pub use self::url::RedisUrl;
use crate::livekit::proto;

/// How long after its last stats update a node counts as dead.
///
/// LiveKit refreshes `stats.updated_at` every 2 s (`StatsUpdateInterval`) and stops
/// placing rooms on a node after 5 s (`selector.IsAvailable`). Purging a live node's room
/// would delete records under its feet, so we wait far longer: 30 s is 15 missed updates,
/// enough for a long GC pause, an overloaded Redis or some clock skew between that node
/// and this host, while a node killed a minute ago is still found on the next cron run.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// What a room's node looked like when the inventory was taken: the evidence a purge
/// re-checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadNode {
    /// The node id `room_node_map` names.
    pub id: String,
    /// Its record in hash `nodes` as read (protobuf `livekit.Node`), or `None` when absent.
    /// A purge goes ahead only if the record is still byte for byte the same: a live node
    /// rewrites it every 2 s.
    pub record: Option<Vec<u8>>,
    /// `stats.updated_at`, when the record has one.
    pub last_seen: Option<DateTime<Utc>>,
}

impl DeadNode {
    /// "absent from Redis `nodes`" or "silent for 3m 10s".
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        match self.last_seen {
            None => format!("node {} is absent from LiveKit's node list", self.id),
            Some(seen) => {
                let silent = (now - seen).to_std().unwrap_or_default();
                format!(
                    "node {} has not reported for {}",
                    self.id,
                    crate::policy::human_duration(silent)
                )
            }
        }
    }
}

/// LiveKit's nodes and which node hosts each room, as read from Redis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterView {
    /// Hash `nodes`: node id -> protobuf `livekit.Node`.
    pub nodes: HashMap<String, Vec<u8>>,
    /// Hash `room_node_map`: room name -> node id.
    pub room_nodes: HashMap<String, String>,
}

impl ClusterView {
    /// The dead node of every room whose node is absent from `nodes` or has not reported
    /// for [`STALE_AFTER`] at `now`. A room missing from `room_node_map`, or whose node
    /// record cannot be read, is not judged: never guess.
    pub fn dead_nodes(&self, now: DateTime<Utc>) -> HashMap<String, DeadNode> {
        let mut verdicts: HashMap<&str, Option<DeadNode>> = HashMap::new();
        let mut out = HashMap::new();
        for (room, node) in &self.room_nodes {
            let verdict = verdicts
                .entry(node.as_str())
                .or_insert_with(|| self.judge_node(node, now));
            if let Some(dead) = verdict {
                out.insert(room.clone(), dead.clone());
            }
        }
        out
    }

    fn judge_node(&self, id: &str, now: DateTime<Utc>) -> Option<DeadNode> {
        let Some(record) = self.nodes.get(id) else {
            return Some(DeadNode {
                id: id.to_owned(),
                record: None,
                last_seen: None,
            });
        };
        let node = proto::Node::decode(record.as_slice()).ok()?;
        // LiveKit counts a node without stats as available; so do we.
        let updated = node.stats?.updated_at;
        let seen = DateTime::from_timestamp(updated, 0)?;
        let silent = (now - seen).to_std().unwrap_or_default();
        (silent > STALE_AFTER).then(|| DeadNode {
            id: id.to_owned(),
            record: Some(record.clone()),
            last_seen: Some(seen),
        })
    }
}

/// How a purge ended when Redis answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeOutcome {
    Purged,
    /// The re-check found the room alive again (moved, or its node back); nothing removed.
    Revived(String),
}

/// Removing a zombie room's records.
#[allow(async_fn_in_trait)] // only used with concrete types inside one task
pub trait Purge {
    /// Atomically re-checks that `room` still maps to `node` and that `node` is still dead,
    /// then removes the room's records.
    async fn purge_room(&self, room: &str, node: &DeadNode) -> anyhow::Result<PurgeOutcome>;
}

/// The records a purge removes, for messages: exactly what LiveKit v1.13.5's DeleteRoom
/// (`pkg/service/redisstore.go`) and ClearRoomState (`pkg/routing/redisrouter.go`) remove.
pub fn purged_records(room: &str) -> String {
    format!(
        "hash fields rooms/{room}, room_internal/{room} and room_node_map/{room}, keys room_participants:{room}, agent_dispatch:{room} and agent_job:{room}"
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn node(id: &str, updated_at: Option<i64>) -> Vec<u8> {
        proto::Node {
            id: id.into(),
            stats: updated_at.map(|updated_at| proto::NodeStats {
                updated_at,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn rooms_on_absent_or_silent_nodes_are_zombies_and_nothing_else_is() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 6, 0, 0).unwrap();
        let t = now.timestamp();
        let view = ClusterView {
            nodes: [
                ("ND_live".into(), node("ND_live", Some(t - 2))),
                ("ND_slow".into(), node("ND_slow", Some(t - 29))),
                ("ND_dead".into(), node("ND_dead", Some(t - 31))),
                ("ND_nostats".into(), node("ND_nostats", None)),
                ("ND_garbage".into(), b"\xff\xff".to_vec()),
            ]
            .into(),
            room_nodes: [
                ("a", "ND_live"),
                ("b", "ND_slow"),
                ("c", "ND_dead"),
                ("d", "ND_gone"),
                ("e", "ND_nostats"),
                ("f", "ND_garbage"),
                ("g", "ND_dead"),
            ]
            .map(|(r, n)| (r.to_owned(), n.to_owned()))
            .into(),
        };
        let dead = view.dead_nodes(now);
        let mut rooms: Vec<&str> = dead.keys().map(String::as_str).collect();
        rooms.sort_unstable();
        assert_eq!(rooms, ["c", "d", "g"]);
        assert_eq!(dead["d"].record, None);
        assert_eq!(
            dead["c"].record.as_deref(),
            Some(&view.nodes["ND_dead"][..])
        );
        assert_eq!(
            dead["c"].describe(now),
            "node ND_dead has not reported for 31s"
        );
        assert_eq!(
            dead["d"].describe(now),
            "node ND_gone is absent from LiveKit's node list"
        );
    }
}
