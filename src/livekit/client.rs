//! The production [`LiveKit`] client: Twirp over HTTP with protobuf bodies.
//!
//! livekit-api's `RoomClient` / `EgressClient` fall short for a janitor in four ways: tokens
//! live 6 h, the per-call timeout is fixed, `list_egress` drops `next_page_token`, and a
//! plain-text 401 surfaces as a decode error. So this one small client speaks Twirp itself,
//! with livekit-protocol's types and livekit-api's token signing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message;
use tokio::sync::Semaphore;

use super::error::{ApiError, snippet};
use super::{Endpoint, LiveKit, transport};
use crate::secret::Secret;

/// Tokens are minted per call; a few minutes covers any call and limits a leaked token.
const TOKEN_TTL: Duration = Duration::from_secs(5 * 60);

/// Who we are to the server.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub api_key: String,
    pub api_secret: Secret,
}

/// Per-call limits.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    /// Deadline of one HTTP attempt.
    pub request_timeout: Duration,
    /// Calls in flight at most, across the whole run.
    pub concurrency: usize,
    /// Attempts per call, the first included, for transient failures.
    pub attempts: u32,
    /// No retry sleeps past this instant (the run's deadline).
    pub deadline: Option<Instant>,
}

/// Twirp client for the Room and Egress services.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    route: transport::Route,
    credentials: Credentials,
    limits: CallLimits,
    in_flight: Arc<Semaphore>,
}

/// One RPC: where it goes and the grant it needs.
#[derive(Debug, Clone, Copy)]
enum Rpc<'a> {
    ListRooms,
    DeleteRoom,
    ListParticipants { room: &'a str },
    ListEgress,
    StopEgress,
}

impl Rpc<'_> {
    fn path(self) -> &'static str {
        match self {
            Self::ListRooms => "livekit.RoomService/ListRooms",
            Self::DeleteRoom => "livekit.RoomService/DeleteRoom",
            Self::ListParticipants { .. } => "livekit.RoomService/ListParticipants",
            Self::ListEgress => "livekit.Egress/ListEgress",
            Self::StopEgress => "livekit.Egress/StopEgress",
        }
    }

    /// Exactly the grant the server checks for this call, nothing more.
    fn grants(self) -> VideoGrants {
        let mut grants = VideoGrants::default();
        match self {
            Self::ListRooms => grants.room_list = true,
            Self::DeleteRoom => grants.room_create = true,
            Self::ListParticipants { room } => {
                grants.room_admin = true;
                room.clone_into(&mut grants.room);
            }
            Self::ListEgress | Self::StopEgress => grants.room_record = true,
        }
        grants
    }

    /// Whether a failed attempt may be retried. StopEgress answered with
    /// `deadline_exceeded` / `unavailable` is a stale record whose worker is gone, and
    /// DeleteRoom answered "node gone" a zombie room: asking again only waits again.
    fn may_retry(self, err: &ApiError) -> bool {
        let zombie_answer = match self {
            Self::StopEgress => matches!(
                err.code(),
                Some(super::error::code::DEADLINE_EXCEEDED | super::error::code::UNAVAILABLE)
            ),
            Self::DeleteRoom => err.is_node_gone(),
            _ => false,
        };
        err.is_transient() && !zombie_answer
    }
}

impl Client {
    /// Builds the client; loads the TLS trust store only for an https:// endpoint.
    pub fn new(
        endpoint: Endpoint,
        credentials: Credentials,
        limits: CallLimits,
    ) -> anyhow::Result<Self> {
        let tls = super::tls::client_config(endpoint.is_tls())?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(limits.request_timeout)
            .connect_timeout(limits.request_timeout)
            .pool_max_idle_per_host(limits.concurrency)
            .user_agent(concat!("lk-reaper/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            route: transport::Route::of(endpoint),
            credentials,
            limits,
            in_flight: Arc::new(Semaphore::new(limits.concurrency)),
        })
    }

