//! Probes for orchestrators, and `/v1/me` for integrators checking tokens.

use crate::auth::Auth;
use crate::error::{ApiError, Problem};
use crate::store::Store;
use actix_web::{HttpResponse, get, web};
use samplan_domain::Principal;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/health/live")]
pub async fn live() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The process can serve: the store answers.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "The store cannot be reached", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    if store.ping().await {
        Ok(HttpResponse::Ok().json(Health { status: "ok" }))
    } else {
        Err(ApiError::Unavailable)
    }
}

/// The principal your token stands for.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Principal),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/me")]
pub async fn me(auth: Auth) -> web::Json<Principal> {
    web::Json(auth.principal)
}
