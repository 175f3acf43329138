//! `lmlab calibrate`: cost parameters recovered from synthetic measurements made with known
//! parameters; the seed's nine rows fitted without leaving today's defaults or a row's tolerance;
//! parameters the measurements do not constrain reported and left where they were.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::BANDS;
use lmlab_engine::Scenario;
use lmlab_engine::calibrate::{Measure, Observation, Status, Target, calibrate, calibrated_toml};
use lmlab_engine::transport::TransportParams;
use std::path::Path;

fn seed_text() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/scenarios/seed-lab.toml"),
    )
    .unwrap()
}

fn seed() -> Scenario {
    Scenario::from_toml(&seed_text(), "seed-lab.toml").unwrap()
}

/// `sc`'s configurations as observations of throughput and both hosts' CPU, measured on a lab
/// whose costs are `truth`.
fn synthetic_on(sc: &Scenario, truth: &TransportParams) -> Vec<Observation> {
    let mut obs = Observation::of_references(sc);
    for o in &mut obs {
        let (from, to) = (o.workload[0].from, o.workload[0].to);
        o.targets = [Measure::Throughput, Measure::Cpu(from), Measure::Cpu(to)]
            .into_iter()
            .map(|measure| Target {
                name: format!("{measure:?}"),
                measure,
                value: 0.0,
                sigma: 1.0,
            })
            .collect();
        let values = o.model(truth);
        for (t, v) in o.targets.iter_mut().zip(values) {
            t.value = v;
            t.sigma = match t.measure {
                Measure::Throughput => (0.03 * v).max(0.05),
                _ => (0.1 * v).max(0.5),
            };
        }
    }
    obs
}

fn synthetic(truth: &TransportParams) -> Vec<Observation> {
    synthetic_on(&seed(), truth)
}

#[test]
fn costs_used_to_make_synthetic_measurements_are_recovered_within_tolerance() {
    let base = TransportParams::default();
    let mut truth = base.clone();
    truth.tcp_rx_cpb *= 1.3;
    truth.smb_server_cpb *= 1.25;
    truth.lm_worker_rx_cpb *= 0.9;
    truth.lm_memcopy_cpb *= 1.4;
    let obs = synthetic(&truth);
    let c = calibrate(&obs, &base).unwrap();
    let value = |p: &TransportParams, name: &str| -> f64 {
        let v = toml::Value::try_from(p).unwrap();
        v.get(name).and_then(toml::Value::as_float).unwrap()
    };
    let mut fitted = Vec::new();
    for p in &c.params {
        let want = value(&truth, &p.name);
        match &p.status {
            Status::Fitted { sigma } => {
                fitted.push(p.name.clone());
                // The measurements are exact: the truth comes back to its rounding.
                let tol = (0.01 * want).max(1e-3);
                assert!(
                    (p.after - want).abs() <= tol,
                    "{}: fitted {} for {want} (± {sigma})",
                    p.name,
                    p.after
                );
            }
            Status::AtBound { .. } => panic!("{} ran to a bound: {:?}", p.name, c.params),
            _ => assert_eq!(p.after, p.before, "{} was held but moved", p.name),
        }
    }
    for name in [
        "tcp_rx_cpb",
        "smb_server_cpb",
        "lm_worker_rx_cpb",
        "lm_memcopy_cpb",
    ] {
        assert!(
            fitted.contains(&name.to_string()),
            "{name} not fitted: {fitted:?}"
        );
    }
    // The measurements made with the truth are met again.
    assert!(
        c.chi2_after < 0.05 * c.chi2_before.max(1.0),
        "{} → {}",
        c.chi2_before,
        c.chi2_after
    );
}

#[test]
fn fitting_the_seeds_nine_rows_stays_close_to_the_defaults_and_keeps_every_row_in_tolerance() {
    let sc = seed();
    let obs = Observation::of_references(&sc);
    assert_eq!(obs.len(), 9);
    let c = calibrate(&obs, &sc.spec.transport).unwrap();
    assert!(c.chi2_after <= c.chi2_before + 1e-9);
    for p in &c.params {
        if let Status::Fitted { sigma } = p.status {
            assert!(
                (p.after - p.before).abs() <= 2.0 * sigma,
                "{} moved from {} to {} (± {sigma}): further than the rows say",
                p.name,
                p.before,
                p.after
            );
        }
    }
    // The rows, with the calibrated costs, against docs/reference-results.md's tolerances.
    let mut spec = sc.spec.clone();
    spec.transport = c.transport.clone();
    let cal = Scenario {
        spec,
        script: sc.script.clone(),
    };
    let report = lmlab_engine::compare::compare(&cal, cal.spec.seed);
    for (id, lo, hi, cpu) in BANDS {
        let r = report.rows.iter().find(|r| r.id == id).unwrap();
        assert!((lo..=hi).contains(&r.throughput_gbps), "{id}: {r:?}");
        if let Some((a, b)) = cpu {
            let c = r.cpu_src_pct.max(r.cpu_dst_pct);
            assert!((a..=b).contains(&c), "{id}: cpu {c}");
        }
    }
}

