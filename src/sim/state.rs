//! The simulated deployment's live state and what each API call does to it.
//!
//! Pure: the caller passes the current time (Unix nanoseconds), so every rule here is
//! testable without a clock or a server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use livekit_protocol as proto;

use super::ingress::{HANDLER_PANIC, INGRESS_NOT_FOUND, Ingress, NOT_CONNECTED};
use super::scenario::{
    EgressSpec, EgressStatus, EgressType, EventSpec, JoinSpec, Kind, KindDetail, NodeState,
    ParticipantSpec, ParticipantState, RoomSpec, Scenario, TrackSpec,
};
use super::tracks;
use super::twirp::{Method, TwirpCode, TwirpError};

const NS_PER_S: i64 = 1_000_000_000;
const NS_PER_MS: i64 = 1_000_000;

/// The message of LiveKit's `not_found` for a room (proto `utils/xtwirp`).
const ROOM_NOT_FOUND: &str = "twirp error unknown: requested room does not exist";
const PARTICIPANT_NOT_FOUND: &str = "twirp error unknown: participant does not exist";
// LiveKit's `ErrRemoteUnmuteNoteEnabled` (its default `room.enable_remote_unmute: false`),
// wrapped as its other participant errors are (not yet seen from a real server).
const REMOTE_UNMUTE: &str = "twirp error unknown: remote unmute not enabled";
const EGRESS_NOT_FOUND: &str = "twirp error unknown: egress does not exist";
const WORKER_TIMEOUT: &str = "twirp error unknown: request timed out";
const NODE_NO_RESPONSE: &str = "twirp error unknown: no response from servers";
const NODE_NOT_FOUND: &str = "could not find object";
const STOP_REASON: &str = "end reason: StopEgress API";

/// The codecs a default server enables, as it lists them in every room.
const ENABLED_CODECS: [&str; 10] = [
    "audio/PCMA",
    "audio/PCMU",
    "audio/opus",
    "audio/red",
    "video/AV1",
    "video/H264",
    "video/H265",
    "video/VP8",
    "video/VP9",
    "video/rtx",
];

/// Rooms, participants and egress records, indexed for the calls that look them up.
#[derive(Debug)]
pub struct World {
    settings: Scenario,
    // Ordered by name and id: the server lists rooms and egresses in that order.
    rooms: BTreeMap<String, Room>,
    egresses: BTreeMap<String, Egress>,
    egresses_by_room: HashMap<String, BTreeSet<String>>,
    ingresses: BTreeMap<String, Ingress>,
    events: Vec<(EventSpec, bool)>,
    /// Webhook events of the changes so far, for the caller to take and post.
    outbox: Vec<proto::WebhookEvent>,
    /// Stopped egresses whose worker is finishing the recording (ENDING), with the time it
    /// will have (Unix ns): `finish_due` completes them then.
    finishing: Vec<(i64, String)>,
}

#[derive(Debug)]
struct Room {
    sid: String,
    name: String,
    metadata: String,
    empty_timeout: u32,
    departure_timeout: u32,
    created_ns: i64,
    participants: Vec<Participant>,
    node: NodeState,
}

#[derive(Debug)]
struct Participant {
    sid: String,
    identity: String,
    kind: Kind,
    kind_details: Vec<KindDetail>,
    joined_ns: i64,
    state: ParticipantState,
    hidden: bool,
    /// Published tracks, their sids filled in.
    tracks: Vec<TrackSpec>,
    attributes: BTreeMap<String, String>,
}

#[derive(Debug)]
struct Egress {
    id: String,
    room_name: String,
    kind: EgressType,
    status: EgressStatus,
    started_ns: i64,
    updated_ns: i64,
    ended_ns: i64,
    zombie: bool,
    details: String,
    url: String,
    identity: String,
    track_id: String,
}

/// How a StopEgress call ends.
#[derive(Debug, PartialEq)]
pub enum StopOutcome {
    /// An egress worker handled it; the reply is this record.
    Stopped(Box<proto::EgressInfo>),
    /// No worker answered: after a delay the stored record decides the error.
    NoWorker(TwirpError),
}

impl World {
    /// The state a scenario describes, with its relative times taken from `now`.
    pub fn new(scenario: &Scenario, now: i64) -> World {
        let mut world = World {
            settings: Scenario {
                rooms: Vec::new(),
                egresses: Vec::new(),
                ingresses: Vec::new(),
                faults: Vec::new(),
                events: Vec::new(),
                ..scenario.clone()
            },
            rooms: BTreeMap::new(),
            egresses: BTreeMap::new(),
            egresses_by_room: HashMap::new(),
            ingresses: BTreeMap::new(),
            events: scenario.events.iter().map(|e| (e.clone(), false)).collect(),
            outbox: Vec::new(),
            finishing: Vec::new(),
        };
        for spec in &scenario.rooms {
            world.add_room(spec, now);
        }
        for spec in &scenario.egresses {
            world.add_egress(spec, now);
        }
        for spec in &scenario.ingresses {
            let ingress = Ingress::new(spec, now);
            if ingress.status.is_live() {
                world.seat_ingress(&ingress, spec.started_s_ago, now);
            }
            world.ingresses.insert(ingress.id.clone(), ingress);
        }
        world
    }

    /// A live ingress's participant (kind INGRESS, publishing audio and video) in its room,
    /// unless the room is not there or already has it.
    fn seat_ingress(&mut self, ingress: &Ingress, joined_s_ago: u64, now: i64) {
        let Some(room) = self.room_mut(&ingress.room_name) else {
            return;
        };
        if room
            .participants
            .iter()
            .any(|p| p.identity == ingress.identity)
        {
            return;
        }
        let spec = ParticipantSpec {
            identity: ingress.identity.clone(),
            kind: Kind::Ingress,
            kind_details: Vec::new(),
            joined_s_ago,
            state: ParticipantState::Active,
            hidden: false,
            tracks: 2,
            muted_tracks: 0,
            track_list: Vec::new(),
            attributes: BTreeMap::new(),
        };
        let joined = Participant::new(&ingress.room_name, &spec, now);
        room.participants.push(joined);
    }

