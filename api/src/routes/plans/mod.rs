//! The common plan and its plus-model parts, one file per sub-resource:
//! the plan itself here, then its platform, solution scenario, resources,
//! small steps, scale readings, meetings and progress. The rules they apply
//! (the status a plan starts in, a meeting's dates, progress) are
//! `samplan_domain::plan`'s; who may do what is `samplan_domain::access`'s.

pub mod meetings;
pub mod platform;
pub mod progress;
pub mod resources;
pub mod scale_readings;
pub mod solution_scenario;
pub mod steps;

use crate::auth::Auth;
use crate::entities::{plan, plan_platform, plan_solution_scenario};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch};
use crate::routes::{created_with_etag, with_etag};
use crate::store::{Store, scope, versioned};
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use meetings::{Meeting, meeting_view};
use platform::{Platform, platform_view};
use resources::{Resource, resource_view};
use samplan_domain::access::{self, Decision, PlanFacts};
use samplan_domain::validation::{self, ValidationErrors};
use samplan_domain::{Contributor, OrgId, PlanStatus, Principal, SupportSource};
use scale_readings::{ScaleReading, reading_view};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use solution_scenario::{SolutionScenario, scenario_view};
use steps::{Step, step_view};
use utoipa::ToSchema;
use uuid::Uuid;

const TEXT_MAX: usize = 4000;
const LIST_MAX: usize = 50;

/// The whole plan, every part.
#[derive(Debug, Serialize, ToSchema)]
pub struct Plan {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub status: PlanStatus,
    /// The organisation leading the plan.
    pub leading_org: String,
    /// The `sub` of the plan's coordinator.
    pub coordinator: Option<String>,
    /// The coordinator's organisation: with `coordinator` it names the person
    /// (the same `sub` in another organisation is someone else).
    pub coordinator_org: Option<String>,
    /// The participant's main source of support when the plan started.
    pub support_at_start: Option<SupportSource>,
    /// … and when it ended.
    pub support_at_end: Option<SupportSource>,
    /// Version of the plan's own fields (status, coordinator, support); the ETag of this resource.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub platform: Platform,
    pub solution_scenario: SolutionScenario,
    pub resources: Vec<Resource>,
    pub steps: Vec<Step>,
    /// In time order.
    pub scale_readings: Vec<ScaleReading>,
    /// In date order.
    pub meetings: Vec<Meeting>,
}

fn corrupt(what: &str) -> ApiError {
    ApiError::Internal(format!("stored {what} does not parse"))
}

fn support(stored: Option<String>) -> Result<Option<SupportSource>, ApiError> {
    stored.map(|s| SupportSource::parse(&s).ok_or_else(|| corrupt("support source"))).transpose()
}

/// Loads every part of a plan: two queries, whatever its size (see `store::plans`).
async fn load_plan<C: ConnectionTrait>(db: &C, plan: plan::Model) -> Result<Plan, ApiError> {
    let parts = crate::store::plans::parts(db, &plan).await?;
    plan_view(plan, parts)
}

fn plan_view(plan: plan::Model, parts: crate::store::plans::PlanParts) -> Result<Plan, ApiError> {
    Ok(Plan {
        id: plan.id,
        participant_id: plan.participant_id,
        status: PlanStatus::parse(&plan.status).ok_or_else(|| corrupt("plan status"))?,
        leading_org: plan.leading_org,
        coordinator: plan.coordinator,
        coordinator_org: plan.coordinator_org,
        support_at_start: support(plan.support_at_start)?,
        support_at_end: support(plan.support_at_end)?,
        version: plan.version,
        created_at: plan.created_at,
        created_by: plan.created_by,
        updated_at: plan.updated_at,
        platform: platform_view(parts.platform)?,
        solution_scenario: scenario_view(parts.solution_scenario)?,
        resources: parts.resources.into_iter().map(resource_view).collect(),
        steps: parts.steps.into_iter().map(step_view).collect::<Result<_, _>>()?,
        scale_readings: parts.scale_readings.into_iter().map(reading_view).collect::<Result<_, _>>()?,
        meetings: parts.meetings.into_iter().map(meeting_view).collect::<Result<_, _>>()?,
    })
}

fn plan_level(principal: &Principal, plan: &plan::Model) -> Result<(), ApiError> {
    let leading_org = OrgId::parse(&plan.leading_org).map_err(|_| corrupt("leading org"))?;
    let coordinator_org =
        plan.coordinator_org.as_deref().map(OrgId::parse).transpose().map_err(|_| corrupt("coordinator org"))?;
    let coordinator = coordinator_org.as_ref().zip(plan.coordinator.as_deref());
    let facts = PlanFacts { leading_org: &leading_org, coordinator };
    match access::may_write_plan_level(principal, facts) {
        Decision::Allowed => Ok(()),
        Decision::Forbidden => Err(ApiError::Forbidden(
            "the plan-level parts are written by the plan's coordinator and the leading organisation's case workers",
        )),
    }
}

