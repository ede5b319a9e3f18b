//! One [`RemotingClient`] per broker address, created on first use and shared by every call
//! of a producer, consumer or admin. Requests the brokers send back on these connections
//! (`NOTIFY_CONSUMER_IDS_CHANGED`, remoting.md §1.6) are forwarded to one channel when the
//! owner asked for them. With credentials, every request leaves signed (the plain ACL's
//! `AccessKey` + `Signature`, see [`crate::remoting::signature`]). Network errors come back as [`ClientError::Network`] naming the
//! address and the request code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::ClientError;
use crate::remoting::{ClientConfig, Credentials, InboundRequest, RemotingClient, RemotingCommand};

/// The clients of every broker address this owner talks to.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    clients: Mutex<HashMap<String, Arc<RemotingClient>>>,
    /// Where server requests go; `None` drops them (the remoting client logs it).
    server_requests: Option<mpsc::Sender<InboundRequest>>,
    /// Keys every request is signed with (brokers with `aclEnable=true` check them).
    credentials: Option<Credentials>,
}

impl Connections {
    /// Connections whose server requests are forwarded to `sink`.
    pub(crate) fn with_server_requests(sink: mpsc::Sender<InboundRequest>) -> Self {
        Connections {
            clients: Mutex::default(),
            server_requests: Some(sink),
            credentials: None,
        }
    }

    /// These connections, signing every request with `credentials` when given.
    pub(crate) fn signed_by(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// The client of `addr`, created (not yet connected) on first use. Must run inside a
    /// tokio runtime when server requests are forwarded.
    pub(crate) fn client(&self, addr: &str) -> Arc<RemotingClient> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(addr) {
            return client.clone();
        }
        let client = Arc::new(RemotingClient::new(
            addr,
            ClientConfig {
                credentials: self.credentials.clone(),
                ..ClientConfig::default()
            },
        ));
        if let (Some(sink), Some(mut requests)) =
            (self.server_requests.clone(), client.server_requests())
        {
            // Ends when the client and its connections are gone, or the sink is.
            tokio::spawn(async move {
                while let Some(request) = requests.recv().await {
                    if sink.send(request).await.is_err() {
                        break;
                    }
                }
            });
        }
        clients.insert(addr.to_owned(), client.clone());
        client
    }

    /// Sends `request` to `addr` and waits up to `timeout` for the response (any code).
    pub(crate) async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        let code = request.request_code();
        self.client(addr)
            .invoke(request, timeout)
            .await
            .map_err(|source| ClientError::Network {
                addr: addr.to_owned(),
                code,
                source,
            })
    }

    /// Sends `request` to `addr` without waiting for an answer.
    pub(crate) async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let code = request.request_code();
        self.client(addr)
            .invoke_oneway(request, timeout)
            .await
            .map_err(|source| ClientError::Network {
                addr: addr.to_owned(),
                code,
                source,
            })
    }

    /// Closes every connection; calls made afterwards reconnect.
    pub(crate) async fn close_all(&self) {
        let clients: Vec<_> = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain()
            .map(|(_, client)| client)
            .collect();
        for client in clients {
            client.close().await;
        }
    }
}
