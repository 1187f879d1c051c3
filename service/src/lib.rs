//! `zkonnx-service`: the HTTP/JSON proving service behind `zkonnx serve`.
//!
//! Place in the crate map: above the `zkonnx` library (built without its ONNX feature: the
//! service proves from compiled artifacts), below only `cli`. Each artifact folder (what
//! `zkonnx run` writes) becomes a model whose compiled circuit, proving key and SRS are loaded
//! once and kept in memory; requests prove without reloading anything.
//!
//! - `GET /v1/models`, `POST /v1/models/{id}/prove`, `POST /v1/verify`, `GET /healthz`,
//!   `GET /metrics` (Prometheus), `GET /openapi.json`;
//! - jobs: `POST /v1/models/{id}/jobs` answers at once, `GET /v1/jobs/{id}` reports; records
//!   and results live in SQLite under the data folder, so a restart loses no finished proof; a
//!   job that was running when the process died is reported failed, queued ones run again;
//! - admission: a proof runs when its estimated peak memory fits the budget (else it waits in a
//!   bounded queue, else 429); request bodies are bounded (413); synchronous proofs time out
//!   (503); bearer-token auth (SHA-256 compared in constant time) guards everything but
//!   `/healthz` and `/openapi.json`, and a non-loopback address is refused without a token;
//! - every bad request is a 4xx JSON `{"error": code, "message": ...}` naming the problem;
//! - SIGTERM / SIGINT: stop accepting, mark running jobs failed, exit.

mod admission;
pub mod api;
mod metrics;
mod routes;
mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use sha2::{Digest, Sha256};
use zkonnx::{Artifacts, Level, Progress, Prover, SrsSource, Verifier};

use crate::admission::Admission;
use crate::api::ModelEntry;
use crate::metrics::Metrics;
pub use crate::store::StoreError;
use crate::store::{QueuedJob, Store};

/// How the service runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Artifact folders to serve, each as `(id, folder)`.
    pub models: Vec<(String, PathBuf)>,
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Folder of the job database.
    pub data_dir: PathBuf,
    /// The bearer token; required for a non-loopback address.
    pub token: Option<String>,
    /// Where the SRS comes from.
    pub srs: SrsSource,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// How long a synchronous prove request may take.
    pub request_timeout: Duration,
    /// Memory handed out to proofs, MiB (default: what the machine has available at start, less
    /// what the loaded models occupy).
    pub memory_budget_mb: Option<u32>,
    /// Proofs running at once at most.
    pub max_concurrent: usize,
    /// Proofs waiting for admission at most (then 429).
    pub max_queue: usize,
}

impl Config {
    /// Defaults: loopback port 8080, 16 MiB bodies, 300 s timeout, 2 concurrent proofs, a queue
    /// of 256.
    pub fn new(models: Vec<(String, PathBuf)>, data_dir: PathBuf, srs: SrsSource) -> Self {
        Self {
            models,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir,
            token: None,
            srs,
            max_body_bytes: 16 << 20,
            request_timeout: Duration::from_secs(300),
            memory_budget_mb: None,
            max_concurrent: 2,
            max_queue: 256,
        }
    }
}

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error("{field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error("model `{id}` ({dir}): {source}")]
    Model { id: String, dir: String, source: Box<zkonnx::Error> },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
}

/// A model held in memory.
pub(crate) struct ModelSlot {
    pub(crate) entry: ModelEntry,
    pub(crate) prover: Prover,
    pub(crate) verifier: Verifier,
}

/// What every request shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) models: BTreeMap<String, Arc<ModelSlot>>,
    pub(crate) store: Store,
    pub(crate) admission: Arc<Admission>,
    pub(crate) metrics: Metrics,
    pub(crate) token_hash: Option<[u8; 32]>,
    pub(crate) progress: Box<dyn Progress>,
}

impl Shared {
    pub(crate) fn note(&self, message: &str) {
        self.progress.note(Level::Warning, message);
    }
}

pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn visibility(v: zkonnx::Visibility) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn load_model(
    id: &str,
    dir: &std::path::Path,
    srs: &SrsSource,
    progress: &dyn Progress,
) -> Result<ModelSlot, ServiceError> {
    let err =
        |e: zkonnx::Error| ServiceError::Model { id: id.into(), dir: dir.display().to_string(), source: Box::new(e) };
    let artifacts = Artifacts::new(dir);
    let prover = Prover::from_artifacts(&artifacts, srs, progress).map_err(err)?;
    // the key and settings the proofs are checked against, read from the folder as a third
    // party would; the SRS points come from the prover (loaded once)
    let settings = artifacts.read_settings().map_err(err)?;
    let vk = artifacts.read_vk(&settings).map_err(err)?;
    let verifier = Verifier::new(settings, vk, prover.srs()).map_err(err)?;
    let s = prover.settings();
    let entry = ModelEntry {
        id: id.to_string(),
        model_hash: s.model.model_hash.clone(),
        input_shapes: s.model.input_shapes.clone(),
        output_shapes: s.model.output_shapes.clone(),
        output_scales: s.model.output_scales.clone(),
        logrows: s.run_args.logrows,
        input_visibility: visibility(s.run_args.input_visibility),
        output_visibility: visibility(s.run_args.output_visibility),
        param_visibility: visibility(s.run_args.param_visibility),
        estimated_prove_mb: prover.estimated_peak_mb(),
        insecure_dev_srs: prover.insecure_dev_srs(),
    };
    Ok(ModelSlot { entry, prover, verifier })
}

