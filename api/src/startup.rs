//! Start-up as a value: bind, connect once, serve.

use crate::auth::TokenVerifier;
use crate::config::Config;
use crate::error::ApiError;
use crate::extract::BODY_LIMIT;
use crate::record::RequestId;
use crate::store::Store;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpRequest, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument as _;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;
use uuid::Uuid;

pub struct Application {
    port: u16,
    server: Server,
    store: Store,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind {bind}: {source}")]
    Bind { bind: String, source: std::io::Error },
    #[error("token keys: {0}")]
    Keys(#[from] crate::auth::KeyError),
    #[error("cannot open the store: {0}")]
    Store(#[from] sea_orm::DbErr),
}

impl Application {
    /// Connects to the store (applying migrations), binds the listener and
    /// builds the server. Bind to port 0 to get a free port.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = Store::connect(&config.database_url).await?;
        let listener = TcpListener::bind(&config.bind)
            .map_err(|source| StartError::Bind { bind: config.bind.clone(), source })?;
        let port = listener.local_addr().map_err(|source| StartError::Bind { bind: config.bind.clone(), source })?.port();
        let verifier = web::Data::new(Arc::new(TokenVerifier::new(&config.jwt)?));
        let openapi = crate::openapi::document();
        crate::metrics::handle();
        let routes = web::Data::new(RouteTable::from_openapi(&openapi));
        let data_store = web::Data::new(store.clone());
        let secret_key = web::Data::new(config.secret_key.clone());
        let unauthenticated = web::Data::new(crate::audit::Unauthenticated::start(store.clone()));
        let purging = store.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(600));
            loop {
                every.tick().await;
                if let Err(error) = crate::store::idempotency::purge(purging.db()).await {
                    tracing::warn!(%error, "purging expired idempotency keys failed");
                }
            }
        });

        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .app_data(data_store.clone())
                .app_data(verifier.clone())
                .app_data(secret_key.clone())
                .app_data(routes.clone())
                .app_data(unauthenticated.clone())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
                .app_data(web::QueryConfig::default().error_handler(|_, _| {
                    ApiError::BadRequest("The query string is invalid: use only the documented parameters.".into())
                        .into()
                }))
                .app_data(web::JsonConfig::default().limit(BODY_LIMIT).error_handler(|_, _| {
                    ApiError::BadRequest("The request body is not valid JSON.".into()).into()
                }))
                .wrap(from_fn(not_modified))
                .wrap(from_fn(crate::idempotency::middleware))
                .wrap(from_fn(body_deadline))
                .wrap(from_fn(crate::audit::middleware))
                .wrap(from_fn(request_log))
                .into_utoipa_app()
                .configure(crate::routes::configure)
                .split_for_parts();
            app.service(crate::metrics::scrape)
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
                .route("/docs", web::get().to(to_the_explorer))
                .default_service(web::to(fallback))
        })
        .listen(listener)
        .map_err(|source| StartError::Bind { bind: config.bind.clone(), source })?
        .client_request_timeout(Duration::from_secs(10))
        .shutdown_timeout(30)
        // Our own signal handling (see `run_until_stopped`): actix's drops
        // connections already accepted but not yet picked up by a worker.
        .disable_signals()
        .run();
        Ok(Application { port, server, store })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until SIGINT/SIGTERM. Then it stops accepting, lets queued and
    /// in-flight requests finish (up to 30 s), and closes the store.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            handle.pause().await;
            // Connections accepted just before the pause still reach a worker.
            tokio::time::sleep(Duration::from_millis(300)).await;
            handle.stop(true).await;
        });
        let served = self.server.await;
        if let Err(error) = self.store.db().clone().close().await {
            tracing::warn!(%error, "closing the store failed");
        }
        served
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One log line per request: method, route template (never the raw path or
/// query), status, duration and request id. A caller's `X-Request-Id` is
/// kept when it is a UUID, so nothing else a client sends reaches the log.
async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(Uuid::now_v7);
    req.extensions_mut().insert(RequestId(request_id));
    let method = crate::metrics::method_label(req.method());
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %request_id);
    let (response, statements) = crate::record::counting_statements(next.call(req).instrument(span.clone())).await;
    let mut response = response?;
    let route = response.request().match_pattern().unwrap_or_else(|| "-".into());
    let status = response.status().as_u16();
    response.headers_mut().insert(
        REQUEST_ID.clone(),
        HeaderValue::from_str(&request_id.to_string()).expect("a UUID is a valid header value"),
    );
    let elapsed = started.elapsed().as_secs_f64();
    crate::metrics::record_request(method, &route, status, elapsed, statements);
    let duration_ms = elapsed * 1000.0;
    span.in_scope(|| tracing::info!(%method, %route, status, duration_ms = format!("{duration_ms:.1}"), "request"));
    Ok(response)
}

/// `/docs` is where people look for the explorer, which lives at `/docs/`.
async fn to_the_explorer() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect().insert_header((actix_web::http::header::LOCATION, "/docs/")).finish()
}

/// Every request body must arrive within `BODY_TIMEOUT` (see `extract`).
async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let payload = req.take_payload();
    req.set_payload(crate::extract::with_body_deadline(payload));
    next.call(req).await
}

/// `If-None-Match` on any GET whose answer has an ETag: 304 when it matches,
/// so pollers re-read only what changed.
async fn not_modified(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let wanted: Option<Vec<String>> = (req.method() == actix_web::http::Method::GET)
        .then(|| req.headers().get(actix_web::http::header::IF_NONE_MATCH))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(|t| t.trim().trim_start_matches("W/").to_owned()).collect());
    let response = next.call(req).await?.map_into_boxed_body();
    let Some(wanted) = wanted else { return Ok(response) };
    let current = response.headers().get(actix_web::http::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match current {
        Some(etag) if response.status() == actix_web::http::StatusCode::OK && wanted.iter().any(|w| *w == etag || w == "*") => {
            let (request, _) = response.into_parts();
            let not_modified = actix_web::HttpResponse::NotModified().insert_header((actix_web::http::header::ETAG, etag)).finish();
            Ok(ServiceResponse::new(request, not_modified))
        }
        _ => Ok(response),
    }
}

/// The paths of the API with their methods, to tell 405 from 404.
pub struct RouteTable(Vec<(actix_web::dev::ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(name, present)| present.then_some(name))
                .collect();
                (actix_web::dev::ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        RouteTable(routes)
    }

    fn allowed(&self, path: &str) -> Option<String> {
        self.0.iter().find(|(def, _)| def.is_match(path)).map(|(_, methods)| methods.join(", "))
    }
}

async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> Result<actix_web::HttpResponse, ApiError> {
    Err(match routes.allowed(req.path()) {
        Some(allow) => ApiError::MethodNotAllowed { allow },
        None => ApiError::NotFound,
    })
}
