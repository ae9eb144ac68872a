//! Progress: the scale series in time order, the change on the scale and
//! the small steps counted by status (`samplan_domain::plan` computes them).

use super::corrupt;
use super::scale_readings::readings_of;
use crate::auth::Auth;
use crate::entities::plan_step;
use crate::error::{ApiError, Problem};
use crate::store::{Store, scope};
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use samplan_domain::plan::scale_change;
use samplan_domain::{ScaleValue, StepStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use samplan_domain::StepCounts;

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
    let readings = readings_of(store.db(), plan.id).await?;
    let values = readings
        .iter()
        .map(|r| ScaleValue::parse(i64::from(r.value)).map_err(|_| corrupt("scale value")))
        .collect::<Result<Vec<_>, _>>()?;
    let statuses: Vec<String> = plan_step::Entity::find()
        .select_only()
        .column(plan_step::Column::Status)
        .filter(plan_step::Column::PlanId.eq(plan.id))
        .into_tuple()
        .all(store.db())
        .await?;
    let statuses = statuses
        .iter()
        .map(|s| StepStatus::parse(s).ok_or_else(|| corrupt("step status")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(Progress {
        plan_id: plan.id,
        change: scale_change(&values),
        scale: readings
            .iter()
            .zip(&values)
            .map(|(reading, value)| ScalePoint { value: value.get(), recorded_at: reading.recorded_at })
            .collect(),
        steps: StepCounts::of(statuses),
    }))
}
