//! `Quorum`: which frames a majority of the group has appended. Voter 0 is the leader (it appends
//! before forwarding), the others are followers (they append before acking). A frame is committed
//! once a majority has appended it; acks are cumulative, so the committed sequence number is the
//! highest one that a majority has reached.

/// Highest sequence number appended per voter, and the committed one derived from them.
#[derive(Debug)]
pub(crate) struct Quorum {
    appended: Vec<u64>,
    majority: usize,
    committed: u64,
}

impl Quorum {
    /// A group of `voters` nodes (leader included), nothing appended yet.
    pub(crate) fn new(voters: usize) -> Quorum {
        Quorum {
            appended: vec![0; voters],
            majority: voters / 2 + 1,
            committed: 0,
        }
    }

    /// `voter` has appended everything up to `seq`. Returns the new committed sequence number if
    /// this moved it forward.
    pub(crate) fn appended(&mut self, voter: usize, seq: u64) -> Option<u64> {
        let slot = self.appended.get_mut(voter)?;
        *slot = (*slot).max(seq);
        let mut sorted = self.appended.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let reached_by_majority = sorted[self.majority - 1];
        (reached_by_majority > self.committed).then(|| {
            self.committed = reached_by_majority;
            reached_by_majority
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Quorum;

    #[test]
    fn the_leader_alone_commits_nothing_and_one_follower_makes_a_majority() {
        let mut quorum = Quorum::new(3);
        assert_eq!(quorum.appended(0, 5), None);
        assert_eq!(quorum.appended(1, 3), Some(3));
        assert_eq!(
            quorum.appended(2, 2),
            None,
            "a slower follower never lowers it"
        );
        assert_eq!(quorum.appended(2, 5), Some(5));
        assert_eq!(
            quorum.appended(1, 4),
            None,
            "acks are cumulative, never backwards"
        );
    }

    #[test]
    fn followers_ahead_of_the_leader_commit_only_what_a_majority_has() {
        let mut quorum = Quorum::new(3);
        assert_eq!(quorum.appended(1, 9), None);
        assert_eq!(quorum.appended(2, 9), Some(9));
        let mut five = Quorum::new(5);
        assert_eq!(five.appended(0, 4), None);
        assert_eq!(five.appended(1, 4), None);
        assert_eq!(five.appended(2, 3), Some(3));
        assert_eq!(
            five.appended(7, 9),
            None,
            "an unknown voter counts for nothing"
        );
    }
}
