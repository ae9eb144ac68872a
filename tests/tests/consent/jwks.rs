//! Tokens verified with the agencies' public keys (JWKS, point 5 of the
//! running notes): RS256 and ES256 keys chosen by `kid`, each key verifying
//! only its own algorithm; HS256 only when a secret is configured.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use samplan_api::config::JwtConfig;
use samplan_tests::*;
use std::process::Command;

/// A fresh private key (PKCS#8 PEM) from the openssl CLI.
fn openssl_key(dir: &std::path::Path, name: &str, args: &[&str]) -> Vec<u8> {
    let path = dir.join(name);
    let output = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .arg("-out")
        .arg(&path)
        .output()
        .expect("openssl runs");
    assert!(output.status.success(), "openssl genpkey: {}", String::from_utf8_lossy(&output.stderr));
    std::fs::read(&path).unwrap()
}

struct Keys {
    rsa: EncodingKey,
    ec: EncodingKey,
    other_rsa: EncodingKey,
    other_ec: EncodingKey,
    set: JwkSet,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let rsa_args = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
    let rsa = EncodingKey::from_rsa_pem(&openssl_key(dir.path(), "rsa.pem", &rsa_args)).expect("RSA key");
    let other_rsa = EncodingKey::from_rsa_pem(&openssl_key(dir.path(), "other.pem", &rsa_args)).expect("RSA key");
    let ec_pem = openssl_key(dir.path(), "ec.pem", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let ec = EncodingKey::from_ec_pem(&ec_pem).expect("EC key");
    let other_ec_pem = openssl_key(dir.path(), "other-ec.pem", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let other_ec = EncodingKey::from_ec_pem(&other_ec_pem).expect("EC key");
    let jwk = |key: &EncodingKey, alg, kid: &str| {
        let mut jwk = Jwk::from_encoding_key(key, alg).expect("public JWK");
        jwk.common.key_id = Some(kid.into());
        jwk
    };
    let set = JwkSet { keys: vec![jwk(&rsa, Algorithm::RS256, "fk-idp"), jwk(&ec, Algorithm::ES256, "af-idp")] };
    Keys { rsa, ec, other_rsa, other_ec, set }
}

fn jwks_only(keys: &Keys) -> JwtConfig {
    JwtConfig { secret: None, public_keys: Some(keys.set.clone()), ..test_jwt() }
}

fn fk_claims() -> TestClaims {
    TestClaims::new("fk-vasteras", "social_insurance", "integration")
}

fn af_claims() -> TestClaims {
    TestClaims::new("af-vasteras", "employment_office", "case_worker")
}

fn sign(claims: &TestClaims, alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

async fn assert_me(app: &TestApp, token: &str, claims: &TestClaims, case: &str) {
    let response = app.get("/v1/me", token).await;
    assert_eq!(response.status(), 200, "{case}");
    let me = body(response).await;
    assert_eq!(me["sub"], claims.sub, "{case}: {me}");
    assert_eq!(me["org"], claims.org, "{case}: {me}");
    assert_eq!(me["assoc"], claims.assoc, "{case}: {me}");
    assert_eq!(me["agency"], claims.agency, "{case}: {me}");
    assert_eq!(me["role"], claims.role, "{case}: {me}");
}

async fn assert_rejected(app: &TestApp, token: &str, case: &str) {
    for path in ["/v1/me", "/v1/participants"] {
        let response = app.get(path, token).await;
        assert_eq!(response.status(), 401, "{case}: GET {path}");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .unwrap_or_else(|| panic!("{case}: no WWW-Authenticate"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer"), "{case}: challenge {challenge:?}");
        problem(response, 401).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_keys_verify_tokens_by_kid_and_algorithm() {
    let keys = keys();
    let app = spawn_app_with(Backend::Sqlite, jwks_only(&keys)).await.unwrap();
    let (fk, af) = (fk_claims(), af_claims());

    assert_me(&app, &sign(&fk, Algorithm::RS256, Some("fk-idp"), &keys.rsa), &fk, "RS256 with fk-idp").await;
    assert_me(&app, &sign(&af, Algorithm::ES256, Some("af-idp"), &keys.ec), &af, "ES256 with af-idp").await;

    assert_rejected(&app, &sign(&fk, Algorithm::RS256, Some("no-such-idp"), &keys.rsa), "unknown kid").await;
    assert_rejected(&app, &sign(&fk, Algorithm::RS256, None, &keys.rsa), "no kid").await;
    assert_rejected(&app, &sign(&fk, Algorithm::ES256, Some("fk-idp"), &keys.ec), "ES256 naming the RSA key").await;
    assert_rejected(&app, &sign(&af, Algorithm::RS256, Some("af-idp"), &keys.rsa), "RS256 naming the EC key").await;
    assert_rejected(&app, &sign(&fk, Algorithm::RS256, Some("fk-idp"), &keys.other_rsa), "RS256 by another key").await;
    assert_rejected(&app, &sign(&af, Algorithm::ES256, Some("af-idp"), &keys.other_ec), "ES256 by another key").await;
    assert_rejected(&app, &fk.sign(), "HS256 with the test secret, no secret configured").await;
    assert_rejected(
        &app,
        &sign(&fk, Algorithm::HS256, Some("fk-idp"), &EncodingKey::from_secret(SECRET.as_bytes())),
        "HS256 naming the RSA key",
    )
    .await;

    // The usual claim checks apply to JWKS tokens too.
    let mut expired = fk_claims();
    expired.exp = chrono::Utc::now().timestamp() - 120;
    expired.nbf = expired.exp - 3600;
    assert_rejected(&app, &sign(&expired, Algorithm::RS256, Some("fk-idp"), &keys.rsa), "expired RS256").await;
    let mut wrong_audience = fk_claims();
    wrong_audience.aud = "someone-else".into();
    assert_rejected(&app, &sign(&wrong_audience, Algorithm::RS256, Some("fk-idp"), &keys.rsa), "wrong aud").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_and_public_keys_together_accept_both() {
    let keys = keys();
    let jwt = JwtConfig { public_keys: Some(keys.set.clone()), ..test_jwt() };
    let app = spawn_app_with(Backend::Sqlite, jwt).await.unwrap();
    let (fk, af) = (fk_claims(), af_claims());
    assert_me(&app, &af.sign(), &af, "HS256 with the secret").await;
    assert_me(&app, &sign(&fk, Algorithm::RS256, Some("fk-idp"), &keys.rsa), &fk, "RS256 with fk-idp").await;
    assert_me(&app, &sign(&af, Algorithm::ES256, Some("af-idp"), &keys.ec), &af, "ES256 with af-idp").await;
    assert_rejected(&app, &sign(&fk, Algorithm::RS256, Some("fk-idp"), &keys.other_rsa), "RS256 by another key").await;
    assert_rejected(&app, &sign(&fk, Algorithm::RS256, Some("unknown"), &keys.rsa), "unknown kid").await;
    let wrong_secret = EncodingKey::from_secret(b"another-secret-that-is-long-enough-for-hs256-xx");
    assert_rejected(&app, &sign(&fk, Algorithm::HS256, None, &wrong_secret), "HS256 with another secret").await;
}
