use super::*;

fn queues(broker: &str, n: i32) -> Vec<MessageQueue> {
    (0..n)
        .map(|queue_id| MessageQueue {
            topic: "T".into(),
            broker_name: broker.into(),
            queue_id,
        })
        .collect()
}

fn ids(m: usize) -> Vec<String> {
    (0..m).map(|i| format!("10.0.0.1@c{i}")).collect()
}

fn queue_ids(qs: &[MessageQueue]) -> Vec<i32> {
    qs.iter().map(|q| q.queue_id).collect()
}

/// Every queue of `all` goes to exactly one of `members`.
fn assert_partition(strategy: &AllocateStrategy, all: &[MessageQueue], members: &[String]) {
    let mut owners: BTreeMap<MessageQueue, Vec<&str>> = BTreeMap::new();
    for me in members {
        for q in strategy.allocate(all, members, me) {
            owners.entry(q).or_default().push(me);
        }
    }
    for q in all {
        let got = owners.get(q).map_or(0, Vec::len);
        assert_eq!(
            got,
            1,
            "{strategy:?}: {q} allocated {got} times with {} members",
            members.len()
        );
    }
    assert_eq!(
        owners.len(),
        all.len(),
        "{strategy:?}: foreign queues allocated"
    );
}

fn strategies() -> Vec<AllocateStrategy> {
    vec![
        AllocateStrategy::Averagely,
        AllocateStrategy::AveragelyByCircle,
        AllocateStrategy::ConsistentHash {
            virtual_nodes: DEFAULT_VIRTUAL_NODES,
        },
        AllocateStrategy::ByMachineRoom {
            rooms: BTreeSet::from(["room1".to_string(), "room2".to_string()]),
        },
    ]
}

#[test]
fn every_queue_goes_to_exactly_one_member_under_each_strategy() {
    for n in [1, 2, 3, 7, 8, 16] {
        let mut all = queues("room1@b", n);
        all.extend(queues("room2@b", n / 2));
        for m in 1..=10 {
            for strategy in strategies() {
                assert_partition(&strategy, &all, &ids(m));
            }
        }
    }
}

#[test]
fn averagely_gives_8_queues_to_3_members_as_blocks_of_3_3_2() {
    let (all, members) = (queues("b", 8), ids(3));
    let got: Vec<Vec<i32>> = members
        .iter()
        .map(|me| queue_ids(&allocate_averagely(&all, &members, me)))
        .collect();
    assert_eq!(got, [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
}

#[test]
fn by_circle_gives_8_queues_to_3_members_round_robin() {
    let (all, members) = (queues("b", 8), ids(3));
    let got: Vec<Vec<i32>> = members
        .iter()
        .map(|me| queue_ids(&AllocateStrategy::AveragelyByCircle.allocate(&all, &members, me)))
        .collect();
    assert_eq!(got, [vec![0, 3, 6], vec![1, 4, 7], vec![2, 5]]);
}

#[test]
fn by_machine_room_reads_only_its_rooms_and_hands_out_the_remainder_last() {
    let mut all = queues("room1@b", 8);
    all.extend(queues("room9@b", 4));
    all.extend(queues("plain", 2));
    let members = ids(3);
    let strategy = AllocateStrategy::ByMachineRoom {
        rooms: BTreeSet::from(["room1".to_string()]),
    };
    let got: Vec<Vec<i32>> = members
        .iter()
        .map(|me| queue_ids(&strategy.allocate(&all, &members, me)))
        .collect();
    assert_eq!(got, [vec![0, 1, 6], vec![2, 3, 7], vec![4, 5]]);
    assert!(
        strategy
            .allocate(&all, &members, &members[0])
            .iter()
            .all(|q| q.broker_name == "room1@b")
    );
}

#[test]
fn by_config_returns_the_configured_queues_whatever_the_members() {
    let fixed = queues("b", 2);
    let strategy = AllocateStrategy::ByConfig(fixed.clone());
    let members = ids(4);
    assert_eq!(
        strategy.allocate(&queues("b", 8), &members, &members[3]),
        fixed
    );
}

#[test]
fn consistent_hash_moves_only_the_queues_of_a_member_that_leaves() {
    let all = queues("b", 32);
    let strategy = AllocateStrategy::ConsistentHash {
        virtual_nodes: DEFAULT_VIRTUAL_NODES,
    };
    let before = ids(4);
    let after: Vec<String> = before[..3].to_vec();
    for me in &after {
        let old: BTreeSet<_> = strategy.allocate(&all, &before, me).into_iter().collect();
        let new: BTreeSet<_> = strategy.allocate(&all, &after, me).into_iter().collect();
        assert!(
            old.is_subset(&new),
            "{me} lost queues when another member left"
        );
    }
}

#[test]
fn a_member_not_in_the_list_and_input_order_are_handled() {
    let all = queues("b", 4);
    let members = ids(2);
    for strategy in strategies() {
        assert!(strategy.allocate(&all, &members, "stranger").is_empty());
    }
    let mut shuffled = all.clone();
    shuffled.reverse();
    let mut reversed_ids = members.clone();
    reversed_ids.reverse();
    assert_eq!(
        allocate_averagely(&shuffled, &reversed_ids, &members[0]),
        allocate_averagely(&all, &members, &members[0])
    );
}

#[test]
fn consistent_hash_places_queues_on_javas_md5_ring() {
    // Expected layout computed independently (Python hashlib) with Java's rules: virtual
    // nodes "<clientId>-<i>", keys "MessageQueue [topic=.., brokerName=.., queueId=..]",
    // the first four digest bytes big-endian, the first node at or after the key.
    let (all, members) = (queues("b", 8), ids(3));
    let strategy = AllocateStrategy::ConsistentHash {
        virtual_nodes: DEFAULT_VIRTUAL_NODES,
    };
    let got: Vec<Vec<i32>> = members
        .iter()
        .map(|me| queue_ids(&strategy.allocate(&all, &members, me)))
        .collect();
    assert_eq!(got, [vec![4, 6, 7], vec![0, 2, 3], vec![1, 5]]);
}
