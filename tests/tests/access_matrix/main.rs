//! The access matrix (issue point 6): every participant and plan path ×
//! every kind of principal, on two fixtures, with the expected status
//! computed by a small rule function written here from DESIGN.md ("Who may
//! see and do what") — independently of `samplan_domain::access`.
//!
//! For each case the test asserts the exact status; for lists and lookups
//! whether the participant is there; for every 404 that it is the same
//! problem+json as the 404 for random, non-existent ids; and, for every
//! principal that does not see the participant, that no body, header, list
//! entry or cursor carries the participant's id, its plan's id, its steps'
//! or consents' ids, its personnummer or its name. All mismatches are
//! collected and reported as one table at the end.
//!
//! The two fixtures (both registered by vasteras-kommun in "vastmanland",
//! each with a plan led by vasteras-kommun whose `coordinator` is
//! "samordnare-1"):
//!
//! - `A`: the active consent (valid from today, inclusive) names af-vasteras
//!   and samordningsforbundet.
//! - `B`: the active consent (valid until today, inclusive) names af-vasteras
//!   only, so samordningsforbundet's coordinators — including the plan's own
//!   coordinator "samordnare-1" — are the "coordinator without consent".
//!
//! Both also hold a consent naming region-vastmanland that was withdrawn
//! after region-vastmanland had recorded a step, one naming
//! arbetsmarknad-vasteras valid from tomorrow, and one naming
//! socialtjanst-vasteras that ended yesterday. Throwaway consents (recorded
//! by the matrix itself) name only [`THROWAWAY_ORG`], which is no column.

use chrono::{Duration, NaiveDate};
use reqwest::Method;
use samplan_tests::*;
use serde_json::{Value, json};
use std::fmt::Write as _;

const ASSOC: &str = "vastmanland";
const OWNER_ORG: &str = "vasteras-kommun";
const PLAN_COORDINATOR: &str = "samordnare-1";
/// The plan's coordinator's organisation: with the `sub`, the person.
const COORDINATOR_ORG: &str = "samordningsforbundet";
/// The organisation named by the consents the matrix records and withdraws:
/// no principal of the matrix works for it, so they change no one's access.
const THROWAWAY_ORG: &str = "folktandvarden-vasteras";

/// Personnummer of the background participants (valid check digits).
const PIN_B: &str = "19750607-2342";
const PIN_SALA: &str = "19640823-3234";
const PIN_FK: &str = "19900315-4565";

// ------------------------------------------------------------------ principals

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    CaseWorker,
    Integration,
    Coordinator,
    ProjectLead,
    Auditor,
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::CaseWorker => "case_worker",
            Role::Integration => "integration",
            Role::Coordinator => "coordinator",
            Role::ProjectLead => "project_lead",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// A column of the matrix: who is asking.
#[derive(Debug, Clone)]
struct Principal {
    label: &'static str,
    sub: &'static str,
    assoc: &'static str,
    org: &'static str,
    agency: &'static str,
    role: Role,
}

impl Principal {
    fn token(&self) -> String {
        TestClaims {
            sub: self.sub.into(),
            assoc: self.assoc.into(),
            ..TestClaims::new(self.org, self.agency, self.role.as_str())
        }
        .sign()
    }
}

fn principal(
    label: &'static str,
    sub: &'static str,
    assoc: &'static str,
    org: &'static str,
    agency: &'static str,
    role: Role,
) -> Principal {
    Principal { label, sub, assoc, org, agency, role }
}

