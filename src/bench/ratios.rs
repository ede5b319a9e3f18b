//! The broker as a fraction of the replication skeleton, measured in the same run: rounds of
//! skeleton batched, broker batched, skeleton one-in-flight, broker one-in-flight (A/B
//! interleaved, so drift on this shared machine hits both sides), then a table of per-round
//! ratios (median and range) against issue 5's goals: batched send ≥ 0.5× the skeleton's
//! throughput, one-in-flight p50 ≤ 2× the skeleton's (plus performance.md G4's throughput and p99
//! goals for one in flight). [`table`] is pure, so tests check the arithmetic and verdicts.

use std::fmt::Write as _;

use super::BenchError;
use super::probe::{self, ProbeOptions, Shape};
use super::producer::{self, ProducerOptions};
use super::summary::Summary;

/// One round: each side in each shape, back to back.
#[derive(Clone, Debug, Default)]
pub struct Round {
    pub skeleton_batched: Summary,
    pub broker_batched: Summary,
    pub skeleton_single: Summary,
    pub broker_single: Summary,
}

/// A goal on a broker/skeleton ratio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    fn met(self, ratio: f64) -> bool {
        match self {
            Goal::AtLeast(min) => ratio >= min,
            Goal::AtMost(max) => ratio <= max,
        }
    }

    fn text(self) -> String {
        match self {
            Goal::AtLeast(min) => format!(">= {min:.2}"),
            Goal::AtMost(max) => format!("<= {max:.2}"),
        }
    }
}

/// Runs `rounds` rounds; `broker` names the nameserver and topic (its shape fields are set here).
/// Each run's line is printed as it finishes.
pub async fn run(
    probe_options: &ProbeOptions,
    broker: &ProducerOptions,
    rounds: usize,
) -> Result<Vec<Round>, BenchError> {
    let mut done = Vec::new();
    for round in 1..=rounds.max(1) {
        let size = broker.size;
        let skeleton_batched = skeleton(probe_options, Shape::batched(size)).await?;
        println!(
            "round {round} skeleton batched:      {}",
            skeleton_batched.line()
        );
        let broker_batched = producer::run(broker_shape(broker, Shape::batched(size))).await?;
        println!(
            "round {round} broker batched:        {}",
            broker_batched.line()
        );
        let skeleton_single = skeleton(probe_options, Shape::one_in_flight(size)).await?;
        println!(
            "round {round} skeleton one in flight: {}",
            skeleton_single.line()
        );
        let broker_single = producer::run(broker_shape(broker, Shape::one_in_flight(size))).await?;
        println!(
            "round {round} broker one in flight:   {}",
            broker_single.line()
        );
        done.push(Round {
            skeleton_batched,
            broker_batched,
            skeleton_single,
            broker_single,
        });
    }
    Ok(done)
}

async fn skeleton(options: &ProbeOptions, shape: Shape) -> Result<Summary, BenchError> {
    let options = options.clone();
    tokio::task::spawn_blocking(move || probe::run(&options, shape))
        .await
        .map_err(|e| BenchError::Failed(format!("the probe task failed: {e}")))?
}

/// The producer benchmark in `shape`: `window` senders of `batch` messages each, no report lines.
fn broker_shape(base: &ProducerOptions, shape: Shape) -> ProducerOptions {
    ProducerOptions {
        threads: shape.window,
        batch: shape.batch,
        size: shape.size,
        count: 0,
        report_interval: None,
        ..base.clone()
    }
}

/// One row of the table: a figure per side, and the goal on broker / skeleton.
struct Row {
    name: &'static str,
    unit: &'static str,
    figure: fn(&Summary) -> f64,
    batched: bool,
    /// `None`: printed for context, judged against nothing.
    goal: Option<Goal>,
}

const ROWS: [Row; 5] = [
    Row {
        name: "batched, 32 per request, 16 in flight",
        unit: "msgs/s",
        figure: Summary::msgs_per_sec,
        batched: true,
        goal: Some(Goal::AtLeast(0.5)),
    },
    Row {
        name: "one in flight, p50",
        unit: "ms",
        figure: p50_ms,
        batched: false,
        goal: Some(Goal::AtMost(2.0)),
    },
    Row {
        name: "one in flight, p99 (G4)",
        unit: "ms",
        figure: p99_ms,
        batched: false,
        goal: Some(Goal::AtMost(3.0)),
    },
    Row {
        name: "one in flight (G4)",
        unit: "msgs/s",
        figure: Summary::msgs_per_sec,
        batched: false,
        goal: Some(Goal::AtLeast(0.5)),
    },
    Row {
        name: "batched, p99 (no goal)",
        unit: "ms",
        figure: p99_ms,
        batched: true,
        goal: None,
    },
];

