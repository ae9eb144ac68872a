//! `Idempotency-Key` on every POST, as a middleware so no route can miss it.
//!
//! The key belongs to the caller's principal (association, organisation,
//! `sub` and role together) and is kept in the store for at least 24 hours.
//! A retry with the same key and body replays the first answer (status,
//! body, `Location`) without doing anything again; the same key with another
//! body is 422; a retry while the first is running is 409. The write's own
//! transaction marks the key `committed`, so a request that died before
//! committing can be retried, and one that committed but lost its answer is
//! never run twice.
//!
//! A replay is a read of what the answer shows: it is audited with the
//! answer's participant, and given only while the principal may still see
//! that participant (access is checked again, as the routes check it).
//! Otherwise the request is treated as new and answers what it would answer
//! now. What is stored holds no personal identity number (they are replaced
//! by null and read again from the participant on replay), and the request
//! fingerprint is an HMAC with the server key, so a number cannot be guessed
//! from it. Lookups are reads and keep nothing.

use crate::record::{AuditContext, IdempotencyKey, Original, now_us};
use crate::auth::TokenVerifier;
use crate::config::SecretKey;
use crate::entities::idempotency_key;
use crate::error::ApiError;
use crate::store::idempotency::of_key;
use crate::store::{Store, scope};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use samplan_domain::Principal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use std::sync::Arc;

pub const HEADER: &str = "idempotency-key";
/// A `running` key this old belongs to a request that died before it
/// committed anything; a retry may take it over.
const ABANDONED_US: i64 = 60 * 1_000_000;
/// POSTs that only read: an `Idempotency-Key` on them is ignored and no
/// answer is kept (a lookup's answer would carry personal identity numbers).
const READS: &[&str] = &["/v1/participants/lookup"];
/// The field that carries a personal identity number in an answer.
const PIN_FIELD: &str = "personal_identity_number";

type Key = IdempotencyKey;

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
    // A read keeps no answer: its key is checked like any other, then ignored.
    if READS.contains(&req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // Unauthenticated requests go on to be refused (and audited) as usual.
    let principal = req
        .app_data::<web::Data<Arc<TokenVerifier>>>()
        .and_then(|verifier| crate::auth::bearer(req.request()).ok().and_then(|t| verifier.verify(t).ok()));
    let store = req.app_data::<web::Data<Store>>().cloned();
    let secret = req.app_data::<web::Data<SecretKey>>().cloned();
    let (Some(principal), Some(store), Some(secret)) = (principal, store, secret) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(error) => return Ok(req.into_response(problem(crate::extract::body_error(&error)))),
    };
    let hash = secret.mac_hex("idempotency-request", &[req.path().as_bytes(), &body]);
    req.set_payload(actix_web::dev::Payload::from(body));

    let id = Key {
        assoc: principal.assoc.to_string(),
        org: principal.org.to_string(),
        sub: principal.sub.clone(),
        role: principal.role.as_str().to_owned(),
        key,
        path: req.path().to_owned(),
    };
    let answer = match claim_or_answer(&store, &principal, &id, &hash).await {
        Ok(answer) => answer,
        Err(error) => return Ok(req.into_response(problem(error))),
    };
    if let Some((response, original)) = answer {
        AuditContext::of(req.request()).replayed(&principal, original);
        return Ok(req.into_response(response));
    }

    AuditContext::of(req.request()).idempotency(id.clone());
    let response = next.call(req).await?;
    let (request, response) = response.into_parts();
    let status = response.status();
    let route = request.match_pattern();
    let participant_id = AuditContext::of(&request).participant();
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let headers = response.headers().clone();
    let bytes = actix_web::body::to_bytes(response.into_body()).await.unwrap_or_default();
    let redacted = without_pins(&String::from_utf8_lossy(&bytes));
    let settled = match redacted {
        Some(text) if !status.is_server_error() => {
            settle(&store, &id, Some(Stored { status, location, content_type, body: text, route, participant_id })).await
        }
        // A 5xx is not an answer worth keeping, nor one whose numbers
        // could not be taken out: a retry runs again.
        _ => settle(&store, &id, None).await,
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

fn original_of(stored: &idempotency_key::Model) -> Original {
    Original { route: stored.route.clone(), resource_id: stored.resource_id, participant_id: stored.participant_id }
}

/// Claims the key for this request (`None`: run it), or finds the answer
/// to give again.
async fn claim_or_answer(
    store: &Store,
    principal: &Principal,
    id: &Key,
    hash: &str,
) -> Result<Option<(HttpResponse, Original)>, ApiError> {
    let txn = store.begin_write_unaudited().await?;
    let answer = match claim(&txn, id, hash).await? {
        Claim::Run => None,
        Claim::Stored(stored) => answer_again(&txn, principal, id, stored).await?,
    };
    txn.commit().await?;
    Ok(answer)
}

/// Keeps the request's answer with its key, or (`None`) frees the key.
async fn settle(store: &Store, id: &Key, answer: Option<Stored>) -> Result<(), ApiError> {
    let txn = store.begin_write_unaudited().await?;
    match answer {
        Some(stored) => remember(&txn, id, stored).await?,
        None => forget(&txn, id).await?,
    }
    txn.commit().await
}

enum Claim {
    /// The key is ours: run the request.
    Run,
    /// The key holds an answer (`done`) or a committed request (`committed`).
    Stored(idempotency_key::Model),
}

async fn claim<C: ConnectionTrait>(db: &C, id: &Key, hash: &str) -> Result<Claim, ApiError> {
    let now = now_us();
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        assoc: Set(id.assoc.clone()),
        org: Set(id.org.clone()),
        sub: Set(id.sub.clone()),
        role: Set(id.role.clone()),
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
        idempotency_key::Column::Org,
        idempotency_key::Column::Sub,
        idempotency_key::Column::Role,
        idempotency_key::Column::Key,
    ])
    .exec(db)
    .await?;
    if matches!(inserted, sea_orm::TryInsertResult::Inserted(_)) {
        return Ok(Claim::Run);
    }
    let existing =
        of_key(id, idempotency_key::Entity::find()).one(db).await?.ok_or_else(|| ApiError::Internal("idempotency key vanished".into()))?;
    if existing.request_hash != hash {
        return Err(ApiError::Validation(samplan_domain::ValidationErrors::single(
            "Idempotency-Key",
            "was used before with a different request; use a new key for a new request",
        )));
    }
    match existing.state.as_str() {
        "done" | "committed" => Ok(Claim::Stored(existing)),
        // Nothing was committed under this key (the write marks it), so
        // the first attempt died; take the key over.
        _ if existing.created_at_us < now - ABANDONED_US => take_over(db, id, &existing).await,
        _ => Err(still_running()),
    }
}

