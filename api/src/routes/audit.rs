//! Reading the audit trail: the association's log for auditors, and one
//! participant's access log (who has looked at my plan?) as JSON or CSV.
//! These reads are themselves audited, like every `/v1` request.

use crate::record::Outcome;
use crate::auth::Auth;
use crate::entities::{audit_event, participant};
use crate::error::{ApiError, Problem};
use crate::config::SecretKey;
use crate::extract::{fetch_page, limit, open_window, seal_window};
use crate::store::Store;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, TimeZone, Utc};
use samplan_domain::access::{self, Decision, ParticipantFacts};
use samplan_domain::{AssocId, OrgId};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Rows of one CSV export at most.
const CSV_MAX: u64 = 100_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    /// Position in the association's chain.
    pub seq: i64,
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub sub: String,
    pub org: String,
    pub agency: String,
    pub role: String,
    /// Method and route template, e.g. `GET /v1/plans/{id}`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    pub outcome: Outcome,
    /// The HTTP status the request was answered with.
    pub status: u16,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventPage {
    pub items: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// One line of a participant's access log.
#[derive(Debug, Serialize, ToSchema)]
pub struct Access {
    pub occurred_at: DateTime<Utc>,
    pub org: String,
    pub agency: String,
    pub role: String,
    pub action: String,
    pub outcome: Outcome,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLog {
    pub participant_id: Uuid,
    pub items: Vec<Access>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub participant: Option<Uuid>,
    /// Organisation slug.
    #[param(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$", example = "vasteras-kommun")]
    pub organisation: Option<String>,
    pub outcome: Option<Outcome>,
    /// From this time (inclusive), RFC 3339.
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive), RFC 3339.
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, example = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; omit for the first page.
    /// Paging ends at the events that existed when the first page was read.
    #[param(pattern = "^[A-Za-z0-9_-]{21}[AQgw][.][A-Za-z0-9_-]{21}[AQgw]$")]
    pub cursor: Option<String>,
}

/// `limit` and `cursor` of the access log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessLogQuery {
    /// Items per page, 1–500 (default 50; larger values are capped at 500). Ignored for CSV.
    #[param(minimum = 1, example = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; omit for the first page. Ignored for CSV.
    /// Paging ends at the events that existed when the first page was read.
    #[param(pattern = "^[A-Za-z0-9_-]{21}[AQgw][.][A-Za-z0-9_-]{21}[AQgw]$")]
    pub cursor: Option<String>,
}

fn outcome(stored: &str) -> Result<Outcome, ApiError> {
    serde_json::from_value(serde_json::Value::String(stored.to_owned()))
        .map_err(|_| ApiError::Internal("stored outcome".into()))
}

