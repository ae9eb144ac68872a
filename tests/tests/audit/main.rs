//! The audit trail (DESIGN.md rule 7) end to end, on SQLite and PostgreSQL:
//! every read, write and refused attempt leaves events (one per participant
//! a list returns) with no personal data in them; events are committed before
//! the answer leaves, in the write's own transaction for writes, and a failure
//! to record them fails the request; the store refuses UPDATE and DELETE and
//! `verify` catches an edit made behind the server's back; auditors read the
//! log with filters and paging, and a participant's access log is read (JSON
//! and CSV) by auditors and the registering organisation's case workers.
//!
//! The stored effects are read straight from the app's own database.

use chrono::{Duration, NaiveDate, SecondsFormat, Utc};
use reqwest::{Method, Response};
use samplan_api::audit::{ChainError, hash_of, verify};
use samplan_api::entities::audit_event;
use samplan_domain::access::stockholm_today;
use samplan_tests::*;
use sea_orm::{ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::collections::HashSet;

const ASSOC: &str = "vastmanland";
/// A third valid personnummer.
const PIN_THIRD: &str = "19900315-4565";

// ---------------------------------------------------------------- helpers

fn auditor() -> String {
    token("samordningsforbundet", "association", "auditor")
}

/// Försäkringskassan's case worker: never named in a consent here.
fn fk() -> String {
    token("fk-vasteras", "social_insurance", "case_worker")
}

fn today() -> NaiveDate {
    stockholm_today(Utc::now())
}

fn request_id(response: &Response) -> String {
    response.headers().get("x-request-id").expect("X-Request-Id").to_str().unwrap().to_owned()
}

/// A raw connection to the app's own database.
async fn connect(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.database_url.as_str()).await.expect("connect to the app's database")
}

/// Every stored event, by chain and position.
async fn stored(db: &DatabaseConnection) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Assoc)
        .order_by_asc(audit_event::Column::Seq)
        .all(db)
        .await
        .unwrap()
}

async fn chain(db: &DatabaseConnection, assoc: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Assoc.eq(assoc))
        .order_by_asc(audit_event::Column::Seq)
        .all(db)
        .await
        .unwrap()
}

async fn of_request(db: &DatabaseConnection, request_id: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::RequestId.eq(request_id))
        .order_by_asc(audit_event::Column::Seq)
        .all(db)
        .await
        .unwrap()
}

/// Registers a participant as the municipality and starts a plan: (participant, plan).
async fn setup(app: &TestApp) -> (String, String) {
    let participant = app.participant(&kommun(), PIN).await;
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
    assert_eq!(response.status(), 201, "create plan");
    let plan = body(response).await["id"].as_str().unwrap().to_owned();
    (participant, plan)
}

/// The municipality records the participant's consent for `organisations`.
async fn consent(app: &TestApp, participant: &str, organisations: &[&str]) {
    let response = app
        .post(
            &format!("/v1/participants/{participant}/consents"),
            &kommun(),
            &json!({
                "organisations": organisations,
                "purpose": "samordnad rehabilitering",
                "valid_from": today().to_string(),
                "valid_until": (today() + Duration::days(365)).to_string(),
            }),
        )
        .await;
    assert_eq!(response.status(), 201, "record consent");
}

async fn get_with(app: &TestApp, path: &str, token: &str, query: &[(&str, String)]) -> Response {
    app.request(Method::GET, path, token).query(query).send().await.unwrap()
}

/// GET /v1/audit-events as the auditor; asserts 200 and returns (request id, body).
async fn audit_events(app: &TestApp, query: &[(&str, String)]) -> (String, Value) {
    let response = get_with(app, "/v1/audit-events", &auditor(), query).await;
    assert_eq!(response.status(), 200, "GET /v1/audit-events {query:?}");
    assert!(content_type(&response).starts_with("application/json"));
    let id = request_id(&response);
    (id, body(response).await)
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().unwrap_or_else(|| panic!("items: {page}")).clone()
}

fn content_type(response: &Response) -> String {
    response.headers().get("content-type").expect("Content-Type").to_str().unwrap().to_owned()
}

fn access_log_path(participant: &str) -> String {
    format!("/v1/participants/{participant}/access-log")
}

/// The access log as JSON; asserts 200.
async fn access_log(app: &TestApp, participant: &str, token: &str) -> Value {
    let response = app.get(&access_log_path(participant), token).await;
    assert_eq!(response.status(), 200, "GET access-log");
    assert!(content_type(&response).starts_with("application/json"));
    let log = body(response).await;
    assert_eq!(log["participant_id"], participant);
    log
}

fn is_uuid(value: &str) -> bool {
    uuid::Uuid::parse_str(value).is_ok()
}

fn is_hash(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Drops the append-only triggers, as someone with direct access to the store could.
async fn drop_append_only(app: &TestApp, db: &DatabaseConnection) {
    match app.backend {
        Backend::Sqlite => {
            db.execute_unprepared("DROP TRIGGER audit_events_no_update").await.unwrap();
            db.execute_unprepared("DROP TRIGGER audit_events_no_delete").await.unwrap();
        }
        Backend::Postgres => {
            db.execute_unprepared("DROP TRIGGER audit_events_no_update_delete ON audit_events").await.unwrap();
        }
    }
}

/// Makes every insert into audit_events (and, on PostgreSQL, into the
/// events staged by writes) fail, behind the server's back.
async fn block_audit(app: &TestApp, db: &DatabaseConnection) {
    match app.backend {
        Backend::Sqlite => {
            db.execute_unprepared(
                "CREATE TRIGGER audit_block BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'blocked'); END",
            )
            .await
            .unwrap();
        }
        Backend::Postgres => {
            db.execute_unprepared(
                "CREATE FUNCTION audit_block() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'blocked'; END $$",
            )
            .await
            .unwrap();
            // A write stages its events first (see `store::chain`): block both.
            for table in ["audit_events", "audit_pending"] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER audit_block BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION audit_block()"
                ))
                .await
                .unwrap();
            }
        }
    }
}

async fn unblock_audit(app: &TestApp, db: &DatabaseConnection) {
    match app.backend {
        Backend::Sqlite => db.execute_unprepared("DROP TRIGGER audit_block").await.unwrap(),
        Backend::Postgres => {
            db.execute_unprepared("DROP TRIGGER audit_block ON audit_events").await.unwrap();
            db.execute_unprepared("DROP TRIGGER audit_block ON audit_pending").await.unwrap()
        }
    };
}

async fn verified(db: &DatabaseConnection, assoc: Option<&str>) -> u64 {
    verify(db, assoc).await.unwrap_or_else(|e| panic!("verify {assoc:?}: {e}"))
}

// ---------------------------------------------------------------- 1. the issue's four named cases

async fn a_consented_agencys_read_appears_in_the_access_log(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    consent(&app, &participant, &["af-vasteras"]).await;

    let response = app.get(&format!("/v1/plans/{plan}"), &af()).await;
    assert_eq!(response.status(), 200, "the consented agency reads the plan");
    let read_id = request_id(&response);

    let log = access_log(&app, &participant, &kommun()).await;
    let reads: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["org"] == "af-vasteras" && item["action"] == "GET /v1/plans/{id}")
        .collect();
    assert_eq!(reads.len(), 1, "one read by af-vasteras: {log}");
    let read = reads[0];
    assert_eq!(read["agency"], "employment_office");
    assert_eq!(read["role"], "case_worker");
    assert_eq!(read["outcome"], "allowed");
    let at = chrono::DateTime::parse_from_rfc3339(read["occurred_at"].as_str().unwrap()).expect("RFC 3339");
    assert!((Utc::now() - at.with_timezone(&Utc)).num_minutes() < 5, "{read}");

    // The stored event says the same, with who, which resource and the request.
    let db = connect(&app).await;
    let events = of_request(&db, &read_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.assoc, ASSOC);
    assert_eq!(event.sub, "case_worker@af-vasteras");
    assert_eq!(event.org, "af-vasteras");
    assert_eq!(event.agency, "employment_office");
    assert_eq!(event.role, "case_worker");
    assert_eq!(event.action, "GET /v1/plans/{id}");
    assert_eq!(event.resource_type, "plans");
    assert_eq!(event.resource_id.as_deref(), Some(plan.as_str()));
    assert_eq!(event.participant_id.map(|p| p.to_string()), Some(participant.clone()));
    assert_eq!(event.outcome, "allowed");
    assert_eq!(event.status, 200);
}