fn columns() -> Vec<Principal> {
    use Role::*;
    vec![
        principal("owner case worker", "handlaggare-kommun", ASSOC, OWNER_ORG, "municipality", CaseWorker),
        principal("owner integration", "system-kommun", ASSOC, OWNER_ORG, "municipality", Integration),
        principal("consented org case worker", "handlaggare-af", ASSOC, "af-vasteras", "employment_office", CaseWorker),
        principal("consented org integration", "system-af", ASSOC, "af-vasteras", "employment_office", Integration),
        principal("org not named", "handlaggare-fk", ASSOC, "fk-vasteras", "social_insurance", CaseWorker),
        principal("owner slug, other assoc", "handlaggare-sala", "sala", OWNER_ORG, "municipality", CaseWorker),
        principal(
            "plan coordinator (A: consent, B: none)",
            PLAN_COORDINATOR,
            ASSOC,
            "samordningsforbundet",
            "association",
            Coordinator,
        ),
        principal(
            "other coordinator (A: consent, B: none)",
            "samordnare-2",
            ASSOC,
            "samordningsforbundet",
            "association",
            Coordinator,
        ),
        // Same `sub` as the plan's coordinator, but an organisation no consent names.
        principal(
            "coordinator of unnamed org",
            PLAN_COORDINATOR,
            ASSOC,
            "samordningsforbundet-sala",
            "association",
            Coordinator,
        ),
        principal("project lead", "projektledare", ASSOC, "samordningsforbundet", "association", ProjectLead),
        principal("auditor", "revisor", ASSOC, "samordningsforbundet", "association", Auditor),
        principal("admin", "admin", ASSOC, "samordningsforbundet", "association", Admin),
        principal("owner org project lead", "projektledare-kommun", ASSOC, OWNER_ORG, "municipality", ProjectLead),
        principal("after withdrawal", "handlaggare-region", ASSOC, "region-vastmanland", "region", CaseWorker),
        principal(
            "before valid_from",
            "handlaggare-arbetsmarknad",
            ASSOC,
            "arbetsmarknad-vasteras",
            "municipality",
            CaseWorker,
        ),
        principal(
            "after valid_until",
            "handlaggare-socialtjanst",
            ASSOC,
            "socialtjanst-vasteras",
            "municipality",
            CaseWorker,
        ),
    ]
}

fn owner() -> Principal {
    columns().into_iter().next().unwrap()
}

fn af_case_worker() -> Principal {
    columns().into_iter().find(|p| p.label == "consented org case worker").unwrap()
}

fn region_case_worker() -> Principal {
    columns().into_iter().find(|p| p.label == "after withdrawal").unwrap()
}

// ------------------------------------------------------------------ rows

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    ReadParticipant,
    ListParticipants,
    Lookup,
    ListConsents,
    RecordConsent,
    WithdrawConsent,
    CreatePlan,
    ReadPlan,
    PatchPlan,
    ReadPlatform,
    PutPlatform,
    ReadScenario,
    PutScenario,
    AddResource,
    AddStep,
    ReadOwnerStep,
    PatchOwnerStep,
    PatchConsentedOrgStep,
    PatchOwnStep,
    AddScaleReading,
    AddMeeting,
    Progress,
}

const ROWS: [Row; 22] = [
    Row::ReadParticipant,
    Row::ListParticipants,
    Row::Lookup,
    Row::ListConsents,
    Row::RecordConsent,
    Row::WithdrawConsent,
    Row::CreatePlan,
    Row::ReadPlan,
    Row::PatchPlan,
    Row::ReadPlatform,
    Row::PutPlatform,
    Row::ReadScenario,
    Row::PutScenario,
    Row::AddResource,
    Row::AddStep,
    Row::ReadOwnerStep,
    Row::PatchOwnerStep,
    Row::PatchConsentedOrgStep,
    Row::PatchOwnStep,
    Row::AddScaleReading,
    Row::AddMeeting,
    Row::Progress,
];

impl Row {
    fn label(self) -> &'static str {
        match self {
            Row::ReadParticipant => "GET /v1/participants/{id}",
            Row::ListParticipants => "GET /v1/participants (paged, limit=1)",
            Row::Lookup => "POST /v1/participants/lookup",
            Row::ListConsents => "GET /v1/participants/{id}/consents",
            Row::RecordConsent => "POST /v1/participants/{id}/consents",
            Row::WithdrawConsent => "POST …/consents/{cid}/withdraw",
            Row::CreatePlan => "POST /v1/plans",
            Row::ReadPlan => "GET /v1/plans/{id}",
            Row::PatchPlan => "PATCH /v1/plans/{id}",
            Row::ReadPlatform => "GET …/platform",
            Row::PutPlatform => "PUT …/platform",
            Row::ReadScenario => "GET …/solution-scenario",
            Row::PutScenario => "PUT …/solution-scenario",
            Row::AddResource => "POST …/resources",
            Row::AddStep => "POST …/steps",
            Row::ReadOwnerStep => "GET …/steps/{owner's step}",
            Row::PatchOwnerStep => "PATCH …/steps/{owner's step}",
            Row::PatchConsentedOrgStep => "PATCH …/steps/{af-vasteras' step}",
            Row::PatchOwnStep => "PATCH …/steps/{own step}",
            Row::AddScaleReading => "POST …/scale-readings",
            Row::AddMeeting => "POST …/meetings",
            Row::Progress => "GET …/progress",
        }
    }

    /// Whether the request carries `If-Match`, read by the owner just before.
    fn needs_if_match(self) -> bool {
        matches!(
            self,
            Row::PatchPlan
                | Row::PutPlatform
                | Row::PutScenario
                | Row::PatchOwnerStep
                | Row::PatchConsentedOrgStep
                | Row::PatchOwnStep
                | Row::WithdrawConsent
        )
    }
}

