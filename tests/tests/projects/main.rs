//! Projects (insatser), strategic timelines, enrolment and exit, aggregate
//! reports with small-number suppression, and the pay-off estimate with
//! versioned cost parameters (issue 7), on SQLite and PostgreSQL.
//!
//! Rule 5 of DESIGN.md: project leads see projects and aggregated reports
//! only, never a named person; a cell or total describing fewer than 5
//! people is suppressed, and no suppressed figure can be derived by
//! subtraction from the figures that are shown.

use chrono::{Duration, NaiveDate};
use reqwest::{Method, Response};
use samplan_domain::access::stockholm_today;
use samplan_tests::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

const FROM: &str = "2025-01-10";
const UNTIL: &str = "2025-12-20";
/// The project's period widened to whole calendar months, as reports use it.
const REPORTED_FROM: &str = "2025-01-01";
const REPORTED_UNTIL: &str = "2025-12-31";
const MIN_CELL: u64 = 5;
const BASE: u64 = 5;

// ---------------------------------------------------------------- principals

fn lead() -> String {
    token("samordningsforbundet", "association", "project_lead")
}

fn coordinator() -> String {
    token("samordningsforbundet", "association", "coordinator")
}

fn auditor() -> String {
    token("samordningsforbundet", "association", "auditor")
}

fn admin() -> String {
    token("samordningsforbundet", "association", "admin")
}

/// A project lead of another association.
fn lead_elsewhere() -> String {
    let mut claims = TestClaims::new("samordningsforbundet", "association", "project_lead");
    claims.assoc = "sala".into();
    claims.sign()
}

// ---------------------------------------------------------------- personnummer

static SERIAL: AtomicU32 = AtomicU32::new(0);

/// A valid personnummer `YYMMDD-NNNC` from a number: the date moves on one
/// day per 900 serials, the check digit is Luhn's.
fn pin_of(n: u32) -> String {
    let born = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Duration::days(i64::from(n / 900));
    let nine = format!("{}{:03}", born.format("%y%m%d"), 100 + n % 900);
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let product = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            product / 10 + product % 10
        })
        .sum();
    format!("{}-{}{}", &nine[..6], &nine[6..], (10 - sum % 10) % 10)
}

/// A personnummer no other call in this run returns.
fn fresh_pin() -> String {
    pin_of(SERIAL.fetch_add(1, Ordering::Relaxed))
}

#[test]
fn generated_personnummer_are_valid_and_distinct() {
    let pins: Vec<String> = [0, 1, 2, 899, 900, 901, 5000, 20_000].into_iter().map(pin_of).collect();
    for pin in &pins {
        samplan_domain::PersonalIdentityNumber::parse(pin).unwrap_or_else(|e| panic!("{pin}: {e:?}"));
    }
    let mut unique = pins.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), pins.len());
}

// ---------------------------------------------------------------- helpers

fn location(response: &Response) -> String {
    response.headers().get("location").expect("Location").to_str().unwrap().to_owned()
}

fn project_request(name: &str) -> Value {
    json!({
        "name": name,
        "funding_organisations": ["vasteras-kommun", "af-vasteras", "fk-vasteras", "region-vastmanland"],
        "period_from": FROM,
        "period_until": UNTIL,
        "platform": {
            "purpose": "Fler unga vuxna i Västerås ska komma i arbete eller studier",
            "frames": {"af-vasteras": "två handläggare på halvtid", "vasteras-kommun": "försörjningsstöd och arbetsträning"},
        },
        "solution_scenario": {
            "goal": "Hälften av deltagarna arbetar eller studerar efter ett år",
            "signs": ["Deltagarna kommer till träffarna", "Arbetsgivare hör av sig"],
        },
        "resources": ["Lokal på Stora torget", "Arbetsgivarnätverket"],
    })
}

/// Starts a project as the project lead; returns its id.
async fn project(app: &TestApp, name: &str) -> String {
    let response = app.post("/v1/projects", &lead(), &project_request(name)).await;
    assert_eq!(response.status(), 201, "create project");
    body(response).await["id"].as_str().unwrap().to_owned()
}

/// Registers a participant as the municipality and starts a plan: (participant, plan).
async fn new_plan(app: &TestApp) -> (String, String) {
    let participant = app.participant(&kommun(), &fresh_pin()).await;
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
    assert_eq!(response.status(), 201, "create plan");
    let plan = body(response).await["id"].as_str().unwrap().to_owned();
    (participant, plan)
}

fn enrolments_path(plan: &str) -> String {
    format!("/v1/plans/{plan}/enrolments")
}

async fn enrol(app: &TestApp, token: &str, plan: &str, project: &str, on: &str, support: &str) -> Response {
    app.post(&enrolments_path(plan), token, &json!({"project_id": project, "enrolled_on": on, "support_at_start": support}))
        .await
}

#[derive(Debug, Clone)]
struct Enrolled {
    participant: String,
    plan: String,
    id: String,
    etag: String,
    /// The token of the organisation that enrolled the plan.
    by: String,
}

impl Enrolled {
    fn path(&self) -> String {
        format!("/v1/plans/{}/enrolments/{}", self.plan, self.id)
    }
}

async fn enrolled_from(response: Response, participant: &str, plan: &str, by: &str) -> Enrolled {
    assert_eq!(response.status(), 201, "enrol");
    let tag = etag(&response);
    let created = body(response).await;
    Enrolled {
        participant: participant.to_owned(),
        plan: plan.to_owned(),
        id: created["id"].as_str().unwrap().to_owned(),
        etag: tag,
        by: by.to_owned(),
    }
}

/// `n` new participants of the municipality, each with a plan enrolled by
/// the municipality in `project` on `on` with support `support`.
async fn cohort(app: &TestApp, project: &str, n: usize, on: &str, support: &str) -> Vec<Enrolled> {
    let mut out = Vec::new();
    for _ in 0..n {
        let (participant, plan) = new_plan(app).await;
        let response = enrol(app, &kommun(), &plan, project, on, support).await;
        out.push(enrolled_from(response, &participant, &plan, &kommun()).await);
    }
    out
}

fn exit_request(left_on: &str, reason: &str, support: &str) -> Value {
    json!({"left_on": left_on, "exit_reason": reason, "support_at_exit": support})
}

/// Records the exit as the enrolling organisation; updates the ETag.
async fn leave(app: &TestApp, enrolled: &mut Enrolled, left_on: &str, reason: &str, support: &str) {
    let response =
        app.patch(&enrolled.path(), &enrolled.by, Some(&enrolled.etag), &exit_request(left_on, reason, support)).await;
    assert_eq!(response.status(), 200, "exit");
    enrolled.etag = etag(&response);
}

async fn leave_all(app: &TestApp, enrolled: &mut [Enrolled], left_on: &str, reason: &str, support: &str) {
    for e in enrolled.iter_mut() {
        leave(app, e, left_on, reason, support).await;
    }
}

async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, token).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

async fn report(app: &TestApp, project: &str, query: &str) -> Value {
    get_json(app, &format!("/v1/reports/projects/{project}{query}"), &lead()).await
}

async fn payoff(app: &TestApp, project: &str, query: &str) -> Value {
    get_json(app, &format!("/v1/reports/payoff?project={project}{query}"), &lead()).await
}

async fn timeline(app: &TestApp, project: &str) -> Value {
    get_json(app, &format!("/v1/projects/{project}/timeline"), &lead()).await
}

fn suppressed_cell() -> Value {
    json!({"value": null, "suppressed": true})
}

fn shown_cell(n: u64) -> Value {
    json!({"value": n, "suppressed": false})
}

/// The cell the server shows for these people: rounded to base 5 by the cell
/// key of the set (HMAC with the test server key over their ids), or
/// suppressed under 5.
fn cell_of<'a>(participants: impl IntoIterator<Item = &'a str>) -> Value {
    let set: std::collections::BTreeSet<uuid::Uuid> = participants.into_iter().map(|p| p.parse().unwrap()).collect();
    let key = samplan_api::config::SecretKey::new(SERVER_KEY.as_bytes()).unwrap();
    let count = samplan_domain::report::Count::new(set.len() as u64, samplan_api::routes::reports::cell_key(&key, &set));
    serde_json::to_value(count.cell()).unwrap()
}

