//! One handler per API call: decode the request, check the grant, act on the state, encode
//! the reply — in that order, as the server's Twirp handlers do.

use std::sync::{Mutex, MutexGuard, PoisonError};

use livekit_api::access_token::VideoGrants;
use livekit_protocol as proto;

use super::auth::authorize;
use super::state::{StopOutcome, World};
use super::twirp::{Encoding, Method, TwirpError};

/// Why a call did not answer with a message.
#[derive(Debug)]
pub enum Failure {
    /// Answer this error now.
    Now(TwirpError),
    /// No egress worker (or the room's dead node) answered: answer this error after
    /// LiveKit's 3 s wait.
    NoAnswer(TwirpError),
}

impl From<TwirpError> for Failure {
    fn from(err: TwirpError) -> Self {
        Failure::Now(err)
    }
}

/// Locks the state; a panic elsewhere while it was held does not make it unusable.
pub fn lock(world: &Mutex<World>) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs one call and returns the encoded reply.
pub fn call(
    world: &Mutex<World>,
    method: Method,
    encoding: Encoding,
    body: &[u8],
    grants: Option<&VideoGrants>,
    now: i64,
) -> Result<Vec<u8>, Failure> {
    lock(world).finish_due(now);
    let reply = match method {
        Method::ListRooms => {
            let req: proto::ListRoomsRequest = encoding.decode(body)?;
            authorize(method, grants, "")?;
            let rooms = lock(world).list_rooms(&req.names);
            encoding.encode(&proto::ListRoomsResponse { rooms })
        }
        Method::ListParticipants => {
            let req: proto::ListParticipantsRequest = encoding.decode(body)?;
            authorize(method, grants, &req.room)?;
            let participants = lock(world).list_participants(&req.room);
            encoding.encode(&proto::ListParticipantsResponse { participants })
        }
        Method::DeleteRoom => {
            let req: proto::DeleteRoomRequest = encoding.decode(body)?;
            authorize(method, grants, "")?;
            let mut world = lock(world);
            match world.node_gone(&req.room) {
                Some((err, true)) => return Err(Failure::NoAnswer(err)),
                Some((err, false)) => return Err(Failure::Now(err)),
                None => world.delete_room(&req.room, now)?,
            }
            encoding.encode(&proto::DeleteRoomResponse {})
        }
        Method::UpdateRoomMetadata => {
            let req: proto::UpdateRoomMetadataRequest = encoding.decode(body)?;
            authorize(method, grants, &req.room)?;
            let room = lock(world).update_room_metadata(&req.room, &req.metadata)?;
            encoding.encode(&room)
        }
        Method::ListEgress => {
            let req: proto::ListEgressRequest = encoding.decode(body)?;
            authorize(method, grants, "")?;
            let reply = lock(world).list_egress(&req)?;
            encoding.encode(&reply)
        }
        Method::StopEgress => {
            let req: proto::StopEgressRequest = encoding.decode(body)?;
            authorize(method, grants, "")?;
            let outcome = lock(world).stop_egress(&req.egress_id, now);
            match outcome {
                StopOutcome::Stopped(info) => encoding.encode(info.as_ref()),
                StopOutcome::NoWorker(err) => return Err(Failure::NoAnswer(err)),
            }
        }
        Method::GetParticipant | Method::RemoveParticipant | Method::MutePublishedTrack => {
            participant_call(world, method, encoding, body, grants)?
        }
        Method::ListIngress | Method::UpdateIngress | Method::DeleteIngress => {
            ingress_call(world, method, encoding, body, grants, now)?
        }
    };
    Ok(reply)
}

/// The calls on one participant; each needs `roomAdmin` for the request's room.
fn participant_call(
    world: &Mutex<World>,
    method: Method,
    encoding: Encoding,
    body: &[u8],
    grants: Option<&VideoGrants>,
) -> Result<Vec<u8>, TwirpError> {
    let reply = match method {
        Method::RemoveParticipant => {
            let req: proto::RoomParticipantIdentity = encoding.decode(body)?;
            authorize(method, grants, &req.room)?;
            lock(world).remove_participant(&req.room, &req.identity)?;
            encoding.encode(&proto::RemoveParticipantResponse {})
        }
        Method::MutePublishedTrack => {
            let req: proto::MuteRoomTrackRequest = encoding.decode(body)?;
            authorize(method, grants, &req.room)?;
            let track = lock(world).mute_published_track(&req)?;
            encoding.encode(&proto::MuteRoomTrackResponse { track })
        }
        _ => {
            let req: proto::RoomParticipantIdentity = encoding.decode(body)?;
            authorize(method, grants, &req.room)?;
            let participant = lock(world).get_participant(&req.room, &req.identity)?;
            encoding.encode(&participant)
        }
    };
    Ok(reply)
}

/// The Ingress service's calls; every one needs `ingressAdmin`.
fn ingress_call(
    world: &Mutex<World>,
    method: Method,
    encoding: Encoding,
    body: &[u8],
    grants: Option<&VideoGrants>,
    now: i64,
) -> Result<Vec<u8>, TwirpError> {
    let reply = match method {
        Method::UpdateIngress => {
            let req: proto::UpdateIngressRequest = encoding.decode(body)?;
            authorize(method, grants, "")?;
            let info = lock(world).update_ingress(&req, now)?;
            encoding.encode(&info)
        }
        Method::DeleteIngress => {
            let req: proto::DeleteIngressRequest = encoding.decode(body)?;
            authorize(method, grants, "")?;
            let info = lock(world).delete_ingress(&req)?;
            encoding.encode(&info)
        }
        _ => {
            let req: proto::ListIngressRequest = encoding.decode(body)?;
            authorize(method, grants, "")?;
            let reply = lock(world).list_ingress(&req)?;
            encoding.encode(&reply)
        }
    };
    Ok(reply)
}
