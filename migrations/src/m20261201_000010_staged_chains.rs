//! Writes that do not queue behind their association (PostgreSQL).
//!
//! Until now every write of an association locked two rows until it
//! committed: the audit chain's head and the change feed's head. Writes of
//! one association, on any number of API nodes, ran one at a time.
//!
//! Now a write stages its audit events (`audit_pending`) and its changes
//! (`change_pending`, by trigger) in its own transaction, which locks no
//! shared row. A sealer then moves what is staged into the chain and the
//! feed, numbering and hashing it in batches under the association's lock,
//! as a transparency log seals its entries: see `store::chain::seal`. The
//! chain and the feed keep their meaning: a number once given is never
//! given again, and a reader never finds a smaller one later.
//!
//! On SQLite one writer commits every write (group commit), so the chain is
//! appended and the feed numbered inside that writer's transaction and the
//! staging tables stay empty.

use crate::m20261125_000004_changes::{SOURCES, postgres_function};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PENDING_COLUMNS: &str =
    "assoc, resource_type, resource_id, participant_id, plan_id, version, operation, changed_at_us";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_pending")
                    .col(big_pk_auto("pos"))
                    .col(string_len("assoc", 64))
                    .col(uuid("id"))
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
                    .col(big_integer_null("count"))
                    .take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_audit_pending_assoc").table("audit_pending").col("assoc").col("pos").take())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("change_pending")
                    .col(big_pk_auto("pos"))
                    .col(string_len("assoc", 64))
                    .col(string_len("resource_type", 32))
                    .col(uuid("resource_id"))
                    .col(uuid("participant_id"))
                    .col(uuid_null("plan_id"))
                    .col(big_integer("version"))
                    .col(string_len("operation", 8))
                    .col(big_integer("changed_at_us"))
                    .take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_change_pending_assoc").table("change_pending").col("assoc").col("pos").take())
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for source in &SOURCES {
                db.execute_unprepared(&format!(
                    "CREATE OR REPLACE FUNCTION changes_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       INSERT INTO change_pending ({PENDING_COLUMNS}) VALUES (NEW.assoc, '{resource_type}', {id}, \
                         {participant}, {plan}, {version}, lower(TG_OP), \
                         (extract(epoch from clock_timestamp()) * 1000000)::bigint); \
                       RETURN NEW; \
                     END $$",
                    table = source.table,
                    resource_type = source.resource_type,
                    id = source.id,
                    participant = source.participant,
                    plan = source.plan,
                    version = source.version,
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            // Back to numbering under the head's row lock (migration 000004).
            let db = manager.get_connection();
            for source in &SOURCES {
                let function = postgres_function(source).replacen("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1);
                db.execute_unprepared(&function).await?;
            }
        }
        manager.drop_table(Table::drop().table("change_pending").to_owned()).await?;
        manager.drop_table(Table::drop().table("audit_pending").to_owned()).await
    }
}