fn ids(people: &[Enrolled]) -> impl Iterator<Item = &str> {
    people.iter().map(|e| e.participant.as_str())
}

/// The value of a shown cell, `None` for a suppressed one; checks the cell's
/// shape and that nothing under 5 is ever shown.
fn shown(cell: &Value, what: &str) -> Option<u64> {
    let suppressed = cell["suppressed"].as_bool().unwrap_or_else(|| panic!("{what}: not a cell: {cell}"));
    if suppressed {
        assert!(cell.get("value").is_some_and(Value::is_null), "{what}: a suppressed cell carries a value: {cell}");
        None
    } else {
        let value = cell["value"].as_u64().unwrap_or_else(|| panic!("{what}: a shown cell without value: {cell}"));
        assert!(value >= MIN_CELL, "{what}: {value} people shown: {cell}");
        assert_eq!(value % BASE, 0, "{what}: {value} is not rounded to base {BASE}: {cell}");
        Some(value)
    }
}

/// One group of cells and their total: a shown total minus the shown cells
/// leaves no figure of 1–4 people (every shown figure is a multiple of 5, so
/// their difference is too; rounding may make the cells add up to a little
/// more or less than the total, by at most 4 each); a suppressed total is
/// not the sum of all cells shown.
fn assert_group(name: &str, total: &Value, cells: &[(String, &Value)]) {
    let total_shown = shown(total, name);
    let mut sum = 0;
    let mut any_hidden = false;
    for (what, cell) in cells {
        match shown(cell, &format!("{name}: {what}")) {
            Some(v) => sum += v,
            None => any_hidden = true,
        }
    }
    match total_shown {
        Some(total) => {
            let derived = total.abs_diff(sum);
            assert!(
                derived == 0 || derived >= MIN_CELL,
                "{name}: total {total} minus the shown cells {sum} reveals {derived} people"
            );
        }
        None => assert!(any_hidden || cells.is_empty(), "{name}: the suppressed total is the sum of the shown cells ({sum})"),
    }
}

fn is_public(source: &str) -> bool {
    matches!(source, "job_seeking" | "sickness_benefit" | "activity_compensation" | "financial_support")
}

fn is_self_support(source: &str) -> bool {
    matches!(source, "work" | "studies")
}

const REASONS: [&str; 5] = ["completed", "broken_off", "moved", "health", "other"];
const SOURCES: [&str; 7] =
    ["work", "studies", "job_seeking", "sickness_benefit", "activity_compensation", "financial_support", "other"];

fn movement<'a>(report: &'a Value, from: &str, to: &str) -> &'a Value {
    report["support_movement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["from"] == from && m["to"] == to)
        .map(|m| &m["count"])
        .unwrap_or_else(|| panic!("no {from}->{to} in {report}"))
}

/// Rule 5 on a report and the pay-off of the same project and period: no cell
/// under 5 shown, and no suppressed figure derivable by subtraction within
/// any group (enrolled = active + exited; exited = Σ reasons; exited = Σ
/// matrix; pay-off persons = Σ public → work/studies cells).
fn assert_protected(report: &Value, payoff: &Value) {
    let reasons = report["exited"]["by_reason"].as_object().expect("by_reason");
    let mut names: Vec<&String> = reasons.keys().collect();
    names.sort();
    let mut expected: Vec<&str> = REASONS.to_vec();
    expected.sort();
    assert_eq!(names, expected, "every exit reason is listed");
    let matrix = report["support_movement"].as_array().expect("support_movement");
    assert_eq!(matrix.len(), SOURCES.len() * SOURCES.len(), "the full start → exit matrix");

    assert_group(
        "enrolled = active + exited",
        &report["enrolled"],
        &[("active".into(), &report["active"]), ("exited".into(), &report["exited"]["total"])],
    );
    assert_group(
        "exited by reason",
        &report["exited"]["total"],
        &reasons.iter().map(|(k, v)| (k.clone(), v)).collect::<Vec<_>>(),
    );
    assert_group(
        "exited by support movement",
        &report["exited"]["total"],
        &matrix.iter().map(|m| (format!("{}->{}", m["from"], m["to"]), &m["count"])).collect::<Vec<_>>(),
    );
    let moving: Vec<(String, &Value)> = matrix
        .iter()
        .filter(|m| is_public(m["from"].as_str().unwrap()) && is_self_support(m["to"].as_str().unwrap()))
        .map(|m| (format!("{}->{}", m["from"], m["to"]), &m["count"]))
        .collect();
    assert_group("pay-off persons = public → work/studies", &payoff["persons"], &moving);
    assert_eq!(payoff["suppressed"], payoff["persons"]["suppressed"], "{payoff}");
    if payoff["persons"]["suppressed"] == true {
        assert!(payoff["estimated_annual_payoff_sek"].is_null(), "a suppressed pay-off has no estimate: {payoff}");
    }

    let scale = &report["scale_movement"];
    let participants = shown(&scale["participants"], "scale participants");
    assert_eq!(scale["suppressed"], participants.is_none(), "{scale}");
    if participants.is_none() {
        assert!(scale["median_change"].is_null() && scale["share_improved"].is_null(), "{scale}");
    }
    assert_eq!(report["min_cell"], MIN_CELL);
    assert_disclosure_control(report);
    assert_disclosure_control(payoff);
}

fn assert_disclosure_control(body: &Value) {
    assert_eq!(
        body["disclosure_control"],
        json!({"method": "cell_key_random_rounding", "rounding_base": 5, "largest_perturbation": 4, "min_cell": 5, "period": "calendar_month"}),
        "{body}"
    );
}

// ---------------------------------------------------------------- 1. projects

