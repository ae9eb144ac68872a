//! The per-request record: who asked, which route, which participants the
//! request saw or was refused, what it created, and its idempotency key.
//! A leaf: the extractor (`auth`), the store's write path and the audit
//! middleware all fill or read it, and it depends on none of them.

use actix_web::{HttpMessage, HttpRequest};
use samplan_domain::{AssocId, Principal};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// The chain of requests that failed authentication: their claims cannot be
/// trusted, so they belong to no association. `-` is not a valid slug.
pub const UNAUTHENTICATED_CHAIN: &str = "-";

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
pub(crate) struct Record {
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
    idempotency: Option<IdempotencyKey>,
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
    pub fn idempotency(&self, key: IdempotencyKey) {
        self.with(|r| r.idempotency = Some(key));
    }

    /// The answer is a replay of an earlier request with the same key: the
    /// route is not resolved here, so the original's stands in for it (never
    /// the path, which is client text).
    pub fn replayed(&self, principal: &Principal, original: Original) {
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

    /// Called by the audit middleware as the request starts.
    pub fn start(&self, method: &str, request_id: String) {
        self.with(|r| {
            r.method = method.to_owned();
            r.request_id = request_id;
        });
    }

    /// Whether the request never reached a route or a principal (a probe,
    /// an unknown path): nothing to audit.
    pub fn untouched(&self) -> bool {
        self.with(|r| r.route.is_none() && r.principal.is_none())
    }

    /// Whether a write already committed this request's events.
    pub fn written(&self) -> bool {
        self.with(|r| r.written)
    }

    /// What a write commits with: its status (201 when it created
    /// something), its idempotency key, what a replay needs, and its events.
    pub fn committing(&self) -> (Option<IdempotencyKey>, Original, Vec<NewEvent>) {
        let (status, key, original) = self.with(|r| {
            let original = Original { route: r.route.clone(), resource_id: r.created, participant_id: r.seen.first().copied() };
            (if r.created.is_some() { 201 } else { 200 }, r.idempotency.clone(), original)
        });
        (key, original, self.events(status, now_us()))
    }

    /// The write's events are committed: the middleware writes none.
    pub fn committed(&self) {
        self.with(|r| r.written = true);
    }

    /// The events of this request, ending with `status`.
    pub fn events(&self, status: u16, now_us: i64) -> Vec<NewEvent> {
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
pub fn resource_of(route: &str, params: &[(String, String)]) -> (String, Option<String>) {
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let literal = segments.iter().rev().find(|s| !s.starts_with('{')).copied().unwrap_or("-");
    let id = params.last().map(|(_, v)| Uuid::parse_str(v).map_or_else(|_| INVALID_ID.to_owned(), |id| id.to_string()));
    (literal.to_owned(), id)
}

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


/// Who asks, with the request's record: what `store::scope` needs of a
/// request (the `Auth` extractor is one), so the store does not depend on
/// the HTTP layer.
pub trait Asker: std::ops::Deref<Target = Principal> + AsRef<AuditContext> {}

impl<T: std::ops::Deref<Target = Principal> + AsRef<AuditContext>> Asker for T {}

/// An `Idempotency-Key` as its write's transaction needs it: the key belongs
/// to the principal (association, organisation, `sub` and role together).
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub assoc: String,
    pub org: String,
    pub sub: String,
    pub role: String,
    pub key: String,
    pub path: String,
}

/// What the original request did, for the audit event of its replay.
#[derive(Debug, Clone, Default)]
pub struct Original {
    pub route: Option<String>,
    pub resource_id: Option<Uuid>,
    pub participant_id: Option<Uuid>,
}

/// The request's id, as logged and returned in `X-Request-Id`.
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub Uuid);

tokio::task_local! {
    /// Statements the store ran for the request being served.
    static STATEMENTS: std::cell::Cell<u32>;
}

/// Counts one statement against the request being served, if any (the
/// store's metric callback calls it; the write path's own batch statements
/// run outside any request and are not counted).
pub fn count_statement() {
    let _ = STATEMENTS.try_with(|count| count.set(count.get() + 1));
}

/// Runs a request, counting the statements the store runs for it.
pub async fn counting_statements<F: std::future::Future>(request: F) -> (F::Output, u32) {
    STATEMENTS
        .scope(std::cell::Cell::new(0), async {
            let output = request.await;
            (output, STATEMENTS.with(std::cell::Cell::get))
        })
        .await
}

pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

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
