//! The common plan end to end: creation, the plus-model parts with their
//! ETags, resources, steps, scale readings, meetings and progress.

use chrono::{DateTime, Utc};
use reqwest::{Method, Response};
use samplan_tests::*;
use serde_json::{Value, json};

fn location(response: &Response) -> String {
    response.headers().get("location").expect("Location").to_str().unwrap().to_owned()
}

/// GETs `path` as the registering case worker: its ETag and body.
async fn read(app: &TestApp, path: &str) -> (String, Value) {
    let response = app.get(path, &kommun()).await;
    assert_eq!(response.status(), 200, "GET {path}");
    let etag = etag(&response);
    let body = body(response).await;
    assert_eq!(etag, format!("\"{}\"", body["version"]), "the ETag is the version: {body}");
    (etag, body)
}

/// POSTs as the registering case worker, expects 201 and returns the body.
async fn create(app: &TestApp, path: &str, request: Value) -> Value {
    let response = app.post(path, &kommun(), &request).await;
    assert_eq!(response.status(), 201, "POST {path} {request}");
    assert!(location(&response).starts_with(&format!("{path}/")), "Location under {path}");
    body(response).await
}

async fn send(app: &TestApp, method: Method, path: &str, etag: Option<&str>, request: &Value) -> Response {
    let mut builder = app.request(method, path, &kommun()).json(request);
    if let Some(etag) = etag {
        builder = builder.header("If-Match", etag);
    }
    builder.send().await.unwrap()
}

async fn patch_plan(app: &TestApp, plan: &str, etag: &str, changes: Value) -> Response {
    app.patch(&format!("/v1/plans/{plan}"), &kommun(), Some(etag), &changes).await
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("a time: {value}")).parse().unwrap()
}

async fn a_plan_starts_as_a_draft_and_a_participant_has_one_open_plan(app: TestApp) {
    let participant = app.participant(&kommun(), PIN).await;
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
    assert_eq!(response.status(), 201);
    assert_eq!(etag(&response), "\"1\"");
    let path = location(&response);
    let created = body(response).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(path, format!("/v1/plans/{id}"));
    assert_eq!(created["participant_id"], participant);
    assert_eq!(created["status"], "draft");
    assert_eq!(created["leading_org"], "vasteras-kommun");
    assert_eq!(created["created_by"], "case_worker@vasteras-kommun");
    assert_eq!(created["version"], 1);
    for field in ["coordinator", "coordinator_org", "support_at_start", "support_at_end"] {
        assert!(created[field].is_null(), "{field}: {created}");
    }
    assert_eq!(created["platform"]["purpose"], "");
    assert_eq!(created["platform"]["frames"], json!({}));
    assert_eq!(created["platform"]["version"], 1);
    assert_eq!(created["solution_scenario"]["signs_of_progress"], json!([]));
    assert_eq!(created["solution_scenario"]["version"], 1);
    for part in ["resources", "steps", "scale_readings", "meetings"] {
        assert_eq!(created[part], json!([]), "{part}");
    }
    assert_eq!(read(&app, &path).await, ("\"1\"".to_owned(), created));

    for request in [json!({"participant_id": participant}), json!({"participant_id": participant, "status": "active"})]
    {
        problem(app.post("/v1/plans", &kommun(), &request).await, 409).await;
    }

    let closed = patch_plan(&app, &id, "\"1\"", json!({"status": "closed"})).await;
    assert_eq!(closed.status(), 200);
    assert_eq!(body(closed).await["status"], "closed");
    let next = app
        .post(
            "/v1/plans",
            &kommun(),
            &json!({"participant_id": participant, "status": "active", "support_at_start": "financial_support"}),
        )
        .await;
    assert_eq!(next.status(), 201, "a closed plan does not block a new one");
    let next = body(next).await;
    assert_ne!(next["id"], id);
    assert_eq!((&next["status"], &next["support_at_start"]), (&json!("active"), &json!("financial_support")));

    // Reopening the closed plan would give the participant two open plans.
    problem(patch_plan(&app, &id, "\"2\"", json!({"status": "active"})).await, 409).await;
    let (etag, old) = read(&app, &path).await;
    assert_eq!((etag.as_str(), &old["status"]), ("\"2\"", &json!("closed")));
}

