//! The token rules: every request needs a valid bearer JWT (HS256 with our
//! secret, right issuer and audience, within its validity window, with every
//! claim Samplan relies on present and known). Anything else is 401 with a
//! `WWW-Authenticate: Bearer` challenge and a problem+json body.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use samplan_tests::*;
use serde_json::{Value, json};

/// Paths that require a token: one that only reads the principal, one that
/// reads the store.
const PROTECTED: [&str; 2] = ["/v1/me", "/v1/participants"];

/// The claims of a valid municipality case-worker token, as JSON to tamper with.
fn claims() -> Value {
    serde_json::to_value(TestClaims::new("vasteras-kommun", "municipality", "case_worker")).unwrap()
}

/// `claims()` with `key` set to `value`.
fn claims_with(key: &str, value: Value) -> Value {
    let mut claims = claims();
    claims[key] = value;
    claims
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// A token whose header says `alg` but whose signature is HS256 with our secret.
fn hs256_signed_with_header(alg: &str) -> String {
    let message = format!("{}.{}", b64(&json!({"alg": alg, "typ": "JWT"})), b64(&claims()));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(SECRET.as_bytes()), Algorithm::HS256)
            .unwrap();
    format!("{message}.{signature}")
}

/// Asserts that every protected path answers 401 with a Bearer challenge and
/// a problem+json body to a request with this `Authorization` header (none
/// when `None`).
async fn assert_unauthorized(app: &TestApp, authorization: Option<&str>, case: &str) {
    for path in PROTECTED {
        let mut request = app.client.get(app.url(path));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{case}: GET {path}");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .unwrap_or_else(|| panic!("{case}: GET {path} has no WWW-Authenticate"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer"), "{case}: challenge {challenge:?}");
        let body = problem(response, 401).await;
        if let Some(value) = authorization.filter(|v| v.len() > 20) {
            assert!(!body.to_string().contains(value), "{case}: the credentials are echoed: {body}");
        }
    }
}

async fn assert_token_rejected(app: &TestApp, token: &str, case: &str) {
    assert_unauthorized(app, Some(&format!("Bearer {token}")), case).await;
}

async fn assert_claims_rejected(app: &TestApp, claims: &Value, case: &str) {
    assert_token_rejected(app, &sign_json(claims), case).await;
}

// ---------------------------------------------------------------- the header

async fn missing_authorization_header(app: TestApp) {
    assert_unauthorized(&app, None, "no Authorization header").await;
}

async fn authorization_that_is_not_a_bearer_token(app: TestApp) {
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("vasteras-kommun:secret"));
    assert_unauthorized(&app, Some(&basic), "Basic credentials").await;
    assert_unauthorized(&app, Some(&format!("Token {}", kommun())), "another scheme with a valid token").await;
    assert_unauthorized(&app, Some("Bearer"), "Bearer without a token").await;
    assert_unauthorized(&app, Some("Bearer    "), "Bearer with a blank token").await;
}

async fn garbage_tokens(app: TestApp) {
    for garbage in ["garbage", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.not-base64!.x"] {
        assert_token_rejected(&app, garbage, garbage).await;
    }
    let good = kommun();
    assert_token_rejected(&app, &good[..good.len() - 4], "a truncated signature").await;
}

// ---------------------------------------------------------------- signature and algorithm

async fn token_signed_with_another_secret(app: TestApp) {
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another-secret-that-is-also-long-enough-for-hs256"),
    )
    .unwrap();
    assert_token_rejected(&app, &token, "signed with another secret").await;
}

/// The classic forgery: `alg: none` and no signature at all.
async fn unsigned_alg_none_token(app: TestApp) {
    let header = b64(&json!({"alg": "none", "typ": "JWT"}));
    let token = format!("{header}.{}.", b64(&claims()));
    assert_token_rejected(&app, &token, "alg none").await;
    let token = format!("{}.{}.", b64(&json!({"alg": "None", "typ": "JWT"})), b64(&claims()));
    assert_token_rejected(&app, &token, "alg None").await;
}

/// Only HS256 is accepted: a header naming another algorithm is refused even
/// when the signature is a valid HS256 one, and so is a valid HS512 token.
async fn algorithm_mismatch(app: TestApp) {
    for alg in ["RS256", "HS512", "ES256"] {
        assert_token_rejected(&app, &hs256_signed_with_header(alg), &format!("{alg} header, HS256 signature")).await;
    }
    let hs512 =
        jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims(), &EncodingKey::from_secret(SECRET.as_bytes()))
            .unwrap();
    assert_token_rejected(&app, &hs512, "HS512 with our secret").await;
    // The hand-built HS256 token is accepted, so the rejections above are the algorithm's.
    let response = app.get("/v1/me", &hs256_signed_with_header("HS256")).await;
    assert_eq!(response.status(), 200);
}

// ---------------------------------------------------------------- validity window, issuer, audience

