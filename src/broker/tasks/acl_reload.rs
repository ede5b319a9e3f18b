//! Hot reload of the plain ACL: `plain_acl.yml` is looked at every second and re-read when it
//! changed; a file that does not parse keeps the last good rules (logged by
//! [`crate::acl::LiveAcl::reload_if_changed`] with file, line and reason).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::broker::server::Broker;

const POLL: Duration = Duration::from_secs(1);

pub(super) async fn run(broker: Arc<Broker>, cancel: CancellationToken) {
    let Some(acl) = broker.acl.clone() else {
        return;
    };
    super::every(POLL, &cancel, || {
        let acl = acl.clone();
        async move {
            // A stat each second, a small read on change: off the async threads all the same.
            let _ = tokio::task::spawn_blocking(move || acl.reload_if_changed()).await;
        }
    })
    .await;
}
