//! Consent (samtycke): recorded and withdrawn by the organisation that
//! registered the participant; read by everyone who sees the participant.

use crate::auth::Auth;
use crate::entities::{consent, consent_organisation};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch, PageQuery};
use crate::routes::{created, with_etag};
use crate::store::versioned::{self, Versioned};
use crate::store::{Store, scope};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use samplan_domain::access::{self, ConsentPeriod, Decision};
use samplan_domain::validation::{self, ValidationErrors};
use samplan_domain::{OrgId, Principal};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;
use uuid::Uuid;

const ORGANISATIONS_MAX: usize = 50;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    /// The organisations that may share information about the participant.
    #[schema(example = json!(["vasteras-kommun", "af-vasteras"]), min_items = 1, max_items = 50, pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub organisations: Vec<String>,
    #[schema(example = "samordnad rehabilitering", max_length = 1000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub purpose: String,
    /// First day the consent is active (Swedish calendar date, inclusive).
    #[schema(example = "2026-11-24")]
    pub valid_from: NaiveDate,
    /// Last day the consent is active (inclusive); not before `valid_from`.
    #[schema(example = "2027-11-24")]
    pub valid_until: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Consent {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub organisations: Vec<String>,
    pub purpose: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// Whether the consent gives access today: within its period and not withdrawn.
    pub active: bool,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawn_by: Option<String>,
    pub withdrawn_org: Option<String>,
    /// The organisation that recorded it.
    pub recorded_by_org: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentPage {
    pub items: Vec<Consent>,
    pub next_cursor: Option<String>,
}

fn view(model: consent::Model, organisations: Vec<String>, today: NaiveDate) -> Consent {
    let active = model.withdrawn_at.is_none() && model.valid_from <= today && today <= model.valid_until;
    Consent {
        id: model.id,
        participant_id: model.participant_id,
        organisations,
        purpose: model.purpose,
        valid_from: model.valid_from,
        valid_until: model.valid_until,
        active,
        withdrawn_at: model.withdrawn_at,
        withdrawn_by: model.withdrawn_by,
        withdrawn_org: model.withdrawn_org,
        recorded_by_org: model.org,
        created_by: model.created_by,
        created_at: model.created_at,
        version: model.version,
    }
}

async fn organisations_of<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>, ApiError> {
    let rows = consent_organisation::Entity::find()
        .filter(consent_organisation::Column::ConsentId.is_in(ids.iter().copied()))
        .order_by_asc(consent_organisation::Column::Org)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.consent_id, r.org)).collect())
}

fn manages(principal: &Principal, participant: &scope::VisibleParticipant) -> Result<(), ApiError> {
    match access::may_manage_consents(principal, participant.facts()) {
        Decision::Allowed => Ok(()),
        Decision::Forbidden => {
            Err(ApiError::Forbidden("consent is recorded and withdrawn by the organisation that registered the participant"))
        }
    }
}