    fn add_room(&mut self, spec: &RoomSpec, now: i64) {
        let room = Room {
            sid: sid("RM_", &spec.name),
            name: spec.name.clone(),
            metadata: spec.metadata.clone(),
            empty_timeout: spec.empty_timeout,
            departure_timeout: spec.departure_timeout,
            created_ns: seconds_before(now, spec.age_s),
            participants: spec
                .participants
                .iter()
                .map(|p| Participant::new(&spec.name, p, now))
                .collect(),
            node: spec.node,
        };
        self.rooms.insert(spec.name.clone(), room);
    }

    fn add_egress(&mut self, spec: &EgressSpec, now: i64) {
        let started_ns = seconds_before(now, spec.started_s_ago);
        let ended_ns = if spec.status.is_active() {
            0
        } else {
            seconds_before(now, spec.ended_s_ago.unwrap_or(0))
        };
        if !spec.room_name.is_empty() {
            self.egresses_by_room
                .entry(spec.room_name.clone())
                .or_default()
                .insert(spec.egress_id.clone());
        }
        let egress = Egress {
            id: spec.egress_id.clone(),
            room_name: spec.room_name.clone(),
            kind: spec.egress_type,
            status: spec.status,
            started_ns,
            updated_ns: if ended_ns == 0 { started_ns } else { ended_ns },
            ended_ns,
            zombie: spec.zombie,
            details: String::new(),
            url: spec.url.clone(),
            identity: spec.identity.clone(),
            track_id: spec.track_id.clone(),
        };
        self.egresses.insert(spec.egress_id.clone(), egress);
    }

