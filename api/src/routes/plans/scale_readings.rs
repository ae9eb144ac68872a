//! Scale readings (skalfrågor): the participant's own 0–10 rating of where
//! they are on the way to the solution scenario, with why not lower and what
//! one step up would look like.

use super::{TEXT_MAX, corrupt};
use crate::auth::Auth;
use crate::entities::scale_reading;
use crate::error::{ApiError, Problem};
use crate::extract::Body;
use crate::routes::created;
use crate::store::{Store, scope};
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use samplan_domain::ScaleValue;
use samplan_domain::validation::{self, ValidationErrors};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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

pub(super) fn reading_view(m: scale_reading::Model) -> Result<ScaleReading, ApiError> {
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

pub(super) async fn readings_of<C: ConnectionTrait>(db: &C, plan_id: Uuid) -> Result<Vec<scale_reading::Model>, ApiError> {
    Ok(scale_reading::Entity::find()
        .filter(scale_reading::Column::PlanId.eq(plan_id))
        .order_by_asc(scale_reading::Column::RecordedAt)
        .order_by_asc(scale_reading::Column::Id)
        .all(db)
        .await?)
}

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
    let (plan, _) = scope::visible_plan(&txn, &auth, id.into_inner(), scope::today()).await?;
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
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(created(format!("/v1/plans/{}/scale-readings/{}", plan.id, row.id), &reading_view(row)?))
}
