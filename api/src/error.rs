//! The one error type of the API and its one rendering: RFC 9457
//! `application/problem+json`. Internal causes are logged, never returned.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use samplan_domain::{FieldError, ValidationErrors};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required")]
    Unauthenticated(&'static str),
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden(&'static str),
    #[error("bad request")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(ValidationErrors),
    #[error("conflict")]
    Conflict(&'static str),
    #[error("precondition required")]
    PreconditionRequired,
    #[error("precondition failed")]
    PreconditionFailed { current_etag: String },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("request timeout")]
    RequestTimeout,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("store unavailable")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors)
    }
}

/// A store error. A unique index that a request can run into means
/// something to the client ([`UNIQUE_INDEXES`]); anything else is internal.
impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        match violated_unique_index(&error) {
            Some(index) => (index.error)(),
            None => ApiError::Internal(format!("store: {error}")),
        }
    }
}

/// A unique index of the schema and what running into it means.
struct UniqueIndex {
    /// Its name, as PostgreSQL reports it.
    name: &'static str,
    /// The columns it covers, as SQLite reports them instead of a name.
    sqlite_columns: &'static str,
    error: fn() -> ApiError,
}

/// Every unique index a request can run into. The store decides races that
/// a check before the write cannot (two requests at once): the loser gets
/// the same answer as a request that came second.
const UNIQUE_INDEXES: &[UniqueIndex] = &[
    UniqueIndex {
        name: "ux_plans_one_open",
        sqlite_columns: "plans.participant_id",
        error: || ApiError::Conflict("The participant already has an open plan (draft, active or paused)"),
    },
    UniqueIndex {
        name: "ux_participants_pin",
        sqlite_columns: "participants.assoc, participants.org, participants.personal_identity_number",
        error: || ApiError::Conflict("Your organisation has already registered this person; use lookup to find the record"),
    },
    UniqueIndex {
        name: "ux_enrolments_open",
        sqlite_columns: "enrolments.plan_id, enrolments.project_id",
        error: || ApiError::Conflict("The plan is already enrolled in that project"),
    },
    UniqueIndex {
        name: "cost_parameters_pkey",
        sqlite_columns: "cost_parameters.assoc, cost_parameters.version",
        error: || {
            ApiError::Conflict("Another change of the cost parameters was saved at the same moment; read them and retry")
        },
    },
];

/// The index of [`UNIQUE_INDEXES`] that `error` violates, if any.
fn violated_unique_index(error: &sea_orm::DbErr) -> Option<&'static UniqueIndex> {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let (DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error))) = error else {
        return None;
    };
    let sqlx::Error::Database(error) = &**error else { return None };
    if error.kind() != sqlx::error::ErrorKind::UniqueViolation {
        return None;
    }
    let sqlite_columns = error.message().strip_prefix("UNIQUE constraint failed: ");
    UNIQUE_INDEXES.iter().find(|index| error.constraint() == Some(index.name) || sqlite_columns == Some(index.sqlite_columns))
}

/// A problem report (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:samplan:problem:validation`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For validation problems: each offending field and what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 412: the object's current ETag, to re-read and retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_etag: Option<String>,
}

impl ApiError {
    /// 412: the object changed since it was read; `current_version` is its version now.
    pub fn precondition_failed(current_version: i64) -> Self {
        ApiError::PreconditionFailed { current_etag: crate::extract::etag(current_version) }
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Unauthenticated(_) => ("unauthenticated", "Authentication required"),
            ApiError::NotFound => ("not-found", "Not found"),
            ApiError::Forbidden(_) => ("forbidden", "Forbidden"),
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Validation(_) => ("validation", "Invalid request body"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PreconditionRequired => ("precondition-required", "If-Match required"),
            ApiError::PreconditionFailed { .. } => ("precondition-failed", "Stale ETag"),
            ApiError::PayloadTooLarge => ("payload-too-large", "Payload too large"),
            ApiError::RequestTimeout => ("request-timeout", "Request timeout"),
            ApiError::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Unavailable => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Unauthenticated(why) => format!("A valid bearer token is required: {why}."),
            ApiError::NotFound => "No such resource.".into(),
            ApiError::Forbidden(why) => format!("Your role may not do this here: {why}."),
            ApiError::BadRequest(why) => why.clone(),
            ApiError::Validation(errors) => format!(
                "{} field(s) are invalid: {}.",
                errors.fields().len(),
                errors.fields().iter().map(|e| e.field.as_str()).collect::<Vec<_>>().join(", ")
            ),
            ApiError::Conflict(why) => format!("{why}."),
            ApiError::PreconditionRequired => {
                "This update needs an If-Match header with the ETag from your last read.".into()
            }
            ApiError::PreconditionFailed { .. } => "The object was changed since you read it: \
                 re-read it, apply your change again and send it with the current ETag."
                .into(),
            ApiError::PayloadTooLarge => "Request bodies are limited to 64 KiB.".into(),
            ApiError::RequestTimeout => format!(
                "The request body did not arrive within {} seconds; the connection is closed.",
                crate::extract::BODY_TIMEOUT.as_secs()
            ),
            ApiError::UnsupportedMediaType => "Send the body as application/json.".into(),
            ApiError::MethodNotAllowed { allow } => format!("Allowed methods: {allow}."),
            ApiError::Unavailable => "The store cannot be reached; retry later.".into(),
            ApiError::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        Problem {
            problem_type: format!("urn:samplan:problem:{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.fields().to_vec()),
                _ => None,
            },
            current_etag: match self {
                ApiError::PreconditionFailed { current_etag } => Some(current_etag.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            ApiError::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"samplan\""));
            }
            ApiError::PreconditionFailed { current_etag } => {
                response.insert_header((header::ETAG, current_etag.as_str()));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            ApiError::RequestTimeout => {
                // The rest of the body may still come: the connection can't be reused.
                response.force_close();
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}
