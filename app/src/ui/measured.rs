//! The window's measurements: files added to the lab's set (read once, kept parsed), names
//! mapped to the lab's, and calibration against the runs on a worker. The dispatcher calls
//! these; the Calibrate view (`ui/calibrate.rs`) shows the result.

use super::jobs::Job;
use super::state::{LabState, MeasuredSet, Work};
use lmlab_engine::calibrate::{Observation, calibrate};
use lmlab_engine::measured::{self, NameKind};
use std::path::PathBuf;

impl LabState {
    /// Reads the files and adds them to the lab's measurements; a file that cannot be read
    /// adds nothing and says why on the status line.
    pub(super) fn add_measurements(&mut self, paths: &[PathBuf]) {
        let mut read = Vec::new();
        for p in paths {
            match measured::load(p) {
                Ok(f) => read.push((p.clone(), f)),
                Err(e) => {
                    self.screen.status = Some(e.to_string());
                    return;
                }
            }
        }
        self.add_measured(read);
    }

    /// The Real run view's last run as a measurement (its JSON as `lmlab real --json` writes it).
    pub(super) fn add_last_real_run(&mut self) {
        let Some(run) = self.results.real_last.as_ref() else {
            return;
        };
        let mut json = match serde_json::to_value(&run.report) {
            Ok(v) => v,
            Err(e) => {
                self.screen.status = Some(format!("the real run cannot be read back: {e}"));
                return;
            }
        };
        if let (Some(p), Some(o)) = (&run.prediction, json.as_object_mut()) {
            o.insert(
                "model".into(),
                serde_json::json!({ "vm": p.vm, "from": p.from, "to": p.to }),
            );
        }
        let n = self.results.measured.as_ref().map_or(0, |m| {
            m.files.iter().filter(|f| f.starts_with("real run")).count()
        });
        let name = format!("real run {}", n + 1);
        match measured::parse(&json.to_string(), &name) {
            Ok(f) => self.add_measured(vec![(PathBuf::from(name), f)]),
            Err(e) => self.screen.status = Some(e.to_string()),
        }
    }

    fn add_measured(&mut self, read: Vec<(PathBuf, measured::MeasuredFile)>) {
        let set = self.results.measured.get_or_insert_with(|| MeasuredSet {
            files: Vec::new(),
            parsed: Vec::new(),
            names: Default::default(),
            data: Default::default(),
            calibration: None,
        });
        if set.files.len() + read.len() > measured::MAX_MEASURED_FILES {
            self.screen.status = Some(format!(
                "at most {} measurement files at once",
                measured::MAX_MEASURED_FILES
            ));
            return;
        }
        for (p, f) in read {
            if !set.files.contains(&p) {
                set.parsed.push((p.display().to_string(), f));
                set.files.push(p);
            }
        }
        let spec = self.doc.sim.scenario().spec.clone();
        set.remap(&spec);
        // The status line is for what needs attention: names to map, or no run at all.
        self.screen.status = if set.data.runs.is_empty() {
            Some("the measurement files hold no live migration of a VM of this lab".into())
        } else if !set.data.unmapped.is_empty() {
            Some(format!(
                "{} measured name(s) to map in the Calibrate view",
                set.data.unmapped.len()
            ))
        } else {
            None
        };
        self.screen.view = super::state::View::Calibrate;
    }

    /// Maps a measured name to one of the lab's and rebuilds the runs.
    pub(super) fn map_measured_name(&mut self, kind: NameKind, name: String, to: String) {
        let spec = self.doc.sim.scenario().spec.clone();
        let Some(m) = &mut self.results.measured else {
            return;
        };
        let table = match kind {
            NameKind::Host => &mut m.names.hosts,
            NameKind::Nic => &mut m.names.nics,
            NameKind::Vm => &mut m.names.vms,
        };
        table.insert(name, to);
        m.remap(&spec);
    }

    /// The calibration of the loaded runs, made in the foreground (the screenshot command and
    /// tests); the worker job does the same.
    pub fn calibrate_now(&mut self) -> Result<(), String> {
        let runs = self.measured_runs().to_vec();
        let (prepared, _) = measured::overlay::prepare(self.sim().scenario(), &runs);
        let obs: Vec<Observation> = runs
            .iter()
            .map(|r| Observation::of_run(&prepared, r))
            .collect::<Result<_, _>>()?;
        let c = calibrate(&obs, &prepared.spec.transport).map_err(|e| e.to_string())?;
        if let Some(m) = &mut self.results.measured {
            m.calibration = Some(c);
        }
        Ok(())
    }

    /// Fits the transport's costs to the runs on a worker.
    pub(super) fn run_calibrate(&mut self) {
        self.start(|lab| {
            let runs = lab.measured_runs().to_vec();
            if runs.is_empty() {
                return Err(
                    "no measured runs to calibrate against: File → Load measurements…".into(),
                );
            }
            let (prepared, _) = measured::overlay::prepare(lab.sim().scenario(), &runs);
            let base = prepared.spec.transport.clone();
            Ok(Work::Calibrate(Job::spawn(
                "Calibrating the transport's costs",
                move |_| {
                    let obs: Vec<Observation> = runs
                        .iter()
                        .map(|r| Observation::of_run(&prepared, r))
                        .collect::<Result<_, _>>()?;
                    calibrate(&obs, &base).map_err(|e| e.to_string())
                },
            )))
        });
    }
}
