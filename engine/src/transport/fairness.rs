//! The resources flows share (link directions, processors, host CPU totals) and the max-min
//! fair solver over them. Nothing here knows about NICs or protocols: a flow is a list of
//! (resource, units of it per payload byte).

/// A shared resource, by host index and NIC, interface or processor index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Res {
    Tx(usize, usize),
    Rx(usize, usize),
    /// Outbound of a Dynamic-mode team: flowlets spread it over every member.
    TeamTx(usize, usize),
    Lp(usize, usize),
    /// All processors of a host together (work that any processor may pick up).
    Host(usize),
    /// All processors of one socket of a host (work queued per NUMA node).
    Socket(usize, usize),
    /// The memory-copy workers of one group of migrations (per-VM ceiling times its VMs).
    Copy(usize),
    /// A host's SMB bandwidth limit for live migration (bytes of SMB payload per second).
    SmbLimit(usize),
}

/// A small, fast, deterministic hasher for resource keys (FxHash's multiply-rotate).
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    fn write_isize(&mut self, v: isize) {
        self.write_u64(v as u64);
    }
}

/// The resources in use, numbered in the order they were first named, with their capacities.
#[derive(Default)]
pub(super) struct Resources {
    keys: Vec<Res>,
    index: std::collections::HashMap<Res, usize, std::hash::BuildHasherDefault<FxHasher>>,
    caps: Vec<f64>,
}

impl Resources {
    /// The number of `r`, added with capacity `cap` if it is new (an existing one keeps its own).
    pub(super) fn res(&mut self, r: Res, cap: f64) -> usize {
        if let Some(&i) = self.index.get(&r) {
            return i;
        }
        let i = self.keys.len();
        self.keys.push(r);
        self.caps.push(cap);
        self.index.insert(r, i);
        i
    }
    /// The number of `r`, if it has been added.
    pub(super) fn get(&self, r: Res) -> Option<usize> {
        self.index.get(&r).copied()
    }
    /// The number of `r`, which must have been added.
    pub(super) fn id(&self, r: Res) -> usize {
        self.index[&r]
    }
    /// Every resource, by number.
    pub(super) fn keys(&self) -> &[Res] {
        &self.keys
    }
    /// Every resource's capacity, by number.
    pub(super) fn caps(&self) -> &[f64] {
        &self.caps
    }
}

/// Progressive filling: raise every unfrozen flow's rate together until a resource saturates,
/// freeze the flows that use it, repeat. The result is max-min fair.
///
/// `flows[f]` lists flow `f`'s (resource, units per unit of rate); a flow with none is frozen
/// at 0 from the start.
pub(super) fn max_min(caps: &[f64], flows: &[&[(usize, f64)]]) -> Vec<f64> {
    let mut rate = vec![0.0; flows.len()];
    let mut used = vec![0.0; caps.len()];
    let mut frozen: Vec<bool> = flows.iter().map(|coefs| coefs.is_empty()).collect();
    let mut load = vec![0.0; caps.len()];
    for _round in 0..=caps.len() {
        load.iter_mut().for_each(|l| *l = 0.0);
        let mut any = false;
        for (f, coefs) in flows.iter().enumerate() {
            if frozen[f] {
                continue;
            }
            any = true;
            for &(r, c) in coefs.iter() {
                load[r] += c;
            }
        }
        if !any {
            break;
        }
        let mut delta = f64::INFINITY;
        for r in 0..caps.len() {
            if load[r] > 0.0 {
                delta = delta.min(((caps[r] - used[r]).max(0.0)) / load[r]);
            }
        }
        if !delta.is_finite() {
            break;
        }
        for (f, rate) in rate.iter_mut().enumerate() {
            if !frozen[f] {
                *rate += delta;
            }
        }
        let mut saturated = vec![false; caps.len()];
        for r in 0..caps.len() {
            used[r] += delta * load[r];
            if load[r] > 0.0 && used[r] >= caps[r] * (1.0 - 1e-9) {
                saturated[r] = true;
            }
        }
        for (f, coefs) in flows.iter().enumerate() {
            if !frozen[f] && coefs.iter().any(|&(r, _)| saturated[r]) {
                frozen[f] = true;
            }
        }
    }
    rate
}

/// Distributes `amount` cycles over processors, filling the least busy first, up to `cap` each.
pub(super) fn water_fill(lps: &mut [f64], mut amount: f64, cap: f64) {
    let mut guard = 0;
    while amount > 1e-6 && guard < 64 {
        guard += 1;
        let open: Vec<usize> = (0..lps.len()).filter(|&i| lps[i] < cap - 1e-9).collect();
        if open.is_empty() {
            return;
        }
        let share = amount / open.len() as f64;
        for i in open {
            let add = share.min(cap - lps[i]);
            lps[i] += add;
            amount -= add;
        }
    }
}
