//! Follow-up meetings (uppföljningsmöten): when, who took part, what is
//! better since last time, what the participant will have done by next
//! time, and the next booked meeting.

use super::{TEXT_MAX, corrupt, texts};
use crate::auth::Auth;
use crate::entities::meeting;
use crate::error::{ApiError, Problem};
use crate::extract::Body;
use crate::routes::created;
use crate::store::{Store, scope};
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use samplan_domain::MeetingDates;
use samplan_domain::validation::{self, ValidationErrors};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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

pub(super) fn meeting_view(m: meeting::Model) -> Result<Meeting, ApiError> {
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
    let dates = errors.check("next_meeting", MeetingDates::parse(body.held_on, body.next_meeting));
    let dates = errors.finish(|| dates.expect("parsed when no errors"))?;

    let txn = store.begin_write(&auth).await?;
    let (plan, _) = scope::visible_plan(&txn, &auth, id.into_inner(), scope::today()).await?;
    let new_id = Uuid::now_v7();
    auth.audit.created(new_id);
    let row = meeting::ActiveModel {
        id: Set(new_id),
        plan_id: Set(plan.id),
        held_on: Set(dates.held_on()),
        participants: Set(serde_json::json!(body.participants)),
        better_since_last_time: Set(body.better_since_last_time),
        until_next_time: Set(body.until_next_time),
        next_meeting: Set(dates.next_meeting()),
        assoc: Set(auth.assoc.to_string()),
        org: Set(auth.org.to_string()),
        created_by: Set(auth.sub.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(created(format!("/v1/plans/{}/meetings/{}", plan.id, row.id), &meeting_view(row)?))
}
