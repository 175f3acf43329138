//! Real runs for the window: the request built from the Real run view's settings and the lab (the
//! model's prediction is computed with it: it is fast), and its execution on a worker job.

use super::state::{LabState, RealRun, Selection};
use lmlab_real::predict::{self, PredictError, Prediction};
use lmlab_real::{RealConfig, Step, Target};

/// What the Run button asks for.
#[derive(Clone, Debug)]
pub struct RealRequest {
    pub config: RealConfig,
    pub target: Target,
    pub prediction: Result<Prediction, PredictError>,
}

/// The VM the run copies: the one chosen in the view, else the selected VM, else the first.
pub fn chosen_vm(lab: &LabState) -> Option<String> {
    let vms = &lab.spec().vms;
    if let Some(v) = &lab.results.real.vm
        && vms.iter().any(|x| &x.name == v)
    {
        return Some(v.clone());
    }
    if let Selection::Vm(v) = lab.selection() {
        return Some(v.clone());
    }
    vms.first().map(|v| v.name.clone())
}

/// Builds the request from the view's settings and the lab.
pub fn request(lab: &LabState) -> Result<RealRequest, String> {
    let p = &lab.results.real;
    let vm = chosen_vm(lab).ok_or("the lab has no VM")?;
    let mut config =
        predict::config_for_vm(lab.sim().scenario(), &vm, u64::from(p.memory_mib) << 20)
            .map_err(|e| e.to_string())?;
    config.channels = p.channels;
    config.codec = p.codec;
    config.encrypt = p.use_agent && p.encrypt;
    config.validate().map_err(|e| e.to_string())?;
    let target = if p.use_agent {
        if p.secret.len() < 8 {
            return Err("the agent's shared secret has at least 8 characters".into());
        }
        Target::Agent {
            addr: p.agent_addr.trim().to_string(),
            secret: p.secret.as_bytes().to_vec(),
        }
    } else {
        Target::Loopback
    };
    let prediction = predict::predict(lab.sim().scenario(), &vm, p.to_host.as_deref(), &config);
    Ok(RealRequest {
        config,
        target,
        prediction,
    })
}

/// Runs the request on the caller's thread (the dispatcher puts it on a worker job); `progress`
/// gets the transport's steps.
pub fn execute(req: RealRequest, progress: &(dyn Fn(Step<'_>) + Sync)) -> Result<RealRun, String> {
    let report = lmlab_real::run(&req.config, &req.target, progress).map_err(|e| e.to_string())?;
    let (prediction, prediction_error) = match req.prediction {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(RealRun {
        report,
        prediction,
        prediction_error,
    })
}
