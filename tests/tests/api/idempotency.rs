use chrono::{Duration, Utc};
use reqwest::Method;
use samplan_api::config::SecretKey;
use samplan_api::entities::{audit_event, idempotency_key};
use samplan_domain::access::stockholm_today;
use samplan_tests::*;
use sea_orm::{ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};

async fn post_with_key(app: &TestApp, path: &str, token: &str, key: &str, body: &Value) -> reqwest::Response {
    app.request(Method::POST, path, token).header("Idempotency-Key", key).json(body).send().await.unwrap()
}

async fn a_retry_replays_the_first_answer(app: TestApp) {
    let body = json!({"personal_identity_number": PIN, "name": "Anna Andersson"});
    let first = post_with_key(&app, "/v1/participants", &kommun(), "register-anna-1", &body).await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first_body = first.text().await.unwrap();

    let retry = post_with_key(&app, "/v1/participants", &kommun(), "register-anna-1", &body).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["location"].to_str().unwrap(), location);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.text().await.unwrap(), first_body);

    let list = body_of(app.get("/v1/participants", &kommun()).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing was done twice");
}

async fn body_of(response: reqwest::Response) -> Value {
    body(response).await
}

async fn the_same_key_with_another_body_is_422(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}/steps");
    let first = post_with_key(&app, &path, &kommun(), "step-1", &json!({"description": "Ringa", "owner": "participant"})).await;
    assert_eq!(first.status(), 201);
    let other = post_with_key(&app, &path, &kommun(), "step-1", &json!({"description": "Mejla", "owner": "participant"})).await;
    let problem = problem(other, 422).await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    let plan_body = body_of(app.get(&format!("/v1/plans/{plan}"), &kommun()).await).await;
    assert_eq!(plan_body["steps"].as_array().unwrap().len(), 1);
}

async fn keys_belong_to_the_caller(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}/resources");
    let body = json!({"description": "Bra med barn"});
    let integration = token("vasteras-kommun", "municipality", "integration");
    assert_eq!(post_with_key(&app, &path, &kommun(), "same-key", &body).await.status(), 201);
    let other = post_with_key(&app, &path, &integration, "same-key", &body).await;
    assert_eq!(other.status(), 201);
    assert!(other.headers().get("idempotent-replayed").is_none());
    let plan_body = body_of(app.get(&format!("/v1/plans/{plan}"), &kommun()).await).await;
    assert_eq!(plan_body["resources"].as_array().unwrap().len(), 2);
}

async fn a_retry_storm_creates_exactly_one_object(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}/steps");
    let body = json!({"description": "Besöka förskolan", "owner": "participant"});
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (client, url, body, token) = (app.client.clone(), app.url(&path), body.clone(), kommun());
        tasks.push(tokio::spawn(async move {
            client.post(url).bearer_auth(token).header("Idempotency-Key", "storm").json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&201));
    let plan_body = body_of(app.get(&format!("/v1/plans/{plan}"), &kommun()).await).await;
    assert_eq!(plan_body["steps"].as_array().unwrap().len(), 1, "{statuses:?}");
    // Once the first has finished, every retry replays it.
    let retry = post_with_key(&app, &path, &kommun(), "storm", &body).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
}

async fn if_none_match_answers_304(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}/platform");
    let first = app.get(&path, &kommun()).await;
    let tag = etag(&first);
    let again = app.request(Method::GET, &path, &kommun()).header("If-None-Match", &tag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(etag(&again), tag);
    let changed = app
        .put(&path, &kommun(), Some(&tag), &json!({"purpose": "p", "frames": {}, "how_the_participant_notices_it_helps": "h"}))
        .await;
    assert_eq!(changed.status(), 200);
    let after = app.request(Method::GET, &path, &kommun()).header("If-None-Match", &tag).send().await.unwrap();
    assert_eq!(after.status(), 200);
    assert_eq!(body_of(after).await["purpose"], "p");
}

