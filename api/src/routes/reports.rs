//! Aggregate reports for project leads, coordinators and auditors: enrolment,
//! outcomes at exit, scale movement and the socio-economic pay-off. No
//! named person, no cell under 5 people, whole calendar months, and every
//! shown count randomly rounded to base 5 by a cell key: a keyed hash of the
//! set of people the count describes (see `domain::report`).
//!
//! Only enrolments the enrolling organisation may still see are counted —
//! the participant is its own, or an active consent names it — so a
//! withdrawn consent takes a person out of the figures too.

use crate::auth::Auth;
use crate::config::SecretKey;
use crate::entities::{cost_parameter, enrolment, scale_reading};
use crate::error::{ApiError, Problem};
use crate::routes::projects::project_of;
use crate::store::{Store, scope};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use samplan_domain::SupportSource;
use samplan_domain::access::{self, Decision};
use samplan_domain::report::{self, Cell, CellKey, Count, DisclosureControl, ExitReason};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The default annual cost to society of a person outside work and self-support.
pub const DEFAULT_ANNUAL_COST_SEK: i64 = 500_000;

/// A project's enrolments that count: the enrolling organisation still sees
/// the participant today (`store::scope`, the same rule as every other read).
pub async fn counted_enrolments<C: ConnectionTrait>(db: &C, project: Uuid) -> Result<Vec<enrolment::Model>, ApiError> {
    let still_visible = scope::organisation_column_sees(
        (enrolment::Entity, enrolment::Column::Org),
        (enrolment::Entity, enrolment::Column::ParticipantId),
        scope::today(),
    );
    Ok(enrolment::Entity::find()
        .filter(enrolment::Column::ProjectId.eq(project))
        .filter(still_visible)
        .order_by_asc(enrolment::Column::Id)
        .all(db)
        .await?)
}

