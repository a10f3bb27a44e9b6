//! Timers: per room, one pending grace check and one pending age deadline.
//!
//! [`Scheduler`] is pure (it is handed the time); [`Timers`] shares one between the webhook
//! handler and the loop that starts checks, and sleeps on tokio's clock until the next one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a check was scheduled: the event or deadline that triggered it, and when that happened
/// (wall clock), so the time from trigger to action can be measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    /// The webhook event (`participant_left`, ...) or the rule whose deadline it is
    /// (`max_room_age`, `max_egress_age`).
    pub trigger: &'static str,
    pub since: SystemTime,
}

/// The two kinds of pending check a room may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// After an event, at the end of the humanless grace: the newest event's wins, so
    /// everyone who left gets the whole grace to rejoin (the real server sends an agent's
    /// `participant_joined` seconds before a human may leave).
    Grace,
    /// An age limit: the earliest wins.
    Deadline,
}

impl Cause {
    pub fn slot(self) -> Slot {
        match self.trigger {
            // A grace remembered across a restart (--state) is a deadline too: it must not
            // replace the grace check of a newer event.
            "max_room_age" | "max_egress_age" | "max_session" | "remembered_grace" | "silent" => {
                Slot::Deadline
            }
            _ => Slot::Grace,
        }
    }
}

type Key = (String, Slot);

/// Pending checks, by room and slot, and by time.
#[derive(Debug, Default)]
pub struct Scheduler {
    pending: HashMap<Key, (Instant, Cause)>,
    queue: BTreeSet<(Instant, Key)>,
}

impl Scheduler {
    /// Schedules a check of `room` at `at` in its cause's slot: a deadline unless one is
    /// already due earlier, a grace check in place of the pending one. Returns whether the
    /// schedule changed.
    pub fn schedule(&mut self, room: &str, at: Instant, cause: Cause) -> bool {
        let key = (room.to_owned(), cause.slot());
        if let Some(&(pending, _)) = self.pending.get(&key) {
            let keep = match key.1 {
                Slot::Deadline => pending <= at,
                Slot::Grace => pending == at,
            };
            if keep {
                return false;
            }
            self.queue.remove(&(pending, key.clone()));
        }
        self.queue.insert((at, key.clone()));
        self.pending.insert(key, (at, cause));
        true
    }

    /// Drops the room's pending checks (its room finished). Returns whether there were any.
    pub fn cancel(&mut self, room: &str) -> bool {
        let mut any = false;
        for slot in [Slot::Grace, Slot::Deadline] {
            let key = (room.to_owned(), slot);
            if let Some((at, _)) = self.pending.remove(&key) {
                any |= self.queue.remove(&(at, key));
            }
        }
        any
    }

    /// The earliest pending check's time.
    pub fn next(&self) -> Option<Instant> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// Removes and returns every check due at `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Vec<(String, Cause)> {
        let mut due = Vec::new();
        while let Some((at, _)) = self.queue.first()
            && *at <= now
        {
            let Some((_, key)) = self.queue.pop_first() else {
                break;
            };
            if let Some((_, cause)) = self.pending.remove(&key) {
                due.push((key.0, cause));
            }
        }
        due
    }

    /// Pending checks.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// A [`Scheduler`] shared by the webhook handler and the check loop.
#[derive(Debug, Clone, Default)]
pub struct Timers {
    scheduler: Arc<Mutex<Scheduler>>,
    changed: Arc<Notify>,
}

impl Timers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Scheduler> {
        self.scheduler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Schedules a check at a wall-clock time (a past one is due now).
    pub fn schedule_at(&self, room: &str, at: SystemTime, cause: Cause) {
        self.schedule(room, instant_of(at), cause);
    }

    /// Schedules a check at `at` (earliest wins) and wakes the loop if it moved the next one.
    pub fn schedule(&self, room: &str, at: Instant, cause: Cause) {
        if self.lock().schedule(room, at, cause) {
            self.changed.notify_one();
        }
    }

    /// Cancels the room's pending check.
    pub fn cancel(&self, room: &str) {
        self.lock().cancel(room);
    }

    /// Pending checks.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Waits until a check is due (or the schedule changed) and returns those due now,
    /// possibly none.
    pub async fn due(&self) -> Vec<(String, Cause)> {
        let next = self.lock().next();
        let changed = self.changed.notified();
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = changed => {}
                }
            }
            None => changed.await,
        }
        self.lock().pop_due(Instant::now())
    }
}

