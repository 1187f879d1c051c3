//! Job records in an embedded SQLite database (`jobs.sqlite` in the data folder). Every change
//! is one statement or one transaction, so a crash leaves each job either before or after a
//! step, never half-written; a result is stored in the same statement that marks the job done.

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use crate::api::{Job, JobState, ProveResponse};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("job database {path}: {reason}")]
    Open { path: String, reason: String },
    // the SQLite error is in the message and not also a `source`: a chain printed whole (`{:#}`)
    // would otherwise say it twice
    #[error("job database: {0}")]
    Sql(rusqlite::Error),
    #[error("job database: a record does not parse: {0}")]
    Corrupt(String),
    #[error("job database: the lock is poisoned")]
    Poisoned,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

/// A job waiting to run, as stored.
#[derive(Debug)]
pub(crate) struct QueuedJob {
    pub(crate) id: String,
    pub(crate) model: String,
    /// The request body (a `ProveRequest` as JSON).
    pub(crate) input: String,
}

/// The job table.
#[derive(Debug)]
pub(crate) struct Store {
    conn: Mutex<Connection>,
}

pub(crate) fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("jobs.sqlite");
        let open_err =
            |e: &dyn std::fmt::Display| StoreError::Open { path: path.display().to_string(), reason: e.to_string() };
        std::fs::create_dir_all(dir).map_err(|e| open_err(&e))?;
        let conn = Connection::open(&path).map_err(|e| open_err(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS jobs (
                 id TEXT PRIMARY KEY,
                 model TEXT NOT NULL,
                 state TEXT NOT NULL,
                 progress TEXT NOT NULL,
                 input TEXT NOT NULL,
                 result TEXT,
                 error TEXT,
                 created_at REAL NOT NULL,
                 started_at REAL,
                 finished_at REAL
             );",
        )
        .map_err(|e| open_err(&e))?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut conn)
    }

    /// At start: jobs that were running when the last process died are failed (their proof is
    /// lost); returns how many, and the queued jobs, which run again.
    pub(crate) fn recover(&self) -> Result<(usize, Vec<QueuedJob>), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let failed = tx.execute(
                "UPDATE jobs SET state = 'failed', progress = 'done', finished_at = ?1,
                     error = 'the service stopped while this job was running; submit it again'
                 WHERE state = 'running'",
                params![now()],
            )?;
            let queued = {
                let mut st =
                    tx.prepare("SELECT id, model, input FROM jobs WHERE state = 'queued' ORDER BY created_at")?;
                let rows = st.query_map([], |r| Ok(QueuedJob { id: r.get(0)?, model: r.get(1)?, input: r.get(2)? }))?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            tx.commit()?;
            Ok((failed, queued))
        })
    }

    /// A new queued job.
    pub(crate) fn insert(&self, id: &str, model: &str, input: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO jobs (id, model, state, progress, input, created_at) VALUES (?1, ?2, 'queued', 'queued', ?3, ?4)",
                params![id, model, input, now()],
            )?;
            Ok(())
        })
    }

    /// queued -> running.
    pub(crate) fn start(&self, id: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = 'running', progress = 'witness', started_at = ?2 WHERE id = ?1 AND state = 'queued'",
                params![id, now()],
            )?;
            Ok(())
        })
    }

    /// The phase of a running job.
    pub(crate) fn progress(&self, id: &str, phase: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute("UPDATE jobs SET progress = ?2 WHERE id = ?1 AND state = 'running'", params![id, phase])?;
            Ok(())
        })
    }

    /// running -> succeeded with its result, or failed with its error (only a job still running:
    /// one the shutdown already marked stays failed).
    pub(crate) fn finish(&self, id: &str, outcome: Result<&ProveResponse, &str>) -> Result<(), StoreError> {
        let (state, result, error) = match outcome {
            Ok(r) => {
                let json = serde_json::to_string(r).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                (JobState::Succeeded, Some(json), None)
            }
            Err(e) => (JobState::Failed, None, Some(e.to_string())),
        };
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = ?2, progress = 'done', result = ?3, error = ?4, finished_at = ?5
                 WHERE id = ?1 AND state IN ('queued', 'running')",
                params![id, state.as_str(), result, error, now()],
            )?;
            Ok(())
        })
    }

    /// At shutdown: running jobs are failed (queued ones run at the next start).
    pub(crate) fn fail_running(&self, why: &str) -> Result<usize, StoreError> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE jobs SET state = 'failed', progress = 'done', error = ?1, finished_at = ?2 WHERE state = 'running'",
                params![why, now()],
            )?)
        })
    }

    /// One job.
    pub(crate) fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        self.with(|c| {
            let row = c
                .query_row(
                    "SELECT id, model, state, progress, result, error, created_at, started_at, finished_at
                     FROM jobs WHERE id = ?1",
                    params![id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, Option<String>>(5)?,
                            r.get::<_, f64>(6)?,
                            r.get::<_, Option<f64>>(7)?,
                            r.get::<_, Option<f64>>(8)?,
                        ))
                    },
                )
                .optional()?;
            let Some((id, model, state, progress, result, error, created_at, started_at, finished_at)) = row else {
                return Ok(None);
            };
            let state =
                JobState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("job {id}: state `{state}`")))?;
            let result = match result {
                Some(text) => {
                    Some(serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("job {id}: {e}")))?)
                }
                None => None,
            };
            Ok(Some(Job { id, model, state, progress, created_at, started_at, finished_at, result, error }))
        })
    }

    /// Jobs waiting or running.
    pub(crate) fn pending(&self) -> Result<usize, StoreError> {
        self.with(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')", [], |r| {
                r.get::<_, i64>(0)
            })? as usize)
        })
    }
}