async fn projects_are_written_by_leads_and_coordinators_and_read_by_everyone(app: TestApp) {
    // Create.
    let request = project_request("Unga vuxna i arbete");
    let response = app.post("/v1/projects", &lead(), &request).await;
    assert_eq!(response.status(), 201);
    let path = location(&response);
    let tag = etag(&response);
    assert_eq!(tag, "\"1\"");
    let created = body(response).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(path, format!("/v1/projects/{id}"));
    for field in ["name", "funding_organisations", "period_from", "period_until", "platform", "solution_scenario", "resources"] {
        assert_eq!(created[field], request[field], "{field}");
    }
    assert_eq!(created["version"], 1);

    // Everyone in the association reads it, case workers included.
    for (who, t) in [("case worker", kommun()), ("af case worker", af()), ("coordinator", coordinator()), ("auditor", auditor()), ("admin", admin())] {
        let response = app.get(&path, &t).await;
        assert_eq!(response.status(), 200, "{who} reads the project");
        assert_eq!(etag(&response), tag, "{who}");
        let read = body(response).await;
        assert_eq!(read["id"], id.as_str());
        assert_eq!(read["platform"], request["platform"], "{who}");
        let listed = get_json(&app, "/v1/projects", &t).await;
        assert!(listed["items"].as_array().unwrap().iter().any(|p| p["id"] == id.as_str()), "{who} lists it");
    }
    // Not across associations.
    problem(app.get(&path, &lead_elsewhere()).await, 404).await;
    let listed = get_json(&app, "/v1/projects", &lead_elsewhere()).await;
    assert_eq!(listed["items"], json!([]));

    // Only project leads and coordinators write.
    for t in [kommun(), auditor(), admin()] {
        problem(app.post("/v1/projects", &t, &project_request("Annat")).await, 403).await;
        problem(app.patch(&path, &t, Some(&tag), &json!({"name": "Kapat"})).await, 403).await;
    }
    let listed = get_json(&app, "/v1/projects", &lead()).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "nothing created by those refused");
    problem(app.patch(&path, &lead_elsewhere(), Some(&tag), &json!({"name": "Kapat"})).await, 404).await;

    // PATCH needs If-Match: 428 without, 412 stale.
    problem(app.patch(&path, &lead(), None, &json!({"name": "Nytt namn"})).await, 428).await;
    problem(app.patch(&path, &lead(), Some("\"7\""), &json!({"name": "Nytt namn"})).await, 412).await;
    let unchanged = get_json(&app, &path, &lead()).await;
    assert_eq!(unchanged["name"], "Unga vuxna i arbete");
    assert_eq!(unchanged["version"], 1);

    // A coordinator changes it with the current ETag.
    let changes = json!({
        "name": "Unga vuxna i arbete och studier",
        "solution_scenario": {"goal": "Två av tre arbetar eller studerar", "signs": ["Fler praktikplatser"]},
        "period_until": "2026-06-30",
    });
    let response = app.patch(&path, &coordinator(), Some(&tag), &changes).await;
    assert_eq!(response.status(), 200);
    let new_tag = etag(&response);
    assert_ne!(new_tag, tag);
    let patched = body(response).await;
    assert_eq!(patched["name"], changes["name"]);
    assert_eq!(patched["solution_scenario"], changes["solution_scenario"]);
    assert_eq!(patched["period_until"], "2026-06-30");
    assert_eq!(patched["platform"], request["platform"], "untouched parts stay");
    assert_eq!(patched["resources"], request["resources"]);
    assert_eq!(patched["version"], 2);

    // The old ETag is now stale; the lead rereads and writes.
    problem(app.patch(&path, &lead(), Some(&tag), &json!({"name": "Förlorad"})).await, 412).await;
    let response = app.patch(&path, &lead(), Some(&new_tag), &json!({"resources": ["Ny lokal"]})).await;
    assert_eq!(response.status(), 200);
    let read = get_json(&app, &path, &kommun()).await;
    assert_eq!(read["name"], changes["name"], "no update lost");
    assert_eq!(read["resources"], json!(["Ny lokal"]));
    assert_eq!(read["version"], 3);

    // Validation.
    let mut bad = project_request("Baklänges");
    bad["period_until"] = json!("2024-12-31");
    problem(app.post("/v1/projects", &lead(), &bad).await, 422).await;
    let mut bad = project_request("Okänt fält");
    bad["extra"] = json!(1);
    problem(app.post("/v1/projects", &lead(), &bad).await, 422).await;
    let current = etag(&app.get(&path, &lead()).await);
    problem(app.patch(&path, &lead(), Some(&current), &json!({"period_until": "2024-01-01"})).await, 422).await;
    assert_eq!(get_json(&app, &path, &lead()).await["version"], 3, "refused changes change nothing");
}

// ---------------------------------------------------------------- 2. milestones and timeline

async fn milestones_form_a_timeline_in_date_order(app: TestApp) {
    let project = project(&app, "Tidslinje").await;
    let milestones = format!("/v1/projects/{project}/milestones");
    let mut ids = Vec::new();
    // Added out of order.
    for (what, due, owner) in [
        ("Halvtidsutvärdering", "2025-09-01", "samordningsforbundet"),
        ("Uppstart med alla parter", "2025-02-01", "vasteras-kommun"),
        ("Första arbetsgivarträffen", "2025-05-15", "af-vasteras"),
    ] {
        let response = app.post(&milestones, &lead(), &json!({"what": what, "due": due, "owner_org": owner})).await;
        assert_eq!(response.status(), 201, "{what}");
        let path = location(&response);
        assert_eq!(etag(&response), "\"1\"");
        let created = body(response).await;
        assert_eq!(path, format!("{milestones}/{}", created["id"].as_str().unwrap()));
        assert_eq!(created["what"], what);
        assert_eq!(created["due"], due);
        assert_eq!(created["owner_org"], owner);
        assert_eq!(created["status"], "planned");
        assert!(created["what_changed"].is_null());
        ids.push(path);
    }
    // A coordinator adds one too; a case worker may not.
    let response =
        app.post(&milestones, &coordinator(), &json!({"what": "Slutrapport", "due": "2025-12-15", "owner_org": "samordningsforbundet", "status": "planned"})).await;
    assert_eq!(response.status(), 201);
    problem(app.post(&milestones, &kommun(), &json!({"what": "X", "due": "2025-03-01", "owner_org": "vasteras-kommun"})).await, 403).await;
    problem(app.post(&milestones, &lead(), &json!({"what": "", "due": "2025-03-01", "owner_org": "vasteras-kommun"})).await, 422).await;
    problem(app.post(&milestones, &lead(), &json!({"what": "X", "due": "2025-03-01", "owner_org": "Inte En Slug"})).await, 422).await;

    let read = timeline(&app, &project).await;
    let order: Vec<&str> = read["milestones"].as_array().unwrap().iter().map(|m| m["due"].as_str().unwrap()).collect();
    assert_eq!(order, ["2025-02-01", "2025-05-15", "2025-09-01", "2025-12-15"]);
    assert_eq!(read["project"]["id"], project.as_str());

    // Mark the employer meeting reached, with what changed: If-Match needed.
    let employer = &ids[2];
    let response = app.get(employer, &kommun()).await;
    assert_eq!(response.status(), 200, "anyone in the association reads a milestone");
    let tag = etag(&response);
    let reached = json!({"status": "reached", "what_changed": "Tre arbetsgivare erbjuder praktik"});
    problem(app.patch(employer, &lead(), None, &reached).await, 428).await;
    problem(app.patch(employer, &lead(), Some("\"9\""), &reached).await, 412).await;
    problem(app.patch(employer, &kommun(), Some(&tag), &reached).await, 403).await;
    let response = app.patch(employer, &lead(), Some(&tag), &reached).await;
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response), "\"2\"");
    let changed = body(response).await;
    assert_eq!(changed["status"], "reached");
    assert_eq!(changed["what_changed"], "Tre arbetsgivare erbjuder praktik");
    problem(app.patch(employer, &coordinator(), Some(&tag), &json!({"status": "dropped"})).await, 412).await;

    // Moving the start later reorders the timeline.
    let start = &ids[1];
    let tag = etag(&app.get(start, &lead()).await);
    let response = app.patch(start, &coordinator(), Some(&tag), &json!({"due": "2025-06-01"})).await;
    assert_eq!(response.status(), 200);
    let read = timeline(&app, &project).await;
    let listed: Vec<(String, String)> = read["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["due"].as_str().unwrap().to_owned(), m["status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        listed,
        [
            ("2025-05-15".to_owned(), "reached".to_owned()),
            ("2025-06-01".to_owned(), "planned".to_owned()),
            ("2025-09-01".to_owned(), "planned".to_owned()),
            ("2025-12-15".to_owned(), "planned".to_owned()),
        ]
    );

    // A milestone is found only under its own project.
    let other = self::project(&app, "Annat projekt").await;
    let foreign = employer.replace(&project, &other);
    problem(app.get(&foreign, &lead()).await, 404).await;
    problem(app.get(employer, &lead_elsewhere()).await, 404).await;
    problem(app.get(&format!("/v1/projects/{project}/timeline"), &lead_elsewhere()).await, 404).await;
}

/// Five enrolled in March, four in May, the March five leave in August.
async fn five_and_four(app: &TestApp, project: &str) {
    let mut march = Vec::new();
    for day in ["2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24", "2025-03-31"] {
        march.extend(cohort(app, project, 1, day, "financial_support").await);
    }
    cohort(app, project, 4, "2025-05-05", "job_seeking").await;
    leave_all(app, &mut march, "2025-08-29", "completed", "work").await;
}

