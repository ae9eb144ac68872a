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

/// A client that sends its head and then stalls in its body is answered 408
/// and cut off within the body timeout (10 s), like a stalled head; nothing
/// is stored.
async fn a_stalled_body_is_cut_off(app: TestApp) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/participants HTTP/1.1\r\nHost: samplan\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": ",
        kommun()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the server still holds the stalled connection after 20 s");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(8) && elapsed < Duration::from_secs(15), "cut off after {elapsed:?}");
    let answer = String::from_utf8_lossy(&buffer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(answer.contains("urn:samplan:problem:request-timeout"), "{answer}");
    let listed = body(app.get("/v1/participants", &kommun()).await).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "{listed}");
}

/// A chunked body that stalls, sent with an Idempotency-Key (whose
/// middleware reads the body first), is answered 408 at the same deadline.
/// (actix then drains a chunked body rather than closing at once; see the
/// README.)
async fn a_stalled_chunked_body_with_an_idempotency_key_is_answered_408(app: TestApp) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/participants HTTP/1.1\r\nHost: samplan\r\nAuthorization: Bearer {}\r\nIdempotency-Key: k1\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"nam\r\n",
        kommun()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut buffer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buffer)).await;
    let n = read.expect("an answer within 20 s").unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(8) && elapsed < Duration::from_secs(15), "answered after {elapsed:?}");
    let answer = String::from_utf8_lossy(&buffer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let listed = body(app.get("/v1/participants", &kommun()).await).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "{listed}");
}

store_tests!(
    a_stalled_client_is_cut_off,
    a_stalled_body_is_cut_off,
    a_stalled_chunked_body_with_an_idempotency_key_is_answered_408
);
