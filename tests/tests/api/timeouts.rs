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
