//! What each fault cost, computed from the history alone: time to a new master, time to the
//! first acknowledged send, unavailable time. Figures to report, not to judge: no violation
//! comes from here.
//!
//! For a fault that starts at `s` (and ends at `e`, or is instant) on group `g`, the window is
//! `s` to `max(s, e) + fault_tail_ms`, cut where the workload stopped (the last send's end):
//! * **new master**: the first sampled moment in the window at which every nameserver sampled
//!   for `g` names one and the same master, and it is not one named at `s`;
//! * **first acknowledged send**: the first send on `g` acknowledged after `s`; once a new
//!   master was named, a send stored by the node the fault hit (its offset msgId names the
//!   host) does not count, as it may have been answered just before the fault;
//! * **unavailable**: the sum of the pauses longer than `gap_ms` between consecutive
//!   acknowledgements on `g` in the window (the window's ends count as acknowledgements).
//!
//! A fault without a group is measured against every group's sends and has no new master.
//! Overlapping faults are each measured alone, so their unavailable time counts twice.

use std::collections::{BTreeMap, BTreeSet};

use super::check::CheckConfig;
use super::history::{Event, FaultMarker, History, Phase, RouteSample, SendAttempt, SendOutcome};
use crate::message::parse_offset_msg_id;

/// What one fault cost; times in milliseconds after its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultTiming {
    pub fault: u64,
    pub kind: String,
    pub target: String,
    pub broker_group: Option<String>,
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    /// When every nameserver named a new master, and which.
    pub new_master: Option<(u64, String)>,
    pub first_ack: Option<u64>,
    pub unavailable_ms: u64,
}

/// Every fault's figures, in order of start.
pub fn timings(history: &History, config: &CheckConfig) -> Vec<FaultTiming> {
    let mut starts: BTreeMap<u64, &FaultMarker> = BTreeMap::new();
    let mut ends: BTreeMap<u64, u64> = BTreeMap::new();
    let mut routes: Vec<&RouteSample> = Vec::new();
    let mut acks: Vec<(&SendAttempt, &str)> = Vec::new();
    let mut workload_end = 0;
    for event in &history.events {
        match event {
            Event::Fault(f) if f.phase == Phase::Start => {
                starts.entry(f.fault).or_insert(f);
            }
            Event::Fault(f) => {
                ends.insert(f.fault, f.time_ms);
            }
            Event::Route(r) => routes.push(r),
            Event::Send(s) => {
                workload_end = workload_end.max(s.end_ms);
                if let SendOutcome::Ok { broker_group, .. } = &s.outcome {
                    acks.push((s, broker_group));
                }
            }
            _ => {}
        }
    }
    routes.sort_by_key(|r| r.time_ms);
    acks.sort_by_key(|(s, _)| s.end_ms);
    let mut out: Vec<FaultTiming> = starts
        .values()
        .map(|f| {
            let end = ends.get(&f.fault).copied();
            let window_end = (end.unwrap_or(f.time_ms).max(f.time_ms) + config.fault_tail_ms)
                .min(workload_end.max(f.time_ms));
            let group = f.broker_group.as_deref();
            let new_master = group.and_then(|g| new_master(&routes, g, f.time_ms, window_end));
            let acked: Vec<&SendAttempt> = acks
                .iter()
                .filter(|(_, g)| group.is_none_or(|group| group == *g))
                .map(|(s, _)| *s)
                .collect();
            let skip_host = new_master.as_ref().and(f.addr.as_deref());
            FaultTiming {
                fault: f.fault,
                kind: f.kind.clone(),
                target: f.target.clone(),
                broker_group: f.broker_group.clone(),
                start_ms: f.time_ms,
                end_ms: end,
                new_master,
                first_ack: first_ack(&acked, f.time_ms, skip_host),
                unavailable_ms: unavailable(&acked, f.time_ms, window_end, config.gap_ms),
            }
        })
        .collect();
    out.sort_by_key(|t| (t.start_ms, t.fault));
    out
}

fn new_master(
    routes: &[&RouteSample],
    group: &str,
    start: u64,
    until: u64,
) -> Option<(u64, String)> {
    let mut current: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    let mut before: Option<BTreeSet<&str>> = None;
    for r in routes.iter().filter(|r| r.broker_group == group) {
        if r.time_ms > until {
            break;
        }
        if r.time_ms > start && before.is_none() {
            before = Some(current.values().flatten().copied().collect());
        }
        current.insert(&r.namesrv, r.masters().next());
        let Some(before) = &before else { continue };
        let mut named = current.values();
        if let Some(Some(first)) = named.next()
            && named.all(|m| m == &Some(*first))
            && !before.contains(first)
        {
            return Some((r.time_ms - start, (*first).to_owned()));
        }
    }
    None
}

fn stored_by(s: &SendAttempt) -> Option<String> {
    let SendOutcome::Ok { offset_msg_id, .. } = &s.outcome else {
        return None;
    };
    parse_offset_msg_id(offset_msg_id.as_deref()?)
        .ok()
        .map(|(host, _)| host.to_string())
}

fn first_ack(acked: &[&SendAttempt], start: u64, skip_host: Option<&str>) -> Option<u64> {
    acked
        .iter()
        .filter(|s| s.end_ms > start)
        .find(|s| skip_host.is_none() || stored_by(s).as_deref() != skip_host)
        .map(|s| s.end_ms - start)
}

fn unavailable(acked: &[&SendAttempt], from: u64, to: u64, gap_ms: u64) -> u64 {
    let inside = acked
        .iter()
        .map(|s| s.end_ms)
        .filter(|t| (from..=to).contains(t));
    let mut total = 0;
    let mut last = from;
    for t in inside.chain(std::iter::once(to)) {
        let pause = t.saturating_sub(last);
        if pause > gap_ms {
            total += pause;
        }
        last = last.max(t);
    }
    total
}
