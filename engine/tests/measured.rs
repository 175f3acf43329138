//! PerfMon CSV logs (PDH-CSV 4.0): the `your-cluster.md` §10 fixture of one live migration on the
//! 2-node lab parses into UTC-stamped counters; malformed logs are refused with the line and why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lmlab_engine::measured::{self, perfmon};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

fn text() -> String {
    std::fs::read_to_string(fixture("lm-hv1.csv")).unwrap()
}

#[test]
fn the_fixture_of_one_migration_parses_into_utc_stamped_counters() {
    let log = measured::load_perfmon(&fixture("lm-hv1.csv")).unwrap();
    assert_eq!(log.time_zone, "W. Europe Standard Time");
    assert_eq!(log.bias_min, -60);
    assert_eq!(log.columns.len(), 9);
    assert_eq!(log.t_utc_s.len(), 9);
    // 21:14:01 local, bias −60: 20:14:01 UTC on 2024-03-12.
    assert_eq!(log.t_utc_s[0], 1_710_274_441.0);
    let smb = log
        .find(
            "Hyper-V VM Live Migration",
            Some("app02"),
            "SMB Transport: Bytes Sent/sec",
        )
        .unwrap();
    assert_eq!(smb.path.host, "HV1");
    assert_eq!(
        smb.path.instance.as_deref(),
        Some("app02:VM Live Migration")
    );
    // Rate counters have no first sample (" "), and the instance is gone in the last row ("").
    assert_eq!(smb.values[0], None);
    assert_eq!(smb.values[8], None);
    // The rate sits just under the 2-node inventory's SMB limit for live migration.
    let limit = 367_001_600.0;
    for v in smb.values[1..7].iter().map(|v| v.unwrap()) {
        assert!(v < limit && v > 0.99 * limit, "{v}");
    }
    // The blackout sample is the second of event 20415 (2024-03-12T20:14:08.412Z).
    let blackout = log
        .find(
            "Hyper-V VM Live Migration",
            None,
            "Transfer Pass: Is blackout",
        )
        .unwrap();
    let k = blackout
        .values
        .iter()
        .position(|v| *v == Some(1.0))
        .unwrap();
    assert!((log.t_utc_s[k] - 1_710_274_448.412).abs() < 1.0);
    // An instance with parentheses and a `_2` (from `#2`) is kept whole.
    let nic = log.find("Network Adapter", None, "Bytes Sent/sec").unwrap();
    assert_eq!(
        nic.path.instance.as_deref(),
        Some("Mellanox ConnectX-3 Pro Ethernet Adapter _2")
    );
    assert!(
        log.find(
            "Processor Information",
            Some("0,_Total"),
            "% Processor Time"
        )
        .is_some()
    );
}

#[test]
fn utf16_and_typeperfs_closing_line_are_accepted() {
    let plain = perfmon::parse(&text(), "a.csv").unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text().encode_utf16().flat_map(u16::to_le_bytes));
    let decoded = lmlab_engine::inventory::decode(&utf16);
    assert_eq!(perfmon::parse(&decoded, "a.csv").unwrap(), plain);
    let with_tail = format!("{}\r\nExiting, please wait...\r\n\r\n", text().trim_end());
    assert_eq!(perfmon::parse(&with_tail, "a.csv").unwrap(), plain);
}

#[test]
fn malformed_logs_are_refused_with_the_line_and_the_reason() {
    let t = text();
    let second_row = t.lines().nth(2).unwrap().to_string();
    let cases = [
        (
            t.replacen("(PDH-CSV 4.0)", "(CSV)", 1),
            "lm.csv:1: not a PerfMon CSV",
        ),
        (
            t.replacen("366789632.000000", "366789632,000000", 1),
            "lm.csv:3: column 5: \"366789632,000000\" has a decimal comma",
        ),
        (
            t.replacen(&second_row, "\"03/12/2024 21:14:02.000\",\"1.000000\"", 1),
            "lm.csv:3: 2 cells where the header has 10",
        ),
        (
            t.replacen("03/12/2024 21:14:02.000", "2024-03-12 21:14:02", 1),
            "lm.csv:3: \"2024-03-12 21:14:02\" is not a time",
        ),
        (
            t.replacen(
                "\\\\HV1\\SMB Direct Connection(_Total)\\Bytes RDMA Written/sec",
                "Bytes",
                1,
            ),
            "lm.csv:1: column 6: \"Bytes\" is not a counter path",
        ),
        (String::new(), "lm.csv:1: empty"),
    ];
    for (text, want) in cases {
        let e = perfmon::parse(&text, "lm.csv").unwrap_err().to_string();
        assert!(e.starts_with(want), "want {want:?}, got {e}");
    }
}

#[test]
fn a_100_mb_log_is_refused_before_it_is_read() {
    let dir = std::env::temp_dir().join(format!("lmlab-measured-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.csv");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    let e = measured::load_perfmon(&big).unwrap_err().to_string();
    assert!(e.contains("measurement files are limited to"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
