//! Projects (insatser) planned with the plus model at organisation level,
//! and their strategic timelines. No personal data: everyone in the
//! association reads them; project leads and coordinators write them.

use crate::auth::Auth;
use crate::config::SecretKey;
use crate::entities::{enrolment, milestone, project};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch, PageQuery};
use crate::routes::{created_with_etag, with_etag};
use crate::store::{Store, versioned};
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use samplan_domain::access::{self, Decision};
use samplan_domain::report::{self, Cell, DisclosureControl, MilestoneStatus};
use samplan_domain::validation::{self, ValidationErrors};
use samplan_domain::{OrgId, Principal};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

const TEXT_MAX: usize = 4000;

/// The project's platform: its purpose and each organisation's frame.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPlatform {
    #[schema(example = "Fler unga vuxna i Västerås ska komma i arbete eller studier", max_length = 4000)]
    pub purpose: String,
    #[schema(schema_with = frames)]
    pub frames: BTreeMap<String, String>,
}

/// `frames`: organisation slug → the frame its mandate sets.
fn frames() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"))))
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String).max_length(Some(TEXT_MAX))))
        .examples([serde_json::json!({"af-vasteras": "två handläggare på halvtid"})])
        .build()
}

/// The project's solution scenario: the goal and the signs it watches.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectScenario {
    #[schema(example = "Hälften av deltagarna arbetar eller studerar efter ett år", max_length = 4000)]
    pub goal: String,
    #[schema(
        example = json!(["Deltagarna kommer till träffarna", "Arbetsgivare hör av sig"]),
        max_items = 50,
        max_length = 4000,
        pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]"
    )]
    pub signs: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    #[schema(example = "Unga vuxna i arbete", max_length = 200, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub name: String,
    #[schema(example = json!(["vasteras-kommun", "af-vasteras", "fk-vasteras", "region-vastmanland"]), pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub funding_organisations: Vec<String>,
    pub period_from: NaiveDate,
    pub period_until: NaiveDate,
    #[serde(default)]
    pub platform: ProjectPlatform,
    #[serde(default)]
    pub solution_scenario: ProjectScenario,
    /// Strengths and what already works, at organisation level.
    #[serde(default)]
    #[schema(max_items = 50, max_length = 4000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub resources: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectChanges {
    #[schema(max_length = 200, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub name: Option<String>,
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub funding_organisations: Option<Vec<String>>,
    pub period_from: Option<NaiveDate>,
    pub period_until: Option<NaiveDate>,
    pub platform: Option<ProjectPlatform>,
    pub solution_scenario: Option<ProjectScenario>,
    #[schema(max_items = 50, max_length = 4000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub resources: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    pub funding_organisations: Vec<String>,
    pub period_from: NaiveDate,
    pub period_until: NaiveDate,
    pub platform: ProjectPlatform,
    pub solution_scenario: ProjectScenario,
    pub resources: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectPage {
    pub items: Vec<Project>,
    pub next_cursor: Option<String>,
}

fn corrupt(what: &str) -> ApiError {
    ApiError::Internal(format!("stored {what} does not parse"))
}

fn project_view(m: project::Model) -> Result<Project, ApiError> {
    Ok(Project {
        id: m.id,
        name: m.name,
        funding_organisations: serde_json::from_value(m.funding_organisations).map_err(|_| corrupt("funders"))?,
        period_from: m.period_from,
        period_until: m.period_until,
        platform: serde_json::from_value(m.platform).map_err(|_| corrupt("platform"))?,
        solution_scenario: serde_json::from_value(m.solution_scenario).map_err(|_| corrupt("scenario"))?,
        resources: serde_json::from_value(m.resources).map_err(|_| corrupt("resources"))?,
        version: m.version,
        created_at: m.created_at,
        created_by: m.created_by,
        updated_at: m.updated_at,
    })
}

fn writer(principal: &Principal) -> Result<(), ApiError> {
    match access::may_write_projects(principal) {
        Decision::Allowed => Ok(()),
        Decision::Forbidden => Err(ApiError::Forbidden("projects are written by project leads and coordinators")),
    }
}

