//! Errors are `application/problem+json` (RFC 9457) everywhere: bad bodies,
//! bad paths, bad methods, bad queries. Validation problems name the
//! offending fields (never a personal identity number), and a failed request
//! stores nothing.

use reqwest::{Method, Response};
use samplan_tests::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const PARTICIPANTS: &str = "/v1/participants";

fn registration() -> Value {
    json!({"personal_identity_number": PIN, "name": "Anna Andersson"})
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().unwrap().remove(key).expect("the key is there to remove");
    body
}

/// The `(field, message)` pairs of a validation problem.
fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("a validation problem lists its errors: {problem}"))
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["message"].as_str().unwrap().to_owned()))
        .collect()
}

/// Asserts a 422 problem that names `field`, and returns it.
async fn invalid(response: Response, field: &str) -> Value {
    let problem = problem(response, 422).await;
    assert!(field_errors(&problem).iter().any(|(f, _)| f == field), "{field} is not named: {problem}");
    problem
}

/// The message given for `field` in a validation problem.
fn message_for(problem: &Value, field: &str) -> String {
    field_errors(problem).into_iter().find(|(f, _)| f == field).map(|(_, m)| m).unwrap()
}

/// POSTs `body` as is, with `content_type` (none when `None`).
async fn post_raw(app: &TestApp, path: &str, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> Response {
    let mut request = app.request(Method::POST, path, &kommun()).body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    request.send().await.unwrap()
}

async fn assert_no_participants(app: &TestApp, after: &str) {
    let response = app.get(PARTICIPANTS, &kommun()).await;
    assert_eq!(response.status(), 200);
    let list = body(response).await;
    assert_eq!(list["items"], json!([]), "after {after} a participant was stored: {list}");
}

/// Asserts that the plan has no entries in `part` (`steps`, `meetings`, ...).
async fn assert_plan_part_empty(app: &TestApp, plan: &str, part: &str, after: &str) {
    let response = app.get(&format!("/v1/plans/{plan}"), &kommun()).await;
    assert_eq!(response.status(), 200);
    let plan = body(response).await;
    assert_eq!(plan[part], json!([]), "after {after} the plan's {part} changed: {plan}");
}

/// POSTs a participant registration that must fail with 422 naming `field`,
/// checks that nothing was stored, and returns the problem.
async fn register_invalid(app: &TestApp, body: &Value, field: &str) -> Value {
    let problem = invalid(app.post(PARTICIPANTS, &kommun(), body).await, field).await;
    assert_no_participants(app, &format!("a registration with an invalid {field}")).await;
    problem
}

/// POSTs to a part of a new plan a body that must fail with 422 naming
/// `field`, and checks that the part stayed empty.
async fn add_invalid(app: &TestApp, plan: &str, part: &str, body: &Value, field: &str) {
    let path = format!("/v1/plans/{plan}/{}", part.replace('_', "-"));
    invalid(app.post(&path, &kommun(), body).await, field).await;
    assert_plan_part_empty(app, plan, part, &format!("POST {path} {body}")).await;
}

// ---------------------------------------------------------------- bodies that are not JSON

async fn malformed_json_is_a_bad_request(app: TestApp) {
    let valid_then_garbage = format!("{} x", registration());
    // `{} x` last: it is not JSON, however its object would fail on its own.
    for raw in [r#"{"name": "#, "", "{'name': 'Anna'}", "not json at all", &valid_then_garbage, "{} x"] {
        let response = post_raw(&app, PARTICIPANTS, Some("application/json"), raw.to_owned()).await;
        assert_eq!(response.status(), 400, "{raw:?}");
        problem(response, 400).await;
        assert_no_participants(&app, &format!("malformed body {raw:?}")).await;
    }
}

async fn json_under_another_content_type_is_415(app: TestApp) {
    let json = registration().to_string();
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let response = post_raw(&app, PARTICIPANTS, content_type, json.clone()).await;
        problem(response, 415).await;
        assert_no_participants(&app, &format!("a body sent as {content_type:?}")).await;
    }
    // The same bytes as JSON go through.
    let response = post_raw(&app, PARTICIPANTS, Some("application/json; charset=utf-8"), json).await;
    assert_eq!(response.status(), 201);
}

