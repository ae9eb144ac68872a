//! Samplan's schema, one migration per change; a migration that has landed is
//! never edited. The same code runs on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_common_plan;
mod m20261125_000002_consents;
mod m20261125_000003_audit;
mod m20261125_000004_changes;
mod m20261125_000005_idempotency;
mod m20261125_000006_projects;
mod m20261201_000007_coordinator_org;
mod m20261201_000008_idempotency_principal;
mod m20261201_000009_enrolment_unique;
mod m20261201_000010_staged_chains;
mod m20261201_000011_consent_lookup;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_common_plan::Migration),
            Box::new(m20261125_000002_consents::Migration),
            Box::new(m20261125_000003_audit::Migration),
            Box::new(m20261125_000004_changes::Migration),
            Box::new(m20261125_000005_idempotency::Migration),
            Box::new(m20261125_000006_projects::Migration),
            Box::new(m20261201_000007_coordinator_org::Migration),
            Box::new(m20261201_000008_idempotency_principal::Migration),
            Box::new(m20261201_000009_enrolment_unique::Migration),
            Box::new(m20261201_000010_staged_chains::Migration),
            Box::new(m20261201_000011_consent_lookup::Migration),
        ]
    }
}
