//! Nameserver headers (remoting.md §3.2, §3.3, §3.5).

command_header! {
    /// `REGISTER_BROKER` (103) request.
    pub struct RegisterBrokerRequestHeader {
        broker_name: String => "brokerName",
        /// `ip:port` of the broker's main listener.
        broker_addr: String => "brokerAddr",
        cluster_name: String => "clusterName",
        ha_server_addr: String => "haServerAddr",
        /// 0 = master/leader.
        broker_id: i64 => "brokerId",
        /// Body is the zlib-compressed variant.
        compressed: Option<bool> => "compressed",
        /// CRC-32 of the body masked to 31 bits; 0 = unchecked.
        body_crc32: Option<i32> => "bodyCrc32",
        /// Our extension (Java nameservers ignore it): the Raft term of a claim to brokerId 0,
        /// so a nameserver never lets a deposed leader's late claim displace a newer master.
        raft_term: Option<i64> => "raftTerm",
    }
}

command_header! {
    /// `REGISTER_BROKER` response; both set only for slaves/followers.
    pub struct RegisterBrokerResponseHeader {
        ha_server_addr: Option<String> => "haServerAddr",
        master_addr: Option<String> => "masterAddr",
    }
}

command_header! {
    /// `UNREGISTER_BROKER` (104) request.
    pub struct UnRegisterBrokerRequestHeader {
        broker_name: String => "brokerName",
        broker_addr: String => "brokerAddr",
        cluster_name: String => "clusterName",
        broker_id: i64 => "brokerId",
    }
}

command_header! {
    /// `GET_ROUTEINFO_BY_TOPIC` (105) request.
    pub struct GetRouteInfoRequestHeader {
        topic: String => "topic",
        /// (4.9.4+) the client wants quoted `brokerAddrs` keys.
        accept_standard_json_only: Option<bool> => "acceptStandardJsonOnly",
    }
}
