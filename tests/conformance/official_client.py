"""LiveKit's official Python server SDK (livekit-api), a client nobody here wrote, run
against one server loaded with the conformance fixture (tests/conformance/cases.json):
the real LiveKit server or `lk-reaper simulate`. Prints one JSON array: for each step the
result (reduced to what does not depend on ids or clocks) or the SDK's error (code, HTTP
status, message). tests/real_livekit/official_client.rs runs it against both servers and
compares.

Usage: official_client.py --url URL --key KEY --secret SECRET --part redis|no_redis
"""

import argparse
import asyncio
import json
import sys

from livekit import api


def room_row(r):
    return {
        "name": r.name,
        "metadata": r.metadata,
        "num_participants": r.num_participants,
        "num_publishers": r.num_publishers,
        "active_recording": r.active_recording,
        "has_sid": r.sid.startswith("RM_"),
        "has_creation_time": r.creation_time > 0,
    }


def participant_row(p):
    return {
        "identity": p.identity,
        "kind": api.ParticipantInfo.Kind.Name(p.kind),
        "state": api.ParticipantInfo.State.Name(p.state),
        "hidden": p.permission.hidden,
        "recorder": p.permission.recorder,
        "agent": p.permission.agent,
        "tracks": sorted(api.TrackSource.Name(t.source) for t in p.tracks),
        "is_publisher": p.is_publisher,
    }


def egress_row(e):
    return {
        "egress_id": e.egress_id,
        "status": api.EgressStatus.Name(e.status),
        "room_name": e.room_name,
        "request": e.WhichOneof("request"),
        "source_type": api.EgressSourceType.Name(e.source_type),
        "ended": e.ended_at > 0,
    }


def rows(items, row, key):
    return sorted((row(i) for i in items), key=lambda r: r[key])


async def step(name, call, shape):
    try:
        result = await call
    except api.TwirpError as err:
        return {"step": name, "error": {"code": err.code, "status": err.status, "message": err.message}}
    return {"step": name, "ok": shape(result)}


async def redis_part(lk, url, key, secret):
    room, egress = lk.room, lk.egress
    out = [
        await step("list_rooms", room.list_rooms(api.ListRoomsRequest()),
                   lambda r: rows(r.rooms, room_row, "name")),
        await step("list_rooms.by_name", room.list_rooms(api.ListRoomsRequest(names=["conf-room", "no-such-room"])),
                   lambda r: [x.name for x in r.rooms]),
        await step("list_participants", room.list_participants(api.ListParticipantsRequest(room="conf-room")),
                   lambda r: rows(r.participants, participant_row, "identity")),
        await step("list_participants.unknown_room",
                   room.list_participants(api.ListParticipantsRequest(room="no-such-room")),
                   lambda r: rows(r.participants, participant_row, "identity")),
        await step("list_egress", egress.list_egress(api.ListEgressRequest()),
                   lambda r: rows(r.items, egress_row, "egress_id")),
        await step("list_egress.active", egress.list_egress(api.ListEgressRequest(active=True)),
                   lambda r: rows(r.items, egress_row, "egress_id")),
        await step("list_egress.room", egress.list_egress(api.ListEgressRequest(room_name="conf-room")),
                   lambda r: rows(r.items, egress_row, "egress_id")),
        await step("list_egress.unknown_id", egress.list_egress(api.ListEgressRequest(egress_id="EG_conf_nope")),
                   lambda r: rows(r.items, egress_row, "egress_id")),
    ]
    # Each StopEgress below has no worker to answer it: 3 s each, on both servers.
    for name, egress_id in [("stop_egress.active", "EG_conf_active"), ("stop_egress.starting", "EG_conf_starting"),
                            ("stop_egress.ended", "EG_conf_complete"), ("stop_egress.unknown", "EG_conf_nope")]:
        out.append(await step(name, egress.stop_egress(api.StopEgressRequest(egress_id=egress_id)), egress_row))
    out += [
        await step("list_egress.active.after_stops", egress.list_egress(api.ListEgressRequest(active=True)),
                   lambda r: rows(r.items, egress_row, "egress_id")),
        await step("delete_room", room.delete_room(api.DeleteRoomRequest(room="conf-delete-me")), lambda r: {}),
        await step("delete_room.again", room.delete_room(api.DeleteRoomRequest(room="conf-delete-me")), lambda r: {}),
        await step("delete_room.unknown", room.delete_room(api.DeleteRoomRequest(room="no-such-room")), lambda r: {}),
        await step("list_rooms.after_delete", room.list_rooms(api.ListRoomsRequest()),
                   lambda r: sorted(x.name for x in r.rooms)),
    ]
    out += await auth_steps(url, key, secret)
    return out


async def auth_steps(url, key, secret):
    out = []
    async with api.LiveKitAPI(url, key, "not-the-secret") as wrong:
        out.append(await step("wrong_secret.list_rooms", wrong.room.list_rooms(api.ListRoomsRequest()),
                              lambda r: [x.name for x in r.rooms]))
        out.append(await step("wrong_secret.stop_egress",
                              wrong.egress.stop_egress(api.StopEgressRequest(egress_id="EG_conf_active")), egress_row))
    async with api.LiveKitAPI(url, "otherkey", secret) as wrong:
        out.append(await step("wrong_key.delete_room",
                              wrong.room.delete_room(api.DeleteRoomRequest(room="conf-empty")), lambda r: {}))
    joiner = (api.AccessToken(key, secret).with_identity("joiner")
              .with_grants(api.VideoGrants(room_join=True, room="conf-room")).to_jwt())
    async with api.LiveKitAPI(url, token=joiner) as weak:
        out.append(await step("join_token.list_rooms", weak.room.list_rooms(api.ListRoomsRequest()),
                              lambda r: [x.name for x in r.rooms]))
        out.append(await step("join_token.delete_room",
                              weak.room.delete_room(api.DeleteRoomRequest(room="conf-empty")), lambda r: {}))
    return out


async def no_redis_part(lk):
    return [
        await step("no_redis.list_rooms", lk.room.list_rooms(api.ListRoomsRequest()),
                   lambda r: sorted(x.name for x in r.rooms)),
        await step("no_redis.list_egress", lk.egress.list_egress(api.ListEgressRequest()),
                   lambda r: rows(r.items, egress_row, "egress_id")),
        await step("no_redis.stop_egress", lk.egress.stop_egress(api.StopEgressRequest(egress_id="EG_conf_active")),
                   egress_row),
    ]


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--part", choices=["redis", "no_redis"], required=True)
    args = parser.parse_args()
    async with api.LiveKitAPI(args.url, args.key, args.secret) as lk:
        if args.part == "redis":
            out = await redis_part(lk, args.url, args.key, args.secret)
        else:
            out = await no_redis_part(lk)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    asyncio.run(main())
