//! Who counts as a human.

use globset::GlobSet;

use crate::cli::ParticipantKind;
use crate::inventory::Participant;
use crate::livekit::proto::participant_info::{KindDetail, State};

/// The human test: kind, identity globs, SIMULATION detail, connection state.
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

impl HumanSpec {
    /// A participant is human when its kind is a human kind, its identity matches no
    /// `--not-human` glob, it is not a SIMULATION, and it is not DISCONNECTED. A hidden
    /// standard participant counts: it may be a person observing.
    pub fn is_human(&self, p: &Participant) -> bool {
        p.kind.is_some_and(|kind| self.kinds.contains(&kind))
            && !self.not_human.is_match(&p.identity)
            && !p.kind_details.contains(&(KindDetail::Simulation as i32))
            && p.state != State::Disconnected as i32
    }

    /// A short description of who is there that is not human, e.g. `1 agent, 1 egress`.
    pub fn describe_others(&self, participants: &[Participant]) -> String {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for p in participants.iter().filter(|p| !self.is_human(p)) {
            let label = label_of(p);
            match counts.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => *n += 1,
                None => counts.push((label, 1)),
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|&(label, n)| {
                if n == 1 {
                    format!("1 {label}")
                } else {
                    format!("{n} {}", plural(label))
                }
            })
            .collect();
        parts.join(", ")
    }
}

fn label_of(p: &Participant) -> &'static str {
    if p.state == State::Disconnected as i32 {
        return "disconnected";
    }
    if p.kind_details.contains(&(KindDetail::Simulation as i32)) {
        return "simulated";
    }
    match p.kind {
        Some(ParticipantKind::Agent) => "agent",
        Some(ParticipantKind::Egress) => "egress",
        Some(ParticipantKind::Ingress) => "ingress",
        Some(ParticipantKind::Bridge) => "bridge",
        Some(ParticipantKind::Sip) => "sip bot",
        Some(ParticipantKind::Connector) => "connector bot",
        Some(ParticipantKind::Standard) => "bot",
        None => "unknown",
    }
}

fn plural(label: &str) -> String {
    match label {
        "egress" => "egresses".into(),
        "simulated" | "disconnected" | "unknown" => label.into(),
        _ => format!("{label}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::tests::{globs, participant};

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
            kind: None,
            ..participant("future", ParticipantKind::Standard)
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
            (unknown, false),
        ];
        for (p, want) in cases {
            assert_eq!(spec.is_human(&p), want, "{}", p.identity);
        }
    }

    #[test]
    fn describes_non_humans() {
        let spec = HumanSpec::default();
        let ps = [
            participant("a", ParticipantKind::Agent),
            participant("EG", ParticipantKind::Egress),
            participant("b", ParticipantKind::Agent),
            participant("h", ParticipantKind::Standard),
        ];
        assert_eq!(spec.describe_others(&ps), "2 agents, 1 egress");
    }
}
