//! The common individual plan: participants, plans and the plus model's parts.
//!
//! Every row records the association (`assoc`), the organisation that wrote
//! it (`org`) and the principal (`created_by`, `updated_by`) and when.
//! Editable rows carry a `version` for optimistic concurrency.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Who wrote a row and when: on every table.
fn written(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(string_len("assoc", 64))
        .col(string_len("org", 64))
        .col(string_len("created_by", 255))
        .col(timestamp_with_time_zone("created_at"))
}

/// Who last changed an editable row, when, and its version.
fn edited(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(big_integer("version"))
        .col(string_len("updated_org", 64))
        .col(string_len("updated_by", 255))
        .col(timestamp_with_time_zone("updated_at"))
}

fn plan_fk(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_plan"))
        .from(table, "plan_id")
        .to("plans", "id")
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

fn index(name: &str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).take();
    for column in columns {
        index.col(*column);
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                written(
                    Table::create()
                        .table("participants")
                        .col(pk_uuid("id"))
                        .col(char_len("personal_identity_number", 12))
                        .col(string_len("name", 200)),
                )
                .take(),
            )
            .await?;
        // A person is registered once per organisation. Another organisation
        // may register the same person without learning of the first record:
        // existence is shared only through consent.
        manager
            .create_index(
                index("ux_participants_pin", "participants", &["assoc", "org", "personal_identity_number"])
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(index("ix_participants_scope", "participants", &["assoc", "org", "id"]))
            .await?;

        manager
            .create_table(
                edited(written(
                    Table::create()
                        .table("plans")
                        .col(pk_uuid("id"))
                        .col(uuid("participant_id"))
                        .col(string_len("leading_org", 64))
                        .col(string_len("status", 16))
                        .col(string_len_null("coordinator", 255))
                        .col(string_len_null("support_at_start", 32))
                        .col(string_len_null("support_at_end", 32))
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_plans_participant")
                                .from("plans", "participant_id")
                                .to("participants", "id")
                                .on_delete(ForeignKeyAction::Restrict),
                        ),
                ))
                .take(),
            )
            .await?;
        manager
            .create_index(index("ix_plans_participant", "plans", &["participant_id", "id"]))
            .await?;
        // One open plan per participant, enforced by the store so that two
        // concurrent requests cannot both succeed.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_plans_one_open ON plans (participant_id) \
                 WHERE status IN ('draft', 'active', 'paused')",
            )
            .await?;

        manager
            .create_table(
                edited(written(
                    Table::create()
                        .table("plan_platforms")
                        .col(uuid("plan_id").primary_key())
                        .col(text("purpose"))
                        .col(json("frames"))
                        .col(text("how_the_participant_notices_it_helps"))
                        .foreign_key(&mut plan_fk("plan_platforms")),
                ))
                .take(),
            )
            .await?;

        manager
            .create_table(
                edited(written(
                    Table::create()
                        .table("plan_solution_scenarios")
                        .col(uuid("plan_id").primary_key())
                        .col(text("preferred_future"))
                        .col(json("signs_of_progress"))
                        .foreign_key(&mut plan_fk("plan_solution_scenarios")),
                ))
                .take(),
            )
            .await?;

        manager
            .create_table(
                written(
                    Table::create()
                        .table("plan_resources")
                        .col(pk_uuid("id"))
                        .col(uuid("plan_id"))
                        .col(text("description"))
                        .col(string_len("noted_by", 64))
                        .foreign_key(&mut plan_fk("plan_resources")),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(index("ix_plan_resources_plan", "plan_resources", &["plan_id", "id"]))
            .await?;

        manager
            .create_table(
                edited(written(
                    Table::create()
                        .table("plan_steps")
                        .col(pk_uuid("id"))
                        .col(uuid("plan_id"))
                        .col(text("description"))
                        .col(string_len("owner", 64))
                        .col(date_null("due"))
                        .col(string_len("status", 16))
                        .col(text_null("outcome"))
                        .foreign_key(&mut plan_fk("plan_steps")),
                ))
                .take(),
            )
            .await?;
        manager
            .create_index(index("ix_plan_steps_plan", "plan_steps", &["plan_id", "id"]))
            .await?;

        manager
            .create_table(
                written(
                    Table::create()
                        .table("scale_readings")
                        .col(pk_uuid("id"))
                        .col(uuid("plan_id"))
                        .col(small_integer("value"))
                        .col(text("why_not_lower"))
                        .col(text("one_step_up"))
                        .col(timestamp_with_time_zone("recorded_at"))
                        .foreign_key(&mut plan_fk("scale_readings")),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(index("ix_scale_readings_plan", "scale_readings", &["plan_id", "recorded_at", "id"]))
            .await?;

        manager
            .create_table(
                written(
                    Table::create()
                        .table("meetings")
                        .col(pk_uuid("id"))
                        .col(uuid("plan_id"))
                        .col(date("held_on"))
                        .col(json("participants"))
                        .col(text("better_since_last_time"))
                        .col(text("until_next_time"))
                        .col(timestamp_with_time_zone_null("next_meeting"))
                        .foreign_key(&mut plan_fk("meetings")),
                )
                .take(),
            )
            .await?;
        manager
            .create_index(index("ix_meetings_plan", "meetings", &["plan_id", "held_on", "id"]))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "meetings",
            "scale_readings",
            "plan_steps",
            "plan_resources",
            "plan_solution_scenarios",
            "plan_platforms",
            "plans",
            "participants",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