fn own_contribution(principal: &Principal, written_by: &str) -> Result<(), ApiError> {
    let org = OrgId::parse(written_by).map_err(|_| corrupt("org"))?;
    match access::may_change_contribution(principal, &org) {
        Decision::Allowed => Ok(()),
        Decision::Forbidden => Err(ApiError::Forbidden("only the organisation that recorded it may change it")),
    }
}

fn texts(errors: &mut ValidationErrors, field: &str, items: &[String]) {
    if items.len() > LIST_MAX {
        errors.add(field, format!("must have at most {LIST_MAX} items"));
    }
    for (i, item) in items.iter().enumerate() {
        validation::text(errors, &format!("{field}[{i}]"), item, TEXT_MAX, true);
    }
}

/// `participant` or an organisation of the caller's association.
fn contributor(errors: &mut ValidationErrors, auth: &Auth, field: &str, raw: &str) -> Option<Contributor> {
    let parsed =
        errors.check(field, Contributor::parse(raw).map_err(|_| "must be \"participant\" or an organisation slug"))?;
    if let Contributor::Organisation(org) = &parsed {
        auth.check_organisation(errors, field, org);
    }
    Some(parsed)
}

/// The plan's coordinator as a request names it: `coordinator` (a `sub`)
/// and `coordinator_org` go together, since a `sub` alone names no one. The
/// organisation is one of the association's; with a trust file, one whose
/// kind may hold the coordinator role.
fn coordinator(
    errors: &mut ValidationErrors,
    auth: &Auth,
    sub: Option<&str>,
    org: Option<&str>,
) -> Option<(String, OrgId)> {
    match (sub, org) {
        (None, None) => None,
        (Some(_), None) => {
            errors.add("coordinator_org", "is required with coordinator: the coordinator is a person of an organisation");
            None
        }
        (None, Some(_)) => {
            errors.add("coordinator", "is required with coordinator_org");
            None
        }
        (Some(sub), Some(org)) => {
            validation::text(errors, "coordinator", sub, 255, true);
            let org = errors.check("coordinator_org", OrgId::parse(org))?;
            auth.check_organisation(errors, "coordinator_org", &org);
            let kind = auth.trust.as_ref().and_then(|trust| trust.organisation(&auth.assoc, &org)).map(|o| o.agency);
            if kind.is_some_and(|agency| !access::role_fits_agency(samplan_domain::Role::Coordinator, agency)) {
                errors.add("coordinator_org", "must be an organisation of kind association");
            }
            Some((sub.to_owned(), org))
        }
    }
}

/// The statuses a plan may start in.
fn open_status() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(
            [PlanStatus::Draft, PlanStatus::Active, PlanStatus::Paused]
                .into_iter()
                .map(|status| serde_json::Value::from(status.as_str()))
                .chain([serde_json::Value::Null]),
        ))
        .description(Some("`draft` (the default), `active` or `paused`."))
        .build()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    pub participant_id: Uuid,
    /// `draft` (the default), `active` or `paused`.
    #[schema(schema_with = open_status)]
    pub status: Option<PlanStatus>,
    /// The `sub` of the plan's coordinator, with `coordinator_org`; both
    /// default to you when you are a coordinator.
    #[schema(max_length = 255, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub coordinator: Option<String>,
    /// The coordinator's organisation; required with `coordinator`.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub coordinator_org: Option<String>,
    pub support_at_start: Option<SupportSource>,
}

