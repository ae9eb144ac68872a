//! Applies `domain::access` to queries. Single records are checked with
//! `may_see_participant` (the pure decision); lists filter with the
//! condition made from `participant_scope`, so a list, a count or a cursor
//! can never carry a participant the principal may not see.

use crate::entities::{participant, plan};
use crate::error::ApiError;
use chrono::{NaiveDate, Utc};
use samplan_domain::access::{self, ParticipantFacts, ParticipantScope};
use samplan_domain::{AssocId, OrgId, Principal};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Today's date by the Swedish calendar, read once per request.
pub fn today() -> NaiveDate {
    access::stockholm_today(Utc::now())
}

/// The WHERE condition on `participants` for what `principal` may see, or
/// `None` when it may see no one at all.
pub fn participant_condition(principal: &Principal, today: NaiveDate) -> Option<Condition> {
    match access::participant_scope(principal, today) {
        ParticipantScope::Nothing => None,
        ParticipantScope::RegisteredOrConsented { assoc, org, .. } => Some(
            Condition::all()
                .add(participant::Column::Assoc.eq(assoc.as_str()))
                .add(participant::Column::Org.eq(org.as_str())),
        ),
    }
}

/// A participant the principal may see, or 404 — the same answer as for an
/// id that does not exist.
pub async fn visible_participant<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    id: Uuid,
    today: NaiveDate,
) -> Result<participant::Model, ApiError> {
    if !access::handles_personal_data(principal.role) {
        return Err(ApiError::NotFound);
    }
    let found = participant::Entity::find_by_id(id)
        .filter(participant::Column::Assoc.eq(principal.assoc.as_str()))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let assoc = AssocId::parse(&found.assoc).map_err(|_| ApiError::Internal("stored assoc".into()))?;
    let registered_by = OrgId::parse(&found.org).map_err(|_| ApiError::Internal("stored org".into()))?;
    let facts = ParticipantFacts { assoc: &assoc, registered_by: &registered_by };
    if access::may_see_participant(principal, facts, &[], today) {
        Ok(found)
    } else {
        Err(ApiError::NotFound)
    }
}

/// A plan whose participant the principal may see, with that participant.
pub async fn visible_plan<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    plan_id: Uuid,
    today: NaiveDate,
) -> Result<(plan::Model, participant::Model), ApiError> {
    if !access::handles_personal_data(principal.role) {
        return Err(ApiError::NotFound);
    }
    let plan = plan::Entity::find_by_id(plan_id)
        .filter(plan::Column::Assoc.eq(principal.assoc.as_str()))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let participant = visible_participant(db, principal, plan.participant_id, today).await?;
    Ok((plan, participant))
}