async fn expired_token(app: TestApp) {
    let mut claims = claims_with("exp", json!(now() - 120));
    claims["nbf"] = json!(now() - 3600);
    assert_claims_rejected(&app, &claims, "expired two minutes ago").await;
    // Within the 30 s leeway for clock skew the token still works.
    let mut claims = claims_with("exp", json!(now() - 5));
    claims["nbf"] = json!(now() - 3600);
    assert_eq!(app.get("/v1/me", &sign_json(&claims)).await.status(), 200, "expired 5 s ago, within leeway");
}

async fn token_not_yet_valid(app: TestApp) {
    assert_claims_rejected(&app, &claims_with("nbf", json!(now() + 600)), "nbf in ten minutes").await;
}

async fn wrong_issuer(app: TestApp) {
    assert_claims_rejected(&app, &claims_with("iss", json!("someone-else")), "wrong issuer").await;
    assert_claims_rejected(&app, &claims_with("iss", json!("")), "empty issuer").await;
}

async fn wrong_audience(app: TestApp) {
    assert_claims_rejected(&app, &claims_with("aud", json!("another-api")), "wrong audience").await;
    assert_claims_rejected(&app, &claims_with("aud", json!(["another-api"])), "wrong audience list").await;
}

// ---------------------------------------------------------------- the claims themselves

async fn each_required_claim_missing(app: TestApp) {
    for claim in ["sub", "assoc", "org", "agency", "role", "iss", "aud", "exp", "nbf"] {
        let mut claims = claims();
        claims.as_object_mut().unwrap().remove(claim).expect("the claim is there to remove");
        assert_claims_rejected(&app, &claims, &format!("without {claim}")).await;
    }
}

async fn unknown_or_malformed_claim_values(app: TestApp) {
    let cases = [
        ("agency", json!("police"), "unknown agency"),
        ("agency", json!("Municipality"), "agency in the wrong case"),
        ("role", json!("superuser"), "unknown role"),
        ("role", json!("CaseWorker"), "role in the wrong case"),
        ("org", json!("Vasteras-Kommun"), "org with capitals"),
        ("org", json!("vasteras kommun"), "org with a space"),
        ("org", json!("västerås-kommun"), "org with non-ASCII letters"),
        ("org", json!(""), "empty org"),
        ("assoc", json!("Vastmanland!"), "assoc not a slug"),
        ("sub", json!(""), "empty sub"),
        ("sub", json!("   "), "blank sub"),
        ("exp", json!("tomorrow"), "exp not a number"),
    ];
    for (claim, value, case) in cases {
        assert_claims_rejected(&app, &claims_with(claim, value), case).await;
    }
}

// ---------------------------------------------------------------- success, and no effects on 401

async fn me_returns_the_principal_of_the_token(app: TestApp) {
    let mut claims = TestClaims::new("af-vasteras", "employment_office", "integration");
    claims.sub = "af-system-42".into();
    claims.assoc = "vastmanland".into();
    let response = app.get("/v1/me", &claims.sign()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(response).await,
        json!({
            "sub": "af-system-42",
            "assoc": "vastmanland",
            "org": "af-vasteras",
            "agency": "employment_office",
            "role": "integration",
        })
    );
    let response = app.get("/v1/me", &kommun()).await;
    assert_eq!(
        body(response).await,
        json!({
            "sub": "case_worker@vasteras-kommun",
            "assoc": "vastmanland",
            "org": "vasteras-kommun",
            "agency": "municipality",
            "role": "case_worker",
        })
    );
}

async fn a_rejected_request_stores_nothing(app: TestApp) {
    let registration = json!({"personal_identity_number": PIN, "name": "Anna Andersson"});
    let bad_tokens = [
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(), &EncodingKey::from_secret(b"not-our-secret"))
            .unwrap(),
        sign_json(&claims_with("exp", json!(now() - 3600))),
        sign_json(&claims_with("role", json!("superuser"))),
    ];
    for token in &bad_tokens {
        let response = app.post("/v1/participants", token, &registration).await;
        problem(response, 401).await;
    }
    let response = app.client.post(app.url("/v1/participants")).json(&registration).send().await.unwrap();
    problem(response, 401).await;

    let response = app.get("/v1/participants", &kommun()).await;
    assert_eq!(response.status(), 200);
    let list = body(response).await;
    assert_eq!(list["items"], json!([]), "a 401 stored something: {list}");
    // The registration itself was fine: with a good token it goes through.
    app.participant(&kommun(), PIN).await;
}

store_tests!(
    missing_authorization_header,
    authorization_that_is_not_a_bearer_token,
    garbage_tokens,
    token_signed_with_another_secret,
    unsigned_alg_none_token,
    algorithm_mismatch,
    expired_token,
    token_not_yet_valid,
    wrong_issuer,
    wrong_audience,
    each_required_claim_missing,
    unknown_or_malformed_claim_values,
    me_returns_the_principal_of_the_token,
    a_rejected_request_stores_nothing,
);
