//! Work that takes more than a moment (comparisons, exports) runs on a worker thread while the
//! window stays responsive: a progress bar shows how far it is, and Cancel stops it between steps.

use lmlab_engine::compare::CompareReport;
use lmlab_engine::session::SessionFile;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

/// What a finished job hands back.
#[derive(Debug)]
pub enum Outcome {
    Compare(CompareReport),
    Real(Box<super::real::RealRun>),
    Exported(PathBuf, usize),
    Failed(String),
    Cancelled,
}

#[derive(Debug)]
pub struct Job {
    pub what: String,
    pub done: Arc<AtomicUsize>,
    pub total: Arc<AtomicUsize>,
    pub cancel: Arc<AtomicBool>,
    /// The latest line the work reported (real runs: the pass it is in), shown by the bar.
    pub note: Arc<std::sync::Mutex<String>>,
    handle: Option<JoinHandle<Outcome>>,
}

impl Job {
    fn spawn(
        what: String,
        work: impl FnOnce(&Arc<AtomicUsize>, &Arc<AtomicUsize>, &Arc<AtomicBool>) -> Outcome
        + Send
        + 'static,
    ) -> Job {
        Job::spawn_with_note(what, move |d, t, c, _note| work(d, t, c))
    }

    /// Like `spawn`, with a line of text the work can update for the progress bar.
    fn spawn_with_note(
        what: String,
        work: impl FnOnce(
            &Arc<AtomicUsize>,
            &Arc<AtomicUsize>,
            &Arc<AtomicBool>,
            &Arc<std::sync::Mutex<String>>,
        ) -> Outcome
        + Send
        + 'static,
    ) -> Job {
        let done = Arc::new(AtomicUsize::new(0));
        let total = Arc::new(AtomicUsize::new(1));
        let cancel = Arc::new(AtomicBool::new(false));
        let note = Arc::new(std::sync::Mutex::new(String::new()));
        let (d, t, c, n) = (done.clone(), total.clone(), cancel.clone(), note.clone());
        let handle = std::thread::Builder::new()
            .name("lmlab-job".into())
            .spawn(move || work(&d, &t, &c, &n))
            .ok();
        Job {
            what,
            done,
            total,
            cancel,
            note,
            handle,
        }
    }

    /// Runs every configuration of the lab through the transport model.
    pub fn compare(scenario: lmlab_engine::Scenario, seed: u64) -> Job {
        Job::spawn(
            "Comparing configurations".into(),
            move |done, total, cancel| {
                let mut progress = |d: usize, t: usize| {
                    done.store(d, Ordering::Relaxed);
                    total.store(t.max(1), Ordering::Relaxed);
                    !cancel.load(Ordering::Relaxed)
                };
                match lmlab_engine::compare::compare_with_progress(&scenario, seed, &mut progress) {
                    Some(r) => Outcome::Compare(r),
                    None => Outcome::Cancelled,
                }
            },
        )
    }

    /// Writes every chart and data file of the session into `dir`.
    pub fn export(session: SessionFile, dir: PathBuf) -> Job {
        Job::spawn(
            format!("Exporting into {}", dir.display()),
            move |done, total, cancel| {
                total.store(2, Ordering::Relaxed);
                let sim = match session.open("the current session") {
                    Ok(s) => s,
                    Err(e) => return Outcome::Failed(e.to_string()),
                };
                done.store(1, Ordering::Relaxed);
                if cancel.load(Ordering::Relaxed) {
                    return Outcome::Cancelled;
                }
                match crate::cli::export_all(&sim, &dir, (1600, 900)) {
                    Ok(files) => {
                        done.store(2, Ordering::Relaxed);
                        Outcome::Exported(dir, files.len())
                    }
                    Err(e) => Outcome::Failed(format!("{e:#}")),
                }
            },
        )
    }

    /// Moves a real memory image (see `super::real`); it cannot be cancelled half-way, because a
    /// half-done migration is simply abandoned by both ends — so Cancel only hides the result.
    pub fn real(req: super::real::RealRequest) -> Job {
        let what = format!(
            "Real run: {} MiB over {} channel(s)",
            req.config.memory_bytes >> 20,
            req.config.channels
        );
        let passes = req.config.max_passes as usize + 1;
        // The bar counts passes against the pass limit: a run that converges early jumps to done.
        Job::spawn_with_note(what, move |done, total, cancel, note| {
            total.store(passes, Ordering::Relaxed);
            // Progress by pass, with the transport's line beside the bar.
            let progress = |step: lmlab_engine::real::Step<'_>| {
                done.store((step.pass as usize).min(passes), Ordering::Relaxed);
                if let Ok(mut s) = note.lock() {
                    *s = step.text.to_string();
                }
            };
            let r = super::real::execute(req, &progress);
            if cancel.load(Ordering::Relaxed) {
                return Outcome::Cancelled;
            }
            match r {
                Ok(run) => Outcome::Real(Box::new(run)),
                Err(e) => Outcome::Failed(format!("real run: {e}")),
            }
        })
    }

    pub fn fraction(&self) -> f32 {
        let t = self.total.load(Ordering::Relaxed).max(1);
        (self.done.load(Ordering::Relaxed) as f32 / t as f32).clamp(0.0, 1.0)
    }

    /// The outcome once the worker has finished.
    pub fn try_finish(&mut self) -> Option<Outcome> {
        if self.handle.as_ref().is_some_and(|h| h.is_finished()) {
            let h = self.handle.take()?;
            return Some(
                h.join()
                    .unwrap_or_else(|_| Outcome::Failed("the job stopped unexpectedly".into())),
            );
        }
        if self.handle.is_none() {
            return Some(Outcome::Failed("could not start a worker thread".into()));
        }
        None
    }
}
