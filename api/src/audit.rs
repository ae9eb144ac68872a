//! The audit trail (DESIGN.md rule 7): who read or wrote which participant's
//! data, and every denied attempt.
//!
//! It is structural, not a call each handler must remember:
//! - the [`middleware`] wraps every route and, when a `/v1` request ends,
//!   writes its events before the response leaves (group commit: events of
//!   concurrent requests share one transaction, and each response waits for
//!   its batch); a failure to write them turns the answer into a 500;
//! - the `Auth` extractor records who is asking and which route, the access
//!   checks in `store::scope` record each participant they let through or
//!   refused, and a write transaction ([`WriteTxn`]) appends its events in
//!   the same transaction as the write.
//!
//! Events carry no personal identity number, name or free text. Each
//! association's events form a hash chain (`prev_hash`, `hash` over a
//! canonical encoding); `samplan audit verify` walks it.

use crate::entities::{audit_event, audit_head};
use crate::error::ApiError;
use crate::store::Store;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};
use samplan_domain::Principal;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The chain of requests that failed authentication: their claims cannot be
/// trusted, so they belong to no association. `-` is not a valid slug.
pub const UNAUTHENTICATED_CHAIN: &str = "-";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allowed,
    Denied,
    NotFound,
    Unauthenticated,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not_found",
            Outcome::Unauthenticated => "unauthenticated",
        }
    }
}

// ---------------------------------------------------------------- the request's record

#[derive(Debug, Default)]
struct Record {
    request_id: String,
    method: String,
    route: Option<String>,
    /// The route's path parameters in order, e.g. `[("id", …), ("step_id", …)]`.
    params: Vec<(String, String)>,
    principal: Option<Principal>,
    seen: Vec<Uuid>,
    refused: Vec<Uuid>,
    created: Option<Uuid>,
    written: bool,
    idempotency: Option<crate::idempotency::Key>,
}

/// What one request did, as the audit sees it. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct AuditContext(Arc<Mutex<Record>>);

