//! A whole plan in two queries, whatever its size: the plan with its
//! participant, platform and solution scenario (one row); then every
//! resource, step, scale reading and meeting of the plan with the
//! participant's consents and the organisations they name (one query over
//! those tables). The access decision is `store::scope`'s, made on the rows
//! these queries return, before anything is shown. A plan under a write's
//! access check (`visible_plan`) takes two queries too.

use super::scope::{self, VisibleParticipant};
use crate::entities::{
    consent, consent_organisation, meeting, participant, plan, plan_platform, plan_resource, plan_solution_scenario,
    plan_step, scale_reading,
};
use crate::error::ApiError;
use crate::record::Asker;
use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait, DbBackend, EntityName, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult,
    Statement, Value,
};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use uuid::Uuid;

/// A plan with every part of it, and the participant access let through.
#[derive(Debug)]
pub struct WholePlan {
    pub plan: plan::Model,
    pub participant: VisibleParticipant,
    pub parts: PlanParts,
}

/// Every part of a plan.
#[derive(Debug)]
pub struct PlanParts {
    pub platform: plan_platform::Model,
    pub solution_scenario: plan_solution_scenario::Model,
    /// In the order they were added.
    pub resources: Vec<plan_resource::Model>,
    /// In the order they were added.
    pub steps: Vec<plan_step::Model>,
    /// By when they were taken.
    pub scale_readings: Vec<scale_reading::Model>,
    /// By the day they were held.
    pub meetings: Vec<meeting::Model>,
}

