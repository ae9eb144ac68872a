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
use samplan_domain::{AssocId, Principal};
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
    /// Refused participants, with their association when it is not the
    /// principal's (a lookup by personal identity number).
    refused: Vec<(Uuid, Option<String>)>,
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
        self.refuse(participant_id, None);
    }

    /// A participant of association `assoc` that matched but that access
    /// refused: its event joins that association's chain, so the
    /// participant's access log shows the attempt.
    pub fn refused_in(&self, participant_id: Uuid, assoc: &AssocId) {
        self.refuse(participant_id, Some(assoc.to_string()));
    }

    fn refuse(&self, participant_id: Uuid, assoc: Option<String>) {
        self.with(|r| {
            if !r.refused.iter().any(|(id, _)| *id == participant_id) {
                r.refused.push((participant_id, assoc));
            }
        });
    }

    /// The request carries an Idempotency-Key; its write marks it committed.
    pub fn idempotency(&self, key: crate::idempotency::Key) {
        self.with(|r| r.idempotency = Some(key));
    }

    /// The answer is a replay of an earlier request with the same key: the
    /// route is not resolved here, so the original's stands in for it (never
    /// the path, which is client text).
    pub fn replayed(&self, principal: &Principal, original: crate::idempotency::Original) {
        self.with(|r| {
            r.principal = Some(principal.clone());
            r.route = Some(original.route.unwrap_or_else(|| "-".to_owned()));
            r.created = original.resource_id;
            r.seen.extend(original.participant_id);
        });
    }

    /// The participant the request's answer is about: the first it saw, or
    /// else the first it refused.
    pub fn participant(&self) -> Option<Uuid> {
        self.with(|r| r.seen.first().or(r.refused.first().map(|(id, _)| id)).copied())
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
            let base = |participant_id: Option<Uuid>, outcome: Outcome, chain: Option<&String>| {
                let (assoc, sub, org, agency, role) = match (&r.principal, outcome) {
                    (Some(p), o) if o != Outcome::Unauthenticated => (
                        chain.cloned().unwrap_or_else(|| p.assoc.to_string()),
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
                    count: None,
                }
            };
            let mut events: Vec<NewEvent> = r.seen.iter().map(|id| base(Some(*id), outcome, None)).collect();
            events.extend(r.refused.iter().map(|(id, chain)| base(Some(*id), Outcome::Denied, chain.as_ref())));
            if events.is_empty() {
                events.push(base(None, outcome, None));
            }
            events
        })
    }
}

/// What the log records for a path parameter that is not an id.
pub const INVALID_ID: &str = "invalid";

/// The resource a route acts on: its last literal segment, and its last path
/// parameter. Every path parameter is an id, so the value is recorded only
/// when it is one (a UUID, in canonical form) and as [`INVALID_ID`]
/// otherwise: no text a client typed into a URL reaches the log.
fn resource_of(route: &str, params: &[(String, String)]) -> (String, Option<String>) {
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let literal = segments.iter().rev().find(|s| !s.starts_with('{')).copied().unwrap_or("-");
    let id = params.last().map(|(_, v)| Uuid::parse_str(v).map_or_else(|_| INVALID_ID.to_owned(), |id| id.to_string()));
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
    /// Set on a summary of throttled 401s: how many requests it stands for.
    pub count: Option<i64>,
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
    /// Left out when absent, so events from before the column hash as they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
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
        count: event.count,
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
                count: event.count,
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
/// It also holds the [`Throttle`] of unauthenticated requests, and writes
/// its summaries every [`THROTTLE_FLUSH`].
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Batch>,
    throttle: Arc<Mutex<Throttle>>,
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
        let throttle = Arc::new(Mutex::new(Throttle::default()));
        let writer = AuditWriter { tx, throttle: throttle.clone() };
        let flusher = writer.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(THROTTLE_FLUSH);
            loop {
                every.tick().await;
                let due = flusher.lock_throttle().drain(now_us());
                if !due.is_empty() {
                    if let Err(error) = flusher.write(due).await {
                        tracing::warn!(%error, "writing the summary of throttled 401 events failed");
                    }
                }
            }
        });
        writer
    }

    fn lock_throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a 401 from `client` gets its own event now (else it is counted).
    pub fn admit_unauthenticated(&self, client: Client) -> bool {
        self.lock_throttle().admit(client, now_us())
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

// ---------------------------------------------------------------- unauthenticated floods

/// A client's first 401 in a window gets its own event; the rest of the
/// window's 401s are counted and written as one summary event.
pub const THROTTLE_WINDOW_US: i64 = 60 * 1_000_000;
/// How often ended windows' summaries are written.
pub const THROTTLE_FLUSH: std::time::Duration = std::time::Duration::from_secs(10);
/// Clients tracked at once; past this, new clients share one window.
const THROTTLE_CLIENTS: usize = 10_000;

/// Where a refused request came from: an IPv4 address, an IPv6 /64 (one
/// host often holds a whole /64), or everyone else (no peer address, or too
/// many clients at once). The address itself is never written to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    V4(std::net::Ipv4Addr),
    V6([u8; 8]),
    Other,
}

impl Client {
    pub fn of(peer: Option<std::net::SocketAddr>) -> Self {
        match peer.map(|p| p.ip().to_canonical()) {
            Some(std::net::IpAddr::V4(v4)) => Client::V4(v4),
            Some(std::net::IpAddr::V6(v6)) => {
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                Client::V6(prefix)
            }
            None => Client::Other,
        }
    }
}

#[derive(Debug)]
struct Window {
    started_us: i64,
    last_us: i64,
    /// 401s of this window that got no event of their own.
    counted: i64,
}