async fn a_denied_attempt_without_consent_appears_as_denied(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    consent(&app, &participant, &["af-vasteras"]).await;

    let response = app.get(&format!("/v1/plans/{plan}"), &fk()).await;
    let fk_request = request_id(&response);
    problem(response, 404).await;
    let response = app.get(&format!("/v1/participants/{participant}"), &fk()).await;
    problem(response, 404).await;

    let log = access_log(&app, &participant, &kommun()).await;
    let attempts: Vec<&Value> =
        log["items"].as_array().unwrap().iter().filter(|item| item["org"] == "fk-vasteras").collect();
    assert_eq!(attempts.len(), 2, "{log}");
    for attempt in &attempts {
        assert_eq!(attempt["outcome"], "denied", "{attempt}");
        assert_eq!(attempt["agency"], "social_insurance");
        assert_eq!(attempt["role"], "case_worker");
    }
    let actions: HashSet<&str> = attempts.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, HashSet::from(["GET /v1/plans/{id}", "GET /v1/participants/{id}"]));

    let db = connect(&app).await;
    let events = of_request(&db, &fk_request).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].outcome.as_str(), events[0].status), ("denied", 404));
    assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant));
    assert_eq!(events[0].resource_id.as_deref(), Some(plan.as_str()));
}

async fn a_case_worker_cannot_read_the_audit_log(app: TestApp) {
    let (_, _) = setup(&app).await;
    for token in [kommun(), af(), token("samordningsforbundet", "association", "coordinator")] {
        let response = app.get("/v1/audit-events", &token).await;
        let problem = problem(response, 403).await;
        assert!(problem.get("items").is_none(), "{problem}");
    }
    // The refusal is itself on record, as denied.
    let (_, page) =
        audit_events(&app, &[("organisation", "vasteras-kommun".into()), ("outcome", "denied".into())]).await;
    let refused: Vec<Value> = items(&page).into_iter().filter(|e| e["action"] == "GET /v1/audit-events").collect();
    assert_eq!(refused.len(), 1, "{page}");
    assert_eq!(refused[0]["status"], 403);
    assert_eq!(refused[0]["role"], "case_worker");
    assert!(refused[0]["participant_id"].is_null());
}

async fn verify_passes_on_an_untouched_chain_and_fails_on_a_tampered_one(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    consent(&app, &participant, &["af-vasteras"]).await;
    for token in [kommun(), af(), fk()] {
        app.get(&format!("/v1/plans/{plan}"), &token).await;
    }
    app.get("/v1/participants", &kommun()).await;

    let db = connect(&app).await;
    let events = chain(&db, ASSOC).await;
    assert!(events.len() >= 7, "{}", events.len());
    assert_eq!(verified(&db, Some(ASSOC)).await, events.len() as u64);

    drop_append_only(&app, &db).await;
    let victim = &events[events.len() / 2];
    db.execute_unprepared(&format!(
        "UPDATE audit_events SET org = 'fk-vasteras' WHERE assoc = '{ASSOC}' AND seq = {}",
        victim.seq
    ))
    .await
    .unwrap();
    let error = verify(&db, Some(ASSOC)).await.expect_err("verify catches the edit");
    assert!(error.to_string().contains(&format!("event {} (", victim.seq)), "{error}");
}

// ---------------------------------------------------------------- 2. one event per listed participant

async fn a_list_leaves_one_event_per_participant_returned(app: TestApp) {
    let mut registered = HashSet::new();
    for pin in [PIN, PIN_OTHER, PIN_THIRD] {
        registered.insert(app.participant(&kommun(), pin).await);
    }
    let db = connect(&app).await;
    let before = chain(&db, ASSOC).await.len();

    let response = app.get("/v1/participants", &kommun()).await;
    assert_eq!(response.status(), 200);
    let list_request = request_id(&response);
    let listed: HashSet<String> =
        items(&body(response).await).iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(listed, registered);

    let events = chain(&db, ASSOC).await;
    let new = &events[before..];
    assert_eq!(new.len(), 3, "three new events: {new:?}");
    let ids: HashSet<String> = new.iter().map(|e| e.participant_id.expect("participant_id").to_string()).collect();
    assert_eq!(ids, registered);
    for event in new {
        assert_eq!(event.request_id, list_request);
        assert_eq!(event.outcome, "allowed");
        assert_eq!(event.status, 200);
        assert_eq!(event.action, "GET /v1/participants");
        assert_eq!(event.resource_type, "participants");
        assert_eq!(event.org, "vasteras-kommun");
    }

    // A list that returns nobody still leaves one event, with no participant.
    let response = app.get("/v1/participants", &fk()).await;
    assert_eq!(response.status(), 200);
    let empty_request = request_id(&response);
    assert!(items(&body(response).await).is_empty());
    let events = of_request(&db, &empty_request).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].participant_id.is_none());
    assert_eq!((events[0].org.as_str(), events[0].outcome.as_str()), ("fk-vasteras", "allowed"));

    // A page of the list audits only the participants on it.
    let response = get_with(&app, "/v1/participants", &kommun(), &[("limit", "2".into())]).await;
    assert_eq!(response.status(), 200);
    let page_request = request_id(&response);
    let page: HashSet<String> =
        items(&body(response).await).iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(page.len(), 2);
    let audited: HashSet<String> =
        of_request(&db, &page_request).await.iter().map(|e| e.participant_id.unwrap().to_string()).collect();
    assert_eq!(audited, page);

    // A lookup is a list too: one event per participant found.
    let response =
        app.post("/v1/participants/lookup", &kommun(), &json!({"personal_identity_number": PIN_OTHER})).await;
    assert_eq!(response.status(), 200);
    let lookup_request = request_id(&response);
    let found: Vec<String> =
        items(&body(response).await).iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(found.len(), 1);
    let events = of_request(&db, &lookup_request).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(found[0].clone()));
    assert_eq!(events[0].action, "POST /v1/participants/lookup");

    // Registration itself is a write on record: the created id is the resource.
    let registrations = chain(&db, ASSOC).await;
    for id in &registered {
        let event = registrations
            .iter()
            .find(|e| e.action == "POST /v1/participants" && e.resource_id.as_deref() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("registration of {id} on record"));
        assert_eq!(event.participant_id.map(|p| p.to_string()).as_deref(), Some(id.as_str()));
        assert_eq!((event.status, event.outcome.as_str()), (201, "allowed"));
    }
}

// ---------------------------------------------------------------- 3. a write's event

async fn a_write_leaves_its_event(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let response = app
        .post(
            &format!("/v1/plans/{plan}/steps"),
            &kommun(),
            &json!({"description": "Ringa förskolan", "owner": "participant"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let write_request = request_id(&response);
    let step = body(response).await["id"].as_str().unwrap().to_owned();

    let db = connect(&app).await;
    let events = of_request(&db, &write_request).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.action, "POST /v1/plans/{id}/steps");
    assert_eq!(event.resource_type, "steps");
    assert_eq!(event.resource_id.as_deref(), Some(step.as_str()));
    assert_eq!(event.participant_id.map(|p| p.to_string()), Some(participant.clone()));
    assert_eq!(event.status, 201);
    assert_eq!(event.outcome, "allowed");
    assert_eq!(event.request_id, write_request);
    assert_eq!(
        (event.org.as_str(), event.agency.as_str(), event.role.as_str()),
        ("vasteras-kommun", "municipality", "case_worker")
    );
    assert_eq!(event.sub, "case_worker@vasteras-kommun");

    // An update is on record too, with the step as the resource.
    let response = app.get(&format!("/v1/plans/{plan}/steps/{step}"), &kommun()).await;
    let tag = etag(&response);
    let response =
        app.patch(&format!("/v1/plans/{plan}/steps/{step}"), &kommun(), Some(&tag), &json!({"status": "done"})).await;
    assert_eq!(response.status(), 200);
    let events = of_request(&db, &request_id(&response)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].action, "PATCH /v1/plans/{id}/steps/{step_id}");
    assert_eq!(events[0].resource_id.as_deref(), Some(step.as_str()));
    assert_eq!((events[0].status, events[0].outcome.as_str()), (200, "allowed"));

    // A write refused for lack of access is on record as denied, and stores nothing.
    let response = app
        .post(&format!("/v1/plans/{plan}/steps"), &fk(), &json!({"description": "Något", "owner": "participant"}))
        .await;
    let refused_request = request_id(&response);
    problem(response, 404).await;
    let events = of_request(&db, &refused_request).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].outcome, "denied");
    assert_eq!(events[0].status, 404);
    assert_eq!(events[0].org, "fk-vasteras");
    assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant));
    assert_eq!(events[0].resource_id.as_deref(), Some(plan.as_str()));
}