// ------------------------------------------------------------------ fixtures

#[derive(Debug, Clone)]
struct ConsentFact {
    organisations: Vec<String>,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    withdrawn: bool,
}

/// One participant with a plan, and everything access depends on.
#[derive(Debug, Clone)]
struct Fixture {
    label: &'static str,
    assoc: String,
    registered_by: String,
    pin: String,
    name: String,
    participant: String,
    plan: String,
    leading_org: String,
    coordinator: String,
    consents: Vec<ConsentFact>,
    /// The step vasteras-kommun recorded.
    owner_step: String,
    /// The step af-vasteras recorded.
    af_step: String,
    /// The step region-vastmanland recorded before its consent was withdrawn.
    region_step: String,
    /// Every id of this fixture's records (steps, consents, …).
    ids: Vec<String>,
}

impl Fixture {
    /// Every string whose presence in a response would reveal the participant.
    fn secrets(&self) -> Vec<String> {
        let digits: String = self.pin.chars().filter(char::is_ascii_digit).collect();
        let ten = digits[digits.len() - 10..].to_owned();
        let mut secrets = vec![self.name.clone(), digits.clone(), ten.clone(), format!("{}-{}", &ten[..6], &ten[6..])];
        for id in [&self.participant, &self.plan].into_iter().chain(&self.ids) {
            let uuid = uuid::Uuid::parse_str(id).unwrap();
            secrets.push(id.to_lowercase());
            secrets.push(id.to_uppercase());
            secrets.push(uuid.simple().to_string());
            secrets.push(cursor_of(uuid));
        }
        secrets
    }
}

/// How the API's cursors encode an id (base64url of its 16 bytes).
fn cursor_of(id: uuid::Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

async fn created_id(response: reqwest::Response, what: &str) -> String {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 201, "fixture: {what}: {text}");
    serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned()
}

fn consent_body(organisations: &[&str], valid_from: NaiveDate, valid_until: NaiveDate) -> Value {
    json!({
        "organisations": organisations,
        "purpose": "samordnad rehabilitering",
        "valid_from": valid_from.to_string(),
        "valid_until": valid_until.to_string(),
    })
}

