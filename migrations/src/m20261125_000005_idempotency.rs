//! Idempotency keys: a POST retried with the same `Idempotency-Key` replays
//! the first answer. Kept in the store, so any API node can answer a retry.

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
                    .table("idempotency_keys")
                    .col(string_len("assoc", 64))
                    .col(string_len("sub", 255))
                    .col(string_len("key", 255))
                    .col(char_len("request_hash", 64))
                    // running → committed (in the write's own transaction) → done
                    .col(string_len("state", 16))
                    .col(small_integer_null("status"))
                    .col(text_null("location"))
                    .col(string_len_null("content_type", 100))
                    .col(text_null("body"))
                    // Whose data the answer carries, so that a replay is audited like the original.
                    .col(uuid_null("participant_id"))
                    .col(string_len_null("route", 128))
                    .col(uuid_null("resource_id"))
                    .col(big_integer("created_at_us"))
                    .primary_key(Index::create().col("assoc").col("sub").col("key"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_created")
                    .table("idempotency_keys")
                    .col("created_at_us")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("idempotency_keys").to_owned()).await
    }
}
