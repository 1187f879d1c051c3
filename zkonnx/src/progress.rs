//! Progress reporting: the library prints nothing; it tells a [`Progress`] observer which phase
//! starts and ends, and passes on notes (an insecure SRS, a memory estimate, a GPU fallback).
//! The CLI draws its spinners from it, the service records job progress with it.

use std::time::Instant;

/// How much a note matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Level {
    /// Worth showing (an estimate, where artifacts went).
    Info,
    /// Worth acting on (the insecure development SRS, a fallback from the GPU to the CPU).
    Warning,
}

/// Observer of a long pipeline call. Every method has an empty default; implementations must be
/// cheap and must not panic. `Send + Sync` so a [`crate::Prover`] shared by threads can report.
pub trait Progress: Send + Sync {
    /// A phase (`settings`, `compile`, `setup`, `witness`, `prove`, `verify`, `srs`, ...) begins.
    fn started(&self, _phase: &str) {}
    /// The phase ended after `seconds` (successfully or not).
    fn finished(&self, _phase: &str, _seconds: f64) {}
    /// A message for the person running the pipeline.
    fn note(&self, _level: Level, _message: &str) {}
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Times one phase and reports its start and end to an observer (the end also when dropped
/// early by an error).
pub(crate) struct Phase<'a> {
    progress: &'a dyn Progress,
    name: &'a str,
    start: Instant,
    done: bool,
}

impl<'a> Phase<'a> {
    pub(crate) fn start(progress: &'a dyn Progress, name: &'a str) -> Self {
        progress.started(name);
        Self { progress, name, start: Instant::now(), done: false }
    }

    /// Ends the phase; returns its seconds.
    pub(crate) fn finish(mut self) -> f64 {
        self.done = true;
        let secs = self.start.elapsed().as_secs_f64();
        self.progress.finished(self.name, secs);
        secs
    }
}

impl Drop for Phase<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.progress.finished(self.name, self.start.elapsed().as_secs_f64());
        }
    }
}

/// Runs `f` as the phase `name`; returns its value and seconds.
pub(crate) fn timed<T>(progress: &dyn Progress, name: &str, f: impl FnOnce() -> T) -> (T, f64) {
    let phase = Phase::start(progress, name);
    let value = f();
    (value, phase.finish())
}