impl AuditContext {
    fn with<T>(&self, f: impl FnOnce(&mut Record) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The request's context (a detached one outside the middleware).
    pub fn of(req: &HttpRequest) -> Self {
        req.extensions().get::<AuditContext>().cloned().unwrap_or_default()
    }

    /// Called by `Auth` once routing is done: the route and its parameters.
    pub fn route(&self, req: &HttpRequest) {
        let route = req.match_pattern();
        let params = req.match_info().iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        self.with(|r| {
            r.route = route;
            r.params = params;
        });
    }

    pub fn principal(&self, principal: &Principal) {
        self.with(|r| r.principal = Some(principal.clone()));
    }

    /// A participant whose data the request was let through to.
    pub fn saw(&self, participant_id: Uuid) {
        self.with(|r| {
            if !r.seen.contains(&participant_id) {
                r.seen.push(participant_id);
            }
        });
    }

    /// A participant that exists but that access refused (answered 404).
    pub fn refused(&self, participant_id: Uuid) {
        self.with(|r| {
            if !r.refused.contains(&participant_id) {
                r.refused.push(participant_id);
            }
        });
    }

    /// The request carries an Idempotency-Key; its write marks it committed.
    pub fn idempotency(&self, key: crate::idempotency::Key) {
        self.with(|r| r.idempotency = Some(key));
    }

    /// The answer is a replay of an earlier request with the same key: the
    /// route is not resolved, so the path stands in for it.
    pub fn replayed(&self, principal: &Principal, path: &str, original: crate::idempotency::Original) {
        self.with(|r| {
            r.principal = Some(principal.clone());
            r.route = Some(original.route.unwrap_or_else(|| path.to_owned()));
            r.created = original.resource_id;
            r.seen.extend(original.participant_id);
        });
    }

    /// The id of the object a write created.
    pub fn created(&self, id: Uuid) {
        self.with(|r| r.created = Some(id));
    }

    /// The events of this request, ending with `status`.
    fn events(&self, status: u16, now_us: i64) -> Vec<NewEvent> {
        self.with(|r| {
            let outcome = match status {
                401 => Outcome::Unauthenticated,
                403 => Outcome::Denied,
                404 => Outcome::NotFound,
                _ => Outcome::Allowed,
            };
            let route = r.route.clone().unwrap_or_else(|| "-".into());
            let (resource_type, path_id) = resource_of(&route, &r.params);
            let resource_id = r.created.map(|id| id.to_string()).or(path_id);
            let base = |participant_id: Option<Uuid>, outcome: Outcome| {
                let (assoc, sub, org, agency, role) = match (&r.principal, outcome) {
                    (Some(p), o) if o != Outcome::Unauthenticated => (
                        p.assoc.to_string(),
                        p.sub.clone(),
                        p.org.to_string(),
                        p.agency.as_str().to_owned(),
                        p.role.as_str().to_owned(),
                    ),
                    _ => (UNAUTHENTICATED_CHAIN.into(), String::new(), String::new(), String::new(), String::new()),
                };
                NewEvent {
                    id: Uuid::now_v7(),
                    occurred_at_us: now_us,
                    assoc,
                    sub,
                    org,
                    agency,
                    role,
                    action: format!("{} {}", r.method, route),
                    resource_type: resource_type.clone(),
                    resource_id: resource_id.clone(),
                    participant_id,
                    outcome: outcome.as_str().into(),
                    status: status as i16,
                    request_id: r.request_id.clone(),
                }
            };
            let mut events: Vec<NewEvent> = r.seen.iter().map(|id| base(Some(*id), outcome)).collect();
            events.extend(r.refused.iter().map(|id| base(Some(*id), Outcome::Denied)));
            if events.is_empty() {
                events.push(base(None, outcome));
            }
            events
        })
    }
}

/// The resource a route acts on: its last literal segment, and the value of
/// its last path parameter when the route ends in one.
fn resource_of(route: &str, params: &[(String, String)]) -> (String, Option<String>) {
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let literal = segments.iter().rev().find(|s| !s.starts_with('{')).copied().unwrap_or("-");
    let id = params.last().map(|(_, v)| v.clone());
    (literal.to_owned(), id)
}

// ---------------------------------------------------------------- the chain

/// An event before it joins its chain.
#[derive(Debug, Clone, Serialize)]
pub struct NewEvent {
    pub id: Uuid,
    pub occurred_at_us: i64,
    pub assoc: String,
    pub sub: String,
    pub org: String,
    pub agency: String,
    pub role: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    pub outcome: String,
    pub status: i16,
    pub request_id: String,
}

/// The canonical encoding the hash covers: every column but the hash, in a
/// fixed order, as JSON.
#[derive(Serialize)]
struct Canonical<'a> {
    assoc: &'a str,
    seq: i64,
    id: Uuid,
    occurred_at_us: i64,
    sub: &'a str,
    org: &'a str,
    agency: &'a str,
    role: &'a str,
    action: &'a str,
    resource_type: &'a str,
    resource_id: Option<&'a str>,
    participant_id: Option<Uuid>,
    outcome: &'a str,
    status: i16,
    request_id: &'a str,
    prev_hash: &'a str,
}

