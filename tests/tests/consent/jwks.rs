//! Tokens of the agencies' identity providers, verified against the trust
//! file (`SAMPLAN_TRUST`, DESIGN.md "Trust configuration"): RS256 and ES256
//! keys chosen by issuer and `kid`, each key verifying only its own
//! algorithm and only its own provider's tokens, and each provider speaking
//! only for the association/organisation pairs the file gives it, with the
//! agency kind registered there and staff roles only for the association's
//! own organisation. HS256 only when a secret is configured.
//!
//! Also: `GET /v1/organisations`, and 422 for an organisation the trust
//! file does not register in the caller's association.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use samplan_api::config::JwtConfig;
use samplan_api::trust::Trust;
use samplan_tests::*;
use serde_json::{Value, json};
use std::process::Command;
use std::sync::Arc;

const KOMMUN_IDP: &str = "https://login.vasteras.se";
const AF_IDP: &str = "https://login.arbetsformedlingen.se";
const FORBUND_IDP: &str = "https://login.samordning-vasteras.se";

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

/// The keys of three providers, and the trust file naming them, in a
/// temporary directory that lives as long as this value.
struct Providers {
    /// The municipality's provider (RS256, kid `kommun-rsa`).
    kommun: EncodingKey,
    /// The employment office's provider (ES256, kid `af-ec`).
    af: EncodingKey,
    /// The association's own provider (RS256, kid `forbund-rsa`).
    forbund: EncodingKey,
    /// Keys no one trusts.
    other_rsa: EncodingKey,
    other_ec: EncodingKey,
    trust: Arc<Trust>,
    _dir: tempfile::TempDir,
}

const TRUST_FILE: &str = r#"
[[association]]
id = "vastmanland"
name = "Samordningsförbundet Västerås"

[[association]]
id = "sala"
name = "Samordningsförbundet Sala"

[[organisation]]
association = "vastmanland"
id = "vasteras-kommun"
name = "Västerås stad"
agency = "municipality"

[[organisation]]
association = "vastmanland"
id = "af-vasteras"
name = "Arbetsförmedlingen Västerås"
agency = "employment_office"

[[organisation]]
association = "vastmanland"
id = "samordningsforbundet"
name = "Samordningsförbundet Västerås (kansli)"
agency = "association"

[[organisation]]
association = "sala"
id = "sala-kommun"
name = "Sala kommun"
agency = "municipality"

[[identity_provider]]
issuer = "https://login.vasteras.se"
jwks = "keys/kommun.jwks.json"
speaks_for = ["vastmanland/vasteras-kommun"]

[[identity_provider]]
issuer = "https://login.arbetsformedlingen.se"
jwks = "keys/af.jwks.json"
speaks_for = ["vastmanland/af-vasteras"]

[identity_provider.openid_connect]
discovery_url = "https://login.arbetsformedlingen.se/.well-known/openid-configuration"
client_id = "samplan"
client_secret_env = "SAMPLAN_OIDC_AF_SECRET"

[[identity_provider]]
issuer = "https://login.samordning-vasteras.se"
jwks = "keys/forbund.jwks.json"
speaks_for = ["vastmanland/samordningsforbundet"]
"#;

fn providers() -> Providers {
    let dir = tempfile::tempdir().unwrap();
    let rsa_args = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
    let ec_args = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let rsa = |name: &str| EncodingKey::from_rsa_pem(&openssl_key(dir.path(), name, &rsa_args)).expect("RSA key");
    let ec = |name: &str| EncodingKey::from_ec_pem(&openssl_key(dir.path(), name, &ec_args)).expect("EC key");
    let (kommun, af, forbund, other_rsa, other_ec) =
        (rsa("kommun.pem"), ec("af.pem"), rsa("forbund.pem"), rsa("other.pem"), ec("other-ec.pem"));
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    let jwks = |file: &str, key: &EncodingKey, alg, kid: &str| {
        let mut jwk = Jwk::from_encoding_key(key, alg).expect("public JWK");
        jwk.common.key_id = Some(kid.into());
        let set = JwkSet { keys: vec![jwk] };
        std::fs::write(dir.path().join("keys").join(file), serde_json::to_string(&set).unwrap()).unwrap();
    };
    jwks("kommun.jwks.json", &kommun, Algorithm::RS256, "kommun-rsa");
    jwks("af.jwks.json", &af, Algorithm::ES256, "af-ec");
    jwks("forbund.jwks.json", &forbund, Algorithm::RS256, "forbund-rsa");
    let path = dir.path().join("trust.toml");
    std::fs::write(&path, TRUST_FILE).unwrap();
    let trust = Arc::new(Trust::load(&path).expect("the trust file parses"));
    Providers { kommun, af, forbund, other_rsa, other_ec, trust, _dir: dir }
}

