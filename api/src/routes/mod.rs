//! Routes, one file per resource. `configure` registers every annotated
//! handler, so the OpenAPI document and the router are one list.

pub mod audit;
pub mod changes;
pub mod consents;
pub mod enrolments;
pub mod health;
pub mod organisations;
pub mod participants;
pub mod plans;
pub mod projects;
pub mod reports;

use crate::extract::etag;
use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::live)
        .service(health::ready)
        .service(health::me)
        .service(organisations::list)
        .service(participants::register)
        .service(participants::list)
        .service(participants::lookup)
        .service(participants::read)
        .service(audit::access_log)
        .service(audit::events)
        .service(changes::feed)
        .service(consents::record)
        .service(consents::list)
        .service(consents::read)
        .service(consents::withdraw)
        .service(plans::create_plan)
        .service(plans::read_plan)
        .service(plans::patch_plan)
        .service(plans::platform::read_platform)
        .service(plans::platform::put_platform)
        .service(plans::solution_scenario::read_solution_scenario)
        .service(plans::solution_scenario::put_solution_scenario)
        .service(plans::resources::add_resource)
        .service(plans::steps::add_step)
        .service(plans::steps::read_step)
        .service(plans::steps::patch_step)
        .service(plans::scale_readings::add_scale_reading)
        .service(plans::meetings::add_meeting)
        .service(plans::progress::progress)
        .service(enrolments::enrol)
        .service(enrolments::list)
        .service(enrolments::read)
        .service(enrolments::exit)
        .service(projects::create_project)
        .service(projects::list_projects)
        .service(projects::read_project)
        .service(projects::patch_project)
        .service(projects::add_milestone)
        .service(projects::read_milestone)
        .service(projects::patch_milestone)
        .service(projects::timeline)
        .service(reports::project_report)
        .service(reports::payoff)
        .service(reports::cost_parameters)
        .service(reports::set_cost_parameters);
}

/// 201 with `Location` and the created object.
pub fn created(location: String, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).json(body)
}

/// 201 with `Location`, the created editable object and its `ETag`.
pub fn created_with_etag(location: String, version: i64, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).insert_header((header::ETAG, etag(version))).json(body)
}

/// 200 with the object and its `ETag`.
pub fn with_etag(version: i64, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::ETAG, etag(version))).json(body)
}
