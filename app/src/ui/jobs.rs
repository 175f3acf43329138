//! Work that takes more than a moment runs on a worker thread while the window keeps drawing
//! frames: [`Job<T>`] runs a closure that reports progress and checks for Cancel through a
//! [`Progress`], and hands back its `T` when it finishes. It knows nothing of labs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The worker's side of a job: how far it is, a line of text for the bar, whether to stop.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
    note: Arc<Mutex<String>>,
}

impl Progress {
    /// `done` of `total` steps; returns false once Cancel was pressed (the work should stop).
    pub fn set(&self, done: usize, total: usize) -> bool {
        self.total.store(total.max(1), Ordering::Relaxed);
        self.done.store(done.min(total.max(1)), Ordering::Relaxed);
        !self.cancelled()
    }

    /// The line shown beside the bar (what the work is doing now).
    pub fn note(&self, text: &str) {
        if let Ok(mut n) = self.note.lock() {
            text.clone_into(&mut n);
        }
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// A callback for engine functions that report `(done, total)` and stop when it returns false.
    pub fn callback(&self) -> impl FnMut(usize, usize) -> bool + '_ {
        move |d, t| self.set(d, t)
    }
}

/// Why a job gave no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("could not start a worker thread: {0}")]
    NoThread(String),
    #[error("the job stopped unexpectedly (a bug: please report it)")]
    Panicked,
}

/// Work running on a worker thread.
#[derive(Debug)]
pub struct Job<T> {
    what: String,
    progress: Progress,
    handle: Result<JoinHandle<T>, JobError>,
    /// The result once taken, so `try_finish` hands it out once.
    finished: bool,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a worker thread; `what` names it beside the progress bar.
    pub fn spawn(
        what: impl Into<String>,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> Job<T> {
        let progress = Progress::default();
        let p = progress.clone();
        let handle = std::thread::Builder::new()
            .name("lmlab-job".into())
            .spawn(move || work(&p))
            .map_err(|e| JobError::NoThread(e.to_string()));
        Job {
            what: what.into(),
            progress,
            handle,
            finished: false,
        }
    }
}

/// What a progress bar shows of any job, whatever it hands back.
pub trait Running {
    fn what(&self) -> &str;
    /// 0-1.
    fn fraction(&self) -> f32;
    /// The line the work last reported.
    fn note(&self) -> String;
    /// Asks the work to stop at its next check.
    fn cancel(&self);
}

impl<T> Running for Job<T> {
    fn what(&self) -> &str {
        Job::what(self)
    }
    fn fraction(&self) -> f32 {
        Job::fraction(self)
    }
    fn note(&self) -> String {
        Job::note(self)
    }
    fn cancel(&self) {
        Job::cancel(self);
    }
}

impl<T> Job<T> {
    pub fn what(&self) -> &str {
        &self.what
    }

    /// 0-1.
    pub fn fraction(&self) -> f32 {
        let t = self.progress.total.load(Ordering::Relaxed).max(1);
        (self.progress.done.load(Ordering::Relaxed) as f32 / t as f32).clamp(0.0, 1.0)
    }

    /// The line the work last reported.
    pub fn note(&self) -> String {
        self.progress
            .note
            .lock()
            .map(|n| n.clone())
            .unwrap_or_default()
    }

    /// Asks the work to stop at its next check.
    pub fn cancel(&self) {
        self.progress.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancel_requested(&self) -> bool {
        self.progress.cancelled()
    }

    /// The result once the worker has finished (once); `None` while it runs.
    pub fn try_finish(&mut self) -> Option<Result<T, JobError>> {
        if self.finished {
            return None;
        }
        let ready = match &self.handle {
            Ok(h) => h.is_finished(),
            Err(_) => true,
        };
        if !ready {
            return None;
        }
        self.finished = true;
        let handle = std::mem::replace(&mut self.handle, Err(JobError::Panicked));
        Some(match handle {
            Ok(h) => h.join().map_err(|_| JobError::Panicked),
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reports_progress_stops_when_cancelled_and_hands_back_its_result_once() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let mut job = Job::spawn("counting", move |p: &Progress| {
            let mut n = 0;
            while p.set(n, 1000) {
                n += 1;
                if n == 10 {
                    let _ = tx.send(());
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            n
        });
        assert!(rx.recv().is_ok());
        assert!(job.fraction() > 0.0);
        assert!(job.try_finish().is_none(), "still running");
        job.cancel();
        let n = loop {
            if let Some(r) = job.try_finish() {
                break r;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert!(matches!(n, Ok(k) if (10..1000).contains(&k)), "{n:?}");
        assert!(job.try_finish().is_none(), "handed out once");
    }

    #[test]
    fn a_panicking_job_is_an_error_not_a_crash() {
        let mut job = Job::spawn("failing", |_: &Progress| -> u32 {
            #[allow(clippy::panic)]
            {
                panic!("boom")
            }
        });
        let r = loop {
            if let Some(r) = job.try_finish() {
                break r;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!(r, Err(JobError::Panicked));
    }
}
