//! The change feed: what changed in the association, in commit order,
//! filtered by what the principal may see now.
//!
//! The feed's order is the association's sequence of changes, which counts
//! writes about every participant. So that an organisation cannot count the
//! writes about participants it does not see, no item carries that number and
//! the cursor is the position sealed with the server key for the caller's
//! association and organisation (`extract::seal_position`): opaque, and the
//! same until something the caller sees is added.

use crate::auth::Auth;
use crate::entities::{change, participant};
use crate::error::{ApiError, Problem};
use crate::config::SecretKey;
use crate::extract::{limit, open_position, seal_position};
use crate::store::{Store, scope};
use actix_web::{get, web};
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_cursor` of your last poll; omit to start from the beginning.
    // 16 bytes (a sealed position and its tag) in unpadded base64url.
    #[param(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub after: Option<String>,
    /// Changes per page, 1–500 (default 50; larger values are capped).
    #[param(minimum = 1, example = 50)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    /// `participant`, `plan`, `platform`, `solution_scenario`, `resource`, `step`, `scale_reading`, `meeting` or `consent`.
    pub resource_type: String,
    pub resource_id: Uuid,
    pub participant_id: Uuid,
    pub plan_id: Option<Uuid>,
    /// The object's version after the change (its ETag is `"<version>"`).
    pub version: i64,
    /// `insert` or `update`.
    pub operation: String,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub items: Vec<Change>,
    /// Poll again with `after=<next_cursor>`; it stays the same while nothing new that you may see
    /// has happened. Opaque: it cannot be read, compared or made up (400).
    pub next_cursor: String,
}

/// Every create and update in the association that you may see now, in
/// commit order. Poll with the `next_cursor` of the previous answer: you
/// never miss a change and never get one twice. A participant whose consent
/// is withdrawn drops out of the feed at once.
#[utoipa::path(
    tag = "changes",
    params(ChangesQuery),
    responses(
        (status = 200, body = ChangePage),
        (status = 400, description = "Bad cursor or limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/changes")]
pub async fn feed(
    auth: Auth,
    store: web::Data<Store>,
    key: web::Data<SecretKey>,
    query: web::Query<ChangesQuery>,
) -> Result<web::Json<ChangePage>, ApiError> {
    let limit = limit(query.limit)?;
    let owner: [&[u8]; 2] = [auth.assoc.as_str().as_bytes(), auth.org.as_str().as_bytes()];
    let after = query.after.as_deref().map(|c| open_position(&key, &owner, c)).transpose()?.unwrap_or(0);
    let Some(visible) = scope::participant_condition(&auth, scope::today()) else {
        return Ok(web::Json(ChangePage { items: Vec::new(), next_cursor: seal_position(&key, &owner, after) }));
    };
    store.sealed(auth.assoc.as_str()).await?;
    // Per change row: is its participant one the caller sees? (Correlated,
    // so a page never builds the set of everyone the caller may see.)
    let visible_row = Query::select()
        .expr(Expr::val(1))
        .from(participant::Entity)
        .cond_where(visible)
        .and_where(
            Expr::col((participant::Entity, participant::Column::Id))
                .equals((change::Entity, change::Column::ParticipantId)),
        )
        .to_owned();
    let rows = change::Entity::find()
        .filter(change::Column::Assoc.eq(auth.assoc.as_str()))
        .filter(change::Column::Seq.gt(after))
        .filter(Expr::exists(visible_row))
        .order_by_asc(change::Column::Seq)
        .limit(limit)
        .all(store.db())
        .await?;
    let next_cursor = seal_position(&key, &owner, rows.last().map_or(after, |last| last.seq));
    let items = rows
        .into_iter()
        .map(|row| {
            auth.audit.saw(row.participant_id);
            Change {
                resource_type: row.resource_type,
                resource_id: row.resource_id,
                participant_id: row.participant_id,
                plan_id: row.plan_id,
                version: row.version,
                operation: row.operation,
                changed_at: Utc.timestamp_micros(row.changed_at_us).single().unwrap_or_default(),
            }
        })
        .collect();
    Ok(web::Json(ChangePage { items, next_cursor }))
}
