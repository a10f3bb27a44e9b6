"""Joins a LiveKit room as one real participant, for the real-LiveKit tests.

Run inside the test's network namespace with the project's .venv:
    join.py --url ws://10.203.X.2:7880 --token JWT [--publish-audio | --tone HZ]
            [--max-seconds 300]

--publish-audio publishes a microphone track carrying one frame of silence; --tone HZ
publishes one that plays a sine tone of HZ without end, so an egress worker has something to
record. Prints `CONNECTED <identity> <participant sid>` once joined (and `PUBLISHED <track
sid>` after publishing), then stays until a line `leave` or end of stdin arrives, or
--max-seconds pass; then disconnects and prints `LEFT`. A line `mute` / `unmute` mutes or
unmutes the published track (prints `MUTED` / `UNMUTED`). When the server disconnects it,
prints `DISCONNECTED <reason>` (e.g. PARTICIPANT_REMOVED) and exits. Errors go to stderr with
exit 1.
The token decides who this is (identity, kind, kind details, grants): the harness signs it.
"""

import argparse
import asyncio
import math
import sys

from livekit import rtc

RATE = 48000
FRAME = RATE // 100  # 10 ms


async def publish_audio(room: rtc.Room) -> rtc.LocalTrackPublication:
    source = rtc.AudioSource(48000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    publication = await room.local_participant.publish_track(track, options)
    # One frame of silence so the track carries media, not only a publication.
    await source.capture_frame(rtc.AudioFrame.create(48000, 1, 480))
    return publication


async def publish_tone(room: rtc.Room, hz: float) -> tuple[rtc.LocalTrackPublication, asyncio.Task]:
    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    publication = await room.local_participant.publish_track(track, options)
    return publication, asyncio.create_task(play_tone(source, hz))


async def play_tone(source: rtc.AudioSource, hz: float) -> None:
    # One second of the tone, played 10 ms at a time in a loop (a whole number of periods
    # when HZ is whole). capture_frame waits while the source's buffer is full, which paces
    # this loop to real time.
    second = b"".join(
        int(8000 * math.sin(2 * math.pi * hz * i / RATE)).to_bytes(2, "little", signed=True)
        for i in range(RATE)
    )
    at = 0
    while True:
        chunk = second[at * 2 : (at + FRAME) * 2]
        await source.capture_frame(rtc.AudioFrame(chunk, RATE, 1, FRAME))
        at = (at + FRAME) % RATE


async def wait_for_leave(max_seconds: float, track, gone: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    async def read_until_leave() -> None:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            command = line.strip()
            if line == "" or command == "leave":
                return
            if track is not None and command in ("mute", "unmute"):
                track.mute() if command == "mute" else track.unmute()
                print("MUTED" if command == "mute" else "UNMUTED", flush=True)

    reading = asyncio.ensure_future(read_until_leave())
    removed = asyncio.ensure_future(gone.wait())
    done, _ = await asyncio.wait({reading, removed}, timeout=max_seconds,
                                 return_when=asyncio.FIRST_COMPLETED)
    if not done:
        print(f"max-seconds {max_seconds} reached", file=sys.stderr)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--publish-audio", action="store_true")
    parser.add_argument("--tone", type=float, default=0.0)
    parser.add_argument("--connect-timeout", type=float, default=20.0)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()

    room = rtc.Room()
    gone = asyncio.Event()

    def disconnected(reason) -> None:
        print(f"DISCONNECTED {rtc.DisconnectReason.Name(reason)}", flush=True)
        gone.set()

    room.on("disconnected", disconnected)
    try:
        await asyncio.wait_for(room.connect(args.url, args.token), timeout=args.connect_timeout)
    except Exception as err:  # noqa: BLE001 - any failure is reported the same way
        print(f"connect failed: {err!r}", file=sys.stderr)
        return 1
    me = room.local_participant
    print(f"CONNECTED {me.identity} {me.sid}", flush=True)
    publication = None
    if args.publish_audio:
        publication = await asyncio.wait_for(publish_audio(room), timeout=args.connect_timeout)
        print(f"PUBLISHED {publication.sid}", flush=True)
    tone = None
    if args.tone > 0:
        publication, tone = await asyncio.wait_for(publish_tone(room, args.tone), timeout=args.connect_timeout)
        print(f"PUBLISHED {publication.sid}", flush=True)
    await wait_for_leave(args.max_seconds, publication and publication.track, gone)
    if tone is not None:
        tone.cancel()
    if gone.is_set():
        return 0
    await asyncio.wait_for(room.disconnect(), timeout=10)
    print("LEFT", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