/// 403 on a visible resource is `denied`; 404 on an existing participant
/// refused by access is `denied`; 404 on an id that does not exist is `not_found`.
async fn refusals_carry_their_outcome(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    consent(&app, &participant, &["af-vasteras"]).await;
    let response = app
        .post(
            &format!("/v1/plans/{plan}/steps"),
            &kommun(),
            &json!({"description": "Ringa förskolan", "owner": "participant"}),
        )
        .await;
    let step = body(response).await["id"].as_str().unwrap().to_owned();
    let db = connect(&app).await;

    // af sees the plan but may not change the municipality's step: 403.
    let response =
        app.patch(&format!("/v1/plans/{plan}/steps/{step}"), &af(), Some("\"1\""), &json!({"status": "done"})).await;
    let id = request_id(&response);
    problem(response, 403).await;
    let events = of_request(&db, &id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].outcome.as_str(), events[0].status), ("denied", 403));
    assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant.clone()));
    assert_eq!(events[0].org, "af-vasteras");

    // An id that does not exist: not_found, no participant.
    let missing = uuid::Uuid::now_v7().to_string();
    for path in [format!("/v1/plans/{missing}"), format!("/v1/participants/{missing}")] {
        let response = app.get(&path, &kommun()).await;
        let id = request_id(&response);
        problem(response, 404).await;
        let events = of_request(&db, &id).await;
        assert_eq!(events.len(), 1, "{path}: {events:?}");
        assert_eq!((events[0].outcome.as_str(), events[0].status), ("not_found", 404), "{path}");
        assert!(events[0].participant_id.is_none(), "{path}");
        assert_eq!(events[0].resource_id.as_deref(), Some(missing.as_str()), "{path}");
    }

    // An existing participant refused by access: denied, with the participant.
    let response = app.get(&format!("/v1/participants/{participant}"), &fk()).await;
    let id = request_id(&response);
    problem(response, 404).await;
    let events = of_request(&db, &id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].outcome.as_str(), events[0].status), ("denied", 404));
    assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant));
}

// ---------------------------------------------------------------- 4. 401

async fn an_unauthenticated_attempt_leaves_an_event(app: TestApp) {
    let (_, plan) = setup(&app).await;
    let db = connect(&app).await;
    let before = chain(&db, ASSOC).await;

    // No token, a token signed with another key, an expired token.
    let mut expired = TestClaims::new("vasteras-kommun", "municipality", "case_worker");
    expired.exp = Utc::now().timestamp() - 3600;
    expired.nbf = Utc::now().timestamp() - 7200;
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &TestClaims::new("vasteras-kommun", "municipality", "case_worker"),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-that-is-long-enough-for-hs256-xx"),
    )
    .unwrap();
    let path = format!("/v1/plans/{plan}");
    let mut ids = Vec::new();
    let response = app.client.get(app.url(&path)).send().await.unwrap();
    ids.push(request_id(&response));
    problem(response, 401).await;
    for bad in [forged, expired.sign()] {
        let response = app.get(&path, &bad).await;
        ids.push(request_id(&response));
        problem(response, 401).await;
    }

    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT request_id FROM audit_events WHERE outcome = 'unauthenticated'",
        ))
        .await
        .unwrap();
    // The first 401 from this client address in the minute has an event of
    // its own; the others are counted into a summary once the minute ends.
    let stored_ids: HashSet<String> = rows.iter().map(|r| r.try_get::<String>("", "request_id").unwrap()).collect();
    assert_eq!(stored_ids, ids[..1].iter().cloned().collect::<HashSet<_>>());

    for id in &ids[..1] {
        let events = of_request(&db, id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        // The claims of a token that failed are not trusted: no association, no who.
        assert_eq!(event.assoc, "-");
        assert_eq!(
            (event.sub.as_str(), event.org.as_str(), event.agency.as_str(), event.role.as_str()),
            ("", "", "", "")
        );
        assert_eq!(event.action, "GET /v1/plans/{id}");
        assert_eq!(event.resource_id.as_deref(), Some(plan.as_str()));
        assert_eq!((event.outcome.as_str(), event.status), ("unauthenticated", 401));
        assert!(event.participant_id.is_none());
    }
    // Nothing was added to the association's chain, and every chain verifies.
    assert_eq!(chain(&db, ASSOC).await, before);
    let all = stored(&db).await.len() as u64;
    assert_eq!(verified(&db, None).await, all);
    assert_eq!(verified(&db, Some("-")).await, 1);
    // So the association's auditors do not see them.
    let (_, page) = audit_events(&app, &[("outcome", "unauthenticated".into())]).await;
    assert!(items(&page).is_empty(), "{page}");
}

// ---------------------------------------------------------------- 5. no personal data

