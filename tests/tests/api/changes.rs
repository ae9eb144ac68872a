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

/// What an item may carry: nothing that counts the association's writes.
const ITEM_FIELDS: [&str; 7] =
    ["changed_at", "operation", "participant_id", "plan_id", "resource_id", "resource_type", "version"];

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Issue 10, point 12: the feed's order is the association's sequence of
/// writes, about every participant. Between two changes the municipality
/// sees, the employment office writes many changes about its own
/// participant; nothing the municipality gets lets it count them.
async fn feed_lets_no_organisation_count_writes_it_cannot_see(app: TestApp) {
    let (kommun, af) = (kommun(), af());
    let plan = app.plan(&kommun).await;
    let (first, cursor) = feed(&app, &kommun, None).await;
    assert!(!first.is_empty());

    // The employment office's own participant, and many writes about it.
    let other = app.plan(&af).await;
    for i in 0..12 {
        let step = app.post(&format!("/v1/plans/{other}/steps"), &af, &json!({"description": format!("Steg {i}"), "owner": "participant"})).await;
        assert_eq!(step.status(), 201);
    }
    let (unseen, same) = feed(&app, &kommun, Some(&cursor)).await;
    assert!(unseen.is_empty(), "{unseen:?}");
    assert_eq!(same, cursor, "the cursor does not move for writes the caller cannot see");

    // One change the municipality sees.
    app.post(&format!("/v1/plans/{plan}/scale-readings"), &kommun, &json!({"value": 6, "why_not_lower": "", "one_step_up": ""}))
        .await;
    let (seen, next) = feed(&app, &kommun, Some(&cursor)).await;
    assert_eq!(kinds(&seen), vec![("scale_reading".to_owned(), "insert".to_owned(), 1)]);

    // Items carry no position in the association's feed, nor anything else.
    for item in first.iter().chain(&seen) {
        let mut fields: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ITEM_FIELDS, "{item}");
        assert_eq!(item["participant_id"], first[0]["participant_id"], "only the caller's participant");
    }
    // The cursors are sealed: they do not decode to positions, and the two
    // are not a count apart.
    use base64::Engine as _;
    let position = |c: &str| {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).expect("base64url");
        assert_eq!(bytes.len(), 16, "{c}");
        i64::from_be_bytes(bytes[..8].try_into().unwrap())
    };
    let (before, after) = (position(&cursor), position(&next));
    for p in [before, after] {
        assert!(!(0..1_000_000).contains(&p), "a cursor holding a small number: {p}");
    }
    assert!(!(1..1_000_000).contains(&after.wrapping_sub(before)), "cursors {before} and {after} are a count apart");

    // A cursor made up for a position is refused, whatever its form.
    for seq in [0i64, 1, 5, 20] {
        problem(app.get(&format!("/v1/changes?after={}", b64(&seq.to_be_bytes())), &kommun).await, 400).await;
        let mut padded = seq.to_be_bytes().to_vec();
        padded.extend_from_slice(&[0; 8]);
        problem(app.get(&format!("/v1/changes?after={}", b64(&padded)), &kommun).await, 400).await;
    }
    // A tampered cursor is refused.
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&next).unwrap();
    for i in [0, 7, 8, 15] {
        let mut tampered = bytes.clone();
        tampered[i] ^= 1;
        problem(app.get(&format!("/v1/changes?after={}", b64(&tampered)), &kommun).await, 400).await;
    }
    // Another organisation's cursor is not a way in either.
    let (_, af_cursor) = feed(&app, &af, None).await;
    problem(app.get(&format!("/v1/changes?after={af_cursor}"), &kommun).await, 400).await;
    problem(app.get(&format!("/v1/changes?after={next}"), &af).await, 400).await;
    // The caller's own cursor still works.
    assert!(feed(&app, &kommun, Some(&next)).await.0.is_empty());
}

store_tests!(
    feed_reports_every_create_and_update_in_commit_order,
    feed_follows_consent,
    feed_rejects_a_bad_cursor,
    feed_lets_no_organisation_count_writes_it_cannot_see
);