fn p50_ms(summary: &Summary) -> f64 {
    summary.latency.quantile_ms(0.5)
}

fn p99_ms(summary: &Summary) -> f64 {
    summary.latency.quantile_ms(0.99)
}

/// The median of `values` (the lower middle for an even count); 0 when empty.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0)
}

/// The ratio table, one line per figure: skeleton and broker medians over the rounds, the median
/// [min - max] of the per-round ratios broker / skeleton, the goal and whether the median meets it.
pub fn table(rounds: &[Round], size: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| figure ({size} B messages, 3 replicas) | skeleton | broker | broker / skeleton, median [min - max] | goal | verdict |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | --- | --- | --- |");
    for row in &ROWS {
        let sides = |round: &Round| {
            if row.batched {
                (
                    (row.figure)(&round.skeleton_batched),
                    (row.figure)(&round.broker_batched),
                )
            } else {
                (
                    (row.figure)(&round.skeleton_single),
                    (row.figure)(&round.broker_single),
                )
            }
        };
        let pairs: Vec<(f64, f64)> = rounds.iter().map(sides).collect();
        let ratios: Vec<f64> = pairs
            .iter()
            .map(|(skeleton, broker)| {
                if *skeleton > 0.0 {
                    broker / skeleton
                } else {
                    f64::NAN
                }
            })
            .collect();
        let ratio = median(ratios.clone());
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (goal, verdict) = match row.goal {
            None => ("-".to_string(), "-"),
            Some(goal) if goal.met(ratio) => (goal.text(), "met"),
            Some(goal) => (goal.text(), "NOT met"),
        };
        let precision = if row.unit == "ms" { 3 } else { 0 };
        let _ = writeln!(
            out,
            "| {} ({}) | {:.precision$} | {:.precision$} | {ratio:.2} [{low:.2} - {high:.2}] | {goal} | {verdict} |",
            row.name,
            row.unit,
            median(pairs.iter().map(|p| p.0).collect()),
            median(pairs.iter().map(|p| p.1).collect()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Round, Summary, median, table};
    use crate::bench::latency::Latency;

    fn summary(messages: u64, latency_us: u64) -> Summary {
        let mut latency = Latency::new();
        latency.record(latency_us);
        Summary {
            messages,
            requests: 1,
            failed: 0,
            elapsed: Duration::from_secs(1),
            latency,
        }
    }

    #[test]
    fn the_table_reports_median_ratios_and_verdicts() {
        let rounds = [
            Round {
                skeleton_batched: summary(100_000, 1000),
                broker_batched: summary(60_000, 5000),
                skeleton_single: summary(10_000, 100),
                broker_single: summary(2_000, 300),
            },
            Round {
                skeleton_batched: summary(100_000, 1000),
                broker_batched: summary(40_000, 5000),
                skeleton_single: summary(10_000, 100),
                broker_single: summary(4_000, 150),
            },
            Round {
                skeleton_batched: summary(100_000, 1000),
                broker_batched: summary(55_000, 5000),
                skeleton_single: summary(10_000, 100),
                broker_single: summary(3_000, 190),
            },
        ];
        let text = table(&rounds, 1024);
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no row {prefix} in\n{text}"))
                .to_string()
        };
        let batched = line("| batched, 32 per request");
        assert!(
            batched.contains("| 100000 | 55000 | 0.55 [0.40 - 0.60] | >= 0.50 | met |"),
            "{batched}"
        );
        let p50 = line("| one in flight, p50");
        assert!(
            p50.contains("| 0.100 | 0.190 | 1.90 [1.50 - 3.00] | <= 2.00 | met |"),
            "{p50}"
        );
        let rate = line("| one in flight (G4)");
        assert!(
            rate.contains("0.30 [0.20 - 0.40] | >= 0.50 | NOT met |"),
            "{rate}"
        );
    }

    #[test]
    fn the_median_of_an_even_count_is_the_lower_middle() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.0);
        assert_eq!(median(vec![]), 0.0);
    }
}
