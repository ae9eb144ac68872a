use samplan_tests::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client that stalls half-way through its request head is cut off
/// (actix's client request timeout, 10 s) instead of holding a connection.
async fn a_stalled_client_is_cut_off(app: TestApp) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /health/live HTTP/1.1\r\nHost: samplan\r\n").await.unwrap();
    let started = Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the server still holds the stalled connection after 20 s");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(5), "cut off too early: {elapsed:?}");
    let answer = String::from_utf8_lossy(&buffer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

store_tests!(a_stalled_client_is_cut_off);

/// `/health/ready` answers 503 while the store cannot be reached: shown on
/// PostgreSQL by dropping the app's database under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_fails_while_the_store_is_unreachable() {
    let Some(app) = spawn_app(Backend::Postgres).await else { return };
    let ready = || async { app.client.get(app.url("/health/ready")).send().await.unwrap().status().as_u16() };
    assert_eq!(ready().await, 200);
    let base = std::env::var(POSTGRES_ENV).unwrap();
    let name = app.database_url.rsplit('/').next().unwrap().to_owned();
    let admin = sea_orm::Database::connect(base.as_str()).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
    let problem = problem(app.client.get(app.url("/health/ready")).send().await.unwrap(), 503).await;
    assert_eq!(problem["type"], "urn:samplan:problem:unavailable");
    assert_eq!(app.client.get(app.url("/health/live")).send().await.unwrap().status(), 200, "the process lives on");
}
