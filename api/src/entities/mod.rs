//! sea-orm entities, one per table of the migrations.

pub mod audit_event;
pub mod audit_head;
pub mod audit_pending;
pub mod change;
pub mod change_pending;
pub mod consent;
pub mod cost_parameter;
pub mod enrolment;
pub mod idempotency_key;
pub mod consent_organisation;
pub mod meeting;
pub mod milestone;
pub mod participant;
pub mod plan;
pub mod project;
pub mod plan_platform;
pub mod plan_resource;
pub mod plan_solution_scenario;
pub mod plan_step;
pub mod scale_reading;
