//! The one seam to the outside world: LiveKit's Room, Egress and Ingress services.

mod answer;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod jwt;
pub(crate) mod tls;
mod transport;
pub mod wire;

pub use client::{CallLimits, Client, Credentials};
pub use endpoint::Endpoint;
pub use error::ApiError;
pub use livekit_protocol as proto;

/// The calls lk-reaper makes, and nothing else.
#[allow(async_fn_in_trait)] // only used with concrete types inside one task
pub trait LiveKit {
    /// ListRooms; `names` empty lists all.
    async fn list_rooms(&self, names: &[String]) -> Result<Vec<wire::Room>, ApiError>;
    /// ListParticipants of one room (an unknown room gives an empty list).
    async fn list_participants(&self, room: &str) -> Result<Vec<proto::ParticipantInfo>, ApiError>;
    /// ListEgress with `active = true`, following `next_page_token` to the end.
    async fn list_active_egress(&self) -> Result<Vec<wire::Egress>, ApiError>;
    /// StopEgress.
    async fn stop_egress(&self, egress_id: &str) -> Result<(), ApiError>;
    /// DeleteRoom.
    async fn delete_room(&self, room: &str) -> Result<(), ApiError>;
    /// ListIngress of one room (`""`: every room), following `next_page_token` to the end.
    async fn list_ingress(&self, room_name: &str) -> Result<Vec<wire::Ingress>, ApiError>;
    /// UpdateIngress with `enabled: false`: ends its session and refuses reconnects.
    async fn disable_ingress(&self, ingress_id: &str) -> Result<(), ApiError>;
    /// DeleteIngress.
    async fn delete_ingress(&self, ingress_id: &str) -> Result<(), ApiError>;
    /// GetParticipant (roomAdmin for that room).
    async fn get_participant(
        &self,
        room: &str,
        identity: &str,
    ) -> Result<proto::ParticipantInfo, ApiError>;
    /// RemoveParticipant (roomAdmin for that room).
    async fn remove_participant(&self, room: &str, identity: &str) -> Result<(), ApiError>;
}
