//! `Idempotency-Key` on every POST, as a middleware so no route can miss it.
//!
//! The key is scoped to the caller (`assoc` + `sub`) and kept in the store
//! for at least 24 hours. A retry with the same key and body replays the
//! first answer (status, body, `Location`) without doing anything again; the
//! same key with another body is 422; a retry while the first is running is
//! 409. The write's own transaction marks the key `committed`, so a request
//! that died before committing can be retried, and one that committed but
//! lost its answer is never run twice.

use crate::audit::{AuditContext, now_us};
use crate::auth::TokenVerifier;
use crate::entities::idempotency_key;
use crate::error::ApiError;
use crate::store::Store;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub const HEADER: &str = "idempotency-key";
/// Keys are kept this long (the contract promises 24 hours).
pub const RETENTION_US: i64 = 48 * 3600 * 1_000_000;
/// A `running` key this old belongs to a request that died before it
/// committed anything; a retry may take it over.
const ABANDONED_US: i64 = 60 * 1_000_000;

/// The caller's key, as the write transaction needs it.
#[derive(Debug, Clone)]
pub struct Key {
    pub assoc: String,
    pub sub: String,
    pub key: String,
    pub path: String,
}

fn problem(error: ApiError) -> HttpResponse {
    error.error_response()
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let raw_key = req.headers().get(HEADER).map(|v| v.to_str().map(str::to_owned));
    let Some(raw_key) = raw_key.filter(|_| req.method() == Method::POST) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match raw_key {
        Ok(key) if !key.is_empty() && key.len() <= 255 => key,
        _ => {
            let response = problem(ApiError::BadRequest("Idempotency-Key must be 1–255 visible ASCII characters.".into()));
            return Ok(req.into_response(response));
        }
    };
    // Unauthenticated requests go on to be refused (and audited) as usual.
    let principal = req
        .app_data::<web::Data<Arc<TokenVerifier>>>()
        .and_then(|verifier| crate::auth::bearer(req.request()).ok().and_then(|t| verifier.verify(t).ok()));
    let (Some(principal), Some(store)) = (principal, req.app_data::<web::Data<Store>>().cloned()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(error) => return Ok(req.into_response(problem(crate::extract::body_error(&error)))),
    };
    let mut hasher = Sha256::new();
    hasher.update(req.path().as_bytes());
    hasher.update([0]);
    hasher.update(&body);
    let hash: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    req.set_payload(actix_web::dev::Payload::from(body));

    let id = Key { assoc: principal.assoc.to_string(), sub: principal.sub.clone(), key, path: req.path().to_owned() };
    match claim(store.db(), &id, &hash).await {
        Ok(Claim::Run) => {}
        Ok(Claim::Answer(response, original)) => {
            AuditContext::of(req.request()).replayed(&principal, req.path(), original);
            return Ok(req.into_response(response));
        }
        Err(error) => return Ok(req.into_response(problem(error))),
    }

    AuditContext::of(req.request()).idempotency(id.clone());
    let response = next.call(req).await?;
    let (request, response) = response.into_parts();
    let status = response.status();
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let headers = response.headers().clone();
    let bytes = actix_web::body::to_bytes(response.into_body()).await.unwrap_or_default();
    let settled = if status.is_server_error() {
        forget(store.db(), &id).await
    } else {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        remember(store.db(), &id, status, location, content_type, text).await
    };
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in headers.iter() {
        rebuilt.append_header((name.clone(), value.clone()));
    }
    let response = match settled {
        Ok(()) => rebuilt.body(bytes),
        Err(error) => problem(error),
    };
    Ok(ServiceResponse::new(request, response))
}

/// What the original request did, for the audit event of its replay.
#[derive(Debug, Clone, Default)]
pub struct Original {
    pub route: Option<String>,
    pub resource_id: Option<uuid::Uuid>,
    pub participant_id: Option<uuid::Uuid>,
}

impl Original {
    fn of(stored: &idempotency_key::Model) -> Self {
        Original { route: stored.route.clone(), resource_id: stored.resource_id, participant_id: stored.participant_id }
    }
}

enum Claim {
    /// The key is ours: run the request.
    Run,
    /// Answer without running: a replay (with what the original did), or why not.
    Answer(HttpResponse, Original),
}