pub fn hash_of(event: &audit_event::Model) -> String {
    let canonical = Canonical {
        assoc: &event.assoc,
        seq: event.seq,
        id: event.id,
        occurred_at_us: event.occurred_at_us,
        sub: &event.sub,
        org: &event.org,
        agency: &event.agency,
        role: &event.role,
        action: &event.action,
        resource_type: &event.resource_type,
        resource_id: event.resource_id.as_deref(),
        participant_id: event.participant_id,
        outcome: &event.outcome,
        status: event.status,
        request_id: &event.request_id,
        prev_hash: &event.prev_hash,
    };
    let bytes = serde_json::to_vec(&canonical).expect("the canonical encoding serializes");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends events to their associations' chains within `db`'s transaction.
/// Each chain's head row is locked until that transaction ends.
pub async fn append<C: ConnectionTrait>(db: &C, events: Vec<NewEvent>) -> Result<(), DbErr> {
    let mut by_assoc: BTreeMap<String, Vec<NewEvent>> = BTreeMap::new();
    for event in events {
        by_assoc.entry(event.assoc.clone()).or_default().push(event);
    }
    for (assoc, events) in by_assoc {
        audit_head::Entity::insert(audit_head::ActiveModel {
            assoc: Set(assoc.clone()),
            seq: Set(0),
            hash: Set(GENESIS.into()),
        })
        .on_conflict_do_nothing_on([audit_head::Column::Assoc])
        .exec(db)
        .await?;
        let mut select = audit_head::Entity::find_by_id(assoc.clone());
        if db.get_database_backend() == DbBackend::Postgres {
            select = select.lock_exclusive();
        }
        let head = select.one(db).await?.ok_or_else(|| DbErr::RecordNotFound("audit head".into()))?;
        let (mut seq, mut prev) = (head.seq, head.hash);
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            let mut model = audit_event::Model {
                assoc: assoc.clone(),
                seq,
                id: event.id,
                occurred_at_us: event.occurred_at_us,
                sub: event.sub,
                org: event.org,
                agency: event.agency,
                role: event.role,
                action: event.action,
                resource_type: event.resource_type,
                resource_id: event.resource_id,
                participant_id: event.participant_id,
                outcome: event.outcome,
                status: event.status,
                request_id: event.request_id,
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            model.hash = hash_of(&model);
            prev = model.hash.clone();
            rows.push(audit_event::ActiveModel::from(model));
        }
        for chunk in rows.chunks(200) {
            audit_event::Entity::insert_many(chunk.to_vec()).exec(db).await?;
        }
        audit_head::Entity::update_many()
            .col_expr(audit_head::Column::Seq, sea_orm::sea_query::Expr::value(seq))
            .col_expr(audit_head::Column::Hash, sea_orm::sea_query::Expr::value(prev))
            .filter(audit_head::Column::Assoc.eq(assoc))
            .exec(db)
            .await?;
    }
    Ok(())
}

pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

// ---------------------------------------------------------------- group commit

struct Batch {
    events: Vec<NewEvent>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Writes the events of reads and refusals: one transaction for all the
/// batches waiting when it starts, so one disk flush serves many requests.
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Batch>,
}

/// At most this many requests share a transaction.
const MAX_BATCH: usize = 512;

impl AuditWriter {
    pub fn start(store: Store) -> Self {
        let (tx, mut rx) = mpsc::channel::<Batch>(4096);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batches = vec![first];
                while batches.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(more) => batches.push(more),
                        Err(_) => break,
                    }
                }
                let events: Vec<NewEvent> = batches.iter().flat_map(|b| b.events.iter().cloned()).collect();
                let result = write_batch(&store, events).await.map_err(|e| e.to_string());
                for batch in batches {
                    let _ = batch.done.send(result.clone());
                }
            }
        });
        AuditWriter { tx }
    }

    /// Returns once the events are committed.
    pub async fn write(&self, events: Vec<NewEvent>) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Batch { events, done }).await.map_err(|_| "audit writer stopped".to_owned())?;
        wait.await.map_err(|_| "audit writer stopped".to_owned())?
    }
}

async fn write_batch(store: &Store, events: Vec<NewEvent>) -> Result<(), ApiError> {
    let txn = store.begin_write_unaudited().await?;
    append(&txn, events).await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- writes

/// A write transaction whose commit carries the request's audit events, so a
/// write and its record of who made it are durable together or not at all.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    audit: AuditContext,
}

impl WriteTxn {
    pub fn new(txn: DatabaseTransaction, audit: AuditContext) -> Self {
        WriteTxn { txn, audit }
    }

