//! `dledger-broker -c conf/broker-node1.conf [-n host:port;host:port] [-p]`: one node of a
//! broker group, as RocketMQ's `mqbroker` is started.
//!
//! Thin on purpose: flags, config, logging, then wire the store, the raft node, the request
//! handler (on `listenPort` and the fast channel `listenPort - 2`), nameserver registration and
//! the background loops, and stop them in reverse order on SIGTERM / Ctrl-C (a leader first
//! hands leadership to a caught-up follower).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use dledger_broker::acl::LiveAcl;
use dledger_broker::broker::tasks::Workers;
use dledger_broker::broker::tasks::register::{namesrv_clients, unregister_all};
use dledger_broker::broker::{Broker, BrokerHandler};
use dledger_broker::config::{BrokerConfig, ConfigWarning};
use dledger_broker::raft::{RaftNode, RaftOptions};
use dledger_broker::remoting::server::{ServerConfig, serve_with};
use dledger_broker::store::scrub::refuse_if_marked;
use dledger_broker::store::{MessageStore, MessageStoreOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Parser, Debug)]
#[command(
    name = "dledger-broker",
    version,
    about = "One node of a RocketMQ-compatible broker group replicated with Raft"
)]
struct Args {
    /// Broker config file (RocketMQ broker.conf syntax).
    #[arg(short = 'c', long = "configFile")]
    config: Option<PathBuf>,
    /// Nameserver addresses, `host:port;host:port` (overrides namesrvAddr).
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv: Option<String>,
    /// Print the effective config and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    print: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let (mut config, warnings) = match &args.config {
        Some(path) => match BrokerConfig::load(path) {
            Ok(loaded) => loaded,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        },
        None => match BrokerConfig::from_properties(&[]) {
            Ok(defaults) => defaults,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        },
    };
    for w in &warnings {
        log_warning(w);
    }
    if let Some(addrs) = &args.namesrv
        && let Err(e) = config.override_namesrv_addr(addrs)
    {
        eprintln!("{e}");
        return ExitCode::from(1);
    }
    if args.print {
        print!("{config}");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dledger-broker: {e}");
            ExitCode::from(1)
        }
    }
}

fn log_warning(w: &ConfigWarning) {
    tracing::warn!("{w}");
}

async fn bind(addr: String, what: &str) -> Result<TcpListener, String> {
    TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} ({what}): {e}"))
}

async fn run(config: BrokerConfig) -> Result<(), String> {
    refuse_if_marked(&config.store_path_root_dir)?;
    let acl = match config.acl_enable {
        true => Some(Arc::new(LiveAcl::load(&config.acl_config_file).map_err(
            |e| format!("aclEnable=true but the ACL file is refused: {e}"),
        )?)),
        false => None,
    };
    let store_options = MessageStoreOptions::from_config(&config);
    let store = tokio::task::spawn_blocking(move || MessageStore::open(store_options))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open the store: {e}"))?;
    let store = Arc::new(store);

    let raft_options = RaftOptions::from_config(&config);
    let raft_port = raft_options
        .peers
        .get(&raft_options.self_id)
        .and_then(|addr| addr.rsplit(':').next())
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or("dLegerPeers does not give this node a raft port")?;
    let raft_listener = bind(format!("{}:{raft_port}", config.bind_address), "raft").await?;
    let node = RaftNode::start(raft_options, store, raft_listener)
        .await
        .map_err(|e| format!("cannot start the raft node: {e}"))?;

    let store_host: SocketAddr = format!("{}:{}", config.broker_ip1, config.listen_port)
        .parse()
        .map_err(|e| format!("brokerIP1 {} is not an IP address: {e}", config.broker_ip1))?;
    let main_listener = bind(
        format!("{}:{}", config.bind_address, config.listen_port),
        "listenPort",
    )
    .await?;
    let fast_listener = bind(
        format!("{}:{}", config.bind_address, config.fast_listen_port()),
        "fast channel, listenPort - 2",
    )
    .await?;
    let namesrv = config
        .namesrv_addr
        .iter()
        .map(|h| format!("{}:{}", h.host, h.port))
        .collect::<Vec<_>>()
        .join(";");
    let broker = Broker::new(config, node, store_host, acl);

    let (shutdown, shutdown_rx) = watch::channel(false);
    let (corrupt_tx, corrupt_rx) = tokio::sync::oneshot::channel();
    let handler = Arc::new(BrokerHandler(broker.clone()));
    let servers = vec![
        tokio::spawn(serve_with(
            main_listener,
            handler.clone(),
            server_config(broker.config()),
            shutdown_rx.clone(),
        )),
        tokio::spawn(serve_with(
            fast_listener,
            handler,
            server_config(broker.config()),
            shutdown_rx.clone(),
        )),
    ];
    let workers = Workers::start(&broker, corrupt_tx);
    println!(
        "The broker[{}, {store_host}] boot success. serializeType=JSON and name server is {namesrv}",
        broker.config().broker_name
    );

    let fatal = tokio::select! {
        () = wait_for_signal() => None,
        reason = broker.node().stopped() => Some(format!("the raft core stopped: {reason}")),
        Ok(reason) = corrupt_rx => Some(format!("the store is corrupt: {reason}")),
    };
    match &fatal {
        None => {
            tracing::info!("shutting down");
            broker.step_down().await;
        }
        Some(reason) => {
            tracing::error!(%reason, "leaving the cluster and exiting")
        }
    }
    // Servers first (no new requests), then the background tasks, then the nameservers
    // are told this broker is gone.
    let _ = shutdown.send(true);
    for task in servers {
        let _ = task.await;
    }
    workers.stop().await;
    let clients = namesrv_clients(&broker);
    unregister_all(&broker, &clients).await;
    for c in &clients {
        c.close().await;
    }
    drop(clients);
    if let Some(reason) = fatal {
        // The store is left as it is (no clean close): the next start recovers it.
        return Err(reason);
    }
    match Arc::try_unwrap(broker) {
        Ok(broker) => broker.close().await,
        Err(_) => {
            tracing::warn!("the broker is still referenced; skipping the clean close");
            Ok(())
        }
    }
}

/// The client listeners' limits from broker.conf; the rest as the remoting defaults.
fn server_config(config: &BrokerConfig) -> ServerConfig {
    let defaults = ServerConfig::default();
    ServerConfig {
        max_connections: match config.server_max_connections {
            0 => defaults.max_connections,
            n => n,
        },
        idle_timeout: Duration::from_secs(config.server_channel_max_idle_time_seconds),
        ..defaults
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(%e, "cannot listen for SIGTERM; Ctrl-C only");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
