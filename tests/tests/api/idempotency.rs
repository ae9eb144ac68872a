use reqwest::Method;
use samplan_tests::*;
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

store_tests!(
    a_retry_replays_the_first_answer,
    the_same_key_with_another_body_is_422,
    keys_belong_to_the_caller,
    a_retry_storm_creates_exactly_one_object,
    if_none_match_answers_304,
);
