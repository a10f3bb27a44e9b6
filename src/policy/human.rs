//! Who counts as a human.

use std::borrow::Cow;
use std::time::Duration;

use globset::GlobSet;

use super::human_duration;
use crate::cli::ParticipantKind;
use crate::inventory::{Kind, Participant};
use crate::livekit::proto::participant_info::{KindDetail, State};

/// The human test: kind, identity globs, SIMULATION detail, connection state, call status.
#[derive(Debug, Clone)]
pub struct HumanSpec {
    pub kinds: Vec<ParticipantKind>,
    pub not_human: GlobSet,
}

impl Default for HumanSpec {
    fn default() -> Self {
        Self {
            kinds: vec![
                ParticipantKind::Standard,
                ParticipantKind::Sip,
                ParticipantKind::Connector,
            ],
            not_human: GlobSet::empty(),
        }
    }
}

/// The human test for one room at one moment: how long a phone leg may ring depends on
/// the room's rules, and how long it has rung on the time.
#[derive(Debug, Clone, Copy)]
pub struct HumanTest<'a> {
    spec: &'a HumanSpec,
    sip_ring_limit: Duration,
    now_ms: i64,
}

/// What the human test makes of one participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Human,
    /// Counted as human because this version cannot tell (fail safe).
    Assumed(Doubt),
    /// Not human; how reports name it, e.g. `agent`, `sip: call hangup`.
    Other(Cow<'static, str>),
}

/// Something a newer server sent that this version does not understand.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Doubt {
    /// A participant kind number this version has no name for.
    UnknownKind(i32),
    /// A `sip.callStatus` value this version has no meaning for.
    UnknownCallStatus(String),
}

impl std::fmt::Display for Doubt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownKind(n) => write!(f, "is of kind {n}"),
            Self::UnknownCallStatus(s) => write!(f, "has sip.callStatus '{s}'"),
        }
    }
}

/// Who is in a room, by the human test.
#[derive(Debug, Clone, PartialEq)]
pub struct Headcount<'p> {
    pub humans: u32,
    /// Of the humans, those publishing nothing, or only muted tracks.
    pub silent: u32,
    pub others: u32,
    /// The non-humans, e.g. `1 agent, 1 sip: call hangup`; empty when there are none.
    pub others_described: String,
    /// Participants counted as human only because this version could not tell.
    pub doubts: Vec<(&'p Participant, Doubt)>,
}

impl HumanSpec {
    /// The test for a room whose rules allow phone legs to ring `sip_ring_limit`, at
    /// `now_ms` (Unix milliseconds).
    pub fn at(&self, sip_ring_limit: Duration, now_ms: i64) -> HumanTest<'_> {
        HumanTest {
            spec: self,
            sip_ring_limit,
            now_ms,
        }
    }
}

impl HumanTest<'_> {
    /// A participant is human when it is not DISCONNECTED nor a SIMULATION, its kind is a
    /// human kind, its identity matches no `--not-human` glob, and, for a phone leg, its
    /// call is live. A hidden standard participant counts: it may be a person observing.
    /// A kind or call status this version does not know counts as human (fail safe).
    pub fn judge(&self, p: &Participant) -> Presence {
        if p.state == State::Disconnected as i32 {
            return other("disconnected");
        }
        if p.kind_details.contains(&(KindDetail::Simulation as i32)) {
            return other("simulated");
        }
        let excluded = self.spec.not_human.is_match(&p.identity);
        let kind = match p.kind {
            Kind::Known(kind) => kind,
            Kind::Unknown(_) if excluded => return other("bot of an unknown kind"),
            Kind::Unknown(n) => return Presence::Assumed(Doubt::UnknownKind(n)),
        };
        if excluded || !self.spec.kinds.contains(&kind) {
            return other(bot_label(kind));
        }
        if kind == ParticipantKind::Sip {
            return self.call(p);
        }
        Presence::Human
    }

    /// Whether `p` counts as human (an assumed human does).
    pub fn is_human(&self, p: &Participant) -> bool {
        !matches!(self.judge(p), Presence::Other(_))
    }

    /// A phone leg is a human while its call is live: `sip.callStatus` `active`,
    /// `automation` (DTMF menus, a person on the line) or absent (SIP services before the
    /// attribute). Only kind SIP is read: any participant may set its own attributes.
    fn call(&self, p: &Participant) -> Presence {
        match p.call_status.as_deref() {
            None | Some("" | "active" | "automation") => Presence::Human,
            Some("hangup") => other("sip: call hangup"),
            Some(status @ ("dialing" | "ringing")) => {
                // LiveKit records no time for a status change. The SIP service adds the
                // participant when it starts dialing, so the time since it joined is how
                // long the call has been trying to connect. Unknown: it may still ring.
                let ringing = u64::try_from(self.now_ms.saturating_sub(p.joined_ms))
                    .ok()
                    .filter(|_| p.joined_ms > 0)
                    .map(Duration::from_millis);
                match ringing {
                    Some(rang) if rang > self.sip_ring_limit => {
                        Presence::Other(format!("sip: {status} {}", human_duration(rang)).into())
                    }
                    _ => Presence::Human,
                }
            }
            Some(unknown) => Presence::Assumed(Doubt::UnknownCallStatus(unknown.to_owned())),
        }
    }

    /// Counts humans and describes the others, e.g. `2 agents, 1 sip: call hangup`.
    pub fn headcount<'p>(&self, participants: &'p [Participant]) -> Headcount<'p> {
        let (mut humans, mut silent) = (0, 0);
        let mut counts: Vec<(Cow<'static, str>, u32)> = Vec::new();
        let mut doubts = Vec::new();
        for p in participants {
            match self.judge(p) {
                Presence::Human => {}
                Presence::Assumed(doubt) => doubts.push((p, doubt)),
                Presence::Other(label) => {
                    match counts.iter_mut().find(|(l, _)| *l == label) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((label, 1)),
                    }
                    continue;
                }
            }
            humans += 1;
            silent += u32::from(p.is_silent());
        }
        let described: Vec<String> = counts
            .iter()
            .map(|(label, n)| {
                if *n == 1 {
                    format!("1 {label}")
                } else {
                    format!("{n} {}", plural(label))
                }
            })
            .collect();
        Headcount {
            humans,
            silent,
            others: counts.iter().map(|(_, n)| n).sum(),
            others_described: described.join(", "),
            doubts,
        }
    }
}

