//! The production [`LiveKit`] client: Twirp over HTTP with protobuf bodies, for the Room,
//! Egress and Ingress services.
//!
//! livekit-api's `RoomClient` / `EgressClient` fall short for a janitor in four ways: tokens
//! live 6 h, the per-call timeout is fixed, `list_egress` drops `next_page_token`, and a
//! plain-text 401 surfaces as a decode error. So this one small client speaks Twirp itself,
//! with livekit-protocol's types and livekit-api's token signing.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message;
use tokio::sync::Semaphore;

use super::answer::Answer;
use super::error::{ApiError, snippet};
use super::{Endpoint, LiveKit, transport, wire};
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

/// Twirp client for the Room, Egress and Ingress services.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    route: transport::Route,
    credentials: Credentials,
    limits: CallLimits,
    in_flight: Arc<Semaphore>,
    /// No call starts before this instant: the server rate-limited us.
    slow_until: Arc<Mutex<Option<Instant>>>,
}

/// One RPC: where it goes and the grant it needs.
#[derive(Debug, Clone, Copy)]
enum Rpc<'a> {
    ListRooms,
    DeleteRoom,
    ListParticipants { room: &'a str },
    GetParticipant { room: &'a str },
    RemoveParticipant { room: &'a str },
    ListEgress,
    StopEgress,
    ListIngress,
    UpdateIngress,
    DeleteIngress,
}

impl Rpc<'_> {
    fn path(self) -> &'static str {
        match self {
            Self::ListRooms => "livekit.RoomService/ListRooms",
            Self::DeleteRoom => "livekit.RoomService/DeleteRoom",
            Self::ListParticipants { .. } => "livekit.RoomService/ListParticipants",
            Self::GetParticipant { .. } => "livekit.RoomService/GetParticipant",
            Self::RemoveParticipant { .. } => "livekit.RoomService/RemoveParticipant",
            Self::ListEgress => "livekit.Egress/ListEgress",
            Self::StopEgress => "livekit.Egress/StopEgress",
            Self::ListIngress => "livekit.Ingress/ListIngress",
            Self::UpdateIngress => "livekit.Ingress/UpdateIngress",
            Self::DeleteIngress => "livekit.Ingress/DeleteIngress",
        }
    }

    /// Exactly the grant the server checks for this call, nothing more.
    fn grants(self) -> VideoGrants {
        let mut grants = VideoGrants::default();
        match self {
            Self::ListRooms => grants.room_list = true,
            Self::DeleteRoom => grants.room_create = true,
            Self::ListParticipants { room }
            | Self::GetParticipant { room }
            | Self::RemoveParticipant { room } => {
                grants.room_admin = true;
                room.clone_into(&mut grants.room);
            }
            Self::ListEgress | Self::StopEgress => grants.room_record = true,
            Self::ListIngress | Self::UpdateIngress | Self::DeleteIngress => {
                grants.ingress_admin = true;
            }
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

/// A failed attempt, and how long the server asked to wait before the next one.
struct Failure {
    error: ApiError,
    retry_after: Option<Duration>,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl Client {
    /// Builds the client; loads the TLS trust store only for an https:// endpoint.
    pub fn new(
        endpoint: Endpoint,
        credentials: Credentials,
        limits: CallLimits,
    ) -> anyhow::Result<Self> {
        super::jwt::install();
        let tls = super::tls::client_config(endpoint.is_tls())?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(limits.request_timeout)
            .connect_timeout(limits.request_timeout)
            // Twirp never redirects; a 3xx is reported, never followed.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(limits.concurrency)
            .user_agent(concat!("lk-reaper/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            route: transport::Route::of(endpoint),
            credentials,
            limits,
            in_flight: Arc::new(Semaphore::new(limits.concurrency)),
            slow_until: Arc::default(),
        })
    }

    /// The same client with its own run deadline: it shares the connection pool, the
    /// concurrency limit and any rate-limit pause with `self`, so `serve`'s checks and
    /// full sweeps together never have more than `--concurrency` calls in flight.
    #[must_use]
    pub fn until(&self, deadline: Instant) -> Self {
        Self {
            http: self.http.clone(),
            route: self.route.clone(),
            credentials: self.credentials.clone(),
            limits: CallLimits {
                deadline: Some(deadline),
                ..self.limits
            },
            in_flight: Arc::clone(&self.in_flight),
            slow_until: Arc::clone(&self.slow_until),
        }
    }

    async fn call<Req: Message, Resp: Message + Default>(
        &self,
        rpc: Rpc<'_>,
        request: &Req,
    ) -> Result<Resp, ApiError> {
        let body = request.encode_to_vec();
        let mut attempt = 1;
        loop {
            let failure = match self.attempt(rpc, body.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            let err = failure.error;
            if attempt >= self.limits.attempts || !rpc.may_retry(&err) {
                return Err(err);
            }
            // Never sooner than the server asked; jitter on top, so that calls it slowed
            // down together do not come back together.
            let pause = failure
                .retry_after
                .unwrap_or_default()
                .saturating_add(backoff(attempt));
            let Some(resume) = Instant::now().checked_add(pause) else {
                return Err(err);
            };
            if self.limits.deadline.is_some_and(|d| resume >= d) {
                return Err(err);
            }
            if err.is_rate_limited() {
                self.slow_down_until(resume);
            }
            tracing::debug!(rpc = rpc.path(), attempt, error = %err, ?pause, "retrying");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    /// A rate limit slows down every call of the run, not only the one that met it.
    fn slow_down_until(&self, resume: Instant) {
        let mut slow = self
            .slow_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slow = Some(slow.map_or(resume, |s| s.max(resume)));
    }

    async fn wait_if_slowed_down(&self) {
        let until = *self
            .slow_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(until) = until.filter(|&u| u > Instant::now()) {
            tokio::time::sleep_until(until.into()).await;
        }
    }

    async fn attempt<Resp: Message + Default>(
        &self,
        rpc: Rpc<'_>,
        body: Vec<u8>,
    ) -> Result<Resp, Failure> {
        self.wait_if_slowed_down().await;
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| ApiError::Transport("client shut down".into()))?;
        let started = Instant::now();
        let answer = self.send(rpc, body).await?;
        tracing::debug!(
            rpc = rpc.path(),
            status = answer.status,
            ms = started.elapsed().as_millis() as u64,
            "call"
        );
        let server = self.route.endpoint().to_string();
        if let Some(err) =
            transport::plain_http_on_tls_port(self.route.endpoint(), answer.status, &answer.body)
        {
            return Err(err.into());
        }
        if answer.status != 200 {
            return Err(Failure {
                error: ApiError::from_response(
                    &server,
                    answer.status,
                    &answer.content_type,
                    &answer.body,
                ),
                retry_after: answer.retry_after,
            });
        }
        // Twirp answers `application/protobuf`; accept its spelling variants (or none), but a
        // page or a JSON document is not an answer to a protobuf request.
        if ["json", "html", "text/"]
            .iter()
            .any(|t| answer.content_type.contains(t))
        {
            return Err(self.not_livekit(answer.status, &answer.body).into());
        }
        Resp::decode(answer.body)
            .map_err(|_| self.not_livekit(200, b"undecodable protobuf body").into())
    }

    /// Sends one signed request and reads its answer.
    async fn send(&self, rpc: Rpc<'_>, body: Vec<u8>) -> Result<Answer, ApiError> {
        let token = AccessToken::with_api_key(
            &self.credentials.api_key,
            self.credentials.api_secret.expose(),
        )
        .with_ttl(TOKEN_TTL)
        .with_grants(rpc.grants())
        .to_jwt()
        .map_err(|e| ApiError::Transport(format!("could not sign a token: {e}")))?;
        let classify =
            |e: &reqwest::Error| transport::classify(e, &self.route, self.limits.request_timeout);
        let response = self
            .http
            .post(self.route.endpoint().method_url(rpc.path()))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/protobuf")
            .header(
                "X-Twirp-Timeout-Ms",
                self.limits.request_timeout.as_millis().to_string(),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        Answer::read(response, &self.route.endpoint().to_string(), classify).await
    }

    /// ListEgress with `active = true` for one room (`""`: every room), to the last page.
    pub async fn list_active_egress_of(
        &self,
        room_name: &str,
    ) -> Result<Vec<wire::Egress>, ApiError> {
        let request = |page_token| proto::ListEgressRequest {
            active: true,
            room_name: room_name.to_owned(),
            page_token,
            ..Default::default()
        };
        self.paged(Rpc::ListEgress, request, |r: wire::ListEgressResponse| {
            (r.items, r.next_page_token)
        })
        .await
    }

    /// Every page of a listing: `request` builds the request for a page token, `split`
    /// takes an answer apart into its items and the next page's token.
    async fn paged<Req: Message, Resp: Message + Default, T>(
        &self,
        rpc: Rpc<'_>,
        request: impl Fn(Option<proto::TokenPagination>) -> Req,
        split: impl Fn(Resp) -> (Vec<T>, Option<proto::TokenPagination>),
    ) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut pages = Pages::of(rpc.path());
        let mut page_token = None;
        loop {
            let (page, next) = split(self.call(rpc, &request(page_token)).await?);
            page_token = pages.next(page.len(), next)?;
            items.extend(page);
            if page_token.is_none() {
                return Ok(items);
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

/// Bounds on following `next_page_token`: a server that repeats a token, or never stops
/// handing out new ones, ends the listing with an error instead of looping for ever.
#[derive(Debug)]
struct Pages {
    /// The call, for the error: `ListEgress`.
    listing: &'static str,
    seen: HashSet<String>,
    items: usize,
}

/// Pages of one listing, at most: 10,000 pages are a million egresses at LiveKit Cloud's
/// page size of 100.
const MAX_PAGES: usize = 10_000;
/// Items of one listing, at most.
const MAX_ITEMS: usize = 1_000_000;

impl Pages {
    /// Pages of the listing at `path` (`livekit.Egress/ListEgress`).
    fn of(path: &'static str) -> Self {
        Self {
            listing: path.rsplit('/').next().unwrap_or(path),
            seen: HashSet::new(),
            items: 0,
        }
    }

    /// Counts a page of `items` and returns the token of the next page, if there is one.
    fn next(
        &mut self,
        items: usize,
        token: Option<proto::TokenPagination>,
    ) -> Result<Option<proto::TokenPagination>, ApiError> {
        self.items += items;
        let Some(token) = token.filter(|t| !t.token.is_empty()) else {
            return Ok(None);
        };
        let pages = self.seen.len() + 1;
        let broken = |why: String| {
            Err(ApiError::Broken(format!(
                "{} {why} after {pages} pages and {} items: a broken server or proxy",
                self.listing, self.items
            )))
        };
        if self.items > MAX_ITEMS || pages >= MAX_PAGES {
            return broken(format!(
                "went past {MAX_PAGES} pages or {MAX_ITEMS} items, lk-reaper's ceiling,"
            ));
        }
        if !self.seen.insert(token.token.clone()) {
            return broken(format!(
                "handed out page token '{}' a second time",
                crate::redact::short(&token.token, 40)
            ));
        }
        Ok(Some(token))
    }
}

impl LiveKit for Client {
    async fn list_rooms(&self, names: &[String]) -> Result<Vec<wire::Room>, ApiError> {
        let request = proto::ListRoomsRequest {
            names: names.to_vec(),
        };
        let response: wire::ListRoomsResponse = self.call(Rpc::ListRooms, &request).await?;
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

    async fn list_active_egress(&self) -> Result<Vec<wire::Egress>, ApiError> {
        self.list_active_egress_of("").await
    }

    async fn stop_egress(&self, egress_id: &str) -> Result<(), ApiError> {
        let request = proto::StopEgressRequest {
            egress_id: egress_id.to_owned(),
        };
        let _: wire::Skipped = self.call(Rpc::StopEgress, &request).await?;
        Ok(())
    }

    async fn delete_room(&self, room: &str) -> Result<(), ApiError> {
        let request = proto::DeleteRoomRequest {
            room: room.to_owned(),
        };
        let _: proto::DeleteRoomResponse = self.call(Rpc::DeleteRoom, &request).await?;
        Ok(())
    }

    async fn list_ingress(&self, room_name: &str) -> Result<Vec<wire::Ingress>, ApiError> {
        let request = |page_token| proto::ListIngressRequest {
            room_name: room_name.to_owned(),
            page_token,
            ..Default::default()
        };
        self.paged(Rpc::ListIngress, request, |r: wire::ListIngressResponse| {
            (r.items, r.next_page_token)
        })
        .await
    }

    async fn disable_ingress(&self, ingress_id: &str) -> Result<(), ApiError> {
        // Only `enabled` is set: LiveKit leaves every empty field of UpdateIngress as it was.
        let request = proto::UpdateIngressRequest {
            ingress_id: ingress_id.to_owned(),
            enabled: Some(false),
            ..Default::default()
        };
        let _: wire::Skipped = self.call(Rpc::UpdateIngress, &request).await?;
        Ok(())
    }

    async fn delete_ingress(&self, ingress_id: &str) -> Result<(), ApiError> {
        let request = proto::DeleteIngressRequest {
            ingress_id: ingress_id.to_owned(),
        };
        let _: wire::Skipped = self.call(Rpc::DeleteIngress, &request).await?;
        Ok(())
    }

    async fn get_participant(
        &self,
        room: &str,
        identity: &str,
    ) -> Result<proto::ParticipantInfo, ApiError> {
        let request = proto::RoomParticipantIdentity {
            room: room.to_owned(),
            identity: identity.to_owned(),
            ..Default::default()
        };
        self.call(Rpc::GetParticipant { room }, &request).await
    }

    async fn remove_participant(&self, room: &str, identity: &str) -> Result<(), ApiError> {
        let request = proto::RoomParticipantIdentity {
            room: room.to_owned(),
            identity: identity.to_owned(),
            ..Default::default()
        };
        let _: proto::RemoveParticipantResponse =
            self.call(Rpc::RemoveParticipant { room }, &request).await?;
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
        for rpc in [Rpc::ListIngress, Rpc::UpdateIngress, Rpc::DeleteIngress] {
            let g = rpc.grants();
            assert!(g.ingress_admin && !g.room_record && !g.room_admin && g.room.is_empty());
        }
        for rpc in [
            Rpc::GetParticipant { room: "standup" },
            Rpc::RemoveParticipant { room: "standup" },
        ] {
            let g = rpc.grants();
            assert!(g.room_admin && g.room == "standup" && !g.room_create && !g.room_list);
        }
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

    #[test]
    fn pages_end_on_a_repeated_token_or_at_the_ceiling() {
        let token = |t: &str| Some(proto::TokenPagination { token: t.into() });
        let mut pages = Pages::of("livekit.Egress/ListEgress");
        assert_eq!(pages.next(100, token("a")).unwrap(), token("a"));
        assert_eq!(pages.next(100, token("b")).unwrap(), token("b"));
        let err = pages.next(100, token("a")).unwrap_err();
        assert!(err.is_fatal() && !err.is_transient(), "{err}");
        assert!(
            err.to_string().contains("page token 'a' a second time"),
            "{err}"
        );
        assert_eq!(
            Pages::of("livekit.Egress/ListEgress")
                .next(5, token(""))
                .unwrap(),
            None
        );
        assert_eq!(
            Pages::of("livekit.Egress/ListEgress")
                .next(5, None)
                .unwrap(),
            None
        );

        let mut pages = Pages::of("livekit.Egress/ListEgress");
        let fresh = (1..=MAX_PAGES).find_map(|i| pages.next(0, token(&i.to_string())).err());
        assert!(fresh.unwrap().to_string().contains("ceiling"));
        let mut pages = Pages::of("livekit.Egress/ListEgress");
        assert!(pages.next(MAX_ITEMS + 1, token("x")).is_err());
    }
}