/// Only the trust file: no HS256 secret.
fn trust_only(providers: &Providers) -> JwtConfig {
    JwtConfig { secret: None, trust: Some(providers.trust.clone()), ..test_jwt() }
}

/// The trust file and the test secret (HS256 tokens trust every claim).
fn trust_and_secret(providers: &Providers) -> JwtConfig {
    JwtConfig { trust: Some(providers.trust.clone()), ..test_jwt() }
}

/// Claims as the provider `iss` would issue them.
fn claims(iss: &str, org: &str, agency: &str, role: &str) -> TestClaims {
    TestClaims { iss: iss.into(), ..TestClaims::new(org, agency, role) }
}

fn sign(claims: &TestClaims, alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

/// Starts one app per configured store with `jwt`.
async fn apps(jwt: &JwtConfig) -> Vec<TestApp> {
    let mut apps = vec![spawn_app_with(Backend::Sqlite, jwt.clone()).await.unwrap()];
    apps.extend(spawn_app_with(Backend::Postgres, jwt.clone()).await);
    apps
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

/// 401 with a challenge on every path; returns the problem's detail.
async fn assert_rejected(app: &TestApp, token: &str, case: &str) -> String {
    let mut detail = String::new();
    for path in ["/v1/me", "/v1/participants", "/v1/organisations"] {
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
        detail = problem(response, 401).await["detail"].as_str().unwrap().to_owned();
    }
    detail
}

/// A refusal whose detail names the failed check and echoes none of `claims`.
async fn assert_refused_by(app: &TestApp, token: &str, claims: &TestClaims, check: &str, kid: &str, case: &str) {
    let detail = assert_rejected(app, token, case).await;
    assert!(detail.contains(check), "{case}: the detail should name the check {check:?}: {detail}");
    // "association" is also the name of the kind a staff role needs.
    let claimed = [&claims.sub, &claims.assoc, &claims.org, &claims.agency, &claims.role, &claims.iss, &kid.to_owned()];
    for value in claimed.into_iter().filter(|v| v.as_str() != "association") {
        assert!(!detail.contains(value.as_str()), "{case}: the detail echoes {value:?}: {detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_verify_their_own_tokens_by_kid_and_algorithm() {
    let p = providers();
    for app in apps(&trust_only(&p)).await {
        let kommun = claims(KOMMUN_IDP, "vasteras-kommun", "municipality", "case_worker");
        let af = claims(AF_IDP, "af-vasteras", "employment_office", "integration");
        let coordinator = claims(FORBUND_IDP, "samordningsforbundet", "association", "coordinator");
        assert_me(&app, &sign(&kommun, Algorithm::RS256, Some("kommun-rsa"), &p.kommun), &kommun, "kommun RS256").await;
        assert_me(&app, &sign(&af, Algorithm::ES256, Some("af-ec"), &p.af), &af, "af ES256").await;
        let staff = sign(&coordinator, Algorithm::RS256, Some("forbund-rsa"), &p.forbund);
        assert_me(&app, &staff, &coordinator, "the association's coordinator").await;

        assert_rejected(&app, &sign(&kommun, Algorithm::RS256, None, &p.kommun), "no kid").await;
        assert_rejected(&app, &sign(&kommun, Algorithm::ES256, Some("kommun-rsa"), &p.af), "ES256 naming an RSA key").await;
        assert_rejected(&app, &sign(&af, Algorithm::RS256, Some("af-ec"), &p.kommun), "RS256 naming an EC key").await;
        assert_rejected(&app, &sign(&kommun, Algorithm::RS256, Some("kommun-rsa"), &p.other_rsa), "another RSA key").await;
        assert_rejected(&app, &sign(&af, Algorithm::ES256, Some("af-ec"), &p.other_ec), "another EC key").await;
        let hs256 = TestClaims { iss: ISSUER.into(), ..kommun.clone() };
        assert_rejected(&app, &hs256.sign(), "HS256 with the test secret, no secret configured").await;
        let secret = EncodingKey::from_secret(SECRET.as_bytes());
        assert_rejected(&app, &sign(&kommun, Algorithm::HS256, Some("kommun-rsa"), &secret), "HS256 naming an RSA key").await;

        // The usual claim checks apply to provider tokens too.
        let mut expired = kommun.clone();
        expired.exp = chrono::Utc::now().timestamp() - 120;
        expired.nbf = expired.exp - 3600;
        assert_rejected(&app, &sign(&expired, Algorithm::RS256, Some("kommun-rsa"), &p.kommun), "expired").await;
        let wrong_audience = TestClaims { aud: "someone-else".into(), ..kommun.clone() };
        assert_rejected(&app, &sign(&wrong_audience, Algorithm::RS256, Some("kommun-rsa"), &p.kommun), "wrong aud").await;
    }
}

/// The attacks of issue 10, point 1: one provider's key claiming what
/// another provider, another association or another kind of organisation
/// would have to vouch for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_speaks_only_for_its_own_organisations() {
    let p = providers();
    for app in apps(&trust_only(&p)).await {
        let by_kommun = |claims: &TestClaims| sign(claims, Algorithm::RS256, Some("kommun-rsa"), &p.kommun);
        let speaks_for = "does not speak for its association and organisation";

        let as_af = claims(KOMMUN_IDP, "af-vasteras", "employment_office", "case_worker");
        assert_refused_by(&app, &by_kommun(&as_af), &as_af, speaks_for, "kommun-rsa", "an org it does not speak for").await;
        let as_forbund = claims(KOMMUN_IDP, "samordningsforbundet", "association", "auditor");
        let case = "the association's org, as auditor";
        assert_refused_by(&app, &by_kommun(&as_forbund), &as_forbund, speaks_for, "kommun-rsa", case).await;
        let elsewhere = TestClaims { assoc: "sala".into(), ..claims(KOMMUN_IDP, "vasteras-kommun", "municipality", "case_worker") };
        assert_refused_by(&app, &by_kommun(&elsewhere), &elsewhere, speaks_for, "kommun-rsa", "another association").await;
        let sala = TestClaims { assoc: "sala".into(), ..claims(KOMMUN_IDP, "sala-kommun", "municipality", "case_worker") };
        assert_refused_by(&app, &by_kommun(&sala), &sala, speaks_for, "kommun-rsa", "another association's org").await;
        let as_kommun = claims(AF_IDP, "vasteras-kommun", "municipality", "case_worker");
        let by_af = sign(&as_kommun, Algorithm::ES256, Some("af-ec"), &p.af);
        assert_refused_by(&app, &by_af, &as_kommun, speaks_for, "af-ec", "af's provider as the municipality").await;

        let wrong_kind = claims(KOMMUN_IDP, "vasteras-kommun", "region", "case_worker");
        let check = "agency is not the kind registered";
        assert_refused_by(&app, &by_kommun(&wrong_kind), &wrong_kind, check, "kommun-rsa", "wrong agency kind").await;
        let posing = claims(KOMMUN_IDP, "vasteras-kommun", "association", "coordinator");
        assert_refused_by(&app, &by_kommun(&posing), &posing, check, "kommun-rsa", "posing as association staff").await;

        for role in ["auditor", "coordinator", "project_lead", "admin"] {
            let elevated = claims(KOMMUN_IDP, "vasteras-kommun", "municipality", role);
            let check = "role is given only to the staff of an organisation of kind association";
            assert_refused_by(&app, &by_kommun(&elevated), &elevated, check, "kommun-rsa", role).await;
        }

        // The municipality's token naming the employment office's key, signed with that key.
        let kommun = claims(KOMMUN_IDP, "vasteras-kommun", "municipality", "case_worker");
        let foreign_kid = sign(&kommun, Algorithm::ES256, Some("af-ec"), &p.af);
        let check = "key (kid) is not one of its identity provider's keys";
        assert_refused_by(&app, &foreign_kid, &kommun, check, "af-ec", "a kid of another provider").await;

        let unknown = claims("https://login.evil.example", "vasteras-kommun", "municipality", "case_worker");
        let check = "issuer (iss) is not a trusted identity provider";
        let forged = sign(&unknown, Algorithm::RS256, Some("kommun-rsa"), &p.kommun);
        assert_refused_by(&app, &forged, &unknown, check, "kommun-rsa", "unknown iss").await;
        let dev_issuer = claims(ISSUER, "vasteras-kommun", "municipality", "case_worker");
        assert_refused_by(&app, &by_kommun(&dev_issuer), &dev_issuer, check, "kommun-rsa", "the HS256 issuer").await;

        // Nothing of it was let in: the refused tokens left no participant behind.
        let kommun_token = by_kommun(&kommun);
        let listed = body(app.get("/v1/participants", &kommun_token).await).await;
        assert_eq!(listed["items"], json!([]), "{listed}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_and_trust_file_together_accept_both() {
    let p = providers();
    let app = spawn_app_with(Backend::Sqlite, trust_and_secret(&p)).await.unwrap();
    let hs256 = TestClaims::new("af-vasteras", "employment_office", "case_worker");
    assert_me(&app, &hs256.sign(), &hs256, "HS256 with the secret").await;
    let kommun = claims(KOMMUN_IDP, "vasteras-kommun", "municipality", "case_worker");
    assert_me(&app, &sign(&kommun, Algorithm::RS256, Some("kommun-rsa"), &p.kommun), &kommun, "RS256").await;
    assert_rejected(&app, &sign(&kommun, Algorithm::RS256, Some("kommun-rsa"), &p.other_rsa), "another key").await;
    let wrong_secret = EncodingKey::from_secret(b"another-secret-that-is-long-enough-for-hs256-xx");
    assert_rejected(&app, &sign(&hs256, Algorithm::HS256, None, &wrong_secret), "HS256 with another secret").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_lists_the_callers_association_from_the_trust_file() {
    let p = providers();
    for app in apps(&trust_only(&p)).await {
        let kommun = claims(KOMMUN_IDP, "vasteras-kommun", "municipality", "case_worker");
        let token = sign(&kommun, Algorithm::RS256, Some("kommun-rsa"), &p.kommun);
        let response = app.get("/v1/organisations", &token).await;
        assert_eq!(response.status(), 200);
        let listed = body(response).await;
        assert_eq!(
            listed,
            json!({"registered_only": true, "items": [
                {"id": "vasteras-kommun", "name": "Västerås stad", "agency": "municipality"},
                {"id": "af-vasteras", "name": "Arbetsförmedlingen Västerås", "agency": "employment_office"},
                {"id": "samordningsforbundet", "name": "Samordningsförbundet Västerås (kansli)", "agency": "association"},
            ]})
        );
    }
    // Another association sees its own (an HS256 test token; the trust file still lists).
    let app = spawn_app_with(Backend::Sqlite, trust_and_secret(&p)).await.unwrap();
    let sala = TestClaims { assoc: "sala".into(), ..TestClaims::new("sala-kommun", "municipality", "case_worker") };
    let listed = body(app.get("/v1/organisations", &sala.sign()).await).await;
    assert_eq!(
        listed,
        json!({"registered_only": true, "items": [{"id": "sala-kommun", "name": "Sala kommun", "agency": "municipality"}]})
    );
    // Without a trust file there is no register: an empty list that says so.
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let listed = body(app.get("/v1/organisations", &kommun()).await).await;
    assert_eq!(listed, json!({"registered_only": false, "items": []}));
}

fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

async fn assert_unregistered(response: reqwest::Response, field: &str, case: &str) {
    let problem = problem(response, 422).await;
    assert_eq!(field_names(&problem), vec![field.to_owned()], "{case}: {problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("registered in your association"), "{case}: {problem}");
}

/// With a trust file, naming an organisation it does not register in the
/// caller's association is a 422 naming the field, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_not_registered_in_the_association_are_refused() {
    let p = providers();
    for app in apps(&trust_and_secret(&p)).await {
        let owner = kommun();
        let participant = app.participant(&owner, PIN).await;
        let consents = format!("/v1/participants/{participant}/consents");
        let consent = |orgs: &[&str]| {
            json!({"organisations": orgs, "purpose": "samordnad rehabilitering",
                   "valid_from": "2026-01-01", "valid_until": "2030-12-31"})
        };
        // Unknown, and registered only in another association.
        for org in ["okand-organisation", "sala-kommun"] {
            let response = app.post(&consents, &owner, &consent(&["af-vasteras", org])).await;
            assert_unregistered(response, "organisations[1]", org).await;
        }
        let listed = body(app.get(&consents, &owner).await).await;
        assert_eq!(listed["items"], json!([]), "no consent was stored: {listed}");
        let response = app.post(&consents, &owner, &consent(&["af-vasteras"])).await;
        assert_eq!(response.status(), 201, "a registered organisation");

        let plan = body(app.post("/v1/plans", &owner, &json!({"participant_id": participant})).await).await;
        let plan = plan["id"].as_str().unwrap().to_owned();
        let steps = format!("/v1/plans/{plan}/steps");
        let response = app.post(&steps, &owner, &json!({"description": "Ett steg", "owner": "sala-kommun"})).await;
        assert_unregistered(response, "owner", "step owner").await;
        let response = app.post(&steps, &owner, &json!({"description": "Ett steg", "owner": "af-vasteras"})).await;
        assert_eq!(response.status(), 201, "a registered, consented owner");
        let step = body(response).await["id"].as_str().unwrap().to_owned();
        let response =
            app.patch(&format!("{steps}/{step}"), &owner, Some("\"1\""), &json!({"owner": "okand-organisation"})).await;
        assert_unregistered(response, "owner", "changed step owner").await;
        let response = app
            .post(&format!("/v1/plans/{plan}/resources"), &owner, &json!({"description": "Stark", "noted_by": "sala-kommun"}))
            .await;
        assert_unregistered(response, "noted_by", "resource noted_by").await;

        let platform = format!("/v1/plans/{plan}/platform");
        let tag = etag(&app.get(&platform, &owner).await);
        let frames = json!({"purpose": "", "how_the_participant_notices_it_helps": "",
                            "frames": {"af-vasteras": "arbetsträning", "okand-organisation": "allt"}});
        assert_unregistered(app.put(&platform, &owner, Some(&tag), &frames).await, "frames", "platform frames").await;
        let stored = body(app.get(&platform, &owner).await).await;
        assert_eq!(stored["frames"], json!({}), "{stored}");

        let plan_path = format!("/v1/plans/{plan}");
        let tag = etag(&app.get(&plan_path, &owner).await);
        let coordinator = json!({"coordinator": "samordnare-1", "coordinator_org": "okand-organisation"});
        assert_unregistered(app.patch(&plan_path, &owner, Some(&tag), &coordinator).await, "coordinator_org", "coordinator").await;
        let not_staff = json!({"coordinator": "samordnare-1", "coordinator_org": "af-vasteras"});
        let refused = problem(app.patch(&plan_path, &owner, Some(&tag), &not_staff).await, 422).await;
        assert_eq!(field_names(&refused), vec!["coordinator_org".to_owned()], "{refused}");
        let staff = json!({"coordinator": "samordnare-1", "coordinator_org": "samordningsforbundet"});
        let response = app.patch(&plan_path, &owner, Some(&tag), &staff).await;
        assert_eq!(response.status(), 200, "the association's own organisation");
        assert_eq!(body(response).await["coordinator_org"], "samordningsforbundet");

        let lead = token("samordningsforbundet", "association", "project_lead");
        let project = json!({"name": "Steget vidare", "funding_organisations": ["okand-organisation"],
                             "period_from": "2026-01-01", "period_until": "2026-12-31"});
        let response = app.post("/v1/projects", &lead, &project).await;
        let refused = problem(response, 422).await;
        assert!(field_names(&refused).contains(&"funding_organisations[0]".to_owned()), "{refused}");
    }
}
