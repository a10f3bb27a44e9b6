//! `--generate N --seed S`: a deterministic synthetic fleet with the mix an operator sees.
//!
//! Draws come straight from ChaCha8's output (no `rand` distributions), so the same seed
//! gives the same fleet whatever the `rand` version.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use super::scenario::{
    EgressSpec, EgressStatus, EgressType, Kind, KindDetail, NodeState, ParticipantSpec,
    ParticipantState, RoomSpec, Scenario,
};

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// A fleet of `rooms` rooms and their egresses, the same for the same `seed`.
pub fn generate(rooms: usize, seed: u64) -> Scenario {
    let mut fleet = Fleet {
        rng: ChaCha8Rng::seed_from_u64(seed),
        rooms: Vec::with_capacity(rooms),
        egresses: Vec::new(),
    };
    for index in 0..rooms {
        fleet.add_room(index);
    }
    // Orphans (their room is gone) and web egresses (no room), about 1 and 2 per 100 rooms.
    for index in 0..rooms.div_ceil(100) {
        let started = fleet.between(10 * MINUTE, 2 * DAY);
        let egress_type = fleet.pick(&[EgressType::RoomComposite, EgressType::Track]);
        fleet.egress(&format!("gone-{index:05}"), egress_type, started);
    }
    for _ in 0..rooms.div_ceil(50) {
        let started = fleet.between(MINUTE, 3 * DAY);
        fleet.egress("", EgressType::Web, started);
    }
    Scenario {
        key: "devkey".to_owned(),
        secret: "secret".to_owned(),
        egress_page_size: 0,
        latency_ms: 0,
        egress_ending_ms: 0,
        rooms: fleet.rooms,
        egresses: fleet.egresses,
        ingresses: Vec::new(),
        ingress_service: true,
        faults: Vec::new(),
        events: Vec::new(),
    }
}

struct Fleet {
    rng: ChaCha8Rng,
    rooms: Vec<RoomSpec>,
    egresses: Vec<EgressSpec>,
}

/// What a generated room holds.
#[derive(Clone, Copy)]
enum Mix {
    Meeting,
    AgentOnly,
    Empty,
    Ancient,
    PhoneCall,
    Camera,
    Ingress,
    Bot,
}

// Weights out of 100.
const MIXES: [(Mix, u64); 8] = [
    (Mix::Meeting, 45),
    (Mix::AgentOnly, 15),
    (Mix::Empty, 10),
    (Mix::Ancient, 5),
    (Mix::PhoneCall, 10),
    (Mix::Camera, 5),
    (Mix::Ingress, 5),
    (Mix::Bot, 5),
];

impl Fleet {
    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn mix(&mut self) -> Mix {
        let mut roll = self.below(100);
        for (mix, weight) in MIXES {
            if roll < weight {
                return mix;
            }
            roll -= weight;
        }
        Mix::Meeting
    }

    fn add_room(&mut self, index: usize) {
        let mix = self.mix();
        let (prefix, age_s) = match mix {
            Mix::Meeting => ("meeting", self.between(MINUTE, 4 * HOUR)),
            Mix::AgentOnly => ("agent", self.between(MINUTE, 12 * HOUR)),
            Mix::Empty => ("empty", self.between(10, 20 * MINUTE)),
            Mix::Ancient => ("ancient", self.between(2 * DAY, 30 * DAY)),
            Mix::PhoneCall => ("support", self.between(MINUTE, 2 * HOUR)),
            Mix::Camera => ("camera", self.between(HOUR, 10 * DAY)),
            Mix::Ingress => ("stream", self.between(10 * MINUTE, DAY)),
            Mix::Bot => ("bot", self.between(MINUTE, 2 * DAY)),
        };
        let name = format!("{prefix}-{index:05}");
        let mut room = RoomSpec {
            name,
            age_s,
            metadata: String::new(),
            empty_timeout: 300,
            departure_timeout: 20,
            participants: Vec::new(),
            node: NodeState::Live,
        };
        self.populate(&mut room, mix);
        self.record(&mut room, mix);
        self.rooms.push(room);
    }

    fn populate(&mut self, room: &mut RoomSpec, mix: Mix) {
        let age = room.age_s;
        let mut call_number = None;
        let mut join = |fleet: &mut Fleet, identity: String, kind: Kind, tracks: u32| {
            let joined_s_ago = fleet.below(age + 1);
            room.participants.push(ParticipantSpec {
                identity,
                kind,
                kind_details: Vec::new(),
                joined_s_ago,
                state: ParticipantState::Active,
                hidden: false,
                tracks,
                muted_tracks: 0,
                track_list: Vec::new(),
                attributes: BTreeMap::new(),
            });
        };
        match mix {
            Mix::Meeting | Mix::Ancient => {
                for n in 0..self.between(1, 6) {
                    let tracks = self.below(3) as u32;
                    join(self, format!("user-{n}"), Kind::Standard, tracks);
                }
                if self.chance(50) {
                    join(self, "agent-AJ_1".to_owned(), Kind::Agent, 1);
                }
            }
            Mix::AgentOnly => join(self, "agent-AJ_1".to_owned(), Kind::Agent, 1),
            Mix::Empty => {}
            Mix::PhoneCall => {
                let number = self.below(10_000_000);
                join(self, format!("sip_+1555{number:07}"), Kind::Sip, 1);
                call_number = Some(number);
                if self.chance(70) {
                    join(self, "agent-AJ_1".to_owned(), Kind::Agent, 1);
                }
            }
            Mix::Camera => join(self, "rtsp-camera".to_owned(), Kind::Bridge, 1),
            Mix::Ingress => join(self, "ingress-obs".to_owned(), Kind::Ingress, 2),
            Mix::Bot => join(self, "bot-transcriber".to_owned(), Kind::Standard, 0),
        }
        if let (Mix::Camera, Some(camera)) = (mix, room.participants.last_mut()) {
            camera.kind_details = vec![KindDetail::BridgeRtsp];
        }
        // Mostly live calls, some hung up or still ringing; taken from the number already
        // drawn, so the fleet of a seed keeps all its other draws.
        if let (Some(number), Some(call)) = (call_number, room.participants.first_mut()) {
            let status = match number % 20 {
                0 | 1 => "hangup",
                2 => "ringing",
                _ => "active",
            };
            call.attributes = BTreeMap::from([("sip.callStatus".to_owned(), status.to_owned())]);
        }
    }