    /// The API key and secret the simulator accepts.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.settings.key, &self.settings.secret)
    }

    fn room(&self, name: &str) -> Option<&Room> {
        self.rooms.get(name)
    }

    fn room_mut(&mut self, name: &str) -> Option<&mut Room> {
        self.rooms.get_mut(name)
    }

    /// ListRooms: every room, or those of `names` that exist; by name.
    pub fn list_rooms(&self, names: &[String]) -> Vec<proto::Room> {
        if names.is_empty() {
            return self.rooms.values().map(Room::info).collect();
        }
        let mut found: Vec<&Room> = names.iter().filter_map(|name| self.room(name)).collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        found.into_iter().map(Room::info).collect()
    }

    /// ListParticipants: an unknown room has no participants (not an error, as in LiveKit).
    pub fn list_participants(&self, room: &str) -> Vec<proto::ParticipantInfo> {
        self.room(room)
            .map(|r| r.participants.iter().map(Participant::info).collect())
            .unwrap_or_default()
    }

    /// GetParticipant.
    pub fn get_participant(
        &self,
        room: &str,
        identity: &str,
    ) -> Result<proto::ParticipantInfo, TwirpError> {
        self.room(room)
            .and_then(|r| r.participants.iter().find(|p| p.identity == identity))
            .map(Participant::info)
            .ok_or_else(|| TwirpError::new(TwirpCode::NotFound, PARTICIPANT_NOT_FOUND))
    }

    /// RemoveParticipant.
    pub fn remove_participant(&mut self, room: &str, identity: &str) -> Result<(), TwirpError> {
        let room = self
            .room_mut(room)
            .ok_or_else(|| TwirpError::new(TwirpCode::NotFound, PARTICIPANT_NOT_FOUND))?;
        let Some(at) = room
            .participants
            .iter()
            .position(|p| p.identity == identity)
        else {
            return Err(TwirpError::new(TwirpCode::NotFound, PARTICIPANT_NOT_FOUND));
        };
        let left = room.participants.remove(at).info();
        let room = room.info();
        self.emit("participant_left", |e| {
            e.room = Some(room);
            e.participant = Some(left);
        });
        Ok(())
    }

    /// MutePublishedTrack: the track as it is listed now. As in LiveKit's room manager, an
    /// unknown room or participant is `not_found`, an unmute `failed_precondition` (remote
    /// unmute is off by default), and an unknown track no error but no track.
    pub fn mute_published_track(
        &mut self,
        req: &proto::MuteRoomTrackRequest,
    ) -> Result<Option<proto::TrackInfo>, TwirpError> {
        let participant = self
            .room_mut(&req.room)
            .and_then(|r| {
                r.participants
                    .iter_mut()
                    .find(|p| p.identity == req.identity)
            })
            .ok_or_else(|| TwirpError::new(TwirpCode::NotFound, PARTICIPANT_NOT_FOUND))?;
        if !req.muted {
            return Err(TwirpError::new(
                TwirpCode::FailedPrecondition,
                REMOTE_UNMUTE,
            ));
        }
        let Some(n) = participant
            .tracks
            .iter()
            .position(|t| t.sid == req.track_sid)
        else {
            return Ok(None);
        };
        participant.tracks[n].muted = true;
        Ok(Some(tracks::info(
            &participant.tracks[n],
            n,
            participant.joined_ns,
        )))
    }

    /// Starts an empty room (a client or CreateRoom would), unless it exists.
    pub fn start_room(&mut self, name: &str, now: i64) {
        if self.rooms.contains_key(name) {
            return;
        }
        let spec = RoomSpec {
            name: name.to_owned(),
            age_s: 0,
            metadata: String::new(),
            empty_timeout: 300,
            departure_timeout: 20,
            participants: Vec::new(),
            node: super::scenario::NodeState::default(),
        };
        self.add_room(&spec, now);
        let room = self.rooms.get(name).map(Room::info);
        self.emit("room_started", |e| e.room = room);
    }

    /// The webhook events since the last call.
    pub fn take_webhooks(&mut self) -> Vec<proto::WebhookEvent> {
        std::mem::take(&mut self.outbox)
    }

    fn emit(&mut self, event: &str, fill: impl FnOnce(&mut proto::WebhookEvent)) {
        let mut webhook = super::webhooks::event(event);
        fill(&mut webhook);
        self.outbox.push(webhook);
    }

    /// UpdateRoomMetadata: returns the updated room.
    pub fn update_room_metadata(
        &mut self,
        room: &str,
        metadata: &str,
    ) -> Result<proto::Room, TwirpError> {
        let room = self
            .room_mut(room)
            .ok_or_else(|| TwirpError::new(TwirpCode::NotFound, ROOM_NOT_FOUND))?;
        metadata.clone_into(&mut room.metadata);
        Ok(room.info())
    }

    /// Why DeleteRoom cannot reach the room's node, if it cannot: (error, whether LiveKit
    /// answers it only after its 3 s wait).
    pub fn node_gone(&self, name: &str) -> Option<(TwirpError, bool)> {
        match self.room(name)?.node {
            NodeState::Live => None,
            NodeState::Dead => Some((
                TwirpError::new(TwirpCode::Unavailable, NODE_NO_RESPONSE),
                true,
            )),
            NodeState::Removed => {
                Some((TwirpError::new(TwirpCode::Unknown, NODE_NOT_FOUND), false))
            }
        }
    }

    /// DeleteRoom: the room closes, and every egress recording it ends with it (a zombie
    /// record has no worker to end it, so it stays).
    pub fn delete_room(&mut self, name: &str, now: i64) -> Result<(), TwirpError> {
        let room = self
            .rooms
            .remove(name)
            .ok_or_else(|| TwirpError::new(TwirpCode::NotFound, ROOM_NOT_FOUND))?;
        let mut finished = Vec::new();
        for id in self.egresses_by_room.get(name).into_iter().flatten() {
            let Some(egress) = self.egresses.get_mut(id) else {
                continue;
            };
            if egress.zombie || !egress.status.is_active() {
                continue;
            }
            let ended = if egress.status == EgressStatus::Starting {
                EgressStatus::Aborted
            } else {
                EgressStatus::Complete
            };
            egress.end(ended, now);
            finished.push(egress.info());
        }
        for info in finished {
            self.emit("egress_ended", |e| e.egress_info = Some(info));
        }
        let room = room.info();
        self.emit("room_finished", |e| e.room = Some(room));
        self.ingresses_lose_their_room(name, now);
        Ok(())
    }

    /// The live ingresses of a deleted room go to ERROR, as Ingress v1.5.0 reports it; an
    /// encoder that retries (OBS) reconnects to an enabled one, and the room is back.
    fn ingresses_lose_their_room(&mut self, name: &str, now: i64) {
        let mut back = Vec::new();
        for ingress in self.ingresses.values_mut() {
            if ingress.room_name != name || !ingress.status.is_live() {
                continue;
            }
            ingress.end(now);
            if ingress.encoder_retries && ingress.is_enabled() {
                ingress.publish(now);
                back.push(ingress.clone());
            }
        }
        for ingress in back {
            self.start_room(name, now);
            self.join(
                &JoinSpec {
                    room: name.to_owned(),
                    identity: ingress.identity.clone(),
                    kind: Kind::Ingress,
                    attributes: BTreeMap::new(),
                },
                now,
            );
        }
    }

    /// ListIngress: one by id (unknown: `not_found`), or those of a room, or all; by id.
    pub fn list_ingress(
        &self,
        request: &proto::ListIngressRequest,
    ) -> Result<proto::ListIngressResponse, TwirpError> {
        if !self.settings.ingress_service {
            return Err(TwirpError::new(TwirpCode::Internal, NOT_CONNECTED));
        }
        let items = if request.ingress_id.is_empty() {
            self.ingresses
                .values()
                .filter(|i| request.room_name.is_empty() || i.room_name == request.room_name)
                .map(Ingress::info)
                .collect()
        } else {
            vec![self.ingress(&request.ingress_id)?.info()]
        };
        Ok(proto::ListIngressResponse {
            items,
            next_page_token: None,
        })
    }

    /// UpdateIngress: refused for a non-reusable ingress; an ERROR one is reset to INACTIVE
    /// first. The reply is the record as stored (still PUBLISHING); on a live ingress
    /// `enabled: false` then makes its worker end the session: ENDPOINT_ERROR ("context
    /// canceled"), its participant leaves, as Ingress v1.5.0 does a moment after the reply
    /// (tests/real_livekit/ingress.rs).
    pub fn update_ingress(
        &mut self,
        request: &proto::UpdateIngressRequest,
        now: i64,
    ) -> Result<proto::IngressInfo, TwirpError> {
        self.ingress_service()?;
        let ingress = self.ingress_mut(&request.ingress_id)?;
        ingress.check_reusable()?;
        ingress.reset_error();
        if !request.room_name.is_empty() {
            request.room_name.clone_into(&mut ingress.room_name);
        }
        if !request.participant_identity.is_empty() {
            request
                .participant_identity
                .clone_into(&mut ingress.identity);
        }
        if request.enabled.is_some() {
            ingress.enabled = request.enabled;
        }
        let reply = ingress.info();
        if ingress.status.is_live() && !ingress.is_enabled() {
            ingress.end(now);
            let (room, identity) = (ingress.room_name.clone(), ingress.identity.clone());
            let _ = self.remove_participant(&room, &identity);
        }
        Ok(reply)
    }

    /// DeleteIngress: a live one's session ends first; the reply says INACTIVE.
    pub fn delete_ingress(
        &mut self,
        request: &proto::DeleteIngressRequest,
    ) -> Result<proto::IngressInfo, TwirpError> {
        self.ingress_service()?;
        let Some(ingress) = self.ingresses.remove(&request.ingress_id) else {
            return Err(TwirpError::new(TwirpCode::NotFound, INGRESS_NOT_FOUND));
        };
        if ingress.status.is_live() {
            let _ = self.remove_participant(&ingress.room_name, &ingress.identity);
        }
        let mut reply = ingress.info();
        if let Some(state) = reply.state.as_mut() {
            state.status = proto::ingress_state::Status::EndpointInactive as i32;
        }
        Ok(reply)
    }

    /// UpdateIngress and DeleteIngress need the ingress service (Redis).
    fn ingress_service(&self) -> Result<(), TwirpError> {
        if self.settings.ingress_service {
            Ok(())
        } else {
            Err(TwirpError::new(TwirpCode::Internal, HANDLER_PANIC))
        }
    }

    fn ingress(&self, id: &str) -> Result<&Ingress, TwirpError> {
        self.ingresses
            .get(id)
            .ok_or_else(|| TwirpError::new(TwirpCode::NotFound, INGRESS_NOT_FOUND))
    }

    fn ingress_mut(&mut self, id: &str) -> Result<&mut Ingress, TwirpError> {
        self.ingresses
            .get_mut(id)
            .ok_or_else(|| TwirpError::new(TwirpCode::NotFound, INGRESS_NOT_FOUND))
    }

    /// ListEgress, by id, with Cloud-style pagination when the scenario's page size is set.
    pub fn list_egress(
        &self,
        request: &proto::ListEgressRequest,
    ) -> Result<proto::ListEgressResponse, TwirpError> {
        if !request.egress_id.is_empty() {
            let egress = self
                .egresses
                .get(&request.egress_id)
                .ok_or_else(|| TwirpError::new(TwirpCode::NotFound, EGRESS_NOT_FOUND))?;
            return Ok(proto::ListEgressResponse {
                items: vec![egress.info()],
                next_page_token: None,
            });
        }
        let page_size = self.settings.egress_page_size as usize;
        // Our page token is the id of the last egress of the previous page.
        let after = match request.page_token.as_ref() {
            Some(page) if page_size > 0 && !page.token.is_empty() => {
                Bound::Excluded(page.token.as_str())
            }
            _ => Bound::Unbounded,
        };
        let range = (after, Bound::Unbounded);
        let ids: Box<dyn Iterator<Item = &String>> = if request.room_name.is_empty() {
            Box::new(self.egresses.range::<str, _>(range).map(|(id, _)| id))
        } else {
            match self.egresses_by_room.get(&request.room_name) {
                Some(ids) => Box::new(ids.range::<str, _>(range)),
                None => Box::new(std::iter::empty()),
            }
        };
        let mut matching = ids
            .filter_map(|id| self.egresses.get(id))
            .filter(|e| !request.active || e.status.is_active());
        if page_size == 0 {
            return Ok(proto::ListEgressResponse {
                items: matching.map(Egress::info).collect(),
                next_page_token: None,
            });
        }
        let page: Vec<&Egress> = matching.by_ref().take(page_size).collect();
        let next_page_token = page
            .last()
            .filter(|_| matching.next().is_some())
            .map(|last| proto::TokenPagination {
                token: last.id.clone(),
            });
        Ok(proto::ListEgressResponse {
            items: page.into_iter().map(Egress::info).collect(),
            next_page_token,
        })
    }

    /// StopEgress: its worker stops an ACTIVE egress (the reply says ENDING; the record
    /// completes after the scenario's `egress_ending_ms`, and until then a second stop is
    /// answered with it, still ENDING) and aborts a STARTING one, as a LiveKit Egress v1.8.6
    /// worker does. Any other record has no worker (an unknown id, an ended record, an
    /// ENDING one from the scenario, a zombie): the caller waits for the worker timeout, then
    /// the stored record decides the error, as on LiveKit v1.13.5.
    pub fn stop_egress(&mut self, egress_id: &str, now: i64) -> StopOutcome {
        let Some(egress) = self.egresses.get_mut(egress_id) else {
            return StopOutcome::NoWorker(TwirpError::new(TwirpCode::NotFound, EGRESS_NOT_FOUND));
        };
        match (egress.zombie, egress.status) {
            (false, EgressStatus::Active) => {
                STOP_REASON.clone_into(&mut egress.details);
                egress.status = EgressStatus::Ending;
                egress.updated_ns = now;
                let reply = egress.info();
                let ending_ns = i64::try_from(self.settings.egress_ending_ms)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(NS_PER_MS);
                if ending_ns == 0 {
                    egress.end(EgressStatus::Complete, now);
                    let ended = egress.info();
                    self.emit("egress_ended", |e| e.egress_info = Some(ended));
                } else {
                    self.finishing
                        .push((now.saturating_add(ending_ns), egress_id.to_owned()));
                    let updated = reply.clone();
                    self.emit("egress_updated", |e| e.egress_info = Some(updated));
                }
                StopOutcome::Stopped(Box::new(reply))
            }
            (false, EgressStatus::Starting) => {
                STOP_REASON.clone_into(&mut egress.details);
                egress.end(EgressStatus::Aborted, now);
                let info = egress.info();
                self.emit("egress_ended", |e| e.egress_info = Some(info.clone()));
                StopOutcome::Stopped(Box::new(info))
            }
            // The worker is still finishing the recording: it answers with the record.
            (false, EgressStatus::Ending)
                if self.finishing.iter().any(|(_, id)| id == egress_id) =>
            {
                StopOutcome::Stopped(Box::new(egress.info()))
            }
            (true, EgressStatus::Starting | EgressStatus::Active) => {
                StopOutcome::NoWorker(TwirpError::new(TwirpCode::DeadlineExceeded, WORKER_TIMEOUT))
            }
            (_, stored) => StopOutcome::NoWorker(TwirpError::new(
                TwirpCode::FailedPrecondition,
                format!(
                    "egress with status {} cannot be stopped",
                    stored.proto_name()
                ),
            )),
        }
    }

    /// Completes the stopped recordings whose worker has finished by `now`.
    pub fn finish_due(&mut self, now: i64) {
        let egresses = &mut self.egresses;
        let mut ended = Vec::new();
        self.finishing.retain(|(at, id)| {
            if *at > now {
                return true;
            }
            if let Some(egress) = egresses.get_mut(id)
                && egress.status == EgressStatus::Ending
            {
                egress.end(EgressStatus::Complete, *at);
                ended.push(egress.info());
            }
            false
        });
        for info in ended {
            self.emit("egress_ended", |e| e.egress_info = Some(info));
        }
    }

    /// Applies the scripted events due after the `call`-th call of `method`.
    pub fn fire_events(&mut self, method: Method, call: u64, now: i64) {
        let due: Vec<EventSpec> = self
            .events
            .iter_mut()
            .filter(|(e, fired)| !fired && e.after.method == method && e.after.calls == call)
            .map(|(e, fired)| {
                *fired = true;
                e.clone()
            })
            .collect();
        for event in due {
            if let Some(join) = &event.join {
                self.join(join, now);
            }
            if let Some(room) = &event.delete_room {
                // A room already deleted by an API call is simply gone.
                let _ = self.delete_room(room, now);
            }
            if let Some(who) = &event.mute {
                self.set_muted(who, true);
            }
            if let Some(who) = &event.unmute {
                self.set_muted(who, false);
            }
            if let Some(spec) = &event.create_room {
                // CreateRoom of an existing room returns it unchanged, as in LiveKit.
                if self.room(&spec.name).is_none() {
                    self.add_room(spec, now);
                    let room = self.room(&spec.name).map(Room::info);
                    self.emit("room_started", |e| e.room = room);
                }
            }
        }
    }

    /// A participant mutes (or unmutes) every track it publishes, as a client would: LiveKit
    /// shows `TrackInfo.muted` at once and sends no webhook for it.
    fn set_muted(&mut self, who: &super::scenario::Who, muted: bool) {
        let participant = self.room_mut(&who.room).and_then(|r| {
            r.participants
                .iter_mut()
                .find(|p| p.identity == who.identity)
        });
        if let Some(p) = participant {
            for track in &mut p.tracks {
                track.muted = muted;
            }
        }
    }

    /// A participant joins (replacing one with the same identity), as a client would.
    pub fn join(&mut self, join: &JoinSpec, now: i64) {
        let Some(room) = self.room_mut(&join.room) else {
            return;
        };
        // A second connection with the same identity replaces the first, as in LiveKit.
        room.participants.retain(|p| p.identity != join.identity);
        let spec = ParticipantSpec {
            identity: join.identity.clone(),
            kind: join.kind,
            kind_details: Vec::new(),
            joined_s_ago: 0,
            state: ParticipantState::Active,
            hidden: false,
            tracks: 0,
            muted_tracks: 0,
            track_list: Vec::new(),
            attributes: join.attributes.clone(),
        };
        let mut joined = Participant::new(&join.room, &spec, now);
        // Each connection gets its own sid in LiveKit: a rejoin is a new session.
        joined.sid = sid("PA_", &format!("{}\n{}\n{now}", join.room, join.identity));
        let info = joined.info();
        room.participants.push(joined);
        let room = room.info();
        self.emit("participant_joined", |e| {
            e.room = Some(room);
            e.participant = Some(info);
        });
    }

    /// The current state in the scenario format: ages relative to `now`, current statuses,
    /// events not yet fired. Faults are left empty for the caller, who counts calls.
    pub fn to_scenario(&self, now: i64) -> Scenario {
        Scenario {
            rooms: self.rooms.values().map(|r| r.spec(now)).collect(),
            egresses: self.egresses.values().map(|e| e.spec(now)).collect(),
            ingresses: self.ingresses.values().map(|i| i.spec(now)).collect(),
            events: self
                .events
                .iter()
                .filter(|(_, fired)| !fired)
                .map(|(e, _)| e.clone())
                .collect(),
            ..self.settings.clone()
        }
    }
}

