//! `mqnamesrv`: the name server, started like RocketMQ's script.
//!
//! ```text
//! mqnamesrv [-c conf/namesrv.conf] [-p]
//! ```
//!
//! `-c` reads a `namesrv.conf` (without it: port 9876 on every interface); `-p` prints the
//! effective config as `key=value` lines and exits 0. A refused config is printed with file,
//! line and key, exit code 1, before anything is bound. Otherwise it binds
//! `bindAddress:listenPort` (a failure names the address, exit code 1), prints
//! `The Name Server boot success. serializeType=JSON, listening on <addr>` on stdout (scripts
//! grep for RocketMQ's wording), and serves until SIGTERM or Ctrl-C: it then stops accepting,
//! lets the requests in hand finish, and exits 0. Logs go to stderr, filtered by `RUST_LOG`
//! (default `info`).
//!
//! Thin on purpose: the nameserver itself is `dledger_broker::namesrv::serve_namesrv`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use dledger_broker::config::{ConfigError, NamesrvConfig};
use dledger_broker::namesrv::serve_namesrv;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

/// Beyond the remoting server's own drain deadline (5 s), how long shutdown may take before
/// the process exits anyway.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// RocketMQ-compatible name server: brokers register their routes, clients ask for them.
#[derive(Debug, Parser)]
#[command(name = "mqnamesrv", version)]
struct Args {
    /// Name server config file (namesrv.conf, Java properties syntax).
    #[arg(short = 'c', long = "configFile", value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Print the effective config and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    print_config: bool,
}

/// Why the name server did not start or stopped badly.
#[derive(Debug, thiserror::Error)]
enum MainError {
    #[error("config refused:\n{0}")]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install the SIGTERM handler: {0}")]
    Signal(std::io::Error),
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mqnamesrv: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), MainError> {
    let config = match &args.config_file {
        Some(path) => {
            let (config, warnings) = NamesrvConfig::load(path)?;
            for warning in warnings {
                warn!("{warning}");
            }
            config
        }
        None => NamesrvConfig::default(),
    };
    if args.print_config {
        print!("{config}");
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(MainError::Runtime)?;
    runtime.block_on(serve(config))
}

async fn serve(config: NamesrvConfig) -> Result<(), MainError> {
    let addr = SocketAddr::new(config.bind_address, config.listen_port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MainError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    info!("effective config:\n{}", config.to_string().trim_end());
    let (stop, stopped) = watch::channel(false);
    let mut server = tokio::spawn(serve_namesrv(config, listener, stopped));
    println!("The Name Server boot success. serializeType=JSON, listening on {local}");

    tokio::select! {
        signal = shutdown_signal() => {
            let signal = signal?;
            info!(signal, "shutting down: no new connections, finishing requests in hand");
        }
        done = &mut server => {
            // serve_namesrv returns only on shutdown; anything else is a bug worth a line.
            warn!(result = ?done, "name server stopped by itself");
            return Ok(());
        }
    }
    let _ = stop.send(true);
    match tokio::time::timeout(SHUTDOWN_DEADLINE, server).await {
        Ok(Ok(())) => info!("name server shut down"),
        Ok(Err(err)) => warn!(error = %err, "name server task failed"),
        Err(_) => warn!("name server still draining at the shutdown deadline; exiting"),
    }
    Ok(())
}

/// Resolves with the signal's name on SIGTERM or SIGINT (Ctrl-C).
#[cfg(unix)]
async fn shutdown_signal() -> Result<&'static str, MainError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(MainError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(MainError::Signal)?;
    tokio::select! {
        _ = term.recv() => Ok("SIGTERM"),
        _ = int.recv() => Ok("SIGINT"),
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
async fn shutdown_signal() -> Result<&'static str, MainError> {
    tokio::signal::ctrl_c().await.map_err(MainError::Signal)?;
    Ok("Ctrl-C")
}
