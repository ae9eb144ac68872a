//! Every access decision on one participant reads its consents with the
//! organisations they name (`store::plans::consents_with_organisations`),
//! and every list asks whether a consent names the caller for a participant
//! (`store::scope`). `consent_organisations` was keyed by consent and by
//! organisation only, so both scanned the table: an index by participant.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_consent_organisations_participant")
                    .table("consent_organisations")
                    .col("participant_id")
                    .col("org")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_consent_organisations_participant").table("consent_organisations").to_owned())
            .await
    }
}