impl Room {
    fn info(&self) -> proto::Room {
        let staying = self.participants.iter().filter(|p| !p.kind.is_dependent());
        proto::Room {
            sid: self.sid.clone(),
            name: self.name.clone(),
            empty_timeout: self.empty_timeout,
            departure_timeout: self.departure_timeout,
            creation_time: self.created_ns.div_euclid(NS_PER_S),
            creation_time_ms: self.created_ns.div_euclid(NS_PER_MS),
            turn_password: sid("", &format!("turn\n{}", self.name)),
            enabled_codecs: ENABLED_CODECS
                .iter()
                .map(|&mime| proto::Codec {
                    mime: mime.to_owned(),
                    fmtp_line: String::new(),
                })
                .collect(),
            metadata: self.metadata.clone(),
            num_participants: staying.count() as u32,
            num_publishers: self
                .participants
                .iter()
                .filter(|p| !p.tracks.is_empty())
                .count() as u32,
            active_recording: self.participants.iter().any(|p| p.kind == Kind::Egress),
            ..Default::default()
        }
    }

    fn spec(&self, now: i64) -> RoomSpec {
        RoomSpec {
            name: self.name.clone(),
            age_s: seconds_since(now, self.created_ns),
            metadata: self.metadata.clone(),
            empty_timeout: self.empty_timeout,
            departure_timeout: self.departure_timeout,
            participants: self.participants.iter().map(|p| p.spec(now)).collect(),
            node: self.node,
        }
    }
}

