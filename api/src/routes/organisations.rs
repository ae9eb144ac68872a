//! The organisations of the caller's association, from the trust file.

use crate::auth::Auth;
use crate::error::Problem;
use actix_web::{get, web};
use samplan_domain::Organisation;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationList {
    /// Your association's organisations, in the trust file's order.
    pub items: Vec<Organisation>,
    /// `true`: the server has a trust file, and consents, step owners,
    /// frames, milestones and coordinators may name only these
    /// organisations (422 otherwise). `false`: no trust file (development
    /// and tests): the list is empty and any organisation slug is accepted.
    pub registered_only: bool,
}

/// The organisations of your association, with their agency kind.
#[utoipa::path(
    tag = "operations",
    operation_id = "list_organisations",
    responses(
        (status = 200, body = OrganisationList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/organisations")]
pub async fn list(auth: Auth) -> web::Json<OrganisationList> {
    let items = auth.trust.as_ref().map(|trust| trust.organisations(&auth.assoc).to_vec()).unwrap_or_default();
    web::Json(OrganisationList { items, registered_only: auth.trust.is_some() })
}
