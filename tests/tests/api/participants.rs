//! Registering, reading, listing and looking up participants.

use samplan_tests::*;
use serde_json::{Value, json};
use std::sync::Arc;

/// A valid personnummer `YYMMDD-NNNC` born 1985-06-15 with serial `serial`
/// (0..1000), its check digit computed (Luhn over the nine digits).
pub fn valid_pin(serial: u32) -> String {
    assert!(serial < 1000);
    let nine = format!("850615{serial:03}");
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let product = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            product / 10 + product % 10
        })
        .sum();
    format!("{}-{}{}", &nine[..6], &nine[6..], (10 - sum % 10) % 10)
}

/// `valid_pin` in its canonical 12-digit form.
fn twelve(pin: &str) -> String {
    format!("19{}", pin.replace('-', ""))
}

async fn register(app: &TestApp, token: &str, pin: &str, name: &str) -> reqwest::Response {
    app.post("/v1/participants", token, &json!({"personal_identity_number": pin, "name": name})).await
}

async fn lookup(app: &TestApp, token: &str, pin: &str) -> Value {
    let response = app.post("/v1/participants/lookup", token, &json!({"personal_identity_number": pin})).await;
    assert_eq!(response.status(), 200, "lookup");
    body(response).await
}

fn ids(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn generated_numbers_are_valid() {
    // The worked example of Skatteverket's check digit: 811218-987 → 6.
    assert_eq!(samplan_domain::PersonalIdentityNumber::parse(PIN).unwrap().as_str(), PIN_12);
    for serial in [0, 1, 2, 500, 999] {
        let pin = valid_pin(serial);
        let parsed = samplan_domain::PersonalIdentityNumber::parse(&pin).expect("a valid number");
        assert_eq!(parsed.as_str(), twelve(&pin));
    }
}

async fn register_answers_201_with_location_of_the_same_object(app: TestApp) {
    let response = register(&app, &kommun(), PIN, "Anna Andersson").await;
    assert_eq!(response.status(), 201);
    let location = response.headers().get("location").expect("Location").to_str().unwrap().to_owned();
    let created = body(response).await;
    let id = created["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{created}");
    assert_eq!(location, format!("/v1/participants/{id}"));
    assert_eq!(created["personal_identity_number"], PIN_12);
    assert_eq!(created["name"], "Anna Andersson");
    assert_eq!(created["registered_by"], "vasteras-kommun");
    assert!(created["created_at"].is_string(), "{created}");

    let read = app.get(&location, &kommun()).await;
    assert_eq!(read.status(), 200);
    assert_eq!(body(read).await, created);
}

/// 10 and 12 digits, with and without a separator, `+` for 100 years or
/// older, and samordningsnummer (day + 60): all stored as 12 digits.
async fn every_accepted_form_is_stored_as_twelve_digits(app: TestApp) {
    let ten_plain = valid_pin(1).replace('-', "");
    let twelve_plain = twelve(&valid_pin(2));
    let cases = [
        ("811218-9876", PIN_12.to_owned()),
        ("19811278-9873", "198112789873".to_owned()),
        ("121212+1212", "191212121212".to_owned()),
        (PIN_OTHER, "201212121212".to_owned()),
        (ten_plain.as_str(), format!("19{ten_plain}")),
        (twelve_plain.as_str(), twelve_plain.clone()),
    ];
    for (input, stored) in &cases {
        let response = register(&app, &kommun(), input, "Anna Andersson").await;
        assert_eq!(response.status(), 201, "{input}");
        let location = response.headers().get("location").unwrap().to_str().unwrap().to_owned();
        assert_eq!(body(response).await["personal_identity_number"], *stored, "{input}");
        let read = body(app.get(&location, &kommun()).await).await;
        assert_eq!(read["personal_identity_number"], *stored, "{input} read back");
    }
}

async fn same_organisation_registering_the_same_person_twice_conflicts(app: TestApp) {
    let first = body(register(&app, &kommun(), PIN, "Anna Andersson").await).await;
    // The same person, written in another accepted form.
    for again in [PIN, "811218-9876", "8112189876"] {
        let problem = problem(register(&app, &kommun(), again, "Anna A").await, 409).await;
        assert!(!problem["detail"].as_str().unwrap().contains("9876"), "no number in errors: {problem}");
    }
    let list = body(app.get("/v1/participants", &kommun()).await).await;
    assert_eq!(list["items"], json!([first]), "nothing was stored by the refused registrations");

    // Another organisation keeps its own record of the same person.
    let response = register(&app, &af(), PIN, "Anna Andersson").await;
    assert_eq!(response.status(), 201);
    assert_ne!(body(response).await["id"], first["id"]);
}

async fn list_walks_pages_with_the_cursor(app: TestApp) {
    let mut created = Vec::new();
    for serial in 0..5 {
        let response = register(&app, &kommun(), &valid_pin(serial), &format!("Person {serial}")).await;
        assert_eq!(response.status(), 201);
        created.push(body(response).await["id"].as_str().unwrap().to_owned());
    }

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/v1/participants?limit=2".to_owned();
    loop {
        let response = app.get(&path, &kommun()).await;
        assert_eq!(response.status(), 200, "{path}");
        let page = body(response).await;
        sizes.push(page["items"].as_array().unwrap().len());
        seen.extend(ids(&page["items"]));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/participants?limit=2&cursor={cursor}"),
            None => {
                assert!(page["next_cursor"].is_null(), "{page}");
                break;
            }
        }
        assert!(sizes.len() < 10, "the cursor never ends");
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen, created, "every participant once, in creation order");
}

/// A `limit` above 500 is capped at 500, not refused.
async fn limit_above_500_is_capped(app: TestApp) {
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for serial in 0..501 {
        let app = Arc::clone(&app);
        tasks.spawn(async move { register(&app, &kommun(), &valid_pin(serial), "Person").await.status() });
        if tasks.len() >= 16 {
            assert_eq!(tasks.join_next().await.unwrap().unwrap(), 201);
        }
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 201);
    }

    let response = app.get("/v1/participants?limit=100000", &kommun()).await;
    assert_eq!(response.status(), 200);
    let first = body(response).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 500);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let rest = body(app.get(&format!("/v1/participants?limit=100000&cursor={cursor}"), &kommun()).await).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null(), "{rest}");
}

async fn lookup_finds_the_participant_in_any_accepted_form(app: TestApp) {
    let created = body(register(&app, &kommun(), PIN, "Anna Andersson").await).await;
    register(&app, &kommun(), PIN_OTHER, "Bo Berg").await;
    for form in [PIN, PIN_12, "811218-9876", "8112189876", " 19811218-9876 "] {
        assert_eq!(lookup(&app, &kommun(), form).await, json!({"items": [created]}), "{form}");
    }
    assert_eq!(lookup(&app, &kommun(), &valid_pin(7)).await, json!({"items": []}), "unknown number");
}

store_tests!(
    register_answers_201_with_location_of_the_same_object,
    every_accepted_form_is_stored_as_twelve_digits,
    same_organisation_registering_the_same_person_twice_conflicts,
    list_walks_pages_with_the_cursor,
    limit_above_500_is_capped,
    lookup_finds_the_participant_in_any_accepted_form,
);