impl Participant {
    fn new(room: &str, spec: &ParticipantSpec, now: i64) -> Participant {
        let sid = sid("PA_", &format!("{room}\n{}", spec.identity));
        Participant {
            tracks: tracks::published(&spec.track_list, spec.tracks, spec.muted_tracks, &sid),
            sid,
            identity: spec.identity.clone(),
            kind: spec.kind,
            kind_details: spec.kind_details.clone(),
            joined_ns: seconds_before(now, spec.joined_s_ago),
            state: spec.state,
            hidden: spec.hidden,
            attributes: spec.attributes.clone(),
        }
    }

    #[allow(deprecated)] // `recorder` and `agent` are deprecated but still sent by servers
    fn info(&self) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            sid: self.sid.clone(),
            identity: self.identity.clone(),
            state: self.state as i32,
            tracks: self
                .tracks
                .iter()
                .enumerate()
                .map(|(n, t)| tracks::info(t, n, self.joined_ns))
                .collect(),
            joined_at: self.joined_ns.div_euclid(NS_PER_S),
            joined_at_ms: self.joined_ns.div_euclid(NS_PER_MS),
            version: 1,
            permission: Some(proto::ParticipantPermission {
                can_subscribe: true,
                // A recorder's token denies publishing, and data follows publishing.
                can_publish: self.kind != Kind::Egress,
                can_publish_data: self.kind != Kind::Egress,
                hidden: self.hidden,
                recorder: self.kind == Kind::Egress,
                agent: self.kind == Kind::Agent,
                ..Default::default()
            }),
            is_publisher: !self.tracks.is_empty(),
            kind: self.kind.code(),
            kind_details: self.kind_details.iter().map(|&d| d as i32).collect(),
            attributes: self
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            // What current LiveKit SDKs advertise when they join.
            client_protocol: 2,
            capabilities: vec![
                proto::client_info::Capability::CapCompressionDeflateRaw as i32,
                proto::client_info::Capability::CapPacketTrailer as i32,
            ],
            ..Default::default()
        }
    }

    fn spec(&self, now: i64) -> ParticipantSpec {
        let (tracks, muted_tracks, track_list) = tracks::to_spec(&self.tracks, &self.sid);
        ParticipantSpec {
            identity: self.identity.clone(),
            kind: self.kind,
            kind_details: self.kind_details.clone(),
            joined_s_ago: seconds_since(now, self.joined_ns),
            state: self.state,
            hidden: self.hidden,
            tracks,
            muted_tracks,
            track_list,
            attributes: self.attributes.clone(),
        }
    }
}

