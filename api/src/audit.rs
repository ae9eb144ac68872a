//! The audit trail (DESIGN.md rule 7): who read or wrote which participant's
//! data, and every denied attempt.
//!
//! It is structural, not a call each handler must remember:
//! - the [`middleware`] wraps every route and, when a `/v1` request ends,
//!   writes its events before the response leaves (through the store's one
//!   write path: events of concurrent requests share one commit, and each
//!   response waits for it); a failure to write them turns the answer into
//!   a 500;
//! - the `Auth` extractor records who is asking and which route
//!   (`crate::record`), the access checks in `store::scope` record each
//!   participant they let through or refused, and a write
//!   (`store::WriteTxn`) commits its events with the write.
//!
//! Events carry no personal identity number, name or free text. Each
//! association's events form a hash chain (`store::chain`); `samplan audit
//! verify` walks it.

use crate::entities::{audit_event, audit_head};
use crate::error::ApiError;
use crate::record::{AuditContext, NewEvent, Outcome, RequestId, UNAUTHENTICATED_CHAIN, now_us};
use crate::store::Store;
use crate::store::chain::{self, GENESIS};
pub use crate::store::chain::hash_of;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

// ---------------------------------------------------------------- unauthenticated floods

/// The [`Throttle`] of unauthenticated requests, shared by the workers; the
/// summaries of ended windows are written every [`THROTTLE_FLUSH`].
#[derive(Clone)]
pub struct Unauthenticated(Arc<Mutex<Throttle>>);

impl Unauthenticated {
    pub fn start(store: Store) -> Self {
        let throttle = Unauthenticated(Arc::new(Mutex::new(Throttle::default())));
        let flusher = throttle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(THROTTLE_FLUSH);
            loop {
                every.tick().await;
                let due = flusher.lock().drain(now_us());
                if !due.is_empty() {
                    if let Err(error) = store.record(due).await {
                        tracing::warn!(%error, "writing the summary of throttled 401 events failed");
                    }
                }
            }
        });
        throttle
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a 401 from `client` gets its own event now (else it is counted).
    pub fn admit(&self, client: Client) -> bool {
        self.lock().admit(client, now_us())
    }
}


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

// ---------------------------------------------------------------- the middleware

/// Gives each request its audit record, and writes the record's events
/// before the response is sent — unless a write transaction already did.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let audited = req.path().starts_with("/v1/");
    let context = AuditContext::default();
    let request_id = req.extensions().get::<RequestId>().map(|id| id.0.to_string()).unwrap_or_default();
    context.start(crate::metrics::method_label(req.method()), request_id);
    req.extensions_mut().insert(context.clone());
    let store = req.app_data::<web::Data<Store>>().cloned();
    let throttle = req.app_data::<web::Data<Unauthenticated>>().cloned();
    let client = Client::of(req.peer_addr());
    let response = next.call(req).await?.map_into_boxed_body();
    if !audited || context.untouched() || context.written() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    if status == 401 && throttle.as_ref().is_some_and(|throttle| !throttle.admit(client)) {
        return Ok(response);
    }
    let events = context.events(status, now_us());
    let result = match store {
        Some(store) => store.record(events).await,
        None => Err(ApiError::Internal("no store configured".into())),
    };
    match result {
        Ok(()) => Ok(response),
        Err(error) => {
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
pub async fn verify(db: &DatabaseConnection, assoc: Option<&str>) -> Result<u64, ChainError> {
    // What a write staged but no seal took yet (a node that died between
    // its commit and its seal) joins its chain first.
    chain::seal_all(db).await?;
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
}