    pub async fn commit(self) -> Result<(), ApiError> {
        let (created, key, original) = self.audit.with(|r| {
            let original = crate::idempotency::Original {
                route: r.route.clone(),
                resource_id: r.created,
                participant_id: r.seen.first().copied(),
            };
            (r.created, r.idempotency.clone(), original)
        });
        let status = if created.is_some() { 201 } else { 200 };
        append(&self.txn, self.audit.events(status, now_us())).await?;
        if let Some(key) = key {
            crate::idempotency::mark_committed(&self.txn, &key, original).await?;
        }
        self.txn.commit().await?;
        self.audit.with(|r| r.written = true);
        Ok(())
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

// ---------------------------------------------------------------- the middleware

/// Gives each request its audit record, and writes the record's events
/// before the response is sent — unless a write transaction already did.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let audited = req.path().starts_with("/v1/");
    let context = AuditContext::default();
    context.with(|r| {
        r.method = crate::metrics::method_label(req.method()).to_owned();
        r.request_id = crate::startup::request_id_of(&req);
    });
    req.extensions_mut().insert(context.clone());
    let writer = req.app_data::<web::Data<AuditWriter>>().cloned();
    let response = next.call(req).await?.map_into_boxed_body();
    let untouched = context.with(|r| r.route.is_none() && r.principal.is_none());
    if !audited || untouched || context.with(|r| r.written) {
        return Ok(response);
    }
    let events = context.events(response.status().as_u16(), now_us());
    let result = match writer {
        Some(writer) => writer.write(events).await,
        None => Err("no audit writer configured".into()),
    };
    match result {
        Ok(()) => Ok(response),
        Err(cause) => {
            let error = ApiError::Internal(format!("audit: {cause}"));
            let (request, _) = response.into_parts();
            Ok(ServiceResponse::new(request, error.error_response()))
        }
    }
}

// ---------------------------------------------------------------- verification

/// Where a chain first breaks.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("association {assoc}: event {seq} ({id}) does not match its hash")]
    Tampered { assoc: String, seq: i64, id: Uuid },
    #[error("association {assoc}: event {seq} ({id}) does not link to the event before it")]
    Unlinked { assoc: String, seq: i64, id: Uuid },
    #[error("association {assoc}: event {expected} is missing")]
    Missing { assoc: String, expected: i64 },
    #[error("association {assoc}: the chain ends at {seq}, but its head says {head}")]
    Head { assoc: String, seq: i64, head: i64 },
    #[error("store: {0}")]
    Store(#[from] DbErr),
}

/// Walks one association's chain (or every chain) from the start; returns
/// how many events verified, or the first broken one.
pub async fn verify<C: ConnectionTrait>(db: &C, assoc: Option<&str>) -> Result<u64, ChainError> {
    let assocs: Vec<String> = match assoc {
        Some(a) => vec![a.to_owned()],
        None => audit_head::Entity::find().all(db).await?.into_iter().map(|h| h.assoc).collect(),
    };
    let mut verified = 0;
    for assoc in assocs {
        let (mut seq, mut prev) = (0_i64, GENESIS.to_owned());
        loop {
            let page = audit_event::Entity::find()
                .filter(audit_event::Column::Assoc.eq(assoc.as_str()))
                .filter(audit_event::Column::Seq.gt(seq))
                .order_by_asc(audit_event::Column::Seq)
                .limit(1000)
                .all(db)
                .await?;
            if page.is_empty() {
                break;
            }
            for event in page {
                if event.seq != seq + 1 {
                    return Err(ChainError::Missing { assoc, expected: seq + 1 });
                }
                if event.prev_hash != prev {
                    return Err(ChainError::Unlinked { assoc, seq: event.seq, id: event.id });
                }
                if hash_of(&event) != event.hash {
                    return Err(ChainError::Tampered { assoc, seq: event.seq, id: event.id });
                }
                seq = event.seq;
                prev = event.hash;
                verified += 1;
            }
        }
        let head = audit_head::Entity::find_by_id(assoc.clone()).one(db).await?;
        if let Some(head) = head {
            if head.seq != seq || head.hash != prev {
                return Err(ChainError::Head { assoc, seq, head: head.seq });
            }
        }
    }
    Ok(verified)
}