/// A service ready to serve: models loaded, the job database open and recovered, the listener
/// bound.
pub struct Service {
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    recovered: Vec<QueuedJob>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("addr", &self.local_addr().ok()).finish_non_exhaustive()
    }
}

impl Service {
    /// Checks the config, loads every model, opens the job database (failing jobs that were
    /// running when the last process died) and binds the address.
    pub async fn bind(config: Config, progress: Box<dyn Progress>) -> Result<Self, ServiceError> {
        if config.token.is_none() && !config.listen.ip().is_loopback() {
            return Err(ServiceError::Config {
                field: "listen",
                reason: format!(
                    "{} is not a loopback address: set a bearer token (--token-file or ZKONNX_SERVICE_TOKEN) to listen on it",
                    config.listen
                ),
            });
        }
        if config.token.as_deref().is_some_and(|t| t.trim().len() < 16) {
            return Err(ServiceError::Config {
                field: "token",
                reason: "a bearer token must have at least 16 characters".into(),
            });
        }
        if config.models.is_empty() {
            return Err(ServiceError::Config { field: "model", reason: "give at least one artifact folder".into() });
        }
        let mut models = BTreeMap::new();
        for (id, dir) in &config.models {
            if models.contains_key(id) {
                return Err(ServiceError::Config { field: "model", reason: format!("two models are named `{id}`") });
            }
            let slot = load_model(id, dir, &config.srs, progress.as_ref())?;
            models.insert(id.clone(), Arc::new(slot));
        }
        let budget = config
            .memory_budget_mb
            .unwrap_or_else(|| zkonnx::memory::available_mb().map_or(4096, |mb| mb.max(1.0) as u32));
        let store = Store::open(&config.data_dir)?;
        let (failed, recovered) = store.recover()?;
        if failed > 0 {
            progress.note(
                Level::Warning,
                &format!("{failed} job(s) were running when the service last stopped: marked failed"),
            );
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|error| ServiceError::Io { what: format!("listening on {}", config.listen), error })?;
        let shared = Arc::new(Shared {
            admission: Admission::new(budget, config.max_concurrent, config.max_queue),
            token_hash: config.token.as_deref().map(|t| token_hash(t.trim())),
            config,
            models,
            store,
            metrics: Metrics::default(),
            progress,
        });
        Ok(Self { shared, listener, recovered })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, ServiceError> {
        self.listener.local_addr().map_err(|error| ServiceError::Io { what: "the bound address".into(), error })
    }

    /// Serves until `shutdown` completes (e.g. [`shutdown_signal`]); then marks running jobs
    /// failed and returns.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServiceError> {
        let Service { shared, listener, recovered } = self;
        for job in recovered {
            let parsed: Result<api::ProveRequest, _> = serde_json::from_str(&job.input);
            match (shared.models.get(&job.model).cloned(), parsed) {
                (Some(slot), Ok(req)) => routes::spawn_job(shared.clone(), slot, job.id, req.input_data),
                _ => shared
                    .store
                    .finish(&job.id, Err("its model is no longer served, or its stored input does not parse"))?,
            }
        }
        let app = router(shared.clone());
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
        let marked = shared.store.fail_running("the service shut down while this job was running; submit it again")?;
        if marked > 0 {
            shared.note(&format!("shutdown: {marked} running job(s) marked failed"));
        }
        served.map_err(|error| ServiceError::Io { what: "serving".into(), error })
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/metrics", get(routes::metrics))
        .route("/openapi.json", get(routes::openapi))
        .route("/v1/models", get(routes::models))
        .route("/v1/models/{id}/prove", post(routes::prove))
        .route("/v1/models/{id}/jobs", post(routes::submit_job))
        .route("/v1/jobs/{id}", get(routes::job))
        .route("/v1/verify", post(routes::verify))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), routes::auth))
        .route_layer(axum::middleware::from_fn_with_state(shared.clone(), routes::count))
        .layer(DefaultBodyLimit::max(shared.config.max_body_bytes))
        .with_state(shared)
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