    async fn call<Req: Message, Resp: Message + Default>(
        &self,
        rpc: Rpc<'_>,
        request: &Req,
    ) -> Result<Resp, ApiError> {
        let body = request.encode_to_vec();
        let mut attempt = 1;
        loop {
            let result = self.attempt(rpc, body.clone()).await;
            match result {
                Err(err) if attempt < self.limits.attempts && rpc.may_retry(&err) => {
                    let pause = backoff(attempt);
                    if self
                        .limits
                        .deadline
                        .is_some_and(|d| Instant::now() + pause >= d)
                    {
                        return Err(err);
                    }
                    tracing::debug!(rpc = rpc.path(), attempt, error = %err, "retrying");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn attempt<Resp: Message + Default>(
        &self,
        rpc: Rpc<'_>,
        body: Vec<u8>,
    ) -> Result<Resp, ApiError> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| ApiError::Transport("client shut down".into()))?;
        let token = AccessToken::with_api_key(
            &self.credentials.api_key,
            self.credentials.api_secret.expose(),
        )
        .with_ttl(TOKEN_TTL)
        .with_grants(rpc.grants())
        .to_jwt()
        .map_err(|e| ApiError::Transport(format!("could not sign a token: {e}")))?;
        let url = self.route.endpoint().method_url(rpc.path());
        let started = Instant::now();
        let response = self
            .http
            .post(&url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/protobuf")
            .header(
                "X-Twirp-Timeout-Ms",
                self.limits.request_timeout.as_millis().to_string(),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| transport::classify(&e, &self.route, self.limits.request_timeout))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport::classify(&e, &self.route, self.limits.request_timeout))?;
        tracing::debug!(
            rpc = rpc.path(),
            status,
            ms = started.elapsed().as_millis() as u64,
            "call"
        );
        if let Some(err) = transport::plain_http_on_tls_port(self.route.endpoint(), status, &bytes)
        {
            return Err(err);
        }
        if status != 200 {
            return Err(ApiError::from_response(
                &self.route.endpoint().to_string(),
                status,
                &content_type,
                &bytes,
            ));
        }
        // Twirp answers `application/protobuf`; accept its spelling variants (or none), but a
        // page or a JSON document is not an answer to a protobuf request.
        if ["json", "html", "text/"]
            .iter()
            .any(|t| content_type.contains(t))
        {
            return Err(self.not_livekit(status, &bytes));
        }
        Resp::decode(bytes).map_err(|_| self.not_livekit(status, b"undecodable protobuf body"))
    }

    /// ListEgress with `active = true` for one room (`""`: every room), to the last page.
    pub async fn list_active_egress_of(
        &self,
        room_name: &str,
    ) -> Result<Vec<proto::EgressInfo>, ApiError> {
        let mut items = Vec::new();
        let mut page_token = None;
        loop {
            let request = proto::ListEgressRequest {
                active: true,
                room_name: room_name.to_owned(),
                page_token,
                ..Default::default()
            };
            let response: proto::ListEgressResponse = self.call(Rpc::ListEgress, &request).await?;
            items.extend(response.items);
            match response.next_page_token {
                Some(next) if !next.token.is_empty() => page_token = Some(next),
                _ => return Ok(items),
            }
        }
    }

    fn not_livekit(&self, status: u16, body: &[u8]) -> ApiError {
        ApiError::NotLiveKit {
            url: self.route.endpoint().to_string(),
            status,
            snippet: snippet(body),
        }
    }
}

/// Exponential backoff with full jitter: up to 200 ms, 400 ms, 800 ms ... capped at 3 s.
fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(200 * 2u64.pow(attempt.saturating_sub(1).min(4)));
    ceiling
        .min(Duration::from_secs(3))
        .mul_f64(rand::random_range(0.5..=1.0))
}

impl LiveKit for Client {
    async fn list_rooms(&self, names: &[String]) -> Result<Vec<proto::Room>, ApiError> {
        let request = proto::ListRoomsRequest {
            names: names.to_vec(),
        };
        let response: proto::ListRoomsResponse = self.call(Rpc::ListRooms, &request).await?;
        Ok(response.rooms)
    }

    async fn list_participants(&self, room: &str) -> Result<Vec<proto::ParticipantInfo>, ApiError> {
        let request = proto::ListParticipantsRequest {
            room: room.to_owned(),
        };
        let response: proto::ListParticipantsResponse =
            self.call(Rpc::ListParticipants { room }, &request).await?;
        Ok(response.participants)
    }

    async fn list_active_egress(&self) -> Result<Vec<proto::EgressInfo>, ApiError> {
        self.list_active_egress_of("").await
    }

    async fn stop_egress(&self, egress_id: &str) -> Result<proto::EgressInfo, ApiError> {
        let request = proto::StopEgressRequest {
            egress_id: egress_id.to_owned(),
        };
        self.call(Rpc::StopEgress, &request).await
    }

    async fn delete_room(&self, room: &str) -> Result<(), ApiError> {
        let request = proto::DeleteRoomRequest {
            room: room.to_owned(),
        };
        let _: proto::DeleteRoomResponse = self.call(Rpc::DeleteRoom, &request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_gets_only_its_grant() {
        let g = Rpc::ListParticipants { room: "standup" }.grants();
        assert!(g.room_admin && g.room == "standup" && !g.room_list && !g.room_create);
        let g = Rpc::DeleteRoom.grants();
        assert!(g.room_create && !g.room_admin && !g.room_record && g.room.is_empty());
        assert!(Rpc::StopEgress.grants().room_record);
        assert!(Rpc::ListRooms.grants().room_list);
    }

    #[test]
    fn zombie_stop_is_not_retried_but_other_transients_are() {
        let zombie = ApiError::Twirp {
            status: 408,
            code: "deadline_exceeded".into(),
            msg: String::new(),
        };
        assert!(!Rpc::StopEgress.may_retry(&zombie));
        let unavailable = ApiError::Twirp {
            status: 503,
            code: "unavailable".into(),
            msg: String::new(),
        };
        assert!(Rpc::ListRooms.may_retry(&unavailable));
        assert!(Rpc::StopEgress.may_retry(&ApiError::Timeout(Duration::from_secs(1))));
        let not_found = ApiError::Twirp {
            status: 404,
            code: "not_found".into(),
            msg: String::new(),
        };
        assert!(!Rpc::DeleteRoom.may_retry(&not_found));
        let node_gone = ApiError::Twirp {
            status: 503,
            code: "unavailable".into(),
            msg: "twirp error unknown: no response from servers".into(),
        };
        assert!(!Rpc::DeleteRoom.may_retry(&node_gone));
        assert!(Rpc::DeleteRoom.may_retry(&unavailable));
        assert!(Rpc::ListParticipants { room: "r" }.may_retry(&node_gone));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..10 {
            let pause = backoff(attempt);
            assert!(pause <= Duration::from_secs(3));
            assert!(pause >= Duration::from_millis(100));
        }
        assert!(backoff(1) <= Duration::from_millis(200));
    }
}