/// A project of the caller's association, or 404.
pub async fn project_of<C: ConnectionTrait>(db: &C, auth: &Auth, id: Uuid) -> Result<project::Model, ApiError> {
    project::Entity::find_by_id(id)
        .filter(project::Column::Assoc.eq(auth.assoc.as_str()))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

fn check_texts(errors: &mut ValidationErrors, field: &str, items: &[String]) {
    if items.len() > 50 {
        errors.add(field, "must have at most 50 items");
    }
    for (i, item) in items.iter().enumerate() {
        validation::text(errors, &format!("{field}[{i}]"), item, TEXT_MAX, true);
    }
}

fn check_orgs(errors: &mut ValidationErrors, auth: &Auth, field: &str, orgs: &[String]) {
    for (i, org) in orgs.iter().enumerate() {
        check_org(errors, auth, &format!("{field}[{i}]"), org);
    }
}

/// An organisation slug of the caller's association.
fn check_org(errors: &mut ValidationErrors, auth: &Auth, field: &str, raw: &str) {
    if let Some(org) = errors.check(field, OrgId::parse(raw)) {
        auth.check_organisation(errors, field, &org);
    }
}

fn check_parts(
    errors: &mut ValidationErrors,
    auth: &Auth,
    platform: Option<&ProjectPlatform>,
    scenario: Option<&ProjectScenario>,
    resources: Option<&[String]>,
) {
    if let Some(platform) = platform {
        validation::text(errors, "platform.purpose", &platform.purpose, TEXT_MAX, false);
        check_orgs(errors, auth, "platform.frames", &platform.frames.keys().cloned().collect::<Vec<_>>());
        for (org, frame) in &platform.frames {
            validation::text(errors, &format!("platform.frames.{}", crate::extract::key_in_field(org)), frame, TEXT_MAX, false);
        }
    }
    if let Some(scenario) = scenario {
        validation::text(errors, "solution_scenario.goal", &scenario.goal, TEXT_MAX, false);
        check_texts(errors, "solution_scenario.signs", &scenario.signs);
    }
    if let Some(resources) = resources {
        check_texts(errors, "resources", resources);
    }
}

fn json_of(value: &impl Serialize) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Start a project.
#[utoipa::path(
    tag = "projects",
    request_body = NewProject,
    responses(
        (status = 201, body = Project, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Not a project lead or coordinator", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/projects")]
pub async fn create_project(auth: Auth, store: web::Data<Store>, Body(body): Body<NewProject>) -> Result<HttpResponse, ApiError> {
    writer(&auth)?;
    let mut errors = ValidationErrors::new();
    validation::text(&mut errors, "name", &body.name, 200, true);
    check_orgs(&mut errors, &auth, "funding_organisations", &body.funding_organisations);
    if body.period_until < body.period_from {
        errors.add("period_until", "must not be before period_from");
    }
    check_parts(&mut errors, &auth, Some(&body.platform), Some(&body.solution_scenario), Some(&body.resources));
    errors.finish(|| ())?;

    let txn = store.begin_write(&auth).await?;
    let now = Utc::now();
    let id = Uuid::now_v7();
    auth.audit.created(id);
    let row = project::ActiveModel {
        id: Set(id),
        name: Set(body.name.trim().to_owned()),
        funding_organisations: Set(json_of(&body.funding_organisations)?),
        period_from: Set(body.period_from),
        period_until: Set(body.period_until),
        platform: Set(json_of(&body.platform)?),
        solution_scenario: Set(json_of(&body.solution_scenario)?),
        resources: Set(json_of(&body.resources)?),
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
    let view = project_view(row)?;
    Ok(created_with_etag(format!("/v1/projects/{id}"), view.version, &view))
}

/// The association's projects.
#[utoipa::path(
    tag = "projects",
    params(PageQuery),
    responses((status = 200, body = ProjectPage), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/projects")]
pub async fn list_projects(
    auth: Auth,
    store: web::Data<Store>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ProjectPage>, ApiError> {
    let page = query.page()?;
    let select = project::Entity::find().filter(project::Column::Assoc.eq(auth.assoc.as_str()));
    let (rows, next_cursor) = page.fetch(store.db(), select, project::Column::Id, |row| row.id).await?;
    let items = rows.into_iter().map(project_view).collect::<Result<_, _>>()?;
    Ok(web::Json(ProjectPage { items, next_cursor }))
}

/// Read a project, with its ETag.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Project, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/projects/{id}")]
pub async fn read_project(auth: Auth, store: web::Data<Store>, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let view = project_view(project_of(store.db(), &auth, id.into_inner()).await?)?;
    Ok(with_etag(view.version, &view))
}

/// Change a project. Needs `If-Match`.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The project's ETag")),
    request_body = ProjectChanges,
    responses(
        (status = 200, body = Project, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/projects/{id}")]
pub async fn patch_project(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Body(body): Body<ProjectChanges>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    if let Some(name) = &body.name {
        validation::text(&mut errors, "name", name, 200, true);
    }
    if let Some(funders) = &body.funding_organisations {
        check_orgs(&mut errors, &auth, "funding_organisations", funders);
    }
    check_parts(&mut errors, &auth, body.platform.as_ref(), body.solution_scenario.as_ref(), body.resources.as_deref());
    errors.finish(|| ())?;

    let txn = store.begin_write(&auth).await?;
    let current = project_of(&txn, &auth, id.into_inner()).await?;
    writer(&auth)?;
    if_match.check(current.version)?;
    let (from, until) = (body.period_from.unwrap_or(current.period_from), body.period_until.unwrap_or(current.period_until));
    if until < from {
        return Err(ValidationErrors::single("period_until", "must not be before period_from").into());
    }
    let mut update = project::Entity::update_many()
        .col_expr(project::Column::PeriodFrom, Expr::value(from))
        .col_expr(project::Column::PeriodUntil, Expr::value(until));
    if let Some(name) = body.name {
        update = update.col_expr(project::Column::Name, Expr::value(name.trim().to_owned()));
    }
    if let Some(funders) = body.funding_organisations {
        update = update.col_expr(project::Column::FundingOrganisations, Expr::value(json_of(&funders)?));
    }
    if let Some(platform) = body.platform {
        update = update.col_expr(project::Column::Platform, Expr::value(json_of(&platform)?));
    }
    if let Some(scenario) = body.solution_scenario {
        update = update.col_expr(project::Column::SolutionScenario, Expr::value(json_of(&scenario)?));
    }
    if let Some(resources) = body.resources {
        update = update.col_expr(project::Column::Resources, Expr::value(json_of(&resources)?));
    }
    let row = versioned::update(&txn, &current, update, &auth).await?;
    txn.commit().await?;
    let view = project_view(row)?;
    Ok(with_etag(view.version, &view))
}

// ---------------------------------------------------------------- milestones

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMilestone {
    #[schema(example = "Första arbetsgivarträffen", max_length = 4000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub what: String,
    /// When.
    pub due: NaiveDate,
    /// The organisation that owns the milestone.
    #[schema(example = "af-vasteras", pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub owner_org: String,
    /// Defaults to `planned`.
    pub status: Option<MilestoneStatus>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneChanges {
    #[schema(max_length = 4000, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub what: Option<String>,
    pub due: Option<NaiveDate>,
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
    pub owner_org: Option<String>,
    pub status: Option<MilestoneStatus>,
    /// What changed when it was reached.
    #[schema(max_length = 4000)]
    pub what_changed: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Milestone {
    pub id: Uuid,
    pub project_id: Uuid,
    pub what: String,
    pub due: NaiveDate,
    pub owner_org: String,
    pub status: MilestoneStatus,
    pub what_changed: Option<String>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

fn milestone_view(m: milestone::Model) -> Result<Milestone, ApiError> {
    Ok(Milestone {
        id: m.id,
        project_id: m.project_id,
        what: m.what,
        due: m.due,
        owner_org: m.owner_org,
        status: MilestoneStatus::parse(&m.status).ok_or_else(|| corrupt("milestone status"))?,
        what_changed: m.what_changed,
        version: m.version,
        updated_at: m.updated_at,
    })
}

/// Add a milestone to the project's strategic timeline.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path)),
    request_body = NewMilestone,
    responses(
        (status = 201, body = Milestone, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/projects/{id}/milestones")]
pub async fn add_milestone(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    Body(body): Body<NewMilestone>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    validation::text(&mut errors, "what", &body.what, TEXT_MAX, true);
    check_org(&mut errors, &auth, "owner_org", &body.owner_org);
    errors.finish(|| ())?;
    let txn = store.begin_write(&auth).await?;
    let project = project_of(&txn, &auth, id.into_inner()).await?;
    writer(&auth)?;
    let now = Utc::now();
    let new_id = Uuid::now_v7();
    auth.audit.created(new_id);
    let row = milestone::ActiveModel {
        id: Set(new_id),
        project_id: Set(project.id),
        what: Set(body.what),
        due: Set(body.due),
        owner_org: Set(body.owner_org),
        status: Set(body.status.unwrap_or(MilestoneStatus::Planned).as_str().into()),
        what_changed: Set(None),
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
    let view = milestone_view(row)?;
    Ok(created_with_etag(format!("/v1/projects/{}/milestones/{}", project.id, view.id), view.version, &view))
}

/// Read a milestone, with its ETag.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path), ("milestone_id" = Uuid, Path)),
    responses((status = 200, body = Milestone, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/projects/{id}/milestones/{milestone_id}")]
pub async fn read_milestone(
    auth: Auth,
    store: web::Data<Store>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, milestone_id) = path.into_inner();
    let project = project_of(store.db(), &auth, project_id).await?;
    let row = milestone_of(store.db(), project.id, milestone_id).await?;
    let view = milestone_view(row)?;
    Ok(with_etag(view.version, &view))
}

async fn milestone_of<C: ConnectionTrait>(db: &C, project: Uuid, id: Uuid) -> Result<milestone::Model, ApiError> {
    milestone::Entity::find_by_id(id)
        .filter(milestone::Column::ProjectId.eq(project))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Change a milestone (e.g. mark it reached, with what changed). Needs `If-Match`.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path), ("milestone_id" = Uuid, Path), ("If-Match" = String, Header, description = "The milestone's ETag")),
    request_body = MilestoneChanges,
    responses(
        (status = 200, body = Milestone, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/projects/{id}/milestones/{milestone_id}")]
pub async fn patch_milestone(
    auth: Auth,
    store: web::Data<Store>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    Body(body): Body<MilestoneChanges>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::new();
    if let Some(what) = &body.what {
        validation::text(&mut errors, "what", what, TEXT_MAX, true);
    }
    if let Some(changed) = &body.what_changed {
        validation::text(&mut errors, "what_changed", changed, TEXT_MAX, false);
    }
    if let Some(org) = &body.owner_org {
        check_org(&mut errors, &auth, "owner_org", org);
    }
    errors.finish(|| ())?;
    let (project_id, milestone_id) = path.into_inner();
    let txn = store.begin_write(&auth).await?;
    let project = project_of(&txn, &auth, project_id).await?;
    let current = milestone_of(&txn, project.id, milestone_id).await?;
    writer(&auth)?;
    if_match.check(current.version)?;
    let mut update = milestone::Entity::update_many();
    if let Some(what) = body.what {
        update = update.col_expr(milestone::Column::What, Expr::value(what));
    }
    if let Some(due) = body.due {
        update = update.col_expr(milestone::Column::Due, Expr::value(due));
    }
    if let Some(org) = body.owner_org {
        update = update.col_expr(milestone::Column::OwnerOrg, Expr::value(org));
    }
    if let Some(status) = body.status {
        update = update.col_expr(milestone::Column::Status, Expr::value(status.as_str()));
    }
    if let Some(changed) = body.what_changed {
        update = update.col_expr(milestone::Column::WhatChanged, Expr::value(changed));
    }
    let row = versioned::update(&txn, &current, update, &auth).await?;
    txn.commit().await?;
    let view = milestone_view(row)?;
    Ok(with_etag(view.version, &view))
}

// ---------------------------------------------------------------- timeline

#[derive(Debug, Serialize, ToSchema)]
pub struct Month {
    /// `YYYY-MM`.
    #[schema(example = "2026-11")]
    pub month: String,
    /// People enrolled that month (suppressed under 5, rounded to base 5).
    pub enrolled: Cell,
    /// People who left that month (suppressed under 5, rounded to base 5).
    pub exited: Cell,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub project: Project,
    /// In date order.
    pub milestones: Vec<Milestone>,
    /// Every month of the project's period.
    pub months: Vec<Month>,
    /// How the monthly counts were protected, and the bound of the rounding.
    pub disclosure_control: DisclosureControl,
}

fn month_key(date: NaiveDate) -> (i32, u32) {
    (date.year(), date.month())
}

/// The strategic timeline: milestones in date order, with monthly enrolment
/// and exit counts (aggregated; counts under 5 are suppressed, the others
/// rounded to base 5 as `disclosure_control` states).
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Timeline), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/projects/{id}/timeline")]
pub async fn timeline(
    auth: Auth,
    store: web::Data<Store>,
    key: web::Data<SecretKey>,
    id: web::Path<Uuid>,
) -> Result<web::Json<Timeline>, ApiError> {
    let project = project_of(store.db(), &auth, id.into_inner()).await?;
    let milestones = milestone::Entity::find()
        .filter(milestone::Column::ProjectId.eq(project.id))
        .order_by_asc(milestone::Column::Due)
        .order_by_asc(milestone::Column::Id)
        .all(store.db())
        .await?;
    let enrolments = crate::routes::reports::counted_enrolments(store.db(), project.id).await?;
    use crate::routes::reports::people;
    let mut keys = Vec::new();
    let (mut year, mut month) = month_key(project.period_from);
    let last = month_key(project.period_until);
    while (year, month) <= last && keys.len() < 240 {
        keys.push((year, month));
        (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    }
    let in_range = |date: NaiveDate| keys.first().is_some_and(|f| month_key(date) >= *f) && keys.last().is_some_and(|l| month_key(date) <= *l);
    let mut enrolled: Vec<_> =
        keys.iter().map(|k| people(&key, enrolments.iter().filter(|e| month_key(e.enrolled_on) == *k))).collect();
    let mut exited: Vec<_> =
        keys.iter().map(|k| people(&key, enrolments.iter().filter(|e| e.left_on.map(month_key) == Some(*k)))).collect();
    // The months add up to the period's totals in the project report:
    // protect them together so no hidden month can be derived from it.
    let mut enrolled_total = people(&key, enrolments.iter().filter(|e| in_range(e.enrolled_on)));
    let mut exited_total = people(&key, enrolments.iter().filter(|e| e.left_on.is_some_and(in_range)));
    report::protect(&mut enrolled.iter_mut().collect::<Vec<_>>(), &mut enrolled_total);
    report::protect(&mut exited.iter_mut().collect::<Vec<_>>(), &mut exited_total);
    let months = keys
        .iter()
        .zip(enrolled.iter().zip(exited.iter()))
        .map(|((year, month), (enrolled, exited))| Month {
            month: format!("{year:04}-{month:02}"),
            enrolled: enrolled.cell(),
            exited: exited.cell(),
        })
        .collect();
    Ok(web::Json(Timeline {
        project: project_view(project)?,
        milestones: milestones.into_iter().map(milestone_view).collect::<Result<_, _>>()?,
        months,
        disclosure_control: DisclosureControl::applied(),
    }))
}

/// The enrolment model is used by reports and the plan routes.
pub use enrolment::Model as Enrolment;