async fn build_fixture(
    app: &TestApp,
    label: &'static str,
    pin: &str,
    name: &str,
    active: (&[&str], NaiveDate, NaiveDate),
    today: NaiveDate,
) -> Fixture {
    let owner = owner().token();
    let response = app.post("/v1/participants", &owner, &json!({"personal_identity_number": pin, "name": name})).await;
    let participant = created_id(response, "register").await;
    let consents_path = format!("/v1/participants/{participant}/consents");
    let mut ids = Vec::new();
    let mut consents = Vec::new();
    let day = Duration::days(1);

    let (organisations, from, until) = active;
    let response = app.post(&consents_path, &owner, &consent_body(organisations, from, until)).await;
    ids.push(created_id(response, "active consent").await);
    consents.push(ConsentFact {
        organisations: organisations.iter().map(|o| o.to_string()).collect(),
        valid_from: from,
        valid_until: until,
        withdrawn: false,
    });

    // region-vastmanland had access, recorded a step, then lost access.
    let (from, until) = (today - day * 30, today + day * 365);
    let response = app.post(&consents_path, &owner, &consent_body(&["region-vastmanland"], from, until)).await;
    let region_consent = created_id(response, "region consent").await;
    ids.push(region_consent.clone());

    for (org, from, until) in [
        ("arbetsmarknad-vasteras", today + day, today + day * 366),
        ("socialtjanst-vasteras", today - day * 10, today - day),
    ] {
        let response = app.post(&consents_path, &owner, &consent_body(&[org], from, until)).await;
        ids.push(created_id(response, org).await);
        consents.push(ConsentFact {
            organisations: vec![org.into()],
            valid_from: from,
            valid_until: until,
            withdrawn: false,
        });
    }

    let response = app.post("/v1/plans", &owner, &json!({"participant_id": participant})).await;
    let plan = created_id(response, "plan").await;
    let read = app.get(&format!("/v1/plans/{plan}"), &owner).await;
    let tag = etag(&read);
    let response =
        app.patch(&format!("/v1/plans/{plan}"), &owner, Some(&tag), &json!({"coordinator": PLAN_COORDINATOR, "coordinator_org": COORDINATOR_ORG})).await;
    assert_eq!(response.status(), 200, "fixture: assign the coordinator");

    let steps = format!("/v1/plans/{plan}/steps");
    let step = json!({"description": "Ringa förskolan", "owner": "participant"});
    let owner_step = created_id(app.post(&steps, &owner, &step).await, "owner's step").await;
    let af_step = created_id(app.post(&steps, &af_case_worker().token(), &step).await, "af's step").await;
    let region_step = created_id(app.post(&steps, &region_case_worker().token(), &step).await, "region's step").await;
    ids.extend([owner_step.clone(), af_step.clone(), region_step.clone()]);

    let response = app
        .request(Method::POST, &format!("{consents_path}/{region_consent}/withdraw"), &owner)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "fixture: withdraw region-vastmanland's consent");
    consents.push(ConsentFact {
        organisations: vec!["region-vastmanland".into()],
        valid_from: from,
        valid_until: until,
        withdrawn: true,
    });

    Fixture {
        label,
        assoc: ASSOC.into(),
        registered_by: OWNER_ORG.into(),
        pin: pin.into(),
        name: name.into(),
        participant,
        plan,
        leading_org: OWNER_ORG.into(),
        coordinator: PLAN_COORDINATOR.into(),
        consents,
        owner_step,
        af_step,
        region_step,
        ids,
    }
}

// ------------------------------------------------------------------ the rules

/// What a case must answer: a status, and for lists and lookups whether the
/// fixture's participant is among the items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    status: u16,
    listed: Option<bool>,
}

fn handles_personal_data(role: Role) -> bool {
    matches!(role, Role::CaseWorker | Role::Integration | Role::Coordinator)
}

fn consent_active(consent: &ConsentFact, today: NaiveDate) -> bool {
    !consent.withdrawn && consent.valid_from <= today && today <= consent.valid_until
}

/// Rules 1, 2, 5 and 6 of DESIGN.md.
fn sees(p: &Principal, fx: &Fixture, today: NaiveDate) -> bool {
    handles_personal_data(p.role)
        && p.assoc == fx.assoc
        && (p.org == fx.registered_by
            || fx.consents.iter().any(|c| consent_active(c, today) && c.organisations.iter().any(|o| o == p.org)))
}

/// Rule 4: the plan-level parts.
fn writes_plan_level(p: &Principal, fx: &Fixture) -> bool {
    (p.org == fx.leading_org && matches!(p.role, Role::CaseWorker | Role::Integration))
        || (p.role == Role::Coordinator && p.sub == fx.coordinator && p.org == COORDINATOR_ORG)
}

