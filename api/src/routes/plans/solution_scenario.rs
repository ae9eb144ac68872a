//! The solution scenario (lösningsscenario): the preferred future in the
//! participant's own words and the signs of progress. Written by the
//! plan-level writers, with `If-Match`.

use super::{TEXT_MAX, corrupt, plan_level, texts};
use crate::auth::Auth;
use crate::entities::plan_solution_scenario;
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch};
use crate::routes::with_etag;
use crate::store::{Store, scope, versioned};
use actix_web::{HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use samplan_domain::validation::{self, ValidationErrors};
use sea_orm::EntityTrait;
use sea_orm::sea_query::Expr;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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

pub(super) fn scenario_view(m: plan_solution_scenario::Model) -> Result<SolutionScenario, ApiError> {
    Ok(SolutionScenario {
        preferred_future: m.preferred_future,
        signs_of_progress: serde_json::from_value(m.signs_of_progress).map_err(|_| corrupt("signs"))?,
        version: m.version,
        updated_at: m.updated_at,
        updated_by: m.updated_by,
        updated_org: m.updated_org,
    })
}

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
    let (plan, _) = scope::visible_plan(&txn, &auth, id.into_inner(), scope::today()).await?;
    plan_level(&auth, &plan)?;
    let current =
        plan_solution_scenario::Entity::find_by_id(plan.id).one(&txn).await?.ok_or_else(|| corrupt("scenario"))?;
    if_match.check(current.version)?;
    let changes = plan_solution_scenario::Entity::update_many()
        .col_expr(plan_solution_scenario::Column::PreferredFuture, Expr::value(body.preferred_future))
        .col_expr(plan_solution_scenario::Column::SignsOfProgress, Expr::value(serde_json::json!(body.signs_of_progress)));
    let row = versioned::update(&txn, &current, changes, &auth).await?;
    txn.commit().await?;
    let view = scenario_view(row)?;
    Ok(with_etag(view.version, &view))
}
