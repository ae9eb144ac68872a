//! The audit trail: append-only, hash-chained per association.
//!
//! `audit_events` refuses UPDATE and DELETE (and, on PostgreSQL, TRUNCATE)
//! by trigger. `audit_heads` holds each chain's last sequence number and
//! hash, so that any number of API nodes append to one chain: the head row
//! is locked for the length of the appending transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_events")
                    .col(string_len("assoc", 64))
                    .col(big_integer("seq"))
                    .col(uuid("id"))
                    // Microseconds since the epoch: exact on both stores, so
                    // the hash over it can be recomputed.
                    .col(big_integer("occurred_at_us"))
                    .col(string_len("sub", 255))
                    .col(string_len("org", 64))
                    .col(string_len("agency", 32))
                    .col(string_len("role", 32))
                    .col(string_len("action", 128))
                    .col(string_len("resource_type", 64))
                    .col(string_len_null("resource_id", 64))
                    .col(uuid_null("participant_id"))
                    .col(string_len("outcome", 16))
                    .col(small_integer("status"))
                    .col(string_len("request_id", 64))
                    .col(char_len("prev_hash", 64))
                    .col(char_len("hash", 64))
                    .primary_key(Index::create().col("assoc").col("seq"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_events_participant")
                    .table("audit_events")
                    .col("participant_id")
                    .col("seq")
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_events_time")
                    .table("audit_events")
                    .col("assoc")
                    .col("occurred_at_us")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_heads")
                    .col(string_len("assoc", 64).primary_key())
                    .col(big_integer("seq"))
                    .col(char_len("hash", 64))
                    .take(),
            )
            .await?;

        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                for action in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER audit_events_no_{lower} BEFORE {action} ON audit_events \
                         BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
                        lower = action.to_lowercase()
                    ))
                    .await?;
                }
            }
            _ => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events \
                     FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events \
                     FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("audit_heads").to_owned()).await?;
        manager.drop_table(Table::drop().table("audit_events").to_owned()).await
    }
}
