//! Published tracks: the scenario's per-track form, its count shorthand, and the
//! `TrackInfo` LiveKit lists for each.

use std::collections::HashSet;

use livekit_protocol as proto;
use serde::{Deserialize, Serialize};

/// One published track in a scenario (`"track_list"` of a participant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackSpec {
    /// Track sid; generated from the participant and the track's position when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sid: String,
    /// `AUDIO` or `VIDEO`.
    #[serde(rename = "type")]
    pub kind: TrackKind,
    /// What the client publishes it from.
    #[serde(default)]
    pub source: TrackSource,
    /// Muted by its publisher (or by MutePublishedTrack).
    #[serde(default)]
    pub muted: bool,
}

/// `TrackType`, as a scenario names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrackKind {
    /// A sound track.
    Audio,
    /// A picture track.
    Video,
}

/// `TrackSource`, as a scenario names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrackSource {
    /// Not said by the client.
    #[default]
    Unknown,
    /// A camera.
    Camera,
    /// A microphone.
    Microphone,
    /// A shared screen's picture.
    ScreenShare,
    /// A shared screen's sound.
    ScreenShareAudio,
}

impl TrackSpec {
    /// `(tracks, muted_tracks)` when the count form gives these types, sources and mutes
    /// (sids aside).
    pub fn counts(tracks: &[TrackSpec]) -> Option<(u32, u32)> {
        let count = u32::try_from(tracks.len()).ok()?;
        let muted = u32::try_from(tracks.iter().take_while(|t| t.muted).count()).ok()?;
        let same = tracks.iter().zip(0..).all(|(t, n)| {
            let c = TrackSpec::counted(n, muted);
            (c.kind, c.source, c.muted) == (t.kind, t.source, t.muted)
        });
        same.then_some((count, muted))
    }

    /// Track `n` of the count form: even ones a microphone, odd ones a camera, the first
    /// `muted` of them muted.
    fn counted(n: u32, muted: u32) -> TrackSpec {
        let (kind, source) = if n.is_multiple_of(2) {
            (TrackKind::Audio, TrackSource::Microphone)
        } else {
            (TrackKind::Video, TrackSource::Camera)
        };
        TrackSpec {
            sid: String::new(),
            kind,
            source,
            muted: n < muted,
        }
    }
}

/// The tracks a scenario participant publishes: its `track_list`, or else `tracks` with
/// the first `muted_tracks` muted; empty sids generated from `participant_sid`.
pub fn published(
    list: &[TrackSpec],
    count: u32,
    muted: u32,
    participant_sid: &str,
) -> Vec<TrackSpec> {
    let tracks: Vec<TrackSpec> = if list.is_empty() {
        (0..count).map(|n| TrackSpec::counted(n, muted)).collect()
    } else {
        list.to_vec()
    };
    tracks
        .into_iter()
        .enumerate()
        .map(|(n, track)| TrackSpec {
            sid: if track.sid.is_empty() {
                generated_sid(participant_sid, n)
            } else {
                track.sid
            },
            ..track
        })
        .collect()
}

/// The scenario form of `tracks`: `(tracks, muted_tracks, track_list)`, the count form
/// whenever it says the same, so scenarios stay short.
pub fn to_spec(tracks: &[TrackSpec], participant_sid: &str) -> (u32, u32, Vec<TrackSpec>) {
    let generated = tracks
        .iter()
        .enumerate()
        .all(|(n, t)| t.sid == generated_sid(participant_sid, n));
    match TrackSpec::counts(tracks) {
        Some((count, muted)) if generated => (count, muted, Vec::new()),
        _ => (0, 0, tracks.to_vec()),
    }
}

/// A participant's track list's problem, if any: mixed with the count form, or a sid
/// given twice.
pub fn validate(list: &[TrackSpec], count: u32, muted: u32) -> Result<(), String> {
    if !list.is_empty() && (count > 0 || muted > 0) {
        return Err("track_list: give tracks/muted_tracks or track_list, not both".to_owned());
    }
    let mut sids = HashSet::new();
    for (k, track) in list.iter().enumerate() {
        if !track.sid.is_empty() && !sids.insert(&track.sid) {
            return Err(format!(
                "track_list[{k}].sid: duplicate sid {:?}",
                track.sid
            ));
        }
    }
    Ok(())
}

fn generated_sid(participant_sid: &str, n: usize) -> String {
    super::state::sid("TR_", &format!("{participant_sid}\n{n}"))
}