async fn timeline_counts_by_month_suppress_under_five(app: TestApp) {
    let project = project(&app, "Månader").await;
    five_and_four(&app, &project).await;

    let read = timeline(&app, &project).await;
    let months = read["months"].as_array().unwrap();
    let names: Vec<&str> = months.iter().map(|m| m["month"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=12).map(|m| format!("2025-{m:02}")).collect();
    assert_eq!(names, expected, "every month of the period, in order");
    for m in months {
        let name = m["month"].as_str().unwrap();
        // March's 5 are hidden too: with the period's 9 enrolled in the
        // project report, a shown March would give away May's 4.
        let enrolled = suppressed_cell();
        let exited = if name == "2025-08" { shown_cell(5) } else { suppressed_cell() };
        assert_eq!(m["enrolled"], enrolled, "{name} enrolled (May holds 4)");
        assert_eq!(m["exited"], exited, "{name} exited");
    }
    assert!(!read.to_string().contains("participant"), "no person in the timeline: {read}");

    // The period decides the months.
    let tag = etag(&app.get(&format!("/v1/projects/{project}"), &lead()).await);
    let response =
        app.patch(&format!("/v1/projects/{project}"), &lead(), Some(&tag), &json!({"period_from": "2024-11-30", "period_until": "2025-03-01"})).await;
    assert_eq!(response.status(), 200);
    let read = timeline(&app, &project).await;
    let names: Vec<&str> = read["months"].as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap()).collect();
    assert_eq!(names, ["2024-11", "2024-12", "2025-01", "2025-02", "2025-03"]);
    assert_eq!(read["months"][4]["enrolled"], shown_cell(5));
}

/// The timeline's months partition the enrolments of the period that the
/// report totals: together they must not reveal what the timeline hides.
async fn timeline_and_report_together_reveal_no_suppressed_month(app: TestApp) {
    let project = project(&app, "Månader och rapport").await;
    five_and_four(&app, &project).await;
    let read = timeline(&app, &project).await;
    let report = report(&app, &project, "").await;
    let months = read["months"].as_array().unwrap();
    let enrolled: Vec<(String, &Value)> =
        months.iter().map(|m| (m["month"].as_str().unwrap().to_owned(), &m["enrolled"])).collect();
    assert_group("report enrolled = Σ timeline enrolled", &report["enrolled"], &enrolled);
    let exited: Vec<(String, &Value)> =
        months.iter().map(|m| (m["month"].as_str().unwrap().to_owned(), &m["exited"])).collect();
    assert_group("report exited = Σ timeline exited", &report["exited"]["total"], &exited);
}

// ---------------------------------------------------------------- 3. enrolment and exit