async fn events_carry_no_personal_data(app: TestApp) {
    let participant = app.participant(&kommun(), PIN).await;
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
    let plan = body(response).await["id"].as_str().unwrap().to_owned();
    let free_texts = [
        "Besöka Kvinnojouren i Köping",
        "Jag har börjat gå upp på morgnarna",
        "Att jag ringer förskolan i Hallstahammar",
        "Anna har ringt förskolan",
        "Anna besöker förskolan på tisdag",
    ];
    let response = app
        .post(
            &format!("/v1/plans/{plan}/steps"),
            &kommun(),
            &json!({"description": free_texts[0], "owner": "participant"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = app
        .post(
            &format!("/v1/plans/{plan}/scale-readings"),
            &kommun(),
            &json!({"value": 4, "why_not_lower": free_texts[1], "one_step_up": free_texts[2]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = app
        .post(
            &format!("/v1/plans/{plan}/meetings"),
            &kommun(),
            &json!({"held_on": today().to_string(), "participants": ["deltagaren"],
                    "better_since_last_time": free_texts[3], "until_next_time": free_texts[4]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    // The number in a lookup body, and a caller's request id that is not a UUID.
    let response = app
        .request(Method::POST, "/v1/participants/lookup", &kommun())
        .header("X-Request-Id", PIN)
        .json(&json!({"personal_identity_number": PIN}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(is_uuid(&request_id(&response)));
    // A refused registration of the same person.
    let response = app
        .post("/v1/participants", &kommun(), &json!({"personal_identity_number": PIN_12, "name": "Anna Andersson"}))
        .await;
    assert_eq!(response.status(), 409);
    app.get(&format!("/v1/plans/{plan}"), &kommun()).await;
    app.get("/v1/participants", &kommun()).await;

    let forbidden: Vec<&str> =
        ["198112189876", "19811218", "811218", "Anna", "Andersson"].into_iter().chain(free_texts).collect();
    let db = connect(&app).await;
    let events = stored(&db).await;
    assert!(events.len() >= 8, "{}", events.len());
    for event in &events {
        let row = format!("{event:?}");
        for word in &forbidden {
            assert!(!row.contains(word), "{word:?} in {row}");
        }
        // The only free-form columns are identifiers: UUIDs and hashes.
        assert!(is_uuid(&event.request_id), "{row}");
        assert!(event.resource_id.as_deref().is_none_or(is_uuid), "{row}");
        assert!(is_hash(&event.hash) && is_hash(&event.prev_hash), "{row}");
        for text in
            [&event.sub, &event.org, &event.agency, &event.role, &event.action, &event.resource_type, &event.outcome]
        {
            assert!(!text.contains("9876"), "{row}");
        }
    }
    // The same through the API the auditors use.
    let (_, page) = audit_events(&app, &[("limit", "500".into())]).await;
    let text = page.to_string();
    for word in &forbidden {
        assert!(!text.contains(word), "{word:?} in /v1/audit-events");
    }
    let response = app
        .request(Method::GET, &access_log_path(&participant), &kommun())
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    let csv = response.text().await.unwrap();
    for word in &forbidden {
        assert!(!csv.contains(word), "{word:?} in the CSV access log");
    }
}

// ---------------------------------------------------------------- 6. auditor filters and paging

async fn auditors_filter_and_page_the_log(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let other = app.participant(&kommun(), PIN_OTHER).await;
    consent(&app, &participant, &["af-vasteras"]).await;
    let response = app.get(&format!("/v1/plans/{plan}"), &af()).await;
    assert_eq!(response.status(), 200);
    let af_read = request_id(&response);
    let response = app.get(&format!("/v1/plans/{plan}"), &fk()).await;
    let fk_attempt = request_id(&response);
    assert_eq!(response.status(), 404);
    let response = app.get(&format!("/v1/participants/{other}"), &kommun()).await;
    let other_read = request_id(&response);
    assert_eq!(response.status(), 200);

    // participant
    let (_, page) = audit_events(&app, &[("participant", other.clone()), ("limit", "500".into())]).await;
    let found = items(&page);
    assert!(found.len() >= 2, "registration and read: {page}");
    assert!(found.iter().all(|e| e["participant_id"] == other.as_str()), "{page}");
    assert!(found.iter().any(|e| e["request_id"] == other_read.as_str()));
    // organisation
    let (_, page) = audit_events(&app, &[("organisation", "af-vasteras".into()), ("limit", "500".into())]).await;
    let found = items(&page);
    assert_eq!(found.len(), 1, "{page}");
    assert_eq!(found[0]["request_id"], af_read.as_str());
    assert_eq!(found[0]["org"], "af-vasteras");
    assert_eq!(found[0]["agency"], "employment_office");
    assert_eq!(found[0]["role"], "case_worker");
    assert_eq!(found[0]["action"], "GET /v1/plans/{id}");
    assert_eq!(found[0]["resource_type"], "plans");
    assert_eq!(found[0]["resource_id"], plan.as_str());
    assert_eq!(found[0]["participant_id"], participant.as_str());
    assert_eq!(found[0]["outcome"], "allowed");
    assert_eq!(found[0]["status"], 200);
    assert!(is_hash(found[0]["hash"].as_str().unwrap()) && is_hash(found[0]["prev_hash"].as_str().unwrap()));
    assert!(found[0]["seq"].is_i64() && is_uuid(found[0]["id"].as_str().unwrap()));
    // outcome
    let (_, page) = audit_events(&app, &[("outcome", "denied".into())]).await;
    let found = items(&page);
    assert_eq!(found.len(), 1, "{page}");
    assert_eq!(found[0]["request_id"], fk_attempt.as_str());
    assert_eq!(found[0]["org"], "fk-vasteras");
    // combined filters
    let (_, page) = audit_events(
        &app,
        &[("participant", participant.clone()), ("organisation", "fk-vasteras".into()), ("outcome", "allowed".into())],
    )
    .await;
    assert!(items(&page).is_empty(), "{page}");

    // from / to around a moment between two requests.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let middle = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let response = app.get(&format!("/v1/participants/{other}"), &kommun()).await;
    let later_read = request_id(&response);
    let stamp = middle.to_rfc3339_opts(SecondsFormat::Micros, true);
    let (_, page) = audit_events(&app, &[("from", stamp.clone()), ("limit", "500".into())]).await;
    let after: Vec<Value> = items(&page);
    assert!(after.iter().any(|e| e["request_id"] == later_read.as_str()), "{page}");
    assert!(!after.iter().any(|e| e["request_id"] == af_read.as_str() || e["request_id"] == other_read.as_str()));
    for event in &after {
        let at = chrono::DateTime::parse_from_rfc3339(event["occurred_at"].as_str().unwrap()).unwrap();
        assert!(at >= middle, "{event}");
    }
    let (_, page) = audit_events(&app, &[("to", stamp.clone()), ("limit", "500".into())]).await;
    let before: Vec<Value> = items(&page);
    assert!(before.iter().any(|e| e["request_id"] == af_read.as_str()));
    assert!(!before.iter().any(|e| e["request_id"] == later_read.as_str()));
    for event in &before {
        let at = chrono::DateTime::parse_from_rfc3339(event["occurred_at"].as_str().unwrap()).unwrap();
        assert!(at < middle, "{event}");
    }
    let (_, page) = audit_events(&app, &[("from", stamp.clone()), ("to", stamp.clone())]).await;
    assert!(items(&page).is_empty(), "from == to is empty: {page}");

    // Paging with limit=2 walks the whole chain in order, without duplicates
    // or gaps, up to the events that existed when the first page was read
    // (each page read is itself on record, after that bound).
    let mut seqs = Vec::new();
    let mut page_requests = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen_own_read = None;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let (id, page) = audit_events(&app, &query).await;
        page_requests.push(id);
        let found = items(&page);
        assert!(found.len() <= 2, "{page}");
        for event in &found {
            seqs.push(event["seq"].as_i64().unwrap());
            if event["action"] == "GET /v1/audit-events" && event["request_id"] == page_requests[0].as_str() {
                seen_own_read = Some(event.clone());
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(found.len(), 2, "a page with a next cursor is full");
                cursor = Some(next.to_owned());
            }
            None => break,
        }
        assert!(page_requests.len() < 500, "paging does not end");
    }
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "every event once, in chain order");
    assert!(seen_own_read.is_none(), "the paging ends at the events that existed at its first page");
    // A new listing shows the first page's read.
    let (_, fresh) = audit_events(&app, &[("limit", "500".to_owned())]).await;
    let fresh = items(&fresh);
    assert!(fresh.len() > seqs.len(), "the page reads are on record");
    let own = fresh
        .iter()
        .find(|e| e["action"] == "GET /v1/audit-events" && e["request_id"] == page_requests[0].as_str())
        .expect("the first page read is on record")
        .clone();
    assert_eq!(own["org"], "samordningsforbundet");
    assert_eq!(own["role"], "auditor");
    assert_eq!(own["agency"], "association");
    assert_eq!(own["outcome"], "allowed");
    assert_eq!(own["status"], 200);
    assert_eq!(own["resource_type"], "audit-events");
    assert!(own["participant_id"].is_null());

    // Paging a filtered view, one event a page. Each read about the
    // participant is itself an event naming them; the paging still ends, at
    // the events that existed when its first page was read.
    let (_, before) = audit_events(&app, &[("participant", other.clone()), ("limit", "500".into())]).await;
    let before: Vec<i64> = items(&before).iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("participant", other.clone()), ("limit", "1".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let (_, page) = audit_events(&app, &query).await;
        found.extend(items(&page).into_iter().map(|e| e["seq"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(found.len() < 500, "paging does not end");
    }
    let (_, all) = audit_events(&app, &[("participant", other.clone()), ("limit", "500".into())]).await;
    let all: Vec<i64> = items(&all).iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(found[..before.len()], before[..]);
    assert_eq!(found[..], all[..found.len()]);
    assert!(all.len() > found.len(), "the paging's own reads came after its bound");

    // Bad input: 400 problem+json.
    for query in [
        vec![("cursor", "not-a-cursor".to_owned())],
        vec![("cursor", base64_of(&[1, 2, 3]))],
        vec![("limit", "0".to_owned())],
        vec![("outcome", "maybe".to_owned())],
        vec![("organisation", "Not A Slug".to_owned())],
        vec![("participant", "not-a-uuid".to_owned())],
        vec![("from", "yesterday".to_owned())],
    ] {
        let response = get_with(&app, "/v1/audit-events", &auditor(), &query).await;
        problem(response, 400).await;
    }

    // Another association's auditor sees none of this association's events.
    let mut elsewhere = TestClaims::new("samordningsforbundet-sala", "association", "auditor");
    elsewhere.assoc = "sala".into();
    let response = get_with(&app, "/v1/audit-events", &elsewhere.sign(), &[("limit", "500".into())]).await;
    assert_eq!(response.status(), 200);
    let page = body(response).await;
    assert!(items(&page).iter().all(|e| e["org"] == "samordningsforbundet-sala"), "{page}");
    assert!(!page.to_string().contains(&participant));
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------- 7. the access log

async fn the_access_log_is_read_by_auditors_and_the_registering_case_workers(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    consent(&app, &participant, &["af-vasteras"]).await;
    assert_eq!(app.get(&format!("/v1/plans/{plan}"), &af()).await.status(), 200);
    assert_eq!(app.get(&format!("/v1/plans/{plan}"), &fk()).await.status(), 404);

    // The consented organisation sees the participant but may not read its log.
    let response = app.get(&access_log_path(&participant), &af()).await;
    problem(response, 403).await;
    // An organisation that does not see the participant learns nothing.
    let response = app.get(&access_log_path(&participant), &fk()).await;
    problem(response, 404).await;
    // Nor does anyone for an id that does not exist.
    let response = app.get(&access_log_path(&uuid::Uuid::now_v7().to_string()), &auditor()).await;
    problem(response, 404).await;
    // Other roles of the registering organisation, and another association's auditor.
    let response =
        app.get(&access_log_path(&participant), &token("vasteras-kommun", "municipality", "integration")).await;
    assert!([403, 404].contains(&response.status().as_u16()), "{}", response.status());
    let mut elsewhere = TestClaims::new("samordningsforbundet", "association", "auditor");
    elsewhere.assoc = "sala".into();
    problem(app.get(&access_log_path(&participant), &elsewhere.sign()).await, 404).await;

    let by_case_worker = access_log(&app, &participant, &kommun()).await;
    let by_auditor = access_log(&app, &participant, &auditor()).await;
    let log = by_case_worker["items"].as_array().unwrap().clone();
    // The auditor's read comes one event later: the case worker's read.
    let auditor_items = by_auditor["items"].as_array().unwrap();
    assert_eq!(auditor_items.len(), log.len() + 1);
    assert_eq!(&auditor_items[..log.len()], &log[..]);
    let last = auditor_items.last().unwrap();
    assert_eq!(last["org"], "vasteras-kommun");
    assert_eq!(last["action"], "GET /v1/participants/{id}/access-log");
    assert_eq!(last["outcome"], "allowed");

    for item in &log {
        let keys: HashSet<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, HashSet::from(["occurred_at", "org", "agency", "role", "action", "outcome"]), "{item}");
    }
    let has = |org: &str, action: &str, outcome: &str| {
        log.iter().any(|i| i["org"] == org && i["action"] == action && i["outcome"] == outcome)
    };
    assert!(has("vasteras-kommun", "POST /v1/participants", "allowed"), "{by_case_worker}");
    assert!(has("vasteras-kommun", "POST /v1/plans", "allowed"));
    assert!(has("vasteras-kommun", "POST /v1/participants/{id}/consents", "allowed"));
    assert!(has("af-vasteras", "GET /v1/plans/{id}", "allowed"));
    assert!(has("fk-vasteras", "GET /v1/plans/{id}", "denied"));
    // The refused log reads are themselves on the log.
    assert!(has("af-vasteras", "GET /v1/participants/{id}/access-log", "denied"));
    assert!(has("fk-vasteras", "GET /v1/participants/{id}/access-log", "denied"));

    // CSV: the same lines, plus the JSON reads that came after.
    let response = app
        .request(Method::GET, &access_log_path(&participant), &kommun())
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(content_type(&response).starts_with("text/csv"), "{}", content_type(&response));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "occurred_at,org,agency,role,action,outcome");
    let rows = &lines[1..];
    assert_eq!(rows.len(), auditor_items.len() + 1, "{csv}");
    for (row, item) in rows.iter().zip(auditor_items) {
        let at = chrono::DateTime::parse_from_rfc3339(item["occurred_at"].as_str().unwrap()).unwrap();
        let expected = format!(
            "{},{},{},{},{},{}",
            at.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Secs, true),
            item["org"].as_str().unwrap(),
            item["agency"].as_str().unwrap(),
            item["role"].as_str().unwrap(),
            item["action"].as_str().unwrap(),
            item["outcome"].as_str().unwrap(),
        );
        assert_eq!(*row, expected);
    }
    assert!(
        rows.last()
            .unwrap()
            .ends_with(",samordningsforbundet,association,auditor,GET /v1/participants/{id}/access-log,allowed")
    );

    // The auditor gets the CSV too.
    let response = app
        .request(Method::GET, &access_log_path(&participant), &auditor())
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(content_type(&response).starts_with("text/csv"));
    assert_eq!(response.text().await.unwrap().lines().count(), lines.len() + 1);

    // Each log read is on record with the participant.
    let db = connect(&app).await;
    let reads: Vec<audit_event::Model> = chain(&db, ASSOC)
        .await
        .into_iter()
        .filter(|e| e.action == "GET /v1/participants/{id}/access-log" && e.outcome == "allowed")
        .collect();
    assert_eq!(reads.len(), 4, "{reads:?}");
    assert!(reads.iter().all(|e| e.participant_id.map(|p| p.to_string()) == Some(participant.clone())));
    // A refused CSV request is a problem, not a CSV.
    let response = app
        .request(Method::GET, &access_log_path(&participant), &af())
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    problem(response, 403).await;
}

async fn the_access_log_pages_with_its_cursor(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/v1/plans/{plan}"), &kommun()).await.status(), 200);
    }
    let whole = access_log(&app, &participant, &kommun()).await;
    let whole = whole["items"].as_array().unwrap().clone();
    assert!(whole.len() >= 5, "{whole:?}");

    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let response = get_with(&app, &access_log_path(&participant), &kommun(), &query).await;
        let status = response.status();
        let page = body(response).await;
        assert_eq!(status, 200, "access-log page with the cursor it handed out: {page}");
        let found = items(&page);
        assert!(!found.is_empty() && found.len() <= 2, "{page}");
        walked.extend(found);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(walked.len() < 200, "paging does not end");
    }
    // The walk covers the log as it stood at its first page: the whole
    // listing, and that listing's own read.
    assert_eq!(&walked[..whole.len()], &whole[..]);
    assert_eq!(walked.len(), whole.len() + 1, "{walked:?}");
    problem(get_with(&app, &access_log_path(&participant), &kommun(), &[("cursor", "nope".into())]).await, 400).await;
}

/// The access log's cursor tells a case worker nothing about the
/// association's audit chain (whose sequence numbers count the events about
/// every participant), only works for the log and organisation it came
/// from, and paging one event at a time ends although every page read is
/// itself an event in the log.
async fn the_access_log_cursor_is_sealed_and_paging_ends(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let first = |page: &Value| page["next_cursor"].as_str().map(str::to_owned);
    let walk = |limit: &'static str| {
        let app = &app;
        let participant = participant.clone();
        async move {
            let mut cursors = Vec::new();
            let mut walked = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut query = vec![("limit", limit.to_owned())];
                if let Some(cursor) = &cursor {
                    query.push(("cursor", cursor.clone()));
                }
                let page = body(get_with(app, &access_log_path(&participant), &kommun(), &query).await).await;
                walked += items(&page).len();
                match page["next_cursor"].as_str() {
                    Some(next) => {
                        cursors.push(next.to_owned());
                        cursor = Some(next.to_owned());
                    }
                    None => break,
                }
                assert!(walked < 200, "paging the access log does not end");
            }
            (walked, cursors)
        }
    };
    assert_eq!(app.get(&format!("/v1/plans/{plan}"), &kommun()).await.status(), 200);
    let (walked, cursors) = walk("1").await;
    assert!(walked >= 3, "{walked}");
    // Between two pages, the employment office writes about a participant of its own.
    let theirs = app.participant(&af(), PIN_OTHER).await;
    for _ in 0..10 {
        assert_eq!(app.get(&format!("/v1/participants/{theirs}"), &af()).await.status(), 200);
    }
    let (_, later) = walk("1").await;
    for cursor in cursors.iter().chain(&later) {
        // No plain number: base64 of a small integer would decode to one.
        assert!(cursor.contains('.') && cursor.len() == 45, "{cursor}");
    }
    // Not valid for another participant's log or another organisation.
    let page = body(get_with(&app, &access_log_path(&participant), &kommun(), &[("limit", "1".into())]).await).await;
    let cursor = first(&page).expect("more than one event");
    problem(get_with(&app, &access_log_path(&theirs), &af(), &[("cursor", cursor.clone())]).await, 400).await;
    let mine_too = app.participant(&kommun(), PIN_OTHER).await;
    problem(get_with(&app, &access_log_path(&mine_too), &kommun(), &[("cursor", cursor.clone())]).await, 400).await;
    // A cursor of the old kind (a plain sequence number) is refused.
    problem(get_with(&app, &access_log_path(&participant), &kommun(), &[("cursor", base64_of(&7i64.to_be_bytes()))]).await, 400).await;
}

// ---------------------------------------------------------------- 8. append-only

async fn the_store_refuses_update_and_delete(app: TestApp) {
    let (_, plan) = setup(&app).await;
    app.get(&format!("/v1/plans/{plan}"), &fk()).await;
    app.client.get(app.url("/v1/participants")).send().await.unwrap();
    let db = connect(&app).await;
    let before = stored(&db).await;
    assert!(before.len() >= 4);

    for sql in [
        "UPDATE audit_events SET org = 'x'",
        "UPDATE audit_events SET outcome = 'allowed' WHERE outcome = 'denied'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE outcome = 'denied'",
    ] {
        let result = db.execute_unprepared(sql).await;
        let error = result.expect_err(sql).to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    if app.backend == Backend::Postgres {
        let error = db.execute_unprepared("TRUNCATE audit_events").await.expect_err("TRUNCATE").to_string();
        assert!(error.contains("append-only"), "{error}");
    }
    assert_eq!(stored(&db).await, before, "rows unchanged");
    assert_eq!(verified(&db, None).await, before.len() as u64);
}

// ---------------------------------------------------------------- 9. tamper evidence

async fn verify_finds_the_first_broken_event(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    consent(&app, &participant, &["af-vasteras"]).await;
    for _ in 0..3 {
        for token in [kommun(), af(), fk()] {
            app.get(&format!("/v1/plans/{plan}"), &token).await;
        }
    }
    app.client.get(app.url("/v1/participants")).send().await.unwrap();

    let db = connect(&app).await;
    let all = stored(&db).await;
    let events = chain(&db, ASSOC).await;
    assert!(events.len() >= 12, "{}", events.len());
    // Untouched: every event verifies.
    assert_eq!(verified(&db, Some(ASSOC)).await, events.len() as u64);
    assert_eq!(verified(&db, None).await, all.len() as u64);
    // The chain links: each event's prev_hash is the hash of the one before.
    assert_eq!(events[0].prev_hash, "0".repeat(64));
    for pair in events.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for event in &events {
        assert_eq!(hash_of(event), event.hash);
    }

    drop_append_only(&app, &db).await;
    let victim = events[events.len() / 2].clone();
    let seq = victim.seq;
    let set = |column: &str, value: &str, seq: i64| {
        format!("UPDATE audit_events SET {column} = '{value}' WHERE assoc = '{ASSOC}' AND seq = {seq}")
    };

    // An edited field: that event does not match its hash.
    db.execute_unprepared(&set("org", "samordningsforbundet", seq)).await.unwrap();
    let error = verify(&db, Some(ASSOC)).await.expect_err("an edited event");
    assert!(matches!(error, ChainError::Tampered { seq: s, .. } if s == seq), "{error}");
    assert!(error.to_string().contains(&format!("event {seq} (")), "{error}");
    assert!(verify(&db, None).await.is_err(), "verify of every chain fails too");
    // Put back, the chain verifies again.
    db.execute_unprepared(&set("org", &victim.org, seq)).await.unwrap();
    assert_eq!(verified(&db, Some(ASSOC)).await, events.len() as u64);

    // Each column the hash covers is caught.
    let other_outcome = if victim.outcome == "allowed" { "denied" } else { "allowed" };
    let uuid_literal = |id: Option<uuid::Uuid>| match (id, app.backend) {
        (None, _) => "NULL".to_owned(),
        (Some(id), Backend::Sqlite) => format!("X'{}'", id.simple()),
        (Some(id), Backend::Postgres) => format!("'{id}'"),
    };
    let edits = [
        ("outcome", format!("'{other_outcome}'"), format!("'{}'", victim.outcome)),
        ("participant_id", uuid_literal(Some(uuid::Uuid::now_v7())), uuid_literal(victim.participant_id)),
        ("status", "299".to_owned(), victim.status.to_string()),
        ("occurred_at_us", (victim.occurred_at_us + 1).to_string(), victim.occurred_at_us.to_string()),
        ("request_id", format!("'{}'", uuid::Uuid::now_v7()), format!("'{}'", victim.request_id)),
    ];
    for (column, edit, restore) in edits {
        let update =
            |value: &str| format!("UPDATE audit_events SET {column} = {value} WHERE assoc = '{ASSOC}' AND seq = {seq}");
        db.execute_unprepared(&update(&edit)).await.unwrap();
        let error = verify(&db, Some(ASSOC)).await.expect_err(column);
        assert!(matches!(error, ChainError::Tampered { seq: s, .. } if s == seq), "{column}: {error}");
        assert!(error.to_string().contains(&format!("event {seq} (")), "{column}: {error}");
        db.execute_unprepared(&update(&restore)).await.unwrap();
        assert_eq!(verified(&db, Some(ASSOC)).await, events.len() as u64, "{column} restored");
    }

    // An edit whose hash is recomputed breaks the link to the next event.
    let mut forged = victim.clone();
    forged.org = "samordningsforbundet".into();
    forged.hash = hash_of(&forged);
    db.execute_unprepared(&format!(
        "UPDATE audit_events SET org = '{}', hash = '{}' WHERE assoc = '{ASSOC}' AND seq = {seq}",
        forged.org, forged.hash
    ))
    .await
    .unwrap();
    let error = verify(&db, Some(ASSOC)).await.expect_err("a re-hashed edit");
    assert!(matches!(error, ChainError::Unlinked { seq: s, .. } if s == seq + 1), "{error}");
    assert!(error.to_string().contains(&format!("event {} (", seq + 1)), "{error}");
    db.execute_unprepared(&format!(
        "UPDATE audit_events SET org = '{}', hash = '{}' WHERE assoc = '{ASSOC}' AND seq = {seq}",
        victim.org, victim.hash
    ))
    .await
    .unwrap();
    assert_eq!(verified(&db, Some(ASSOC)).await, events.len() as u64);

    // A re-hashed edit of the last event disagrees with the chain's head.
    let last = events.last().unwrap().clone();
    let mut forged = last.clone();
    forged.outcome = "allowed".into();
    forged.org = "af-vasteras".into();
    forged.hash = hash_of(&forged);
    db.execute_unprepared(&format!(
        "UPDATE audit_events SET org = '{}', outcome = '{}', hash = '{}' WHERE assoc = '{ASSOC}' AND seq = {}",
        forged.org, forged.outcome, forged.hash, last.seq
    ))
    .await
    .unwrap();
    let error = verify(&db, Some(ASSOC)).await.expect_err("the head");
    assert!(matches!(error, ChainError::Head { .. }), "{error}");
    db.execute_unprepared(&format!(
        "UPDATE audit_events SET org = '{}', outcome = '{}', hash = '{}' WHERE assoc = '{ASSOC}' AND seq = {}",
        last.org, last.outcome, last.hash, last.seq
    ))
    .await
    .unwrap();
    assert_eq!(verified(&db, Some(ASSOC)).await, events.len() as u64);

    // A deleted last event: the chain ends before its head says.
    db.execute_unprepared(&format!("DELETE FROM audit_events WHERE assoc = '{ASSOC}' AND seq = {}", last.seq))
        .await
        .unwrap();
    let error = verify(&db, Some(ASSOC)).await.expect_err("a deleted last event");
    assert!(matches!(error, ChainError::Head { seq: s, head, .. } if s == last.seq - 1 && head == last.seq), "{error}");

    // A deleted event in the middle is missing.
    db.execute_unprepared(&format!("DELETE FROM audit_events WHERE assoc = '{ASSOC}' AND seq = {seq}")).await.unwrap();
    let error = verify(&db, Some(ASSOC)).await.expect_err("a deleted event");
    assert!(matches!(error, ChainError::Missing { expected, .. } if expected == seq), "{error}");
    assert!(error.to_string().contains(&format!("event {seq} is missing")), "{error}");
    assert!(verify(&db, None).await.is_err());
}

// ---------------------------------------------------------------- 10. nothing served unaudited

async fn nothing_is_served_unaudited(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let response = app
        .post(
            &format!("/v1/plans/{plan}/steps"),
            &kommun(),
            &json!({"description": "Första steget", "owner": "participant"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let db = connect(&app).await;
    let before = stored(&db).await;

    block_audit(&app, &db).await;

    // A read whose event cannot be stored is not served.
    let response = app.get(&format!("/v1/plans/{plan}"), &kommun()).await;
    assert!(response.headers().get("etag").is_none(), "no ETag of the plan");
    let text = {
        assert_eq!(response.status(), 500);
        assert_eq!(content_type(&response), "application/problem+json");
        response.text().await.unwrap()
    };
    let problem: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem["status"], 500);
    assert!(problem["type"].is_string() && problem["title"].is_string() && problem["detail"].is_string());
    for leak in [plan.as_str(), participant.as_str(), "Första steget", "steps", "blocked"] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
    // Nor a list of participants, nor a participant.
    for path in ["/v1/participants".to_owned(), format!("/v1/participants/{participant}")] {
        let response = app.get(&path, &kommun()).await;
        let text = {
            assert_eq!(response.status(), 500, "{path}");
            assert_eq!(content_type(&response), "application/problem+json");
            response.text().await.unwrap()
        };
        assert!(!text.contains(&participant) && !text.contains("Anna"), "{path}: {text}");
    }
    // Nor a refusal: a 404 that cannot be recorded is a 500 too.
    let response = app.get(&format!("/v1/plans/{plan}"), &fk()).await;
    assert_eq!(response.status(), 500);

    // A write whose events cannot be stored is not stored either.
    let response = app
        .post(
            &format!("/v1/plans/{plan}/steps"),
            &kommun(),
            &json!({"description": "Andra steget", "owner": "participant"}),
        )
        .await;
    assert!(response.headers().get("location").is_none());
    assert_eq!(response.status(), 500);
    assert_eq!(content_type(&response), "application/problem+json");
    let text = response.text().await.unwrap();
    assert!(!text.contains("Andra steget"), "{text}");
    let response = app
        .post("/v1/participants", &kommun(), &json!({"personal_identity_number": PIN_OTHER, "name": "Bo Berg"}))
        .await;
    assert_eq!(response.status(), 500);

    unblock_audit(&app, &db).await;

    assert_eq!(stored(&db).await, before, "no event was stored while blocked");
    let response = app.get(&format!("/v1/plans/{plan}"), &kommun()).await;
    assert_eq!(response.status(), 200);
    let view = body(response).await;
    let steps: Vec<&str> =
        view["steps"].as_array().unwrap().iter().map(|s| s["description"].as_str().unwrap()).collect();
    assert_eq!(steps, ["Första steget"], "the refused write stored nothing");
    let count = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM plan_steps WHERE description = 'Andra steget'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(count, 0);
    let count = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM participants",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(count, 1, "the refused registration stored nothing");
    // And the chain is whole.
    assert_eq!(verified(&db, None).await, stored(&db).await.len() as u64);
}

// ---------------------------------------------------------------- 11. group commit under concurrency

async fn concurrent_reads_are_each_committed_before_their_answer(app: TestApp) {
    let (participant, plan) = setup(&app).await;
    let db = connect(&app).await;
    let action = "GET /v1/plans/{id}";
    let count = |events: &[audit_event::Model]| {
        events
            .iter()
            .filter(|e| e.action == action && e.outcome == "allowed" && e.resource_id.as_deref() == Some(plan.as_str()))
            .count()
    };
    let before = count(&chain(&db, ASSOC).await);

    let mut tasks = Vec::new();
    for i in 0..50 {
        let client = app.client.clone();
        let db = db.clone();
        let (url, step_url) = (app.url(&format!("/v1/plans/{plan}")), app.url(&format!("/v1/plans/{plan}/steps")));
        tasks.push(tokio::spawn(async move {
            let response = if i % 5 == 4 {
                client
                    .post(step_url)
                    .bearer_auth(kommun())
                    .json(&json!({"description": format!("Steg {i}"), "owner": "participant"}))
                    .send()
                    .await
                    .unwrap()
            } else {
                client.get(url).bearer_auth(kommun()).send().await.unwrap()
            };
            let status = response.status().as_u16();
            let id = request_id(&response);
            // The event is already committed when the answer arrives.
            let events = of_request(&db, &id).await;
            let _ = response.bytes().await.unwrap();
            (i, status, events)
        }));
    }
    let mut reads = 0;
    for task in tasks {
        let (i, status, events) = task.await.unwrap();
        assert_eq!(events.len(), 1, "request {i}: its event is stored before the answer: {events:?}");
        assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant.clone()));
        if i % 5 == 4 {
            assert_eq!(status, 201, "write {i}");
            assert_eq!(events[0].action, "POST /v1/plans/{id}/steps");
        } else {
            assert_eq!(status, 200, "read {i}");
            assert_eq!(events[0].action, action);
            assert_eq!(events[0].status, 200);
            reads += 1;
        }
    }
    assert_eq!(reads, 40);
    let events = chain(&db, ASSOC).await;
    assert_eq!(count(&events) - before, 40);
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
    assert_eq!(verified(&db, Some(ASSOC)).await, events.len() as u64);
    assert_eq!(verified(&db, None).await, stored(&db).await.len() as u64);
}

// ---------------------------------------------------------------- replays

/// A replayed answer (same `Idempotency-Key`) hands out the participant's
/// data again, so it is a read on the participant's record like any other.
async fn a_replayed_answer_is_audited_with_its_participant(app: TestApp) {
    let registration = json!({"personal_identity_number": PIN, "name": "Anna Andersson"});
    let send = || {
        app.request(Method::POST, "/v1/participants", &kommun())
            .header("Idempotency-Key", "register-anna-1")
            .json(&registration)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first_request = request_id(&first);
    let participant = body(first).await["id"].as_str().unwrap().to_owned();
    let replay = send().await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let replay_request = request_id(&replay);
    assert_ne!(replay_request, first_request);
    assert_eq!(body(replay).await["id"], participant.as_str());

    let db = connect(&app).await;
    let events = of_request(&db, &replay_request).await;
    assert_eq!(events.len(), 1, "the replay is on record: {events:?}");
    let event = &events[0];
    assert_eq!(event.action, "POST /v1/participants", "the route template, as for any request");
    assert_eq!(event.participant_id.map(|p| p.to_string()), Some(participant.clone()), "{event:?}");
    assert_eq!((event.org.as_str(), event.outcome.as_str(), event.status), ("vasteras-kommun", "allowed", 201));
    let log = access_log(&app, &participant, &kommun()).await;
    let registrations =
        log["items"].as_array().unwrap().iter().filter(|i| i["action"] == "POST /v1/participants").count();
    assert_eq!(registrations, 2, "the registration and its replay: {log}");

    // The same for a replayed step on the participant's plan: the step text is served again.
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
    let plan = body(response).await["id"].as_str().unwrap().to_owned();
    let step = json!({"description": "Ringa förskolan", "owner": "participant"});
    let send = || {
        app.request(Method::POST, &format!("/v1/plans/{plan}/steps"), &kommun())
            .header("Idempotency-Key", "step-1")
            .json(&step)
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 201);
    let replay = send().await.unwrap();
    assert_eq!(replay.status(), 201);
    let events = of_request(&db, &request_id(&replay)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].action, "POST /v1/plans/{id}/steps");
    assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant), "{:?}", events[0]);
    assert_eq!(verified(&db, None).await, stored(&db).await.len() as u64);
}

// ---------------------------------------------------------------- no client text, bounded 401s

/// Every stored event as text, for searching.
async fn stored_text(db: &DatabaseConnection) -> String {
    stored(db).await.iter().map(|e| format!("{e:?}\n")).collect()
}

/// A personnummer typed into a URL, a 6000-character segment and markup are
/// recorded as `invalid`, never as sent: for a case worker and for a caller
/// with no token.
async fn no_text_from_a_url_reaches_the_log(app: TestApp) {
    let (_, plan) = setup(&app).await;
    let long = "x".repeat(6000);
    let sent = [PIN.to_owned(), PIN_12.to_owned(), "%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_owned(), long.clone()];
    let db = connect(&app).await;
    let mut requests = Vec::new();
    for segment in &sent {
        for path in [
            format!("/v1/participants/{segment}"),
            format!("/v1/plans/{segment}/platform"),
            format!("/v1/plans/{plan}/steps/{segment}"),
        ] {
            let response = app.get(&path, &kommun()).await;
            assert_eq!(response.status(), 404, "{path}");
            requests.push(request_id(&response));
            let response = app.client.get(app.url(&path)).send().await.unwrap();
            assert_eq!(response.status(), 401, "{path}");
        }
    }
    let response = app.post(&format!("/v1/participants/{PIN}/consents"), &kommun(), &json!({})).await;
    assert_eq!(response.status(), 404);
    requests.push(request_id(&response));

    for id in &requests {
        let events = of_request(&db, id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].resource_id.as_deref(), Some("invalid"), "{:?}", events[0]);
        assert_eq!(events[0].outcome, "not_found");
    }
    let unauthenticated = chain(&db, "-").await;
    assert_eq!(unauthenticated.len(), 1, "the first 401 of the minute: {unauthenticated:?}");
    assert_eq!(unauthenticated[0].resource_id.as_deref(), Some("invalid"));
    let text = stored_text(&db).await;
    for word in ["9876", "811218", "alert", "%3C", "<", "xxxxxxxx"] {
        assert!(!text.contains(word), "{word:?} in the log");
    }
    assert_eq!(verified(&db, None).await, stored(&db).await.len() as u64);
}

/// A thousand requests with no token, or a forged one, add a bounded
/// number of events to the append-only log (one per client address and
/// minute, then a summary with the count).
async fn a_flood_of_unauthenticated_requests_adds_a_bounded_number_of_events(app: TestApp) {
    let (_, plan) = setup(&app).await;
    let db = connect(&app).await;
    let before = stored(&db).await.len();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &TestClaims::new("vasteras-kommun", "municipality", "case_worker"),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-that-is-long-enough-for-hs256-xx"),
    )
    .unwrap();
    for round in 0..20 {
        let mut tasks = Vec::new();
        for i in 0..50 {
            let (client, url) = (app.client.clone(), app.url(&format!("/v1/plans/{plan}")));
            let forged = forged.clone();
            tasks.push(tokio::spawn(async move {
                let request = client.get(url);
                let request = if (round + i) % 2 == 0 { request } else { request.bearer_auth(forged) };
                request.send().await.unwrap().status().as_u16()
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), 401);
        }
    }
    let added = stored(&db).await.len() - before;
    assert!((1..=2).contains(&added), "{added} events for 1000 refused requests");
    let unauthenticated = chain(&db, "-").await;
    assert!(unauthenticated.iter().all(|e| e.outcome == "unauthenticated" && e.status == 401));
    assert_eq!(verified(&db, None).await, stored(&db).await.len() as u64);
    // The callers with a token are still each on record.
    let response = app.get(&format!("/v1/plans/{plan}"), &kommun()).await;
    let id = request_id(&response);
    assert_eq!(response.status(), 200);
    assert_eq!(of_request(&db, &id).await.len(), 1);
}

// ---------------------------------------------------------------- audit gaps

/// A lookup that matches someone the caller may not see answers exactly as
/// a number that matches no one, and leaves a `denied` event naming that
/// participant in the participant's association, where its access log shows it.
async fn a_lookup_of_someone_you_may_not_see_is_on_record(app: TestApp) {
    let participant = app.participant(&kommun(), PIN).await;
    let db = connect(&app).await;
    let lookup = |token: String, pin: &'static str| {
        let app = &app;
        async move { app.post("/v1/participants/lookup", &token, &json!({"personal_identity_number": pin})).await }
    };
    let mut other_assoc = TestClaims::new("uppsala-kommun", "municipality", "case_worker");
    other_assoc.assoc = "uppsala".into();
    for (token, org, status) in
        [(fk(), "fk-vasteras", 200), (other_assoc.sign(), "uppsala-kommun", 200), (auditor(), "samordningsforbundet", 404)]
    {
        let matched = lookup(token.clone(), PIN).await;
        let matched_id = request_id(&matched);
        assert_eq!(matched.status(), status, "{org}");
        let matched_body = matched.text().await.unwrap();
        let nobody = lookup(token.clone(), PIN_THIRD).await;
        let nobody_id = request_id(&nobody);
        assert_eq!(nobody.status(), status, "{org}");
        assert_eq!(matched_body, nobody.text().await.unwrap(), "{org}: the same answer as for no match");
        if status == 200 {
            assert_eq!(matched_body, r#"{"items":[]}"#);
        }

        let events = of_request(&db, &matched_id).await;
        assert_eq!(events.len(), 1, "{org}: {events:?}");
        let event = &events[0];
        assert_eq!(event.assoc, ASSOC, "{org}: in the participant's association");
        assert_eq!(event.participant_id.map(|p| p.to_string()), Some(participant.clone()), "{org}");
        assert_eq!((event.outcome.as_str(), event.status, event.org.as_str()), ("denied", status as i16, org));
        assert_eq!(event.action, "POST /v1/participants/lookup");
        let events = of_request(&db, &nobody_id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(events[0].participant_id.is_none());
    }
    // The participant's access log shows the three attempts.
    let log = access_log(&app, &participant, &kommun()).await;
    let denied: Vec<String> = items(&log)
        .iter()
        .filter(|i| i["action"] == "POST /v1/participants/lookup" && i["outcome"] == "denied")
        .map(|i| i["org"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(denied, vec!["fk-vasteras", "uppsala-kommun", "samordningsforbundet"], "{log}");
    // The registering organisation's own lookup is a read, as before.
    let response = lookup(kommun(), PIN).await;
    let id = request_id(&response);
    assert_eq!(items(&body(response).await).len(), 1);
    let events = of_request(&db, &id).await;
    assert_eq!((events.len(), events[0].outcome.as_str()), (1, "allowed"));
    assert_eq!(verified(&db, None).await, stored(&db).await.len() as u64);
}

/// Reading the audit log about a participant, or their access log, names
/// that participant on the read's own event.
async fn reads_of_the_audit_name_the_participant_asked_about(app: TestApp) {
    let participant = app.participant(&kommun(), PIN).await;
    let db = connect(&app).await;
    let (id, _) = audit_events(&app, &[("participant", participant.clone())]).await;
    let events = of_request(&db, &id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant.clone()));
    assert_eq!((events[0].outcome.as_str(), events[0].action.as_str()), ("allowed", "GET /v1/audit-events"));

    // A case worker asking is refused, and that is on record with the participant too.
    let response = get_with(&app, "/v1/audit-events", &kommun(), &[("participant", participant.clone())]).await;
    let id = request_id(&response);
    problem(response, 403).await;
    let events = of_request(&db, &id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant.clone()));
    assert_eq!(events[0].outcome, "denied");

    // An id that is no one's is not put on anyone's record.
    let (id, _) = audit_events(&app, &[("participant", uuid::Uuid::now_v7().to_string())]).await;
    let events = of_request(&db, &id).await;
    assert!(events.len() == 1 && events[0].participant_id.is_none(), "{events:?}");

    for token in [kommun(), auditor()] {
        let response = app.get(&access_log_path(&participant), &token).await;
        let id = request_id(&response);
        assert_eq!(response.status(), 200);
        let events = of_request(&db, &id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant.clone()));
        assert_eq!(events[0].resource_id.as_deref(), Some(participant.as_str()));
    }
    // So the participant's access log shows who read about them.
    let log = access_log(&app, &participant, &kommun()).await;
    let actions: Vec<String> =
        items(&log).iter().map(|i| format!("{} {}", i["action"].as_str().unwrap(), i["outcome"].as_str().unwrap())).collect();
    for expected in ["GET /v1/audit-events allowed", "GET /v1/audit-events denied", "GET /v1/participants/{id}/access-log allowed"] {
        assert!(actions.iter().any(|a| a == expected), "{expected}: {log}");
    }
}

store_tests!(
    no_text_from_a_url_reaches_the_log,
    a_flood_of_unauthenticated_requests_adds_a_bounded_number_of_events,
    a_lookup_of_someone_you_may_not_see_is_on_record,
    reads_of_the_audit_name_the_participant_asked_about,
    a_consented_agencys_read_appears_in_the_access_log,
    a_denied_attempt_without_consent_appears_as_denied,
    a_case_worker_cannot_read_the_audit_log,
    verify_passes_on_an_untouched_chain_and_fails_on_a_tampered_one,
    a_list_leaves_one_event_per_participant_returned,
    a_write_leaves_its_event,
    refusals_carry_their_outcome,
    an_unauthenticated_attempt_leaves_an_event,
    events_carry_no_personal_data,
    auditors_filter_and_page_the_log,
    the_access_log_is_read_by_auditors_and_the_registering_case_workers,
    the_access_log_pages_with_its_cursor,
    the_access_log_cursor_is_sealed_and_paging_ends,
    the_store_refuses_update_and_delete,
    verify_finds_the_first_broken_event,
    nothing_is_served_unaudited,
    concurrent_reads_are_each_committed_before_their_answer,
    a_replayed_answer_is_audited_with_its_participant,
);
