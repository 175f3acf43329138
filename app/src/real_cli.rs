//! `lmlab real` and `lmlab agent`: the real transport from the command line.

use anyhow::{Context, Result, bail};
use clap::Args;
use lmlab_engine::SimDuration;
use lmlab_engine::scenario::{MemoryProfile, MemoryProfileName};
use lmlab_engine::time::parse_duration;
use lmlab_engine::units::{parse_byte_rate, parse_bytes};
use lmlab_real::predict::{self, ErrorVsModel, Prediction, error_vs_model};
use lmlab_real::{self as real, Codec, Fault, RealConfig, RealReport, Target};
use serde::Serialize;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct RealArgs {
    /// Take the VM's memory, dirty rate, working set, content and stop rule from this scenario
    /// (with --vm), and print the model's prediction beside the measurement.
    #[arg(long, value_name = "FILE", requires = "vm")]
    pub scenario: Option<PathBuf>,
    /// The scenario's VM to copy the settings of.
    #[arg(long, value_name = "NAME", requires = "scenario")]
    pub vm: Option<String>,
    /// The scenario's host the model migrates to (default: the first other host).
    #[arg(long, value_name = "HOST", requires = "scenario")]
    pub to_host: Option<String>,
    /// Guest memory to allocate and move, like 1GiB or 512MiB (default 1GiB, or the VM's,
    /// capped at 4GiB).
    #[arg(long, value_parser = parse_size_arg)]
    pub memory: Option<u64>,
    /// TCP channels (1 to 64).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub channels: u16,
    /// Per-batch compression: none, lz4 or zstd.
    #[arg(long, default_value = "none", value_parser = parse_codec)]
    pub compress: Codec,
    /// Rate at which the guest writes memory, like 200MiB/s (default 0, or the VM's).
    #[arg(long, value_parser = parse_rate_arg)]
    pub dirty: Option<f64>,
    /// Memory the guest writes to, like 256MiB (default: all of it, or the VM's).
    #[arg(long, value_parser = parse_size_arg)]
    pub working_set: Option<u64>,
    /// Memory content: mixed, idle, database, random or zeros (default mixed, or the VM's).
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<MemoryProfileName>,
    /// The pause the switch-over aims for, like 100ms (default: the scenario's or 100ms).
    #[arg(long, value_parser = parse_duration_arg)]
    pub target_pause: Option<SimDuration>,
    /// Pre-copy passes before the switch-over is forced (default 5, or the scenario's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_passes: Option<u32>,
    /// Destination agent HOST:PORT (default: loopback, an in-process destination); several
    /// addresses of the same agent, comma-separated, spread the channels over its NICs. Its
    /// secret is read from --secret-file or the LMLAB_SECRET environment variable.
    #[arg(long, value_name = "HOST:PORT[,...]")]
    pub to: Option<String>,
    /// File holding the agent's shared secret (a regular file of at most 4 KiB).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// Encrypt every connection of the migration (AES-256-GCM, keys from the handshake); the
    /// agent follows.
    #[arg(long)]
    pub encrypt: bool,
    /// Local addresses to bind channels to, round robin (comma-separated), to spread channels
    /// over several NICs.
    #[arg(long, value_delimiter = ',', value_name = "ADDR,...")]
    pub bind: Vec<IpAddr>,
    /// Socket send buffer (SO_SNDBUF), 4KiB to 1GiB, like 4MiB (default: the OS's autotuning).
    #[arg(long, value_parser = parse_buffer_arg)]
    pub send_buffer: Option<usize>,
    /// Socket receive buffer (SO_RCVBUF) on the source's sockets, 4KiB to 1GiB.
    #[arg(long, value_parser = parse_buffer_arg)]
    pub recv_buffer: Option<usize>,
    /// TCP_NODELAY on every channel.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    pub nodelay: bool,
    /// Drop channel K after it carried SIZE of memory, like 2@64MiB (fault injection).
    #[arg(long, value_parser = parse_fault, value_name = "K@SIZE")]
    pub drop_channel: Option<Fault>,
    /// Seed of the image content and the guest's writes.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use RDMA writes instead of TCP (needs a build with `--features rdma` and an RDMA device).
    #[arg(long)]
    pub rdma: bool,
    /// Write the JSON report to PATH, or to standard output with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<String>,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Address to listen on, like 0.0.0.0:7400 or [::]:7400.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// File holding the shared secret, a regular file of at most 4 KiB (default: the
    /// LMLAB_SECRET environment variable).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// Most memory one migration may take here: its image plus the agent's tables and buffers
    /// (12 bytes a page, 4 MiB a channel, 4 MiB for control).
    #[arg(long, default_value = "4GiB", value_parser = parse_size_arg)]
    pub max_memory: u64,
    /// Refuse migrations that are not encrypted (`lmlab real --encrypt`).
    #[arg(long)]
    pub require_encrypt: bool,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    parse_bytes(s).map(|b| b.0).map_err(|e| e.to_string())
}

