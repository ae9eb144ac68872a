//! Applies `domain::access` to queries. Single records are checked with
//! `may_see_participant` (the pure decision, over the participant's consents
//! loaded in the same request); lists filter with the condition made from
//! `participant_scope`, so a list, a count or a cursor can never carry a
//! participant the principal may not see. Nothing is cached: a withdrawn or
//! expired consent ends access on the next request.

use crate::entities::{consent, consent_organisation, participant, plan};
use crate::error::ApiError;
use crate::record::Asker;
use chrono::{NaiveDate, Utc};
use samplan_domain::access::{self, Consent, ParticipantFacts, ParticipantScope};
use samplan_domain::{AssocId, OrgId, Principal};
use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef, Query};
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
        ParticipantScope::RegisteredOrConsented { assoc, org, today } => Some(
            Condition::all()
                .add(participant::Column::Assoc.eq(assoc.as_str()))
                .add(organisation_sees(Expr::val(org.as_str()), today)),
        ),
    }
}

/// The condition on rows that name a participant and an organisation (in
/// columns `participant_id` and `org`): the organisation sees the
/// participant today. Reports count an enrolment only while the
/// organisation that enrolled the plan still sees the person.
pub fn organisation_column_sees(org: impl IntoColumnRef, participant_id: impl IntoColumnRef, today: NaiveDate) -> Expr {
    let seen = Query::select()
        .column((participant::Entity, participant::Column::Id))
        .from(participant::Entity)
        .cond_where(organisation_sees(Expr::col(org), today))
        .to_owned();
    Expr::col(participant_id).in_subquery(seen)
}

/// `access::organisation_sees` as a condition on `participants`: the
/// organisation `org` (a value, or a column of an enclosing query)
/// registered the participant, or a consent active on `today` names it.
fn organisation_sees(org: Expr, today: NaiveDate) -> Condition {
    // Correlated (EXISTS per participant row), so a query that shows a
    // page never builds the set of everyone the organisation may see.
    let named_in_active_consent = Query::select()
        .expr(Expr::val(1))
        .from(consent_organisation::Entity)
        .inner_join(
            consent::Entity,
            Expr::col((consent::Entity, consent::Column::Id))
                .equals((consent_organisation::Entity, consent_organisation::Column::ConsentId)),
        )
        .and_where(Expr::col((consent_organisation::Entity, consent_organisation::Column::Org)).eq(org.clone()))
        .and_where(Expr::col((consent::Entity, consent::Column::WithdrawnAt)).is_null())
        .and_where(Expr::col((consent::Entity, consent::Column::ValidFrom)).lte(today))
        .and_where(Expr::col((consent::Entity, consent::Column::ValidUntil)).gte(today))
        .and_where(
            Expr::col((consent_organisation::Entity, consent_organisation::Column::ParticipantId))
                .equals((participant::Entity, participant::Column::Id)),
        )
        .to_owned();
    Condition::any()
        .add(Expr::col((participant::Entity, participant::Column::Org)).eq(org))
        .add(Expr::exists(named_in_active_consent))
}

/// A participant as access sees it: the record and its consents.
#[derive(Debug, Clone)]
pub struct VisibleParticipant {
    pub model: participant::Model,
    pub assoc: AssocId,
    pub registered_by: OrgId,
    pub consents: Vec<Consent>,
}

impl VisibleParticipant {
    pub fn facts(&self) -> ParticipantFacts<'_> {
        ParticipantFacts { assoc: &self.assoc, registered_by: &self.registered_by }
    }

    /// Whether `org` sees this participant today (for step owners).
    pub fn seen_by(&self, org: &OrgId, today: NaiveDate) -> bool {
        access::organisation_sees(org, self.facts(), &self.consents, today)
    }
}

/// The consents of a participant, as access needs them (one query).
pub async fn consents_of<C: ConnectionTrait>(db: &C, participant_id: Uuid) -> Result<Vec<Consent>, ApiError> {
    Ok(super::plans::consents_with_organisations(db, participant_id)
        .await?
        .into_iter()
        .map(|(c, organisations)| access_consent(c, &organisations))
        .collect())
}

/// A participant record with its consents, as access sees it.
async fn with_consents<C: ConnectionTrait>(db: &C, found: participant::Model) -> Result<VisibleParticipant, ApiError> {
    let consents = consents_of(db, found.id).await?;
    visible(found, consents)
}

fn visible(found: participant::Model, consents: Vec<Consent>) -> Result<VisibleParticipant, ApiError> {
    Ok(VisibleParticipant {
        assoc: AssocId::parse(&found.assoc).map_err(|_| ApiError::Internal("stored assoc".into()))?,
        registered_by: OrgId::parse(&found.org).map_err(|_| ApiError::Internal("stored org".into()))?,
        consents,
        model: found,
    })
}

