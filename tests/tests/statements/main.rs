//! No N+1: the statements the store runs for a request do not grow with the
//! data. Read from the server's own `samplan_http_request_statements`
//! metric (the statements a request ran itself; the write path's batch
//! statements are shared by many requests and not counted), one request at
//! a time. The metric is process-wide, so the stores run one after the
//! other in one test.

use chrono::{Duration, Utc};
use reqwest::Method;
use samplan_tests::*;
use serde_json::{Value, json};

/// The statements the last request on `route` ran, from the metric's sum.
async fn statements_sum(app: &TestApp, method: &str, route: &str) -> f64 {
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let (method, route) = (format!("method=\"{method}\""), format!("route=\"{route}\""));
    text.lines()
        .filter(|line| line.starts_with("samplan_http_request_statements_sum{"))
        .filter(|line| line.contains(&method) && line.contains(&route))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Sends one request and returns the statements the store ran for it.
async fn counted(app: &TestApp, method: Method, path: &str, route: &str, body: Option<&Value>) -> u32 {
    let before = statements_sum(app, method.as_str(), route).await;
    let mut request = app.request(method.clone(), path, &kommun());
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert!(status.is_success(), "{method} {path}: {status} {}", response.text().await.unwrap());
    (statements_sum(app, method.as_str(), route).await - before) as u32
}

async fn created(app: &TestApp, path: &str, body: Value) {
    let response = app.post(path, &kommun(), &body).await;
    assert_eq!(response.status(), 201, "POST {path}: {}", response.text().await.unwrap());
}

/// Grows a plan by `n` of each contribution.
async fn grow(app: &TestApp, plan: &str, n: usize) {
    let base = format!("/v1/plans/{plan}");
    for i in 0..n {
        created(app, &format!("{base}/steps"), json!({"description": format!("steg {i}"), "owner": "participant"})).await;
        created(app, &format!("{base}/resources"), json!({"description": format!("resurs {i}")})).await;
        created(
            app,
            &format!("{base}/scale-readings"),
            json!({"value": i % 11, "why_not_lower": "x", "one_step_up": "y"}),
        )
        .await;
        created(
            app,
            &format!("{base}/meetings"),
            json!({"held_on": "2026-11-24", "participants": ["deltagaren"], "better_since_last_time": "", "until_next_time": "Ringa"}),
        )
        .await;
    }
}

async fn consent(app: &TestApp, participant: &str, organisations: &[&str]) {
    let today = Utc::now().date_naive();
    created(
        app,
        &format!("/v1/participants/{participant}/consents"),
        json!({
            "organisations": organisations,
            "purpose": "samordnad rehabilitering",
            "valid_from": today.to_string(),
            "valid_until": (today + Duration::days(365)).to_string(),
        }),
    )
    .await;
}

/// The counts of the reads and writes a coordinator's day is made of, on a
/// small plan and on one grown tenfold: `(what, small, grown)`.
async fn counts(app: TestApp) -> Vec<(&'static str, u32, u32)> {
    let participant = app.participant(&kommun(), PIN).await;
    consent(&app, &participant, &["af-vasteras"]).await;
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
    let plan = body(response).await["id"].as_str().unwrap().to_owned();
    let base = format!("/v1/plans/{plan}");
    let step_body = json!({"description": "ett steg", "owner": "participant"});

    let small = measure(&app, &base, &participant, &step_body).await;
    grow(&app, &plan, 10).await;
    for i in 0..10 {
        let other = app.post("/v1/participants", &kommun(), &json!({"personal_identity_number": other_pin(i), "name": "Bo Berg"})).await;
        assert_eq!(other.status(), 201);
        consent(&app, &participant, &["af-vasteras", "fk-vasteras"]).await;
    }
    let grown = measure(&app, &base, &participant, &step_body).await;
    small.into_iter().zip(grown).map(|((what, small), (_, grown))| (what, small, grown)).collect()
}

/// The statements of each request of a coordinator's day, once.
async fn measure(app: &TestApp, base: &str, participant: &str, step_body: &Value) -> Vec<(&'static str, u32)> {
    vec![
        ("GET plan", counted(app, Method::GET, base, "/v1/plans/{id}", None).await),
        ("POST step", counted(app, Method::POST, &format!("{base}/steps"), "/v1/plans/{id}/steps", Some(step_body)).await),
        ("GET participants", counted(app, Method::GET, "/v1/participants", "/v1/participants", None).await),
        (
            "GET consents",
            counted(
                app,
                Method::GET,
                &format!("/v1/participants/{participant}/consents"),
                "/v1/participants/{id}/consents",
                None,
            )
            .await,
        ),
        ("GET changes", counted(app, Method::GET, "/v1/changes", "/v1/changes", None).await),
    ]
}

/// Valid personal identity numbers other than [`PIN`].
fn other_pin(i: u32) -> String {
    // 1990-01-01..10, serial 100+i: the check digit by the Luhn rule.
    let digits = format!("9001{:02}{:03}", i + 1, 100 + i);
    let sum: u32 = digits
        .chars()
        .enumerate()
        .map(|(n, c)| {
            let d = c.to_digit(10).unwrap() * if n % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    format!("19{}-{}{}", &digits[..6], &digits[6..], (10 - sum % 10) % 10)
}

fn check(store: &str, counts: &[(&str, u32, u32)]) {
    eprintln!("{store}: statements per request (small plan, grown plan): {counts:?}");
    for (what, small, grown) in counts {
        assert_eq!(small, grown, "{store}: {what} ran {small} statements on a small plan and {grown} on a grown one");
    }
    let whole_plan = counts.iter().find(|(what, ..)| *what == "GET plan").unwrap().1;
    assert!(whole_plan <= 3, "{store}: a whole plan took {whole_plan} statements");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_per_request_do_not_grow_with_the_data() {
    let sqlite = counts(spawn_app(Backend::Sqlite).await.unwrap()).await;
    check("SQLite", &sqlite);
    if let Some(app) = spawn_app(Backend::Postgres).await {
        check("PostgreSQL", &counts(app).await);
    }
}
