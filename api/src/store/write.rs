//! The one write path: every write — a handler's, its audit events and
//! change-feed rows, its idempotency mark, the events of reads — goes
//! through here, and this module owns the transaction.
//!
//! - SQLite has one writer at a time, so Samplan has exactly one: a task
//!   that batches the writes arriving together into one transaction (group
//!   commit). It lends the transaction to one request at a time, inside a
//!   `SAVEPOINT` of its own: a request that fails rolls back only itself.
//!   When no more are waiting (or [`MAX_BATCH`] are in), it appends the
//!   batch's audit events and commits — one disk flush for the batch — and
//!   only then are the requests answered. Nobody busy-waits on SQLite's
//!   lock: the writer is the only one who takes it.
//! - PostgreSQL runs each request's write in its own transaction, in
//!   parallel (the server flushes concurrent commits together). The write's
//!   audit events are staged with it, and the node's sealer puts them in the
//!   chain after it commits, once per batch (see `store::chain`): no row
//!   every write of an association shares is held until commit. The sealer
//!   also appends the events of reads, in batches.
//!
//! `/metrics` shows `samplan_store_writes_total` and
//! `samplan_store_commits_total`: their ratio is the writes per commit.

use super::chain;
use crate::error::ApiError;
use crate::record::{AuditContext, NewEvent, Original};
use sea_orm::prelude::async_trait;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// At most this many requests share one SQLite transaction.
pub const MAX_BATCH: usize = 256;

/// The answer a request waits for: its batch committed, or why not.
type Committed = oneshot::Sender<Result<(), String>>;

enum Job {
    /// A request's write: it is lent the batch's transaction.
    Write(oneshot::Sender<Lease>),
    /// The audit events of a read or a refusal.
    Events(Vec<NewEvent>, Committed),
    /// PostgreSQL: writes of these associations committed; seal what they staged.
    Seal(BTreeSet<String>, Committed),
}

/// The batch's transaction, lent to one request inside a savepoint.
struct Lease {
    txn: Arc<DatabaseTransaction>,
    done: oneshot::Sender<Finished>,
}

/// A request is done with its lease: release its savepoint, append its
/// events with the batch, tell it when the batch commits.
struct Finished {
    events: Vec<NewEvent>,
    committed: Committed,
}

/// Hands writes to the store's one write path.
#[derive(Clone, Debug)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    db: DatabaseConnection,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Write(_) => "Job::Write",
            Job::Events(..) => "Job::Events",
            Job::Seal(..) => "Job::Seal",
        })
    }
}

fn stopped() -> ApiError {
    ApiError::Internal("the store's writer stopped".into())
}

impl Writer {
    /// Starts the write path's task for `db`.
    pub fn start(db: DatabaseConnection) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        match db.get_database_backend() {
            DbBackend::Sqlite => {
                tokio::spawn(sqlite_writer(db.clone(), rx));
            }
            _ => {
                tokio::spawn(postgres_events(db.clone(), rx));
                let sweeper = db.clone();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
                    loop {
                        every.tick().await;
                        if let Err(error) = chain::seal_all(&sweeper).await {
                            tracing::warn!(%error, "sealing staged audit events failed");
                        }
                    }
                });
            }
        }
        Writer { jobs, db }
    }

    /// A write for a request: its audit record's events and idempotency
    /// mark commit with it, or nothing does.
    pub async fn begin(&self, audit: AuditContext) -> Result<WriteTxn, ApiError> {
        Ok(WriteTxn { audit: Some(audit), ..self.begin_unaudited().await? })
    }

    /// A write outside a request's record (idempotency bookkeeping).
    pub async fn begin_unaudited(&self) -> Result<WriteTxn, ApiError> {
        let conn = tokio::sync::OnceCell::new();
        if self.db.get_database_backend() != DbBackend::Sqlite {
            let _ = conn.set(Conn::Own(self.db.begin().await?));
        }
        Ok(WriteTxn { conn, writer: self.clone(), audit: None })
    }

    /// SQLite: waits for the writer to lend its transaction.
    async fn lease(&self) -> Result<Conn, DbErr> {
        let (lease, lent) = oneshot::channel();
        let stopped = || DbErr::Custom("the store's writer stopped".into());
        self.jobs.send(Job::Write(lease)).await.map_err(|_| stopped())?;
        let Lease { txn, done } = lent.await.map_err(|_| stopped())?;
        Ok(Conn::Lent { txn: Some(txn), done: Some(done) })
    }

    /// Commits the events of a read or a refusal; returns once they are
    /// durable (in their chain on SQLite, staged and sealed on PostgreSQL).
    pub async fn events(&self, events: Vec<NewEvent>) -> Result<(), ApiError> {
        let (committed, wait) = oneshot::channel();
        self.jobs.send(Job::Events(events, committed)).await.map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?.map_err(|cause| ApiError::Internal(format!("audit: {cause}")))
    }
}

enum Conn {
    /// SQLite: the writer's batch transaction, inside this request's savepoint.
    Lent { txn: Option<Arc<DatabaseTransaction>>, done: Option<oneshot::Sender<Finished>> },
    /// PostgreSQL: the request's own transaction.
    Own(DatabaseTransaction),
}

