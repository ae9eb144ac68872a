//! 404 isolation: an organisation sees and writes only the participants it
//! registered (no consent exists yet), and a request for what the principal
//! may not see answers exactly like one for an id that does not exist.

use reqwest::{Method, Response};
use samplan_tests::*;
use serde_json::{Value, json};

/// A participant with a plan and a step, registered by vasteras-kommun.
struct Ids {
    participant: String,
    plan: String,
    step: String,
}

impl Ids {
    async fn registered(app: &TestApp) -> Ids {
        let participant = app.participant(&kommun(), PIN).await;
        let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": participant})).await;
        assert_eq!(response.status(), 201);
        let plan = body(response).await["id"].as_str().unwrap().to_owned();
        let response = app
            .post(
                &format!("/v1/plans/{plan}/steps"),
                &kommun(),
                &json!({"description": "Ringa", "owner": "participant"}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let step = body(response).await["id"].as_str().unwrap().to_owned();
        Ids { participant, plan, step }
    }

    fn unknown() -> Ids {
        let random = || uuid::Uuid::new_v4().to_string();
        Ids { participant: random(), plan: random(), step: random() }
    }
}

/// One request on the participant's records and what the registering
/// organisation gets for it.
struct Call {
    method: Method,
    path: String,
    body: Value,
    owner_status: u16,
}

fn calls(ids: &Ids) -> Vec<Call> {
    let Ids { participant, plan, step } = ids;
    let call = |method: Method, path: String, body: Value, owner_status: u16| Call { method, path, body, owner_status };
    let read = |path: String| call(Method::GET, path, Value::Null, 200);
    vec![
        read(format!("/v1/participants/{participant}")),
        read(format!("/v1/plans/{plan}")),
        read(format!("/v1/plans/{plan}/platform")),
        read(format!("/v1/plans/{plan}/solution-scenario")),
        read(format!("/v1/plans/{plan}/steps/{step}")),
        read(format!("/v1/plans/{plan}/progress")),
        call(
            Method::PUT,
            format!("/v1/plans/{plan}/platform"),
            json!({"purpose": "p", "frames": {}, "how_the_participant_notices_it_helps": "h"}),
            200,
        ),
        call(
            Method::PUT,
            format!("/v1/plans/{plan}/solution-scenario"),
            json!({"preferred_future": "f", "signs_of_progress": []}),
            200,
        ),
        call(Method::PATCH, format!("/v1/plans/{plan}"), json!({"status": "active"}), 200),
        call(Method::PATCH, format!("/v1/plans/{plan}/steps/{step}"), json!({"status": "done", "outcome": "o"}), 200),
        call(Method::POST, format!("/v1/plans/{plan}/steps"), json!({"description": "d", "owner": "participant"}), 201),
        call(Method::POST, format!("/v1/plans/{plan}/resources"), json!({"description": "d"}), 201),
        call(
            Method::POST,
            format!("/v1/plans/{plan}/scale-readings"),
            json!({"value": 5, "why_not_lower": "", "one_step_up": ""}),
            201,
        ),
        call(
            Method::POST,
            format!("/v1/plans/{plan}/meetings"),
            json!({"held_on": "2026-11-24", "participants": [], "better_since_last_time": "", "until_next_time": ""}),
            201,
        ),
        // The owner is refused only because the participant has an open plan.
        call(Method::POST, "/v1/plans".into(), json!({"participant_id": participant}), 409),
    ]
}

impl Call {
    /// Sends the call; updates carry the ETag of a freshly created object.
    async fn send(&self, app: &TestApp, token: &str) -> Response {
        let mut request = app.request(self.method.clone(), &self.path, token).header("If-Match", "\"1\"");
        if self.method != Method::GET {
            request = request.json(&self.body);
        }
        request.send().await.unwrap()
    }
}

/// Principals that must not see vasteras-kommun's participant, and whether
/// their role handles personal data at all (the others get 404 on every
/// participant path, lists included).
fn outsiders() -> Vec<(&'static str, String, bool)> {
    let elsewhere =
        TestClaims { assoc: "sala".into(), ..TestClaims::new("vasteras-kommun", "municipality", "case_worker") };
    vec![
        ("a case worker of af-vasteras", af(), true),
        ("an integration of another organisation", token("fk-vastmanland", "social_insurance", "integration"), true),
        ("a coordinator of another organisation", token("samordningsforbundet", "association", "coordinator"), true),
        ("vasteras-kommun in another association", elsewhere.sign(), true),
        ("a project lead of vasteras-kommun", token("vasteras-kommun", "municipality", "project_lead"), false),
        ("an auditor of vasteras-kommun", token("vasteras-kommun", "municipality", "auditor"), false),
        ("an admin of vasteras-kommun", token("vasteras-kommun", "municipality", "admin"), false),
    ]
}

async fn lookup(app: &TestApp, token: &str) -> Response {
    app.post("/v1/participants/lookup", token, &json!({"personal_identity_number": PIN})).await
}

async fn others_get_the_same_404_as_for_an_unknown_id(app: TestApp) {
    let ids = Ids::registered(&app).await;
    let plan_before = body(app.get(&format!("/v1/plans/{}", ids.plan), &kommun()).await).await;
    // What the owner gets for ids that do not exist.
    let mut not_found = Vec::new();
    for call in calls(&Ids::unknown()) {
        not_found.push(problem(call.send(&app, &kommun()).await, 404).await);
    }
    let reference = not_found[0].clone();
    assert!(not_found.iter().all(|p| *p == reference), "one 404 body for everything: {not_found:?}");

    for (who, token, handles_persons) in outsiders() {
        for call in calls(&ids) {
            let response = call.send(&app, &token).await;
            assert_eq!(response.status(), 404, "{who}: {} {}", call.method, call.path);
            assert_eq!(problem(response, 404).await, reference, "{who}: {} {}", call.method, call.path);
        }
        let (list, found) = (app.get("/v1/participants", &token).await, lookup(&app, &token).await);
        if handles_persons {
            assert_eq!(list.status(), 200, "{who}");
            assert_eq!(body(list).await, json!({"items": [], "next_cursor": null}), "{who}: list");
            assert_eq!(found.status(), 200, "{who}");
            assert_eq!(body(found).await, json!({"items": []}), "{who}: lookup");
        } else {
            assert_eq!(problem(list, 404).await, reference, "{who}: list");
            assert_eq!(problem(found, 404).await, reference, "{who}: lookup");
        }
    }

    // Nothing was written: the plan, its parts and its step are as they were,
    // and no other plan was started for the participant.
    let plan_after = body(app.get(&format!("/v1/plans/{}", ids.plan), &kommun()).await).await;
    assert_eq!(plan_after, plan_before);
    assert_eq!(plan_after["steps"][0]["status"], "planned");
    let list = body(app.get("/v1/participants", &kommun()).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// The agency system of the registering organisation acts for it: it sees
/// and writes everything its case workers do, including their steps.
async fn the_registering_organisations_integration_sees_and_writes(app: TestApp) {
    let ids = Ids::registered(&app).await;
    let integration = token("vasteras-kommun", "municipality", "integration");
    for call in calls(&ids) {
        let response = call.send(&app, &integration).await;
        assert_eq!(response.status(), call.owner_status, "{} {}", call.method, call.path);
    }
    let list = body(app.get("/v1/participants", &integration).await).await;
    assert_eq!(list["items"][0]["id"], ids.participant);
    let found = body(lookup(&app, &integration).await).await;
    assert_eq!(found["items"][0]["id"], ids.participant);

    let plan = body(app.get(&format!("/v1/plans/{}", ids.plan), &kommun()).await).await;
    assert_eq!((&plan["status"], &plan["version"]), (&json!("active"), &json!(2)));
    assert_eq!(
        (&plan["platform"]["purpose"], &plan["platform"]["updated_by"]),
        (&json!("p"), &json!("integration@vasteras-kommun"))
    );
    assert_eq!(plan["solution_scenario"]["preferred_future"], "f");
    assert_eq!(plan["steps"][0]["status"], "done", "the case worker's step, changed by the same organisation");
    for (part, count) in [("steps", 2), ("resources", 1), ("scale_readings", 1), ("meetings", 1)] {
        assert_eq!(plan[part].as_array().unwrap().len(), count, "{part}");
    }
}

/// The same organisation slug in another association is another tenant: it
/// registers the same person separately and neither sees the other's record.
async fn associations_never_cross(app: TestApp) {
    let here = app.participant(&kommun(), PIN).await;
    let sala =
        TestClaims { assoc: "sala".into(), ..TestClaims::new("vasteras-kommun", "municipality", "case_worker") }.sign();
    let there = app.participant(&sala, PIN).await;
    assert_ne!(here, there);
    for (token, own, other) in [(kommun(), &here, &there), (sala, &there, &here)] {
        let list = body(app.get("/v1/participants", &token).await).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["id"], *own);
        let found = body(lookup(&app, &token).await).await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        assert_eq!(found["items"][0]["id"], *own);
        problem(app.get(&format!("/v1/participants/{other}"), &token).await, 404).await;
    }
}

/// A step is reached only through its own plan, even within the organisation.
async fn a_step_is_reached_only_through_its_own_plan(app: TestApp) {
    let ids = Ids::registered(&app).await;
    let other = app.participant(&kommun(), PIN_OTHER).await;
    let response = app.post("/v1/plans", &kommun(), &json!({"participant_id": other})).await;
    let other_plan = body(response).await["id"].as_str().unwrap().to_owned();
    let step_path = format!("/v1/plans/{}/steps/{}", ids.plan, ids.step);
    let before = body(app.get(&step_path, &kommun()).await).await;

    let wrong = format!("/v1/plans/{other_plan}/steps/{}", ids.step);
    let reference =
        problem(app.get(&format!("/v1/plans/{other_plan}/steps/{}", uuid::Uuid::new_v4()), &kommun()).await, 404).await;
    assert_eq!(problem(app.get(&wrong, &kommun()).await, 404).await, reference);
    let patched = app.patch(&wrong, &kommun(), Some("\"1\""), &json!({"status": "dropped"})).await;
    assert_eq!(problem(patched, 404).await, reference);
    assert_eq!(body(app.get(&step_path, &kommun()).await).await, before, "unchanged");
}

store_tests!(
    others_get_the_same_404_as_for_an_unknown_id,
    the_registering_organisations_integration_sees_and_writes,
    associations_never_cross,
    a_step_is_reached_only_through_its_own_plan,
);