/// A socket buffer size: 4 KiB to 1 GiB, what every OS's `int` option takes and honours.
fn parse_buffer_arg(s: &str) -> Result<usize, String> {
    let b = parse_size_arg(s)?;
    usize::try_from(b)
        .ok()
        .filter(|b| real::SOCKET_BUFFER_RANGE.contains(b))
        .ok_or_else(|| format!("{s} is outside 4KiB to 1GiB"))
}

fn parse_rate_arg(s: &str) -> Result<f64, String> {
    parse_byte_rate(s).map(|r| r.0).map_err(|e| e.to_string())
}

fn parse_duration_arg(s: &str) -> Result<SimDuration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn parse_codec(s: &str) -> Result<Codec, String> {
    Codec::parse(s).ok_or_else(|| format!("unknown compression {s:?}: use none, lz4 or zstd"))
}

fn parse_profile(s: &str) -> Result<MemoryProfileName, String> {
    Ok(match s {
        "mixed" => MemoryProfileName::Mixed,
        "idle" => MemoryProfileName::Idle,
        "database" => MemoryProfileName::Database,
        "random" => MemoryProfileName::Random,
        "zeros" => MemoryProfileName::Zeros,
        _ => {
            return Err(format!(
                "unknown profile {s:?}: use mixed, idle, database, random or zeros"
            ));
        }
    })
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    let (k, size) = s
        .split_once('@')
        .ok_or_else(|| format!("{s:?}: write CHANNEL@SIZE, like 1@64MiB"))?;
    Ok(Fault {
        channel: k
            .parse()
            .map_err(|_| format!("{k:?} is not a channel number"))?,
        after_bytes: parse_size_arg(size)?,
    })
}

/// Largest secret file read.
pub const MAX_SECRET_FILE: u64 = 4096;

/// The secret in `f`: a regular file (not a device, FIFO or folder, which could block or never
/// end) of at most [`MAX_SECRET_FILE`] bytes. Each error is one sentence naming the file.
fn read_secret_file(f: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let name = f.display();
    // Checked before opening: opening a FIFO would wait for a writer.
    let meta = std::fs::metadata(f)
        .map_err(|e| anyhow::anyhow!("{name}: cannot read the secret file: {e}"))?;
    if !meta.is_file() {
        bail!(
            "{name}: the secret file is not a regular file (a device, FIFO or folder); put the secret in a file"
        );
    }
    let mut file = std::fs::File::open(f)
        .map_err(|e| anyhow::anyhow!("{name}: cannot read the secret file: {e}"))?;
    let mut s = Vec::new();
    // Read at most one byte past the cap, whatever the file turned into since.
    file.by_ref()
        .take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut s)
        .map_err(|e| anyhow::anyhow!("{name}: cannot read the secret file: {e}"))?;
    if s.len() as u64 > MAX_SECRET_FILE {
        bail!(
            "{name}: the secret file is larger than {MAX_SECRET_FILE} bytes; a secret is a line of text"
        );
    }
    Ok(s)
}

