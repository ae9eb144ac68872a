//! Projects (insatser) with their strategic timelines, the enrolment of
//! plans in projects, and the effective-dated cost parameters of pay-off
//! reports (never overwritten: each change is a new version).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn written(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(string_len("assoc", 64))
        .col(string_len("org", 64))
        .col(string_len("created_by", 255))
        .col(timestamp_with_time_zone("created_at"))
        .col(big_integer("version"))
        .col(string_len("updated_org", 64))
        .col(string_len("updated_by", 255))
        .col(timestamp_with_time_zone("updated_at"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                written(
                    Table::create()
                        .table("projects")
                        .col(pk_uuid("id"))
                        .col(string_len("name", 200))
                        .col(json("funding_organisations"))
                        .col(date("period_from"))
                        .col(date("period_until"))
                        .col(json("platform"))
                        .col(json("solution_scenario"))
                        .col(json("resources")),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_projects_assoc").table("projects").col("assoc").col("id").take())
            .await?;
        manager
            .create_table(
                written(
                    Table::create()
                        .table("milestones")
                        .col(pk_uuid("id"))
                        .col(uuid("project_id"))
                        .col(text("what"))
                        .col(date("due"))
                        .col(string_len("owner_org", 64))
                        .col(string_len("status", 16))
                        .col(text_null("what_changed"))
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_milestones_project")
                                .from("milestones", "project_id")
                                .to("projects", "id")
                                .on_delete(ForeignKeyAction::Restrict),
                        ),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_milestones_project").table("milestones").col("project_id").col("due").take(),
            )
            .await?;
        manager
            .create_table(
                written(
                    Table::create()
                        .table("enrolments")
                        .col(pk_uuid("id"))
                        .col(uuid("project_id"))
                        .col(uuid("plan_id"))
                        .col(uuid("participant_id"))
                        .col(date("enrolled_on"))
                        .col(string_len("support_at_start", 32))
                        .col(date_null("left_on"))
                        .col(string_len_null("exit_reason", 16))
                        .col(string_len_null("support_at_exit", 32))
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_enrolments_project")
                                .from("enrolments", "project_id")
                                .to("projects", "id")
                                .on_delete(ForeignKeyAction::Restrict),
                        )
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_enrolments_plan")
                                .from("enrolments", "plan_id")
                                .to("plans", "id")
                                .on_delete(ForeignKeyAction::Restrict),
                        ),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_enrolments_project").table("enrolments").col("project_id").col("enrolled_on").take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_enrolments_plan").table("enrolments").col("plan_id").take())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("cost_parameters")
                    .col(string_len("assoc", 64))
                    .col(big_integer("version"))
                    .col(date("effective_from"))
                    .col(big_integer("annual_cost_of_exclusion_sek"))
                    .col(string_len("created_by", 255))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("assoc").col("version"))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["cost_parameters", "enrolments", "milestones", "projects"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