/// The stored answer again, when the principal may still see what it shows;
/// `None` (the key taken over, the request to run as new) when not.
async fn answer_again<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    id: &Key,
    stored: idempotency_key::Model,
) -> Result<Option<(HttpResponse, Original)>, ApiError> {
    let participant = match stored.participant_id {
        Some(participant_id) => match scope::participant_seen_by(db, principal, participant_id, scope::today()).await? {
            Some(participant) => Some(participant.model),
            None => {
                return match take_over(db, id, &stored).await? {
                    Claim::Run => Ok(None),
                    Claim::Stored(_) => Err(still_running()),
                };
            }
        },
        None => None,
    };
    let original = original_of(&stored);
    if stored.state == "committed" {
        let mut response = problem(ApiError::Conflict(
            "This request was carried out but its answer was lost; read the resource at Location",
        ));
        if let Some(location) = stored.location.as_deref().and_then(|l| l.parse().ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return Ok(Some((response, original)));
    }
    let pin = participant.map(|p| p.personal_identity_number);
    let Some(body) = with_pin(stored.body.as_deref().unwrap_or_default(), pin.as_deref()) else {
        // A number to put back but no participant to read it from.
        return match take_over(db, id, &stored).await? {
            Claim::Run => Ok(None),
            Claim::Stored(_) => Err(still_running()),
        };
    };
    Ok(Some((replay(stored, body), original)))
}

/// Makes a stored key `running` again for this request, unless another
/// request changed it first.
async fn take_over<C: ConnectionTrait>(db: &C, id: &Key, existing: &idempotency_key::Model) -> Result<Claim, ApiError> {
    let taken = of_key(id, idempotency_key::Entity::update_many())
        .col_expr(idempotency_key::Column::State, Expr::value("running"))
        .col_expr(idempotency_key::Column::CreatedAtUs, Expr::value(now_us()))
        .col_expr(idempotency_key::Column::Status, Expr::value(Option::<i16>::None))
        .col_expr(idempotency_key::Column::Location, Expr::value(Option::<String>::None))
        .col_expr(idempotency_key::Column::ContentType, Expr::value(Option::<String>::None))
        .col_expr(idempotency_key::Column::Body, Expr::value(Option::<String>::None))
        .col_expr(idempotency_key::Column::ParticipantId, Expr::value(Option::<uuid::Uuid>::None))
        .col_expr(idempotency_key::Column::Route, Expr::value(Option::<String>::None))
        .col_expr(idempotency_key::Column::ResourceId, Expr::value(Option::<uuid::Uuid>::None))
        .filter(idempotency_key::Column::State.eq(existing.state.as_str()))
        .filter(idempotency_key::Column::CreatedAtUs.eq(existing.created_at_us))
        .exec(db)
        .await?;
    if taken.rows_affected == 1 { Ok(Claim::Run) } else { Err(still_running()) }
}

/// The answer with every personal identity number in it replaced by null;
/// `None` when the text could not be checked to hold none (it is then not
/// kept). Answers are compact JSON, so each number appears as
/// `"personal_identity_number":"…"`.
fn without_pins(body: &str) -> Option<String> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        // Not JSON (an empty body): no field to carry a number.
        return Some(body.to_owned());
    };
    let mut pins = Vec::new();
    pins_in(&value, &mut pins);
    let mut text = body.to_owned();
    for pin in &pins {
        text = text.replace(&format!("\"{PIN_FIELD}\":\"{pin}\""), &format!("\"{PIN_FIELD}\":null"));
    }
    pins.iter().all(|pin| !text.contains(pin.as_str())).then_some(text)
}

