//! `mqadmin clusterRT`: for every broker group of a cluster (or of every cluster), send `-a`
//! messages of `-s` bytes to the topic named after the group (`brokerName`, a topic every broker
//! advertises, see `broker::topics`) and print one row per group: the mean send RT in ms (the
//! first send of each round warms the route and connection and is not timed), successes and
//! failures. Like Java's tool it repeats every `-i` seconds until interrupted; `--rounds` bounds
//! it (our addition, for scripts and tests). `-p true` prints `time|room|cluster|broker|rt` lines
//! instead of the table.

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{ArgAction, Args};

use super::CliError;
use super::args::Namesrv;
use super::format::date_time;
use crate::client::{Admin, Message, Producer, ProducerConfig};

/// `clusterRT`'s flags.
#[derive(Args, Debug)]
pub struct ClusterRt {
    #[command(flatten)]
    pub ns: Namesrv,
    /// Messages sent to each broker group per round.
    #[arg(short = 'a', long = "amount", default_value_t = 100)]
    pub amount: u32,
    /// Body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 128)]
    pub size: usize,
    /// Only this cluster (default: every cluster the nameservers know).
    #[arg(short = 'c', long = "cluster")]
    pub cluster: Option<String>,
    /// `true`: print `time|room|cluster|broker|rt` lines instead of the table.
    #[arg(short = 'p', long = "printAsTlog", default_value_t = false, action = ArgAction::Set)]
    pub print_as_tlog: bool,
    /// Machine room named in the `-p true` lines.
    #[arg(short = 'm', long = "machineRoom", default_value = "noname")]
    pub machine_room: String,
    /// Seconds between rounds.
    #[arg(short = 'i', long = "interval", default_value_t = 10)]
    pub interval: u64,
    /// Stop after this many rounds (0: until interrupted, as Java's tool does).
    #[arg(long = "rounds", default_value_t = 0)]
    pub rounds: u64,
}

/// One group's figures for one round.
#[derive(Debug, Clone, PartialEq)]
pub struct RtRow {
    pub cluster: String,
    pub broker_name: String,
    /// Mean RT of the timed successful sends, ms (0 when none succeeded).
    pub rt_ms: f64,
    pub success: u32,
    pub failed: u32,
}

/// The table's header line.
pub fn header() -> String {
    table_line(
        "#Cluster Name",
        "#Broker Name",
        "#RT",
        "#successCount",
        "#failCount",
    )
}

/// One table row.
pub fn row(r: &RtRow) -> String {
    table_line(
        &r.cluster,
        &r.broker_name,
        &format!("{:.2}", r.rt_ms),
        &r.success.to_string(),
        &r.failed.to_string(),
    )
}

/// One `-p true` line: `time|room|cluster|broker|rt`, time as `yyyy-MM-dd HH:mm:ss` (UTC).
pub fn tlog_line(now_ms: i64, room: &str, r: &RtRow) -> String {
    format!(
        "{}|{room}|{}|{}|{:.2}\n",
        date_time(now_ms, false),
        r.cluster,
        r.broker_name,
        r.rt_ms
    )
}

fn table_line(cluster: &str, broker: &str, rt: &str, success: &str, failed: &str) -> String {
    format!("{cluster:<24}  {broker:<24}  {rt:<10}  {success:<14}  {failed}\n")
}

/// Runs the command: header once (table mode), then a row per group per round.
pub(super) async fn run(args: &ClusterRt, out: &mut impl Write) -> Result<(), CliError> {
    let namesrv = args.ns.resolve()?;
    let admin = super::signing::admin(namesrv.clone())?;
    let mut config = ProducerConfig::new(
        namesrv,
        format!("CLUSTER_RT_PRODUCER_{}", std::process::id()),
    );
    config.credentials = super::signing::credentials();
    let producer = Producer::new(config)?;
    producer.start()?;
    let outcome = rounds(args, &admin, &producer, out).await;
    producer.shutdown().await;
    outcome
}