async fn a_case_worker_enrols_a_visible_plan_and_records_the_exit(app: TestApp) {
    let project = project(&app, "Inskrivning").await;
    let (participant, plan) = new_plan(&app).await;

    // Only those who see the plan enrol it.
    for (who, t) in [
        ("project lead", lead()),
        ("coordinator without consent", coordinator()),
        ("af without consent", af()),
        ("auditor", auditor()),
        ("admin", admin()),
        ("project lead of the municipality", token("vasteras-kommun", "municipality", "project_lead")),
    ] {
        let response = enrol(&app, &t, &plan, &project, "2025-02-03", "financial_support").await;
        assert_eq!(response.status(), 404, "{who} enrolling");
        problem(response, 404).await;
    }
    let listed = get_json(&app, &enrolments_path(&plan), &kommun()).await;
    assert_eq!(listed["items"], json!([]), "nothing enrolled by those refused");

    // Bad input.
    problem(enrol(&app, &kommun(), &plan, &project, "2025-02-03", "lottery").await, 422).await;
    problem(enrol(&app, &kommun(), &plan, &uuid::Uuid::new_v4().to_string(), "2025-02-03", "work").await, 422).await;

    let response = enrol(&app, &kommun(), &plan, &project, "2025-02-03", "financial_support").await;
    assert_eq!(response.status(), 201);
    let path = location(&response);
    let tag = etag(&response);
    let created = body(response).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(path, format!("/v1/plans/{plan}/enrolments/{id}"));
    assert_eq!(created["project_id"], project.as_str());
    assert_eq!(created["plan_id"], plan.as_str());
    assert_eq!(created["enrolled_on"], "2025-02-03");
    assert_eq!(created["support_at_start"], "financial_support");
    assert_eq!(created["org"], "vasteras-kommun");
    assert!(created["left_on"].is_null() && created["exit_reason"].is_null() && created["support_at_exit"].is_null());
    assert!(!created.to_string().contains("Anna"), "no name in an enrolment");

    // Not twice at once.
    problem(enrol(&app, &kommun(), &plan, &project, "2025-02-10", "financial_support").await, 409).await;

    let response = app.get(&path, &kommun()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response), tag);
    let listed = get_json(&app, &enrolments_path(&plan), &kommun()).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // The exit: If-Match, dates in order, the enrolling organisation only.
    let exit = exit_request("2025-06-30", "completed", "work");
    problem(app.patch(&path, &kommun(), None, &exit).await, 428).await;
    problem(app.patch(&path, &kommun(), Some("\"5\""), &exit).await, 412).await;
    problem(app.patch(&path, &kommun(), Some(&tag), &exit_request("2025-01-31", "completed", "work")).await, 422).await;
    problem(app.patch(&path, &kommun(), Some(&tag), &exit_request("2025-06-30", "bored", "work")).await, 422).await;
    problem(app.patch(&path, &kommun(), Some(&tag), &exit_request("2025-06-30", "completed", "lottery")).await, 422).await;
    problem(app.patch(&path, &lead(), Some(&tag), &exit).await, 404).await;
    problem(app.patch(&path, &af(), Some(&tag), &exit).await, 404).await;

    // With consent af sees the enrolment but does not record kommun's exit.
    let today = stockholm_today(chrono::Utc::now());
    let response = app
        .post(
            &format!("/v1/participants/{participant}/consents"),
            &kommun(),
            &json!({"organisations": ["af-vasteras"], "purpose": "samordnad rehabilitering", "valid_from": today.to_string(), "valid_until": (today + Duration::days(365)).to_string()}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(app.get(&path, &af()).await.status(), 200, "af sees the enrolment with consent");
    problem(app.patch(&path, &af(), Some(&tag), &exit).await, 403).await;
    let unchanged = get_json(&app, &path, &kommun()).await;
    assert!(unchanged["left_on"].is_null(), "{unchanged}");
    assert_eq!(unchanged["version"], 1);

    let response = app.patch(&path, &kommun(), Some(&tag), &exit).await;
    assert_eq!(response.status(), 200);
    let new_tag = etag(&response);
    assert_ne!(new_tag, tag);
    let left = body(response).await;
    assert_eq!(left["left_on"], "2025-06-30");
    assert_eq!(left["exit_reason"], "completed");
    assert_eq!(left["support_at_exit"], "work");
    assert_eq!(left["support_at_start"], "financial_support");
    assert_eq!(left["version"], 2);
    problem(app.patch(&path, &kommun(), Some(&tag), &exit_request("2025-07-01", "moved", "other")).await, 412).await;
    assert_eq!(get_json(&app, &path, &kommun()).await["exit_reason"], "completed", "no update lost");

    // A coordinator who sees the plan enrols it too.
    let (participant2, plan2) = new_plan(&app).await;
    app.post(
        &format!("/v1/participants/{participant2}/consents"),
        &kommun(),
        &json!({"organisations": ["samordningsforbundet"], "purpose": "samordnad rehabilitering", "valid_from": today.to_string(), "valid_until": (today + Duration::days(30)).to_string()}),
    )
    .await;
    let response = enrol(&app, &coordinator(), &plan2, &project, "2025-03-01", "sickness_benefit").await;
    assert_eq!(response.status(), 201, "coordinator with consent enrols");
    assert_eq!(body(response).await["org"], "samordningsforbundet");
}

// ---------------------------------------------------------------- 4. reports at the boundary

async fn reports_suppress_at_the_four_five_boundary(app: TestApp) {
    // Four enrolled, no one has left: nothing is shown.
    let four = project(&app, "Fyra").await;
    let mut people = cohort(&app, &four, 4, "2025-02-03", "financial_support").await;
    for (i, e) in people.iter().enumerate() {
        scale(&app, &e.plan, 3, 5 + i as i64).await;
    }
    let r = report(&app, &four, "").await;
    let p = payoff(&app, &four, "").await;
    assert_protected(&r, &p);
    assert_eq!(r["enrolled"], suppressed_cell(), "4 enrolled: {r}");
    assert_eq!(r["active"], suppressed_cell());
    assert_eq!(r["scale_movement"]["participants"], suppressed_cell(), "4 with readings");
    assert!(r["scale_movement"]["median_change"].is_null());
    assert_eq!(r["from"], REPORTED_FROM, "whole calendar months");
    assert_eq!(r["to"], REPORTED_UNTIL);

    // One more: five enrolled, then four of them leave for work.
    let five = project(&app, "Fem varav fyra slutat").await;
    people = cohort(&app, &five, 5, "2025-02-03", "financial_support").await;
    leave_all(&app, &mut people[..4], "2025-06-13", "completed", "work").await;
    let r = report(&app, &five, "").await;
    let p = payoff(&app, &five, "").await;
    assert_protected(&r, &p);
    assert_eq!(r["enrolled"], shown_cell(5), "5 enrolled are shown: {r}");
    assert_eq!(r["active"], suppressed_cell(), "1 active");
    assert_eq!(r["exited"]["total"], suppressed_cell(), "4 exited");
    for reason in REASONS {
        assert_eq!(r["exited"]["by_reason"][reason], suppressed_cell(), "{reason}");
    }
    assert_eq!(*movement(&r, "financial_support", "work"), suppressed_cell());
    assert_eq!(p["persons"], suppressed_cell(), "4 moved to work: {p}");
    assert!(p["estimated_annual_payoff_sek"].is_null());

    // The fifth leaves too: five exited for work are shown.
    leave(&app, &mut people[4], "2025-06-20", "completed", "work").await;
    for (i, e) in people.iter().enumerate() {
        scale(&app, &e.plan, 2, 4 + i as i64).await;
    }
    let r = report(&app, &five, "").await;
    let p = payoff(&app, &five, "").await;
    assert_protected(&r, &p);
    assert_eq!(r["enrolled"], shown_cell(5));
    assert_eq!(r["exited"]["total"], shown_cell(5));
    assert_eq!(r["exited"]["by_reason"]["completed"], shown_cell(5));
    assert_eq!(*movement(&r, "financial_support", "work"), shown_cell(5));
    assert_eq!(p["persons"], shown_cell(5));
    let scale_movement = &r["scale_movement"];
    assert_eq!(scale_movement["participants"], shown_cell(5), "{scale_movement}");
    assert_eq!(scale_movement["suppressed"], false);
    // Changes 2, 3, 4, 5, 6: median 4, all improved.
    assert_eq!(scale_movement["median_change"].as_f64(), Some(4.0), "{scale_movement}");
    assert_eq!(scale_movement["share_improved"].as_f64(), Some(1.0), "{scale_movement}");

    // Periods: before anyone was enrolled nothing is shown; `to` before `from` is refused.
    let r = report(&app, &five, "?from=2025-01-10&to=2025-01-31").await;
    let p = payoff(&app, &five, "&from=2025-01-10&to=2025-01-31").await;
    assert_protected(&r, &p);
    assert_eq!(r["enrolled"], suppressed_cell());
    assert_eq!(r["from"], "2025-01-01");
    assert_eq!(r["to"], "2025-01-31");
    // Until May: five enrolled, all still active.
    let r = report(&app, &five, "?to=2025-05-31").await;
    let p = payoff(&app, &five, "&to=2025-05-31").await;
    assert_protected(&r, &p);
    assert_eq!(r["active"], shown_cell(5));
    assert_eq!(r["exited"]["total"], suppressed_cell());
    problem(app.get(&format!("/v1/reports/projects/{five}?from=2025-06-01&to=2025-05-01"), &lead()).await, 400).await;

    // Eleven enrolled, six left: five for work from financial support, one moved.
    let mixed = project(&app, "Blandat").await;
    let mut people = cohort(&app, &mixed, 5, "2025-02-03", "financial_support").await;
    people.extend(cohort(&app, &mixed, 6, "2025-02-10", "job_seeking").await);
    leave_all(&app, &mut people[..5], "2025-07-01", "completed", "work").await;
    leave(&app, &mut people[5], "2025-07-02", "moved", "other").await;
    let r = report(&app, &mixed, "").await;
    let p = payoff(&app, &mixed, "").await;
    assert_protected(&r, &p);
    assert_eq!(r["exited"]["by_reason"]["moved"], suppressed_cell(), "1 moved: {r}");
    assert_eq!(*movement(&r, "job_seeking", "other"), suppressed_cell());
    assert_eq!(r["enrolled"], cell_of(ids(&people)), "11 people, rounded by their cell key");
    assert_eq!(r["active"], shown_cell(5));
    assert_eq!(p["persons"], shown_cell(5), "the five who moved to work: {p}");
}

/// Adds two scale readings to a plan: `first`, then `latest`.
async fn scale(app: &TestApp, plan: &str, first: i64, latest: i64) {
    for (value, at) in [(first, "2025-02-10T09:00:00Z"), (latest, "2025-06-10T09:00:00Z")] {
        let response = app
            .post(
                &format!("/v1/plans/{plan}/scale-readings"),
                &kommun(),
                &json!({"value": value, "why_not_lower": "Jag går upp på morgnarna", "one_step_up": "Ringa en arbetsgivare", "recorded_at": at}),
            )
            .await;
        assert_eq!(response.status(), 201, "scale reading");
    }
}

/// The share improved of five people, three of whom improved, tells that
/// three improved and two did not: groups under 5 shown as a share.
async fn share_improved_reveals_no_group_under_five(app: TestApp) {
    let project = project(&app, "Skalan").await;
    let people = cohort(&app, &project, 5, "2025-02-03", "financial_support").await;
    for (e, (first, latest)) in people.iter().zip([(3, 5), (3, 4), (4, 4), (5, 4), (2, 5)]) {
        scale(&app, &e.plan, first, latest).await;
    }
    let r = report(&app, &project, "").await;
    let scale_movement = &r["scale_movement"];
    let participants = shown(&scale_movement["participants"], "scale participants");
    if let (Some(n), Some(share)) = (participants, scale_movement["share_improved"].as_f64()) {
        let improved = (share * n as f64).round() as u64;
        let not_improved = n - improved;
        for (what, k) in [("improved", improved), ("not improved", not_improved)] {
            assert!(k == 0 || k >= MIN_CELL, "share_improved {share} of {n} reveals {k} people {what}: {scale_movement}");
        }
    }
}

/// Counting enrolments, not people: four people, one of them enrolled twice,
/// are still four people.
async fn a_re_enrolled_person_is_counted_once(app: TestApp) {
    let project = project(&app, "Återinskriven").await;
    let mut people = cohort(&app, &project, 4, "2025-03-03", "financial_support").await;
    leave(&app, &mut people[0], "2025-03-10", "other", "financial_support").await;
    let again = enrol(&app, &kommun(), &people[0].plan, &project, "2025-03-17", "financial_support").await;
    assert_eq!(again.status(), 201, "re-enrolment after the exit");

    let r = report(&app, &project, "").await;
    assert_eq!(r["enrolled"], suppressed_cell(), "4 people enrolled: {r}");
    let read = timeline(&app, &project).await;
    let march = read["months"].as_array().unwrap().iter().find(|m| m["month"] == "2025-03").unwrap();
    assert_eq!(march["enrolled"], suppressed_cell(), "4 people enrolled in March: {march}");
}

async fn the_report_as_csv(app: TestApp) {
    let project = project(&app, "CSV").await;
    let mut people = cohort(&app, &project, 5, "2025-02-03", "financial_support").await;
    leave_all(&app, &mut people[..4], "2025-06-13", "completed", "work").await;
    let json_report = report(&app, &project, "").await;

    let response = app
        .request(Method::GET, &format!("/v1/reports/projects/{project}"), &lead())
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("# disclosure_control: method=cell_key_random_rounding; rounding_base=5; largest_perturbation=4; min_cell=5; period=calendar_month")
    );
    assert_eq!(lines.next(), Some("figure,key,value,suppressed"));
    let rows: Vec<Vec<&str>> = lines.filter(|l| !l.is_empty()).map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 4), "{text}");
    let find = |figure: &str, key: &str| {
        rows.iter().find(|r| r[0] == figure && r[1] == key).unwrap_or_else(|| panic!("no {figure},{key} in {text}"))
    };
    let as_cell = |row: &Vec<&str>| match (row[2], row[3]) {
        ("", "true") => suppressed_cell(),
        (value, "false") => shown_cell(value.parse().unwrap_or_else(|_| panic!("{row:?}"))),
        _ => panic!("a CSV row that is neither shown nor suppressed: {row:?}"),
    };
    for row in &rows {
        shown(&as_cell(row), &row.join(","));
    }
    assert_eq!(as_cell(find("enrolled", "")), shown_cell(5));
    assert_eq!(as_cell(find("enrolled", "")), json_report["enrolled"]);
    assert_eq!(as_cell(find("active", "")), json_report["active"]);
    assert_eq!(as_cell(find("exited", "")), json_report["exited"]["total"]);
    for reason in REASONS {
        assert_eq!(as_cell(find("exited_by_reason", reason)), json_report["exited"]["by_reason"][reason], "{reason}");
    }
    for from in SOURCES {
        for to in SOURCES {
            assert_eq!(as_cell(find("support_movement", &format!("{from}->{to}"))), *movement(&json_report, from, to));
        }
    }
    assert!(!text.contains(&people[0].plan) && !text.contains(&people[0].participant), "no ids of people");

    // The pay-off as CSV.
    let response = app
        .request(Method::GET, &format!("/v1/reports/payoff?project={project}"), &lead())
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("# disclosure_control: method=cell_key_random_rounding;"), "{text}");
    let header = lines.next().unwrap();
    assert!(header.contains("persons") && header.contains("cost_version"), "{header}");
    let values: Vec<&str> = lines.next().unwrap().split(',').collect();
    let columns: Vec<&str> = header.split(',').collect();
    let persons = values[columns.iter().position(|c| *c == "persons").unwrap()];
    assert_eq!(persons, "", "four persons are not shown: {text}");
}