impl Egress {
    fn end(&mut self, status: EgressStatus, now: i64) {
        self.status = status;
        self.ended_ns = now;
        self.updated_ns = now;
    }

    fn info(&self) -> proto::EgressInfo {
        use proto::egress_info::Request;
        let room_name = self.room_name.clone();
        let request = match self.kind {
            EgressType::RoomComposite => {
                Request::RoomComposite(proto::RoomCompositeEgressRequest {
                    room_name,
                    ..Default::default()
                })
            }
            EgressType::Web => Request::Web(proto::WebEgressRequest {
                url: if self.url.is_empty() {
                    format!("https://example.invalid/{}", self.id)
                } else {
                    self.url.clone()
                },
                ..Default::default()
            }),
            EgressType::Participant => Request::Participant(proto::ParticipantEgressRequest {
                room_name,
                identity: self.identity.clone(),
                ..Default::default()
            }),
            EgressType::Track => Request::Track(proto::TrackEgressRequest {
                room_name,
                track_id: self.track_id.clone(),
                ..Default::default()
            }),
            EgressType::TrackComposite => {
                Request::TrackComposite(proto::TrackCompositeEgressRequest {
                    room_name,
                    ..Default::default()
                })
            }
        };
        let source_type = match self.kind {
            EgressType::RoomComposite | EgressType::Web => proto::EgressSourceType::Web,
            _ => proto::EgressSourceType::Sdk,
        };
        proto::EgressInfo {
            egress_id: self.id.clone(),
            room_id: if self.room_name.is_empty() {
                String::new()
            } else {
                sid("RM_", &self.room_name)
            },
            room_name: self.room_name.clone(),
            source_type: source_type as i32,
            status: self.status as i32,
            started_at: self.started_ns,
            ended_at: self.ended_ns,
            updated_at: self.updated_ns,
            details: self.details.clone(),
            request: Some(request),
            ..Default::default()
        }
    }

    fn spec(&self, now: i64) -> EgressSpec {
        EgressSpec {
            egress_id: self.id.clone(),
            room_name: self.room_name.clone(),
            egress_type: self.kind,
            status: self.status,
            started_s_ago: seconds_since(now, self.started_ns),
            ended_s_ago: (!self.status.is_active()).then(|| seconds_since(now, self.ended_ns)),
            zombie: self.zombie,
            url: self.url.clone(),
            identity: self.identity.clone(),
            track_id: self.track_id.clone(),
        }
    }
}

fn seconds_before(now: i64, seconds: u64) -> i64 {
    now.saturating_sub(
        i64::try_from(seconds)
            .unwrap_or(i64::MAX)
            .saturating_mul(NS_PER_S),
    )
}

fn seconds_since(now: i64, then: i64) -> u64 {
    u64::try_from(now.saturating_sub(then).div_euclid(NS_PER_S)).unwrap_or(0)
}