/// Track `n` (its position, for the transceiver mid) as the server lists what LiveKit's
/// own SDKs publish (opus with RED, VP8; backup codec policy SIMULCAST; the server's
/// version stamp).
pub fn info(track: &TrackSpec, n: usize, joined_ns: i64) -> proto::TrackInfo {
    let (name, stream, size) = match track.source {
        TrackSource::Microphone => ("microphone", "camera", (0, 0)),
        TrackSource::Camera => ("camera", "camera", (1280, 720)),
        TrackSource::ScreenShare => ("screen_share", "screen", (1920, 1080)),
        TrackSource::ScreenShareAudio => ("screen_share_audio", "screen", (0, 0)),
        TrackSource::Unknown => ("", "", (0, 0)),
    };
    let (track_type, mime, size) = match track.kind {
        TrackKind::Audio => (proto::TrackType::Audio, "audio/red", (0, 0)),
        TrackKind::Video => (proto::TrackType::Video, "video/VP8", size),
    };
    let source = match track.source {
        TrackSource::Unknown => proto::TrackSource::Unknown,
        TrackSource::Camera => proto::TrackSource::Camera,
        TrackSource::Microphone => proto::TrackSource::Microphone,
        TrackSource::ScreenShare => proto::TrackSource::ScreenShare,
        TrackSource::ScreenShareAudio => proto::TrackSource::ScreenShareAudio,
    };
    let mid = (n + 1).to_string();
    proto::TrackInfo {
        muted: track.muted,
        r#type: track_type as i32,
        name: name.to_owned(),
        source: source as i32,
        mime_type: mime.to_owned(),
        width: size.0,
        height: size.1,
        mid: mid.clone(),
        codecs: vec![proto::SimulcastCodecInfo {
            mime_type: mime.to_owned(),
            mid,
            cid: track.sid.clone(),
            video_layer_mode: proto::video_layer::Mode::OneSpatialLayerPerStream as i32,
            ..Default::default()
        }],
        // As LiveKit v1.13.5 lists a microphone published with the official Python SDK.
        stream: stream.to_owned(),
        version: Some(proto::TimedVersion {
            unix_micro: joined_ns / 1_000,
            ticks: 0,
        }),
        backup_codec_policy: proto::BackupCodecPolicy::Simulcast as i32,
        sid: track.sid.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(kind: TrackKind, source: TrackSource, muted: bool) -> TrackSpec {
        TrackSpec {
            sid: String::new(),
            kind,
            source,
            muted,
        }
    }

    #[test]
    fn the_count_form_is_microphones_and_cameras_with_the_first_ones_muted() {
        let tracks = published(&[], 3, 1, "PA_x");
        let kinds: Vec<_> = tracks.iter().map(|t| (t.source, t.muted)).collect();
        assert_eq!(
            kinds,
            [
                (TrackSource::Microphone, true),
                (TrackSource::Camera, false),
                (TrackSource::Microphone, false)
            ]
        );
        assert!(tracks.iter().all(|t| t.sid.starts_with("TR_")));
        assert_eq!(to_spec(&tracks, "PA_x"), (3, 1, Vec::new()));
    }

    #[test]
    fn a_list_the_counts_cannot_say_stays_a_list_with_its_sids() {
        let list = [
            track(TrackKind::Audio, TrackSource::Microphone, true),
            TrackSpec {
                sid: "TR_screen".to_owned(),
                ..track(TrackKind::Video, TrackSource::ScreenShare, false)
            },
        ];
        let tracks = published(&list, 0, 0, "PA_x");
        assert_eq!(tracks[1].sid, "TR_screen");
        assert!(tracks[0].sid.starts_with("TR_"));
        let (count, muted, kept) = to_spec(&tracks, "PA_x");
        assert_eq!((count, muted), (0, 0));
        assert_eq!(kept, tracks);
        let screen = info(&tracks[1], 1, 0);
        assert_eq!(screen.source, proto::TrackSource::ScreenShare as i32);
        assert_eq!(screen.r#type, proto::TrackType::Video as i32);
        assert!(!screen.muted);
        assert!(info(&tracks[0], 0, 0).muted);
    }

    #[test]
    fn a_list_with_counts_or_a_repeated_sid_is_refused() {
        let list = [track(TrackKind::Audio, TrackSource::Microphone, false)];
        assert!(validate(&list, 1, 0).unwrap_err().contains("not both"));
        assert!(validate(&list, 0, 0).is_ok());
        let twice = [
            TrackSpec {
                sid: "TR_a".to_owned(),
                ..list[0].clone()
            },
            TrackSpec {
                sid: "TR_a".to_owned(),
                ..list[0].clone()
            },
        ];
        assert!(
            validate(&twice, 0, 0)
                .unwrap_err()
                .contains("duplicate sid")
        );
    }
}