async fn claim<C: ConnectionTrait>(db: &C, id: &Key, hash: &str) -> Result<Claim, ApiError> {
    let now = now_us();
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        assoc: Set(id.assoc.clone()),
        sub: Set(id.sub.clone()),
        key: Set(id.key.clone()),
        request_hash: Set(hash.to_owned()),
        state: Set("running".into()),
        status: Set(None),
        location: Set(None),
        content_type: Set(None),
        body: Set(None),
        participant_id: Set(None),
        route: Set(None),
        resource_id: Set(None),
        created_at_us: Set(now),
    })
    .on_conflict_do_nothing_on([
        idempotency_key::Column::Assoc,
        idempotency_key::Column::Sub,
        idempotency_key::Column::Key,
    ])
    .exec(db)
    .await?;
    if matches!(inserted, sea_orm::TryInsertResult::Inserted(_)) {
        return Ok(Claim::Run);
    }
    let existing = find(id).one(db).await?.ok_or_else(|| ApiError::Internal("idempotency key vanished".into()))?;
    if existing.request_hash != hash {
        return Err(ApiError::Validation(samplan_domain::ValidationErrors::single(
            "Idempotency-Key",
            "was used before with a different request; use a new key for a new request",
        )));
    }
    match existing.state.as_str() {
        "done" => {
            let original = Original::of(&existing);
            Ok(Claim::Answer(replay(existing), original))
        }
        "committed" => {
            let mut response = problem(ApiError::Conflict(
                "This request was carried out but its answer was lost; read the resource at Location",
            ));
            if let Some(location) = existing.location.as_deref().and_then(|l| l.parse().ok()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(Claim::Answer(response, Original::of(&existing)))
        }
        _ if existing.created_at_us < now - ABANDONED_US => {
            // Nothing was committed under this key (the write marks it), so
            // the first attempt died; take the key over.
            let taken = idempotency_key::Entity::update_many()
                .col_expr(idempotency_key::Column::CreatedAtUs, Expr::value(now))
                .filter(idempotency_key::Column::Assoc.eq(id.assoc.as_str()))
                .filter(idempotency_key::Column::Sub.eq(id.sub.as_str()))
                .filter(idempotency_key::Column::Key.eq(id.key.as_str()))
                .filter(idempotency_key::Column::State.eq("running"))
                .filter(idempotency_key::Column::CreatedAtUs.eq(existing.created_at_us))
                .exec(db)
                .await?;
            if taken.rows_affected == 1 { Ok(Claim::Run) } else { Err(still_running()) }
        }
        _ => Err(still_running()),
    }
}

fn still_running() -> ApiError {
    ApiError::Conflict("A request with this Idempotency-Key is still being processed; retry shortly")
}

fn find(id: &Key) -> sea_orm::Select<idempotency_key::Entity> {
    idempotency_key::Entity::find()
        .filter(idempotency_key::Column::Assoc.eq(id.assoc.as_str()))
        .filter(idempotency_key::Column::Sub.eq(id.sub.as_str()))
        .filter(idempotency_key::Column::Key.eq(id.key.as_str()))
}

fn replay(stored: idempotency_key::Model) -> HttpResponse {
    let status = stored.status.and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header(("Idempotent-Replayed", "true"));
    if let Some(location) = stored.location {
        response.insert_header((header::LOCATION, location));
    }
    if let Some(content_type) = stored.content_type {
        response.insert_header((header::CONTENT_TYPE, content_type));
    }
    response.body(stored.body.unwrap_or_default())
}

async fn remember<C: ConnectionTrait>(
    db: &C,
    id: &Key,
    status: StatusCode,
    location: Option<String>,
    content_type: Option<String>,
    body: String,
) -> Result<(), ApiError> {
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::State, Expr::value("done"))
        .col_expr(idempotency_key::Column::Status, Expr::value(status.as_u16() as i16))
        .col_expr(idempotency_key::Column::Location, Expr::value(location))
        .col_expr(idempotency_key::Column::ContentType, Expr::value(content_type))
        .col_expr(idempotency_key::Column::Body, Expr::value(body))
        .filter(idempotency_key::Column::Assoc.eq(id.assoc.as_str()))
        .filter(idempotency_key::Column::Sub.eq(id.sub.as_str()))
        .filter(idempotency_key::Column::Key.eq(id.key.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// A 5xx is not an answer worth keeping: the client may retry with the key.
async fn forget<C: ConnectionTrait>(db: &C, id: &Key) -> Result<(), ApiError> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Assoc.eq(id.assoc.as_str()))
        .filter(idempotency_key::Column::Sub.eq(id.sub.as_str()))
        .filter(idempotency_key::Column::Key.eq(id.key.as_str()))
        .filter(idempotency_key::Column::State.eq("running"))
        .exec(db)
        .await?;
    Ok(())
}

/// Called inside a write's transaction: the key's request has now done its work.
pub async fn mark_committed<C: ConnectionTrait>(db: &C, id: &Key, original: Original) -> Result<(), sea_orm::DbErr> {
    let location = original.resource_id.map(|created| format!("{}/{created}", id.path));
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::State, Expr::value("committed"))
        .col_expr(idempotency_key::Column::Location, Expr::value(location))
        .col_expr(idempotency_key::Column::ParticipantId, Expr::value(original.participant_id))
        .col_expr(idempotency_key::Column::Route, Expr::value(original.route))
        .col_expr(idempotency_key::Column::ResourceId, Expr::value(original.resource_id))
        .filter(idempotency_key::Column::Assoc.eq(id.assoc.as_str()))
        .filter(idempotency_key::Column::Sub.eq(id.sub.as_str()))
        .filter(idempotency_key::Column::Key.eq(id.key.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes keys past their retention; run now and then.
pub async fn purge<C: ConnectionTrait>(db: &C) -> Result<u64, sea_orm::DbErr> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAtUs.lt(now_us() - RETENTION_US))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