    // Some rooms record: a room composite with its hidden recorder, or a participant or
    // track egress.
    fn record(&mut self, room: &mut RoomSpec, mix: Mix) {
        let percent = match mix {
            Mix::Meeting | Mix::AgentOnly | Mix::Ancient => 30,
            Mix::Camera | Mix::Ingress => 20,
            _ => 5,
        };
        if !self.chance(percent) {
            return;
        }
        let egress_type = self.pick(&[
            EgressType::RoomComposite,
            EgressType::RoomComposite,
            EgressType::Participant,
            EgressType::Track,
            EgressType::TrackComposite,
        ]);
        let started = self.below(room.age_s + 1);
        let egress = self.egress(&room.name, egress_type, started);
        if egress.egress_type == EgressType::RoomComposite && egress.status.is_active() {
            room.participants.push(ParticipantSpec {
                identity: egress.egress_id.clone(),
                kind: Kind::Egress,
                kind_details: Vec::new(),
                joined_s_ago: started,
                state: ParticipantState::Active,
                hidden: true,
                tracks: 0,
                muted_tracks: 0,
                track_list: Vec::new(),
                attributes: BTreeMap::new(),
            });
        }
    }

    fn egress(
        &mut self,
        room_name: &str,
        egress_type: EgressType,
        started_s_ago: u64,
    ) -> &EgressSpec {
        let roll = self.below(100);
        let status = match roll {
            0..=2 => EgressStatus::Starting,
            3..=5 => EgressStatus::Complete,
            6 => EgressStatus::Failed,
            7 => EgressStatus::Aborted,
            _ => EgressStatus::Active,
        };
        let ended_s_ago = (!status.is_active()).then(|| self.below(started_s_ago + 1));
        self.egresses.push(EgressSpec {
            egress_id: format!("EG_{:06}", self.egresses.len()),
            room_name: room_name.to_owned(),
            egress_type,
            status,
            started_s_ago,
            ended_s_ago,
            zombie: false,
            url: String::new(),
            identity: String::new(),
            track_id: String::new(),
        });
        &self.egresses[self.egresses.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_fleet_other_seed_other_fleet() {
        assert_eq!(generate(200, 7), generate(200, 7));
        assert_ne!(generate(200, 7), generate(200, 8));
    }

    #[test]
    fn fleet_is_valid_and_mixed() {
        let fleet = generate(2000, 1);
        fleet.validate().unwrap();
        assert_eq!(fleet.rooms.len(), 2000);
        let kinds = |kind| {
            fleet
                .rooms
                .iter()
                .filter(|r| {
                    !r.participants.is_empty() && r.participants.iter().all(|p| p.kind == kind)
                })
                .count()
        };
        assert!(kinds(Kind::Agent) > 100, "agent-only rooms");
        assert!(kinds(Kind::Bridge) > 20, "bridge-only rooms");
        assert!(kinds(Kind::Sip) > 20, "SIP-only rooms");
        let calls = |status: &str| {
            let calls = fleet.rooms.iter().flat_map(|r| &r.participants);
            calls
                .filter(|p| p.attributes.get("sip.callStatus").map(String::as_str) == Some(status))
                .count()
        };
        assert!(calls("active") > 100, "live calls");
        assert!(calls("hangup") > 5, "hung-up calls");
        assert!(calls("ringing") > 2, "ringing calls");
        assert!(
            fleet
                .rooms
                .iter()
                .filter(|r| r.participants.is_empty())
                .count()
                > 100
        );
        assert!(fleet.rooms.iter().any(|r| r.age_s > 7 * DAY));
        let of_type = |t| fleet.egresses.iter().filter(|e| e.egress_type == t).count();
        assert!(of_type(EgressType::Web) >= 40);
        assert!(of_type(EgressType::RoomComposite) > 50);
        assert!(of_type(EgressType::Track) > 5);
        assert!(of_type(EgressType::Participant) > 5);
        assert!(
            fleet
                .egresses
                .iter()
                .any(|e| e.room_name.starts_with("gone-"))
        );
        assert!(fleet.egresses.iter().any(|e| !e.status.is_active()));
    }
}
