//! A plan is enrolled in a project at most once at a time: one open
//! enrolment (no `left_on`) per plan and project, enforced by the store so
//! that two concurrent enrolments cannot both succeed. A plan that has left
//! may be enrolled again.
//!
//! Two open enrolments of one plan in one project that the race let in
//! before this index cannot be told apart here (which is the real one, and
//! when did the other end?), so the migration stops and names how many
//! there are instead of choosing: record the exit of the extra ones, then
//! start again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::Statement;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let duplicated = db
            .query_one_raw(Statement::from_string(
                manager.get_database_backend(),
                "SELECT COUNT(*) AS n FROM (SELECT plan_id FROM enrolments WHERE left_on IS NULL \
                 GROUP BY plan_id, project_id HAVING COUNT(*) > 1) AS twice",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if duplicated > 0 {
            return Err(DbErr::Migration(format!(
                "{duplicated} plan(s) are enrolled twice in the same project at once; \
                 record the exit of the extra enrolments (left_on) and start again"
            )));
        }
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_enrolments_open ON enrolments (plan_id, project_id) WHERE left_on IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ux_enrolments_open").table("enrolments").to_owned()).await
    }
}
