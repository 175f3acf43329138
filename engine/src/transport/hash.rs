//! Hash functions that decide where a flow goes: the Toeplitz hash RSS uses to pick a receive
//! queue, and the XOR fold many switches (and our model of LBFO address hashing) use to pick a
//! team member. Both are pure functions of the flow's addresses and ports, so placement is
//! deterministic for given ports; the ports themselves come from the seeded RNG.

/// The 40-byte key of Microsoft's RSS verification suite (the documented example key).
pub const RSS_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// A TCP/IPv4 flow's addresses, as the receiver sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub src_ip: [u8; 4],
    pub dst_ip: [u8; 4],
    pub src_port: u16,
    pub dst_port: u16,
}

/// Toeplitz hash over src ip, dst ip, src port, dst port (the RSS "TCP/IPv4" hash type).
pub fn toeplitz(key: &[u8; 40], flow: &FlowKey) -> u32 {
    let mut input = [0u8; 12];
    input[..4].copy_from_slice(&flow.src_ip);
    input[4..8].copy_from_slice(&flow.dst_ip);
    input[8..10].copy_from_slice(&flow.src_port.to_be_bytes());
    input[10..12].copy_from_slice(&flow.dst_port.to_be_bytes());
    let mut result = 0u32;
    // The 32-bit window of the key, shifted left one bit per input bit.
    let mut window = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
    let mut next_key_bit = 32;
    for byte in input {
        for bit in (0..8).rev() {
            if byte & (1 << bit) != 0 {
                result ^= window;
            }
            let kb = key[next_key_bit / 8] >> (7 - (next_key_bit % 8)) & 1;
            window = (window << 1) | u32::from(kb);
            next_key_bit += 1;
        }
    }
    result
}

/// The RSS indirection step: hash → one of `queues` queues through a 128-entry table filled
/// round-robin (the Windows default layout).
pub fn rss_queue(hash: u32, queues: u32) -> u32 {
    let entry = hash & 0x7f;
    entry % queues.max(1)
}

/// XOR fold of the L3 and L4 fields, then modulo the member count: the common "src-dst-ip-l4port"
/// LAG hash. Consecutive source ports alternate between two members.
pub fn xor_fold_member(flow: &FlowKey, members: usize, use_ports: bool, use_ips: bool) -> usize {
    if members <= 1 {
        return 0;
    }
    let mut h: u32 = 0;
    if use_ips {
        for i in 0..4 {
            h ^= u32::from(flow.src_ip[i] ^ flow.dst_ip[i]);
        }
    }
    if use_ports {
        let p = flow.src_port ^ flow.dst_port;
        h ^= u32::from(p & 0xff) ^ u32::from(p >> 8);
    }
    (h as usize) % members
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toeplitz_matches_microsofts_verification_vector() {
        // From "Verifying the RSS Hash Calculation": 66.9.149.187:2794 -> 161.142.100.80:1766
        // gives 0x51ccc178 for TCP/IPv4.
        let flow = FlowKey {
            src_ip: [66, 9, 149, 187],
            dst_ip: [161, 142, 100, 80],
            src_port: 2794,
            dst_port: 1766,
        };
        assert_eq!(toeplitz(&RSS_KEY, &flow), 0x51cc_c178);
    }

    #[test]
    fn consecutive_ports_alternate_between_two_members() {
        let f = |p| FlowKey {
            src_ip: [10, 0, 0, 1],
            dst_ip: [10, 0, 0, 2],
            src_port: p,
            dst_port: 6600,
        };
        let a = xor_fold_member(&f(50_000), 2, true, true);
        let b = xor_fold_member(&f(50_001), 2, true, true);
        assert_ne!(a, b);
        assert_eq!(xor_fold_member(&f(50_000), 1, true, true), 0);
    }
}
