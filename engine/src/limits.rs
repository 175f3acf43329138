//! The limits every input is checked against, in one place: scenario files, sessions, the
//! command line and the window all call these, so a value refused in one is refused in all.
//! They keep a run's memory and time bounded by the lab, whatever the input says.

use crate::time::SimDuration;

/// The longest run: a year of simulated time (and a day's margin).
pub const MAX_RUN_S: f64 = 366.0 * 86_400.0;
/// The finest sample step of reports and CSV: 10 ms (the model's rates change at events, so a
/// finer step adds rows, not information).
pub const MIN_SAMPLE_STEP_MS: u64 = 10;
/// Most sampled instants one run may ask for (`until / sample_step`): a year at one a second.
pub const MAX_SAMPLES: f64 = MAX_RUN_S;
/// Most hosts in a lab (a failover cluster has at most 64 nodes; labs may hold a few spares).
pub const MAX_HOSTS: usize = 256;
/// Most NICs on one host.
pub const MAX_NICS_PER_HOST: usize = 64;
/// Most VMs in a lab (a cluster runs at most 8,000; twice that leaves room for stopped ones).
pub const MAX_VMS: usize = 16_384;
/// Most switches and most storage targets.
pub const MAX_SWITCHES: usize = 256;
pub const MAX_STORAGE: usize = 256;
/// Most entries of a script, of a session's commands and of a comparison's configurations.
pub const MAX_SCRIPT: usize = 100_000;
pub const MAX_CONFIGURATIONS: usize = 10_000;
/// Longest lab name (it titles charts and reports) and longest description.
pub const MAX_LAB_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// A lab's name or description: at most `max` characters, and no control characters but line
/// breaks and tabs.
pub fn check_text(text: &str, max: usize) -> Result<(), String> {
    let n = text.chars().count();
    if n > max {
        return Err(format!("{n} characters; at most {max} are allowed"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("control characters are not allowed".into());
    }
    Ok(())
}

/// How far to run: more than zero and at most a year.
pub fn check_until(until: SimDuration) -> Result<(), String> {
    if until.as_secs_f64() > MAX_RUN_S {
        return Err(format!(
            "{until} is more than a year of simulated time; runs are limited to a year"
        ));
    }
    Ok(())
}

/// The sample step, on its own and against how long the run is.
pub fn check_sample_step(step: SimDuration, until: SimDuration) -> Result<(), String> {
    if step < SimDuration::from_millis(MIN_SAMPLE_STEP_MS) {
        return Err(format!(
            "{step} is finer than the finest sample step, {MIN_SAMPLE_STEP_MS} ms"
        ));
    }
    let samples = until.as_secs_f64() / step.as_secs_f64();
    if samples > MAX_SAMPLES {
        return Err(format!(
            "{until} at {step} is {samples:.0} samples; a run may sample at most {MAX_SAMPLES:.0} \
             times (choose a coarser sample_step or a shorter run)"
        ));
    }
    Ok(())
}

/// A count of things against its cap: `what` names them ("hosts", "NICs on this host").
pub fn check_count(what: &str, n: usize, max: usize) -> Result<(), String> {
    if n > max {
        return Err(format!("{n} {what}; at most {max} are allowed"));
    }
    Ok(())
}

/// The first `max` characters of `text`, with "…" when cut: what error messages quote of an
/// input, so a 10 MB line is never echoed back.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_refuse_what_is_past_them_and_take_what_is_within() {
        assert!(check_until(SimDuration::from_secs(366 * 86_400)).is_ok());
        assert!(check_until(SimDuration::from_secs(367 * 86_400)).is_err());
        let day = SimDuration::from_secs(86_400);
        assert!(check_sample_step(SimDuration::from_secs(1), day).is_ok());
        let e = check_sample_step(SimDuration::from_micros(1), day).unwrap_err();
        assert!(e.contains("10 ms"), "{e}");
        let e = check_sample_step(
            SimDuration::from_millis(10),
            SimDuration::from_secs(5 * 86_400),
        )
        .unwrap_err();
        assert!(e.contains("samples"), "{e}");
        assert!(check_count("hosts", 256, MAX_HOSTS).is_ok());
        assert!(check_count("hosts", 257, MAX_HOSTS).is_err());
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("abc", 3), "abc");
    }
}
