use samplan_tests::*;
use serde_json::{Value, json};

async fn feed(app: &TestApp, token: &str, after: Option<&str>) -> (Vec<Value>, String) {
    let path = match after {
        Some(cursor) => format!("/v1/changes?after={cursor}&limit=500"),
        None => "/v1/changes?limit=500".to_owned(),
    };
    let response = app.get(&path, token).await;
    assert_eq!(response.status(), 200);
    let page = body(response).await;
    (page["items"].as_array().unwrap().clone(), page["next_cursor"].as_str().unwrap().to_owned())
}

fn kinds(items: &[Value]) -> Vec<(String, String, i64)> {
    items
        .iter()
        .map(|c| {
            (
                c["resource_type"].as_str().unwrap().to_owned(),
                c["operation"].as_str().unwrap().to_owned(),
                c["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn feed_reports_every_create_and_update_in_commit_order(app: TestApp) {
    let owner = kommun();
    let plan = app.plan(&owner).await;
    let step = body(app.post(&format!("/v1/plans/{plan}/steps"), &owner, &json!({"description": "Ringa", "owner": "participant"})).await).await;
    let step_id = step["id"].as_str().unwrap();
    let patched = app
        .patch(&format!("/v1/plans/{plan}/steps/{step_id}"), &owner, Some("\"1\""), &json!({"status": "done"}))
        .await;
    assert_eq!(patched.status(), 200);

    let (items, cursor) = feed(&app, &owner, None).await;
    let expected = [
        ("participant", "insert", 1),
        ("plan", "insert", 1),
        ("platform", "insert", 1),
        ("solution_scenario", "insert", 1),
        ("step", "insert", 1),
        ("step", "update", 2),
    ];
    let expected: Vec<(String, String, i64)> =
        expected.iter().map(|(t, o, v)| (t.to_string(), o.to_string(), *v)).collect();
    assert_eq!(kinds(&items), expected);
    let seqs: Vec<i64> = items.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(items[4]["resource_id"], step_id);
    assert_eq!(items[4]["plan_id"], plan.as_str());

    // Polling from the cursor returns only what is new, and nothing twice.
    let (again, same_cursor) = feed(&app, &owner, Some(&cursor)).await;
    assert!(again.is_empty());
    assert_eq!(same_cursor, cursor);
    app.post(&format!("/v1/plans/{plan}/scale-readings"), &owner, &json!({"value": 5, "why_not_lower": "", "one_step_up": ""}))
        .await;
    let (new, _) = feed(&app, &owner, Some(&cursor)).await;
    assert_eq!(kinds(&new), vec![("scale_reading".to_owned(), "insert".to_owned(), 1)]);
}

async fn feed_follows_consent(app: TestApp) {
    let owner = kommun();
    let plan = app.plan(&owner).await;
    let participant = body(app.get(&format!("/v1/plans/{plan}"), &owner).await).await["participant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(feed(&app, &af(), None).await.0.is_empty(), "no consent, no changes");

    let today = samplan_domain::access::stockholm_today(chrono::Utc::now()).to_string();
    let consent = body(
        app.post(
            &format!("/v1/participants/{participant}/consents"),
            &owner,
            &json!({"organisations": ["af-vasteras"], "purpose": "samordnad rehabilitering", "valid_from": today, "valid_until": today}),
        )
        .await,
    )
    .await;
    let (seen, _) = feed(&app, &af(), None).await;
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|c| c["participant_id"] == participant.as_str()));
    assert!(seen.iter().any(|c| c["resource_type"] == "consent"));

    let withdrawn = app
        .request(reqwest::Method::POST, &format!("/v1/participants/{participant}/consents/{}/withdraw", consent["id"].as_str().unwrap()), &owner)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), 200);
    assert!(feed(&app, &af(), None).await.0.is_empty(), "withdrawal removes the participant from the feed");
}

async fn feed_rejects_a_bad_cursor(app: TestApp) {
    problem(app.get("/v1/changes?after=garbage", &kommun()).await, 400).await;
    problem(app.get("/v1/changes?limit=0", &kommun()).await, 400).await;
}

store_tests!(feed_reports_every_create_and_update_in_commit_order, feed_follows_consent, feed_rejects_a_bad_cursor);