/// Start the common plan for a participant (one open plan per participant).
#[utoipa::path(
    tag = "plans",
    request_body = NewPlan,
    responses(
        (status = 201, body = Plan, headers(("Location" = String), ("ETag" = String)), links(
            ("read_plan" = (operation_id = "read_plan", parameters(("id" = "$response.body#/id")))),
            ("patch_plan" = (operation_id = "patch_plan", parameters(("id" = "$response.body#/id"), ("header.If-Match" = "$response.header.ETag")))),
            ("read_platform" = (operation_id = "read_platform", parameters(("id" = "$response.body#/id")))),
            ("read_solution_scenario" = (operation_id = "read_solution_scenario", parameters(("id" = "$response.body#/id")))),
            ("add_step" = (operation_id = "add_step", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 404, description = "No such participant, or not one you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The participant already has an open plan", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/plans")]
pub async fn create_plan(auth: Auth, store: web::Data<Store>, Body(body): Body<NewPlan>) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let status = errors.check("status", PlanStatus::initial(body.status));
    let coordinator = coordinator(&mut errors, &auth, body.coordinator.as_deref(), body.coordinator_org.as_deref());
    let status = errors.finish(|| status.expect("parsed when no errors"))?;
    let (coordinator, coordinator_org) = coordinator
        .or_else(|| (auth.role == samplan_domain::Role::Coordinator).then(|| (auth.sub.clone(), auth.org.clone())))
        .map(|(sub, org)| (sub, org.to_string()))
        .unzip();

    let txn = store.begin_write(&auth).await?;
    let participant = scope::visible_participant(&txn, &auth, body.participant_id, scope::today()).await?;
    let now = Utc::now();
    let id = Uuid::now_v7();
    auth.audit.created(id);
    let (assoc, org, sub) = (auth.assoc.to_string(), auth.org.to_string(), auth.sub.clone());
    let plan = plan::ActiveModel {
        id: Set(id),
        participant_id: Set(participant.model.id),
        leading_org: Set(org.clone()),
        status: Set(status.as_str().into()),
        coordinator: Set(coordinator),
        coordinator_org: Set(coordinator_org),
        support_at_start: Set(body.support_at_start.map(|s| s.as_str().to_owned())),
        support_at_end: Set(None),
        assoc: Set(assoc.clone()),
        org: Set(org.clone()),
        created_by: Set(sub.clone()),
        created_at: Set(now),
        version: Set(1),
        updated_org: Set(org.clone()),
        updated_by: Set(sub.clone()),
        updated_at: Set(now),
    }
    .insert(&txn)
    // A second open plan runs into ux_plans_one_open: 409.
    .await?;
    plan_platform::ActiveModel {
        plan_id: Set(id),
        purpose: Set(String::new()),
        frames: Set(serde_json::json!({})),
        how_the_participant_notices_it_helps: Set(String::new()),
        assoc: Set(assoc.clone()),
        org: Set(org.clone()),
        created_by: Set(sub.clone()),
        created_at: Set(now),
        version: Set(1),
        updated_org: Set(org.clone()),
        updated_by: Set(sub.clone()),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    plan_solution_scenario::ActiveModel {
        plan_id: Set(id),
        preferred_future: Set(String::new()),
        signs_of_progress: Set(serde_json::json!([])),
        assoc: Set(assoc),
        org: Set(org.clone()),
        created_by: Set(sub.clone()),
        created_at: Set(now),
        version: Set(1),
        updated_org: Set(org),
        updated_by: Set(sub),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let view = load_plan(&txn, plan).await?;
    txn.commit().await?;
    Ok(created_with_etag(format!("/v1/plans/{id}"), view.version, &view))
}

/// Read the whole plan, every part. The ETag is that of the plan's own fields.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path, description = "Plan id")),
    responses(
        (status = 200, body = Plan, headers(("ETag" = String)), links(
            ("patch_plan" = (operation_id = "patch_plan", parameters(("id" = "$request.path.id"), ("header.If-Match" = "$response.header.ETag")))),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/plans/{id}")]
pub async fn read_plan(auth: Auth, store: web::Data<Store>, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let whole = crate::store::plans::whole_plan(store.db(), &auth, id.into_inner(), scope::today()).await?;
    let view = plan_view(whole.plan, whole.parts)?;
    Ok(with_etag(view.version, &view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChanges {
    pub status: Option<PlanStatus>,
    /// The `sub` of the plan's coordinator, with `coordinator_org`.
    #[schema(max_length = 255, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub coordinator: Option<String>,
    /// The coordinator's organisation; required with `coordinator`.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub coordinator_org: Option<String>,
    pub support_at_start: Option<SupportSource>,
    pub support_at_end: Option<SupportSource>,
}

/// Change the plan's status, coordinator or sources of support. Needs `If-Match`.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The plan's ETag")),
    request_body = PlanChanges,
    responses(
        (status = 200, body = Plan, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Reopening would give the participant two open plans", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/plans/{id}")]
pub async fn patch_plan(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Body(body): Body<PlanChanges>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let coordinator = coordinator(&mut errors, &auth, body.coordinator.as_deref(), body.coordinator_org.as_deref());
    errors.finish(|| ())?;
    let txn = store.begin_write(&auth).await?;
    let (plan, _) = scope::visible_plan(&txn, &auth, id.into_inner(), scope::today()).await?;
    plan_level(&auth, &plan)?;
    if_match.check(plan.version)?;
    let mut update = plan::Entity::update_many();
    if let Some(status) = body.status {
        update = update.col_expr(plan::Column::Status, Expr::value(status.as_str()));
    }
    if let Some((sub, org)) = coordinator {
        update = update
            .col_expr(plan::Column::Coordinator, Expr::value(sub))
            .col_expr(plan::Column::CoordinatorOrg, Expr::value(org.to_string()));
    }
    if let Some(source) = body.support_at_start {
        update = update.col_expr(plan::Column::SupportAtStart, Expr::value(source.as_str()));
    }
    if let Some(source) = body.support_at_end {
        update = update.col_expr(plan::Column::SupportAtEnd, Expr::value(source.as_str()));
    }
    // Reopening while the participant has another open plan runs into
    // ux_plans_one_open: 409.
    let plan = versioned::update(&txn, &plan, update, &auth).await?;
    let view = load_plan(&txn, plan).await?;
    txn.commit().await?;
    Ok(with_etag(view.version, &view))
}
