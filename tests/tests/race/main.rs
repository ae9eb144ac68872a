//! Lost-update race: two clients of the same organisation (a case worker and
//! its agency system) each make 200 read-then-update attempts on the SAME
//! object with `If-Match`. Every attempt either wins (200, a new version) or
//! loses the race (412); none fails. Nothing is lost: the number of accepted
//! updates equals the number of version increments, every accepted update has
//! a version of its own, and the stored object is the last accepted change.
//!
//! And the enrolment race: concurrent enrolments of one plan in one project
//! create one enrolment; the others are 409. A store that the race left with
//! a plan enrolled twice stops at the migration that adds the index.

use reqwest::{Method, StatusCode};
use samplan_tests::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Barrier;

const ATTEMPTS: usize = 200;

/// What one client saw: each accepted update's version and the change it
/// sent, and how many attempts lost the race.
#[derive(Debug, Default)]
struct Tally {
    accepted: Vec<(i64, String)>,
    lost: usize,
}

/// Reads `path` as `token` and returns its ETag and body.
async fn read(client: &reqwest::Client, app: &TestApp, path: &str, token: &str) -> (String, Value) {
    let response = client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let etag_header = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
    let etag = etag_header.unwrap_or_else(|| panic!("GET {path} has no ETag"));
    (etag, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

/// One client: `ATTEMPTS` times, GET the object for its ETag, then send
/// `change(label)` with `If-Match`. Each client has its own connection pool.
async fn client(
    app: Arc<TestApp>,
    start: Arc<Barrier>,
    name: &'static str,
    token: String,
    method: Method,
    path: String,
    change: fn(&str) -> Value,
) -> Tally {
    let http = reqwest::Client::new();
    let mut tally = Tally::default();
    start.wait().await;
    for n in 0..ATTEMPTS {
        let (etag, _) = read(&http, &app, &path, &token).await;
        let label = format!("{name}-{n}");
        let response = http
            .request(method.clone(), app.url(&path))
            .bearer_auth(&token)
            .header("If-Match", &etag)
            .json(&change(&label))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let header = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
        match status {
            200 => {
                let view = body(response).await;
                let version = view["version"].as_i64().unwrap_or_else(|| panic!("no version: {view}"));
                assert_eq!(header, Some(format!("\"{version}\"")), "{name} attempt {n}: ETag of a 200");
                tally.accepted.push((version, label));
            }
            412 => {
                let problem = problem(response, 412).await;
                assert_eq!(header.as_deref(), problem["current_etag"].as_str(), "{name} attempt {n}: {problem}");
                assert_ne!(problem["current_etag"].as_str(), Some(etag.as_str()), "412 names a newer ETag");
                tally.lost += 1;
            }
            _ => panic!("{name} attempt {n}: {method} {path} answered {status}: {}", response.text().await.unwrap()),
        }
    }
    tally
}

/// Races the two clients on `path` and checks that nothing was lost;
/// `label_of` reads the field `change` wrote back out of the stored object.
async fn race_on(
    app: TestApp,
    method: Method,
    path: String,
    change: fn(&str) -> Value,
    label_of: fn(&Value) -> &Value,
) {
    let app = Arc::new(app);
    let (initial_etag, initial) = read(&app.client, &app, &path, &kommun()).await;
    assert_eq!((initial_etag.as_str(), &initial["version"]), ("\"1\"", &json!(1)), "{path} starts at version 1");

    let start = Arc::new(Barrier::new(2));
    let integration = token("vasteras-kommun", "municipality", "integration");
    let a = tokio::spawn(client(app.clone(), start.clone(), "a", kommun(), method.clone(), path.clone(), change));
    let b = tokio::spawn(client(app.clone(), start, "b", integration, method.clone(), path.clone(), change));
    let (a, b) = (a.await.expect("client a"), b.await.expect("client b"));
    println!(
        "{:?} {method} {path}: a accepted {} lost {}, b accepted {} lost {}",
        app.backend,
        a.accepted.len(),
        a.lost,
        b.accepted.len(),
        b.lost
    );
    assert_eq!(a.accepted.len() + a.lost, ATTEMPTS);
    assert_eq!(b.accepted.len() + b.lost, ATTEMPTS);

    // Every accepted update got a version of its own.
    let mut by_version = BTreeMap::new();
    for (version, label) in a.accepted.iter().chain(&b.accepted) {
        if let Some(other) = by_version.insert(*version, label.clone()) {
            panic!("version {version} was answered to both {other} and {label}");
        }
    }

    let (final_etag, stored) = read(&app.client, &app, &path, &kommun()).await;
    let final_version = stored["version"].as_i64().expect("version");
    assert_eq!(final_etag, format!("\"{final_version}\""));
    let accepted = a.accepted.len() + b.accepted.len();
    assert_eq!(
        accepted as i64,
        final_version - 1,
        "accepted updates (a {} + b {}) must equal the version increments (1 → {final_version})",
        a.accepted.len(),
        b.accepted.len()
    );
    // Unique versions, as many as increments, none beyond the final one:
    // the accepted updates are exactly versions 2..=final.
    let versions: Vec<i64> = by_version.keys().copied().collect();
    assert_eq!(versions, (2..=final_version).collect::<Vec<_>>(), "accepted versions are exactly 2..={final_version}");

    // The stored object is the last accepted change.
    let (_, last) = by_version.last_key_value().expect("at least one update was accepted");
    assert_eq!(label_of(&stored), &json!(last), "the stored object is the last accepted change: {stored}");
}

async fn two_clients_race_on_one_step(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let response = app
        .post(&format!("/v1/plans/{plan}/steps"), &kommun(), &json!({"description": "start", "owner": "participant"}))
        .await;
    assert_eq!(response.status(), 201);
    let step = body(response).await["id"].as_str().unwrap().to_owned();
    race_on(
        app,
        Method::PATCH,
        format!("/v1/plans/{plan}/steps/{step}"),
        |label| json!({"description": label}),
        |stored| &stored["description"],
    )
    .await;
}

async fn two_clients_race_on_the_platform(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    race_on(
        app,
        Method::PUT,
        format!("/v1/plans/{plan}/platform"),
        |label| json!({"purpose": label, "frames": {}, "how_the_participant_notices_it_helps": ""}),
        |stored| &stored["purpose"],
    )
    .await;
}

/// Enrolment race: several requests enrol the same plan in the same project
/// at the same moment. The store lets exactly one in (201); every other is
/// 409, as a request that came second would be, and the plan has one open
/// enrolment in the project. Once it has left, it may be enrolled again.
async fn concurrent_enrolments_of_one_plan_enrol_it_once(app: TestApp) {
    const ROUNDS: usize = 5;
    const AT_ONCE: usize = 6;
    let lead = token("samordningsforbundet", "association", "project_lead");
    let response = app
        .post(
            "/v1/projects",
            &lead,
            &json!({"name": "Kapplöpning", "funding_organisations": ["vasteras-kommun"], "period_from": "2026-01-01", "period_until": "2027-12-31"}),
        )
        .await;
    assert_eq!(response.status(), 201, "create project");
    let project = body(response).await["id"].as_str().unwrap().to_owned();
    let plan = app.plan(&kommun()).await;
    let app = Arc::new(app);
    let path = format!("/v1/plans/{plan}/enrolments");
    let request = json!({"project_id": project, "enrolled_on": "2026-03-02", "support_at_start": "financial_support"});

    for round in 0..ROUNDS {
        let start = Arc::new(Barrier::new(AT_ONCE));
        let attempts: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                let (app, start, path, request) = (app.clone(), start.clone(), path.clone(), request.clone());
                tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    start.wait().await;
                    http.post(app.url(&path)).bearer_auth(kommun()).json(&request).send().await.unwrap()
                })
            })
            .collect();
        let mut created = Vec::new();
        for attempt in attempts {
            let response = attempt.await.expect("an enrolment attempt");
            match response.status().as_u16() {
                201 => created.push(body(response).await),
                409 => {
                    let problem = problem(response, 409).await;
                    assert_eq!(problem["detail"], "The plan is already enrolled in that project.", "{problem}");
                }
                status => panic!("round {round}: concurrent enrolment answered {status}: {}", response.text().await.unwrap()),
            }
        }
        assert_eq!(created.len(), 1, "round {round}: exactly one of {AT_ONCE} concurrent enrolments is created");
        let listed = body(app.get(&path, &kommun()).await).await;
        let open: Vec<&Value> =
            listed["items"].as_array().unwrap().iter().filter(|e| e["left_on"].is_null()).map(|e| &e["id"]).collect();
        assert_eq!(open, vec![&created[0]["id"]], "round {round}: one open enrolment, the one answered 201");

        // Leaving lets the plan be enrolled again in the next round.
        let enrolment = format!("{path}/{}", created[0]["id"].as_str().unwrap());
        let exit = json!({"left_on": "2026-04-30", "exit_reason": "completed", "support_at_exit": "work"});
        let response = app.patch(&enrolment, &kommun(), Some("\"1\""), &exit).await;
        assert_eq!(response.status(), 200, "round {round}: exit");
    }
    let listed = body(app.get(&path, &kommun()).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), ROUNDS, "one enrolment per round: {listed}");
}

