//! Client tests against in-process fakes ([`fake`]) on loopback: producer queue selection and
//! retries, batch bodies, nameserver failures, consumer allocation, polling, offset handling
//! and rebalancing, orderly locks, SQL92 subscriptions, admin calls. Every test is bounded by [`bounded`].

mod admin;
mod consumer;
mod fake;
mod namesrv;
mod orderly;
mod producer;
mod sql92;

use std::future::Future;
use std::time::Duration;

/// Fails the test instead of hanging it.
async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("test finished within 30 s")
}