/// A LiveKit-looking id (`RM_` + 12 base-62 characters), stable for the same seed so that
/// the same scenario always serves the same ids.
pub(super) fn sid(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    // FNV-1a: fixed across Rust versions, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut id = String::with_capacity(prefix.len() + 12);
    id.push_str(prefix);
    for _ in 0..12 {
        id.push(char::from(ALPHABET[(hash % 62) as usize]));
        hash = (hash / 62) ^ hash.rotate_left(17);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000 * NS_PER_S;

    fn world() -> World {
        let text = include_str!("../../tests/integration/scenarios/basic.json");
        World::new(&Scenario::parse(text).unwrap(), T0)
    }

    fn room_named<'a>(rooms: &'a [proto::Room], name: &str) -> &'a proto::Room {
        rooms.iter().find(|r| r.name == name).unwrap()
    }

    fn status_of(world: &World, id: &str) -> EgressStatus {
        world
            .to_scenario(T0)
            .egresses
            .iter()
            .find(|e| e.egress_id == id)
            .unwrap()
            .status
    }

    #[test]
    fn rooms_count_only_non_dependent_participants_and_use_seconds_and_ms() {
        let rooms = world().list_rooms(&[]);
        let names: Vec<&str> = rooms.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "camera-feed",
                "just-created",
                "left-running",
                "phone-support",
                "standup"
            ],
            "listed by name, as the server does"
        );
        let standup = room_named(&rooms, "standup");
        assert_eq!(standup.num_participants, 1, "the agent is dependent");
        assert_eq!(standup.num_publishers, 2, "agents publish too");
        assert_eq!(standup.creation_time, T0 / NS_PER_S - 1800);
        assert_eq!(standup.creation_time_ms, standup.creation_time * 1000);
        assert!(standup.sid.starts_with("RM_") && standup.sid.len() == 15);
        let left_running = room_named(&rooms, "left-running");
        assert_eq!(left_running.num_participants, 0);
        assert!(left_running.active_recording);
    }

    #[test]
    fn list_rooms_by_name_skips_unknown_names() {
        let names = [
            "camera-feed".to_owned(),
            "nope".to_owned(),
            "standup".to_owned(),
        ];
        let rooms = world().list_rooms(&names);
        let got: Vec<&str> = rooms.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(got, ["camera-feed", "standup"]);
    }

    #[test]
    fn unknown_room_lists_no_participants_but_get_is_not_found() {
        let world = world();
        assert!(world.list_participants("nope").is_empty());
        let err = world.get_participant("standup", "bob").unwrap_err();
        assert_eq!(err.code, TwirpCode::NotFound);
        let alice = world.get_participant("standup", "alice").unwrap();
        assert_eq!(alice.joined_at, T0 / NS_PER_S - 1700);
        assert_eq!(alice.tracks.len(), 2);
    }

    #[test]
    fn delete_room_ends_its_egresses_but_not_web_or_zombie_ones() {
        let mut world = world();
        world.delete_room("standup", T0 + 5).unwrap();
        assert_eq!(status_of(&world, "EG_standup"), EgressStatus::Complete);
        assert_eq!(status_of(&world, "EG_web1"), EgressStatus::Active);
        let err = world.delete_room("standup", T0).unwrap_err();
        assert_eq!(
            (err.code, err.msg.as_str()),
            (TwirpCode::NotFound, ROOM_NOT_FOUND)
        );
        assert!(world.list_rooms(&["standup".to_owned()]).is_empty());
        let ended = world.list_egress(&proto::ListEgressRequest {
            egress_id: "EG_standup".into(),
            ..Default::default()
        });
        assert_eq!(ended.unwrap().items[0].ended_at, T0 + 5);
    }

    #[test]
    fn stop_egress_follows_the_status() {
        let mut world = world();
        let StopOutcome::Stopped(reply) = world.stop_egress("EG_rec1", T0 + 7) else {
            panic!("an active egress stops")
        };
        assert_eq!(reply.status, EgressStatus::Ending as i32);
        assert_eq!(reply.updated_at, T0 + 7);
        assert_eq!(status_of(&world, "EG_rec1"), EgressStatus::Complete);
        let StopOutcome::NoWorker(err) = world.stop_egress("EG_rec1", T0) else {
            panic!("an ended egress has no worker")
        };
        assert_eq!(err.code, TwirpCode::FailedPrecondition);
        assert_eq!(
            err.msg,
            "egress with status EGRESS_COMPLETE cannot be stopped"
        );
        let StopOutcome::NoWorker(err) = world.stop_egress("EG_nope", T0) else {
            panic!("an unknown egress has no worker")
        };
        assert_eq!(err.code, TwirpCode::NotFound);
    }

    #[test]
    fn a_stopped_egress_stays_ending_while_its_worker_finishes() {
        let mut scenario =
            Scenario::parse(include_str!("../../tests/integration/scenarios/basic.json")).unwrap();
        scenario.egress_ending_ms = 4000;
        let mut world = World::new(&scenario, T0);
        let StopOutcome::Stopped(reply) = world.stop_egress("EG_rec1", T0) else {
            panic!("an active egress stops")
        };
        assert_eq!(reply.status, EgressStatus::Ending as i32);
        assert_eq!(reply.details, STOP_REASON);
        world.finish_due(T0 + 3_999 * NS_PER_MS);
        assert_eq!(status_of(&world, "EG_rec1"), EgressStatus::Ending);
        let StopOutcome::Stopped(again) = world.stop_egress("EG_rec1", T0 + NS_PER_MS) else {
            panic!("the finishing worker answers a second stop")
        };
        assert_eq!(again.status, EgressStatus::Ending as i32);
        world.finish_due(T0 + 4_000 * NS_PER_MS);
        assert_eq!(status_of(&world, "EG_rec1"), EgressStatus::Complete);
        let ended = world.list_egress(&proto::ListEgressRequest {
            egress_id: "EG_rec1".into(),
            ..Default::default()
        });
        assert_eq!(ended.unwrap().items[0].ended_at, T0 + 4_000 * NS_PER_MS);
        let StopOutcome::NoWorker(err) = world.stop_egress("EG_rec1", T0 + 5_000 * NS_PER_MS)
        else {
            panic!("a finished egress has no worker")
        };
        assert_eq!(err.code, TwirpCode::FailedPrecondition);
    }

    #[test]
    fn starting_egress_aborts_zombie_times_out_ending_is_a_precondition_failure() {
        let scenario: Scenario = serde_json::from_str(
            r#"{"egresses": [
                {"egress_id": "S", "type": "web", "status": "EGRESS_STARTING"},
                {"egress_id": "Z", "room_name": "gone", "zombie": true},
                {"egress_id": "E", "type": "web", "status": "EGRESS_ENDING"}]}"#,
        )
        .unwrap();
        let mut world = World::new(&scenario, T0);
        let StopOutcome::Stopped(reply) = world.stop_egress("S", T0) else {
            panic!()
        };
        assert_eq!(reply.status, EgressStatus::Aborted as i32);
        let StopOutcome::NoWorker(err) = world.stop_egress("Z", T0) else {
            panic!()
        };
        assert_eq!((err.code, err.status), (TwirpCode::DeadlineExceeded, 408));
        assert_eq!(status_of(&world, "Z"), EgressStatus::Active);
        let StopOutcome::NoWorker(err) = world.stop_egress("E", T0) else {
            panic!("an ending record has no worker to answer")
        };
        assert_eq!(
            err.msg,
            "egress with status EGRESS_ENDING cannot be stopped"
        );
    }

    #[test]
    fn list_egress_filters_and_paginates() {
        let mut scenario =
            Scenario::parse(include_str!("../../tests/integration/scenarios/basic.json")).unwrap();
        scenario.egress_page_size = 2;
        scenario.egresses[2].status = EgressStatus::Complete;
        let world = World::new(&scenario, T0);
        let mut request = proto::ListEgressRequest {
            active: true,
            ..Default::default()
        };
        let ids = |reply: &proto::ListEgressResponse| -> Vec<String> {
            reply.items.iter().map(|e| e.egress_id.clone()).collect()
        };
        let first = world.list_egress(&request).unwrap();
        assert_eq!(ids(&first), ["EG_rec1", "EG_standup"]);
        request.page_token = first.next_page_token;
        let second = world.list_egress(&request).unwrap();
        assert_eq!(ids(&second), ["EG_web1"]);
        assert_eq!(second.next_page_token, None);
        let by_room = world
            .list_egress(&proto::ListEgressRequest {
                room_name: "left-running".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(ids(&by_room), ["EG_rec1"]);
        scenario.egress_page_size = 0;
        let unpaged = World::new(&scenario, T0).list_egress(&request).unwrap();
        assert_eq!(
            unpaged.items.len(),
            3,
            "the page token is ignored without pagination"
        );
    }

    #[test]
    fn events_fire_once_after_their_call_and_show_in_the_state() {
        let mut scenario =
            Scenario::parse(include_str!("../../tests/integration/scenarios/basic.json")).unwrap();
        scenario.events = serde_json::from_str(
            r#"[{"after": {"method": "ListParticipants", "calls": 2},
                 "join": {"room": "left-running", "identity": "late"}},
                {"after": {"method": "ListRooms", "calls": 1}, "delete_room": "standup"}]"#,
        )
        .unwrap();
        let mut world = World::new(&scenario, T0);
        world.fire_events(Method::ListParticipants, 1, T0);
        assert_eq!(world.list_participants("left-running").len(), 2);
        world.fire_events(Method::ListParticipants, 2, T0);
        assert_eq!(world.list_participants("left-running")[2].identity, "late");
        let rooms = world.list_rooms(&[]);
        assert_eq!(room_named(&rooms, "left-running").num_participants, 1);
        assert_eq!(world.to_scenario(T0).events.len(), 1);
        world.fire_events(Method::ListRooms, 1, T0);
        assert_eq!(status_of(&world, "EG_standup"), EgressStatus::Complete);
        assert!(world.to_scenario(T0).events.is_empty());
    }

    #[test]
    fn a_create_room_event_adds_the_room_once() {
        let mut scenario =
            Scenario::parse(r#"{"rooms": [{"name": "here", "age_s": 60}]}"#).unwrap();
        scenario.events = serde_json::from_str(
            r#"[{"after": {"method": "ListEgress", "calls": 1}, "create_room": {"name": "back"}},
                {"after": {"method": "ListEgress", "calls": 1}, "create_room": {"name": "here"}}]"#,
        )
        .unwrap();
        let mut world = World::new(&scenario, T0);
        assert!(world.list_rooms(&["back".to_owned()]).is_empty());
        world.fire_events(Method::ListEgress, 1, T0);
        let rooms = world.list_rooms(&[]);
        assert_eq!(room_named(&rooms, "back").creation_time, T0 / NS_PER_S);
        assert_eq!(
            room_named(&rooms, "here").creation_time,
            T0 / NS_PER_S - 60,
            "an existing room is left as it was"
        );
    }

    #[test]
    fn state_round_trips_with_ages_relative_to_now() {
        let scenario =
            Scenario::parse(include_str!("../../tests/integration/scenarios/basic.json")).unwrap();
        let world = World::new(&scenario, T0);
        let mut sorted = scenario.clone();
        sorted.rooms.sort_by(|a, b| a.name.cmp(&b.name));
        sorted
            .egresses
            .sort_by(|a, b| a.egress_id.cmp(&b.egress_id));
        assert_eq!(world.to_scenario(T0), sorted);
        let later = world.to_scenario(T0 + 10 * NS_PER_S);
        assert_eq!(later.rooms[4].age_s, 1810, "standup");
        assert_eq!(later.egresses[1].started_s_ago, 29010, "EG_rec1");
    }

    #[test]
    fn sids_are_stable_and_distinct() {
        assert_eq!(sid("RM_", "a"), sid("RM_", "a"));
        assert_ne!(sid("RM_", "a"), sid("RM_", "b"));
    }
}