fn reader(auth: &Auth) -> Result<(), ApiError> {
    match access::may_read_reports(auth) {
        Decision::Allowed => Ok(()),
        Decision::Forbidden => Err(ApiError::Forbidden("reports are read by project leads, coordinators and auditors")),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day of the period (default: the project's start); widened to the first of its month.
    pub from: Option<NaiveDate>,
    /// Last day of the period (default: the project's end); widened to the end of its month.
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Exits {
    pub total: Cell,
    /// By reason: completed, broken_off, moved, health, other.
    pub by_reason: BTreeMap<String, Cell>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Movement {
    /// Main source of support at enrolment.
    pub from: SupportSource,
    /// … and at exit.
    pub to: SupportSource,
    pub count: Cell,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScaleMovement {
    /// Participants with at least two scale readings.
    pub participants: Cell,
    /// Median of latest minus first reading; null when suppressed.
    pub median_change: Option<f64>,
    /// Share whose latest reading is above their first; null when suppressed.
    pub share_improved: Option<f64>,
    pub suppressed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectReport {
    pub project_id: Uuid,
    /// The period reported: whole calendar months.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Enrolled at some time in the period.
    pub enrolled: Cell,
    /// Still enrolled at the end of the period.
    pub active: Cell,
    /// Left during the period.
    pub exited: Exits,
    /// Source of support at start → at exit, for those who left.
    pub support_movement: Vec<Movement>,
    pub scale_movement: ScaleMovement,
    /// Cells describing fewer than this many people are suppressed.
    pub min_cell: u64,
    /// How the figures were protected, and the bound of the rounding.
    pub disclosure_control: DisclosureControl,
}

/// The figures of one project and period, protected together so that no
/// suppressed cell can be derived from another figure of this report or of
/// the pay-off report.
struct Figures {
    enrolled: Count,
    active: Count,
    exited: Count,
    reasons: Vec<(ExitReason, Count)>,
    matrix: Vec<(SupportSource, SupportSource, Count)>,
    moved_to_self_support: Count,
}

fn support(stored: &str) -> Option<SupportSource> {
    SupportSource::parse(stored)
}

/// The cell key of a set of people: HMAC with the server key over their
/// sorted ids. Only the set counts (not the figure, period or project), so
/// the same people are always rounded the same way wherever they appear.
pub fn cell_key(key: &SecretKey, people: &BTreeSet<Uuid>) -> CellKey {
    let ids: Vec<u8> = people.iter().flat_map(|id| *id.as_bytes()).collect();
    let mac = key.mac("samplan report cell v1", &[&ids]);
    CellKey::from_bytes(mac[..8].try_into().expect("8 bytes"))
}

/// How many people (not enrolments: one person may be enrolled twice), with
/// the cell key of that set.
pub fn people<'a>(key: &SecretKey, enrolments: impl IntoIterator<Item = &'a enrolment::Model>) -> Count {
    people_of(key, enrolments.into_iter().map(|e| e.participant_id).collect())
}

fn people_of(key: &SecretKey, set: BTreeSet<Uuid>) -> Count {
    Count::new(set.len() as u64, cell_key(key, &set))
}

fn figures(key: &SecretKey, enrolments: &[enrolment::Model], from: NaiveDate, to: NaiveDate) -> Figures {
    let in_period: Vec<&enrolment::Model> =
        enrolments.iter().filter(|e| e.enrolled_on <= to && e.left_on.is_none_or(|left| left >= from)).collect();
    let (exited, still): (Vec<&enrolment::Model>, Vec<&enrolment::Model>) =
        in_period.iter().partition(|e| e.left_on.is_some_and(|l| l <= to));
    let mut enrolled = people(key, in_period.iter().copied());
    let mut active = people(key, still.iter().copied());
    let mut exited_total = people(key, exited.iter().copied());
    let mut reasons: Vec<(ExitReason, Count)> = ExitReason::ALL
        .into_iter()
        .map(|r| (r, people(key, exited.iter().copied().filter(|e| e.exit_reason.as_deref() == Some(r.as_str())))))
        .collect();
    let mut matrix: Vec<(SupportSource, SupportSource, Count)> = Vec::new();
    for start in SupportSource::ALL {
        for end in SupportSource::ALL {
            let n = people(
                key,
                exited
                    .iter()
                    .copied()
                    .filter(|e| support(&e.support_at_start) == Some(start))
                    .filter(|e| e.support_at_exit.as_deref().and_then(support) == Some(end)),
            );
            matrix.push((start, end, n));
        }
    }
    let mut moved = people(
        key,
        exited
            .iter()
            .copied()
            .filter(|e| support(&e.support_at_start).is_some_and(report::is_public_support))
            .filter(|e| e.support_at_exit.as_deref().and_then(support).is_some_and(report::is_self_support)),
    );

    report::protect(&mut [&mut active, &mut exited_total], &mut enrolled);
    let mut exits_for_reasons = exited_total;
    report::protect(&mut reasons.iter_mut().map(|(_, c)| c).collect::<Vec<_>>(), &mut exits_for_reasons);
    let mut exits_for_matrix = exited_total;
    report::protect(&mut matrix.iter_mut().map(|(_, _, c)| c).collect::<Vec<_>>(), &mut exits_for_matrix);
    // The pay-off count is the sum of the public → work/studies cells.
    let mut moving_cells: Vec<&mut Count> = matrix
        .iter_mut()
        .filter(|(s, e, _)| report::is_public_support(*s) && report::is_self_support(*e))
        .map(|(_, _, c)| c)
        .collect();
    report::protect(&mut moving_cells, &mut moved);
    if exits_for_reasons.suppressed() || exits_for_matrix.suppressed() {
        exited_total.suppress();
    }
    Figures { enrolled, active, exited: exited_total, reasons, matrix, moved_to_self_support: moved }
}

async fn scale_movement<C: ConnectionTrait>(
    db: &C,
    key: &SecretKey,
    enrolments: &[enrolment::Model],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<ScaleMovement, ApiError> {
    let participant_of: HashMap<Uuid, Uuid> = enrolments
        .iter()
        .filter(|e| e.enrolled_on <= to && e.left_on.is_none_or(|left| left >= from))
        .map(|e| (e.plan_id, e.participant_id))
        .collect();
    let plans: Vec<Uuid> = participant_of.keys().copied().collect();
    let readings = if plans.is_empty() {
        Vec::new()
    } else {
        scale_reading::Entity::find()
            .filter(scale_reading::Column::PlanId.is_in(plans))
            .order_by_asc(scale_reading::Column::RecordedAt)
            .order_by_asc(scale_reading::Column::Id)
            .all(db)
            .await?
    };
    let mut series: BTreeMap<Uuid, (i64, i64, usize)> = BTreeMap::new();
    for reading in readings {
        let entry = series.entry(reading.plan_id).or_insert((i64::from(reading.value), 0, 0));
        entry.1 = i64::from(reading.value);
        entry.2 += 1;
    }
    // One series per plan; a person is counted once, by the series of their
    // latest plan (plan ids are time-ordered UUIDv7, so the BTreeMap ends with it).
    let mut by_person: HashMap<Uuid, i64> = HashMap::new();
    for (plan, (first, last, n)) in &series {
        if let (true, Some(person)) = (*n >= 2, participant_of.get(plan)) {
            by_person.insert(*person, last - first);
        }
    }
    let mut changes: Vec<i64> = by_person.values().copied().collect();
    let all_set: BTreeSet<Uuid> = by_person.keys().copied().collect();
    let up_set: BTreeSet<Uuid> = by_person.iter().filter(|(_, c)| **c > 0).map(|(p, _)| *p).collect();
    let rest_set: BTreeSet<Uuid> = all_set.difference(&up_set).copied().collect();
    let participants = people_of(key, all_set.clone());
    if participants.suppressed() {
        return Ok(ScaleMovement { participants: participants.cell(), median_change: None, share_improved: None, suppressed: true });
    }
    // A share is two counts in disguise (improved, not improved): shown only
    // when neither describes 1–4 people, and then as the ratio of the two
    // rounded counts, so that it says no more than they do.
    let (mut up, mut rest, mut all) = (people_of(key, up_set), people_of(key, rest_set), people_of(key, all_set));
    report::protect(&mut [&mut up, &mut rest], &mut all);
    let share = match (up.cell().value, all.cell().value) {
        (Some(up), Some(all)) => Some(((up as f64 / all as f64).min(1.0) * 1000.0).round() / 1000.0),
        _ => None,
    };
    Ok(ScaleMovement {
        participants: participants.cell(),
        median_change: report::median(&mut changes),
        share_improved: share,
        suppressed: false,
    })
}

/// The period asked for (default: the project's), widened to whole calendar
/// months so that no two periods can differ by a day.
fn period(project: &crate::entities::project::Model, query: &PeriodQuery) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let from = query.from.unwrap_or(project.period_from);
    let to = query.to.unwrap_or(project.period_until);
    if to < from {
        return Err(ApiError::BadRequest("to must not be before from.".into()));
    }
    Ok(report::whole_months(from, to))
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv"))
}

fn csv_value(cell: &Cell) -> (String, &'static str) {
    (cell.value.map(|v| v.to_string()).unwrap_or_default(), if cell.suppressed { "true" } else { "false" })
}

/// A CSV export: the disclosure-control line, then the table.
pub fn csv_response(table: String) -> HttpResponse {
    let text = format!("{}\r\n{table}", DisclosureControl::applied().csv_line());
    HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(text)
}

fn csv(rows: Vec<(String, String, Cell)>) -> HttpResponse {
    let mut text = String::from("figure,key,value,suppressed\r\n");
    for (figure, key, cell) in rows {
        let (value, suppressed) = csv_value(&cell);
        text.push_str(&format!("{figure},{key},{value},{suppressed}\r\n"));
    }
    csv_response(text)
}

/// Enrolment and outcomes of one project over a period of whole calendar
/// months: JSON, or CSV with `Accept: text/csv` (its first line states the
/// disclosure control). Shown counts are rounded to base 5 (see
/// `disclosure_control`).
#[utoipa::path(
    tag = "reports",
    params(("id" = Uuid, Path, description = "Project id"), PeriodQuery),
    responses(
        (status = 200, body = ProjectReport, content_type = "application/json"),
        (status = 200, description = "The same figures as CSV", body = String, content_type = "text/csv"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/reports/projects/{id}")]
pub async fn project_report(
    auth: Auth,
    store: web::Data<Store>,
    key: web::Data<SecretKey>,
    id: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let project = project_of(store.db(), &auth, id.into_inner()).await?;
    reader(&auth)?;
    let (from, to) = period(&project, &query)?;
    let enrolments = counted_enrolments(store.db(), project.id).await?;
    let f = figures(&key, &enrolments, from, to);
    let report = ProjectReport {
        project_id: project.id,
        from,
        to,
        enrolled: f.enrolled.cell(),
        active: f.active.cell(),
        exited: Exits {
            total: f.exited.cell(),
            by_reason: f.reasons.iter().map(|(r, c)| (r.as_str().to_owned(), c.cell())).collect(),
        },
        support_movement: f.matrix.iter().map(|(s, e, c)| Movement { from: *s, to: *e, count: c.cell() }).collect(),
        scale_movement: scale_movement(store.db(), &key, &enrolments, from, to).await?,
        min_cell: report::MIN_CELL,
        disclosure_control: DisclosureControl::applied(),
    };
    if wants_csv(&req) {
        let mut rows = vec![
            ("enrolled".to_owned(), String::new(), report.enrolled),
            ("active".to_owned(), String::new(), report.active),
            ("exited".to_owned(), String::new(), report.exited.total),
        ];
        rows.extend(report.exited.by_reason.iter().map(|(r, c)| ("exited_by_reason".to_owned(), r.clone(), *c)));
        rows.extend(report.support_movement.iter().map(|m| {
            ("support_movement".to_owned(), format!("{}->{}", m.from.as_str(), m.to.as_str()), m.count)
        }));
        rows.push(("scale_participants".to_owned(), String::new(), report.scale_movement.participants));
        return Ok(csv(rows));
    }
    Ok(HttpResponse::Ok().json(report))
}

// ---------------------------------------------------------------- pay-off

#[derive(Debug, Serialize, ToSchema)]
pub struct CostParameters {
    /// 0 is the built-in default, used until an admin sets one.
    pub version: i64,
    pub effective_from: Option<NaiveDate>,
    /// What a person outside work and self-support costs society per year.
    pub annual_cost_of_exclusion_sek: i64,
    pub created_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
}

fn cost_view(m: cost_parameter::Model) -> CostParameters {
    CostParameters {
        version: m.version,
        effective_from: Some(m.effective_from),
        annual_cost_of_exclusion_sek: m.annual_cost_of_exclusion_sek,
        created_at: Some(m.created_at),
        created_by: Some(m.created_by),
    }
}

fn default_costs() -> CostParameters {
    CostParameters {
        version: 0,
        effective_from: None,
        annual_cost_of_exclusion_sek: DEFAULT_ANNUAL_COST_SEK,
        created_at: None,
        created_by: None,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PayoffQuery {
    pub project: Uuid,
    /// First day of the period (default: the project's start); widened to the first of its month.
    pub from: Option<NaiveDate>,
    /// Last day of the period (default: the project's end); widened to the end of its month.
    pub to: Option<NaiveDate>,
    /// Reproduce a report with an earlier version of the cost parameters
    /// (default: the version in effect on `to`).
    pub cost_version: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Payoff {
    pub project_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// People who left the project in the period and moved from public support
    /// (job seeking, sickness benefit, activity compensation, financial support)
    /// to work or studies.
    pub persons: Cell,
    /// `persons` × the annual cost of exclusion; null when suppressed.
    pub estimated_annual_payoff_sek: Option<i64>,
    pub suppressed: bool,
    /// The cost parameters used, with their version.
    pub cost_parameters: CostParameters,
    /// How `persons` was protected, and the bound of the rounding.
    pub disclosure_control: DisclosureControl,
}

/// The socio-economic pay-off estimate of a project over a period of whole
/// calendar months; `persons` is rounded to base 5 (see `disclosure_control`).
#[utoipa::path(
    tag = "reports",
    params(PayoffQuery),
    responses(
        (status = 200, body = Payoff, content_type = "application/json"),
        (status = 200, description = "The same as CSV", body = String, content_type = "text/csv"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/reports/payoff")]
pub async fn payoff(
    auth: Auth,
    store: web::Data<Store>,
    key: web::Data<SecretKey>,
    query: web::Query<PayoffQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let project = project_of(store.db(), &auth, query.project).await?;
    reader(&auth)?;
    let (from, to) = period(&project, &PeriodQuery { from: query.from, to: query.to })?;
    let costs = match query.cost_version {
        Some(0) => default_costs(),
        Some(version) => cost_parameter::Entity::find_by_id((auth.assoc.to_string(), version))
            .one(store.db())
            .await?
            .map(cost_view)
            .ok_or(ApiError::NotFound)?,
        None => cost_parameter::Entity::find()
            .filter(cost_parameter::Column::Assoc.eq(auth.assoc.as_str()))
            .filter(cost_parameter::Column::EffectiveFrom.lte(to))
            .order_by_desc(cost_parameter::Column::EffectiveFrom)
            .order_by_desc(cost_parameter::Column::Version)
            .one(store.db())
            .await?
            .map_or_else(default_costs, cost_view),
    };
    let enrolments = counted_enrolments(store.db(), project.id).await?;
    let persons = figures(&key, &enrolments, from, to).moved_to_self_support.cell();
    let estimate = persons.value.map(|n| n as i64 * costs.annual_cost_of_exclusion_sek);
    let payoff = Payoff {
        project_id: project.id,
        from,
        to,
        persons,
        estimated_annual_payoff_sek: estimate,
        suppressed: persons.suppressed,
        cost_parameters: costs,
        disclosure_control: DisclosureControl::applied(),
    };
    if wants_csv(&req) {
        let text = format!(
            "project_id,from,to,persons,suppressed,annual_cost_of_exclusion_sek,cost_version,estimated_annual_payoff_sek\r\n\
             {},{},{},{},{},{},{},{}\r\n",
            payoff.project_id,
            payoff.from,
            payoff.to,
            csv_value(&payoff.persons).0,
            payoff.suppressed,
            payoff.cost_parameters.annual_cost_of_exclusion_sek,
            payoff.cost_parameters.version,
            payoff.estimated_annual_payoff_sek.map(|v| v.to_string()).unwrap_or_default(),
        );
        return Ok(csv_response(text));
    }
    Ok(HttpResponse::Ok().json(payoff))
}

// ---------------------------------------------------------------- settings

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCostParameters {
    pub effective_from: NaiveDate,
    #[schema(example = 500000, minimum = 1)]
    pub annual_cost_of_exclusion_sek: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostParameterHistory {
    /// Every version, oldest first; none are ever overwritten.
    pub items: Vec<CostParameters>,
    /// The default used before any version takes effect.
    pub default: CostParameters,
}

/// The cost parameters of pay-off reports, every version.
#[utoipa::path(
    tag = "reports",
    responses((status = 200, body = CostParameterHistory)),
    security(("bearer" = []))
)]
#[get("/v1/settings/cost-parameters")]
pub async fn cost_parameters(auth: Auth, store: web::Data<Store>) -> Result<web::Json<CostParameterHistory>, ApiError> {
    let rows = cost_parameter::Entity::find()
        .filter(cost_parameter::Column::Assoc.eq(auth.assoc.as_str()))
        .order_by_asc(cost_parameter::Column::Version)
        .all(store.db())
        .await?;
    Ok(web::Json(CostParameterHistory { items: rows.into_iter().map(cost_view).collect(), default: default_costs() }))
}

/// Set the cost parameters from a date. Admins only. Adds a new version;
/// earlier versions stay, so an old report can be reproduced.
#[utoipa::path(
    tag = "reports",
    request_body = NewCostParameters,
    responses(
        (status = 200, description = "The new version", body = CostParameters),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/v1/settings/cost-parameters")]
pub async fn set_cost_parameters(
    auth: Auth,
    store: web::Data<Store>,
    crate::extract::Body(body): crate::extract::Body<NewCostParameters>,
) -> Result<web::Json<CostParameters>, ApiError> {
    if access::may_write_settings(&auth) == Decision::Forbidden {
        return Err(ApiError::Forbidden("settings are managed by the association's admins"));
    }
    if body.annual_cost_of_exclusion_sek < 1 || body.annual_cost_of_exclusion_sek > 100_000_000 {
        return Err(samplan_domain::ValidationErrors::single(
            "annual_cost_of_exclusion_sek",
            "must be from 1 to 100000000",
        )
        .into());
    }
    let txn = store.begin_write(&auth).await?;
    let latest = cost_parameter::Entity::find()
        .filter(cost_parameter::Column::Assoc.eq(auth.assoc.as_str()))
        .order_by_desc(cost_parameter::Column::Version)
        .one(&txn)
        .await?;
    let row = cost_parameter::ActiveModel {
        assoc: Set(auth.assoc.to_string()),
        version: Set(latest.map_or(1, |l| l.version + 1)),
        effective_from: Set(body.effective_from),
        annual_cost_of_exclusion_sek: Set(body.annual_cost_of_exclusion_sek),
        created_by: Set(auth.sub.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    // Another version saved at the same moment runs into the primary key: 409.
    .await?;
    txn.commit().await?;
    Ok(web::Json(cost_view(row)))
}