async fn rounds(
    args: &ClusterRt,
    admin: &Admin,
    producer: &Producer,
    out: &mut impl Write,
) -> Result<(), CliError> {
    if !args.print_as_tlog {
        write!(out, "{}", header())?;
    }
    let mut round = 0u64;
    loop {
        round += 1;
        for (cluster, broker_name) in groups(admin, args.cluster.as_deref()).await? {
            let r = measure(producer, &cluster, &broker_name, args).await;
            if args.print_as_tlog {
                write!(
                    out,
                    "{}",
                    tlog_line(crate::bench::now_millis() as i64, &args.machine_room, &r)
                )?;
            } else {
                write!(out, "{}", row(&r))?;
            }
            out.flush()?;
        }
        if args.rounds != 0 && round >= args.rounds {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

/// `(cluster, brokerName)` of every group, in name order; an error if `only` names no cluster.
async fn groups(admin: &Admin, only: Option<&str>) -> Result<Vec<(String, String)>, CliError> {
    let info = admin.cluster_info().await?;
    if let Some(cluster) = only
        && !info.cluster_addr_table.contains_key(cluster)
    {
        let known: Vec<&str> = info.cluster_addr_table.keys().map(String::as_str).collect();
        return Err(CliError::Failed(format!(
            "no cluster named {cluster:?} (the nameservers know: {})",
            known.join(", ")
        )));
    }
    Ok(info
        .cluster_addr_table
        .iter()
        .filter(|(cluster, _)| only.is_none_or(|c| c == cluster.as_str()))
        .flat_map(|(cluster, names)| names.iter().map(|n| (cluster.clone(), n.clone())))
        .collect())
}

/// Sends `amount` messages to the topic `broker_name`; the first is not timed.
async fn measure(producer: &Producer, cluster: &str, broker_name: &str, args: &ClusterRt) -> RtRow {
    let body = Bytes::from(vec![b'a'; args.size]);
    let (mut timed, mut timed_total) = (0u32, Duration::ZERO);
    let (mut success, mut failed) = (0u32, 0u32);
    for i in 0..args.amount {
        let started = Instant::now();
        match producer.send(Message::new(broker_name, body.clone())).await {
            Ok(_) => {
                success += 1;
                if i > 0 {
                    timed += 1;
                    timed_total += started.elapsed();
                }
            }
            Err(e) => {
                failed += 1;
                tracing::warn!(topic = broker_name, %e, "clusterRT send failed");
            }
        }
    }
    RtRow {
        cluster: cluster.to_string(),
        broker_name: broker_name.to_string(),
        rt_ms: if timed == 0 {
            0.0
        } else {
            timed_total.as_secs_f64() * 1000.0 / f64::from(timed)
        },
        success,
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::{RtRow, header, row, tlog_line};

    fn sample() -> RtRow {
        RtRow {
            cluster: "RaftCluster".into(),
            broker_name: "RaftNode00".into(),
            rt_ms: 1.234,
            success: 100,
            failed: 0,
        }
    }

    #[test]
    fn rows_line_up_under_the_header_columns() {
        let (h, r) = (header(), row(&sample()));
        assert!(h.starts_with("#Cluster Name"));
        for (column, value) in [
            ("#Broker Name", "RaftNode00"),
            ("#RT", "1.23"),
            ("#successCount", "100"),
            ("#failCount", "0"),
        ] {
            let at = h.find(column).unwrap();
            assert!(r[at..].starts_with(value), "{column} in\n{h}{r}");
        }
        assert!(
            !r.trim_end_matches('\n').ends_with(' '),
            "no trailing blanks: {r:?}"
        );
        let fields: Vec<&str> = r.split_whitespace().collect();
        assert_eq!(fields, ["RaftCluster", "RaftNode00", "1.23", "100", "0"]);
    }

    #[test]
    fn tlog_lines_are_pipe_separated() {
        assert_eq!(
            tlog_line(0, "noname", &sample()),
            "1970-01-01 00:00:00|noname|RaftCluster|RaftNode00|1.23\n"
        );
    }
}