/// Record a participant's consent to share information with the named organisations.
#[utoipa::path(
    tag = "consents",
    params(("id" = Uuid, Path, description = "Participant id")),
    request_body = NewConsent,
    responses(
        (status = 201, body = Consent, headers(("Location" = String)), links(
            ("read_consent" = (operation_id = "read_consent", parameters(("id" = "$response.body#/participant_id"), ("cid" = "$response.body#/id")))),
        )),
        (status = 403, description = "Not the registering organisation", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/participants/{id}/consents")]
pub async fn record(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    Body(body): Body<NewConsent>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let mut organisations = BTreeSet::new();
    if body.organisations.is_empty() {
        errors.add("organisations", "must name at least one organisation");
    } else if body.organisations.len() > ORGANISATIONS_MAX {
        errors.add("organisations", format!("must name at most {ORGANISATIONS_MAX} organisations"));
    }
    for (i, raw) in body.organisations.iter().enumerate() {
        let field = format!("organisations[{i}]");
        if let Some(org) = errors.check(&field, OrgId::parse(raw)) {
            auth.check_organisation(&mut errors, &field, &org);
            organisations.insert(org);
        }
    }
    validation::text(&mut errors, "purpose", &body.purpose, 1000, true);
    let period = errors.check("valid_until", ConsentPeriod::parse(body.valid_from, body.valid_until));
    let period = errors.finish(|| period.expect("parsed when no errors"))?;

    let txn = store.begin_write(&auth).await?;
    let today = scope::today();
    let participant = scope::visible_participant(&txn, &auth, id.into_inner(), today).await?;
    manages(&auth, &participant)?;
    let consent_id = Uuid::now_v7();
    auth.audit.created(consent_id);
    let row = consent::ActiveModel {
        id: Set(consent_id),
        participant_id: Set(participant.model.id),
        purpose: Set(body.purpose),
        valid_from: Set(period.valid_from()),
        valid_until: Set(period.valid_until()),
        withdrawn_at: Set(None),
        withdrawn_by: Set(None),
        withdrawn_org: Set(None),
        assoc: Set(auth.assoc.to_string()),
        org: Set(auth.org.to_string()),
        created_by: Set(auth.sub.clone()),
        created_at: Set(Utc::now()),
        version: Set(1),
    }
    .insert(&txn)
    .await?;
    consent_organisation::Entity::insert_many(organisations.iter().map(|org| consent_organisation::ActiveModel {
        consent_id: Set(consent_id),
        org: Set(org.to_string()),
        participant_id: Set(participant.model.id),
    }))
    .exec(&txn)
    .await?;
    txn.commit().await?;
    let names = organisations.into_iter().map(|o| o.to_string()).collect();
    let location = format!("/v1/participants/{}/consents/{}", row.participant_id, row.id);
    Ok(created(location, &view(row, names, today)))
}

/// The participant's consents, active, expired and withdrawn, oldest first.
#[utoipa::path(
    tag = "consents",
    operation_id = "list_consents",
    params(("id" = Uuid, Path, description = "Participant id"), PageQuery),
    responses(
        (status = 200, body = ConsentPage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/participants/{id}/consents")]
pub async fn list(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ConsentPage>, ApiError> {
    let page = query.page()?;
    let today = scope::today();
    let participant = scope::visible_participant(store.db(), &auth, id.into_inner(), today).await?;
    let select = consent::Entity::find().filter(consent::Column::ParticipantId.eq(participant.model.id));
    let (rows, next_cursor) = page.fetch(store.db(), select, consent::Column::Id, |row| row.id).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let named = organisations_of(store.db(), &ids).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let orgs = named.iter().filter(|(cid, _)| *cid == row.id).map(|(_, org)| org.clone()).collect();
            view(row, orgs, today)
        })
        .collect();
    Ok(web::Json(ConsentPage { items, next_cursor }))
}

/// Read one consent, with its ETag (needed to withdraw it).
#[utoipa::path(
    tag = "consents",
    operation_id = "read_consent",
    params(("id" = Uuid, Path, description = "Participant id"), ("cid" = Uuid, Path, description = "Consent id")),
    responses(
        (status = 200, body = Consent, headers(("ETag" = String)), links(
            ("withdraw" = (operation_id = "withdraw", parameters(("id" = "$request.path.id"), ("cid" = "$request.path.cid"), ("header.If-Match" = "$response.header.ETag")))),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/participants/{id}/consents/{cid}")]
pub async fn read(auth: Auth, store: web::Data<Store>, path: web::Path<(Uuid, Uuid)>) -> Result<HttpResponse, ApiError> {
    let (participant_id, consent_id) = path.into_inner();
    let today = scope::today();
    let participant = scope::visible_participant(store.db(), &auth, participant_id, today).await?;
    let row = consent::Entity::find_by_id(consent_id)
        .filter(consent::Column::ParticipantId.eq(participant.model.id))
        .one(store.db())
        .await?
        .ok_or(ApiError::NotFound)?;
    let named = organisations_of(store.db(), &[row.id]).await?.into_iter().map(|(_, org)| org).collect();
    let view = view(row, named, today);
    Ok(with_etag(view.version, &view))
}

/// Withdraw a consent. Access it gave ends at once; the consent is kept, with
/// who withdrew it and when. Withdrawing is as easy as giving consent (GDPR
/// art. 7(3)): `If-Match` is optional. When sent, a stale ETag is 412; a
/// second withdrawal, with or without it, is 409 and changes nothing.
#[utoipa::path(
    tag = "consents",
    params(
        ("id" = Uuid, Path, description = "Participant id"),
        ("cid" = Uuid, Path, description = "Consent id"),
        ("If-Match" = Option<String>, Header, description = "The consent's ETag (optional; checked when sent)"),
    ),
    responses(
        (status = 200, body = Consent, headers(("ETag" = String))),
        (status = 403, description = "Not the registering organisation", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match was sent and is stale", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/participants/{id}/consents/{cid}/withdraw")]
pub async fn withdraw(
    auth: Auth,
    store: web::Data<Store>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: Option<IfMatch>,
) -> Result<HttpResponse, ApiError> {
    let (participant_id, consent_id) = path.into_inner();
    let txn = store.begin_write(&auth).await?;
    let today = scope::today();
    let participant = scope::visible_participant(&txn, &auth, participant_id, today).await?;
    let current = consent::Entity::find_by_id(consent_id)
        .filter(consent::Column::ParticipantId.eq(participant.model.id))
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    manages(&auth, &participant)?;
    if let Some(withdrawn) = consent::Entity::finished(&current) {
        return Err(withdrawn);
    }
    if let Some(if_match) = &if_match {
        if_match.check(current.version)?;
    }
    let changes = consent::Entity::update_many()
        .col_expr(consent::Column::WithdrawnAt, Expr::value(Utc::now()))
        .col_expr(consent::Column::WithdrawnBy, Expr::value(auth.sub.clone()))
        .col_expr(consent::Column::WithdrawnOrg, Expr::value(auth.org.to_string()));
    let row = versioned::update(&txn, &current, changes, &auth).await?;
    let named = organisations_of(&txn, &[row.id]).await?.into_iter().map(|(_, org)| org).collect();
    txn.commit().await?;
    let view = view(row, named, today);
    Ok(with_etag(view.version, &view))
}
