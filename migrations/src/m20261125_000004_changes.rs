//! The change feed: every create and update of the plan's data, in commit
//! order per association, recorded by triggers so that no write path can
//! forget it.
//!
//! Order: on SQLite there is one writer at a time. On PostgreSQL each
//! association's `change_heads` row is locked from a transaction's first
//! change until it commits, so sequence numbers are handed out in commit
//! order and a poller that has seen `seq` never later finds a smaller one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A table whose rows the feed reports, and how to read a change from a row.
pub(crate) struct Source {
    pub(crate) table: &'static str,
    pub(crate) resource_type: &'static str,
    pub(crate) id: &'static str,
    pub(crate) participant: &'static str,
    pub(crate) plan: &'static str,
    pub(crate) version: &'static str,
}

const VIA_PLAN: &str = "(SELECT participant_id FROM plans WHERE id = NEW.plan_id)";

pub(crate) const SOURCES: [Source; 9] = [
    Source { table: "participants", resource_type: "participant", id: "NEW.id", participant: "NEW.id", plan: "NULL", version: "1" },
    Source { table: "plans", resource_type: "plan", id: "NEW.id", participant: "NEW.participant_id", plan: "NEW.id", version: "NEW.version" },
    Source { table: "plan_platforms", resource_type: "platform", id: "NEW.plan_id", participant: VIA_PLAN, plan: "NEW.plan_id", version: "NEW.version" },
    Source { table: "plan_solution_scenarios", resource_type: "solution_scenario", id: "NEW.plan_id", participant: VIA_PLAN, plan: "NEW.plan_id", version: "NEW.version" },
    Source { table: "plan_resources", resource_type: "resource", id: "NEW.id", participant: VIA_PLAN, plan: "NEW.plan_id", version: "1" },
    Source { table: "plan_steps", resource_type: "step", id: "NEW.id", participant: VIA_PLAN, plan: "NEW.plan_id", version: "NEW.version" },
    Source { table: "scale_readings", resource_type: "scale_reading", id: "NEW.id", participant: VIA_PLAN, plan: "NEW.plan_id", version: "1" },
    Source { table: "meetings", resource_type: "meeting", id: "NEW.id", participant: VIA_PLAN, plan: "NEW.plan_id", version: "1" },
    Source { table: "consents", resource_type: "consent", id: "NEW.id", participant: "NEW.participant_id", plan: "NULL", version: "NEW.version" },
];

const COLUMNS: &str =
    "assoc, seq, resource_type, resource_id, participant_id, plan_id, version, operation, changed_at_us";

fn sqlite_trigger(source: &Source, operation: &str) -> String {
    format!(
        "CREATE TRIGGER changes_{table}_{operation} AFTER {op} ON {table} BEGIN \
         INSERT INTO changes ({COLUMNS}) VALUES (NEW.assoc, \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM changes WHERE assoc = NEW.assoc), \
         '{resource_type}', {id}, {participant}, {plan}, {version}, '{operation}', \
         CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)); END",
        table = source.table,
        op = operation.to_uppercase(),
        resource_type = source.resource_type,
        id = source.id,
        participant = source.participant,
        plan = source.plan,
        version = source.version,
    )
}

pub(crate) fn postgres_function(source: &Source) -> String {
    format!(
        "CREATE FUNCTION changes_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ \
         DECLARE next_seq bigint; \
         BEGIN \
           INSERT INTO change_heads (assoc, seq) VALUES (NEW.assoc, 0) ON CONFLICT (assoc) DO NOTHING; \
           UPDATE change_heads SET seq = seq + 1 WHERE assoc = NEW.assoc RETURNING seq INTO next_seq; \
           INSERT INTO changes ({COLUMNS}) VALUES (NEW.assoc, next_seq, '{resource_type}', {id}, \
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
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("changes")
                    .col(string_len("assoc", 64))
                    .col(big_integer("seq"))
                    .col(string_len("resource_type", 32))
                    .col(uuid("resource_id"))
                    .col(uuid("participant_id"))
                    .col(uuid_null("plan_id"))
                    .col(big_integer("version"))
                    .col(string_len("operation", 8))
                    .col(big_integer("changed_at_us"))
                    .primary_key(Index::create().col("assoc").col("seq"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("change_heads")
                    .col(string_len("assoc", 64).primary_key())
                    .col(big_integer("seq"))
                    .take(),
            )
            .await?;
        let db = manager.get_connection();
        for source in &SOURCES {
            match manager.get_database_backend() {
                DbBackend::Sqlite => {
                    for operation in ["insert", "update"] {
                        db.execute_unprepared(&sqlite_trigger(source, operation)).await?;
                    }
                }
                _ => {
                    db.execute_unprepared(&postgres_function(source)).await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER changes_{table} AFTER INSERT OR UPDATE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION changes_{table}()",
                        table = source.table
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("change_heads").to_owned()).await?;
        manager.drop_table(Table::drop().table("changes").to_owned()).await
    }
}