// ---------------------------------------------------------------- 5. pay-off

async fn payoff_is_reproduced_after_the_cost_parameters_change(app: TestApp) {
    let project = project(&app, "Pay-off").await;
    let mut people = cohort(&app, &project, 5, "2025-02-03", "financial_support").await;
    leave_all(&app, &mut people, "2025-04-15", "completed", "work").await;

    let before = payoff(&app, &project, "").await;
    assert_eq!(before["project_id"], project.as_str());
    assert_eq!(before["from"], REPORTED_FROM);
    assert_eq!(before["to"], REPORTED_UNTIL);
    assert_disclosure_control(&before);
    assert_eq!(before["persons"], shown_cell(5), "{before}");
    assert_eq!(before["suppressed"], false);
    assert_eq!(before["estimated_annual_payoff_sek"], 5 * 500_000);
    assert_eq!(before["cost_parameters"]["version"], 0);
    assert_eq!(before["cost_parameters"]["annual_cost_of_exclusion_sek"], 500_000);
    let history = get_json(&app, "/v1/settings/cost-parameters", &lead()).await;
    assert_eq!(history["items"], json!([]));
    assert_eq!(history["default"]["version"], 0);
    assert_eq!(history["default"]["annual_cost_of_exclusion_sek"], 500_000);

    // Only admins set cost parameters.
    let new = json!({"effective_from": "2025-06-01", "annual_cost_of_exclusion_sek": 600_000});
    for t in [lead(), coordinator(), auditor(), kommun()] {
        problem(app.put("/v1/settings/cost-parameters", &t, None, &new).await, 403).await;
    }
    for bad in [0, -1, 100_000_001] {
        let request = json!({"effective_from": "2025-06-01", "annual_cost_of_exclusion_sek": bad});
        problem(app.put("/v1/settings/cost-parameters", &admin(), None, &request).await, 422).await;
    }
    assert_eq!(payoff(&app, &project, "").await, before, "refused settings change nothing");

    let response = app.put("/v1/settings/cost-parameters", &admin(), None, &new).await;
    assert_eq!(response.status(), 200);
    let v1 = body(response).await;
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["effective_from"], "2025-06-01");
    assert_eq!(v1["annual_cost_of_exclusion_sek"], 600_000);

    let after = payoff(&app, &project, "").await;
    assert_eq!(after["persons"], shown_cell(5));
    assert_eq!(after["cost_parameters"]["version"], 1, "{after}");
    assert_eq!(after["cost_parameters"]["annual_cost_of_exclusion_sek"], 600_000);
    assert_eq!(after["estimated_annual_payoff_sek"], 3_000_000);

    // The old report, exactly.
    assert_eq!(payoff(&app, &project, "&cost_version=0").await, before, "cost_version=0 reproduces the old pay-off");
    assert_eq!(payoff(&app, &project, "&cost_version=1").await, after);
    // A period ending before the new parameters take effect uses the old ones.
    let early = payoff(&app, &project, "&to=2025-05-31").await;
    assert_eq!(early["cost_parameters"]["version"], 0, "{early}");
    assert_eq!(early["estimated_annual_payoff_sek"], 2_500_000);

    // A later version, effective after the period, changes nothing for it.
    let response = app
        .put("/v1/settings/cost-parameters", &admin(), None, &json!({"effective_from": "2026-01-01", "annual_cost_of_exclusion_sek": 700_000}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["version"], 2);
    assert_eq!(payoff(&app, &project, "").await, after, "version 1 is still the one in effect on the period's end");
    let later = payoff(&app, &project, "&to=2026-01-31").await;
    assert_eq!(later["cost_parameters"]["version"], 2);
    assert_eq!(later["estimated_annual_payoff_sek"], 3_500_000);
    assert_eq!(payoff(&app, &project, "&cost_version=0").await, before, "still reproducible");
    let unknown = app.get(&format!("/v1/reports/payoff?project={project}&cost_version=9"), &lead()).await;
    assert!(unknown.status().is_client_error(), "an unknown cost version: {}", unknown.status());

    // Every version is kept.
    let history = get_json(&app, "/v1/settings/cost-parameters", &admin()).await;
    let versions: Vec<(i64, i64, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["annual_cost_of_exclusion_sek"].as_i64().unwrap(),
                v["effective_from"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(versions, [(1, 600_000, "2025-06-01".to_owned()), (2, 700_000, "2026-01-01".to_owned())]);
    assert_eq!(history["default"]["version"], 0);
    assert_eq!(history["default"]["annual_cost_of_exclusion_sek"], 500_000);

    // Settings are per association.
    let mut elsewhere = TestClaims::new("samordningsforbundet", "association", "admin");
    elsewhere.assoc = "sala".into();
    let elsewhere_history = get_json(&app, "/v1/settings/cost-parameters", &elsewhere.sign()).await;
    assert_eq!(elsewhere_history["items"], json!([]));
}

async fn concurrent_cost_parameter_versions_are_all_kept(app: TestApp) {
    let mut handles = Vec::new();
    for i in 0..6 {
        let client = app.client.clone();
        let url = app.url("/v1/settings/cost-parameters");
        handles.push(tokio::spawn(async move {
            client
                .put(url)
                .bearer_auth(admin())
                .json(&json!({"effective_from": "2025-06-01", "annual_cost_of_exclusion_sek": 500_001 + i}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for handle in handles {
        let status = handle.await.unwrap();
        assert!(status == 200 || status == 409 || status == 503, "concurrent PUT answered {status}");
        ok += usize::from(status == 200);
    }
    let history = get_json(&app, "/v1/settings/cost-parameters", &admin()).await;
    let versions: Vec<i64> = history["items"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, (1..=ok as i64).collect::<Vec<_>>(), "one version per accepted PUT");
}

// ---------------------------------------------------------------- 6. who sees what

async fn a_project_lead_sees_no_person_but_reads_every_report(app: TestApp) {
    let project = project(&app, "Roller").await;
    let mut people = cohort(&app, &project, 5, "2025-02-03", "financial_support").await;
    leave_all(&app, &mut people, "2025-04-15", "completed", "work").await;
    let e = &people[0];
    let (participant, plan) = (&e.participant, &e.plan);

    let lead = lead();
    let plan_paths = [
        format!("/v1/participants/{participant}"),
        format!("/v1/participants/{participant}/consents"),
        format!("/v1/participants/{participant}/access-log"),
        format!("/v1/plans/{plan}"),
        format!("/v1/plans/{plan}/platform"),
        format!("/v1/plans/{plan}/solution-scenario"),
        format!("/v1/plans/{plan}/progress"),
        enrolments_path(plan),
        e.path(),
    ];
    for path in &plan_paths {
        problem(app.get(path, &lead).await, 404).await;
    }
    problem(app.get("/v1/participants", &lead).await, 404).await;
    let response = app.post("/v1/participants", &lead, &json!({"personal_identity_number": fresh_pin(), "name": "Bo Berg"})).await;
    problem(response, 404).await;
    problem(app.post("/v1/participants/lookup", &lead, &json!({"personal_identity_number": PIN})).await, 404).await;
    problem(app.post("/v1/plans", &lead, &json!({"participant_id": participant})).await, 404).await;
    problem(enrol(&app, &lead, plan, &project, "2025-02-03", "financial_support").await, 404).await;
    problem(app.patch(&e.path(), &lead, Some(&e.etag), &exit_request("2025-05-01", "other", "other")).await, 404).await;
    problem(
        app.post(&format!("/v1/plans/{plan}/scale-readings"), &lead, &json!({"value": 5, "why_not_lower": "", "one_step_up": ""})).await,
        404,
    )
    .await;
    problem(app.post(&format!("/v1/plans/{plan}/steps"), &lead, &json!({"description": "Steg", "owner": "participant"})).await, 404).await;

    // … and every report.
    let report_path = format!("/v1/reports/projects/{project}");
    let payoff_path = format!("/v1/reports/payoff?project={project}");
    let timeline_path = format!("/v1/projects/{project}/timeline");
    for path in [&report_path, &payoff_path, &timeline_path, &format!("/v1/projects/{project}")] {
        let response = app.get(path, &lead).await;
        assert_eq!(response.status(), 200, "project lead: {path}");
        let text = response.text().await.unwrap();
        for person in &people {
            assert!(!text.contains(&person.participant) && !text.contains(&person.plan), "{path} names a person: {text}");
        }
    }
    assert_eq!(get_json(&app, &report_path, &lead).await["enrolled"], shown_cell(5));
    assert_eq!(get_json(&app, &payoff_path, &lead).await["persons"], shown_cell(5));

    // Coordinators and auditors read reports; case workers and admins do not.
    for (who, t) in [("coordinator", coordinator()), ("auditor", auditor())] {
        for path in [&report_path, &payoff_path] {
            assert_eq!(app.get(path, &t).await.status(), 200, "{who}: {path}");
        }
    }
    for (who, t) in [("case worker", kommun()), ("af case worker", af()), ("admin", admin())] {
        for path in [&report_path, &payoff_path] {
            let response = app.get(path, &t).await;
            assert_eq!(response.status(), 403, "{who}: {path}");
            problem(response, 403).await;
        }
        let csv = app.request(Method::GET, &report_path, &t).header("Accept", "text/csv").send().await.unwrap();
        assert_eq!(csv.status(), 403, "{who}: CSV");
    }
    // Another association's project lead finds no such project.
    for path in [&report_path, &payoff_path, &timeline_path] {
        problem(app.get(path, &lead_elsewhere()).await, 404).await;
    }
    let missing = uuid::Uuid::new_v4();
    problem(app.get(&format!("/v1/reports/projects/{missing}"), &lead).await, 404).await;
    problem(app.get(&format!("/v1/reports/payoff?project={missing}"), &lead).await, 404).await;
}

// ---------------------------------------------------------------- 7. withdrawn consent

async fn a_withdrawn_consent_takes_the_enrolment_out_of_the_figures(app: TestApp) {
    let project = project(&app, "Samtycke").await;
    let mut people = cohort(&app, &project, 5, "2025-02-03", "financial_support").await;

    // A participant of the municipality, consented to af, enrolled by af.
    let (participant, plan) = new_plan(&app).await;
    let today = stockholm_today(chrono::Utc::now());
    let response = app
        .post(
            &format!("/v1/participants/{participant}/consents"),
            &kommun(),
            &json!({"organisations": ["af-vasteras"], "purpose": "samordnad rehabilitering", "valid_from": today.to_string(), "valid_until": (today + Duration::days(365)).to_string()}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let consent = body(response).await["id"].as_str().unwrap().to_owned();
    let response = enrol(&app, &af(), &plan, &project, "2025-02-20", "job_seeking").await;
    let mut by_af = enrolled_from(response, &participant, &plan, &af()).await;
    assert_eq!(app.get(&by_af.path(), &af()).await.status(), 200);

    let r = report(&app, &project, "").await;
    let six: Vec<String> = ids(&people).chain([participant.as_str()]).map(str::to_owned).collect();
    assert_eq!(r["enrolled"], cell_of(six.iter().map(String::as_str)), "{r}");
    let read = timeline(&app, &project).await;
    let feb = read["months"].as_array().unwrap().iter().find(|m| m["month"] == "2025-02").unwrap().clone();
    assert_eq!(feb["enrolled"], cell_of(six.iter().map(String::as_str)));
    assert_disclosure_control(&read);

    // af and the municipality's five all leave for work: six people.
    leave(&app, &mut by_af, "2025-05-02", "completed", "work").await;
    leave_all(&app, &mut people, "2025-05-02", "completed", "work").await;
    assert_eq!(payoff(&app, &project, "").await["persons"], cell_of(six.iter().map(String::as_str)));

    // The consent is withdrawn: af no longer sees the person, and the person
    // no longer counts.
    let consent_path = format!("/v1/participants/{participant}/consents/{consent}");
    let tag = etag(&app.get(&consent_path, &kommun()).await);
    let response = app.request(Method::POST, &format!("{consent_path}/withdraw"), &kommun()).header("If-Match", tag).send().await.unwrap();
    assert_eq!(response.status(), 200, "withdraw");
    problem(app.get(&by_af.path(), &af()).await, 404).await;

    let r = report(&app, &project, "").await;
    let p = payoff(&app, &project, "").await;
    assert_protected(&r, &p);
    assert_eq!(r["enrolled"], shown_cell(5), "{r}");
    assert_eq!(r["exited"]["total"], shown_cell(5));
    assert_eq!(*movement(&r, "job_seeking", "work"), suppressed_cell());
    assert_eq!(p["persons"], shown_cell(5), "{p}");
    let read = timeline(&app, &project).await;
    let feb = read["months"].as_array().unwrap().iter().find(|m| m["month"] == "2025-02").unwrap().clone();
    assert_eq!(feb["enrolled"], shown_cell(5));

    // The record stays: the municipality still sees af's enrolment of its participant.
    let listed = get_json(&app, &enrolments_path(&plan), &kommun()).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["org"], "af-vasteras");
}

// ---------------------------------------------------------------- 8. differencing (issue 10, point 4)

/// Every count shown anywhere in a body: (path, value). Checks that each is
/// a multiple of 5 and not under 5, so that no sum or difference of shown
/// figures, across any set of reports, is a figure of 1 to 4 people.
fn shown_counts(body: &Value, path: &str, out: &mut Vec<(String, u64)>) {
    match body {
        Value::Object(fields) if fields.contains_key("suppressed") && fields.contains_key("value") => {
            if let Some(v) = shown(body, path) {
                out.push((path.to_owned(), v));
            }
        }
        Value::Object(fields) => {
            for (k, v) in fields {
                if k != "disclosure_control" {
                    shown_counts(v, &format!("{path}.{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                shown_counts(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The same figures at the same places: a difference of two reports is
/// never 1 to 4 people.
fn assert_no_small_difference(a: &Value, b: &Value) {
    let (mut left, mut right) = (Vec::new(), Vec::new());
    shown_counts(a, "", &mut left);
    shown_counts(b, "", &mut right);
    for (path, x) in &left {
        if let Some((_, y)) = right.iter().find(|(p, _)| p == path) {
            let d = x.abs_diff(*y);
            assert!(d == 0 || d >= MIN_CELL, "{path}: {x} and {y} differ by {d} people");
        }
    }
}

/// A report without its period: what it says about people.
fn figures_of(report: &Value) -> Value {
    let mut figures = report.clone();
    let fields = figures.as_object_mut().unwrap();
    fields.remove("from");
    fields.remove("to");
    figures
}

/// Eleven people enrolled in February (six on sickness benefit, five job
/// seeking); five of the six leave for health reasons on 15 May, still on
/// sickness benefit, and the sixth ("Anna") on 20 June. Returns the six.
async fn the_health_exits(app: &TestApp, project: &str) -> Vec<Enrolled> {
    let mut six = cohort(app, project, 6, "2025-02-03", "sickness_benefit").await;
    cohort(app, project, 5, "2025-02-03", "job_seeking").await;
    leave_all(app, &mut six[..5], "2025-05-15", "health", "sickness_benefit").await;
    leave(app, &mut six[5], "2025-06-20", "health", "sickness_benefit").await;
    six
}

/// The attack as found: two reports for periods one day apart differed by
/// exactly one person, who had left for health reasons and lived on
/// sickness benefit. Periods are whole calendar months now, so the two
/// reports are one and the same.
async fn two_periods_a_day_apart_give_the_same_report(app: TestApp) {
    let project = project(&app, "En dag").await;
    let six = the_health_exits(&app, &project).await;

    let before = report(&app, &project, "?to=2025-06-19").await;
    let after = report(&app, &project, "?to=2025-06-20").await;
    assert_protected(&before, &payoff(&app, &project, "&to=2025-06-19").await);
    assert_eq!(before, after, "one day later, the same report");
    assert_eq!((before["from"].as_str(), before["to"].as_str()), (Some(REPORTED_FROM), Some("2025-06-30")));
    // What the attack read off before: 5 then 6 health exits.
    let health = &after["exited"]["by_reason"]["health"];
    assert_eq!(*health, cell_of(ids(&six)), "June's figures include Anna, whichever day is asked");
    assert_eq!(
        payoff(&app, &project, "&to=2025-06-19").await,
        payoff(&app, &project, "&to=2025-06-20").await,
        "the pay-off too"
    );
    // The same on the other end of the period, and in CSV.
    assert_eq!(report(&app, &project, "?from=2025-05-15&to=2025-06-30").await, report(&app, &project, "?from=2025-05-16&to=2025-06-30").await);
    let csv = |query: &'static str| {
        let request = app.request(Method::GET, &format!("/v1/reports/projects/{project}{query}"), &lead()).header("Accept", "text/csv");
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(csv("?to=2025-06-19").await, csv("?to=2025-06-20").await);
}

/// Nested periods (January–May inside January–June) differ by Anna alone:
/// every shown figure is a multiple of 5, so their difference is 0 or 5,
/// never the one person; and the same people always get the same figure.
async fn nested_periods_do_not_single_out_one_person(app: TestApp) {
    let project = project(&app, "Inuti").await;
    let six = the_health_exits(&app, &project).await;
    let may = report(&app, &project, "?to=2025-05-31").await;
    let june = report(&app, &project, "?to=2025-06-30").await;
    assert_protected(&may, &payoff(&app, &project, "&to=2025-05-31").await);
    assert_protected(&june, &payoff(&app, &project, "&to=2025-06-30").await);
    assert_no_small_difference(&may, &june);

    let (h_may, h_june) = (&may["exited"]["by_reason"]["health"], &june["exited"]["by_reason"]["health"]);
    assert_eq!(*h_may, cell_of(ids(&six[..5])), "five health exits by May: {may}");
    assert_eq!(*h_may, shown_cell(5));
    assert_eq!(*h_june, cell_of(ids(&six)), "six by June, rounded by the cell key of the six: {june}");
    let difference = h_june["value"].as_u64().unwrap().abs_diff(h_may["value"].as_u64().unwrap());
    assert!(difference == 0 || difference == 5, "health exits differ by {difference}");
    let matrix = |r: &Value| movement(r, "sickness_benefit", "sickness_benefit")["value"].as_u64().unwrap();
    assert!(matrix(&june).abs_diff(matrix(&may)) % 5 == 0);
    // The six are one set of people: every figure about exactly them is the same.
    assert_eq!(june["exited"]["total"], *h_june);
    assert_eq!(*movement(&june, "sickness_benefit", "sickness_benefit"), *h_june);

    // Nested on the other side too: February–June inside January–June.
    let from_feb = report(&app, &project, "?from=2025-02-01&to=2025-06-30").await;
    assert_no_small_difference(&from_feb, &june);
    // Periods holding the same people give the same figures: asking again
    // with another period does not average the rounding away.
    for to in ["2025-07-31", "2025-09-30", "2025-12-31"] {
        let later = report(&app, &project, &format!("?to={to}")).await;
        assert_eq!(figures_of(&later), figures_of(&june), "to {to}");
    }
}

/// Adjacent periods (January–May and June) and their union: June alone
/// holds one exit, which is suppressed, and the union minus January–May is
/// 0 or 5, never 1.
async fn adjacent_periods_do_not_single_out_one_person(app: TestApp) {
    let project = project(&app, "Intill").await;
    let six = the_health_exits(&app, &project).await;
    let may = report(&app, &project, "?to=2025-05-31").await;
    let june = report(&app, &project, "?from=2025-06-01&to=2025-06-30").await;
    let both = report(&app, &project, "?to=2025-06-30").await;
    for (r, query) in [(&may, "&to=2025-05-31"), (&june, "&from=2025-06-01&to=2025-06-30"), (&both, "&to=2025-06-30")] {
        assert_protected(r, &payoff(&app, &project, query).await);
    }
    assert_eq!(june["exited"]["total"], suppressed_cell(), "one exit in June: {june}");
    assert_eq!(june["exited"]["by_reason"]["health"], suppressed_cell());
    assert_eq!(*movement(&june, "sickness_benefit", "sickness_benefit"), suppressed_cell());
    assert_eq!(both["exited"]["by_reason"]["health"], cell_of(ids(&six)));
    for pair in [(&may, &both), (&june, &both), (&may, &june)] {
        assert_no_small_difference(pair.0, pair.1);
    }
    // Whatever is added or subtracted, the figures are multiples of 5.
    let mut all = Vec::new();
    for r in [&may, &june, &both] {
        shown_counts(r, "", &mut all);
    }
    assert!(all.iter().all(|(_, v)| v % BASE == 0), "{all:?}");
    // The timeline's months, beside these reports, say no more: June's one exit is hidden.
    let read = timeline(&app, &project).await;
    assert_disclosure_control(&read);
    let month = |m: &str| read["months"].as_array().unwrap().iter().find(|x| x["month"] == m).unwrap().clone();
    assert_eq!(month("2025-06")["exited"], suppressed_cell(), "{read}");
    // May's five go too: with the period's six exits in the report, a shown
    // May would give June's one away.
    assert_eq!(month("2025-05")["exited"], suppressed_cell(), "{read}");
}

store_tests!(
    projects_are_written_by_leads_and_coordinators_and_read_by_everyone,
    milestones_form_a_timeline_in_date_order,
    timeline_counts_by_month_suppress_under_five,
    timeline_and_report_together_reveal_no_suppressed_month,
    a_case_worker_enrols_a_visible_plan_and_records_the_exit,
    reports_suppress_at_the_four_five_boundary,
    share_improved_reveals_no_group_under_five,
    a_re_enrolled_person_is_counted_once,
    the_report_as_csv,
    payoff_is_reproduced_after_the_cost_parameters_change,
    concurrent_cost_parameter_versions_are_all_kept,
    a_project_lead_sees_no_person_but_reads_every_report,
    a_withdrawn_consent_takes_the_enrolment_out_of_the_figures,
    two_periods_a_day_apart_give_the_same_report,
    nested_periods_do_not_single_out_one_person,
    adjacent_periods_do_not_single_out_one_person,
);
