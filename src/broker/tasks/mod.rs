//! The broker's background work. Each task is a worker in one [`Workers`] set: started
//! together by [`Workers::start`], stopped one way by [`Workers::stop`] (one cancellation
//! token, then every worker joined). A periodic task is a tick handed to [`every`] (`common::periodic`),
//! which owns the sleep-or-stop loop. A new background task goes here, started in `start`.
//!
//! | file | task |
//! | --- | --- |
//! | `register` | registration with every nameserver: one worker per nameserver, a round per period or leadership change |
//! | `offsets` | the leader's coalesced consumer offsets, proposed every `flushIntervalConsumeQueue` |
//! | `expiry` | clients not heard from for 120 s dropped, their groups told |
//! | `schedule` | delayed messages delivered when due (leader only) |
//! | `transaction_check` | unsettled half messages checked with their producers, discarded after `transactionCheckMax` (leader only) |
//! | `preferred_leader` | leadership handed to `preferredLeaderId` once it caught up |
//! | `scrub` | the commitlog's CRC scrub; damage stops the node |
//! | `acl_reload` | `plain_acl.yml` re-read within a second of a change (with `aclEnable`) |
//! | `stats` | the statistics' samples, every second ([`crate::broker::stats`]) |

mod acl_reload;
mod expiry;
mod offsets;
pub mod preferred_leader;
pub mod register;
pub mod schedule;
pub mod scrub;
mod stats;
mod transaction_check;

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::server::Broker;

pub use crate::common::periodic::every;

/// The running background tasks of one broker.
pub struct Workers {
    cancel: CancellationToken,
    set: JoinSet<()>,
}

impl Workers {
    /// Starts every task. `corrupt` receives the reason if the scrub finds the store damaged.
    pub fn start(broker: &Arc<Broker>, corrupt: oneshot::Sender<String>) -> Workers {
        let cancel = CancellationToken::new();
        let mut set = JoinSet::new();
        let clients = register::namesrv_clients(broker);
        set.spawn(register::run(broker.clone(), clients, cancel.clone()));
        set.spawn(offsets::run(broker.clone(), cancel.clone()));
        set.spawn(expiry::run(broker.clone(), cancel.clone()));
        set.spawn(schedule::run(broker.clone(), cancel.clone()));
        set.spawn(transaction_check::run(broker.clone(), cancel.clone()));
        set.spawn(preferred_leader::run(broker.clone(), cancel.clone()));
        set.spawn(stats::run(broker.clone(), cancel.clone()));
        set.spawn(scrub::run(broker.clone(), cancel.clone(), corrupt));
        set.spawn(acl_reload::run(broker.clone(), cancel.clone()));
        Workers { cancel, set }
    }

    /// Stops every task and waits until all have returned.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.set.join_next().await.is_some() {}
    }
}