#[test]
fn parameters_the_measurements_do_not_constrain_are_reported_and_not_moved() {
    let base = TransportParams::default();
    let mut truth = base.clone();
    truth.rdma_cpb *= 2.0;
    // Only the SMB Direct row, throughput and both CPUs.
    let obs: Vec<Observation> = synthetic(&truth)
        .into_iter()
        .filter(|o| o.label.starts_with("row9"))
        .collect();
    assert_eq!(obs.len(), 1);
    let c = calibrate(&obs, &base).unwrap();
    let status = |n: &str| c.params.iter().find(|p| p.name == n).unwrap();
    // No Compression, TCP/IP or LBFO run: nothing says what those cost.
    for n in [
        "compress_cpb",
        "decompress_cpb",
        "tcp_rx_cpb",
        "lm_worker_rx_cpb",
        "lbfo_cpb",
    ] {
        let p = status(n);
        assert!(
            matches!(p.status, Status::NotConstrained { .. }),
            "{n}: {:?}",
            p.status
        );
        assert_eq!(p.after, p.before);
    }
    // RDMA's per-byte cost and the memory copy both only scale the CPU of an SMB Direct run:
    // one is fitted, the other cannot be told apart and is named with what would separate it.
    let (rdma, copy) = (status("rdma_cpb"), status("lm_memcopy_cpb"));
    let held = [rdma, copy]
        .into_iter()
        .filter(|p| matches!(p.status, Status::NotSeparable { .. }))
        .count();
    assert_eq!(held, 1, "{:?} / {:?}", rdma.status, copy.status);
    // Throughput alone, at line rate, constrains nothing at all.
    let mut only_rate = obs.clone();
    only_rate[0]
        .targets
        .retain(|t| t.measure == Measure::Throughput);
    let e = calibrate(&only_rate, &base).unwrap_err().to_string();
    assert!(e.contains("no cost parameter is constrained"), "{e}");
}

#[test]
fn the_calibrated_file_is_the_same_lab_with_the_fitted_transport_table_and_says_so() {
    let sc = seed();
    let c = calibrate(&Observation::of_references(&sc), &sc.spec.transport).unwrap();
    let text = calibrated_toml(
        &seed_text(),
        "seed-lab.toml",
        &c,
        &["the seed's rows".into()],
    )
    .unwrap();
    let back = Scenario::from_toml(&text, "cal.toml").unwrap();
    assert_eq!(back.spec.transport, c.transport);
    assert_eq!(back.spec.hosts, sc.spec.hosts);
    assert_eq!(back.spec.configurations, sc.spec.configurations);
    assert!(text.contains("# Calibrated by `lmlab calibrate`"));
    assert!(text.contains("#   the seed's rows"));
    assert_eq!(text.matches("[transport]").count(), 1);
}

/// A lab unlike the seed's: one socket of 16 cores at 3.2 GHz per host, two 25 GbE RoCE NICs, no
/// team; one VM over TCP/IP, Compression, SMB over TCP and SMB Direct. `{hosts}` becomes the two
/// (identical) hosts.
const OTHER_LAB: &str = r#"
format_version = 1
name = "one socket, 2 x 25 GbE"
seed = 3
[migration]
performance_option = "SMB"
smb_direct = true
max_simultaneous = 2
[[switches]]
name = "sw"
dcb_pfc = true
[[storage]]
name = "s"
kind = "SMB3"
{hosts}[[vms]]
name = "vm1"
host = "a"
memory = "64GiB"
storage = "s"
[[configurations]]
id = "tcp"
vms = 1
performance_option = "TCPIP"
reference = { throughput_gbps = 1.0 }
[[configurations]]
id = "compression"
vms = 1
performance_option = "Compression"
reference = { throughput_gbps = 1.0 }
[[configurations]]
id = "smb"
vms = 1
performance_option = "SMB"
smb_direct = false
reference = { throughput_gbps = 1.0 }
[[configurations]]
id = "smb-direct"
vms = 1
performance_option = "SMB"
smb_direct = true
reference = { throughput_gbps = 1.0 }
"#;

#[test]
fn on_a_one_socket_25_gbe_lab_compression_and_tcp_costs_are_recovered_too() {
    let host = |name: &str| {
        format!(
            "[[hosts]]\nname = \"{name}\"\nsockets = 1\ncores_per_socket = 16\nsmt = false\n\
             clock_ghz = 3.2\nmemory = \"512GiB\"\n"
        ) + &["p1", "p2"]
            .map(|n| {
                format!(
                    "  [[hosts.nics]]\n  name = \"{n}\"\n  speed = \"25Gbps\"\n  rdma = \"RoCE\"\n  \
                     switch = \"sw\"\n  mtu = 9000\n"
                )
            })
            .concat()
    };
    let text = OTHER_LAB.replace("{hosts}", &(host("a") + &host("b")));
    let sc = Scenario::from_toml(&text, "other.toml").unwrap();
    let base = TransportParams::default();
    let mut truth = base.clone();
    truth.compress_cpb *= 1.5;
    truth.decompress_cpb *= 0.7;
    truth.lm_worker_rx_cpb *= 1.2;
    truth.rdma_cpb *= 2.0;
    let obs = synthetic_on(&sc, &truth);
    assert_eq!(obs.len(), 4);
    let c = calibrate(&obs, &base).unwrap();
    let p = |n: &str| c.params.iter().find(|p| p.name == n).unwrap().clone();
    // One core per VM: TCP/IP's and Compression's single workers set their rates.
    for (n, want) in [
        ("compress_cpb", truth.compress_cpb),
        ("lm_worker_rx_cpb", truth.lm_worker_rx_cpb),
    ] {
        let q = p(n);
        assert!(
            matches!(q.status, Status::Fitted { .. }),
            "{n}: {:?}",
            q.status
        );
        assert!(
            (q.after - want).abs() <= 0.01 * want,
            "{n}: {} for {want}",
            q.after
        );
    }
    // No LBFO team and one socket: those costs are not constrained, and stay.
    for n in ["lbfo_cpb", "remote_access_penalty_ns"] {
        let q = p(n);
        assert!(
            matches!(q.status, Status::NotConstrained { .. }),
            "{n}: {:?}",
            q.status
        );
        assert_eq!(q.after, q.before);
    }
    assert!(
        c.chi2_after < 0.05 * c.chi2_before,
        "{} → {}",
        c.chi2_before,
        c.chi2_after
    );
}
