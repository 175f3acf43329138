//! Quorum: node votes, dynamic quorum and dynamic witness, losing and regaining quorum.
//! Behaviour and sources: docs/cluster-model.md "Quorum" (the facts doc §1-§2).
//!
//! Invariants:
//! - with `dynamic_quorum`, votes are re-weighted after every verified departure or join: the
//!   voters are the members whose heartbeats flow; with a witness, the witness votes only while
//!   the voters are even in number (`dynamic_witness`); without one, an even number of voters has
//!   one node's vote zeroed (`lower_quorum_priority_node`, else the node zeroed before, else one
//!   drawn from the seeded RNG), so the total stays odd;
//! - a departure keeps quorum only if the members still reachable hold more than half of the
//!   votes as they were before it: losses one after another shrink the cluster vote by vote,
//!   nodes lost at once are counted together;
//! - while quorum is lost the votes stay as they were; the cluster forms again when reachable
//!   nodes hold more than half of them.

use super::cluster::ClusterHandler;
use super::effects::{ClusterWork, MigrationWork};
use super::{EventKind, NodeState, VmState};
use crate::scenario::{InitialVmState, Witness};

impl ClusterHandler<'_> {
    pub(super) fn has_witness(&self) -> bool {
        self.w.scenario.spec.cluster.witness != Witness::None
    }

    fn dynamic(&self) -> bool {
        self.w.scenario.spec.cluster.dynamic_quorum
    }

    /// Nodes that can vote now: members whose heartbeats reach the others.
    fn reachable_members(&self) -> Vec<usize> {
        (0..self.w.nodes.len())
            .filter(|&h| self.c.members[h].member && self.w.heartbeats_flow(h))
            .collect()
    }

    /// (votes the reachable members hold, all votes), the witness included when it votes.
    pub(super) fn quorum_votes(&self) -> (usize, usize) {
        let reachable = self.reachable_members();
        let witness = usize::from(self.c.witness_vote);
        let held = reachable
            .iter()
            .filter(|&&h| self.c.members[h].vote)
            .count();
        let total = self.c.members.iter().filter(|m| m.vote).count() + witness;
        let held = held + if reachable.is_empty() { 0 } else { witness };
        (held, total)
    }

    /// Whether the reachable members hold more than half of the votes.
    pub(super) fn quorum_holds(&self) -> bool {
        let (held, total) = self.quorum_votes();
        held * 2 > total
    }

    /// Dynamic quorum: gives the reachable members their votes, sets the witness's vote, and
    /// zeroes one node's vote when the count would be even. Logs the new weights when they change.
    /// Without dynamic quorum every node and the witness keep their vote.
    pub(super) fn reweigh(&mut self) {
        let before: Vec<bool> = self.c.members.iter().map(|m| m.vote).collect();
        let witness_before = self.c.witness_vote;
        if !self.dynamic() {
            for m in &mut self.c.members {
                m.vote = true;
            }
            self.c.witness_vote = self.has_witness();
            return;
        }
        let voters = self.reachable_members();
        for (h, m) in self.c.members.iter_mut().enumerate() {
            m.vote = voters.contains(&h);
        }
        let n = voters.len();
        self.c.witness_vote = self.has_witness()
            && (!self.w.scenario.spec.cluster.dynamic_witness || n.is_multiple_of(2));
        if !self.has_witness() && n > 0 && n.is_multiple_of(2) {
            let preferred = self
                .w
                .scenario
                .host(&self.w.scenario.spec.cluster.lower_quorum_priority_node)
                .map(|(i, _)| i)
                .filter(|i| voters.contains(i))
                .or(self.c.zeroed.filter(|z| voters.contains(z)));
            let z = preferred.unwrap_or_else(|| voters[self.c.quorum_rng.below(n as u64) as usize]);
            self.c.members[z].vote = false;
            self.c.zeroed = Some(z);
        }
        let after: Vec<bool> = self.c.members.iter().map(|m| m.vote).collect();
        if after != before || self.c.witness_vote != witness_before {
            self.log_weights();
        }
    }

    fn log_weights(&mut self) {
        let spec = &self.w.scenario.spec;
        let mut voting: Vec<&str> = (0..self.w.nodes.len())
            .filter(|&h| self.c.members[h].vote)
            .map(|h| spec.hosts[h].name.as_str())
            .collect();
        let zeroed: Vec<&str> = (0..self.w.nodes.len())
            .filter(|&h| self.c.members[h].member && !self.c.members[h].vote)
            .map(|h| spec.hosts[h].name.as_str())
            .collect();
        if self.c.witness_vote {
            voting.push("the witness");
        }
        let n = voting.len();
        let mut detail = format!(
            "dynamic quorum: {n} vote{} ({})",
            if n == 1 { "" } else { "s" },
            if voting.is_empty() {
                "none".to_string()
            } else {
                voting.join(", ")
            }
        );
        if self.has_witness() && !self.c.witness_vote {
            detail.push_str("; the witness does not vote");
        }
        if !zeroed.is_empty() {
            detail.push_str(&format!("; vote zeroed on {}", zeroed.join(", ")));
        }
        let cluster = spec.cluster.name.clone();
        self.fx.log(EventKind::NodeState, cluster, detail, None);
    }

    /// After a departure: quorum holds (votes re-weighted) or is lost. `lost` is the node that
    /// just left, handled with the others when quorum goes. Returns whether quorum held.
    pub(super) fn check_quorum(&mut self, lost: Option<usize>) -> bool {
        if self.c.down {
            return false;
        }
        if self.quorum_holds() {
            self.reweigh();
            return true;
        }
        self.lose_quorum(lost);
        false
    }

    /// Whether `Stop-ClusterNode` on `h` would lose quorum: with dynamic quorum a graceful stop
    /// moves the node's vote first, so only the last reachable member cannot stop.
    pub(super) fn stop_would_lose_quorum(&self, h: usize) -> Option<String> {
        if !self.c.members[h].member {
            return None;
        }
        let name = &self.w.scenario.spec.hosts[h].name;
        // Nodes already stopping count as gone.
        let staying: Vec<usize> = self
            .reachable_members()
            .into_iter()
            .filter(|&o| o != h && !self.c.members[o].stopping)
            .collect();
        if self.dynamic() {
            let others = staying.len();
            return (others == 0)
                .then(|| format!("stopping {name} would lose quorum (no other node is up)"));
        }
        let (_, total) = self.quorum_votes();
        let after = staying.iter().filter(|&&o| self.c.members[o].vote).count()
            + if staying.is_empty() {
                0
            } else {
                usize::from(self.c.witness_vote)
            };
        (after * 2 <= total)
            .then(|| format!("stopping {name} would lose quorum ({after} of {total} votes left)"))
    }

    /// No partition holds quorum (event 1177). At functional level 9 or later with VM Compute
    /// Resiliency on, every node that was a member is treated like a node that left membership:
    /// isolated for the resiliency period with its VMs (assumption from the facts doc §2), then its
    /// VMs are Off until quorum returns. Before 2016 (or with the feature off) the cluster
    /// service stops everywhere and every VM is Off at once.
    fn lose_quorum(&mut self, lost: Option<usize>) {
        let (held, total) = self.quorum_votes();
        self.c.down = true;
        let cluster = self.w.scenario.spec.cluster.name.clone();
        let c = &self.w.scenario.spec.cluster;
        let resilient = c.functional_level >= 9 && !c.resiliency_default_period.is_zero();
        let what = if resilient {
            "nodes without quorum keep their VMs for the resiliency period (assumption)"
        } else {
            "the cluster service stops on every node"
        };
        self.fx.log(
            EventKind::NodeState,
            cluster,
            format!("cluster lost quorum ({held} of {total} votes): {what}"),
            Some(1177),
        );
        let nodes: Vec<usize> = (0..self.w.nodes.len())
            .filter(|&h| {
                self.c.members[h].member || self.c.members[h].lost_pending || Some(h) == lost
            })
            .collect();
        for &h in &nodes {
            let m = &mut self.c.members[h];
            m.member = false;
            m.lost_pending = false;
            m.generation += 1;
        }
        let ids: Vec<usize> = self
            .lm
            .holding
            .iter()
            .chain(self.lm.queued.iter())
            .copied()
            .collect();
        if !ids.is_empty() {
            self.fx.migration(MigrationWork::Fail {
                ids,
                reason: "the cluster lost quorum".into(),
            });
        }
        self.fx
            .cluster(ClusterWork::QuorumLost { nodes, resilient });
    }

    /// The rest of losing quorum, after the migrations failed: `nodes` were members.
    pub(super) fn quorum_lost_rest(&mut self, nodes: Vec<usize>, resilient: bool) {
        if resilient {
            for h in nodes {
                self.w.nodes[h].state = NodeState::Down;
                self.isolate_or_fail_over(h);
            }
            return;
        }
        for h in 0..self.w.nodes.len() {
            self.c.members[h].isolated = false;
            if self.w.nodes[h].state != NodeState::Down {
                self.w.nodes[h].state = NodeState::Down;
                self.node_event(h, "Down (no quorum)", None);
            }
        }
        for v in 0..self.w.vms.len() {
            self.c.roles[v].generation += 1;
            self.c.roles[v].unmonitored = false;
            self.c.roles[v].moving = false;
            if self.w.vms[v].state != VmState::Off {
                self.outage_starts(v);
                self.set_vm_state(v, VmState::Off);
            }
            if self.c.roles[v].state != super::RoleState::Offline
                || self.w.scenario.spec.vms[v].state == InitialVmState::Running
            {
                self.c.roles[v].state = super::RoleState::Pending;
            }
        }
    }

    /// After quorum loss: the cluster forms again once the reachable nodes hold more than half
    /// of the votes as they were when it was lost.
    pub(super) fn try_regroup(&mut self) {
        let ready: Vec<usize> = (0..self.w.nodes.len())
            .filter(|&h| self.w.heartbeats_flow(h) && self.c.members[h].quarantined.is_none())
            .collect();
        let witness = usize::from(self.c.witness_vote);
        let total = self.c.members.iter().filter(|m| m.vote).count() + witness;
        let held = ready.iter().filter(|&&h| self.c.members[h].vote).count()
            + if ready.is_empty() { 0 } else { witness };
        if held * 2 <= total {
            return;
        }
        self.c.down = false;
        let cluster = self.w.scenario.spec.cluster.name.clone();
        self.fx.log(
            EventKind::NodeState,
            cluster,
            format!("cluster formed again with quorum ({held} of {total} votes)"),
            None,
        );
        let join = self.w.scenario.spec.cluster.join_time;
        for h in ready {
            self.c.members[h].generation += 1;
            self.w.nodes[h].state = NodeState::Joining;
            self.node_event(h, "Joining", None);
            self.node_timer(h, self.w.now + join, super::cluster::NodeTimer::Joined);
        }
        // Roles come back once nodes are Up: mark them Failed so they are placed then.
        for v in 0..self.w.vms.len() {
            if self.c.roles[v].state == super::RoleState::Pending
                && self.w.vms[v].state == VmState::Off
            {
                self.c.roles[v].state = super::RoleState::Failed;
            }
        }
    }
}