/// The secret from a file (trailing newline removed) or LMLAB_SECRET.
pub fn read_secret(file: Option<&std::path::Path>) -> Result<Vec<u8>> {
    let secret = match file {
        Some(f) => {
            let mut s = read_secret_file(f)?;
            while s.last().is_some_and(|b| b.is_ascii_whitespace()) {
                s.pop();
            }
            s
        }
        None => match std::env::var_os("LMLAB_SECRET") {
            Some(v) => v.to_string_lossy().into_owned().into_bytes(),
            None => {
                bail!("a shared secret is required: pass --secret-file PATH or set LMLAB_SECRET")
            }
        },
    };
    if secret.len() < 8 {
        bail!(
            "the shared secret is {} bytes; use at least 8",
            secret.len()
        );
    }
    Ok(secret)
}

/// Builds the run's settings from the arguments (and the scenario's VM, if named).
pub fn config(args: &RealArgs) -> Result<(RealConfig, Option<Prediction>)> {
    const DEFAULT_CAP: u64 = 4 << 30;
    let (mut cfg, scenario) = match (&args.scenario, &args.vm) {
        (Some(file), Some(vm)) => {
            let sc = crate::output::load_scenario(file)?;
            let cap = args.memory.unwrap_or(DEFAULT_CAP);
            let cfg = predict::config_for_vm(&sc, vm, cap)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            (cfg, Some(sc))
        }
        _ => (RealConfig::default(), None),
    };
    if let Some(m) = args.memory {
        cfg.memory_bytes = m;
        if scenario.is_none() {
            cfg.working_set_bytes = m;
        }
    }
    if let Some(d) = args.dirty {
        cfg.dirty_rate_bytes_per_s = d;
    }
    if let Some(w) = args.working_set {
        if w > cfg.memory_bytes {
            bail!("--working-set is larger than --memory");
        }
        cfg.working_set_bytes = w;
    }
    if let Some(p) = args.profile {
        cfg.profile = MemoryProfile::Named(p);
    }
    if let Some(t) = args.target_pause {
        cfg.target_pause = t;
    }
    if let Some(p) = args.max_passes {
        cfg.max_passes = p;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    cfg.channels = args.channels;
    cfg.codec = args.compress;
    cfg.fault = args.drop_channel;
    cfg.rdma = args.rdma;
    cfg.socket.nodelay = args.nodelay;
    cfg.socket.bind = args.bind.clone();
    cfg.socket.send_buffer = args.send_buffer;
    cfg.socket.recv_buffer = args.recv_buffer;
    cfg.encrypt = args.encrypt;
    if let Some(f) = cfg.fault
        && f.channel >= cfg.channels
    {
        bail!(
            "--drop-channel {}: there are only {} channel(s), numbered from 0",
            f.channel,
            cfg.channels
        );
    }
    cfg.validate()?;
    let prediction = match (&scenario, &args.vm) {
        (Some(sc), Some(vm)) => Some(
            predict::predict(sc, vm, args.to_host.as_deref(), &cfg)
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
        _ => None,
    };
    Ok((cfg, prediction))
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    report: &'a RealReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a Prediction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_vs_model: Option<ErrorVsModel>,
}

pub fn real(args: &RealArgs) -> Result<()> {
    let (cfg, prediction) = config(args)?;
    let target = match &args.to {
        None => Target::Loopback,
        Some(addr) => Target::Agent {
            addr: addr.clone(),
            secret: read_secret(args.secret_file.as_deref())?,
        },
    };
    // Refused before anything is allocated, rather than failing (or being killed) half-way.
    cfg.check_memory(&target)?;
    let quiet = args.json.as_deref() == Some("-");
    let progress = move |step: real::Step<'_>| {
        if !quiet {
            eprintln!("{}", step.text);
        }
    };
    let destination = args.to.clone().unwrap_or_else(|| "loopback".into());
    // A run that fails before any page moved still writes its JSON (verified: false, error).
    let report = match real::run(&cfg, &target, &progress) {
        Ok(r) => r,
        Err(e) => RealReport::failed(&cfg, destination, e.to_string()),
    };
    let err = prediction.as_ref().map(|p| error_vs_model(&report, p));
    if let Some(path) = &args.json {
        let out = Output {
            report: &report,
            model: prediction.as_ref(),
            error_vs_model: err,
        };
        let text = serde_json::to_string_pretty(&out)? + "\n";
        if path == "-" {
            print!("{text}");
        } else {
            crate::output::write_file(std::path::Path::new(path), text.as_bytes())?;
        }
    }
    if !quiet {
        print_summary(&report, prediction.as_ref(), err);
    }
    if !report.verified {
        bail!(
            "migration failed: {} (the source still holds the authoritative copy)",
            report.error.as_deref().unwrap_or("not verified")
        );
    }
    Ok(())
}

fn print_summary(r: &RealReport, p: Option<&Prediction>, err: Option<ErrorVsModel>) {
    let gib = r.memory_bytes as f64 / (1u64 << 30) as f64;
    println!(
        "{}: {:.2} GiB over {} channel(s), compression {}, {}, to {}",
        if r.verified {
            "verified"
        } else {
            "NOT migrated"
        },
        gib,
        r.channels,
        r.compress.name(),
        if r.encrypted {
            "encrypted (AES-256-GCM)"
        } else {
            "not encrypted"
        },
        r.destination
    );
    println!(
        "  {:.2} Gbit/s guest memory ({:.2} Gbit/s on the wire, {:.2}x reduction) in {:.2} s",
        r.avg_gbps, r.wire_gbps, r.reduction_ratio, r.total_s
    );
    println!(
        "  passes {}, downtime {:.1} ms (target {:.0} ms), full check {:.0} ms, guest dirtied {} pages",
        r.passes, r.downtime_ms, r.target_pause_ms, r.verify_full_ms, r.pages_dirtied
    );
    println!(
        "  CPU source {:.1} % ({:.2} s, {:.2} s/GiB) of {} cores, destination {:.1} % ({:.2} s, {:.2} s/GiB) of {} cores{}",
        r.cpu_src_pct,
        r.cpu_src_s,
        r.cpu_src_s_per_gib,
        r.cores_src,
        r.cpu_dst_pct,
        r.cpu_dst_s,
        r.cpu_dst_s_per_gib,
        r.cores_dst,
        if r.cpu_per_side {
            ""
        } else {
            " (whole processes)"
        }
    );
    for l in &r.channels_lost {
        println!(
            "  channel {} lost at {:.2} s ({}); {} pages resent",
            l.channel, l.t_s, l.reason, l.pages_resent
        );
    }
    if let (Some(p), Some(e)) = (p, err) {
        println!(
            "  model ({} → {}, {}): {:.2} Gbit/s, {} passes, {:.1} ms pause, CPU {:.1} % / {:.1} %",
            p.from, p.to, p.path, p.avg_gbps, p.passes, p.downtime_ms, p.cpu_src_pct, p.cpu_dst_pct
        );
        println!(
            "  measured vs model: throughput {:+.1} %, CPU source {:+.1} points, destination {:+.1} points",
            e.gbps_pct, e.cpu_src_points, e.cpu_dst_points
        );
    }
}

pub fn agent(args: &AgentArgs) -> Result<()> {
    let secret = read_secret(args.secret_file.as_deref())?;
    let log: real::agent::Log = Arc::new(|line: String| eprintln!("lmlab agent: {line}"));
    let mut config = real::agent::AgentConfig::new(secret, args.max_memory);
    config.require_encryption = args.require_encrypt;
    let a = real::agent::spawn(&args.listen, config, log)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!(
        "lmlab agent: listening on {} (one migration at a time, at most {} MiB each{})",
        a.addr,
        args.max_memory >> 20,
        if args.require_encrypt {
            ", encrypted only"
        } else {
            ""
        }
    );
    a.wait();
    Ok(())
}
