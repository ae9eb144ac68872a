//! Consent (samtycke) end to end: who records and withdraws it, what it
//! opens to the organisations it names and for how long (Swedish calendar
//! dates, inclusive), that withdrawal ends access at once while the records
//! and the consent itself stay; who writes which part of a shared plan; and
//! token verification with the agencies' public keys (JWKS).

mod jwks;

use chrono::{Duration, NaiveDate, Utc};
use reqwest::{Method, Response};
use samplan_domain::access::stockholm_today;
use samplan_tests::*;
use serde_json::{Value, json};

const PURPOSE: &str = "samordnad rehabilitering";

fn today() -> NaiveDate {
    stockholm_today(Utc::now())
}

fn location(response: &Response) -> String {
    response.headers().get("location").expect("Location").to_str().unwrap().to_owned()
}

/// The coordinator of the association, `sub` "samordnare-1".
fn coordinator(sub: &str) -> String {
    let mut claims = TestClaims::new("samordningsforbundet", "association", "coordinator");
    claims.sub = sub.into();
    claims.sign()
}

/// Försäkringskassan's case worker: never named in a consent here.
fn fk() -> String {
    token("fk-vasteras", "social_insurance", "case_worker")
}

/// Registers a participant as the municipality and starts a plan: (participant, plan).
async fn setup(app: &TestApp) -> (String, String) {
    let participant = app.participant(&kommun(), PIN).await;
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
    assert_eq!(response.status(), 201, "create plan");
    let plan = body(response).await["id"].as_str().unwrap().to_owned();
    (participant, plan)
}

fn consent_request(organisations: &[&str], from: NaiveDate, until: NaiveDate) -> Value {
    json!({
        "organisations": organisations,
        "purpose": PURPOSE,
        "valid_from": from.to_string(),
        "valid_until": until.to_string(),
    })
}

fn consents_path(participant: &str) -> String {
    format!("/v1/participants/{participant}/consents")
}

/// Records a consent as the registering municipality; returns its body.
async fn consent(app: &TestApp, participant: &str, organisations: &[&str], from: NaiveDate, until: NaiveDate) -> Value {
    let response = app.post(&consents_path(participant), &kommun(), &consent_request(organisations, from, until)).await;
    assert_eq!(response.status(), 201, "record consent for {organisations:?} {from}..{until}");
    body(response).await
}

async fn withdraw(app: &TestApp, participant: &str, consent: &str, token: &str) -> Response {
    let path = format!("/v1/participants/{participant}/consents/{consent}");
    let current = app.get(&path, &kommun()).await;
    let tag = current.headers().get("etag").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_else(|| "\"1\"".into());
    app.request(Method::POST, &format!("{path}/withdraw"), token)
        .header("If-Match", tag)
        .send()
        .await
        .unwrap()
}

/// The consents of a participant as the municipality lists them.
async fn consents(app: &TestApp, participant: &str) -> Vec<Value> {
    let response = app.get(&consents_path(participant), &kommun()).await;
    assert_eq!(response.status(), 200, "list consents");
    body(response).await["items"].as_array().expect("items").clone()
}

