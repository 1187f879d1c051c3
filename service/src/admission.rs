//! Admission control: a proof runs only when its estimated peak memory fits in what is left of
//! the service's memory budget (and fewer than the concurrency cap run); others wait in a
//! bounded queue, and past that the request is refused with 429 instead of risking an OOM kill.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::api::ApiError;

/// Memory (MiB units) and proof slots.
#[derive(Debug)]
pub(crate) struct Admission {
    memory: Arc<Semaphore>,
    slots: Arc<Semaphore>,
    budget_mb: u32,
    max_queue: usize,
    waiting: AtomicUsize,
    running: AtomicUsize,
}

/// Held while a proof runs: its memory and its slot.
#[derive(Debug)]
pub(crate) struct Ticket {
    _memory: OwnedSemaphorePermit,
    _slot: OwnedSemaphorePermit,
    admission: Arc<Admission>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Leaves the queue count when dropped (admitted, refused or cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    pub(crate) fn new(budget_mb: u32, max_concurrent: usize, max_queue: usize) -> Arc<Self> {
        Arc::new(Self {
            memory: Arc::new(Semaphore::new(budget_mb as usize)),
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            budget_mb,
            max_queue,
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
        })
    }

    pub(crate) fn budget_mb(&self) -> u32 {
        self.budget_mb
    }

    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    pub(crate) fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Refuses a proof of `need_mb` that can never be admitted.
    pub(crate) fn check_fits(&self, need_mb: f64) -> Result<(), ApiError> {
        if need_mb.ceil() <= f64::from(self.budget_mb) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "insufficient_memory",
            format!(
                "a proof of this model needs an estimated {need_mb:.0} MiB; the service's budget is {} MiB",
                self.budget_mb
            ),
        ))
    }

    fn queue_full(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "queue_full",
            format!("{} proofs are already waiting; retry later", self.max_queue),
        )
    }

    /// Refuses a new proof when the queue is full now (a job is checked before it is stored, so
    /// an accepted job is never refused later for a full queue).
    pub(crate) fn check_queue(&self) -> Result<(), ApiError> {
        if self.waiting() >= self.max_queue {
            return Err(self.queue_full());
        }
        Ok(())
    }

    /// Waits until a proof of `need_mb` may run; refuses at once when the proof can never fit,
    /// or, when `bounded` (a synchronous request), when the queue is full. A stored job is not
    /// bounded here: it was checked when submitted ([`Self::check_queue`]) and must not fail
    /// later for a burst of others.
    pub(crate) async fn admit(self: &Arc<Self>, need_mb: f64, bounded: bool) -> Result<Ticket, ApiError> {
        self.check_fits(need_mb)?;
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_queue && bounded {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(self.queue_full());
        }
        let waiting = Waiting(&self.waiting);
        let units = (need_mb.ceil() as u32).max(1);
        let closed = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the service is shutting down");
        let slot = self.slots.clone().acquire_owned().await.map_err(|_| closed())?;
        let memory = self.memory.clone().acquire_many_owned(units).await.map_err(|_| closed())?;
        drop(waiting);
        self.running.fetch_add(1, Ordering::SeqCst);
        Ok(Ticket { _memory: memory, _slot: slot, admission: self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn proofs_wait_for_memory_and_the_queue_is_bounded() {
        let a = Admission::new(100, 4, 1);
        assert!(a.admit(101.0, true).await.is_err(), "can never fit");
        let t1 = a.admit(60.0, true).await.unwrap();
        assert_eq!(a.running(), 1);
        // a second 60 MiB proof waits for the first
        let a2 = a.clone();
        let waiter = tokio::spawn(async move { a2.admit(60.0, true).await.map(|_| ()) });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(a.waiting(), 1);
        let full = a.admit(1.0, true).await.unwrap_err();
        assert_eq!(full.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(a.check_queue().is_err());
        // a stored job still queues behind them
        let a3 = a.clone();
        let job = tokio::spawn(async move { a3.admit(1.0, false).await.map(|_| ()) });
        drop(t1);
        job.await.unwrap().unwrap();
        waiter.await.unwrap().unwrap();
        assert_eq!((a.waiting(), a.running()), (0, 0));
    }
}