fn time(us: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

fn event_view(m: audit_event::Model) -> Result<AuditEvent, ApiError> {
    Ok(AuditEvent {
        seq: m.seq,
        id: m.id,
        occurred_at: time(m.occurred_at_us),
        outcome: outcome(&m.outcome)?,
        status: m.status as u16,
        sub: m.sub,
        org: m.org,
        agency: m.agency,
        role: m.role,
        action: m.action,
        resource_type: m.resource_type,
        resource_id: m.resource_id,
        participant_id: m.participant_id,
        request_id: m.request_id,
        prev_hash: m.prev_hash,
        hash: m.hash,
    })
}

/// The positions a page of the log covers: after the cursor's place, up to
/// the chain's head when the first page was read. Reading the log adds events
/// to it (reads are audited), so without that bound paging would not end.
/// Cursors are sealed (`extract::seal_window`): the chain's sequence numbers
/// count every event of the association, and a case worker reading one
/// participant's access log must not learn how many there are.
async fn window(store: &Store, key: &SecretKey, owner: &[&[u8]], cursor: Option<&str>, assoc: &str) -> Result<(i64, i64), ApiError> {
    if let Some(cursor) = cursor {
        return open_window(key, owner, cursor);
    }
    // The first page bounds the listing at the chain's head: every
    // answered request's events are in the chain by then.
    store.sealed(assoc).await?;
    let head: Option<Option<i64>> = audit_event::Entity::find()
        .select_only()
        .column_as(audit_event::Column::Seq.max(), "head")
        .filter(audit_event::Column::Assoc.eq(assoc))
        .into_tuple()
        .one(store.db())
        .await?;
    Ok((0, head.flatten().unwrap_or(0)))
}

/// A page of events in `(after, until]`, oldest first, and the cursor of the next.
async fn page(
    select: sea_orm::Select<audit_event::Entity>,
    store: &Store,
    key: &SecretKey,
    owner: &[&[u8]],
    (after, until): (i64, i64),
    limit: u64,
) -> Result<(Vec<audit_event::Model>, Option<String>), ApiError> {
    let select = select
        .filter(audit_event::Column::Seq.gt(after))
        .filter(audit_event::Column::Seq.lte(until))
        .order_by_asc(audit_event::Column::Seq);
    fetch_page(store.db(), select, limit, |last| seal_window(key, owner, last.seq, until)).await
}

/// The association's audit events, oldest first. Auditors only.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditEventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/audit-events")]
pub async fn events(
    auth: Auth,
    store: web::Data<Store>,
    key: web::Data<SecretKey>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<AuditEventPage>, ApiError> {
    // The participant asked about is named on this read's event, so the
    // participant's own access log shows who read about them.
    let asked = match query.participant {
        Some(id) => participant::Entity::find_by_id(id)
            .filter(participant::Column::Assoc.eq(auth.assoc.as_str()))
            .one(store.db())
            .await?
            .map(|found| found.id),
        None => None,
    };
    if access::may_read_audit_log(&auth) == Decision::Forbidden {
        if let Some(id) = asked {
            auth.audit.refused(id);
        }
        return Err(ApiError::Forbidden("the audit log is read by the association's auditors"));
    }
    if let Some(id) = asked {
        auth.audit.saw(id);
    }
    let limit = limit(query.limit)?;
    let owner: [&[u8]; 3] = [auth.assoc.as_str().as_bytes(), auth.org.as_str().as_bytes(), b"audit-events"];
    let window = window(&store, &key, &owner, query.cursor.as_deref(), auth.assoc.as_str()).await?;
    let mut select = audit_event::Entity::find().filter(audit_event::Column::Assoc.eq(auth.assoc.as_str()));
    if let Some(participant) = query.participant {
        select = select.filter(audit_event::Column::ParticipantId.eq(participant));
    }
    if let Some(org) = &query.organisation {
        let org = OrgId::parse(org).map_err(|_| ApiError::BadRequest("organisation must be a slug.".into()))?;
        select = select.filter(audit_event::Column::Org.eq(org.as_str()));
    }
    if let Some(outcome) = query.outcome {
        select = select.filter(audit_event::Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(from) = query.from {
        select = select.filter(audit_event::Column::OccurredAtUs.gte(from.timestamp_micros()));
    }
    if let Some(to) = query.to {
        select = select.filter(audit_event::Column::OccurredAtUs.lt(to.timestamp_micros()));
    }
    let (rows, next_cursor) = page(select, &store, &key, &owner, window, limit).await?;
    let items = rows.into_iter().map(event_view).collect::<Result<_, _>>()?;
    Ok(web::Json(AuditEventPage { items, next_cursor }))
}

/// Who has looked at this participant's records: organisation, agency, role,
/// when, what and with what outcome. `Accept: text/csv` gives the whole log
/// as CSV, to hand to the participant.
#[utoipa::path(
    tag = "audit",
    params(("id" = Uuid, Path, description = "Participant id"), AccessLogQuery),
    responses(
        (status = 200, description = "A page of the log as JSON, or the whole log as CSV (`Accept: text/csv`)", content(
            (AccessLog = "application/json"),
            (String = "text/csv"),
        )),
        (status = 403, description = "Sees the participant but may not read the log", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/participants/{id}/access-log")]
pub async fn access_log(
    auth: Auth,
    store: web::Data<Store>,
    key: web::Data<SecretKey>,
    id: web::Path<Uuid>,
    query: web::Query<AccessLogQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page_limit = limit(query.limit)?;
    let found = participant::Entity::find_by_id(id.into_inner())
        .filter(participant::Column::Assoc.eq(auth.assoc.as_str()))
        .one(store.db())
        .await?
        .ok_or(ApiError::NotFound)?;
    let assoc = AssocId::parse(&found.assoc).map_err(|_| ApiError::Internal("stored assoc".into()))?;
    let registered_by = OrgId::parse(&found.org).map_err(|_| ApiError::Internal("stored org".into()))?;
    let facts = ParticipantFacts { assoc: &assoc, registered_by: &registered_by };
    if !access::may_read_access_log(&auth, facts) {
        // Those who see the participant learn they may not read the log;
        // everyone else learns nothing.
        let today = crate::store::scope::today();
        let consents = crate::store::scope::consents_of(store.db(), found.id).await?;
        auth.audit.refused(found.id);
        return Err(if access::may_see_participant(&auth, facts, &consents, today) {
            ApiError::Forbidden("the access log is read by auditors and the registering organisation's case workers")
        } else {
            ApiError::NotFound
        });
    }
    auth.audit.saw(found.id);
    let wants_csv = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    let limit = if wants_csv { CSV_MAX } else { page_limit };
    let participant_bytes = found.id.into_bytes();
    let owner: [&[u8]; 3] = [found.assoc.as_bytes(), auth.org.as_str().as_bytes(), &participant_bytes];
    let cursor = query.cursor.as_deref().filter(|_| !wants_csv);
    let window = window(&store, &key, &owner, cursor, &found.assoc).await?;
    let select = audit_event::Entity::find()
        .filter(audit_event::Column::Assoc.eq(found.assoc.as_str()))
        .filter(audit_event::Column::ParticipantId.eq(found.id));
    let (rows, next_cursor) = page(select, &store, &key, &owner, window, limit).await?;
    let items: Vec<Access> = rows
        .into_iter()
        .map(|m| {
            Ok(Access {
                occurred_at: time(m.occurred_at_us),
                outcome: outcome(&m.outcome)?,
                org: m.org,
                agency: m.agency,
                role: m.role,
                action: m.action,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    if wants_csv {
        let mut csv = String::from("occurred_at,org,agency,role,action,outcome\r\n");
        for item in &items {
            let fields = [
                item.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                item.org.clone(),
                item.agency.clone(),
                item.role.clone(),
                item.action.clone(),
                item.outcome.as_str().to_owned(),
            ];
            csv.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            csv.push_str("\r\n");
        }
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"access-log.csv\""))
            .body(csv));
    }
    Ok(HttpResponse::Ok().json(AccessLog { participant_id: found.id, items, next_cursor }))
}

/// RFC 4180 quoting.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}