/// The ids in GET /v1/participants for `token`.
async fn listed(app: &TestApp, token: &str) -> Vec<String> {
    let response = app.get("/v1/participants", token).await;
    assert_eq!(response.status(), 200, "list participants");
    body(response).await["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

/// The ids POST /v1/participants/lookup finds for PIN, as `token`.
async fn looked_up(app: &TestApp, token: &str) -> Vec<String> {
    let response = app.post("/v1/participants/lookup", token, &json!({"personal_identity_number": PIN})).await;
    assert_eq!(response.status(), 200, "lookup");
    body(response).await["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

/// Asserts what `token` sees of the participant and the plan, by every way in.
async fn assert_sees(app: &TestApp, token: &str, participant: &str, plan: &str, sees: bool, case: &str) {
    let plan_response = app.get(&format!("/v1/plans/{plan}"), token).await;
    let participant_response = app.get(&format!("/v1/participants/{participant}"), token).await;
    if sees {
        assert_eq!(plan_response.status(), 200, "{case}: GET plan");
        assert_eq!(participant_response.status(), 200, "{case}: GET participant");
        assert_eq!(body(participant_response).await["id"], participant, "{case}");
    } else {
        problem(plan_response, 404).await;
        problem(participant_response, 404).await;
    }
    assert_eq!(listed(app, token).await.contains(&participant.to_owned()), sees, "{case}: in the list");
    assert_eq!(looked_up(app, token).await.contains(&participant.to_owned()), sees, "{case}: lookup");
}

fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors: {problem}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------- 1. lifecycle

async fn consent_opens_the_plan_and_withdrawal_closes_it_at_once(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    assert_sees(&app, &af(), &participant, &plan, false, "before consent").await;

    let (from, until) = (today(), today() + Duration::days(365));
    let response =
        app.post(&consents_path(&participant), &kommun(), &consent_request(&["af-vasteras"], from, until)).await;
    assert_eq!(response.status(), 201);
    let path = location(&response);
    let created = body(response).await;
    let cid = created["id"].as_str().expect("id").to_owned();
    assert_eq!(path, format!("/v1/participants/{participant}/consents/{cid}"));
    assert_eq!(created["participant_id"], participant);
    assert_eq!(created["organisations"], json!(["af-vasteras"]));
    assert_eq!(created["purpose"], PURPOSE);
    assert_eq!(created["valid_from"], from.to_string());
    assert_eq!(created["valid_until"], until.to_string());
    assert_eq!(created["active"], true);
    assert!(created["withdrawn_at"].is_null(), "{created}");
    assert!(created["withdrawn_by"].is_null(), "{created}");
    assert!(created["withdrawn_org"].is_null(), "{created}");
    assert_eq!(created["recorded_by_org"], "vasteras-kommun");

    // The employment office now sees the participant and the plan, and contributes.
    assert_sees(&app, &af(), &participant, &plan, true, "consented").await;
    let response = app
        .post(
            &format!("/v1/plans/{plan}/steps"),
            &af(),
            &json!({"description": "Besöka en arbetsplats", "owner": "af-vasteras"}),
        )
        .await;
    assert_eq!(response.status(), 201, "af adds a step");
    let step = body(response).await;
    let step_id = step["id"].as_str().unwrap().to_owned();
    assert_eq!(step["org"], "af-vasteras");
    let response = app
        .post(&format!("/v1/plans/{plan}/resources"), &af(), &json!({"description": "Har körkort"}))
        .await;
    assert_eq!(response.status(), 201, "af notes a resource");
    let resource = body(response).await;
    assert_eq!(resource["org"], "af-vasteras");
    assert_eq!(app.get(&format!("/v1/plans/{plan}/steps/{step_id}"), &af()).await.status(), 200);
    let response = app.get(&consents_path(&participant), &af()).await;
    assert_eq!(response.status(), 200, "af reads the consents of a participant it sees");

    // Withdrawal by the registering organisation.
    let response = withdraw(&app, &participant, &cid, &kommun()).await;
    assert_eq!(response.status(), 200, "withdraw");
    let withdrawn = body(response).await;
    assert_eq!(withdrawn["id"], cid);
    assert!(withdrawn["withdrawn_at"].is_string(), "{withdrawn}");
    assert_eq!(withdrawn["withdrawn_by"], "case_worker@vasteras-kommun");
    assert_eq!(withdrawn["withdrawn_org"], "vasteras-kommun");
    assert_eq!(withdrawn["active"], false);
    assert_eq!(withdrawn["organisations"], json!(["af-vasteras"]));
    assert_eq!(withdrawn["purpose"], PURPOSE);

    // At once: nothing more for the employment office.
    assert_sees(&app, &af(), &participant, &plan, false, "withdrawn").await;
    problem(app.get(&format!("/v1/plans/{plan}/steps/{step_id}"), &af()).await, 404).await;
    problem(app.get(&format!("/v1/plans/{plan}/progress"), &af()).await, 404).await;
    problem(app.get(&consents_path(&participant), &af()).await, 404).await;
    let response = app
        .post(&format!("/v1/plans/{plan}/steps"), &af(), &json!({"description": "Ett steg till", "owner": "af-vasteras"}))
        .await;
    problem(response, 404).await;

    // The records stay: the owner still sees the employment office's contributions.
    let response = app.get(&format!("/v1/plans/{plan}"), &kommun()).await;
    assert_eq!(response.status(), 200);
    let whole = body(response).await;
    let steps = whole["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["id"] == step_id.as_str() && s["org"] == "af-vasteras"), "{whole}");
    let resources = whole["resources"].as_array().unwrap();
    assert!(resources.iter().any(|r| r["id"] == resource["id"] && r["org"] == "af-vasteras"), "{whole}");
    assert_eq!(app.get(&format!("/v1/plans/{plan}/steps/{step_id}"), &kommun()).await.status(), 200);

    // The consent is kept, withdrawn, never deleted.
    let listed = consents(&app, &participant).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], cid);
    assert_eq!(listed[0]["active"], false);
    assert_eq!(listed[0]["withdrawn_at"], withdrawn["withdrawn_at"]);
    assert_eq!(listed[0]["withdrawn_by"], "case_worker@vasteras-kommun");
    assert_eq!(listed[0]["withdrawn_org"], "vasteras-kommun");
    assert_eq!(listed[0]["organisations"], json!(["af-vasteras"]));

    // Withdrawing again is a conflict, and changes nothing.
    problem(withdraw(&app, &participant, &cid, &kommun()).await, 409).await;
    let again = consents(&app, &participant).await;
    assert_eq!(again[0]["withdrawn_at"], withdrawn["withdrawn_at"]);

    // A withdrawn or unknown consent id under another path is not found.
    let unknown = uuid::Uuid::new_v4();
    problem(withdraw(&app, &participant, &unknown.to_string(), &kommun()).await, 404).await;
}

/// Withdrawal is as easy as consent (GDPR art. 7(3)): no `If-Match` needed.
/// When one is sent and stale, 412; two withdrawals at once change the
/// consent once, and the other answers 409.
async fn withdrawal_needs_no_if_match_and_loses_no_update(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let until = today() + chrono::Duration::days(30);
    let given = consent(&app, &participant, &["af-vasteras"], today(), until).await;
    let path = format!("{}/{}/withdraw", consents_path(&participant), given["id"].as_str().unwrap());
    assert_sees(&app, &af(), &participant, &plan, true, "consent given").await;

    // A stale If-Match is refused and changes nothing.
    let response = app.request(Method::POST, &path, &kommun()).header("If-Match", "\"7\"").send().await.unwrap();
    let refused = problem(response, 412).await;
    assert!(!refused.to_string().contains("withdrawn_at"), "{refused}");
    assert_sees(&app, &af(), &participant, &plan, true, "after a stale If-Match").await;

    // Without If-Match: withdrawn, at once.
    let response = app.request(Method::POST, &path, &kommun()).send().await.unwrap();
    assert_eq!(response.status(), 200, "withdraw without If-Match");
    assert_eq!(etag(&response), "\"2\"");
    let withdrawn = body(response).await;
    assert_eq!((withdrawn["active"].as_bool(), withdrawn["withdrawn_org"].as_str()), (Some(false), Some("vasteras-kommun")));
    assert_sees(&app, &af(), &participant, &plan, false, "withdrawn without If-Match").await;

    // Two withdrawals at once: one 200, one 409; the consent changed once.
    let second = consent(&app, &participant, &["af-vasteras"], today(), until).await;
    let path = format!("{}/{}/withdraw", consents_path(&participant), second["id"].as_str().unwrap());
    let (a, b) = tokio::join!(
        app.request(Method::POST, &path, &kommun()).send(),
        app.request(Method::POST, &path, &kommun()).send()
    );
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let listed = consents(&app, &participant).await;
    let stored = listed.iter().find(|c| c["id"] == second["id"]).unwrap();
    assert_eq!((stored["version"].as_i64(), stored["active"].as_bool()), (Some(2), Some(false)), "{stored}");
}

/// A consent naming several organisations; withdrawing one consent leaves
/// another active consent's access in place.
async fn access_follows_each_consent_separately(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let first = consent(&app, &participant, &["af-vasteras", "fk-vasteras"], today(), today() + Duration::days(30)).await;
    let mut named = first["organisations"].as_array().unwrap().clone();
    named.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(named, vec![json!("af-vasteras"), json!("fk-vasteras")]);
    let second = consent(&app, &participant, &["af-vasteras"], today(), today() + Duration::days(30)).await;
    assert_sees(&app, &af(), &participant, &plan, true, "two consents").await;
    assert_sees(&app, &fk(), &participant, &plan, true, "first consent").await;

    let response = withdraw(&app, &participant, first["id"].as_str().unwrap(), &kommun()).await;
    assert_eq!(response.status(), 200);
    assert_sees(&app, &fk(), &participant, &plan, false, "first withdrawn").await;
    assert_sees(&app, &af(), &participant, &plan, true, "second still active").await;

    let response = withdraw(&app, &participant, second["id"].as_str().unwrap(), &kommun()).await;
    assert_eq!(response.status(), 200);
    assert_sees(&app, &af(), &participant, &plan, false, "both withdrawn").await;
    assert_eq!(consents(&app, &participant).await.len(), 2);
}

// ---------------------------------------------------------------- 2. validity

async fn consent_is_valid_by_swedish_calendar_date_inclusive(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let today = today();

    let future = consent(&app, &participant, &["af-vasteras"], today + Duration::days(1), today + Duration::days(30)).await;
    assert_eq!(future["active"], false, "starts tomorrow: {future}");
    assert_sees(&app, &af(), &participant, &plan, false, "valid from tomorrow").await;

    let past = consent(&app, &participant, &["af-vasteras"], today - Duration::days(30), today - Duration::days(1)).await;
    assert_eq!(past["active"], false, "ended yesterday: {past}");
    assert_sees(&app, &af(), &participant, &plan, false, "valid until yesterday").await;

    let listed = consents(&app, &participant).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|c| c["active"] == false), "{listed:?}");

    let one_day = consent(&app, &participant, &["af-vasteras"], today, today).await;
    assert_eq!(one_day["active"], true, "today only: {one_day}");
    assert_sees(&app, &af(), &participant, &plan, true, "valid today only").await;
}

// ---------------------------------------------------------------- 3. bad input

async fn bad_consent_input_is_refused_and_nothing_is_stored(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let path = consents_path(&participant);
    let (from, until) = (today(), today() + Duration::days(30));
    let good = consent_request(&["af-vasteras"], from, until);
    let with = |key: &str, value: Value| {
        let mut request = good.clone();
        request[key] = value;
        request
    };
    let without = |key: &str| {
        let mut request = good.clone();
        request.as_object_mut().unwrap().remove(key);
        request
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("no organisations", with("organisations", json!([])), "organisations"),
        (
            "valid_until before valid_from",
            with("valid_until", json!((from - Duration::days(1)).to_string())),
            "valid_until",
        ),
        ("unknown field", with("extra", json!("x")), "extra"),
        ("not a slug", with("organisations", json!(["Not A Slug"])), "organisations"),
        ("missing purpose", without("purpose"), "purpose"),
        ("empty purpose", with("purpose", json!("")), "purpose"),
        ("missing organisations", without("organisations"), "organisations"),
        ("bad date", with("valid_from", json!("2026-13-01")), "valid_from"),
        ("not a date", with("valid_until", json!("next year")), "valid_until"),
        ("organisations not a list", with("organisations", json!("af-vasteras")), "organisations"),
        ("blank purpose", with("purpose", json!("   ")), "purpose"),
        (
            "too many organisations",
            with("organisations", json!((0..51).map(|i| format!("org-{i}")).collect::<Vec<_>>())),
            "organisations",
        ),
    ];
    for (case, request, field) in cases {
        let response = app.post(&path, &kommun(), &request).await;
        let problem = problem(response, 422).await;
        let fields = field_names(&problem);
        assert!(fields.iter().any(|f| f.starts_with(field)), "{case}: errors name {field}: {problem}");
        assert!(!problem.to_string().contains("Not A Slug"), "{case}: the value is echoed: {problem}");
    }
    assert_eq!(consents(&app, &participant).await, Vec::<Value>::new(), "nothing stored");
    assert_sees(&app, &af(), &participant, &plan, false, "after refused consents").await;
}

// ---------------------------------------------------------------- 4. who records consent

async fn only_the_registering_organisation_records_and_withdraws_consent(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let given = consent(&app, &participant, &["af-vasteras"], today(), today() + Duration::days(30)).await;
    let cid = given["id"].as_str().unwrap();
    assert_sees(&app, &af(), &participant, &plan, true, "consented").await;

    // The employment office sees the participant but does not manage consent.
    let request = consent_request(&["af-vasteras", "fk-vasteras"], today(), today() + Duration::days(400));
    problem(app.post(&consents_path(&participant), &af(), &request).await, 403).await;
    problem(withdraw(&app, &participant, cid, &af()).await, 403).await;

    // Försäkringskassan is named nowhere: the participant does not exist for it.
    problem(app.post(&consents_path(&participant), &fk(), &request).await, 404).await;
    problem(withdraw(&app, &participant, cid, &fk()).await, 404).await;
    problem(app.get(&consents_path(&participant), &fk()).await, 404).await;

    // Roles that never see a named person, even of the registering
    // organisation, and the same organisation slug in another association.
    for role in ["project_lead", "auditor", "admin"] {
        let other_role = token("vasteras-kommun", "municipality", role);
        problem(app.post(&consents_path(&participant), &other_role, &request).await, 404).await;
        problem(withdraw(&app, &participant, cid, &other_role).await, 404).await;
    }
    let mut elsewhere = TestClaims::new("vasteras-kommun", "municipality", "case_worker");
    elsewhere.assoc = "sala".into();
    let elsewhere = elsewhere.sign();
    problem(app.post(&consents_path(&participant), &elsewhere, &request).await, 404).await;
    problem(withdraw(&app, &participant, cid, &elsewhere).await, 404).await;

    // Nothing changed.
    let listed = consents(&app, &participant).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["active"], true);
    assert!(listed[0]["withdrawn_at"].is_null());
    assert_sees(&app, &af(), &participant, &plan, true, "still consented").await;
    assert_sees(&app, &fk(), &participant, &plan, false, "fk still outside").await;
}

