//! The wire types (their JSON schemas make `/openapi.json`) and the JSON error every failure
//! answers with.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One model the service proves.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct ModelEntry {
    /// The id in the URLs (the artifact folder's name).
    pub id: String,
    /// SHA-256 of the compiled model (hex).
    pub model_hash: String,
    /// The shape of each input.
    pub input_shapes: Vec<Vec<usize>>,
    /// The shape of each output.
    pub output_shapes: Vec<Vec<usize>>,
    /// Fractional bits of each output.
    pub output_scales: Vec<u32>,
    /// log2 of the circuit's rows.
    pub logrows: u32,
    /// `private` or `public`.
    pub input_visibility: String,
    /// `public` or `private`.
    pub output_visibility: String,
    /// `fixed` or `private`.
    pub param_visibility: String,
    /// Predicted peak memory of one proof, MiB.
    pub estimated_prove_mb: f64,
    /// Whether the SRS is the insecure development one.
    pub insecure_dev_srs: bool,
}

/// An input in EZKL's format: one flat row-major list of floats per model input.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct ProveRequest {
    pub input_data: Vec<Vec<f32>>,
}

/// A proof and what it proves.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct ProveResponse {
    /// The model's id.
    pub model: String,
    /// The public outputs, dequantized (empty when outputs are private).
    pub outputs: Vec<Vec<f64>>,
    /// The public values, each `0x` + 32 bytes big-endian hex.
    pub public_values: Vec<String>,
    /// `0x` + the proof bytes.
    pub proof: String,
    /// `0x` + EVM calldata for the verifier: public values, then the proof.
    pub calldata: String,
    /// The `proof.json` artifact (what `zkonnx verify` and `POST /v1/verify` take).
    #[schema(value_type = Object)]
    pub proof_json: serde_json::Value,
    /// Seconds spent proving (witness and proof).
    pub prove_seconds: f64,
}

/// A proof to check.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct VerifyRequest {
    /// The model's id.
    pub model: String,
    /// The `proof.json` artifact (`proof_json` of a prove response).
    #[schema(value_type = Object)]
    pub proof: serde_json::Value,
}

/// The verdict.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct VerifyResponse {
    /// Whether the proof verifies for its public values.
    pub valid: bool,
    /// Why not, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A job's state.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for memory to prove in.
    Queued,
    /// Proving.
    Running,
    /// Done: the result is there.
    Succeeded,
    /// Failed: the error says why (a bad input, or the service stopping while it ran).
    Failed,
}

impl JobState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(JobState::Queued),
            "running" => Some(JobState::Running),
            "succeeded" => Some(JobState::Succeeded),
            "failed" => Some(JobState::Failed),
            _ => None,
        }
    }
}

/// A proving job.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct Job {
    pub id: String,
    pub model: String,
    pub state: JobState,
    /// The phase now (`queued`, `witness`, `prove`, `done`).
    pub progress: String,
    /// Unix seconds.
    pub created_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<f64>,
    /// The proof, once `succeeded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ProveResponse>,
    /// Why it failed, once `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /healthz`.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct Health {
    /// Always `ok` when the service answers.
    pub status: String,
    /// Models loaded.
    pub models: usize,
}

/// Every error: an HTTP status and a JSON body naming the problem.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct ErrorBody {
    /// A stable code (`bad_json`, `bad_input`, `unknown_model`, `unknown_job`, `too_large`,
    /// `unauthorized`, `queue_full`, `timeout`, `insufficient_memory`, `internal`).
    pub error: String,
    /// What was wrong, naming the field, tensor or node.
    pub message: String,
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: ErrorBody,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody { error: code.into(), message: message.into() } }
    }

    /// 400 with `code`.
    pub(crate) fn bad(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A library error: the caller's fault (400/422) unless it is the service's (500).
    pub(crate) fn from_zkonnx(e: &zkonnx::Error) -> Self {
        use zkonnx::ErrorKind;
        match e.kind() {
            ErrorKind::BadInput => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_input", e.to_string()),
            ErrorKind::Verification => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "verification", e.to_string()),
            ErrorKind::Resources => Self::new(StatusCode::SERVICE_UNAVAILABLE, "insufficient_memory", e.to_string()),
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        r
    }
}