/// Participant `id` of association `assoc` with its consents, if it exists.
async fn load_participant<C: ConnectionTrait>(
    db: &C,
    assoc: &AssocId,
    id: Uuid,
) -> Result<Option<VisibleParticipant>, ApiError> {
    match participant::Entity::find_by_id(id).filter(participant::Column::Assoc.eq(assoc.as_str())).one(db).await? {
        Some(found) => Ok(Some(with_consents(db, found).await?)),
        None => Ok(None),
    }
}

/// The access decision on a participant record already read: loads its
/// consents, and lets it through (recorded as seen) or answers 404
/// (recorded as refused).
pub async fn admit<C: ConnectionTrait>(
    db: &C,
    auth: &impl Asker,
    found: participant::Model,
    today: NaiveDate,
) -> Result<VisibleParticipant, ApiError> {
    decide(auth, with_consents(db, found).await?, today)
}

/// The access decision on a participant record and its consents, both
/// already read (`store::plans` reads them with the plan).
pub fn admit_with(
    auth: &impl Asker,
    found: participant::Model,
    consents: Vec<(consent::Model, Vec<String>)>,
    today: NaiveDate,
) -> Result<VisibleParticipant, ApiError> {
    let consents = consents.into_iter().map(|(c, organisations)| access_consent(c, &organisations)).collect();
    decide(auth, visible(found, consents)?, today)
}

fn access_consent(c: consent::Model, organisations: &[String]) -> Consent {
    Consent {
        organisations: organisations.iter().filter_map(|org| OrgId::parse(org).ok()).collect(),
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        withdrawn: c.withdrawn_at.is_some(),
    }
}

fn decide(auth: &impl Asker, visible: VisibleParticipant, today: NaiveDate) -> Result<VisibleParticipant, ApiError> {
    if access::may_see_participant(&**auth, visible.facts(), &visible.consents, today) {
        auth.as_ref().saw(visible.model.id);
        Ok(visible)
    } else {
        auth.as_ref().refused(visible.model.id);
        Err(ApiError::NotFound)
    }
}

/// A participant the principal may see, or 404 — the same answer as for an
/// id that does not exist. Either way the request's audit record learns of
/// it: seen, or refused (an existing participant the principal may not see).
pub async fn visible_participant<C: ConnectionTrait>(
    db: &C,
    auth: &impl Asker,
    id: Uuid,
    today: NaiveDate,
) -> Result<VisibleParticipant, ApiError> {
    decide(auth, load_participant(db, &auth.assoc, id).await?.ok_or(ApiError::NotFound)?, today)
}

/// The participant, when `principal` may see it now; `None` when it does
/// not exist or is not the principal's to see. Records nothing: for checks
/// outside a route (an idempotent replay re-checking its stored answer).
pub async fn participant_seen_by<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    id: Uuid,
    today: NaiveDate,
) -> Result<Option<VisibleParticipant>, ApiError> {
    Ok(load_participant(db, &principal.assoc, id)
        .await?
        .filter(|found| access::may_see_participant(principal, found.facts(), &found.consents, today)))
}

/// A plan whose participant the principal may see, with that participant
/// (two queries: see `store::plans`).
pub async fn visible_plan<C: ConnectionTrait>(
    db: &C,
    auth: &impl Asker,
    plan_id: Uuid,
    today: NaiveDate,
) -> Result<(plan::Model, VisibleParticipant), ApiError> {
    super::plans::visible_plan(db, auth, plan_id, today).await
}

/// Runs a query over participants filtered to what the principal may see,
/// recording each participant returned for the audit.
pub async fn visible_participants<C: ConnectionTrait>(
    db: &C,
    auth: &impl Asker,
    select: sea_orm::Select<participant::Entity>,
    today: NaiveDate,
) -> Result<Vec<participant::Model>, ApiError> {
    let condition = participant_condition(&**auth, today).ok_or(ApiError::NotFound)?;
    let rows = select.filter(condition).all(db).await?;
    for row in &rows {
        auth.as_ref().saw(row.id);
    }
    Ok(rows)
}

/// Runs a query over participants in every association (a lookup by
/// personal identity number): returns those the principal may see, as
/// [`visible_participants`] does, and records each match it may not see as
/// refused, in that participant's association. The answer is the same as
/// if those matches did not exist: 404 for a role that sees no one, else
/// the visible ones.
pub async fn matching_participants<C: ConnectionTrait>(
    db: &C,
    auth: &impl Asker,
    select: sea_orm::Select<participant::Entity>,
    today: NaiveDate,
) -> Result<Vec<participant::Model>, ApiError> {
    let condition = participant_condition(&**auth, today);
    let visible = match &condition {
        Some(condition) => select.clone().filter(condition.clone()).all(db).await?,
        None => Vec::new(),
    };
    for found in select.all(db).await? {
        if !visible.iter().any(|v| v.id == found.id) {
            let assoc = AssocId::parse(&found.assoc).map_err(|_| ApiError::Internal("stored assoc".into()))?;
            auth.as_ref().refused_in(found.id, &assoc);
        }
    }
    if condition.is_none() {
        return Err(ApiError::NotFound);
    }
    for row in &visible {
        auth.as_ref().saw(row.id);
    }
    Ok(visible)
}
