//! Samplan's HTTP API: routes, extractors, problem+json errors, persistence
//! and configuration. `Application::build` is used by `main` and by the
//! black-box tests alike.

pub mod audit;
pub mod auth;
pub mod config;
pub mod entities;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod record;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod trust;

pub use config::Config;
pub use startup::Application;
