//! The event queue at the heart of the simulation.
//!
//! Invariants:
//! - Events pop in order of (time, class, insertion sequence). Two events at the same instant and
//!   class pop in the order they were scheduled, so a run never depends on heap internals.
//! - Time never goes backwards: scheduling before the last popped time is clamped to it.

use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Orders events that fall on the same instant. Lower runs first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventClass {
    /// User and script commands: what the user did at t happens before the world reacts at t.
    Command = 0,
    /// Model timers (heartbeat deadlines, migration phase ends, …).
    Model = 1,
    /// Series sampling: observes the world after everything else at that instant.
    Sample = 2,
}

#[derive(Clone, Debug)]
struct Entry<E> {
    at: SimTime,
    class: EventClass,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn key(&self) -> (SimTime, EventClass, u64) {
        (self.at, self.class, self.seq)
    }
}
impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// A deterministic priority queue of timed events.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    next_seq: u64,
    floor: SimTime,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
            floor: SimTime::ZERO,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `event` at `at` (clamped to the last popped time) and returns its sequence number.
    pub fn schedule(&mut self, at: SimTime, class: EventClass, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let at = at.max(self.floor);
        self.heap.push(Reverse(Entry {
            at,
            class,
            seq,
            event,
        }));
        seq
    }

    /// Time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Pops the earliest event if it is due at or before `until`.
    pub fn pop_due(&mut self, until: SimTime) -> Option<(SimTime, E)> {
        if self.peek_time()? > until {
            return None;
        }
        let Reverse(e) = self.heap.pop()?;
        self.floor = e.at;
        Some((e.at, e.event))
    }

    /// Removes every pending event for which `keep` returns false (cancelled timers).
    pub fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        let entries = std::mem::take(&mut self.heap).into_vec();
        self.heap = entries
            .into_iter()
            .filter(|Reverse(e)| keep(&e.event))
            .collect();
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SimRng;

    fn drain(q: &mut EventQueue<u32>) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        while let Some((t, e)) = q.pop_due(SimTime::MAX) {
            out.push((t.as_micros(), e));
        }
        out
    }

    #[test]
    fn events_pop_in_time_order() {
        let mut q = EventQueue::new();
        for (t, e) in [(30, 3), (10, 1), (20, 2)] {
            q.schedule(SimTime::from_micros(t), EventClass::Model, e);
        }
        assert_eq!(drain(&mut q), vec![(10, 1), (20, 2), (30, 3)]);
    }

    #[test]
    fn ties_at_the_same_instant_pop_by_class_then_in_scheduling_order() {
        let mut q = EventQueue::new();
        let t = SimTime::from_micros(5);
        q.schedule(t, EventClass::Sample, 9);
        q.schedule(t, EventClass::Model, 1);
        q.schedule(t, EventClass::Model, 2);
        q.schedule(t, EventClass::Command, 0);
        q.schedule(t, EventClass::Model, 3);
        assert_eq!(drain(&mut q), vec![(5, 0), (5, 1), (5, 2), (5, 3), (5, 9)]);
    }

    #[test]
    fn pop_due_stops_at_the_horizon_and_time_never_goes_back() {
        let mut q = EventQueue::new();
        q.schedule(SimTime::from_micros(10), EventClass::Model, 1);
        q.schedule(SimTime::from_micros(20), EventClass::Model, 2);
        assert_eq!(
            q.pop_due(SimTime::from_micros(15)),
            Some((SimTime::from_micros(10), 1))
        );
        assert_eq!(q.pop_due(SimTime::from_micros(15)), None);
        // Scheduling in the past lands at the last popped time, not before it.
        q.schedule(SimTime::from_micros(1), EventClass::Model, 3);
        assert_eq!(q.pop_due(SimTime::MAX), Some((SimTime::from_micros(10), 3)));
    }

    #[test]
    fn the_same_random_schedule_always_drains_identically() {
        let run = |seed| {
            let mut rng = SimRng::new(seed);
            let mut q = EventQueue::new();
            for i in 0..1000 {
                q.schedule(SimTime::from_micros(rng.below(50)), EventClass::Model, i);
            }
            drain(&mut q)
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert!(
            a.windows(2)
                .all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1))
        );
    }

    #[test]
    fn retain_cancels_events() {
        let mut q = EventQueue::new();
        for i in 0..10 {
            q.schedule(SimTime::from_micros(i), EventClass::Model, i as u32);
        }
        q.retain(|e| e % 2 == 0);
        assert_eq!(q.len(), 5);
        assert!(drain(&mut q).iter().all(|(_, e)| e % 2 == 0));
    }
}