/// The tokio instant of a wall-clock time; a past time is now.
pub fn instant_of(at: SystemTime) -> Instant {
    let ahead = at.duration_since(SystemTime::now()).unwrap_or_default();
    crate::time::add_instant(Instant::now(), ahead)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn cause(trigger: &'static str) -> Cause {
        Cause {
            trigger,
            since: SystemTime::UNIX_EPOCH,
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn the_earliest_deadline_and_the_newest_grace_check_win() {
        let t0 = Instant::now();
        let mut s = Scheduler::default();
        assert!(s.schedule("a", t0 + secs(3600), cause("max_room_age")));
        assert!(
            !s.schedule("a", t0 + secs(4000), cause("max_egress_age")),
            "a later deadline loses"
        );
        assert!(s.schedule("a", t0 + secs(1800), cause("max_egress_age")));
        assert!(s.schedule("a", t0 + secs(300), cause("participant_joined")));
        assert!(
            s.schedule("a", t0 + secs(310), cause("participant_left")),
            "a newer event restarts the grace"
        );
        assert!(s.schedule("b", t0 + secs(10), cause("participant_left")));
        assert_eq!(s.len(), 3);
        assert_eq!(s.next(), Some(t0 + secs(10)));
        assert_eq!(
            s.pop_due(t0 + secs(305)),
            vec![("b".into(), cause("participant_left"))]
        );
        assert_eq!(
            s.pop_due(t0 + secs(10_000)),
            vec![
                ("a".into(), cause("participant_left")),
                ("a".into(), cause("max_egress_age"))
            ]
        );
        assert!(s.is_empty() && s.next().is_none());
    }

    #[test]
    fn cancelling_drops_the_rooms_check_only() {
        let t0 = Instant::now();
        let mut s = Scheduler::default();
        s.schedule("a", t0 + secs(5), cause("participant_left"));
        s.schedule("b", t0 + secs(6), cause("participant_left"));
        s.schedule("a", t0 + secs(50), cause("max_room_age"));
        assert!(s.cancel("a"));
        assert!(!s.cancel("a"), "nothing left to cancel");
        assert_eq!(
            s.pop_due(t0 + secs(10)),
            vec![("b".into(), cause("participant_left"))]
        );
    }

    /// Runs `timers` like the check loop does and records when each room came due.
    fn record(timers: &Timers) -> Arc<Mutex<Vec<(String, Duration)>>> {
        let fired = Arc::new(Mutex::new(Vec::new()));
        let (timers, log, t0) = (timers.clone(), Arc::clone(&fired), Instant::now());
        tokio::spawn(async move {
            loop {
                for (room, _) in timers.due().await {
                    log.lock().unwrap().push((room, Instant::now() - t0));
                }
            }
        });
        fired
    }

    #[tokio::test(start_paused = true)]
    async fn checks_fire_at_their_deadline_on_the_paused_clock() {
        let timers = Timers::default();
        let fired = record(&timers);
        let t0 = Instant::now();
        timers.schedule("late", t0 + secs(300), cause("participant_left"));
        timers.schedule("soon", t0 + secs(5), cause("participant_joined"));
        // Leaving later restarts the grace.
        timers.schedule("soon", t0 + secs(8), cause("participant_left"));
        timers.schedule("late", t0 + secs(30), cause("max_room_age"));
        timers.schedule("late", t0 + secs(60), cause("max_egress_age"));
        timers.schedule("gone", t0 + secs(10), cause("room_started"));
        tokio::time::sleep(secs(2)).await;
        timers.cancel("gone");
        tokio::time::sleep(secs(400)).await;
        assert_eq!(
            *fired.lock().unwrap(),
            vec![
                ("soon".into(), secs(8)),
                ("late".into(), secs(30)),
                ("late".into(), secs(300))
            ]
        );
        assert!(timers.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_wakes_a_sleeping_loop() {
        let timers = Timers::default();
        let fired = record(&timers);
        let t0 = Instant::now();
        timers.schedule("a", t0 + secs(3600), cause("max_room_age"));
        tokio::time::sleep(secs(1)).await;
        timers.schedule("b", t0 + secs(4), cause("participant_left"));
        tokio::time::sleep(secs(10)).await;
        assert_eq!(*fired.lock().unwrap(), vec![("b".into(), secs(4))]);
        assert_eq!(timers.len(), 1);
    }
}
