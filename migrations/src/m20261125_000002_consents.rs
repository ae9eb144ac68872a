//! Consent (samtycke): which organisations may share information about a
//! participant, for what purpose and for how long. A withdrawn consent is
//! kept, never deleted. `consent_organisations` lists the named
//! organisations one per row so that visibility is a join, not a JSON scan.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("consents")
                    .col(pk_uuid("id"))
                    .col(uuid("participant_id"))
                    .col(text("purpose"))
                    .col(date("valid_from"))
                    .col(date("valid_until"))
                    .col(timestamp_with_time_zone_null("withdrawn_at"))
                    .col(string_len_null("withdrawn_by", 255))
                    .col(string_len_null("withdrawn_org", 64))
                    .col(string_len("assoc", 64))
                    .col(string_len("org", 64))
                    .col(string_len("created_by", 255))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(big_integer("version"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_participant")
                            .from("consents", "participant_id")
                            .to("participants", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_consents_participant").table("consents").col("participant_id").col("id").take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consent_organisations")
                    .col(uuid("consent_id"))
                    .col(string_len("org", 64))
                    .col(uuid("participant_id"))
                    .primary_key(Index::create().col("consent_id").col("org"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consent_organisations_consent")
                            .from("consent_organisations", "consent_id")
                            .to("consents", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .take(),
            )
            .await?;
        // The visibility subquery: which participants name this organisation.
        manager
            .create_index(
                Index::create()
                    .name("ix_consent_organisations_org")
                    .table("consent_organisations")
                    .col("org")
                    .col("participant_id")
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("consent_organisations").to_owned()).await?;
        manager.drop_table(Table::drop().table("consents").to_owned()).await
    }
}
