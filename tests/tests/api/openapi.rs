use samplan_tests::*;

/// The committed document is what the code generates; regenerate it with
/// `cargo run -q -- openapi > openapi/openapi.json`.
#[test]
fn committed_document_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json"))
        .expect("openapi/openapi.json exists");
    let generated = samplan_api::openapi::document_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -q -- openapi > openapi/openapi.json`"
    );
}

async fn served_document_is_the_committed_one(app: TestApp) {
    let response = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let served: serde_json::Value = response.json().await.unwrap();
    let committed: serde_json::Value = serde_json::from_str(&samplan_api::openapi::document_json()).unwrap();
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for path in ["/v1/participants", "/v1/plans/{id}", "/v1/plans/{id}/steps/{step_id}", "/v1/plans/{id}/progress"] {
        assert!(served["paths"][path].is_object(), "{path} is documented");
    }
}

/// Swagger UI is served from the binary: the page and its assets load with no
/// internet access.
async fn explorer_works_offline(app: TestApp) {
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "the page must not load anything from the internet: {html}");
    for asset in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js"] {
        let response = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let text = response.text().await.unwrap();
        assert!(text.len() > 100, "{asset}");
        if asset.ends_with("initializer.js") {
            assert!(text.contains("/openapi.json"), "the explorer loads our document: {text}");
        }
    }
}

/// `/docs` (without the slash) leads to the explorer.
async fn docs_redirects_to_the_explorer(app: TestApp) {
    let response = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], "/docs/");
    let followed = reqwest::get(app.url("/docs")).await.unwrap();
    assert_eq!(followed.status(), 200);
    assert!(followed.text().await.unwrap().contains("swagger-ui"));
}

/// A method a client invents becomes `OTHER` in metric labels (and log
/// lines), so client text never becomes a label and their number is bounded.
async fn invented_methods_are_labelled_other(app: TestApp) {
    let invented = format!("X{}", uuid::Uuid::new_v4().simple()).to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(invented.as_bytes()).unwrap();
    let response = app.request(method, "/v1/me", &kommun()).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains(&invented), "a client's method became a label");
    assert!(text.contains(r#"samplan_http_requests_total{method="OTHER""#), "{text}");
}

async fn health_probes(app: TestApp) {
    let live = app.client.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let ready = app.client.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(body(ready).await["status"], "ok");
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let response = app.client.get(app.url("/health/live")).send().await.unwrap();
    let id = response.headers().get("x-request-id").expect("X-Request-Id").to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let mine = uuid::Uuid::new_v4().to_string();
    let response = app.client.get(app.url("/nowhere")).header("X-Request-Id", &mine).send().await.unwrap();
    assert_eq!(response.headers().get("x-request-id").unwrap().to_str().unwrap(), mine);
}

async fn metrics_count_requests_by_route_template(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    assert_eq!(app.get(&format!("/v1/plans/{plan}"), &kommun()).await.status(), 200);
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let series = r#"samplan_http_requests_total{method="GET",route="/v1/plans/{id}",status="200"}"#;
    assert!(text.contains(series), "{text}");
    assert!(text.contains(r#"samplan_http_request_duration_seconds_bucket{method="GET",route="/v1/plans/{id}",status="200",le="0.025"}"#), "{text}");
    assert!(text.contains("samplan_store_pool_connections"), "{text}");
    assert!(!text.contains(&plan), "ids never become labels");
}

store_tests!(
    metrics_count_requests_by_route_template,
    served_document_is_the_committed_one,
    explorer_works_offline,
    docs_redirects_to_the_explorer,
    invented_methods_are_labelled_other,
    health_probes,
    every_response_carries_a_request_id,
);