fn expected(row: Row, p: &Principal, fx: &Fixture, today: NaiveDate) -> Expected {
    let seen = sees(p, fx, today);
    let status = |s: u16| Expected { status: s, listed: None };
    let visible = |s: u16| if seen { status(s) } else { status(404) };
    let allowed = |ok: bool, s: u16| {
        if !seen {
            status(404)
        } else if ok {
            status(s)
        } else {
            status(403)
        }
    };
    let step_recorded_by = |org: &str| allowed(p.org == org, 200);
    match row {
        Row::ListParticipants | Row::Lookup => {
            if handles_personal_data(p.role) {
                Expected { status: 200, listed: Some(seen) }
            } else {
                status(404)
            }
        }
        Row::ReadParticipant
        | Row::ListConsents
        | Row::ReadPlan
        | Row::ReadPlatform
        | Row::ReadScenario
        | Row::ReadOwnerStep
        | Row::Progress => visible(200),
        Row::AddResource | Row::AddStep | Row::AddScaleReading | Row::AddMeeting => visible(201),
        // The fixture's participant already has an open plan.
        Row::CreatePlan => visible(409),
        Row::RecordConsent => allowed(p.org == fx.registered_by, 201),
        Row::WithdrawConsent => allowed(p.org == fx.registered_by, 200),
        Row::PatchPlan | Row::PutPlatform | Row::PutScenario => allowed(writes_plan_level(p, fx), 200),
        // Rule 3: an organisation changes only what it recorded.
        Row::PatchOwnerStep => step_recorded_by(OWNER_ORG),
        Row::PatchConsentedOrgStep => step_recorded_by("af-vasteras"),
        // A principal that sees the plan patches the step it has just
        // recorded; region-vastmanland the one it recorded before its
        // consent was withdrawn; the others (who never could record one)
        // the owner's step.
        Row::PatchOwnStep => {
            if seen {
                status(200)
            } else if p.org == "region-vastmanland" {
                step_recorded_by("region-vastmanland")
            } else {
                step_recorded_by(OWNER_ORG)
            }
        }
    }
}

// ------------------------------------------------------------------ requests

/// The ids a request is made of.
#[derive(Debug, Clone)]
struct Target {
    participant: String,
    plan: String,
    step: String,
    consent: String,
    pin: String,
}

impl Target {
    fn random() -> Target {
        let random = || uuid::Uuid::new_v4().to_string();
        Target { participant: random(), plan: random(), step: random(), consent: random(), pin: PIN_FK.into() }
    }
}