async fn platform_and_solution_scenario_are_replaced_with_if_match(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let parts = [
        (
            "platform",
            json!({
                "purpose": "Anna, Arbetsförmedlingen och kommunen möts för att Anna ska komma närmare arbete",
                "frames": {"af-vasteras": "arbetsträning", "vasteras-kommun": "försörjningsstöd under planens tid"},
                "how_the_participant_notices_it_helps": "Jag har något att gå till varje vecka",
            }),
        ),
        (
            "solution-scenario",
            json!({
                "preferred_future": "Jag jobbar på en förskola tre dagar i veckan",
                "signs_of_progress": ["Jag kommer upp på morgonen", "Mina barn märker att jag är gladare"],
            }),
        ),
    ];
    for (part, content) in &parts {
        let path = format!("/v1/plans/{plan}/{part}");
        let (etag, before) = read(&app, &path).await;
        assert_eq!(etag, "\"1\"", "{part}");
        assert_eq!(before["updated_org"], "vasteras-kommun");

        let response = send(&app, Method::PUT, &path, Some(&etag), content).await;
        assert_eq!(response.status(), 200, "{part}");
        assert_eq!(self::etag(&response), "\"2\"");
        let replaced = body(response).await;
        for (field, value) in content.as_object().unwrap() {
            assert_eq!(&replaced[field], value, "{part}.{field} is echoed");
        }
        assert_eq!(replaced["version"], 2);
        assert_eq!(replaced["updated_by"], "case_worker@vasteras-kommun");
        assert!(time(&replaced["updated_at"]) >= time(&before["updated_at"]));
        assert_eq!(read(&app, &path).await, ("\"2\"".to_owned(), replaced.clone()), "{part} read back");

        let again = send(&app, Method::PUT, &path, Some("\"2\""), content).await;
        assert_eq!(self::etag(&again), "\"3\"", "each update increments the version");
    }

    let (plan_etag, whole) = read(&app, &format!("/v1/plans/{plan}")).await;
    assert_eq!(plan_etag, "\"1\"", "the plan's own ETag is not the parts'");
    assert_eq!(whole["platform"], read(&app, &format!("/v1/plans/{plan}/platform")).await.1);
    assert_eq!(whole["solution_scenario"], read(&app, &format!("/v1/plans/{plan}/solution-scenario")).await.1);
    assert_eq!(whole["platform"]["frames"]["af-vasteras"], "arbetsträning");
}

async fn plan_fields_are_patched_with_if_match(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}");
    let changes = [
        json!({"status": "active", "coordinator": "samordnare-1", "coordinator_org": "samordningsforbundet"}),
        json!({"support_at_start": "financial_support"}),
        json!({"status": "completed", "support_at_end": "work"}),
    ];
    for (i, change) in changes.iter().enumerate() {
        let (etag, _) = read(&app, &path).await;
        let response = patch_plan(&app, &plan, &etag, change.clone()).await;
        assert_eq!(response.status(), 200, "{change}");
        let version = i as i64 + 2;
        assert_eq!(self::etag(&response), format!("\"{version}\""));
        let patched = body(response).await;
        assert_eq!(patched["version"], version);
        for (field, value) in change.as_object().unwrap() {
            assert_eq!(&patched[field], value, "{field}");
        }
        assert_eq!(read(&app, &path).await.1, patched);
    }
    let (_, plan) = read(&app, &path).await;
    assert_eq!(plan["status"], "completed");
    assert_eq!(plan["coordinator"], "samordnare-1", "fields not named are kept");
    assert_eq!(plan["coordinator_org"], "samordningsforbundet");
    assert_eq!(plan["support_at_start"], "financial_support");
    assert_eq!(plan["support_at_end"], "work");
}

