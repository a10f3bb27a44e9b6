//! The HTTP side of `serve`: `POST <webhook path>`, `GET /healthz`, `GET /metrics`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use tokio::time::Instant;

use super::metrics::Metrics;
use super::scheduler::Timers;
use super::triggers::{self, Effect};
use super::webhook::{BODY_TIMEOUT, Inbox, MAX_BODY, Rejection};
use crate::livekit::proto::WebhookEvent;
use crate::memory::Shared;
use crate::policy::Policy;

/// What the handlers share.
pub struct App {
    pub inbox: Mutex<Inbox>,
    pub timers: Timers,
    pub memory: Shared,
    pub policy: Policy,
    pub metrics: Metrics,
    pub health: Health,
}

impl App {
    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// When the last full sweep succeeded, and how recent it must be.
#[derive(Debug)]
pub struct Health {
    pub last_ok: Mutex<Option<Instant>>,
    /// 2x `--sweep-every`.
    pub max_age: Duration,
}

impl Health {
    pub fn new(sweep_every: Duration) -> Self {
        Self {
            last_ok: Mutex::new(None),
            max_age: sweep_every.saturating_mul(2),
        }
    }

    /// A full sweep succeeded now.
    pub fn sweep_ok(&self) {
        *self.last_ok.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    fn healthy(&self) -> bool {
        self.last_ok
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() <= self.max_age)
    }
}

/// The routes.
pub fn router(app: Arc<App>, webhook_path: &str) -> Router {
    Router::new()
        .route(webhook_path, post(webhook))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(app)
}

async fn webhook(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let event = match receive(&app, &headers, body).await {
        Ok(event) => event,
        Err(rejection) => {
            app.metrics.rejected(rejection.as_str());
            // Never the body: it may carry participants' names and metadata.
            tracing::warn!(reason = rejection.as_str(), "webhook not acted on");
            let status =
                StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return (status, rejection.as_str()).into_response();
        }
    };
    app.metrics.received(&event.event);
    for effect in triggers::of_event(&event, &app.policy, SystemTime::now()) {
        match effect {
            Effect::Check { room, at, cause } => app.timers.schedule_at(&room, at, cause),
            Effect::Cancel { room } => {
                app.timers.cancel(&room);
                app.memory.forget(&room);
            }
            Effect::Emptied { room, sid, at } => app.memory.emptied(&sid, &room, at),
            Effect::Human { room } => app.memory.human(&room),
        }
    }
    tracing::debug!(event = %crate::redact::line(&event.event), "webhook");
    (StatusCode::OK, "ok").into_response()
}

/// Headers first: the token is verified before a byte of the body is read, so an
/// unauthenticated client costs no memory; the body's hash is checked last.
async fn receive(app: &App, headers: &HeaderMap, body: Body) -> Result<WebhookEvent, Rejection> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(Rejection::TooLarge);
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(axum::http::HeaderValue::as_bytes);
    let signed = app.inbox().token(authorization)?;
    let body = tokio::time::timeout(BODY_TIMEOUT, read_body(body))
        .await
        .map_err(|_| Rejection::Slow)??;
    app.inbox().accept(&signed, &body, SystemTime::now())
}

/// The body, up to [`MAX_BODY`]; a client that hangs up before its end is `Incomplete`.
async fn read_body(body: Body) -> Result<Vec<u8>, Rejection> {
    let mut stream = body.into_data_stream();
    let mut read = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Rejection::Incomplete)?;
        if read.len() + chunk.len() > MAX_BODY {
            return Err(Rejection::TooLarge);
        }
        read.extend_from_slice(&chunk);
    }
    Ok(read)
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    if app.health.healthy() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        let why = "no full sweep succeeded within 2x --sweep-every\n";
        (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(app.health.healthy()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn healthy_only_while_the_last_full_sweep_is_recent() {
        let health = Health::new(Duration::from_secs(300));
        assert!(!health.healthy(), "no sweep has succeeded yet");
        health.sweep_ok();
        tokio::time::advance(Duration::from_secs(600)).await;
        assert!(health.healthy(), "2x --sweep-every");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!health.healthy());
    }
}
