//! Resources (resurser): strengths, what already works, earlier successes
//! and the network, noted by the participant or an agency (resursskvaller).

use super::{TEXT_MAX, contributor};
use crate::auth::Auth;
use crate::entities::plan_resource;
use crate::error::{ApiError, Problem};
use crate::extract::Body;
use crate::routes::created;
use crate::store::{Store, scope};
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use samplan_domain::Contributor;
use samplan_domain::validation::{self, ValidationErrors};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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

pub(super) fn resource_view(m: plan_resource::Model) -> Resource {
    Resource {
        id: m.id,
        description: m.description,
        noted_by: m.noted_by,
        org: m.org,
        created_at: m.created_at,
        created_by: m.created_by,
    }
}

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
    let (plan, _) = scope::visible_plan(&txn, &auth, id.into_inner(), scope::today()).await?;
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
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(created(format!("/v1/plans/{}/resources/{}", plan.id, row.id), &resource_view(row)))
}
