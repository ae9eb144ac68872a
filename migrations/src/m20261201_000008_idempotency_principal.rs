//! Idempotency keys belong to the whole principal (association, organisation,
//! `sub`, role), not to a `sub` alone, and stored answers name the
//! participant they show so a replay can re-check access; 401 audit events
//! may stand for several refused requests (`count`).
//!
//! The key table only holds retries of the last 48 hours, so it is recreated
//! rather than migrated: keys sent before the upgrade are forgotten (a retry
//! of a request made before it is treated as new).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_idempotency_keys_created").table("idempotency_keys").if_exists().to_owned())
            .await?;
        manager.drop_table(Table::drop().table("idempotency_keys").to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(string_len("assoc", 64))
                    .col(string_len("org", 64))
                    .col(string_len("sub", 255))
                    .col(string_len("role", 32))
                    .col(string_len("key", 255))
                    // HMAC-SHA-256 (server key) over the path and body.
                    .col(char_len("request_hash", 64))
                    // running → committed (in the write's own transaction) → done
                    .col(string_len("state", 16))
                    .col(small_integer_null("status"))
                    .col(text_null("location"))
                    .col(string_len_null("content_type", 100))
                    // Personal identity numbers in it are replaced by null.
                    .col(text_null("body"))
                    // Whose data the answer shows: a replay re-checks access to
                    // this participant and is audited like the original.
                    .col(uuid_null("participant_id"))
                    .col(string_len_null("route", 128))
                    .col(uuid_null("resource_id"))
                    .col(big_integer("created_at_us"))
                    .primary_key(Index::create().col("assoc").col("org").col("sub").col("role").col("key"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_created_at")
                    .table("idempotency_keys")
                    .col("created_at_us")
                    .take(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table("audit_events").add_column(big_integer_null("count")).take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The key table keeps its new shape (migration 5's down drops it).
        manager.alter_table(Table::alter().table("audit_events").drop_column("count").take()).await
    }
}
