//! Masters and leaders. Route samples: one sample never lists two masters (brokerId 0) of a
//! group; and across nameservers, each holding its last sampled master until its next sample,
//! no two of them name different masters of one group for longer than the grace (a new
//! master's registration reaches them one after another). Term samples: no two nodes of a
//! group lead in the same term. Acknowledgements that carry the storing entry's term: once a
//! send was acknowledged in term `t'`, a send begun later is never acknowledged in a term below
//! `t'` (a majority had moved to `t'`, so an older leader can no longer commit anything new).

use std::collections::{BTreeMap, BTreeSet};

use super::{Check, CheckResult};
use crate::chaos::history::{Event, History, Role, RouteSample, SendOutcome};
use crate::chaos::violation::Violation;

/// A run of sampled time in which nameservers named different masters of a group.
struct Disagreement {
    from_ms: u64,
    masters: Vec<(String, String)>,
}

pub(super) fn masters(history: &History, grace_ms: u64) -> CheckResult {
    let mut result = CheckResult::new(Check::Masters);
    let mut by_group: BTreeMap<&str, Vec<&RouteSample>> = BTreeMap::new();
    let mut samples = 0;
    for event in &history.events {
        let Event::Route(sample) = event else {
            continue;
        };
        samples += 1;
        let masters: BTreeSet<&str> = sample.masters().collect();
        if masters.len() > 1 {
            result.violations.push(Violation::TwoMastersInSample {
                namesrv: sample.namesrv.clone(),
                broker_group: sample.broker_group.clone(),
                time_ms: sample.time_ms,
                masters: masters.into_iter().map(str::to_owned).collect(),
            });
        }
        by_group
            .entry(&sample.broker_group)
            .or_default()
            .push(sample);
    }
    let mut longest = 0;
    for (group, mut samples) in by_group {
        samples.sort_by_key(|s| s.time_ms); // stable: history order breaks ties
        let mut current: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        let mut open: Option<Disagreement> = None;
        let mut close = |open: Option<Disagreement>, at: u64, result: &mut CheckResult| {
            let Some(d) = open else { return };
            let lasted = at.saturating_sub(d.from_ms);
            longest = longest.max(lasted);
            if lasted > grace_ms {
                result.violations.push(Violation::MastersDisagree {
                    broker_group: group.to_owned(),
                    from_ms: d.from_ms,
                    to_ms: at,
                    masters: d.masters,
                });
            }
        };
        let mut i = 0;
        while i < samples.len() {
            // Apply every sample of this moment, then look.
            let now = samples[i].time_ms;
            while i < samples.len() && samples[i].time_ms == now {
                current.insert(&samples[i].namesrv, samples[i].masters().next());
                i += 1;
            }
            let named: BTreeSet<&str> = current.values().flatten().copied().collect();
            match (named.len() > 1, open.is_some()) {
                (true, false) => {
                    open = Some(Disagreement {
                        from_ms: now,
                        masters: current
                            .iter()
                            .filter_map(|(ns, m)| Some((ns.to_string(), (*m)?.to_owned())))
                            .collect(),
                    });
                }
                (false, true) => close(open.take(), now, &mut result),
                _ => {}
            }
        }
        let last = samples.last().map_or(0, |s| s.time_ms);
        close(open.take(), last, &mut result);
    }
    result.count("route samples", samples);
    result.count("longest disagreement (ms)", longest);
    result
}

pub(super) fn terms(history: &History) -> CheckResult {
    let mut result = CheckResult::new(Check::Terms);
    // (group, term) -> node -> first time seen leading
    let mut leaders: BTreeMap<(&str, u64), BTreeMap<&str, u64>> = BTreeMap::new();
    let mut samples = 0;
    for event in &history.events {
        let Event::Term(t) = event else { continue };
        samples += 1;
        let nodes = leaders.entry((&t.broker_group, t.term)).or_default();
        if t.role == Role::Leader {
            let first = nodes.entry(&t.node).or_insert(t.time_ms);
            *first = (*first).min(t.time_ms);
        }
    }
    for ((group, term), nodes) in &leaders {
        if nodes.len() > 1 {
            result.violations.push(Violation::TwoLeadersInTerm {
                broker_group: (*group).to_owned(),
                term: *term,
                leaders: nodes.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect(),
            });
        }
    }
    result.count("term samples", samples);
    result.count("terms seen", leaders.len());
    result
}

pub(super) fn stale_acks(history: &History) -> CheckResult {
    let mut result = CheckResult::new(Check::StaleAcks);
    // group -> (term, start, end, key) of every acknowledgement that names its term.
    let mut acks: BTreeMap<&str, Vec<(u64, u64, u64, &str)>> = BTreeMap::new();
    for event in &history.events {
        if let Event::Send(s) = event
            && let SendOutcome::Ok {
                broker_group,
                term: Some(term),
                ..
            } = &s.outcome
        {
            acks.entry(broker_group)
                .or_default()
                .push((*term, s.start_ms, s.end_ms, &s.key));
        }
    }
    let mut checked = 0;
    for (group, acks) in acks {
        checked += acks.len();
        // term -> (earliest acknowledgement, of which key)
        let mut first_ack: BTreeMap<u64, u64> = BTreeMap::new();
        for (term, _, end, _) in &acks {
            let at = first_ack.entry(*term).or_insert(*end);
            *at = (*at).min(*end);
        }
        // term -> the earliest acknowledgement of any newer term, (newer term, time)
        let mut newer: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let mut best: Option<(u64, u64)> = None;
        for (term, at) in first_ack.iter().rev() {
            if let Some(b) = best {
                newer.insert(*term, b);
            }
            if best.is_none_or(|(_, t)| *at < t) {
                best = Some((*term, *at));
            }
        }
        for (term, start, _, key) in acks {
            if let Some((newer_term, newer_ms)) = newer.get(&term).copied()
                && start > newer_ms
            {
                result.violations.push(Violation::AckAfterNewerTerm {
                    broker_group: group.to_owned(),
                    key: key.to_owned(),
                    term,
                    start_ms: start,
                    newer_term,
                    newer_ms,
                });
            }
        }
    }
    result.count("acknowledgements with a term", checked);
    result
}
