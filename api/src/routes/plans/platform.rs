//! The platform (plattform): why the participant and the agencies meet, the
//! frame each agency's mandate sets, and how the participant will notice
//! that the collaboration helps. Written by the plan-level writers, with
//! `If-Match`.

use super::{LIST_MAX, TEXT_MAX, corrupt, plan_level};
use crate::auth::Auth;
use crate::entities::plan_platform;
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch};
use crate::routes::with_etag;
use crate::store::{Store, scope, versioned};
use actix_web::{HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use samplan_domain::OrgId;
use samplan_domain::validation::{self, ValidationErrors};
use sea_orm::EntityTrait;
use sea_orm::sea_query::Expr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

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

pub(super) fn platform_view(m: plan_platform::Model) -> Result<Platform, ApiError> {
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
    let (plan, _) = scope::visible_plan(&txn, &auth, id.into_inner(), scope::today()).await?;
    plan_level(&auth, &plan)?;
    let current = plan_platform::Entity::find_by_id(plan.id).one(&txn).await?.ok_or_else(|| corrupt("platform"))?;
    if_match.check(current.version)?;
    let changes = plan_platform::Entity::update_many()
        .col_expr(plan_platform::Column::Purpose, Expr::value(body.purpose))
        .col_expr(
            plan_platform::Column::Frames,
            Expr::value(serde_json::to_value(&body.frames).map_err(|e| ApiError::Internal(e.to_string()))?),
        )
        .col_expr(
            plan_platform::Column::HowTheParticipantNoticesItHelps,
            Expr::value(body.how_the_participant_notices_it_helps),
        );
    let row = versioned::update(&txn, &current, changes, &auth).await?;
    txn.commit().await?;
    let view = platform_view(row)?;
    Ok(with_etag(view.version, &view))
}