async fn body_over_64_kib_is_413(app: TestApp) {
    let huge = with(registration(), "name", json!("a".repeat(70_000)));
    let response = app.post(PARTICIPANTS, &kommun(), &huge).await;
    let problem = problem(response, 413).await;
    assert!(!problem.to_string().contains("aaaa"), "the body is echoed: {problem}");
    assert_no_participants(&app, "a 70 000-character name").await;
}

/// Sends a registration with a name of `name_len` characters as a chunked
/// body (no `Content-Length`, so the server must count) over a raw
/// connection, and returns the raw response.
fn post_chunked(app: &TestApp, name_len: usize) -> String {
    use std::io::{Read as _, Write as _};
    let body = with(registration(), "name", json!("a".repeat(name_len))).to_string();
    let host = app.address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {PARTICIPANTS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        kommun()
    );
    let mut request = head.into_bytes();
    for chunk in body.as_bytes().chunks(8192) {
        request.extend(format!("{:x}\r\n", chunk.len()).bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(&request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

async fn chunked_body_over_64_kib_is_413(app: TestApp) {
    let response = tokio::task::block_in_place(|| post_chunked(&app, 70_000));
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.to_ascii_lowercase().contains("content-type: application/problem+json"), "{response}");
    assert!(response.contains(r#""status":413"#), "{response}");
    assert_no_participants(&app, "a chunked 70 000-character name").await;
    // A chunked body within the limit is read as usual.
    let response = tokio::task::block_in_place(|| post_chunked(&app, 20));
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
}

// ---------------------------------------------------------------- JSON with the wrong shape

async fn wrong_type_is_422_naming_the_field(app: TestApp) {
    let problem = register_invalid(&app, &with(registration(), "name", json!(123)), "name").await;
    assert!(message_for(&problem, "name").contains("wrong type"), "{problem}");
    assert!(!problem.to_string().contains("123"), "the value is echoed: {problem}");
    register_invalid(&app, &with(registration(), "name", json!(null)), "name").await;
}

async fn unknown_field_is_422_naming_the_field(app: TestApp) {
    let problem = register_invalid(&app, &with(registration(), "nickname", json!("Annie")), "nickname").await;
    assert_eq!(message_for(&problem, "nickname"), "unknown field");
}

/// A personnummer sent as a JSON key (an unknown field, or a key of the
/// platform's `frames`) is not repeated: the error says where it was.
async fn a_key_that_is_not_a_field_name_is_not_echoed(app: TestApp) {
    let refused = register_invalid(&app, &with(registration(), PIN_12, json!("x")), "*").await;
    assert!(message_for(&refused, "*").starts_with("unknown field"), "{refused}");
    assert_not_echoed(&refused, PIN_12);
    let refused = register_invalid(&app, &with(registration(), PIN, json!("x")), "*").await;
    assert_not_echoed(&refused, PIN);
    // Field-like names are still named, wherever they are.
    let refused = register_invalid(&app, &with(registration(), "favourite_colour", json!("blå")), "favourite_colour").await;
    assert_eq!(message_for(&refused, "favourite_colour"), "unknown field");

    let plan = app.plan(&kommun()).await;
    let path = format!("/v1/plans/{plan}/platform");
    let current = etag(&app.get(&path, &kommun()).await);
    let body = json!({"purpose": "Att mötas", "frames": {PIN: 5}, "how_the_participant_notices_it_helps": "x"});
    let response = app.put(&path, &kommun(), Some(&current), &body).await;
    let refused = problem(response, 422).await;
    assert_eq!(field_errors(&refused)[0].0, "frames.*", "{refused}");
    assert_not_echoed(&refused, PIN);
    // A frame too long under a personnummer key: named by where it is.
    let body = json!({"purpose": "Att mötas", "frames": {PIN: "x".repeat(4001)}, "how_the_participant_notices_it_helps": "x"});
    let refused = problem(app.put(&path, &kommun(), Some(&current), &body).await, 422).await;
    assert!(field_errors(&refused).iter().any(|(f, _)| f == "frames.*"), "{refused}");
    assert_not_echoed(&refused, PIN);
    // The platform was not changed.
    assert_eq!(etag(&app.get(&path, &kommun()).await), current);
}

async fn missing_field_is_422_naming_the_field(app: TestApp) {
    for field in ["name", "personal_identity_number"] {
        let problem = register_invalid(&app, &without(registration(), field), field).await;
        assert_eq!(message_for(&problem, field), "is required");
    }
}

async fn several_invalid_fields_are_listed_together(app: TestApp) {
    let body = json!({"personal_identity_number": "19811218-9875", "name": ""});
    let problem = register_invalid(&app, &body, "personal_identity_number").await;
    let fields: BTreeSet<String> = field_errors(&problem).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, BTreeSet::from(["name".to_owned(), "personal_identity_number".to_owned()]), "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("name") && detail.contains("personal_identity_number"), "{detail}");
}

// ---------------------------------------------------------------- personal identity numbers

/// Asserts that no part of a rejected number travels back: the whole of it,
/// its digits, or its last four characters.
fn assert_not_echoed(problem: &Value, submitted: &str) {
    let text = problem.to_string();
    let digits: String = submitted.chars().filter(char::is_ascii_digit).collect();
    let last_four = &submitted[submitted.len() - 4..];
    for part in [submitted, digits.as_str(), last_four].into_iter().filter(|p| !p.is_empty()) {
        assert!(!text.contains(part), "the error repeats {part:?} of the number: {text}");
    }
}

async fn invalid_personnummer_is_422_without_the_number(app: TestApp) {
    let cases = [
        "19811218-9875", // wrong check digit
        "811218-9875",   // wrong check digit, 10 digits
        "19811318-9876", // month 13
        "19810230-9876", // 30 February
        "19811218-98AB", // letters
        "abcdefghijkl",  // no digits at all
        "1981121898765", // 13 digits
    ];
    for pin in cases {
        let body = with(registration(), "personal_identity_number", json!(pin));
        let problem = register_invalid(&app, &body, "personal_identity_number").await;
        assert_not_echoed(&problem, pin);
        // The lookup validates the same way.
        let response = app.post("/v1/participants/lookup", &kommun(), &json!({"personal_identity_number": pin})).await;
        assert_not_echoed(&invalid(response, "personal_identity_number").await, pin);
    }
}

async fn personnummer_as_a_json_number_is_422_without_the_number(app: TestApp) {
    for (number, digits) in [(json!(198112189876_u64), "198112189876"), (json!(8112189876_u64), "8112189876")] {
        let body = with(registration(), "personal_identity_number", number);
        let problem = register_invalid(&app, &body, "personal_identity_number").await;
        assert_not_echoed(&problem, digits);
    }
}

// ---------------------------------------------------------------- dates and ranges in plan parts

async fn bad_dates_are_422_naming_the_field(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    for due in ["2026-13-45", "2026-02-30", "08/12/2026", "next week"] {
        let step = json!({"description": "Ringa förskolan", "owner": "participant", "due": due});
        add_invalid(&app, &plan, "steps", &step, "due").await;
    }
    let meeting = json!({
        "held_on": "2026-11-24",
        "participants": ["deltagaren", "vasteras-kommun"],
        "better_since_last_time": "Anna har ringt förskolan",
        "until_next_time": "Anna besöker förskolan",
    });
    add_invalid(&app, &plan, "meetings", &with(meeting.clone(), "held_on", json!("yesterday")), "held_on").await;
    add_invalid(&app, &plan, "meetings", &with(meeting, "next_meeting", json!("2026-12-08 kl 10")), "next_meeting")
        .await;
}

async fn scale_value_out_of_range_is_422(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    let reading = json!({"value": 4, "why_not_lower": "Jag går upp på morgnarna", "one_step_up": "Ringa förskolan"});
    for value in [json!(11), json!(-1), json!(255), json!("4"), json!(4.5), json!(null)] {
        add_invalid(&app, &plan, "scale_readings", &with(reading.clone(), "value", value), "value").await;
    }
    // The bounds themselves are fine.
    for value in [0, 10] {
        let response = app
            .post(&format!("/v1/plans/{plan}/scale-readings"), &kommun(), &with(reading.clone(), "value", json!(value)))
            .await;
        assert_eq!(response.status(), 201, "value {value}");
    }
}

// ---------------------------------------------------------------- paths, methods and queries

async fn unknown_path_is_404(app: TestApp) {
    for path in ["/v1/nothing-here", "/nothing", "/v2/participants", "/v1/participants/lookup/extra"] {
        let response = app.get(path, &kommun()).await;
        problem(response, 404).await;
    }
    let response = app.client.get(app.url("/v1/nothing-here")).send().await.unwrap();
    problem(response, 404).await;
}

/// Asserts a 405 problem whose `Allow` header lists exactly `allowed`.
async fn assert_method_not_allowed(app: &TestApp, method: Method, path: &str, allowed: &[&str]) {
    let response = app.request(method.clone(), path, &kommun()).json(&json!({})).send().await.unwrap();
    let allow = response
        .headers()
        .get("allow")
        .unwrap_or_else(|| panic!("{method} {path}: no Allow header"))
        .to_str()
        .unwrap()
        .to_owned();
    let methods: BTreeSet<&str> = allow.split(',').map(str::trim).collect();
    assert_eq!(methods, allowed.iter().copied().collect(), "{method} {path}: Allow: {allow}");
    problem(response, 405).await;
}

async fn wrong_method_is_405_with_allow(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    assert_method_not_allowed(&app, Method::DELETE, PARTICIPANTS, &["GET", "POST"]).await;
    assert_method_not_allowed(&app, Method::PUT, &format!("/v1/plans/{plan}/steps"), &["POST"]).await;
    assert_method_not_allowed(&app, Method::DELETE, &format!("/v1/plans/{plan}"), &["GET", "PATCH"]).await;
    // Nothing was deleted.
    let response = app.get(&format!("/v1/plans/{plan}"), &kommun()).await;
    assert_eq!(response.status(), 200);
}

async fn non_uuid_path_id_is_404(app: TestApp) {
    let plan = app.plan(&kommun()).await;
    for path in [
        "/v1/plans/not-a-uuid".to_owned(),
        "/v1/participants/123".to_owned(),
        format!("/v1/plans/{plan}/steps/not-a-uuid"),
        format!("/v1/plans/{}", &plan[..plan.len() - 1]),
    ] {
        problem(app.get(&path, &kommun()).await, 404).await;
    }
    let step = json!({"description": "Ringa förskolan", "owner": "participant"});
    problem(app.post("/v1/plans/not-a-uuid/steps", &kommun(), &step).await, 404).await;
    assert_plan_part_empty(&app, &plan, "steps", "a step posted to a non-UUID plan").await;
}

async fn bad_paging_query_is_400(app: TestApp) {
    app.participant(&kommun(), PIN).await;
    for query in ["cursor=garbage", "cursor=", "limit=0", "limit=-1", "limit=ten", "color=blue", "limit=10&sort=name"] {
        let response = app.get(&format!("{PARTICIPANTS}?{query}"), &kommun()).await;
        let problem = problem(response, 400).await;
        assert!(problem.get("errors").is_none(), "{query}: {problem}");
    }
    // The documented parameters work.
    let response = app.get(&format!("{PARTICIPANTS}?limit=1"), &kommun()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["items"].as_array().unwrap().len(), 1);
}

store_tests!(
    malformed_json_is_a_bad_request,
    json_under_another_content_type_is_415,
    body_over_64_kib_is_413,
    chunked_body_over_64_kib_is_413,
    wrong_type_is_422_naming_the_field,
    unknown_field_is_422_naming_the_field,
    a_key_that_is_not_a_field_name_is_not_echoed,
    missing_field_is_422_naming_the_field,
    several_invalid_fields_are_listed_together,
    invalid_personnummer_is_422_without_the_number,
    personnummer_as_a_json_number_is_422_without_the_number,
    bad_dates_are_422_naming_the_field,
    scale_value_out_of_range_is_422,
    unknown_path_is_404,
    wrong_method_is_405_with_allow,
    non_uuid_path_id_is_404,
    bad_paging_query_is_400,
);
