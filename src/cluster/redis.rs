//! The Redis client: reads hashes `nodes` and `room_node_map`, purges with one Lua script.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use redis::aio::MultiplexedConnection;

use super::{ClusterView, DeadNode, Purge, PurgeOutcome, RedisUrl};

/// LiveKit's key names (v1.13.5, `pkg/routing/redisrouter.go`, `pkg/service/redisstore.go`).
const NODES: &str = "nodes";
const ROOM_NODE_MAP: &str = "room_node_map";
const ROOMS: &str = "rooms";
const ROOM_INTERNAL: &str = "room_internal";
const ROOM_KEY_PREFIXES: [&str; 3] = ["room_participants:", "agent_dispatch:", "agent_job:"];

/// Re-checks and removes in one step, so nothing can change in between: Redis runs a
/// script atomically. Every key it touches must be a hash (or absent), as v1.13.5 writes
/// them; anything else is refused before anything is removed.
const PURGE_SCRIPT: &str = r"
for _, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key).ok
  if t ~= 'none' and t ~= 'hash' then
    return {'wrongtype', key, t}
  end
end
local room, node = ARGV[1], ARGV[2]
local mapped = redis.call('HGET', KEYS[3], room)
if mapped ~= node then
  if mapped then
    return {'revived', 'the room has moved to node ' .. mapped}
  end
  return {'revived', 'the room no longer maps to a node'}
end
local record = redis.call('HGET', KEYS[4], node)
if ARGV[3] == '1' then
  if record ~= ARGV[4] then
    return {'revived', 'node ' .. node .. ' has reported again'}
  end
elseif record then
  return {'revived', 'node ' .. node .. ' is back in the node list'}
end
redis.call('HDEL', KEYS[1], room)
redis.call('HDEL', KEYS[2], room)
redis.call('DEL', KEYS[5], KEYS[6], KEYS[7])
redis.call('HDEL', KEYS[3], room)
return {'purged'}
";

/// A connection to LiveKit's Redis.
pub struct Store {
    connection: MultiplexedConnection,
    url: RedisUrl,
    script: redis::Script,
}

impl Store {
    /// Connects (and for `rediss://` checks the trust store as the API client does: the
    /// system roots, or `SSL_CERT_FILE`). Every error shows the URL with its password masked.
    pub async fn connect(url: &RedisUrl, timeout: Duration) -> anyhow::Result<Self> {
        if url.is_tls() {
            crate::livekit::tls::client_config(true)?;
        }
        let client = redis::Client::open(url.expose()).map_err(|e| masked(url, &e))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| masked(url, &e))
            .with_context(|| format!("could not connect to Redis at {url}"))?;
        Ok(Self {
            connection,
            url: url.clone(),
            script: redis::Script::new(PURGE_SCRIPT),
        })
    }

    /// Reads hashes `nodes` and `room_node_map`, refusing other key types.
    pub async fn read(&self) -> anyhow::Result<ClusterView> {
        for key in [NODES, ROOM_NODE_MAP] {
            self.expect_hash(key).await?;
        }
        let mut con = self.connection.clone();
        let (nodes, room_nodes): (HashMap<String, Vec<u8>>, HashMap<String, String>) =
            redis::pipe()
                .hgetall(NODES)
                .hgetall(ROOM_NODE_MAP)
                .query_async(&mut con)
                .await
                .map_err(|e| masked(&self.url, &e))
                .with_context(|| format!("could not read LiveKit's Redis at {}", self.url))?;
        Ok(ClusterView { nodes, room_nodes })
    }

    async fn expect_hash(&self, key: &str) -> anyhow::Result<()> {
        let mut con = self.connection.clone();
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut con)
            .await
            .map_err(|e| masked(&self.url, &e))
            .with_context(|| format!("could not read LiveKit's Redis at {}", self.url))?;
        if kind != "hash" && kind != "none" {
            bail!("{}", wrong_type(key, &kind));
        }
        Ok(())
    }
}

impl Purge for Store {
    async fn purge_room(&self, room: &str, node: &DeadNode) -> anyhow::Result<PurgeOutcome> {
        let mut con = self.connection.clone();
        let mut call = self.script.prepare_invoke();
        call.key(ROOMS)
            .key(ROOM_INTERNAL)
            .key(ROOM_NODE_MAP)
            .key(NODES);
        for prefix in ROOM_KEY_PREFIXES {
            call.key(format!("{prefix}{room}"));
        }
        call.arg(room).arg(&node.id);
        match &node.record {
            Some(record) => call.arg("1").arg(record.as_slice()),
            None => call.arg("0").arg(""),
        };
        let answer: Vec<String> = call
            .invoke_async(&mut con)
            .await
            .map_err(|e| masked(&self.url, &e))?;
        match answer.as_slice() {
            [done] if done == "purged" => Ok(PurgeOutcome::Purged),
            [revived, why] if revived == "revived" => Ok(PurgeOutcome::Revived(format!(
                "{why} (re-checked in Redis right before the purge)"
            ))),
            [wrong, key, kind] if wrong == "wrongtype" => Err(anyhow!("{}", wrong_type(key, kind))),
            other => Err(anyhow!(
                "unexpected answer from the purge script: {other:?}"
            )),
        }
    }
}

fn wrong_type(key: &str, kind: &str) -> String {
    // `{:?}` escapes whatever a room name put into the key.
    format!(
        "LiveKit's Redis is not laid out as v1.13.5 writes it: key {key:?} is a {kind:?}, expected a hash; nothing was changed"
    )
}

/// A Redis error as text, with the URL's password (should the error quote it) masked.
fn masked(url: &RedisUrl, err: &redis::RedisError) -> anyhow::Error {
    let text = err.to_string();
    let password = reqwest::Url::parse(url.expose())
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => anyhow!("{}", text.replace(&p, "***")),
        None => anyhow!("{text}"),
    }
}