fn request(row: Row, t: &Target, today: NaiveDate) -> (Method, String, Option<Value>) {
    let (participant, plan, step) = (&t.participant, &t.plan, &t.step);
    let get = |path: String| (Method::GET, path, None);
    let post = |path: String, body: Value| (Method::POST, path, Some(body));
    let step_change = json!({"description": "Ringa förskolan och boka besök"});
    match row {
        Row::ReadParticipant => get(format!("/v1/participants/{participant}")),
        Row::ListParticipants => get("/v1/participants?limit=1".into()),
        Row::Lookup => post("/v1/participants/lookup".into(), json!({"personal_identity_number": t.pin})),
        Row::ListConsents => get(format!("/v1/participants/{participant}/consents")),
        Row::RecordConsent => post(
            format!("/v1/participants/{participant}/consents"),
            consent_body(&[THROWAWAY_ORG], today, today + Duration::days(30)),
        ),
        Row::WithdrawConsent => {
            (Method::POST, format!("/v1/participants/{participant}/consents/{}/withdraw", t.consent), None)
        }
        Row::CreatePlan => post("/v1/plans".into(), json!({"participant_id": participant})),
        Row::ReadPlan => get(format!("/v1/plans/{plan}")),
        Row::PatchPlan => (Method::PATCH, format!("/v1/plans/{plan}"), Some(json!({"status": "active"}))),
        Row::ReadPlatform => get(format!("/v1/plans/{plan}/platform")),
        Row::PutPlatform => (
            Method::PUT,
            format!("/v1/plans/{plan}/platform"),
            Some(json!({
                "purpose": "Anna och myndigheterna möts",
                "frames": {"af-vasteras": "arbetsträning"},
                "how_the_participant_notices_it_helps": "Jag har något att gå till",
            })),
        ),
        Row::ReadScenario => get(format!("/v1/plans/{plan}/solution-scenario")),
        Row::PutScenario => (
            Method::PUT,
            format!("/v1/plans/{plan}/solution-scenario"),
            Some(
                json!({"preferred_future": "Jag jobbar på en förskola", "signs_of_progress": ["Jag kommer upp på morgonen"]}),
            ),
        ),
        Row::AddResource => post(
            format!("/v1/plans/{plan}/resources"),
            json!({"description": "Bra med barn", "noted_by": "participant"}),
        ),
        Row::AddStep => {
            post(format!("/v1/plans/{plan}/steps"), json!({"description": "Besöka förskolan", "owner": "participant"}))
        }
        Row::ReadOwnerStep => get(format!("/v1/plans/{plan}/steps/{step}")),
        Row::PatchOwnerStep | Row::PatchConsentedOrgStep | Row::PatchOwnStep => {
            (Method::PATCH, format!("/v1/plans/{plan}/steps/{step}"), Some(step_change))
        }
        Row::AddScaleReading => post(
            format!("/v1/plans/{plan}/scale-readings"),
            json!({"value": 5, "why_not_lower": "Jag har börjat gå upp", "one_step_up": "Ringa förskolan"}),
        ),
        Row::AddMeeting => post(
            format!("/v1/plans/{plan}/meetings"),
            json!({
                "held_on": today.to_string(),
                "participants": ["deltagaren", "af-vasteras"],
                "better_since_last_time": "Har ringt",
                "until_next_time": "Besöka förskolan",
            }),
        ),
        Row::Progress => get(format!("/v1/plans/{plan}/progress")),
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
struct Got {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    text: String,
}

impl Got {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.text).ok()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

async fn send(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> Got {
    let mut request = app.request(method, path, token);
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let content_type = headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.clone()).unwrap_or_default();
    Got { status, content_type, headers, text: response.text().await.unwrap() }
}

/// The ETag the owner reads just before an update.
async fn owner_etag(app: &TestApp, row: Row, t: &Target) -> String {
    let path = match row {
        Row::PatchPlan => format!("/v1/plans/{}", t.plan),
        Row::PutPlatform => format!("/v1/plans/{}/platform", t.plan),
        Row::PutScenario => format!("/v1/plans/{}/solution-scenario", t.plan),
        Row::WithdrawConsent => format!("/v1/participants/{}/consents/{}", t.participant, t.consent),
        _ => format!("/v1/plans/{}/steps/{}", t.plan, t.step),
    };
    let got = send(app, &owner().token(), Method::GET, &path, None, None).await;
    assert_eq!(got.status, 200, "owner reads {path} for its ETag: {}", got.text);
    got.header("etag").expect("an ETag").to_owned()
}

/// What one case observed: the status, the responses the principal got
/// (several for a paged list) and, for lists, whether the participant was there.
struct Observed {
    status: u16,
    responses: Vec<Got>,
    listed: Option<bool>,
    notes: Vec<String>,
}

async fn perform(app: &TestApp, row: Row, p: &Principal, fx: &mut Fixture, today: NaiveDate) -> Observed {
    let token = p.token();
    let mut notes = Vec::new();
    let mut target = Target {
        participant: fx.participant.clone(),
        plan: fx.plan.clone(),
        step: fx.owner_step.clone(),
        consent: String::new(),
        pin: fx.pin.clone(),
    };
    match row {
        Row::PatchConsentedOrgStep => target.step = fx.af_step.clone(),
        Row::PatchOwnStep => {
            if sees(p, fx, today) {
                let (method, path, body) = request(Row::AddStep, &target, today);
                let got = send(app, &token, method, &path, body.as_ref(), None).await;
                match (got.status, got.json()) {
                    (201, Some(step)) => {
                        target.step = step["id"].as_str().unwrap().to_owned();
                        fx.ids.push(target.step.clone());
                    }
                    _ => notes.push(format!("could not record its own step: {} {}", got.status, got.text)),
                }
            } else if p.org == "region-vastmanland" {
                target.step = fx.region_step.clone();
            }
        }
        Row::WithdrawConsent => {
            // A throwaway consent, so that withdrawing changes no one's access.
            let (from, until) = (today, today + Duration::days(30));
            let response = app
                .post(
                    &format!("/v1/participants/{}/consents", fx.participant),
                    &owner().token(),
                    &consent_body(&[THROWAWAY_ORG], from, until),
                )
                .await;
            target.consent = created_id(response, "throwaway consent").await;
            fx.ids.push(target.consent.clone());
            fx.consents.push(ConsentFact {
                organisations: vec![THROWAWAY_ORG.into()],
                valid_from: from,
                valid_until: until,
                withdrawn: false,
            });
        }
        _ => {}
    }
    let if_match = if row.needs_if_match() { Some(owner_etag(app, row, &target).await) } else { None };
    let (method, path, body) = request(row, &target, today);
    let first = send(app, &token, method, &path, body.as_ref(), if_match.as_deref()).await;
    let status = first.status;

    // Keep the fixture's facts true to what was written.
    match (row, status) {
        (Row::RecordConsent, 201) => {
            if let Some(id) = first.json().and_then(|c| c["id"].as_str().map(str::to_owned)) {
                fx.ids.push(id);
            }
            fx.consents.push(ConsentFact {
                organisations: vec![THROWAWAY_ORG.into()],
                valid_from: today,
                valid_until: today + Duration::days(30),
                withdrawn: false,
            });
        }
        (Row::WithdrawConsent, 200) => fx.consents.last_mut().unwrap().withdrawn = true,
        (Row::AddStep | Row::AddResource | Row::AddScaleReading | Row::AddMeeting, 201) => {
            if let Some(id) = first.json().and_then(|c| c["id"].as_str().map(str::to_owned)) {
                fx.ids.push(id);
            }
        }
        _ => {}
    }

    let mut responses = vec![first];
    let mut listed = None;
    match row {
        Row::ListParticipants if status == 200 => {
            // Walk every page, one item at a time, so that every cursor is seen.
            let mut found = false;
            for _ in 0..100 {
                let page = responses.last().unwrap().json().unwrap_or(Value::Null);
                let items = page["items"].as_array().cloned().unwrap_or_default();
                found |= items.iter().any(|i| i["id"] == fx.participant.as_str());
                let Some(cursor) = page["next_cursor"].as_str() else { break };
                let next =
                    send(app, &token, Method::GET, &format!("/v1/participants?limit=1&cursor={cursor}"), None, None)
                        .await;
                if next.status != 200 {
                    notes.push(format!("a later page answered {}", next.status));
                    responses.push(next);
                    break;
                }
                responses.push(next);
            }
            listed = Some(found);
        }
        Row::Lookup if status == 200 => {
            let items = responses[0].json().unwrap_or(Value::Null)["items"].as_array().cloned().unwrap_or_default();
            listed = Some(items.iter().any(|i| i["id"] == fx.participant.as_str()));
        }
        _ => {}
    }
    Observed { status, responses, listed, notes }
}

/// The same request with random, non-existent ids, by the same principal.
async fn reference_404(app: &TestApp, row: Row, p: &Principal, today: NaiveDate) -> Got {
    let row = if matches!(row, Row::ListParticipants | Row::Lookup) { Row::ReadParticipant } else { row };
    let (method, path, body) = request(row, &Target::random(), today);
    let if_match = row.needs_if_match().then_some("\"1\"");
    send(app, &p.token(), method, &path, body.as_ref(), if_match).await
}

// ------------------------------------------------------------------ the matrix

struct Mismatch {
    fixture: &'static str,
    row: &'static str,
    principal: &'static str,
    expected: String,
    got: String,
}

fn describe(expected: Expected) -> String {
    match expected.listed {
        Some(true) => format!("{} listed", expected.status),
        Some(false) => format!("{} absent", expected.status),
        None => expected.status.to_string(),
    }
}

fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(160).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

async fn run_case(app: &TestApp, row: Row, p: &Principal, fx: &mut Fixture, today: NaiveDate) -> Option<Mismatch> {
    let want = expected(row, p, fx, today);
    let seen = sees(p, fx, today);
    let observed = perform(app, row, p, fx, today).await;
    let mut problems = observed.notes.clone();

    let got = Expected { status: observed.status, listed: observed.listed };
    if got != want {
        problems.push(format!("{}: {}", describe(got), excerpt(&observed.responses[0].text)));
    }

    if observed.status == 404 || want.status == 404 {
        let first = &observed.responses[0];
        let reference = reference_404(app, row, p, today).await;
        if reference.status != 404 {
            problems.push(format!(
                "the random-id reference answered {}: {}",
                reference.status,
                excerpt(&reference.text)
            ));
        }
        if observed.status == 404 {
            if first.content_type != "application/problem+json" {
                problems.push(format!("404 content-type {:?}", first.content_type));
            }
            if first.json().is_none() || first.json() != reference.json() {
                problems.push(format!(
                    "404 body {} ≠ random-id 404 body {}",
                    excerpt(&first.text),
                    excerpt(&reference.text)
                ));
            }
            for header in ["etag", "location"] {
                if first.header(header).is_some() {
                    problems.push(format!("404 carries {header}"));
                }
            }
        }
    }

    if !seen {
        let secrets = fx.secrets();
        for (i, response) in observed.responses.iter().enumerate() {
            let mut everything = response.text.clone();
            for (name, value) in &response.headers {
                let _ = write!(everything, "\n{name}: {value}");
            }
            for secret in &secrets {
                if everything.contains(secret.as_str()) {
                    problems.push(format!("response {} reveals {secret:?}: {}", i + 1, excerpt(&response.text)));
                }
            }
        }
    }

    (!problems.is_empty()).then(|| Mismatch {
        fixture: fx.label,
        row: row.label(),
        principal: p.label,
        expected: describe(want),
        got: problems.join("; "),
    })
}

fn table(mismatches: &[Mismatch]) -> String {
    let widths = [
        mismatches.iter().map(|m| m.fixture.chars().count()).max().unwrap_or(0).max(7),
        mismatches.iter().map(|m| m.row.chars().count()).max().unwrap_or(0).max(4),
        mismatches.iter().map(|m| m.principal.chars().count()).max().unwrap_or(0).max(9),
        mismatches.iter().map(|m| m.expected.chars().count()).max().unwrap_or(0).max(8),
    ];
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = format!(
        "{} | {} | {} | {} | got\n",
        pad("fixture", widths[0]),
        pad("path", widths[1]),
        pad("principal", widths[2]),
        pad("expected", widths[3])
    );
    for m in mismatches {
        let _ = writeln!(
            out,
            "{} | {} | {} | {} | {}",
            pad(m.fixture, widths[0]),
            pad(m.row, widths[1]),
            pad(m.principal, widths[2]),
            pad(&m.expected, widths[3]),
            m.got
        );
    }
    out
}

async fn access_matrix(app: TestApp) {
    let today = samplan_domain::access::stockholm_today(chrono::Utc::now());
    let day = Duration::days(1);

    // Background: other participants, so that lists and cursors have
    // something else to carry.
    let sala = columns().into_iter().find(|p| p.assoc == "sala").unwrap();
    let fk = columns().into_iter().find(|p| p.org == "fk-vasteras").unwrap();
    for (who, pin, name) in [(sala, PIN_SALA, "Sara Sandberg"), (fk, PIN_FK, "Frida Fors")] {
        let body = json!({"personal_identity_number": pin, "name": name});
        created_id(app.post("/v1/participants", &who.token(), &body).await, "background participant").await;
    }

    // Edge dates on purpose: A's consent starts today, B's ends today.
    let mut fixtures = vec![
        build_fixture(
            &app,
            "A",
            PIN,
            "Anna Andersson",
            (&["af-vasteras", "samordningsforbundet"], today, today + day * 365),
            today,
        )
        .await,
        build_fixture(&app, "B", PIN_B, "Bertil Berg", (&["af-vasteras"], today - day * 365, today), today).await,
    ];

    let columns = columns();
    let mut cases = 0usize;
    let mut mismatches = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for fx in &mut fixtures {
        for row in ROWS {
            for p in &columns {
                cases += 1;
                *statuses.entry(expected(row, p, fx, today).status).or_default() += 1;
                if let Some(mismatch) = run_case(&app, row, p, fx, today).await {
                    mismatches.push(mismatch);
                }
            }
        }
    }

    assert_eq!(
        samplan_domain::access::stockholm_today(chrono::Utc::now()),
        today,
        "the Swedish date changed during the run (the fixtures' consents are relative to it): run again"
    );
    let summary = format!(
        "access matrix on {:?}: {} fixtures × {} paths × {} principals = {cases} cases (expected statuses: {statuses:?}), {} mismatches",
        app.backend,
        fixtures.len(),
        ROWS.len(),
        columns.len(),
        mismatches.len()
    );
    eprintln!("{summary}");
    assert!(cases >= 500, "{summary}: the matrix must have at least 500 cases");
    assert!(mismatches.is_empty(), "{summary}:\n{}", table(&mismatches));
}

store_tests!(access_matrix);