fn other(label: &'static str) -> Presence {
    Presence::Other(Cow::Borrowed(label))
}

/// How a participant of a known kind that is not human is named.
fn bot_label(kind: ParticipantKind) -> &'static str {
    match kind {
        ParticipantKind::Agent => "agent",
        ParticipantKind::Egress => "egress",
        ParticipantKind::Ingress => "ingress",
        ParticipantKind::Bridge => "bridge",
        ParticipantKind::Sip => "sip bot",
        ParticipantKind::Connector => "connector bot",
        ParticipantKind::Standard => "bot",
    }
}

fn plural(label: &str) -> Cow<'_, str> {
    match label {
        "egress" => "egresses".into(),
        "ingress" => "ingresses".into(),
        "bot of an unknown kind" => "bots of an unknown kind".into(),
        "simulated" | "disconnected" => label.into(),
        // `2 sip: call hangup`
        _ if label.contains(':') => label.into(),
        _ => format!("{label}s").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::tests::{globs, participant};

    const NOW_MS: i64 = 1_800_000_000_000;
    const RING_LIMIT: Duration = Duration::from_secs(5 * 60);

    fn test(spec: &HumanSpec) -> HumanTest<'_> {
        spec.at(RING_LIMIT, NOW_MS)
    }

    /// A phone leg with `status`, joined `secs` ago.
    fn call(status: Option<&str>, secs: i64) -> Participant {
        Participant {
            call_status: status.map(str::to_owned),
            joined_ms: NOW_MS - secs * 1000,
            ..participant("+15550100", ParticipantKind::Sip)
        }
    }

    #[test]
    fn human_test_table() {
        let spec = HumanSpec {
            not_human: globs(&["bot-*"]),
            ..HumanSpec::default()
        };
        let simulated = Participant {
            kind_details: vec![KindDetail::Simulation as i32],
            ..participant("sim", ParticipantKind::Standard)
        };
        let gone = Participant {
            state: State::Disconnected as i32,
            ..participant("left", ParticipantKind::Standard)
        };
        let hidden = Participant {
            hidden: true,
            ..participant("observer", ParticipantKind::Standard)
        };
        let unknown = Participant {
            kind: Kind::Unknown(42),
            ..participant("future", ParticipantKind::Standard)
        };
        let unknown_bot = Participant {
            kind: Kind::Unknown(42),
            ..participant("bot-future", ParticipantKind::Standard)
        };
        let cases = [
            (participant("alice", ParticipantKind::Standard), true),
            (participant("+1555", ParticipantKind::Sip), true),
            (participant("wa", ParticipantKind::Connector), true),
            (hidden, true),
            (participant("agent-1", ParticipantKind::Agent), false),
            (participant("EG_1", ParticipantKind::Egress), false),
            (participant("obs", ParticipantKind::Ingress), false),
            (participant("cam", ParticipantKind::Bridge), false),
            (participant("bot-7", ParticipantKind::Standard), false),
            (simulated, false),
            (gone, false),
            (unknown, true),
            (unknown_bot, false),
        ];
        for (p, want) in cases {
            assert_eq!(test(&spec).is_human(&p), want, "{}", p.identity);
        }
    }

    #[test]
    fn a_phone_leg_is_human_only_while_its_call_is_live() {
        let spec = HumanSpec::default();
        let human = Presence::Human;
        let cases = [
            (call(None, 3600), human.clone()),
            (call(Some(""), 3600), human.clone()),
            (call(Some("active"), 3600), human.clone()),
            (call(Some("automation"), 3600), human.clone()),
            (call(Some("hangup"), 10), other("sip: call hangup")),
            (call(Some("dialing"), 60), human.clone()),
            (call(Some("ringing"), 300), human.clone()),
            (
                call(Some("ringing"), 301),
                Presence::Other("sip: ringing 5m 1s".into()),
            ),
            (
                call(Some("dialing"), 720),
                Presence::Other("sip: dialing 12m".into()),
            ),
            (
                call(Some("ringing"), NOW_MS / 1000),
                human.clone(),
                // joined_at 0: how long it rang is unknown, so it may still ring.
            ),
            (call(Some("ringing"), -60), human.clone()),
            (
                call(Some("on-hold"), 10),
                Presence::Assumed(Doubt::UnknownCallStatus("on-hold".into())),
            ),
            (
                call(Some("HANGUP"), 10),
                Presence::Assumed(Doubt::UnknownCallStatus("HANGUP".into())),
            ),
        ];
        for (p, want) in cases {
            let status = p.call_status.clone();
            assert_eq!(test(&spec).judge(&p), want, "{status:?} {}", p.joined_ms);
        }
    }

    #[test]
    fn the_ring_limit_is_the_rooms() {
        let spec = HumanSpec::default();
        let ringing = call(Some("ringing"), 120);
        for (limit_s, human) in [(60, false), (119, false), (120, true), (600, true)] {
            let at = spec.at(Duration::from_secs(limit_s), NOW_MS);
            assert_eq!(at.is_human(&ringing), human, "limit {limit_s}s");
        }
    }

    #[test]
    fn only_a_sip_participant_is_judged_by_its_call_status() {
        let spec = HumanSpec::default();
        // Any participant may set its own attributes; a person is not hung up by that.
        let standard = Participant {
            call_status: Some("hangup".into()),
            ..participant("alice", ParticipantKind::Standard)
        };
        assert!(test(&spec).is_human(&standard));
        // SIP not a human kind: the call status does not matter.
        let no_sip = HumanSpec {
            kinds: vec![ParticipantKind::Standard],
            ..HumanSpec::default()
        };
        assert_eq!(
            test(&no_sip).judge(&call(Some("active"), 10)),
            other("sip bot")
        );
    }

    #[test]
    fn headcount_describes_the_others_and_names_the_doubts() {
        let spec = HumanSpec::default();
        let future = Participant {
            kind: Kind::Unknown(42),
            ..participant("future", ParticipantKind::Standard)
        };
        let ps = [
            participant("a", ParticipantKind::Agent),
            participant("EG", ParticipantKind::Egress),
            participant("b", ParticipantKind::Agent),
            participant("h", ParticipantKind::Standard),
            call(Some("hangup"), 10),
            call(Some("hangup"), 20),
            call(Some("ringing"), 720),
            call(Some("weird"), 10),
            future.clone(),
        ];
        let count = test(&spec).headcount(&ps);
        assert_eq!(
            count.others_described,
            "2 agents, 1 egress, 2 sip: call hangup, 1 sip: ringing 12m"
        );
        assert_eq!((count.humans, count.others), (3, 6));
        let doubts: Vec<(&str, &Doubt)> = count
            .doubts
            .iter()
            .map(|(p, d)| (p.identity.as_str(), d))
            .collect();
        assert_eq!(
            doubts,
            [
                ("+15550100", &Doubt::UnknownCallStatus("weird".into())),
                ("future", &Doubt::UnknownKind(42)),
            ]
        );
        let labels = [
            participant("x", ParticipantKind::Standard),
            participant("y", ParticipantKind::Standard),
        ];
        let bots = HumanSpec {
            not_human: globs(&["*"]),
            ..HumanSpec::default()
        };
        assert_eq!(test(&bots).headcount(&labels).others_described, "2 bots");
        let gone = Participant {
            state: State::Disconnected as i32,
            ..participant("left", ParticipantKind::Standard)
        };
        assert_eq!(
            test(&spec)
                .headcount(&[gone.clone(), gone])
                .others_described,
            "2 disconnected"
        );
    }
}