// ---------------------------------------------------------------- 5. coordinator

async fn coordinator_sees_with_consent_and_writes_once_assigned(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let samordnare = coordinator("samordnare-1");
    assert_sees(&app, &samordnare, &participant, &plan, false, "coordinator without consent").await;

    consent(&app, &participant, &["samordningsforbundet"], today(), today() + Duration::days(30)).await;
    assert_sees(&app, &samordnare, &participant, &plan, true, "coordinator with consent").await;
    assert_sees(&app, &af(), &participant, &plan, false, "af not named").await;

    let platform = json!({
        "purpose": "Anna och myndigheterna möts för att Anna ska komma närmare arbete",
        "frames": {"vasteras-kommun": "försörjningsstöd"},
        "how_the_participant_notices_it_helps": "Jag har något att gå till varje vecka",
    });
    let response = app.get(&format!("/v1/plans/{plan}/platform"), &samordnare).await;
    assert_eq!(response.status(), 200);
    let platform_etag = etag(&response);
    let response = app.put(&format!("/v1/plans/{plan}/platform"), &samordnare, Some(&platform_etag), &platform).await;
    problem(response, 403).await;

    // The owner assigns the plan's coordinator.
    let response = app.get(&format!("/v1/plans/{plan}"), &kommun()).await;
    let plan_etag = etag(&response);
    let assign = json!({"coordinator": "samordnare-1", "coordinator_org": "samordningsforbundet"});
    let response = app.patch(&format!("/v1/plans/{plan}"), &kommun(), Some(&plan_etag), &assign).await;
    assert_eq!(response.status(), 200, "assign coordinator");
    let assigned = body(response).await;
    assert_eq!(assigned["coordinator"], "samordnare-1");
    assert_eq!(assigned["coordinator_org"], "samordningsforbundet");

    // A coordinator of another organisation that sees the plan, carrying the
    // same `sub` (each identity provider hands out its own), is not the
    // plan's coordinator.
    consent(&app, &participant, &["finsam-sala"], today(), today() + Duration::days(30)).await;
    let mut claims = TestClaims::new("finsam-sala", "association", "coordinator");
    claims.sub = "samordnare-1".into();
    let namesake = claims.sign();
    let response = app.get(&format!("/v1/plans/{plan}/platform"), &namesake).await;
    assert_eq!(response.status(), 200, "the namesake sees the plan");
    let refused = app.put(&format!("/v1/plans/{plan}/platform"), &namesake, Some(&platform_etag), &platform).await;
    problem(refused, 403).await;
    let unchanged = body(app.get(&format!("/v1/plans/{plan}/platform"), &kommun()).await).await;
    assert_eq!(unchanged["purpose"], "", "the namesake wrote nothing: {unchanged}");

    let response = app.put(&format!("/v1/plans/{plan}/platform"), &samordnare, Some(&platform_etag), &platform).await;
    assert_eq!(response.status(), 200, "the plan's coordinator writes the platform");
    let written = body(response).await;
    assert_eq!(written["purpose"], platform["purpose"]);
    assert_eq!(written["updated_org"], "samordningsforbundet");
    assert_eq!(written["updated_by"], "samordnare-1");

    // Another coordinator of the same organisation is not the plan's coordinator.
    let other = coordinator("samordnare-2");
    let response = app.get(&format!("/v1/plans/{plan}/platform"), &other).await;
    assert_eq!(response.status(), 200);
    let current = etag(&response);
    problem(app.put(&format!("/v1/plans/{plan}/platform"), &other, Some(&current), &platform).await, 403).await;
}

