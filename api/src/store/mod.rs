//! Persistence: the connection pool, write transactions and the queries that
//! apply `domain::access` decisions.

pub mod scope;
pub mod versioned;

use crate::error::ApiError;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use samplan_migrations::{Migrator, MigratorTrait};
use std::time::Duration;

/// The store shared by all workers (one pool per process).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10));
        if url.starts_with("sqlite:") {
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            // WAL lets readers proceed beside the one writer; FULL makes each
            // commit durable; the busy timeout queues writers instead of
            // failing them. An in-memory database exists per connection, so
            // it gets exactly one.
            options
                .max_connections(if in_memory { 1 } else { 8 })
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
        let db = Database::connect(options).await?;
        Migrator::up(&db, None).await?;
        Ok(Store { db })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// A write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead
    /// of one failing with "database is locked" when it upgrades a read.
    /// Its commit appends the request's audit events in the same transaction.
    pub async fn begin_write(&self, auth: &crate::auth::Auth) -> Result<crate::audit::WriteTxn, ApiError> {
        Ok(crate::audit::WriteTxn::new(self.begin_write_unaudited().await?, auth.audit.clone()))
    }

    /// A write transaction outside any request (the audit writer itself).
    pub async fn begin_write_unaudited(&self) -> Result<DatabaseTransaction, ApiError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(self.db.begin_with_options(options).await?)
    }

    /// Whether the store answers; for `/health/ready`.
    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }
}
