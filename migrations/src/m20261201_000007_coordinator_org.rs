//! The plan's coordinator is a person of an organisation: `sub` alone names
//! no one, since each identity provider hands out its own. Adds the
//! coordinator's organisation beside the `sub`.
//!
//! Existing plans: where the coordinator created the plan, the plan's `org`
//! is the coordinator's organisation and is copied; any other assigned
//! coordinator has no organisation until the plan's coordinator is set again
//! (until then nobody acts as that plan's coordinator).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("plans").add_column(string_len_null("coordinator_org", 64)).take())
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE plans SET coordinator_org = org WHERE coordinator IS NOT NULL AND coordinator = created_by",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("plans").drop_column("coordinator_org").take()).await
    }
}
