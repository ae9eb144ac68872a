//! Optimistic concurrency under real parallel requests: each editable object
//! has its own ETag, and of several writers holding the same ETag exactly one
//! wins; the others get 412 and nothing is lost silently.

use reqwest::{Method, RequestBuilder};
use samplan_tests::*;
use serde_json::{Value, json};

async fn new_step(app: &TestApp, plan: &str, description: &str) -> String {
    let response = app
        .post(
            &format!("/v1/plans/{plan}/steps"),
            &kommun(),
            &json!({"description": description, "owner": "participant"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    format!("/v1/plans/{plan}/steps/{}", body(response).await["id"].as_str().unwrap())
}

async fn read(app: &TestApp, path: &str) -> (String, Value) {
    let response = app.get(path, &kommun()).await;
    assert_eq!(response.status(), 200, "GET {path}");
    (etag(&response), body(response).await)
}

/// Two clients of the organisation (a case worker and its agency system),
/// each editing its own step with its own ETag, never collide.
async fn edits_of_different_steps_never_collide(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let integration = token("vasteras-kommun", "municipality", "integration");
    let clients = [(kommun(), new_step(&app, &plan, "A").await), (integration, new_step(&app, &plan, "B").await)];
    let mut etags = [read(&app, &clients[0].1).await.0, read(&app, &clients[1].1).await.0];
    for round in 1..=5 {
        let change = json!({"outcome": format!("runda {round}")});
        let edit = |i: usize| {
            let (token, path) = &clients[i];
            app.patch(path, token, Some(&etags[i]), &change)
        };
        let (first, second) = tokio::join!(edit(0), edit(1));
        assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200), "round {round}");
        etags = [etag(&first), etag(&second)];
    }
    for (_, path) in &clients {
        let (etag, step) = read(&app, path).await;
        assert_eq!(
            (etag.as_str(), &step["version"], &step["outcome"]),
            ("\"6\"", &json!(6), &json!("runda 5")),
            "{path}"
        );
    }
}

/// Sends every request at once, each on its own task. Exactly one must
/// answer `won`; it is returned with the others, which must all be
/// problem+json `refused` (a 412 also names the current ETag in its header).
async fn race(requests: Vec<RequestBuilder>, won: u16, refused: u16) -> (Value, Vec<Value>) {
    let tasks: Vec<_> = requests.into_iter().map(|request| tokio::spawn(request.send())).collect();
    let (mut winners, mut losers) = (Vec::new(), Vec::new());
    for task in tasks {
        let response = task.await.unwrap().unwrap();
        let status = response.status().as_u16();
        if status == won {
            winners.push(body(response).await);
        } else if status == refused {
            let header = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
            let problem = problem(response, refused).await;
            if refused == 412 {
                assert_eq!(header.as_deref(), problem["current_etag"].as_str(), "{problem}");
            }
            losers.push(problem);
        } else {
            panic!("expected {won} or {refused}, got {status}: {}", response.text().await.unwrap());
        }
    }
    assert_eq!(winners.len(), 1, "exactly one {won}; refused: {losers:?}");
    (winners.pop().unwrap(), losers)
}

async fn same_step_same_etag_exactly_one_wins(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let step = new_step(&app, &plan, "Ringa").await;
    let (etag, _) = read(&app, &step).await;
    let clients = [
        (kommun(), json!({"outcome": "från handläggaren"})),
        (token("vasteras-kommun", "municipality", "integration"), json!({"outcome": "från systemet"})),
    ];
    let requests = clients
        .iter()
        .map(|(token, change)| app.request(Method::PATCH, &step, token).header("If-Match", &etag).json(change))
        .collect();
    let (won, refused) = race(requests, 200, 412).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["current_etag"], "\"2\"");
    assert_eq!(won["version"], 2);
    assert_eq!(read(&app, &step).await, ("\"2\"".to_owned(), won), "the winner's change is stored");
}

async fn twenty_concurrent_platform_updates_one_wins(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}/platform");
    let (etag, _) = read(&app, &path).await;
    let requests = (0..20)
        .map(|i| {
            let content =
                json!({"purpose": format!("klient {i}"), "frames": {}, "how_the_participant_notices_it_helps": ""});
            app.request(Method::PUT, &path, &kommun()).header("If-Match", &etag).json(&content)
        })
        .collect();
    let (won, refused) = race(requests, 200, 412).await;
    assert_eq!(refused.len(), 19);
    assert!(refused.iter().all(|problem| problem["current_etag"] == "\"2\""), "{refused:?}");
    let (etag, platform) = read(&app, &path).await;
    assert_eq!((etag.as_str(), &platform["version"]), ("\"2\"", &json!(2)));
    assert_eq!(platform, won, "the one accepted update is the stored one");
}

/// The store, not a check-then-insert, keeps one open plan per participant.
async fn concurrent_plan_creation_gives_one_open_plan(app: TestApp) {
    let participant = app.participant(&kommun(), PIN).await;
    let requests = (0..10)
        .map(|_| app.request(Method::POST, "/v1/plans", &kommun()).json(&json!({"participant_id": participant})))
        .collect();
    let (won, refused) = race(requests, 201, 409).await;
    assert_eq!(refused.len(), 9);
    let (_, plan) = read(&app, &format!("/v1/plans/{}", won["id"].as_str().unwrap())).await;
    assert_eq!((&plan["participant_id"], &plan["status"]), (&json!(participant), &json!("draft")));
}

/// … and one registration per person and organisation.
async fn concurrent_registration_gives_one_record(app: TestApp) {
    let requests = (0..10)
        .map(|_| {
            let person = json!({"personal_identity_number": PIN, "name": "Anna Andersson"});
            app.request(Method::POST, "/v1/participants", &kommun()).json(&person)
        })
        .collect();
    let (won, refused) = race(requests, 201, 409).await;
    assert_eq!(refused.len(), 9);
    let list = body(app.get("/v1/participants", &kommun()).await).await;
    assert_eq!(list["items"], json!([won]));
}

store_tests!(
    edits_of_different_steps_never_collide,
    same_step_same_etag_exactly_one_wins,
    twenty_concurrent_platform_updates_one_wins,
    concurrent_plan_creation_gives_one_open_plan,
    concurrent_registration_gives_one_record,
);