/// `alias.column AS "prefix_column"` for every column of `E`.
fn columns<E: EntityTrait>(alias: &str) -> String {
    E::Column::iter()
        .map(|column| {
            let name = column.as_str();
            format!("{alias}.\"{name}\" AS \"{alias}_{name}\"")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `n`th (1-based) bind parameter in the backend's spelling.
fn param(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// A statement's text for `backend`, built on first use: the column lists
/// are the entities' and do not change while the process runs.
fn sql_for(cache: &'static [OnceLock<String>; 2], backend: DbBackend, build: impl FnOnce() -> String) -> &'static str {
    cache[usize::from(backend == DbBackend::Postgres)].get_or_init(build)
}

fn model<M: FromQueryResult>(row: &QueryResult, alias: &str) -> Result<M, ApiError> {
    Ok(M::from_query_result(row, &format!("{alias}_"))?)
}

/// Whether the row holds an `E` under `alias` (a LEFT JOIN that matched).
fn present(row: &QueryResult, alias: &str, key: &str) -> Result<bool, ApiError> {
    Ok(row.try_get::<Option<Uuid>>(&format!("{alias}_"), key)?.is_some())
}

/// The plan, with its participant when that participant is in the
/// principal's association and `parts` (platform, solution scenario) when
/// asked for. One query.
async fn plan_row<C: ConnectionTrait>(
    db: &C,
    assoc: &str,
    plan_id: Uuid,
    parts: bool,
) -> Result<Option<QueryResult>, ApiError> {
    static PLAN: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    static WITH_PARTS: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let backend = db.get_database_backend();
    let sql = sql_for(if parts { &WITH_PARTS } else { &PLAN }, backend, || {
        let (mut select, mut joins) = (
            format!("{}, {}", columns::<plan::Entity>("p"), columns::<participant::Entity>("pa")),
            format!(
                "FROM \"{plans}\" p JOIN \"{participants}\" pa ON pa.\"id\" = p.\"participant_id\" AND pa.\"assoc\" = p.\"assoc\"",
                plans = plan::Entity.table_name(),
                participants = participant::Entity.table_name(),
            ),
        );
        if parts {
            select.push_str(&format!(
                ", {}, {}",
                columns::<plan_platform::Entity>("pf"),
                columns::<plan_solution_scenario::Entity>("sc")
            ));
            joins.push_str(&format!(
                " LEFT JOIN \"{platforms}\" pf ON pf.\"plan_id\" = p.\"id\" \
                 LEFT JOIN \"{scenarios}\" sc ON sc.\"plan_id\" = p.\"id\"",
                platforms = plan_platform::Entity.table_name(),
                scenarios = plan_solution_scenario::Entity.table_name(),
            ));
        }
        format!("SELECT {select} {joins} WHERE p.\"id\" = {} AND p.\"assoc\" = {}", param(backend, 1), param(backend, 2))
    });
    let values: Vec<Value> = vec![plan_id.into(), assoc.into()];
    Ok(db.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await?)
}

/// The consents of a participant with the organisations each names. One query.
pub async fn consents_with_organisations<C: ConnectionTrait>(
    db: &C,
    participant_id: Uuid,
) -> Result<Vec<(consent::Model, Vec<String>)>, ApiError> {
    static CONSENTS: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let backend = db.get_database_backend();
    let sql = sql_for(&CONSENTS, backend, || {
        format!(
            "SELECT {}, {} FROM \"{consents}\" c LEFT JOIN \"{named}\" co ON co.\"consent_id\" = c.\"id\" \
             WHERE c.\"participant_id\" = {}",
            columns::<consent::Entity>("c"),
            columns::<consent_organisation::Entity>("co"),
            param(backend, 1),
            consents = consent::Entity.table_name(),
            named = consent_organisation::Entity.table_name(),
        )
    });
    let mut consents = Consents::new();
    for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, [participant_id.into()])).await? {
        consent_row(&row, &mut consents)?;
    }
    Ok(consents.into_values().collect())
}

/// The consents read so far, by id, each with the organisations it names.
type Consents = BTreeMap<Uuid, (consent::Model, Vec<String>)>;

/// Takes a row of a consent (alias `c`) left-joined with one organisation
/// it names (alias `co`).
fn consent_row(row: &QueryResult, consents: &mut Consents) -> Result<(), ApiError> {
    let consent: consent::Model = model(row, "c")?;
    let (_, organisations) = consents.entry(consent.id).or_insert_with(|| (consent, Vec::new()));
    if present(row, "co", "consent_id")? {
        organisations.push(model::<consent_organisation::Model>(row, "co")?.org);
    }
    Ok(())
}

/// A plan whose participant the principal may see, with that participant,
/// in two queries; 404 otherwise (recorded as `scope::visible_participant`
/// records it).
pub async fn visible_plan<C: ConnectionTrait>(
    db: &C,
    asker: &impl Asker,
    plan_id: Uuid,
    today: NaiveDate,
) -> Result<(plan::Model, VisibleParticipant), ApiError> {
    let row = plan_row(db, asker.assoc.as_str(), plan_id, false).await?.ok_or(ApiError::NotFound)?;
    let (plan, participant) = (model::<plan::Model>(&row, "p")?, model::<participant::Model>(&row, "pa")?);
    let participant = scope::admit(db, asker, participant, today).await?;
    Ok((plan, participant))
}

/// Every resource, step, scale reading and meeting of a plan, and the
/// consents of its participant with the organisations they name, in one
/// query: each row of `kinds` joins the rows of its own table only.
async fn contributions<C: ConnectionTrait>(db: &C, plan_id: Uuid, participant_id: Uuid) -> Result<Vec<QueryResult>, ApiError> {
    static CONTRIBUTIONS: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let backend = db.get_database_backend();
    let sql = sql_for(&CONTRIBUTIONS, backend, || {
        let (p, pa) = (param(backend, 1), param(backend, 2));
        format!(
            "SELECT k.kind AS kind, {}, {}, {}, {}, {}, {} \
             FROM (SELECT 'resource' AS kind UNION ALL SELECT 'step' UNION ALL SELECT 'reading' \
                   UNION ALL SELECT 'meeting' UNION ALL SELECT 'consent') k \
             LEFT JOIN \"{resources}\" r ON k.kind = 'resource' AND r.\"plan_id\" = {p} \
             LEFT JOIN \"{steps}\" s ON k.kind = 'step' AND s.\"plan_id\" = {p} \
             LEFT JOIN \"{readings}\" sr ON k.kind = 'reading' AND sr.\"plan_id\" = {p} \
             LEFT JOIN \"{meetings}\" m ON k.kind = 'meeting' AND m.\"plan_id\" = {p} \
             LEFT JOIN \"{consents}\" c ON k.kind = 'consent' AND c.\"participant_id\" = {pa} \
             LEFT JOIN \"{named}\" co ON k.kind = 'consent' AND co.\"consent_id\" = c.\"id\"",
            columns::<plan_resource::Entity>("r"),
            columns::<plan_step::Entity>("s"),
            columns::<scale_reading::Entity>("sr"),
            columns::<meeting::Entity>("m"),
            columns::<consent::Entity>("c"),
            columns::<consent_organisation::Entity>("co"),
            resources = plan_resource::Entity.table_name(),
            steps = plan_step::Entity.table_name(),
            readings = scale_reading::Entity.table_name(),
            meetings = meeting::Entity.table_name(),
            consents = consent::Entity.table_name(),
            named = consent_organisation::Entity.table_name(),
        )
    });
    let values: Vec<Value> = vec![plan_id.into(), participant_id.into()];
    Ok(db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?)
}

/// A whole plan the principal may see, in two queries (the plan's row, then
/// everything under it with the participant's consents), the access decision
/// made on what they return; 404 otherwise.
pub async fn whole_plan<C: ConnectionTrait>(
    db: &C,
    asker: &impl Asker,
    plan_id: Uuid,
    today: NaiveDate,
) -> Result<WholePlan, ApiError> {
    let row = plan_row(db, asker.assoc.as_str(), plan_id, true).await?.ok_or(ApiError::NotFound)?;
    let found: participant::Model = model(&row, "pa")?;
    let (parts, consents) = parts_from(db, &row, plan_id, found.id).await?;
    let participant = scope::admit_with(asker, found, consents, today)?;
    Ok(WholePlan { plan: model(&row, "p")?, participant, parts })
}

/// Every part of a plan already let through (after a write), in two queries.
pub async fn parts<C: ConnectionTrait>(db: &C, plan: &plan::Model) -> Result<PlanParts, ApiError> {
    let row = plan_row(db, &plan.assoc, plan.id, true).await?.ok_or(ApiError::NotFound)?;
    Ok(parts_from(db, &row, plan.id, plan.participant_id).await?.0)
}

async fn parts_from<C: ConnectionTrait>(
    db: &C,
    row: &QueryResult,
    plan_id: Uuid,
    participant_id: Uuid,
) -> Result<(PlanParts, Vec<(consent::Model, Vec<String>)>), ApiError> {
    let corrupt = |what: &str| ApiError::Internal(format!("plan {plan_id} has no {what}"));
    if !present(row, "pf", "plan_id")? {
        return Err(corrupt("platform"));
    }
    if !present(row, "sc", "plan_id")? {
        return Err(corrupt("solution scenario"));
    }
    let mut parts = PlanParts {
        platform: model(row, "pf")?,
        solution_scenario: model(row, "sc")?,
        resources: Vec::new(),
        steps: Vec::new(),
        scale_readings: Vec::new(),
        meetings: Vec::new(),
    };
    let mut consents = Consents::new();
    for row in contributions(db, plan_id, participant_id).await? {
        match row.try_get::<String>("", "kind")?.as_str() {
            "resource" if present(&row, "r", "id")? => parts.resources.push(model(&row, "r")?),
            "step" if present(&row, "s", "id")? => parts.steps.push(model(&row, "s")?),
            "reading" if present(&row, "sr", "id")? => parts.scale_readings.push(model(&row, "sr")?),
            "meeting" if present(&row, "m", "id")? => parts.meetings.push(model(&row, "m")?),
            "consent" if present(&row, "c", "id")? => consent_row(&row, &mut consents)?,
            _ => {}
        }
    }
    parts.resources.sort_by_key(|r| r.id);
    parts.steps.sort_by_key(|s| s.id);
    parts.scale_readings.sort_by(|a, b| (a.recorded_at, a.id).cmp(&(b.recorded_at, b.id)));
    parts.meetings.sort_by(|a, b| (a.held_on, a.id).cmp(&(b.held_on, b.id)));
    Ok((parts, consents.into_values().collect()))
}
