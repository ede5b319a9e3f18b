//! The campaign's report: every check's counts and violations, each fault's cost, the workload
//! per client library, the seed, rendered as markdown for `RELIABILITY.md` and the CI log; and
//! the verdict the harness turns into its exit status.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::check::{self, CheckConfig, CheckResult};
use super::faults::{self, FaultTiming};
use super::history::{Event, History, ProducerKind, SendOutcome};
use super::violation::Violation;

/// Violations listed per check in the markdown (all of them are in [`Report::verdict`]).
const LISTED_PER_CHECK: usize = 50;

/// Sends of one client library: (calls, acknowledged, unknown outcome, failed).
type SendCounts = (u64, u64, u64, u64);

/// A judged history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub seed: Option<u64>,
    pub checks: Vec<CheckResult>,
    pub faults: Vec<FaultTiming>,
    pub sends: BTreeMap<ProducerKind, SendCounts>,
}

impl Report {
    /// Runs every check and measures every fault.
    pub fn new(history: &History, config: &CheckConfig) -> Self {
        let mut sends: BTreeMap<ProducerKind, SendCounts> = BTreeMap::new();
        for event in &history.events {
            if let Event::Send(s) = event {
                let counts = sends.entry(s.producer).or_default();
                counts.0 += 1;
                match s.outcome {
                    SendOutcome::Ok { .. } => counts.1 += 1,
                    SendOutcome::Unknown { .. } => counts.2 += 1,
                    SendOutcome::Failed { .. } => counts.3 += 1,
                }
            }
        }
        Self {
            seed: history.seed(),
            checks: check::run_all(history, config),
            faults: faults::timings(history, config),
            sends,
        }
    }

    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.checks.iter().flat_map(|c| &c.violations)
    }

    /// `Ok` when no check found anything, else every violation in check order.
    pub fn verdict(&self) -> Result<(), Vec<Violation>> {
        let all: Vec<Violation> = self.violations().cloned().collect();
        if all.is_empty() { Ok(()) } else { Err(all) }
    }

    /// The report as markdown: verdict, checks, faults, workload, violations.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let seed = self
            .seed
            .map_or_else(|| "not recorded".to_owned(), |s| s.to_string());
        let violations = self.violations().count();
        let verdict = match violations {
            0 => "PASS".to_owned(),
            1 => "FAIL (1 violation)".to_owned(),
            n => format!("FAIL ({n} violations)"),
        };
        // Writing to a String cannot fail.
        let _ = writeln!(out, "## Chaos checker: {verdict}, seed {seed}\n");
        let _ = writeln!(
            out,
            "| check | violations | counted |\n| --- | ---: | --- |"
        );
        for c in &self.checks {
            let counted: Vec<String> = c
                .counters
                .iter()
                .map(|(what, n)| format!("{what} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                c.check,
                c.violations.len(),
                counted.join(", ")
            );
        }
        self.faults_table(&mut out);
        self.sends_table(&mut out);
        if violations > 0 {
            let _ = writeln!(out, "\n### Violations\n");
            for c in self.checks.iter().filter(|c| !c.violations.is_empty()) {
                for v in c.violations.iter().take(LISTED_PER_CHECK) {
                    let _ = writeln!(out, "- {v}");
                }
                if c.violations.len() > LISTED_PER_CHECK {
                    let more = c.violations.len() - LISTED_PER_CHECK;
                    let _ = writeln!(out, "- ... and {more} more of \"{}\"", c.check);
                }
            }
        }
        out
    }

    fn faults_table(&self, out: &mut String) {
        if self.faults.is_empty() {
            let _ = writeln!(out, "\nNo faults recorded.");
            return;
        }
        let _ = writeln!(
            out,
            "\n### Faults\n\n| # | kind | target | group | start (ms) | lasted (ms) | new master \
             after (ms) | first ack after (ms) | unavailable (s) |\n| ---: | --- | --- | --- | \
             ---: | ---: | --- | ---: | ---: |"
        );
        let dash = || "–".to_owned();
        for f in &self.faults {
            let lasted = f
                .end_ms
                .map_or_else(dash, |e| e.saturating_sub(f.start_ms).to_string());
            let master = f
                .new_master
                .as_ref()
                .map_or_else(dash, |(ms, addr)| format!("{ms} ({})", cell(addr)));
            let ack = f.first_ack.map_or_else(dash, |ms| ms.to_string());
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {lasted} | {master} | {ack} | {:.1} |",
                f.fault,
                cell(&f.kind),
                cell(&f.target),
                f.broker_group.as_deref().map_or_else(dash, cell),
                f.start_ms,
                f.unavailable_ms as f64 / 1000.0,
            );
        }
    }

    fn sends_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n### Sends per client\n\n| client | calls | acknowledged | unknown | failed |\n\
             | --- | ---: | ---: | ---: | ---: |"
        );
        for (kind, (calls, ok, unknown, failed)) in &self.sends {
            let name = match kind {
                ProducerKind::Ours => "ours",
                ProducerKind::AliOns => "ali-ons",
                ProducerKind::Python => "python",
            };
            let _ = writeln!(out, "| {name} | {calls} | {ok} | {unknown} | {failed} |");
        }
    }
}

/// Text from the harness, safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