/// A store that the race already left with a plan enrolled twice at once:
/// migration 9 does not pick one, it stops and says how many there are;
/// once the extra enrolment has its exit, it goes through.
async fn the_enrolment_index_migration_stops_on_a_plan_enrolled_twice(app: TestApp) {
    use samplan_migrations::{Migrator, MigratorTrait};
    let lead = token("samordningsforbundet", "association", "project_lead");
    let response = app
        .post(
            "/v1/projects",
            &lead,
            &json!({"name": "Före index", "funding_organisations": ["vasteras-kommun"], "period_from": "2026-01-01", "period_until": "2027-12-31"}),
        )
        .await;
    let project = body(response).await["id"].as_str().unwrap().to_owned();
    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}/enrolments");
    let request = json!({"project_id": project, "enrolled_on": "2026-03-02", "support_at_start": "financial_support"});
    assert_eq!(app.post(&path, &kommun(), &request).await.status(), 201);

    // The store as it was before migration 9 (later migrations stay): a
    // second enrolment gets in.
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(app.database_url.as_str()).await.unwrap();
    db.execute_unprepared("DROP INDEX ux_enrolments_open").await.expect("index 9 dropped");
    db.execute_unprepared("DELETE FROM seaql_migrations WHERE version = 'm20261201_000009_enrolment_unique'")
        .await
        .expect("migration 9 undone");
    let response = app.post(&path, &kommun(), &request).await;
    assert_eq!(response.status(), 201, "without the index the plan is enrolled twice");
    let extra = body(response).await["id"].as_str().unwrap().to_owned();

    let error = Migrator::up(&db, None).await.expect_err("migration 9 stops on the duplicate");
    assert!(error.to_string().contains("1 plan(s) are enrolled twice in the same project at once"), "{error}");

    let exit = json!({"left_on": "2026-03-02", "exit_reason": "other", "support_at_exit": "financial_support"});
    assert_eq!(app.patch(&format!("{path}/{extra}"), &kommun(), Some("\"1\""), &exit).await.status(), 200);
    Migrator::up(&db, None).await.expect("migration 9 once the extra enrolment has left");
    problem(app.post(&path, &kommun(), &request).await, 409).await;
    db.close().await.ok();
}

store_tests!(
    two_clients_race_on_one_step,
    two_clients_race_on_the_platform,
    concurrent_enrolments_of_one_plan_enrol_it_once,
    the_enrolment_index_migration_stops_on_a_plan_enrolled_twice,
);
