//! The one sleep-or-stop loop every periodic background task uses.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `tick` every `period` until `cancel` fires, which also interrupts a tick in flight.
pub async fn every<F, Fut>(period: Duration, cancel: &CancellationToken, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = cancel.cancelled() => return,
        }
        if cancel.run_until_cancelled(tick()).await.is_none() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn ticks_until_cancelled_and_a_tick_in_flight_is_interrupted() {
        let cancel = CancellationToken::new();
        let ticks = AtomicU32::new(0);
        let stopper = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(120)).await;
                cancel.cancel();
            })
        };
        let started = std::time::Instant::now();
        every(Duration::from_millis(10), &cancel, || async {
            if ticks.fetch_add(1, Ordering::SeqCst) == 3 {
                // A long tick: cancellation must not wait for it.
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        })
        .await;
        stopper.await.unwrap();
        assert_eq!(ticks.load(Ordering::SeqCst), 4);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
