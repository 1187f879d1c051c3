//! The HTTP routes, the JSON body extractor that turns every malformed request into a 4xx JSON
//! error, bearer-token auth, request metrics, and the job runner.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use utoipa::OpenApi;
use zkonnx::{Progress, Proof};

use crate::api::{
    ApiError, ErrorBody, Health, Job, JobState, ModelEntry, ProveRequest, ProveResponse, VerifyRequest, VerifyResponse,
};
use crate::metrics::Gauges;
use crate::{ModelSlot, Shared};

/// A JSON body; malformed JSON, a body over the limit or one that cannot be read is a 4xx
/// [`ApiError`] that says which.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the request body is larger than the service accepts (--max-body-bytes)",
                )
            } else {
                ApiError::bad("bad_body", e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad("bad_json", format!("the body is not the JSON this endpoint takes: {e}")))
    }
}

fn slot(shared: &Shared, id: &str) -> Result<Arc<ModelSlot>, ApiError> {
    shared.models.get(id).cloned().ok_or_else(|| {
        let known: Vec<&str> = shared.models.keys().map(String::as_str).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_model",
            format!("no model `{id}` (this service has: {})", known.join(", ")),
        )
    })
}

/// Liveness: answers while the service runs.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
pub(crate) async fn healthz(State(shared): State<Arc<Shared>>) -> Json<Health> {
    Json(Health { status: "ok".into(), models: shared.models.len() })
}

/// The models this service proves.
#[utoipa::path(get, path = "/v1/models", responses((status = 200, body = [ModelEntry]), (status = 401, body = ErrorBody)))]
pub(crate) async fn models(State(shared): State<Arc<Shared>>) -> Json<Vec<ModelEntry>> {
    Json(shared.models.values().map(|s| s.entry.clone()).collect())
}

/// Proves one input and answers with the proof (waits for memory; see `/v1/models/{id}/jobs`
/// for long proofs).
#[utoipa::path(
    post, path = "/v1/models/{id}/prove", request_body = ProveRequest,
    params(("id" = String, Path, description = "the model's id")),
    responses(
        (status = 200, body = ProveResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)
    )
)]
pub(crate) async fn prove(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ProveRequest>,
) -> Result<Json<ProveResponse>, ApiError> {
    let slot = slot(&shared, &id)?;
    let limit = shared.config.request_timeout;
    let work = prove_admitted(shared.clone(), slot, req.input_data, None);
    match tokio::time::timeout(limit, work).await {
        Ok(r) => r.map(Json),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the proof did not finish within {} s; submit long proofs as jobs (POST /v1/models/{id}/jobs)",
                limit.as_secs()
            ),
        )),
    }
}

/// Reports a job's phase to its record.
struct JobProgress {
    shared: Arc<Shared>,
    id: String,
}

impl Progress for JobProgress {
    fn started(&self, phase: &str) {
        // a failed progress write loses only the phase label, never the job
        let _ = self.shared.store.progress(&self.id, phase);
    }
}