async fn resources_steps_readings_and_meetings_make_up_the_whole_plan(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let base = format!("/v1/plans/{plan}");

    let resources = [
        create(&app, &format!("{base}/resources"), json!({"description": "Har varit dagbarnvårdare"})).await,
        create(&app, &format!("{base}/resources"), json!({"description": "Tycker om barn", "noted_by": "participant"}))
            .await,
        create(&app, &format!("{base}/resources"), json!({"description": "Punktlig", "noted_by": "af-vasteras"})).await,
    ];
    let noted_by: Vec<&Value> = resources.iter().map(|r| &r["noted_by"]).collect();
    assert_eq!(noted_by, [&json!("vasteras-kommun"), &json!("participant"), &json!("af-vasteras")]);
    assert!(
        resources.iter().all(|r| r["org"] == "vasteras-kommun" && r["created_by"] == "case_worker@vasteras-kommun")
    );
    assert_eq!(resources[0]["description"], "Har varit dagbarnvårdare");

    let response = app
        .post(
            &format!("{base}/steps"),
            &kommun(),
            &json!({"description": "Ringa förskolan", "owner": "participant", "due": "2026-12-08"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(etag(&response), "\"1\"");
    let step_path = location(&response);
    let step = body(response).await;
    assert_eq!(step_path, format!("{base}/steps/{}", step["id"].as_str().unwrap()));
    assert_eq!(
        (&step["status"], &step["owner"], &step["due"]),
        (&json!("planned"), &json!("participant"), &json!("2026-12-08"))
    );
    assert!(step["outcome"].is_null());
    assert_eq!(step["org"], "vasteras-kommun");
    assert_eq!(read(&app, &step_path).await, ("\"1\"".to_owned(), step));

    let done = app
        .patch(
            &step_path,
            &kommun(),
            Some("\"1\""),
            &json!({"status": "done", "outcome": "Anna får börja praktik på måndag"}),
        )
        .await;
    assert_eq!(done.status(), 200);
    assert_eq!(etag(&done), "\"2\"");
    let done = body(done).await;
    assert_eq!((&done["status"], &done["outcome"]), (&json!("done"), &json!("Anna får börja praktik på måndag")));
    assert_eq!((&done["description"], &done["due"]), (&json!("Ringa förskolan"), &json!("2026-12-08")), "kept");
    assert_eq!(read(&app, &step_path).await, ("\"2\"".to_owned(), done.clone()));

    let reading = create(
        &app,
        &format!("{base}/scale-readings"),
        json!({"value": 4, "why_not_lower": "Jag går upp på morgnarna", "one_step_up": "Att jag ringer förskolan"}),
    )
    .await;
    assert_eq!((&reading["value"], &reading["why_not_lower"]), (&json!(4), &json!("Jag går upp på morgnarna")));
    assert!((Utc::now() - time(&reading["recorded_at"])).num_minutes() < 5, "recorded_at defaults to now");
    for value in [json!(11), json!(-1)] {
        let refused = app
            .post(
                &format!("{base}/scale-readings"),
                &kommun(),
                &json!({"value": value, "why_not_lower": "", "one_step_up": ""}),
            )
            .await;
        let problem = problem(refused, 422).await;
        assert_eq!(problem["errors"][0]["field"], "value", "{problem}");
    }

    let later = create(
        &app,
        &format!("{base}/meetings"),
        json!({
            "held_on": "2026-12-08", "participants": ["deltagaren", "af-vasteras", "vasteras-kommun"],
            "better_since_last_time": "Anna har ringt förskolan", "until_next_time": "Besöka förskolan",
            "next_meeting": "2026-12-22T10:00:00+01:00",
        }),
    )
    .await;
    assert_eq!(later["participants"], json!(["deltagaren", "af-vasteras", "vasteras-kommun"]));
    assert_eq!(
        (&later["held_on"], &later["better_since_last_time"]),
        (&json!("2026-12-08"), &json!("Anna har ringt förskolan"))
    );
    assert_eq!(time(&later["next_meeting"]), time(&json!("2026-12-22T09:00:00Z")), "the same instant");
    let earlier = create(
        &app,
        &format!("{base}/meetings"),
        json!({"held_on": "2026-11-24", "participants": ["deltagaren"], "better_since_last_time": "", "until_next_time": "Ringa"}),
    )
    .await;
    assert!(earlier["next_meeting"].is_null());

    let (_, whole) = read(&app, &base).await;
    assert_eq!(whole["platform"], read(&app, &format!("{base}/platform")).await.1);
    assert_eq!(whole["solution_scenario"], read(&app, &format!("{base}/solution-scenario")).await.1);
    assert_eq!(whole["resources"], json!(resources));
    assert_eq!(whole["steps"], json!([done]));
    assert_eq!(whole["scale_readings"], json!([reading]), "the refused readings were not stored");
    assert_eq!(whole["meetings"], json!([earlier, later]), "meetings in date order");
}

async fn progress_gives_the_scale_series_in_time_order_and_step_counts(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let base = format!("/v1/plans/{plan}");
    let progress = read_progress(&app, &plan).await;
    assert_eq!(
        progress,
        json!({"plan_id": plan, "scale": [], "change": null, "steps": {"planned": 0, "done": 0, "dropped": 0, "total": 0}})
    );

    // Posted out of order; one with an offset other than UTC.
    let readings = [
        (5, "2026-02-01T12:00:00.5Z"),
        (2, "2026-01-15T09:00:00+01:00"),
        (3, "2026-03-01T10:00:00Z"),
        (7, "2026-01-15T08:30:00Z"),
    ];
    for (value, at) in readings {
        let reading = create(
            &app,
            &format!("{base}/scale-readings"),
            json!({"value": value, "why_not_lower": "", "one_step_up": "", "recorded_at": at}),
        )
        .await;
        assert_eq!(time(&reading["recorded_at"]), time(&json!(at)));
        if value == 5 {
            let single = read_progress(&app, &plan).await;
            assert!(single["change"].is_null(), "no change from one reading: {single}");
        }
    }

    for (i, status) in ["done", "dropped", "planned", "planned"].iter().enumerate() {
        let step = create(
            &app,
            &format!("{base}/steps"),
            json!({"description": format!("Steg {i}"), "owner": "vasteras-kommun"}),
        )
        .await;
        if *status != "planned" {
            let path = format!("{base}/steps/{}", step["id"].as_str().unwrap());
            let response = app.patch(&path, &kommun(), Some("\"1\""), &json!({"status": status})).await;
            assert_eq!(response.status(), 200);
        }
    }

    let progress = read_progress(&app, &plan).await;
    let series: Vec<(i64, DateTime<Utc>)> = progress["scale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| (point["value"].as_i64().unwrap(), time(&point["recorded_at"])))
        .collect();
    let expected: Vec<(i64, DateTime<Utc>)> = [
        (2, "2026-01-15T08:00:00Z"),
        (7, "2026-01-15T08:30:00Z"),
        (5, "2026-02-01T12:00:00.5Z"),
        (3, "2026-03-01T10:00:00Z"),
    ]
    .iter()
    .map(|(value, at)| (*value, at.parse().unwrap()))
    .collect();
    assert_eq!(series, expected);
    assert_eq!(progress["change"], 1, "latest minus first, by time");
    assert_eq!(progress["steps"], json!({"planned": 2, "done": 1, "dropped": 1, "total": 4}));

    let (_, whole) = read(&app, &base).await;
    let values: Vec<&Value> = whole["scale_readings"].as_array().unwrap().iter().map(|r| &r["value"]).collect();
    assert_eq!(values, [&json!(2), &json!(7), &json!(5), &json!(3)], "the plan lists readings in time order too");
}

async fn read_progress(app: &TestApp, plan: &str) -> Value {
    let response = app.get(&format!("/v1/plans/{plan}/progress"), &kommun()).await;
    assert_eq!(response.status(), 200);
    body(response).await
}

/// Each editable object: how it is changed and read back.
struct Editable {
    method: Method,
    path: String,
    read: String,
    first: Value,
    second: Value,
}

async fn editables(app: &TestApp) -> Vec<Editable> {
    let plan = app.plan(&kommun()).await;
    let base = format!("/v1/plans/{plan}");
    let step = create(app, &format!("{base}/steps"), json!({"description": "Ringa", "owner": "participant"})).await;
    let step = format!("{base}/steps/{}", step["id"].as_str().unwrap());
    let platform =
        |purpose: &str| json!({"purpose": purpose, "frames": {}, "how_the_participant_notices_it_helps": ""});
    let scenario = |future: &str| json!({"preferred_future": future, "signs_of_progress": [future]});
    vec![
        Editable {
            method: Method::PUT,
            path: format!("{base}/platform"),
            read: format!("{base}/platform"),
            first: platform("först"),
            second: platform("sen"),
        },
        Editable {
            method: Method::PUT,
            path: format!("{base}/solution-scenario"),
            read: format!("{base}/solution-scenario"),
            first: scenario("först"),
            second: scenario("sen"),
        },
        Editable {
            method: Method::PATCH,
            path: base.clone(),
            read: base.clone(),
            first: json!({"status": "active"}),
            second: json!({"status": "paused"}),
        },
        Editable {
            method: Method::PATCH,
            path: step.clone(),
            read: step,
            first: json!({"outcome": "först"}),
            second: json!({"outcome": "sen"}),
        },
    ]
}

/// 428 without If-Match, 412 with a stale one (naming the current ETag), and
/// neither changes anything.
async fn every_editable_object_requires_a_current_if_match(app: TestApp) {
    for object in editables(&app).await {
        let what = format!("{} {}", object.method, object.path);
        let (etag, original) = read(&app, &object.read).await;

        let missing = send(&app, object.method.clone(), &object.path, None, &object.first).await;
        let required = problem(missing, 428).await;
        assert!(required["current_etag"].is_null(), "{what}: {required}");
        assert_eq!(read(&app, &object.read).await, (etag.clone(), original.clone()), "{what}: unchanged after 428");

        let updated = send(&app, object.method.clone(), &object.path, Some(&etag), &object.first).await;
        assert_eq!(updated.status(), 200, "{what}");
        let current = self::etag(&updated);
        assert_ne!(current, etag);
        let after = body(updated).await;
        assert_eq!(read(&app, &object.read).await, (current.clone(), after.clone()), "{what}");

        // A weak tag never matches If-Match (strong comparison, RFC 9110).
        let weak = format!("W/{current}");
        for stale in [etag.as_str(), "\"999\"", weak.as_str(), "not-an-etag"] {
            let refused = send(&app, object.method.clone(), &object.path, Some(stale), &object.second).await;
            assert_eq!(refused.status(), 412, "{what} with {stale}");
            assert_eq!(self::etag(&refused), current, "{what}: the 412 carries the current ETag");
            let failed = problem(refused, 412).await;
            assert_eq!(failed["current_etag"], current, "{what}: {failed}");
            assert_eq!(read(&app, &object.read).await, (current.clone(), after.clone()), "{what}: unchanged after 412");
        }
    }
}

/// The coordinator is a person of an organisation: `coordinator` and
/// `coordinator_org` go together, and a coordinator who starts a plan is its
/// coordinator with its own organisation.
async fn the_coordinator_is_named_with_its_organisation(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}");
    for (change, missing) in [
        (json!({"coordinator": "samordnare-1"}), "coordinator_org"),
        (json!({"coordinator_org": "samordningsforbundet"}), "coordinator"),
    ] {
        let refused = problem(patch_plan(&app, &plan, "\"1\"", change.clone()).await, 422).await;
        let fields: Vec<&str> = refused["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, vec![missing], "{change}: {refused}");
    }
    let (etag, stored) = read(&app, &path).await;
    assert_eq!(etag, "\"1\"", "nothing changed");
    assert!(stored["coordinator"].is_null() && stored["coordinator_org"].is_null(), "{stored}");

    let mut claims = TestClaims::new("samordningsforbundet", "association", "coordinator");
    claims.sub = "samordnare-2".into();
    let coordinator = claims.sign();
    let participant = app.participant(&coordinator, PIN_OTHER).await;
    let response = app.post("/v1/plans", &coordinator, &json!({"participant_id": participant})).await;
    assert_eq!(response.status(), 201);
    let started = body(response).await;
    assert_eq!(started["coordinator"], "samordnare-2", "{started}");
    assert_eq!(started["coordinator_org"], "samordningsforbundet", "{started}");
}

store_tests!(
    the_coordinator_is_named_with_its_organisation,
    a_plan_starts_as_a_draft_and_a_participant_has_one_open_plan,
    platform_and_solution_scenario_are_replaced_with_if_match,
    plan_fields_are_patched_with_if_match,
    resources_steps_readings_and_meetings_make_up_the_whole_plan,
    progress_gives_the_scale_series_in_time_order_and_step_counts,
    every_editable_object_requires_a_current_if_match,
);