impl Conn {
    fn txn(&self) -> &DatabaseTransaction {
        match self {
            Conn::Lent { txn: Some(txn), .. } => txn,
            Conn::Own(txn) => txn,
            Conn::Lent { txn: None, .. } => unreachable!("a write is not used after commit"),
        }
    }
}

/// A write in progress: run its statements with `&txn` (it is a sea-orm
/// connection); [`WriteTxn::commit`] returns once the write is durable.
/// Dropped without commit, it rolls back (on SQLite, back to its savepoint).
///
/// On SQLite the writer's transaction is taken only at the write's first
/// statement that is not a `SELECT`: the reads before it (the access check,
/// the current version) run beside other requests on the read connections,
/// and see what was committed, as PostgreSQL's read committed does. What
/// they decided is held by the write itself: a conditional update by
/// version, or a unique index. From the first write on, every statement
/// runs in the writer's transaction and sees the write's own changes.
pub struct WriteTxn {
    conn: tokio::sync::OnceCell<Conn>,
    writer: Writer,
    audit: Option<AuditContext>,
}

fn is_read(sql: &str) -> bool {
    sql.trim_start().get(..6).is_some_and(|verb| verb.eq_ignore_ascii_case("select"))
}

impl WriteTxn {
    /// The transaction, taking the writer's on SQLite.
    async fn writing(&self) -> Result<&DatabaseTransaction, DbErr> {
        Ok(self.conn.get_or_try_init(|| self.writer.lease()).await?.txn())
    }

    /// Where a statement runs: a read before the first write goes to the
    /// pool; anything else to the transaction.
    async fn runs(&self, sql: &str) -> Result<Runs<'_>, DbErr> {
        Ok(match self.conn.get() {
            Some(conn) => Runs::Txn(conn.txn()),
            None if is_read(sql) => Runs::Pool(&self.writer.db),
            None => Runs::Txn(self.writing().await?),
        })
    }

    pub async fn commit(mut self) -> Result<(), ApiError> {
        let (key, original, events) = match &self.audit {
            Some(audit) => audit.committing(),
            None => (None, Original::default(), Vec::new()),
        };
        if self.conn.get().is_none() && key.is_none() {
            // Nothing was written: only the request's events remain.
            if !events.is_empty() {
                self.writer.events(events).await?;
            }
        } else {
            if let Some(key) = &key {
                super::idempotency::mark_committed(&self, key, original).await?;
            }
            self.finish(events).await?;
        }
        if let Some(audit) = &self.audit {
            audit.committed();
        }
        Ok(())
    }

    async fn finish(&mut self, events: Vec<NewEvent>) -> Result<(), ApiError> {
        let assocs: BTreeSet<String> = events.iter().map(|e| e.assoc.clone()).collect();
        match self.conn.take() {
            Some(Conn::Lent { txn, done }) => {
                drop(txn);
                let (committed, wait) = oneshot::channel();
                done.ok_or_else(stopped)?.send(Finished { events, committed }).map_err(|_| stopped())?;
                wait.await.map_err(|_| stopped())?.map_err(|cause| ApiError::Internal(format!("commit: {cause}")))?;
            }
            Some(Conn::Own(txn)) => {
                chain::stage(&txn, &events).await?;
                txn.commit().await?;
                // Committed: the write stands. Its events are staged with
                // it; the node's sealer puts them in the chain (with those
                // of every write that committed meanwhile) before the answer
                // leaves. A failure leaves them for the sweeper.
                let (sealed, wait) = oneshot::channel();
                if self.writer.jobs.send(Job::Seal(assocs, sealed)).await.is_ok() {
                    if let Ok(Err(error)) = wait.await {
                        tracing::warn!(%error, "sealing audit events failed; the sweeper retries");
                    }
                }
            }
            None => unreachable!("a write has its transaction before it commits"),
        }
        Ok(())
    }
}

