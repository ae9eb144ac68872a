//! Black-box tests over HTTP: each test starts the real server on port 0
//! with its own database, on SQLite and (when configured) PostgreSQL.

mod auth;
mod changes;
mod concurrency;
mod errors;
mod idempotency;
mod isolation;
mod openapi;
mod participants;
mod plans;
mod timeouts;