fn pins_in(value: &serde_json::Value, pins: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, value) in map {
                match value {
                    serde_json::Value::String(pin) if name == PIN_FIELD => pins.push(pin.clone()),
                    other => pins_in(other, pins),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| pins_in(item, pins)),
        _ => {}
    }
}

/// The stored answer with the participant's number put back; `None` when it
/// has a number to put back and `pin` is not known.
fn with_pin(stored: &str, pin: Option<&str>) -> Option<String> {
    let redacted = format!("\"{PIN_FIELD}\":null");
    if !stored.contains(&redacted) {
        return Some(stored.to_owned());
    }
    pin.map(|pin| stored.replace(&redacted, &format!("\"{PIN_FIELD}\":\"{pin}\"")))
}

fn still_running() -> ApiError {
    ApiError::Conflict("A request with this Idempotency-Key is still being processed; retry shortly")
}

fn replay(stored: idempotency_key::Model, body: String) -> HttpResponse {
    let status = stored.status.and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header(("Idempotent-Replayed", "true"));
    if let Some(location) = stored.location {
        response.insert_header((header::LOCATION, location));
    }
    if let Some(content_type) = stored.content_type {
        response.insert_header((header::CONTENT_TYPE, content_type));
    }
    response.body(body)
}

/// An answer to keep: the body without personal identity numbers.
struct Stored {
    status: StatusCode,
    location: Option<String>,
    content_type: Option<String>,
    body: String,
    route: Option<String>,
    /// Seen or refused: a refusal is not replayed to someone who still may
    /// not see the participant, but run again (and audited as denied again).
    participant_id: Option<uuid::Uuid>,
}

async fn remember<C: ConnectionTrait>(db: &C, id: &Key, stored: Stored) -> Result<(), ApiError> {
    // The route template and participant, for the replay's access check and
    // audit event (a committed write stored the same; a refusal did not
    // commit anything).
    of_key(id, idempotency_key::Entity::update_many())
        .col_expr(idempotency_key::Column::State, Expr::value("done"))
        .col_expr(idempotency_key::Column::Status, Expr::value(stored.status.as_u16() as i16))
        .col_expr(idempotency_key::Column::Location, Expr::value(stored.location))
        .col_expr(idempotency_key::Column::ContentType, Expr::value(stored.content_type))
        .col_expr(idempotency_key::Column::Body, Expr::value(stored.body))
        .col_expr(idempotency_key::Column::Route, Expr::value(stored.route))
        .col_expr(idempotency_key::Column::ParticipantId, Expr::value(stored.participant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// An answer not kept: the client may retry with the key.
async fn forget<C: ConnectionTrait>(db: &C, id: &Key) -> Result<(), ApiError> {
    of_key(id, idempotency_key::Entity::delete_many())
        .filter(idempotency_key::Column::State.eq("running"))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_taken_out_and_put_back() {
        let body = r#"{"id":"x","personal_identity_number":"198112189876","name":"Anna"}"#;
        let stored = without_pins(body).unwrap();
        assert_eq!(stored, r#"{"id":"x","personal_identity_number":null,"name":"Anna"}"#);
        assert_eq!(with_pin(&stored, Some("198112189876")).as_deref(), Some(body));
        assert_eq!(with_pin(&stored, None), None);
        let nested = r#"{"items":[{"personal_identity_number":"198112189876"}]}"#;
        assert!(!without_pins(nested).unwrap().contains("9876"));
        assert_eq!(without_pins("").as_deref(), Some(""));
        // Not in the compact form: not kept rather than kept with the number.
        assert_eq!(without_pins(r#"{"personal_identity_number" : "198112189876"}"#), None);
    }
}
