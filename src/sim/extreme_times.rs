//! Property tests: any times, in a scenario file or in an API answer, go through the
//! simulator, the wire decoding, the evaluation, serve's deadlines, the plan and a snapshot
//! without a panic.

use std::time::{Duration, SystemTime};

use chrono::Utc;
use proptest::prelude::*;
use prost::Message;

use super::scenario::Scenario;
use super::state::World;
use crate::inventory::{Egress, Inventory, Participant, Participants, Room};
use crate::livekit::{proto, wire};
use crate::policy::{Policy, Rules};

/// A scenario with these relative times, as a file would give them.
fn scenario(age_s: u64, joined_s_ago: u64, started_s_ago: u64, ending_ms: u64) -> Scenario {
    let text = serde_json::json!({
        "egress_ending_ms": ending_ms,
        "rooms": [{"name": "r", "age_s": age_s, "participants": [
            {"identity": "p", "kind": "SIP", "joined_s_ago": joined_s_ago,
             "attributes": {"sip.callStatus": "ringing"}}]}],
        "egresses": [{"egress_id": "EG_1", "room_name": "r", "type": "room_composite",
                      "status": "EGRESS_ACTIVE", "started_s_ago": started_s_ago}]
    });
    Scenario::parse(&text.to_string()).expect("a valid scenario")
}

/// The inventory of `world`'s answers, decoded as the client decodes them.
fn inventory_of(world: &World) -> Inventory {
    let rooms = proto::ListRoomsResponse {
        rooms: world.list_rooms(&[]),
    };
    let rooms = wire::ListRoomsResponse::decode(rooms.encode_to_vec().as_slice()).unwrap();
    let egresses = world
        .list_egress(&proto::ListEgressRequest::default())
        .unwrap();
    let egresses = wire::ListEgressResponse::decode(egresses.encode_to_vec().as_slice()).unwrap();
    inventory(
        rooms.rooms.into_iter().map(Room::from).collect(),
        egresses.items.into_iter().map(Egress::from).collect(),
        &world
            .list_participants("r")
            .iter()
            .map(Participant::from)
            .collect::<Vec<_>>(),
    )
}

fn inventory(mut rooms: Vec<Room>, egresses: Vec<Egress>, people: &[Participant]) -> Inventory {
    for room in &mut rooms {
        room.participants = Participants::Listed(people.to_vec());
    }
    Inventory {
        taken_at: Utc::now(),
        rooms,
        egresses,
        egress_unchecked: None,
        ingresses: Vec::new(),
        ingress_unchecked: None,
        dead_nodes: std::collections::HashMap::new(),
    }
}

/// Evaluation, serve's deadlines, the plan and a snapshot, under rules of any length.
fn judge_everything(inventory: &Inventory, limit: Duration) {
    let rules = Rules {
        humanless_grace: limit,
        max_room_age: Some(limit),
        max_egress_age: Some(limit),
        orphan_grace: limit,
        sip_ring_limit: limit,
        ..Rules::default()
    };
    let policy = Policy {
        defaults: rules,
        ..Policy::default()
    };
    let evaluation = crate::policy::evaluate(&policy, inventory, Utc::now());
    let _plan = crate::plan::Plan::from_findings(&evaluation.findings, true);
    let now = SystemTime::now();
    let until = crate::time::add(now, crate::time::FAR);
    let _deadlines = crate::serve::triggers::age_deadlines(&policy, inventory, now, until);
    let _snapshot = crate::snapshot::scenario_of(inventory, Utc::now());
}

proptest! {
    #[test]
    fn any_times_in_a_scenario_file_are_served_and_judged(
        // A scenario refuses more seconds than an i64 holds, with a clear error.
        age_s in 0..=i64::MAX as u64,
        joined in 0..=i64::MAX as u64,
        started in 0..=i64::MAX as u64,
        ending_ms in any::<u64>(),
        limit in any::<u64>(),
        now in any::<i64>(),
    ) {
        let mut world = World::new(&scenario(age_s, joined, started, ending_ms), now);
        judge_everything(&inventory_of(&world), Duration::from_secs(limit));
        let _stopped = world.stop_egress("EG_1", now);
        world.finish_due(now);
        let _again = world.to_scenario(now);
    }

    #[test]
    fn any_times_in_an_api_answer_are_judged(
        created_s in any::<i64>(),
        created_ms in any::<i64>(),
        joined_s in any::<i64>(),
        joined_ms in any::<i64>(),
        started_ns in any::<i64>(),
        updated_ns in any::<i64>(),
        limit in any::<u64>(),
    ) {
        let room = proto::Room {
            name: "r".into(),
            creation_time: created_s,
            creation_time_ms: created_ms,
            ..Default::default()
        };
        let rooms = proto::ListRoomsResponse { rooms: vec![room] }.encode_to_vec();
        let rooms = wire::ListRoomsResponse::decode(rooms.as_slice()).unwrap();
        let person = proto::ParticipantInfo {
            identity: "p".into(),
            joined_at: joined_s,
            joined_at_ms: joined_ms,
            kind: proto::participant_info::Kind::Sip as i32,
            attributes: [("sip.callStatus".to_owned(), "dialing".to_owned())].into(),
            ..Default::default()
        };
        let egress = proto::EgressInfo {
            egress_id: "EG_1".into(),
            room_name: "r".into(),
            status: proto::EgressStatus::EgressActive as i32,
            started_at: started_ns,
            updated_at: updated_ns,
            ..Default::default()
        };
        let egresses = proto::ListEgressResponse { items: vec![egress], ..Default::default() };
        let egresses = wire::ListEgressResponse::decode(egresses.encode_to_vec().as_slice()).unwrap();
        let inventory = inventory(
            rooms.rooms.into_iter().map(Room::from).collect(),
            egresses.items.into_iter().map(Egress::from).collect(),
            &[Participant::from(&person)],
        );
        judge_everything(&inventory, Duration::from_secs(limit));
    }
}
