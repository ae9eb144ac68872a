//! The common plan and its plus-model parts: platform, solution scenario,
//! resources and small steps, with scale readings, meetings and progress.

use crate::auth::Auth;
use crate::entities::{meeting, plan, plan_platform, plan_resource, plan_solution_scenario, plan_step, scale_reading};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch};
use crate::routes::{created, with_etag};
use crate::store::{Store, scope};
use actix_web::{HttpResponse, get, patch, post, put, web};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use samplan_domain::access::{self, Decision, PlanFacts};
use samplan_domain::validation::{self, ValidationErrors};
use samplan_domain::{Contributor, OrgId, PlanStatus, Principal, ScaleValue, StepStatus, SupportSource};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

const TEXT_MAX: usize = 4000;
const LIST_MAX: usize = 50;

// ---------------------------------------------------------------- views

#[derive(Debug, Serialize, ToSchema)]
pub struct Platform {
    /// Why the participant and the agencies meet.
    pub purpose: String,
    /// Organisation → the frame its mandate sets (what it can and cannot offer).
    #[schema(example = json!({"af-vasteras": "arbetsträning"}))]
    pub frames: BTreeMap<String, String>,
    /// How the participant will notice that the collaboration helps.
    pub how_the_participant_notices_it_helps: String,
    /// Send as `If-Match: "<version>"` (the ETag) when you update.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_org: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SolutionScenario {
    /// The preferred future in the participant's own words.
    pub preferred_future: String,
    /// Signs by which the participant and people around them would notice progress.
    pub signs_of_progress: Vec<String>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_org: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resource {
    pub id: Uuid,
    pub description: String,
    /// `participant` or the organisation that noted it (resursskvaller).
    pub noted_by: String,
    /// The organisation that recorded it.
    pub org: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

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

#[derive(Debug, Serialize, ToSchema)]
pub struct ScaleReading {
    pub id: Uuid,
    /// 0–10, 10 = at the solution scenario.
    pub value: u8,
    pub why_not_lower: String,
    pub one_step_up: String,
    pub recorded_at: DateTime<Utc>,
    pub org: String,
    pub created_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Meeting {
    pub id: Uuid,
    pub held_on: NaiveDate,
    /// Who took part.
    pub participants: Vec<String>,
    pub better_since_last_time: String,
    pub until_next_time: String,
    pub next_meeting: Option<DateTime<FixedOffset>>,
    pub org: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

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

#[derive(Debug, Serialize, ToSchema)]
pub struct StepCounts {
    pub planned: u64,
    pub done: u64,
    pub dropped: u64,
    pub total: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScalePoint {
    pub value: u8,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub plan_id: Uuid,
    /// The scale readings in time order.
    pub scale: Vec<ScalePoint>,
    /// Latest minus first reading; absent with fewer than two readings.
    pub change: Option<i16>,
    pub steps: StepCounts,
}

fn corrupt(what: &str) -> ApiError {
    ApiError::Internal(format!("stored {what} does not parse"))
}

fn platform_view(m: plan_platform::Model) -> Result<Platform, ApiError> {
    Ok(Platform {
        purpose: m.purpose,
        frames: serde_json::from_value(m.frames).map_err(|_| corrupt("frames"))?,
        how_the_participant_notices_it_helps: m.how_the_participant_notices_it_helps,
        version: m.version,
        updated_at: m.updated_at,
        updated_by: m.updated_by,
        updated_org: m.updated_org,
    })
}

fn scenario_view(m: plan_solution_scenario::Model) -> Result<SolutionScenario, ApiError> {
    Ok(SolutionScenario {
        preferred_future: m.preferred_future,
        signs_of_progress: serde_json::from_value(m.signs_of_progress).map_err(|_| corrupt("signs"))?,
        version: m.version,
        updated_at: m.updated_at,
        updated_by: m.updated_by,
        updated_org: m.updated_org,
    })
}

fn resource_view(m: plan_resource::Model) -> Resource {
    Resource {
        id: m.id,
        description: m.description,
        noted_by: m.noted_by,
        org: m.org,
        created_at: m.created_at,
        created_by: m.created_by,
    }
}

fn step_view(m: plan_step::Model) -> Result<Step, ApiError> {
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

fn reading_view(m: scale_reading::Model) -> Result<ScaleReading, ApiError> {
    Ok(ScaleReading {
        id: m.id,
        value: ScaleValue::parse(i64::from(m.value)).map_err(|_| corrupt("scale value"))?.get(),
        why_not_lower: m.why_not_lower,
        one_step_up: m.one_step_up,
        recorded_at: m.recorded_at,
        org: m.org,
        created_by: m.created_by,
    })
}

fn meeting_view(m: meeting::Model) -> Result<Meeting, ApiError> {
    Ok(Meeting {
        id: m.id,
        held_on: m.held_on,
        participants: serde_json::from_value(m.participants).map_err(|_| corrupt("meeting participants"))?,
        better_since_last_time: m.better_since_last_time,
        until_next_time: m.until_next_time,
        next_meeting: m.next_meeting,
        org: m.org,
        created_at: m.created_at,
        created_by: m.created_by,
    })
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

async fn readings_of<C: ConnectionTrait>(db: &C, plan_id: Uuid) -> Result<Vec<scale_reading::Model>, ApiError> {
    Ok(scale_reading::Entity::find()
        .filter(scale_reading::Column::PlanId.eq(plan_id))
        .order_by_asc(scale_reading::Column::RecordedAt)
        .order_by_asc(scale_reading::Column::Id)
        .all(db)
        .await?)
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

fn unique_open_plan(error: sea_orm::DbErr) -> ApiError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            ApiError::Conflict("The participant already has an open plan (draft, active or paused)")
        }
        _ => error.into(),
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

// ---------------------------------------------------------------- plans

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
    let status = body.status.unwrap_or(PlanStatus::Draft);
    let mut errors = ValidationErrors::new();
    if !status.is_open() {
        errors.add("status", "a new plan starts as draft, active or paused");
    }
    let coordinator = coordinator(&mut errors, &auth, body.coordinator.as_deref(), body.coordinator_org.as_deref());
    errors.finish(|| ())?;
    let (coordinator, coordinator_org) = coordinator
        .or_else(|| (auth.role == samplan_domain::Role::Coordinator).then(|| (auth.sub.clone(), auth.org.clone())))
        .map(|(sub, org)| (sub, org.to_string()))
        .unzip();

    let txn = store.begin_write(&auth).await?;
    let participant = scope::visible_participant(&*txn, &auth, body.participant_id, scope::today()).await?;
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
    .insert(&*txn)
    .await
    .map_err(unique_open_plan)?;
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
    .insert(&*txn)
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
    .insert(&*txn)
    .await?;
    let view = load_plan(&*txn, plan).await?;
    txn.commit().await?;
    let mut response = created(format!("/v1/plans/{id}"), &view);
    response.headers_mut().insert(
        actix_web::http::header::ETAG,
        crate::extract::etag(view.version).parse().expect("valid header"),
    );
    Ok(response)
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
    let (plan, _) = scope::visible_plan(&*txn, &auth, id.into_inner(), scope::today()).await?;
    plan_level(&auth, &plan)?;
    if_match.check(plan.version)?;
    let mut update = plan::Entity::update_many()
        .col_expr(plan::Column::Version, Expr::col(plan::Column::Version).add(1))
        .col_expr(plan::Column::UpdatedOrg, Expr::value(auth.org.to_string()))
        .col_expr(plan::Column::UpdatedBy, Expr::value(auth.sub.clone()))
        .col_expr(plan::Column::UpdatedAt, Expr::value(Utc::now()));
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
    let result = update
        .filter(plan::Column::Id.eq(plan.id))
        .filter(plan::Column::Version.eq(plan.version))
        .exec(&*txn)
        .await
        .map_err(unique_open_plan)?;
    if result.rows_affected == 0 {
        return Err(stale(&*txn, plan.id).await);
    }
    let plan = plan::Entity::find_by_id(plan.id).one(&*txn).await?.ok_or(ApiError::NotFound)?;
    let view = load_plan(&*txn, plan).await?;
    txn.commit().await?;
    Ok(with_etag(view.version, &view))
}

/// The 412 for an update that lost a race after its If-Match was checked.
async fn stale<C: ConnectionTrait>(db: &C, plan_id: Uuid) -> ApiError {
    match plan::Entity::find_by_id(plan_id).one(db).await {
        Ok(Some(current)) => ApiError::PreconditionFailed { current_etag: crate::extract::etag(current.version) },
        Ok(None) => ApiError::NotFound,
        Err(error) => error.into(),
    }
}

// ---------------------------------------------------------------- platform

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformInput {
    #[schema(example = "Anna, Arbetsförmedlingen och kommunen möts för att Anna ska komma närmare arbete", max_length = 4000)]
    pub purpose: String,
    #[schema(schema_with = frames)]
    pub frames: BTreeMap<String, String>,
    #[schema(example = "Jag har något att gå till varje vecka", max_length = 4000)]
    pub how_the_participant_notices_it_helps: String,
}

/// `frames`: organisation slug → the frame its mandate sets.
fn frames() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"))))
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String).max_length(Some(TEXT_MAX))))
        .max_properties(Some(LIST_MAX))
        .description(Some("Organisation → the frame its mandate sets (what it can and cannot offer)."))
        .examples([serde_json::json!({"af-vasteras": "arbetsträning", "vasteras-kommun": "försörjningsstöd under planens tid"})])
        .build()
}

/// Read the platform (plattform), with its ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Platform, headers(("ETag" = String)), links(
            ("put_platform" = (operation_id = "put_platform", parameters(("id" = "$request.path.id"), ("header.If-Match" = "$response.header.ETag")))),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/plans/{id}/platform")]
pub async fn read_platform(auth: Auth, store: web::Data<Store>, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let (plan, _) = scope::visible_plan(store.db(), &auth, id.into_inner(), scope::today()).await?;
    let row = plan_platform::Entity::find_by_id(plan.id).one(store.db()).await?.ok_or_else(|| corrupt("platform"))?;
    let view = platform_view(row)?;
    Ok(with_etag(view.version, &view))
}

/// Replace the platform. Needs `If-Match` with the platform's ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The platform's ETag")),
    request_body = PlatformInput,
    responses(
        (status = 200, body = Platform, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/v1/plans/{id}/platform")]
pub async fn put_platform(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Body(body): Body<PlatformInput>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    validation::text(&mut errors, "purpose", &body.purpose, TEXT_MAX, false);
    validation::text(
        &mut errors,
        "how_the_participant_notices_it_helps",
        &body.how_the_participant_notices_it_helps,
        TEXT_MAX,
        false,
    );
    if body.frames.len() > LIST_MAX {
        errors.add("frames", format!("must have at most {LIST_MAX} organisations"));
    }
    for (org, frame) in &body.frames {
        match OrgId::parse(org) {
            Ok(org) => auth.check_organisation(&mut errors, "frames", &org),
            Err(_) => errors.add("frames", "keys must be organisation slugs"),
        }
        validation::text(&mut errors, &format!("frames.{}", crate::extract::key_in_field(org)), frame, TEXT_MAX, false);
    }
    errors.finish(|| ())?;

    let txn = store.begin_write(&auth).await?;
    let (plan, _) = scope::visible_plan(&*txn, &auth, id.into_inner(), scope::today()).await?;
    plan_level(&auth, &plan)?;
    let current = plan_platform::Entity::find_by_id(plan.id).one(&*txn).await?.ok_or_else(|| corrupt("platform"))?;
    if_match.check(current.version)?;
    let result = plan_platform::Entity::update_many()
        .col_expr(plan_platform::Column::Purpose, Expr::value(body.purpose))
        .col_expr(
            plan_platform::Column::Frames,
            Expr::value(serde_json::to_value(&body.frames).map_err(|e| ApiError::Internal(e.to_string()))?),
        )
        .col_expr(
            plan_platform::Column::HowTheParticipantNoticesItHelps,
            Expr::value(body.how_the_participant_notices_it_helps),
        )
        .col_expr(plan_platform::Column::Version, Expr::col(plan_platform::Column::Version).add(1))
        .col_expr(plan_platform::Column::UpdatedOrg, Expr::value(auth.org.to_string()))
        .col_expr(plan_platform::Column::UpdatedBy, Expr::value(auth.sub.clone()))
        .col_expr(plan_platform::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(plan_platform::Column::PlanId.eq(plan.id))
        .filter(plan_platform::Column::Version.eq(current.version))
        .exec(&*txn)
        .await?;
    let row = plan_platform::Entity::find_by_id(plan.id).one(&*txn).await?.ok_or_else(|| corrupt("platform"))?;
    if result.rows_affected == 0 {
        return Err(ApiError::PreconditionFailed { current_etag: crate::extract::etag(row.version) });
    }
    txn.commit().await?;
    let view = platform_view(row)?;
    Ok(with_etag(view.version, &view))
}

// ---------------------------------------------------------------- solution scenario

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolutionScenarioInput {
    #[schema(example = "Jag jobbar på en förskola tre dagar i veckan", max_length = 4000)]
    pub preferred_future: String,
    #[schema(
        example = json!(["Jag kommer upp på morgonen", "Mina barn märker att jag är gladare"]),
        max_items = 50,
        max_length = 4000,
        pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]"
    )]
    pub signs_of_progress: Vec<String>,
}

/// Read the solution scenario (lösningsscenario), with its ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = SolutionScenario, headers(("ETag" = String)), links(
            ("put_solution_scenario" = (operation_id = "put_solution_scenario", parameters(("id" = "$request.path.id"), ("header.If-Match" = "$response.header.ETag")))),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/plans/{id}/solution-scenario")]
pub async fn read_solution_scenario(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (plan, _) = scope::visible_plan(store.db(), &auth, id.into_inner(), scope::today()).await?;
    let row =
        plan_solution_scenario::Entity::find_by_id(plan.id).one(store.db()).await?.ok_or_else(|| corrupt("scenario"))?;
    let view = scenario_view(row)?;
    Ok(with_etag(view.version, &view))
}

/// Replace the solution scenario. Needs `If-Match` with its ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The solution scenario's ETag")),
    request_body = SolutionScenarioInput,
    responses(
        (status = 200, body = SolutionScenario, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/v1/plans/{id}/solution-scenario")]
pub async fn put_solution_scenario(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Body(body): Body<SolutionScenarioInput>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    validation::text(&mut errors, "preferred_future", &body.preferred_future, TEXT_MAX, false);
    texts(&mut errors, "signs_of_progress", &body.signs_of_progress);
    errors.finish(|| ())?;

    let txn = store.begin_write(&auth).await?;
    let (plan, _) = scope::visible_plan(&*txn, &auth, id.into_inner(), scope::today()).await?;
    plan_level(&auth, &plan)?;
    let current =
        plan_solution_scenario::Entity::find_by_id(plan.id).one(&*txn).await?.ok_or_else(|| corrupt("scenario"))?;
    if_match.check(current.version)?;
    let result = plan_solution_scenario::Entity::update_many()
        .col_expr(plan_solution_scenario::Column::PreferredFuture, Expr::value(body.preferred_future))
        .col_expr(plan_solution_scenario::Column::SignsOfProgress, Expr::value(serde_json::json!(body.signs_of_progress)))
        .col_expr(plan_solution_scenario::Column::Version, Expr::col(plan_solution_scenario::Column::Version).add(1))
        .col_expr(plan_solution_scenario::Column::UpdatedOrg, Expr::value(auth.org.to_string()))
        .col_expr(plan_solution_scenario::Column::UpdatedBy, Expr::value(auth.sub.clone()))
        .col_expr(plan_solution_scenario::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(plan_solution_scenario::Column::PlanId.eq(plan.id))
        .filter(plan_solution_scenario::Column::Version.eq(current.version))
        .exec(&*txn)
        .await?;
    let row =
        plan_solution_scenario::Entity::find_by_id(plan.id).one(&*txn).await?.ok_or_else(|| corrupt("scenario"))?;
    if result.rows_affected == 0 {
        return Err(ApiError::PreconditionFailed { current_etag: crate::extract::etag(row.version) });
    }
    txn.commit().await?;
    let view = scenario_view(row)?;
    Ok(with_etag(view.version, &view))
}

// ---------------------------------------------------------------- resources

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    #[schema(example = "Anna är bra på att ta hand om barn och har varit dagbarnvårdare", max_length = 4000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub description: String,
    /// `participant` or an organisation slug; defaults to your organisation.
    #[schema(example = "participant", pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub noted_by: Option<String>,
}

/// Note a resource: a strength, something that already works, an earlier success, the network.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path)),
    request_body = NewResource,
    responses(
        (status = 201, body = Resource, headers(("Location" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/plans/{id}/resources")]
pub async fn add_resource(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    Body(body): Body<NewResource>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    validation::text(&mut errors, "description", &body.description, TEXT_MAX, true);
    let noted_by = match &body.noted_by {
        Some(raw) => contributor(&mut errors, &auth, "noted_by", raw),
        None => Some(Contributor::Organisation(auth.org.clone())),
    };
    let noted_by = errors.finish(|| noted_by.expect("parsed when no errors"))?;

    let txn = store.begin_write(&auth).await?;
    let (plan, _) = scope::visible_plan(&*txn, &auth, id.into_inner(), scope::today()).await?;
    let new_id = Uuid::now_v7();
    auth.audit.created(new_id);
    let row = plan_resource::ActiveModel {
        id: Set(new_id),
        plan_id: Set(plan.id),
        description: Set(body.description),
        noted_by: Set(noted_by.as_str().to_owned()),
        assoc: Set(auth.assoc.to_string()),
        org: Set(auth.org.to_string()),
        created_by: Set(auth.sub.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(created(format!("/v1/plans/{}/resources/{}", plan.id, row.id), &resource_view(row)))
}

// ---------------------------------------------------------------- steps

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
    let (plan, participant) = scope::visible_plan(&*txn, &auth, id.into_inner(), today).await?;
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
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    let view = step_view(row)?;
    let mut response = created(format!("/v1/plans/{}/steps/{}", plan.id, view.id), &view);
    response.headers_mut().insert(
        actix_web::http::header::ETAG,
        crate::extract::etag(view.version).parse().expect("valid header"),
    );
    Ok(response)
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
    let (plan, participant) = scope::visible_plan(&*txn, &auth, plan_id, today).await?;
    if let Some(owner) = &owner {
        step_owner_sees_plan(&participant, owner, today)?;
    }
    let current = step_of(&*txn, plan.id, step_id).await?;
    own_contribution(&auth, &current.org)?;
    if_match.check(current.version)?;
    let mut update = plan_step::Entity::update_many()
        .col_expr(plan_step::Column::Version, Expr::col(plan_step::Column::Version).add(1))
        .col_expr(plan_step::Column::UpdatedOrg, Expr::value(auth.org.to_string()))
        .col_expr(plan_step::Column::UpdatedBy, Expr::value(auth.sub.clone()))
        .col_expr(plan_step::Column::UpdatedAt, Expr::value(Utc::now()));
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
    let result = update
        .filter(plan_step::Column::Id.eq(current.id))
        .filter(plan_step::Column::Version.eq(current.version))
        .exec(&*txn)
        .await?;
    let row = step_of(&*txn, plan.id, step_id).await?;
    if result.rows_affected == 0 {
        return Err(ApiError::PreconditionFailed { current_etag: crate::extract::etag(row.version) });
    }
    txn.commit().await?;
    let view = step_view(row)?;
    Ok(with_etag(view.version, &view))
}

// ---------------------------------------------------------------- scale readings

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScaleReading {
    /// 0–10, where 10 means the solution scenario is reached.
    #[schema(value_type = u8, minimum = 0, maximum = 10, example = 4)]
    pub value: i64,
    /// Why the participant is here and not lower.
    #[schema(example = "Jag har börjat gå upp på morgnarna", max_length = 4000)]
    pub why_not_lower: String,
    /// What one step up would look like.
    #[schema(example = "Att jag ringer förskolan", max_length = 4000)]
    pub one_step_up: String,
    /// When the reading was taken; defaults to now.
    pub recorded_at: Option<DateTime<Utc>>,
}

/// Record a scale reading (skalfråga).
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path)),
    request_body = NewScaleReading,
    responses(
        (status = 201, body = ScaleReading, headers(("Location" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/plans/{id}/scale-readings")]
pub async fn add_scale_reading(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    Body(body): Body<NewScaleReading>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    let value = errors.check("value", ScaleValue::parse(body.value));
    validation::text(&mut errors, "why_not_lower", &body.why_not_lower, TEXT_MAX, false);
    validation::text(&mut errors, "one_step_up", &body.one_step_up, TEXT_MAX, false);
    let value = errors.finish(|| value.expect("parsed when no errors"))?;

    let txn = store.begin_write(&auth).await?;
    let (plan, _) = scope::visible_plan(&*txn, &auth, id.into_inner(), scope::today()).await?;
    let now = Utc::now();
    let new_id = Uuid::now_v7();
    auth.audit.created(new_id);
    let row = scale_reading::ActiveModel {
        id: Set(new_id),
        plan_id: Set(plan.id),
        value: Set(i16::from(value.get())),
        why_not_lower: Set(body.why_not_lower),
        one_step_up: Set(body.one_step_up),
        recorded_at: Set(body.recorded_at.unwrap_or(now)),
        assoc: Set(auth.assoc.to_string()),
        org: Set(auth.org.to_string()),
        created_by: Set(auth.sub.clone()),
        created_at: Set(now),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(created(format!("/v1/plans/{}/scale-readings/{}", plan.id, row.id), &reading_view(row)?))
}

// ---------------------------------------------------------------- meetings

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    pub held_on: NaiveDate,
    /// Who took part.
    #[schema(example = json!(["deltagaren", "af-vasteras", "vasteras-kommun"]), max_items = 50, max_length = 4000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub participants: Vec<String>,
    #[schema(example = "Anna har ringt förskolan", max_length = 4000)]
    pub better_since_last_time: String,
    #[schema(example = "Anna besöker förskolan på tisdag", max_length = 4000)]
    pub until_next_time: String,
    /// The next booked meeting; not before `held_on` (422).
    pub next_meeting: Option<DateTime<FixedOffset>>,
}

/// Record a follow-up meeting (uppföljningsmöte).
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path)),
    request_body = NewMeeting,
    responses(
        (status = 201, body = Meeting, headers(("Location" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/plans/{id}/meetings")]
pub async fn add_meeting(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    Body(body): Body<NewMeeting>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    texts(&mut errors, "participants", &body.participants);
    validation::text(&mut errors, "better_since_last_time", &body.better_since_last_time, TEXT_MAX, false);
    validation::text(&mut errors, "until_next_time", &body.until_next_time, TEXT_MAX, false);
    if let Some(next) = body.next_meeting {
        if next.date_naive() < body.held_on {
            errors.add("next_meeting", "must not be before held_on");
        }
    }
    errors.finish(|| ())?;

    let txn = store.begin_write(&auth).await?;
    let (plan, _) = scope::visible_plan(&*txn, &auth, id.into_inner(), scope::today()).await?;
    let new_id = Uuid::now_v7();
    auth.audit.created(new_id);
    let row = meeting::ActiveModel {
        id: Set(new_id),
        plan_id: Set(plan.id),
        held_on: Set(body.held_on),
        participants: Set(serde_json::json!(body.participants)),
        better_since_last_time: Set(body.better_since_last_time),
        until_next_time: Set(body.until_next_time),
        next_meeting: Set(body.next_meeting),
        assoc: Set(auth.assoc.to_string()),
        org: Set(auth.org.to_string()),
        created_by: Set(auth.sub.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(created(format!("/v1/plans/{}/meetings/{}", plan.id, row.id), &meeting_view(row)?))
}

// ---------------------------------------------------------------- progress

/// The scale series in time order and the small steps counted by status.
#[utoipa::path(
    tag = "plans",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Progress), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/plans/{id}/progress")]
pub async fn progress(auth: Auth, store: web::Data<Store>, id: web::Path<Uuid>) -> Result<web::Json<Progress>, ApiError> {
    let (plan, _) = scope::visible_plan(store.db(), &auth, id.into_inner(), scope::today()).await?;
    let scale: Vec<ScalePoint> = readings_of(store.db(), plan.id)
        .await?
        .into_iter()
        .map(|r| reading_view(r).map(|r| ScalePoint { value: r.value, recorded_at: r.recorded_at }))
        .collect::<Result<_, _>>()?;
    let statuses: Vec<String> = plan_step::Entity::find()
        .select_only()
        .column(plan_step::Column::Status)
        .filter(plan_step::Column::PlanId.eq(plan.id))
        .into_tuple()
        .all(store.db())
        .await?;
    let count = |status: StepStatus| statuses.iter().filter(|s| s.as_str() == status.as_str()).count() as u64;
    let change = match (scale.first(), scale.last()) {
        (Some(first), Some(last)) if scale.len() > 1 => Some(i16::from(last.value) - i16::from(first.value)),
        _ => None,
    };
    Ok(web::Json(Progress {
        plan_id: plan.id,
        scale,
        change,
        steps: StepCounts {
            planned: count(StepStatus::Planned),
            done: count(StepStatus::Done),
            dropped: count(StepStatus::Dropped),
            total: statuses.len() as u64,
        },
    }))
}

use sea_orm::QuerySelect as _;