enum Runs<'a> {
    Pool(&'a DatabaseConnection),
    Txn(&'a DatabaseTransaction),
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.writer.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.writing().await?.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.writing().await?.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self.runs(&stmt.sql).await? {
            Runs::Pool(db) => db.query_one_raw(stmt).await,
            Runs::Txn(txn) => txn.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self.runs(&stmt.sql).await? {
            Runs::Pool(db) => db.query_all_raw(stmt).await,
            Runs::Txn(txn) => txn.query_all_raw(stmt).await,
        }
    }
}

// ---------------------------------------------------------------- SQLite: the one writer

async fn sqlite_writer(db: DatabaseConnection, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut next = Some(first);
        let mut events = Vec::new();
        let mut committed: Vec<Committed> = Vec::new();
        let mut writes = 0_u64;
        let options =
            TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
        let txn = match db.begin_with_options(options).await {
            Ok(txn) => Arc::new(txn),
            Err(error) => {
                tracing::error!(%error, "the writer cannot begin a transaction");
                // Dropping the job answers it with an error.
                drop(next);
                continue;
            }
        };
        let mut broken: Option<DbErr> = None;
        let mut savepoint = Savepoint::None;
        while let Some(job) = next.take() {
            match job {
                Job::Events(more, waiter) => {
                    events.extend(more);
                    committed.push(waiter);
                }
                // Nothing is staged on SQLite: its writes append in the batch.
                Job::Seal(_, waiter) => committed.push(waiter),
                Job::Write(lease) => match lend(&txn, &mut savepoint, lease).await {
                    Ok(Some(Finished { events: more, committed: waiter })) => {
                        events.extend(more);
                        committed.push(waiter);
                        writes += 1;
                    }
                    Ok(None) => {}
                    Err(error) => {
                        broken = Some(error);
                        break;
                    }
                },
            }
            if committed.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        let result = match broken {
            Some(error) => Err(error),
            None => finish(txn, events).await,
        };
        if result.is_ok() {
            metrics::counter!("samplan_store_commits_total").increment(1);
            metrics::counter!("samplan_store_writes_total").increment(writes);
            metrics::histogram!("samplan_store_batch_size").record(committed.len() as f64);
        }
        let result = result.map_err(|error| error.to_string());
        if let Err(error) = &result {
            tracing::error!(%error, "a batch of writes failed to commit");
        }
        for waiter in committed {
            let _ = waiter.send(result.clone());
        }
    }
}

/// Where the batch's savepoint stands between two requests.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Savepoint {
    /// None open (the batch has just begun).
    None,
    /// Open, with nothing after it: the next request can have it.
    Clean,
    /// Open, holding a finished request's changes, which are kept.
    Kept,
}

/// Lends the batch's transaction to one request inside a savepoint of its
/// own; returns what it finished with, or `None` when it gave up (rolled
/// back to its savepoint). An error means the batch's transaction is
/// unusable. Releasing one request's savepoint and opening the next one's
/// is one round trip; the batch's commit releases the last.
async fn lend(
    txn: &Arc<DatabaseTransaction>,
    savepoint: &mut Savepoint,
    lease: oneshot::Sender<Lease>,
) -> Result<Option<Finished>, DbErr> {
    match *savepoint {
        Savepoint::None => {
            txn.execute_unprepared("SAVEPOINT request").await?;
        }
        Savepoint::Kept => {
            txn.execute_unprepared("RELEASE request; SAVEPOINT request").await?;
        }
        Savepoint::Clean => {}
    }
    *savepoint = Savepoint::Clean;
    let (done, finished) = oneshot::channel();
    let lent = std::time::Instant::now();
    let finished = match lease.send(Lease { txn: txn.clone(), done }) {
        Ok(()) => finished.await.ok(),
        Err(_) => None,
    };
    metrics::histogram!("samplan_store_lease_seconds").record(lent.elapsed().as_secs_f64());
    match finished {
        Some(finished) => {
            *savepoint = Savepoint::Kept;
            Ok(Some(finished))
        }
        None => {
            // The savepoint stays open, clean again, for the next request.
            txn.execute_unprepared("ROLLBACK TO request").await?;
            Ok(None)
        }
    }
}

/// Appends the batch's events to their chains and commits.
async fn finish(txn: Arc<DatabaseTransaction>, events: Vec<NewEvent>) -> Result<(), DbErr> {
    if !events.is_empty() {
        chain::append(&*txn, events).await?;
    }
    // Every lease gave its share back before saying it was done; a request
    // dropped mid-way may still be unwinding for a moment.
    let mut txn = txn;
    for _ in 0..1000 {
        match Arc::try_unwrap(txn) {
            Ok(txn) => return txn.commit().await,
            Err(shared) => {
                txn = shared;
                tokio::task::yield_now().await;
            }
        }
    }
    Err(DbErr::Custom("a write kept the batch's transaction".into()))
}

// ---------------------------------------------------------------- PostgreSQL: events of reads

/// PostgreSQL: the node's sealer. It appends the events of reads, and seals
/// what writes staged, once per association for all the jobs waiting.
async fn postgres_events(db: DatabaseConnection, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        // Per association: the reads' events, and whether a write staged any.
        let mut by_assoc: std::collections::BTreeMap<String, (Vec<NewEvent>, bool)> = Default::default();
        let mut committed = Vec::new();
        for job in batch {
            match job {
                Job::Events(events, waiter) => {
                    for event in events {
                        by_assoc.entry(event.assoc.clone()).or_default().0.push(event);
                    }
                    committed.push(waiter);
                }
                Job::Seal(assocs, waiter) => {
                    for assoc in assocs {
                        by_assoc.entry(assoc).or_default().1 = true;
                    }
                    committed.push(waiter);
                }
                Job::Write(_) => {}
            }
        }
        let mut result = Ok(());
        for (assoc, (events, staged)) in by_assoc {
            let sealed = if staged {
                chain::seal(&db, &assoc, events).await
            } else {
                chain::append_locked(&db, &assoc, events).await
            };
            if let Err(error) = sealed {
                result = Err(error.to_string());
            }
        }
        if result.is_ok() {
            metrics::counter!("samplan_store_event_batches_total").increment(1);
        }
        for waiter in committed {
            let _ = waiter.send(result.clone());
        }
    }
}