/// Bounds what a flood of unauthenticated requests adds to the append-only
/// log: per client and [`THROTTLE_WINDOW_US`], at most two events — the
/// first request's own event, and a summary (action `*`, `count` = the
/// requests after the first) once the window has ended.
#[derive(Debug, Default)]
pub struct Throttle {
    windows: std::collections::HashMap<Client, Window>,
    due: Vec<NewEvent>,
}

impl Throttle {
    /// Whether this 401 gets its own event (the first of its client's
    /// window) or is only counted.
    pub fn admit(&mut self, client: Client, now_us: i64) -> bool {
        let client = if self.windows.len() >= THROTTLE_CLIENTS && !self.windows.contains_key(&client) {
            Client::Other
        } else {
            client
        };
        if let Some(window) = self.windows.get_mut(&client) {
            if now_us < window.started_us + THROTTLE_WINDOW_US {
                window.counted += 1;
                window.last_us = now_us;
                return false;
            }
        }
        if let Some(ended) = self.windows.remove(&client) {
            self.due.extend(Self::summary(&ended));
        }
        self.windows.insert(client, Window { started_us: now_us, last_us: now_us, counted: 0 });
        true
    }

    /// The summaries of every window ended by `now_us`; forgets those windows.
    pub fn drain(&mut self, now_us: i64) -> Vec<NewEvent> {
        let mut due = std::mem::take(&mut self.due);
        self.windows.retain(|_, window| {
            let open = now_us < window.started_us + THROTTLE_WINDOW_US;
            if !open {
                due.extend(Self::summary(window));
            }
            open
        });
        due
    }

    fn summary(window: &Window) -> Option<NewEvent> {
        (window.counted > 0).then(|| NewEvent {
            id: Uuid::now_v7(),
            occurred_at_us: window.last_us,
            assoc: UNAUTHENTICATED_CHAIN.into(),
            sub: String::new(),
            org: String::new(),
            agency: String::new(),
            role: String::new(),
            action: "*".into(),
            resource_type: "-".into(),
            resource_id: None,
            participant_id: None,
            outcome: Outcome::Unauthenticated.as_str().into(),
            status: 401,
            request_id: Uuid::now_v7().to_string(),
            count: Some(window.counted),
        })
    }
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
    let client = Client::of(req.peer_addr());
    let response = next.call(req).await?.map_into_boxed_body();
    let untouched = context.with(|r| r.route.is_none() && r.principal.is_none());
    if !audited || untouched || context.with(|r| r.written) {
        return Ok(response);
    }
    let status = response.status().as_u16();
    if status == 401 && writer.as_ref().is_some_and(|writer| !writer.admit_unauthenticated(client)) {
        return Ok(response);
    }
    let events = context.events(status, now_us());
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

#[cfg(test)]
mod tests {
    use super::*;

    const V4: Client = Client::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

    #[test]
    fn a_flood_from_one_client_leaves_one_event_and_one_summary_per_window() {
        let mut throttle = Throttle::default();
        let start = 1_000_000_000;
        let admitted = (0..1000).filter(|i| throttle.admit(V4, start + i * 1000)).count();
        assert_eq!(admitted, 1);
        assert!(throttle.drain(start + THROTTLE_WINDOW_US - 1).is_empty(), "the window is still open");
        let due = throttle.drain(start + THROTTLE_WINDOW_US);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].count, Some(999));
        assert_eq!((due[0].assoc.as_str(), due[0].outcome.as_str(), due[0].status), ("-", "unauthenticated", 401));
        assert!(throttle.drain(start + 10 * THROTTLE_WINDOW_US).is_empty());
        // The next window starts with an event of its own again.
        assert!(throttle.admit(V4, start + 11 * THROTTLE_WINDOW_US));
    }

    #[test]
    fn a_window_ended_by_the_next_request_is_summarised_too() {
        let mut throttle = Throttle::default();
        assert!(throttle.admit(V4, 0));
        assert!(!throttle.admit(V4, 1));
        assert!(!throttle.admit(V4, 2));
        assert!(throttle.admit(V4, THROTTLE_WINDOW_US));
        let due = throttle.drain(THROTTLE_WINDOW_US + 1);
        assert_eq!(due.iter().map(|e| e.count).collect::<Vec<_>>(), vec![Some(2)]);
    }

    #[test]
    fn clients_are_throttled_apart_and_their_number_is_bounded() {
        let mut throttle = Throttle::default();
        let v6 = |last: u16| Client::of(Some(std::net::SocketAddr::new(
            std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, last).into(),
            443,
        )));
        assert!(throttle.admit(V4, 0));
        assert!(throttle.admit(v6(1), 0));
        assert!(!throttle.admit(v6(2), 0), "one /64 is one client");
        for i in 0..(2 * THROTTLE_CLIENTS as u32) {
            throttle.admit(Client::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)), 1);
        }
        assert!(throttle.windows.len() <= THROTTLE_CLIENTS + 1);
    }

    #[test]
    fn path_parameters_are_recorded_only_as_ids() {
        let id = Uuid::now_v7();
        let params = |v: &str| vec![("id".to_owned(), v.to_owned())];
        let route = "/v1/plans/{id}";
        assert_eq!(resource_of(route, &params(&id.to_string())).1, Some(id.to_string()));
        assert_eq!(resource_of(route, &params(&id.simple().to_string())).1, Some(id.to_string()));
        for sent in ["19811218-9876", "<script>alert(1)</script>", &"x".repeat(6000), ""] {
            assert_eq!(resource_of(route, &params(sent)), ("plans".to_owned(), Some(INVALID_ID.to_owned())));
        }
    }
}