// ---------------------------------------------------------------- 6. contributions

async fn each_organisation_writes_only_its_own_contributions(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let steps = format!("/v1/plans/{plan}/steps");

    // A step cannot belong to an organisation that cannot see the plan.
    for owner in ["af-vasteras", "fk-vasteras"] {
        let response = app.post(&steps, &kommun(), &json!({"description": "Ett steg", "owner": owner})).await;
        let problem = problem(response, 422).await;
        assert!(field_names(&problem).contains(&"owner".to_owned()), "{owner}: {problem}");
    }
    consent(&app, &participant, &["af-vasteras"], today(), today() + Duration::days(30)).await;
    let response = app.post(&steps, &kommun(), &json!({"description": "Ett steg", "owner": "fk-vasteras"})).await;
    let refused = problem(response, 422).await;
    assert!(field_names(&refused).contains(&"owner".to_owned()), "{refused}");
    let response = app.post(&steps, &kommun(), &json!({"description": "Träffa AF", "owner": "af-vasteras"})).await;
    assert_eq!(response.status(), 201, "af may own a step once consented");
    let kommun_etag = etag(&response);
    let kommun_step = body(response).await;
    let kommun_step = format!("{steps}/{}", kommun_step["id"].as_str().unwrap());

    let response = app.post(&steps, &af(), &json!({"description": "Söka tre jobb", "owner": "participant"})).await;
    assert_eq!(response.status(), 201);
    let af_etag = etag(&response);
    let af_step = body(response).await;
    let af_step = format!("{steps}/{}", af_step["id"].as_str().unwrap());

    // Neither changes the other's step, even with the right ETag.
    problem(app.patch(&kommun_step, &af(), Some(&kommun_etag), &json!({"status": "done"})).await, 403).await;
    problem(app.patch(&af_step, &kommun(), Some(&af_etag), &json!({"status": "dropped"})).await, 403).await;
    let response = app.get(&kommun_step, &kommun()).await;
    assert_eq!(etag(&response), kommun_etag, "unchanged");
    assert_eq!(body(response).await["status"], "planned");

    // Each changes its own.
    let response = app.patch(&kommun_step, &kommun(), Some(&kommun_etag), &json!({"status": "done", "outcome": "Bra möte"})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["status"], "done");
    let response = app.patch(&af_step, &af(), Some(&af_etag), &json!({"status": "done", "outcome": "Två intervjuer"})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["outcome"], "Två intervjuer");

    // Plan-level parts belong to the leading organisation's case worker and the plan's coordinator.
    let response = app.get(&format!("/v1/plans/{plan}/platform"), &af()).await;
    let platform_etag = etag(&response);
    let platform = json!({"purpose": "AF:s version", "frames": {}, "how_the_participant_notices_it_helps": ""});
    problem(app.put(&format!("/v1/plans/{plan}/platform"), &af(), Some(&platform_etag), &platform).await, 403).await;
    let response = app.get(&format!("/v1/plans/{plan}/solution-scenario"), &af()).await;
    let scenario_etag = etag(&response);
    let scenario = json!({"preferred_future": "AF:s version", "signs_of_progress": []});
    let response = app.put(&format!("/v1/plans/{plan}/solution-scenario"), &af(), Some(&scenario_etag), &scenario).await;
    problem(response, 403).await;
    let response = app.get(&format!("/v1/plans/{plan}"), &af()).await;
    let plan_etag = etag(&response);
    problem(app.patch(&format!("/v1/plans/{plan}"), &af(), Some(&plan_etag), &json!({"status": "closed"})).await, 403).await;

    // The leading organisation's case worker may, with the same ETags.
    let response = app.put(&format!("/v1/plans/{plan}/platform"), &kommun(), Some(&platform_etag), &platform).await;
    assert_eq!(response.status(), 200);
    let response = app.put(&format!("/v1/plans/{plan}/solution-scenario"), &kommun(), Some(&scenario_etag), &scenario).await;
    assert_eq!(response.status(), 200);
    let response = app.patch(&format!("/v1/plans/{plan}"), &kommun(), Some(&plan_etag), &json!({"status": "active"})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["status"], "active");
}

store_tests!(
    consent_opens_the_plan_and_withdrawal_closes_it_at_once,
    access_follows_each_consent_separately,
    withdrawal_needs_no_if_match_and_loses_no_update,
    consent_is_valid_by_swedish_calendar_date_inclusive,
    bad_consent_input_is_refused_and_nothing_is_stored,
    only_the_registering_organisation_records_and_withdraws_consent,
    coordinator_sees_with_consent_and_writes_once_assigned,
    each_organisation_writes_only_its_own_contributions,
);
