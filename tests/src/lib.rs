//! The black-box test harness: each test starts the real application on port
//! 0 with its own fresh database (a temporary SQLite file, or a new
//! PostgreSQL database when `SAMPLAN_TEST_POSTGRES_URL` is set) and talks to
//! it over HTTP.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder, Response};
use samplan_api::Application;
use samplan_api::config::{Config, JwtConfig};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::io::Write as _;
use std::sync::Once;

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";
pub const ISSUER: &str = "samplan-test";
pub const AUDIENCE: &str = "samplan";
/// The server key of the test apps (`SAMPLAN_SECRET_KEY`).
pub const SERVER_KEY: &str = "test-server-key-that-is-long-enough-0123456789";
pub const POSTGRES_ENV: &str = "SAMPLAN_TEST_POSTGRES_URL";

/// A valid personnummer (checked), and a second one.
pub const PIN: &str = "19811218-9876";
pub const PIN_12: &str = "198112189876";
pub const PIN_OTHER: &str = "121212-1212";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Starts a fresh app on `backend`; `None` when PostgreSQL is not configured
/// (the test is then skipped, and the run says so once).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, test_jwt()).await
}

/// The token settings of the test apps: HS256 with [`SECRET`].
pub fn test_jwt() -> JwtConfig {
    JwtConfig {
        secret: Some(SECRET.as_bytes().to_vec()),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        ..Default::default()
    }
}

/// Starts a fresh app with the given token settings.
pub async fn spawn_app_with(backend: Backend, jwt: JwtConfig) -> Option<TestApp> {
    // `SAMPLAN_TEST_LOG=warn` (a tracing filter) shows the servers' logs.
    static LOGS: Once = Once::new();
    LOGS.call_once(|| {
        if let Ok(filter) = std::env::var("SAMPLAN_TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
    });
    let (database_url, dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            (format!("sqlite://{}?mode=rwc", dir.path().join("samplan.db").display()), Some(dir))
        }
        Backend::Postgres => (fresh_postgres_database().await?, None),
    };
    let config = Config {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.clone(),
        jwt,
        secret_key: samplan_api::config::SecretKey::new(SERVER_KEY.as_bytes()).unwrap(),
    };
    let app = Application::build(config).await.expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Some(TestApp {
        address,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        backend,
        database_url,
        _dir: dir,
    })
}

async fn fresh_postgres_database() -> Option<String> {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        static SKIPPED: Once = Once::new();
        SKIPPED.call_once(|| {
            // Written past the test harness's capture so that the run shows it.
            let _ = writeln!(
                std::io::stderr(),
                "note: {POSTGRES_ENV} is not set: PostgreSQL tests were skipped (SQLite tests ran)"
            );
        });
        return None;
    };
    let name = format!("samplan_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(base.as_str())
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL cannot be reached: {e}"));
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
    admin.close().await.ok();
    let (prefix, _) = base.rsplit_once('/').expect("a database URL ends in /DBNAME");
    Some(format!("{prefix}/{name}"))
}

/// Runs a test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::spawn_app($crate::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::spawn_app($crate::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Claims for a token; adjust fields to build bad tokens.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TestClaims {
    pub sub: String,
    pub assoc: String,
    pub org: String,
    pub agency: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
}

impl TestClaims {
    pub fn new(org: &str, agency: &str, role: &str) -> Self {
        let now = chrono::Utc::now().timestamp();
        TestClaims {
            sub: format!("{role}@{org}"),
            assoc: "vastmanland".into(),
            org: org.into(),
            agency: agency.into(),
            role: role.into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now + 3600,
            nbf: now - 10,
        }
    }

    pub fn sign(&self) -> String {
        sign_json(&serde_json::to_value(self).unwrap())
    }
}

pub fn sign_json(claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET.as_bytes()))
        .unwrap()
}

/// A case worker of Västerås municipality, the usual registering organisation.
pub fn kommun() -> String {
    TestClaims::new("vasteras-kommun", "municipality", "case_worker").sign()
}

/// A case worker of the employment office.
pub fn af() -> String {
    TestClaims::new("af-vasteras", "employment_office", "case_worker").sign()
}

pub fn token(org: &str, agency: &str, role: &str) -> String {
    TestClaims::new(org, agency, role).sign()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(token)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, token).json(body).send().await.unwrap()
    }

    pub async fn put(&self, path: &str, token: &str, etag: Option<&str>, body: &Value) -> Response {
        let mut request = self.request(Method::PUT, path, token).json(body);
        if let Some(etag) = etag {
            request = request.header("If-Match", etag);
        }
        request.send().await.unwrap()
    }

    pub async fn patch(&self, path: &str, token: &str, etag: Option<&str>, body: &Value) -> Response {
        let mut request = self.request(Method::PATCH, path, token).json(body);
        if let Some(etag) = etag {
            request = request.header("If-Match", etag);
        }
        request.send().await.unwrap()
    }

    /// Registers a participant and returns its id.
    pub async fn participant(&self, token: &str, pin: &str) -> String {
        let response =
            self.post("/v1/participants", token, &json!({"personal_identity_number": pin, "name": "Anna Andersson"})).await;
        assert_eq!(response.status(), 201, "register participant");
        body(response).await["id"].as_str().unwrap().to_owned()
    }

    /// Registers a participant, starts a plan and returns the plan id.
    pub async fn plan(&self, token: &str) -> String {
        let participant = self.participant(token, PIN).await;
        let response = self.post("/v1/plans", token, &json!({"participant_id": participant})).await;
        assert_eq!(response.status(), 201, "create plan");
        body(response).await["id"].as_str().unwrap().to_owned()
    }
}

pub async fn body(response: Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Asserts a problem+json answer with `status` and returns its body.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body = body(response).await;
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

pub fn etag(response: &Response) -> String {
    response.headers().get("etag").expect("ETag header").to_str().unwrap().to_owned()
}
