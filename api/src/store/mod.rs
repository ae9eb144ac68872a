//! Persistence: the connection pool, write transactions and the queries that
//! apply `domain::access` decisions.

pub mod chain;
pub mod idempotency;
pub mod plans;
pub mod scope;
pub mod versioned;
mod write;

pub use write::{MAX_BATCH, WriteTxn};

use crate::error::ApiError;
use crate::record::{AuditContext, NewEvent};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use samplan_migrations::{Migrator, MigratorTrait};
use std::time::Duration;

/// The store shared by all workers (one pool and one write path per process).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    writer: write::Writer,
}

/// The session lock under which a node migrates a PostgreSQL database, so
/// that nodes started together do not race to create the same tables.
const MIGRATION_LOCK: i64 = 0x73616d706c616e; // "samplan"

impl Store {
    /// Connects, applies pending migrations and starts the write path.
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10));
        if url.starts_with("sqlite:") {
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            // WAL lets readers proceed beside the one writer; FULL makes each
            // commit durable. Only the store's writer writes (see `write`),
            // so the busy timeout is a safety net, not a queue. An in-memory
            // database exists per connection, so it gets exactly one (and
            // reads then wait for the writer's batch: for tests only).
            options
                .max_connections(if in_memory { 1 } else { 16 })
                .min_connections(1)
                .map_sqlx_sqlite_opts(|opts| {
                    opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                        .create_if_missing(true)
                });
        } else {
            options.max_connections(16).min_connections(1);
        }
        let mut db = Database::connect(options).await?;
        if db.get_database_backend() == DbBackend::Sqlite {
            Migrator::up(&db, None).await?;
        } else {
            migrate_postgres(url).await?;
        }
        db.set_metric_callback(|_| crate::record::count_statement());
        Ok(Store { writer: write::Writer::start(db.clone()), db })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// A request's write: its audit record's events (and idempotency mark)
    /// commit with it. See [`write`] for how.
    pub async fn begin_write(&self, record: &impl AsRef<AuditContext>) -> Result<WriteTxn, ApiError> {
        self.writer.begin(record.as_ref().clone()).await
    }

    /// A write that is no request's (idempotency bookkeeping).
    pub async fn begin_write_unaudited(&self) -> Result<WriteTxn, ApiError> {
        self.writer.begin_unaudited().await
    }

    /// Commits the audit events of a read or a refusal; returns once they
    /// are durable.
    pub async fn record(&self, events: Vec<NewEvent>) -> Result<(), ApiError> {
        self.writer.events(events).await
    }

    /// Before reading an association's audit log or change feed: seals what
    /// writes staged (PostgreSQL; nothing to do on SQLite), so a reader sees
    /// every write that was answered.
    pub async fn sealed(&self, assoc: &str) -> Result<(), ApiError> {
        if self.backend() == DbBackend::Postgres {
            chain::seal(&self.db, assoc, Vec::new()).await?;
        }
        Ok(())
    }

    /// Whether the store answers; for `/health/ready`.
    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }
}

/// Applies pending migrations on one connection holding a session advisory
/// lock: a second node started at the same moment waits, then finds them
/// applied.
async fn migrate_postgres(url: &str) -> Result<(), DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(1).min_connections(1).connect_timeout(Duration::from_secs(10));
    let db = Database::connect(options).await?;
    let lock = |sql: &str| sea_orm::Statement::from_sql_and_values(DbBackend::Postgres, sql, [MIGRATION_LOCK.into()]);
    db.execute_raw(lock("SELECT pg_advisory_lock($1)")).await?;
    let migrated = Migrator::up(&db, None).await;
    db.execute_raw(lock("SELECT pg_advisory_unlock($1)")).await?;
    db.close().await?;
    migrated
}