/// Waits for admission, then proves on a blocking thread.
async fn prove_admitted(
    shared: Arc<Shared>,
    slot: Arc<ModelSlot>,
    inputs: Vec<Vec<f32>>,
    job: Option<String>,
) -> Result<ProveResponse, ApiError> {
    let ticket = shared.admission.admit(slot.prover.estimated_peak_mb(), job.is_none()).await?;
    if let Some(id) = &job {
        shared.store.start(id).map_err(internal)?;
    }
    let metrics_shared = shared.clone();
    let done = tokio::task::spawn_blocking(move || {
        let _ticket = ticket;
        let start = Instant::now();
        let proof = match &job {
            Some(id) => slot.prover.prove_with(&inputs, &JobProgress { shared: shared.clone(), id: id.clone() }),
            None => slot.prover.prove(&inputs),
        };
        let secs = start.elapsed().as_secs_f64();
        proof.map(|p| (p, secs, slot))
    })
    .await
    .map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("the proving task failed: {e}"))
    })?;
    match done {
        Ok((proof, secs, slot)) => {
            metrics_shared.metrics.proved(secs);
            response(&slot.entry.id, &proof, secs)
        }
        Err(e) => {
            metrics_shared.metrics.proof_failed();
            Err(ApiError::from_zkonnx(&e))
        }
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

fn response(model: &str, proof: &Proof, secs: f64) -> Result<ProveResponse, ApiError> {
    let err = |e: zkonnx::Error| ApiError::from_zkonnx(&e);
    Ok(ProveResponse {
        model: model.to_string(),
        outputs: proof.outputs().to_vec(),
        public_values: proof.public_values().to_vec(),
        proof: proof.artifact().proof.clone(),
        calldata: format!("0x{}", hex::encode(proof.calldata().map_err(err)?)),
        proof_json: proof.to_json_value().map_err(err)?,
        prove_seconds: secs,
    })
}

/// Submits a proof as a job: answers at once with its id.
#[utoipa::path(
    post, path = "/v1/models/{id}/jobs", request_body = ProveRequest,
    params(("id" = String, Path, description = "the model's id")),
    responses((status = 202, body = Job), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
               (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub(crate) async fn submit_job(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ProveRequest>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let slot = slot(&shared, &id)?;
    // the input's shape is checked now, so a malformed job fails the request, not later
    zkonnx::quantize_inputs(slot.prover.graph(), &req.input_data)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_input", e.to_string()))?;
    shared.admission.check_fits(slot.prover.estimated_peak_mb())?;
    shared.admission.check_queue()?;
    let job_id = hex::encode(rand::random::<[u8; 16]>());
    let input = serde_json::to_string(&req).map_err(internal)?;
    shared.store.insert(&job_id, &id, &input).map_err(internal)?;
    spawn_job(shared.clone(), slot, job_id.clone(), req.input_data);
    let job = shared.store.get(&job_id).map_err(internal)?.ok_or_else(|| internal("the new job is missing"))?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Runs a stored job in the background; its record says how it ended.
pub(crate) fn spawn_job(shared: Arc<Shared>, slot: Arc<ModelSlot>, id: String, inputs: Vec<Vec<f32>>) {
    tokio::spawn(async move {
        let outcome = prove_admitted(shared.clone(), slot, inputs, Some(id.clone())).await;
        let recorded = match &outcome {
            Ok(r) => shared.store.finish(&id, Ok(r)),
            Err(e) => shared.store.finish(&id, Err(&e.body.message)),
        };
        if let Err(e) = recorded {
            shared.note(&format!("job {id}: could not record its end: {e}"));
        }
    });
}

/// A job's state, progress and result.
#[utoipa::path(
    get, path = "/v1/jobs/{id}", params(("id" = String, Path, description = "the job's id")),
    responses((status = 200, body = Job), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn job(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Result<Json<Job>, ApiError> {
    match shared.store.get(&id).map_err(internal)? {
        Some(job) => Ok(Json(job)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_job", format!("no job `{id}`"))),
    }
}

/// Checks a proof natively against a model's verifying key.
#[utoipa::path(
    post, path = "/v1/verify", request_body = VerifyRequest,
    responses((status = 200, body = VerifyResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
               (status = 404, body = ErrorBody), (status = 413, body = ErrorBody))
)]
pub(crate) async fn verify(
    State(shared): State<Arc<Shared>>,
    JsonBody(req): JsonBody<VerifyRequest>,
) -> Result<Json<VerifyResponse>, ApiError> {
    let slot = slot(&shared, &req.model)?;
    let proof = Proof::from_json(&req.proof.to_string())
        .map_err(|e| ApiError::bad("bad_proof", format!("field `proof`: {e}")))?;
    let verdict = tokio::task::spawn_blocking(move || slot.verifier.verify(&proof)).await.map_err(internal)?;
    Ok(Json(match verdict {
        Ok(()) => VerifyResponse { valid: true, reason: None },
        Err(e) => VerifyResponse { valid: false, reason: Some(e.to_string()) },
    }))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", body = String)))]
pub(crate) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let gauges = Gauges {
        queue_depth: shared.admission.waiting(),
        running: shared.admission.running(),
        pending_jobs: shared.store.pending().unwrap_or(0),
        memory_budget_mb: shared.admission.budget_mb(),
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], shared.metrics.render(&gauges)).into_response()
}

/// The OpenAPI document of this API.
#[derive(OpenApi)]
#[openapi(
    info(title = "zkonnx proving service", description = "Zero-knowledge proofs of ONNX model inference over HTTP"),
    paths(healthz, models, prove, submit_job, job, verify, metrics),
    components(schemas(ModelEntry, ProveRequest, ProveResponse, VerifyRequest, VerifyResponse, Job, JobState, Health, ErrorBody)),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /openapi.json`.
pub(crate) async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// 404 for every other path.
pub(crate) async fn not_found(req: Request) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no route {} {}", req.method(), req.uri().path()))
}

/// 405 for a known path with another method.
pub(crate) async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

/// Bearer-token auth for everything but `/healthz` and `/openapi.json`: the token's SHA-256 is
/// compared in constant time.
pub(crate) async fn auth(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let Some(want) = &shared.token_hash else { return next.run(req).await };
    if matches!(req.uri().path(), "/healthz" | "/openapi.json") {
        return next.run(req).await;
    }
    let given =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing `Authorization: Bearer <token>` header")
                .into_response()
        }
        Some(token) if bool::from(crate::token_hash(token.trim()).ct_eq(want)) => next.run(req).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "wrong bearer token").into_response(),
    }
}

/// Counts every answer by method, route and status.
pub(crate) async fn count(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    shared.metrics.request(&method, &route, response.status().as_u16());
    response
}
