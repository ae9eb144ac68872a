//! Small steps (små steg): what, who (the participant or an organisation
//! that sees the plan), by when, and how it went. Each step has its own
//! ETag; only the organisation that recorded a step changes it.

use super::{TEXT_MAX, contributor, corrupt, own_contribution};
use crate::auth::Auth;
use crate::entities::plan_step;
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch};
use crate::routes::{created_with_etag, with_etag};
use crate::store::{Store, scope, versioned};
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use samplan_domain::validation::{self, ValidationErrors};
use samplan_domain::{Contributor, StepStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct Step {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub description: String,
    /// `participant` or the organisation that takes the step.
    pub owner: String,
    pub due: Option<NaiveDate>,
    pub status: StepStatus,
    /// What changed when it was done.
    pub outcome: Option<String>,
    /// The organisation that recorded the step; only it may change it.
    pub org: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
}

pub(super) fn step_view(m: plan_step::Model) -> Result<Step, ApiError> {
    Ok(Step {
        id: m.id,
        plan_id: m.plan_id,
        description: m.description,
        owner: m.owner,
        due: m.due,
        status: StepStatus::parse(&m.status).ok_or_else(|| corrupt("step status"))?,
        outcome: m.outcome,
        org: m.org,
        version: m.version,
        created_at: m.created_at,
        created_by: m.created_by,
        updated_at: m.updated_at,
    })
}

/// A step belongs to the participant or to an organisation that can see the plan.
fn step_owner_sees_plan(
    participant: &scope::VisibleParticipant,
    owner: &Contributor,
    today: NaiveDate,
) -> Result<(), ApiError> {
    match owner {
        Contributor::Organisation(org) if !participant.seen_by(org, today) => Err(ApiError::Validation(
            ValidationErrors::single("owner", "must be \"participant\" or an organisation that can see the plan"),
        )),
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStep {
    #[schema(example = "Besöka en förskola och fråga om praktik", max_length = 4000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub description: String,
    /// `participant`, or an organisation that can see the plan (the registering
    /// organisation or one named in an active consent); otherwise 422.
    #[schema(example = "participant", pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub owner: String,
    pub due: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepChanges {
    #[schema(max_length = 4000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub description: Option<String>,
    /// `participant`, or an organisation that can see the plan; otherwise 422.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub owner: Option<String>,
    pub due: Option<NaiveDate>,
    pub status: Option<StepStatus>,
    /// What changed when it was done.
    #[schema(max_length = 4000)]
    pub outcome: Option<String>,
}

/// Add a small step.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path)),
    request_body = NewStep,
    responses(
        (status = 201, body = Step, headers(("Location" = String), ("ETag" = String)), links(
            ("read_step" = (operation_id = "read_step", parameters(("id" = "$response.body#/plan_id"), ("step_id" = "$response.body#/id")))),
            ("patch_step" = (operation_id = "patch_step", parameters(("id" = "$response.body#/plan_id"), ("step_id" = "$response.body#/id"), ("header.If-Match" = "$response.header.ETag")))),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/plans/{id}/steps")]
pub async fn add_step(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    Body(body): Body<NewStep>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    validation::text(&mut errors, "description", &body.description, TEXT_MAX, true);
    let owner = contributor(&mut errors, &auth, "owner", &body.owner);
    let owner = errors.finish(|| owner.expect("parsed when no errors"))?;

    let txn = store.begin_write(&auth).await?;
    let today = scope::today();
    let (plan, participant) = scope::visible_plan(&txn, &auth, id.into_inner(), today).await?;
    step_owner_sees_plan(&participant, &owner, today)?;
    let now = Utc::now();
    let new_id = Uuid::now_v7();
    auth.audit.created(new_id);
    let row = plan_step::ActiveModel {
        id: Set(new_id),
        plan_id: Set(plan.id),
        description: Set(body.description),
        owner: Set(owner.as_str().to_owned()),
        due: Set(body.due),
        status: Set(StepStatus::Planned.as_str().into()),
        outcome: Set(None),
        assoc: Set(auth.assoc.to_string()),
        org: Set(auth.org.to_string()),
        created_by: Set(auth.sub.clone()),
        created_at: Set(now),
        version: Set(1),
        updated_org: Set(auth.org.to_string()),
        updated_by: Set(auth.sub.clone()),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    let view = step_view(row)?;
    Ok(created_with_etag(format!("/v1/plans/{}/steps/{}", plan.id, view.id), view.version, &view))
}

async fn step_of<C: ConnectionTrait>(db: &C, plan_id: Uuid, step_id: Uuid) -> Result<plan_step::Model, ApiError> {
    plan_step::Entity::find_by_id(step_id)
        .filter(plan_step::Column::PlanId.eq(plan_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Read a small step, with its ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path), ("step_id" = Uuid, Path)),
    responses(
        (status = 200, body = Step, headers(("ETag" = String)), links(
            ("patch_step" = (operation_id = "patch_step", parameters(("id" = "$request.path.id"), ("step_id" = "$request.path.step_id"), ("header.If-Match" = "$response.header.ETag")))),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/plans/{id}/steps/{step_id}")]
pub async fn read_step(
    auth: Auth,
    store: web::Data<Store>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (plan_id, step_id) = path.into_inner();
    let (plan, _) = scope::visible_plan(store.db(), &auth, plan_id, scope::today()).await?;
    let view = step_view(step_of(store.db(), plan.id, step_id).await?)?;
    Ok(with_etag(view.version, &view))
}

/// Change a small step your organisation recorded. Needs `If-Match` with the step's ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path), ("step_id" = Uuid, Path), ("If-Match" = String, Header, description = "The step's ETag")),
    request_body = StepChanges,
    responses(
        (status = 200, body = Step, headers(("ETag" = String))),
        (status = 403, description = "Another organisation's step", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/plans/{id}/steps/{step_id}")]
pub async fn patch_step(
    auth: Auth,
    store: web::Data<Store>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    Body(body): Body<StepChanges>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    if let Some(description) = &body.description {
        validation::text(&mut errors, "description", description, TEXT_MAX, true);
    }
    if let Some(outcome) = &body.outcome {
        validation::text(&mut errors, "outcome", outcome, TEXT_MAX, false);
    }
    let owner = body.owner.as_deref().and_then(|raw| contributor(&mut errors, &auth, "owner", raw));
    errors.finish(|| ())?;

    let (plan_id, step_id) = path.into_inner();
    let txn = store.begin_write(&auth).await?;
    let today = scope::today();
    let (plan, participant) = scope::visible_plan(&txn, &auth, plan_id, today).await?;
    if let Some(owner) = &owner {
        step_owner_sees_plan(&participant, owner, today)?;
    }
    let current = step_of(&txn, plan.id, step_id).await?;
    own_contribution(&auth, &current.org)?;
    if_match.check(current.version)?;
    let mut update = plan_step::Entity::update_many();
    if let Some(description) = body.description {
        update = update.col_expr(plan_step::Column::Description, Expr::value(description));
    }
    if let Some(owner) = owner {
        update = update.col_expr(plan_step::Column::Owner, Expr::value(owner.as_str()));
    }
    if let Some(due) = body.due {
        update = update.col_expr(plan_step::Column::Due, Expr::value(due));
    }
    if let Some(status) = body.status {
        update = update.col_expr(plan_step::Column::Status, Expr::value(status.as_str()));
    }
    if let Some(outcome) = body.outcome {
        update = update.col_expr(plan_step::Column::Outcome, Expr::value(outcome));
    }
    let row = versioned::update(&txn, &current, update, &auth).await?;
    txn.commit().await?;
    let view = step_view(row)?;
    Ok(with_etag(view.version, &view))
}