async fn connect(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.database_url.as_str()).await.expect("connect to the app's database")
}

async fn stored_keys(db: &DatabaseConnection, key: &str) -> Vec<idempotency_key::Model> {
    idempotency_key::Entity::find().filter(idempotency_key::Column::Key.eq(key)).all(db).await.unwrap()
}

async fn events_of(db: &DatabaseConnection, response: &reqwest::Response) -> Vec<audit_event::Model> {
    let request_id = response.headers()["x-request-id"].to_str().unwrap();
    audit_event::Entity::find().filter(audit_event::Column::RequestId.eq(request_id)).all(db).await.unwrap()
}

fn with_sub(org: &str, agency: &str, role: &str, sub: &str) -> String {
    let mut claims = TestClaims::new(org, agency, role);
    claims.sub = sub.into();
    claims.sign()
}

/// The employment office adds a step while consent names it; the
/// municipality withdraws consent; the office's retry with the same key
/// must not hand back the stored answer (the step, the plan's id) — it is
/// run as new and answers what it answers now: 404.
async fn a_replay_after_consent_is_withdrawn_is_run_as_new(app: TestApp) {
    let participant = app.participant(&kommun(), PIN).await;
    let today = stockholm_today(Utc::now());
    let response = app
        .post(
            &format!("/v1/participants/{participant}/consents"),
            &kommun(),
            &json!({"organisations": ["af-vasteras"], "purpose": "samordnad rehabilitering",
                    "valid_from": today.to_string(), "valid_until": (today + Duration::days(365)).to_string()}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let consent = body(response).await["id"].as_str().unwrap().to_owned();
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
    let plan = body(response).await["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/plans/{plan}/steps");
    let step = json!({"description": "Ringa förskolan", "owner": "af-vasteras"});
    let first = post_with_key(&app, &path, &af(), "af-step-1", &step).await;
    assert_eq!(first.status(), 201);
    let first_body = first.text().await.unwrap();
    // While consent holds, the retry is a replay.
    let retry = post_with_key(&app, &path, &af(), "af-step-1", &step).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.text().await.unwrap(), first_body);

    let consent_path = format!("/v1/participants/{participant}/consents/{consent}");
    let tag = etag(&app.get(&consent_path, &kommun()).await);
    let withdrawn = app
        .request(Method::POST, &format!("{consent_path}/withdraw"), &kommun())
        .header("If-Match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), 200);

    let db = connect(&app).await;
    for _ in 0..2 {
        let replay = post_with_key(&app, &path, &af(), "af-step-1", &step).await;
        assert!(replay.headers().get("idempotent-replayed").is_none());
        let events = events_of(&db, &replay).await;
        let text = problem(replay, 404).await.to_string();
        assert!(!text.contains(&plan) && !text.contains("Ringa"), "{text}");
        // Audited as the refused attempt it now is, naming the participant.
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!((events[0].outcome.as_str(), events[0].status), ("denied", 404));
        assert_eq!(events[0].participant_id.map(|p| p.to_string()), Some(participant.clone()));
        assert_eq!(events[0].org, "af-vasteras");
    }
    let plan_body = body_of(app.get(&format!("/v1/plans/{plan}"), &kommun()).await).await;
    assert_eq!(plan_body["steps"].as_array().unwrap().len(), 1, "nothing was done twice");
    let stored = stored_keys(&db, "af-step-1").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].status, Some(404), "the key now holds today's answer");
    assert_eq!(stored[0].participant_id.map(|p| p.to_string()), Some(participant));
}

