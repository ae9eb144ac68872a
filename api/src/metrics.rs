//! Prometheus metrics: request counts and latency histograms by route
//! template and status, and the store's pool, at `/metrics`.

use crate::store::Store;
use actix_web::{HttpResponse, get, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DbBackend;
use std::sync::OnceLock;

const COUNT_BUCKETS: [f64; 10] = [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0, 32.0, 64.0, 256.0];
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The process's one recorder (every app in the process shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&LATENCY_BUCKETS)
            .expect("the buckets are not empty")
            .set_buckets_for_metric(Matcher::Full("samplan_http_request_statements".into()), &COUNT_BUCKETS)
            .expect("the buckets are not empty")
            .set_buckets_for_metric(Matcher::Full("samplan_store_batch_size".into()), &COUNT_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; ours is then unused.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// A request method as a label: the standard methods by name, anything a
/// client invents as `OTHER`, so no client text reaches a log line or a
/// metric label and label cardinality stays bounded.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// Records a request: its count and latency by route and status, and the
/// statements the store ran for it by route (`samplan_http_request_statements`:
/// a route whose sum/count grows with the data has an N+1).
pub fn record_request(method: &'static str, route: &str, status: u16, seconds: f64, statements: u32) {
    let labels = [("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
    metrics::counter!("samplan_http_requests_total", &labels).increment(1);
    metrics::histogram!("samplan_http_request_duration_seconds", &labels).record(seconds);
    let labels = [("method", method.to_owned()), ("route", route.to_owned())];
    metrics::histogram!("samplan_http_request_statements", &labels).record(f64::from(statements));
}

/// Metrics in the Prometheus text format, for a scraper on the internal
/// network (like the health probes, it needs no token and carries no
/// personal data).
#[get("/metrics")]
pub async fn scrape(store: web::Data<Store>) -> HttpResponse {
    let (size, idle) = match store.backend() {
        DbBackend::Sqlite => {
            let pool = store.db().get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = store.db().get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    metrics::gauge!("samplan_store_pool_connections").set(f64::from(size));
    metrics::gauge!("samplan_store_pool_idle_connections").set(idle as f64);
    metrics::gauge!("samplan_store_pool_in_use_connections").set(f64::from(size) - idle as f64);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(handle().render())
}
