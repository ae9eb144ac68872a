//! Enrolling a plan in a project and recording the exit, with the
//! participant's main source of support at both ends (the categories of
//! Försäkringskassan's follow-up of coordination associations).

use crate::auth::Auth;
use crate::entities::enrolment;
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch};
use crate::routes::projects::project_of;
use crate::routes::{created_with_etag, with_etag};
use crate::store::{Store, scope, versioned};
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use samplan_domain::access::{self, Decision};
use samplan_domain::report::ExitReason;
use samplan_domain::{OrgId, SupportSource, ValidationErrors};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnrolment {
    pub project_id: Uuid,
    pub enrolled_on: NaiveDate,
    /// The participant's main source of support at enrolment.
    pub support_at_start: SupportSource,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentExit {
    pub left_on: NaiveDate,
    pub exit_reason: ExitReason,
    /// The participant's main source of support at exit.
    pub support_at_exit: SupportSource,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolment {
    pub id: Uuid,
    pub project_id: Uuid,
    pub plan_id: Uuid,
    pub enrolled_on: NaiveDate,
    pub support_at_start: SupportSource,
    pub left_on: Option<NaiveDate>,
    pub exit_reason: Option<ExitReason>,
    pub support_at_exit: Option<SupportSource>,
    /// The organisation that enrolled the plan.
    pub org: String,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentList {
    pub items: Vec<Enrolment>,
}

fn corrupt() -> ApiError {
    ApiError::Internal("stored enrolment does not parse".into())
}

fn view(m: enrolment::Model) -> Result<Enrolment, ApiError> {
    Ok(Enrolment {
        id: m.id,
        project_id: m.project_id,
        plan_id: m.plan_id,
        enrolled_on: m.enrolled_on,
        support_at_start: SupportSource::parse(&m.support_at_start).ok_or_else(corrupt)?,
        left_on: m.left_on,
        exit_reason: m.exit_reason.map(|r| ExitReason::parse(&r).ok_or_else(corrupt)).transpose()?,
        support_at_exit: m.support_at_exit.map(|s| SupportSource::parse(&s).ok_or_else(corrupt)).transpose()?,
        org: m.org,
        version: m.version,
        updated_at: m.updated_at,
    })
}

async fn enrolment_of<C: ConnectionTrait>(db: &C, plan: Uuid, id: Uuid) -> Result<enrolment::Model, ApiError> {
    enrolment::Entity::find_by_id(id)
        .filter(enrolment::Column::PlanId.eq(plan))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Enrol the plan in a project. For case workers and coordinators who see the plan.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path, description = "Plan id")),
    request_body = NewEnrolment,
    responses(
        (status = 201, body = Enrolment, headers(("Location" = String), ("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The plan is already enrolled in that project", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/plans/{id}/enrolments")]
pub async fn enrol(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    Body(body): Body<NewEnrolment>,
) -> Result<HttpResponse, ApiError> {
    let txn = store.begin_write(&auth).await?;
    let (plan, participant) = scope::visible_plan(&txn, &auth, id.into_inner(), scope::today()).await?;
    let project = project_of(&txn, &auth, body.project_id)
        .await
        .map_err(|_| ValidationErrors::single("project_id", "no such project in the association"))?;
    let now = Utc::now();
    let new_id = Uuid::now_v7();
    // A plan already enrolled in the project and not yet left runs into
    // ux_enrolments_open: 409, also when two enrolments race.
    let row = enrolment::ActiveModel {
        id: Set(new_id),
        project_id: Set(project.id),
        plan_id: Set(plan.id),
        participant_id: Set(participant.model.id),
        enrolled_on: Set(body.enrolled_on),
        support_at_start: Set(body.support_at_start.as_str().into()),
        left_on: Set(None),
        exit_reason: Set(None),
        support_at_exit: Set(None),
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
    auth.audit.created(new_id);
    txn.commit().await?;
    let view = view(row)?;
    Ok(created_with_etag(format!("/v1/plans/{}/enrolments/{}", plan.id, view.id), view.version, &view))
}

/// The plan's enrolments in projects.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path, description = "Plan id")),
    responses((status = 200, body = EnrolmentList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/plans/{id}/enrolments")]
pub async fn list(auth: Auth, store: web::Data<Store>, id: web::Path<Uuid>) -> Result<web::Json<EnrolmentList>, ApiError> {
    let (plan, _) = scope::visible_plan(store.db(), &auth, id.into_inner(), scope::today()).await?;
    let rows = enrolment::Entity::find()
        .filter(enrolment::Column::PlanId.eq(plan.id))
        .order_by_asc(enrolment::Column::Id)
        .all(store.db())
        .await?;
    Ok(web::Json(EnrolmentList { items: rows.into_iter().map(view).collect::<Result<_, _>>()? }))
}

/// Read an enrolment, with its ETag.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path, description = "Plan id"), ("enrolment_id" = Uuid, Path)),
    responses((status = 200, body = Enrolment, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/plans/{id}/enrolments/{enrolment_id}")]
pub async fn read(auth: Auth, store: web::Data<Store>, path: web::Path<(Uuid, Uuid)>) -> Result<HttpResponse, ApiError> {
    let (plan_id, enrolment_id) = path.into_inner();
    let (plan, _) = scope::visible_plan(store.db(), &auth, plan_id, scope::today()).await?;
    let view = view(enrolment_of(store.db(), plan.id, enrolment_id).await?)?;
    Ok(with_etag(view.version, &view))
}

/// Record the exit from the project. Needs `If-Match`; the organisation that
/// enrolled the plan records it.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path, description = "Plan id"), ("enrolment_id" = Uuid, Path), ("If-Match" = String, Header, description = "The enrolment's ETag")),
    request_body = EnrolmentExit,
    responses(
        (status = 200, body = Enrolment, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/plans/{id}/enrolments/{enrolment_id}")]
pub async fn exit(
    auth: Auth,
    store: web::Data<Store>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    Body(body): Body<EnrolmentExit>,
) -> Result<HttpResponse, ApiError> {
    let (plan_id, enrolment_id) = path.into_inner();
    let txn = store.begin_write(&auth).await?;
    let (plan, _) = scope::visible_plan(&txn, &auth, plan_id, scope::today()).await?;
    let current = enrolment_of(&txn, plan.id, enrolment_id).await?;
    let enrolled_by = OrgId::parse(&current.org).map_err(|_| corrupt())?;
    if access::may_change_contribution(&auth, &enrolled_by) == Decision::Forbidden {
        return Err(ApiError::Forbidden("the organisation that enrolled the plan records the exit"));
    }
    if body.left_on < current.enrolled_on {
        return Err(ValidationErrors::single("left_on", "must not be before enrolled_on").into());
    }
    if_match.check(current.version)?;
    let changes = enrolment::Entity::update_many()
        .col_expr(enrolment::Column::LeftOn, Expr::value(body.left_on))
        .col_expr(enrolment::Column::ExitReason, Expr::value(body.exit_reason.as_str()))
        .col_expr(enrolment::Column::SupportAtExit, Expr::value(body.support_at_exit.as_str()));
    let row = versioned::update(&txn, &current, changes, &auth).await?;
    txn.commit().await?;
    let view = view(row)?;
    Ok(with_etag(view.version, &view))
}