/// The same `sub` in another organisation, or with another role, is another
/// principal: the stored answer (a participant with their personal identity
/// number) is not replayed to it; its request runs as its own.
async fn a_key_belongs_to_the_whole_principal(app: TestApp) {
    let registration = json!({"personal_identity_number": PIN, "name": "Anna Andersson"});
    let kommun = with_sub("vasteras-kommun", "municipality", "case_worker", "shared-sub");
    let first = post_with_key(&app, "/v1/participants", &kommun, "register-1", &registration).await;
    assert_eq!(first.status(), 201);
    let anna = body(first).await["id"].as_str().unwrap().to_owned();

    let af = with_sub("af-vasteras", "employment_office", "case_worker", "shared-sub");
    let other = post_with_key(&app, "/v1/participants", &af, "register-1", &registration).await;
    assert_eq!(other.status(), 201);
    assert!(other.headers().get("idempotent-replayed").is_none());
    let other = body(other).await;
    assert_ne!(other["id"], anna.as_str(), "{other}");
    assert_eq!(other["registered_by"], "af-vasteras");

    // Same organisation and sub, another role: the retry does not reach
    // the case worker's answer either (the duplicate is refused as new).
    let integration = with_sub("vasteras-kommun", "municipality", "integration", "shared-sub");
    let again = post_with_key(&app, "/v1/participants", &integration, "register-1", &registration).await;
    assert!(again.headers().get("idempotent-replayed").is_none());
    let text = problem(again, 409).await.to_string();
    assert!(!text.contains(&anna) && !text.contains("9876"), "{text}");

    let db = connect(&app).await;
    let mut stored: Vec<(String, String, String)> =
        stored_keys(&db, "register-1").await.into_iter().map(|k| (k.org, k.sub, k.role)).collect();
    stored.sort();
    assert_eq!(
        stored,
        vec![
            ("af-vasteras".into(), "shared-sub".into(), "case_worker".into()),
            ("vasteras-kommun".into(), "shared-sub".into(), "case_worker".into()),
            ("vasteras-kommun".into(), "shared-sub".into(), "integration".into()),
        ]
    );
}

/// What is kept for a replay holds no personal identity number, and its
/// fingerprint is keyed with the server key; the replay still answers with
/// the number. A lookup keeps nothing at all.
async fn stored_answers_hold_no_personal_identity_number(app: TestApp) {
    let registration = json!({"personal_identity_number": PIN, "name": "Anna Andersson"});
    let first = post_with_key(&app, "/v1/participants", &kommun(), "register-anna", &registration).await;
    assert_eq!(first.status(), 201);
    let first_body = first.text().await.unwrap();
    assert!(first_body.contains(PIN_12));

    let db = connect(&app).await;
    let stored = stored_keys(&db, "register-anna").await;
    assert_eq!(stored.len(), 1);
    let row = format!("{:?}", stored[0]);
    for digits in [PIN_12, "9876", "811218"] {
        assert!(!row.contains(digits), "{digits} in {row}");
    }
    let server_key = SecretKey::new(SERVER_KEY.as_bytes()).unwrap();
    let sent = serde_json::to_vec(&registration).unwrap();
    assert_eq!(stored[0].request_hash, server_key.mac_hex("idempotency-request", &[b"/v1/participants", &sent]));

    let replay = post_with_key(&app, "/v1/participants", &kommun(), "register-anna", &registration).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.text().await.unwrap(), first_body, "the number is read back for the replay");

    for _ in 0..2 {
        let lookup = post_with_key(
            &app,
            "/v1/participants/lookup",
            &kommun(),
            "lookup-1",
            &json!({"personal_identity_number": PIN}),
        )
        .await;
        assert_eq!(lookup.status(), 200);
        assert!(lookup.headers().get("idempotent-replayed").is_none());
        assert_eq!(body_of(lookup).await["items"].as_array().unwrap().len(), 1);
    }
    assert!(stored_keys(&db, "lookup-1").await.is_empty(), "a lookup keeps no answer");
}

store_tests!(
    a_replay_after_consent_is_withdrawn_is_run_as_new,
    a_key_belongs_to_the_whole_principal,
    stored_answers_hold_no_personal_identity_number,
    a_retry_replays_the_first_answer,
    the_same_key_with_another_body_is_422,
    keys_belong_to_the_caller,
    a_retry_storm_creates_exactly_one_object,
    if_none_match_answers_304,
);
