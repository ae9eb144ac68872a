//! The audit chain and the change feed's numbering: how events and changes
//! get their place.
//!
//! Each association's audit events form a hash chain (`prev_hash`, `hash`
//! over a canonical encoding, `seq` without gaps; `audit_heads` holds the
//! last), and its changes a gapless sequence (`change_heads`). Whoever
//! appends must be the only one appending to that association:
//!
//! - SQLite: the one writer (`store::write`) appends inside its batch's
//!   transaction; changes are numbered by trigger in the same transaction.
//! - PostgreSQL: a write stages its events (`audit_pending`) and its changes
//!   (`change_pending`, by trigger) in its own transaction, which locks no row
//!   every write shares, so writes of one association run in parallel on any
//!   number of nodes. [`seal`] then moves what is staged into the chain and
//!   the feed in one short transaction under the association's advisory
//!   lock: all that was staged when it got the lock, in one batch. Each
//!   write seals after its commit, so its events are in the chain before its
//!   answer leaves; a node that died in between leaves staged rows that the
//!   next seal of that association (or [`seal_all`], every second) takes.
//!   Order in the chain is sealing order; a number once given is final, and
//!   a reader of the feed never later finds a smaller one.

use crate::entities::{audit_event, audit_head, audit_pending};
use crate::record::NewEvent;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, Set, Statement,
    TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The `prev_hash` of a chain's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical encoding the hash covers: every column but the hash, in a
/// fixed order, as JSON.
#[derive(Serialize)]
struct Canonical<'a> {
    assoc: &'a str,
    seq: i64,
    id: Uuid,
    occurred_at_us: i64,
    sub: &'a str,
    org: &'a str,
    agency: &'a str,
    role: &'a str,
    action: &'a str,
    resource_type: &'a str,
    resource_id: Option<&'a str>,
    participant_id: Option<Uuid>,
    outcome: &'a str,
    status: i16,
    request_id: &'a str,
    prev_hash: &'a str,
    /// Left out when absent, so events from before the column hash as they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
}

pub fn hash_of(event: &audit_event::Model) -> String {
    let canonical = Canonical {
        assoc: &event.assoc,
        seq: event.seq,
        id: event.id,
        occurred_at_us: event.occurred_at_us,
        sub: &event.sub,
        org: &event.org,
        agency: &event.agency,
        role: &event.role,
        action: &event.action,
        resource_type: &event.resource_type,
        resource_id: event.resource_id.as_deref(),
        participant_id: event.participant_id,
        outcome: &event.outcome,
        status: event.status,
        request_id: &event.request_id,
        prev_hash: &event.prev_hash,
        count: event.count,
    };
    let bytes = serde_json::to_vec(&canonical).expect("the canonical encoding serializes");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}


/// Appends events to their associations' chains within `db`'s transaction.
/// The caller is the association's only appender (see the module's notes).
pub async fn append<C: ConnectionTrait>(db: &C, events: Vec<NewEvent>) -> Result<(), DbErr> {
    let mut by_assoc: BTreeMap<String, Vec<NewEvent>> = BTreeMap::new();
    for event in events {
        by_assoc.entry(event.assoc.clone()).or_default().push(event);
    }
    for (assoc, events) in by_assoc {
        audit_head::Entity::insert(audit_head::ActiveModel {
            assoc: Set(assoc.clone()),
            seq: Set(0),
            hash: Set(GENESIS.into()),
        })
        .on_conflict_do_nothing_on([audit_head::Column::Assoc])
        .exec(db)
        .await?;
        let head = audit_head::Entity::find_by_id(assoc.clone())
            .one(db)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("audit head".into()))?;
        let (mut seq, mut prev) = (head.seq, head.hash);
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            let mut model = audit_event::Model {
                assoc: assoc.clone(),
                seq,
                id: event.id,
                occurred_at_us: event.occurred_at_us,
                sub: event.sub,
                org: event.org,
                agency: event.agency,
                role: event.role,
                action: event.action,
                resource_type: event.resource_type,
                resource_id: event.resource_id,
                participant_id: event.participant_id,
                outcome: event.outcome,
                status: event.status,
                request_id: event.request_id,
                prev_hash: prev.clone(),
                hash: String::new(),
                count: event.count,
            };
            model.hash = hash_of(&model);
            prev = model.hash.clone();
            rows.push(audit_event::ActiveModel::from(model));
        }
        for chunk in rows.chunks(200) {
            audit_event::Entity::insert_many(chunk.to_vec()).exec(db).await?;
        }
        audit_head::Entity::update_many()
            .col_expr(audit_head::Column::Seq, Expr::value(seq))
            .col_expr(audit_head::Column::Hash, Expr::value(prev))
            .filter(audit_head::Column::Assoc.eq(assoc))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// PostgreSQL: stages events in the writer's own transaction, to be sealed
/// into their chains after it commits.
pub async fn stage<C: ConnectionTrait>(db: &C, events: &[NewEvent]) -> Result<(), DbErr> {
    let rows: Vec<audit_pending::ActiveModel> = events
        .iter()
        .map(|event| audit_pending::ActiveModel {
            pos: sea_orm::ActiveValue::NotSet,
            assoc: Set(event.assoc.clone()),
            id: Set(event.id),
            occurred_at_us: Set(event.occurred_at_us),
            sub: Set(event.sub.clone()),
            org: Set(event.org.clone()),
            agency: Set(event.agency.clone()),
            role: Set(event.role.clone()),
            action: Set(event.action.clone()),
            resource_type: Set(event.resource_type.clone()),
            resource_id: Set(event.resource_id.clone()),
            participant_id: Set(event.participant_id),
            outcome: Set(event.outcome.clone()),
            status: Set(event.status),
            request_id: Set(event.request_id.clone()),
            count: Set(event.count),
        })
        .collect();
    for chunk in rows.chunks(200) {
        audit_pending::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

fn unstaged(row: audit_pending::Model) -> NewEvent {
    NewEvent {
        id: row.id,
        occurred_at_us: row.occurred_at_us,
        assoc: row.assoc,
        sub: row.sub,
        org: row.org,
        agency: row.agency,
        role: row.role,
        action: row.action,
        resource_type: row.resource_type,
        resource_id: row.resource_id,
        participant_id: row.participant_id,
        outcome: row.outcome,
        status: row.status,
        request_id: row.request_id,
        count: row.count,
    }
}

/// The advisory lock that makes one sealer at a time per association.
fn lock_key(assoc: &str) -> i64 {
    let digest = Sha256::digest(format!("samplan-chain:{assoc}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The feed's numbering of staged changes, in one statement: whatever is
/// staged for the association, in staging order, after its head.
const SEAL_CHANGES: &str = "\
    WITH moved AS (DELETE FROM change_pending WHERE assoc = $1 RETURNING *), \
    head AS (SELECT seq FROM change_heads WHERE assoc = $1), \
    numbered AS (SELECT moved.*, (SELECT seq FROM head) + row_number() OVER (ORDER BY pos) AS next FROM moved), \
    inserted AS (INSERT INTO changes \
        (assoc, seq, resource_type, resource_id, participant_id, plan_id, version, operation, changed_at_us) \
        SELECT assoc, next, resource_type, resource_id, participant_id, plan_id, version, operation, changed_at_us \
        FROM numbered RETURNING seq) \
    UPDATE change_heads SET seq = seq + (SELECT count(*) FROM inserted) WHERE assoc = $1";

/// PostgreSQL: moves what is staged for `assoc` into its audit chain and
/// its change feed, with `extra` events appended after the staged ones, in
/// one transaction under the association's advisory lock. A seal that
/// finds nothing writes nothing (and its commit needs no disk flush).
pub async fn seal(db: &DatabaseConnection, assoc: &str, extra: Vec<NewEvent>) -> Result<(), DbErr> {
    under_lock(db, assoc, extra, true).await
}

/// PostgreSQL: appends `events` (of reads) to the association's chain
/// under its advisory lock, leaving what writes staged to their seals.
pub async fn append_locked(db: &DatabaseConnection, assoc: &str, events: Vec<NewEvent>) -> Result<(), DbErr> {
    under_lock(db, assoc, events, false).await
}

async fn under_lock(db: &DatabaseConnection, assoc: &str, extra: Vec<NewEvent>, staged: bool) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    let values = |sql: &str, values: Vec<sea_orm::Value>| Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    txn.execute_raw(values("SELECT pg_advisory_xact_lock($1)", vec![lock_key(assoc).into()])).await?;
    let mut events = Vec::new();
    if staged {
        let mut rows = audit_pending::Entity::delete_many()
            .filter(audit_pending::Column::Assoc.eq(assoc))
            .exec_with_returning(&txn)
            .await?;
        rows.sort_by_key(|row| row.pos);
        events.extend(rows.into_iter().map(unstaged));
    }
    events.extend(extra);
    if !events.is_empty() {
        append(&txn, events).await?;
    }
    if staged {
        txn.execute_raw(values(
            "INSERT INTO change_heads (assoc, seq) SELECT $1, 0 \
             WHERE NOT EXISTS (SELECT 1 FROM change_heads WHERE assoc = $1) ON CONFLICT (assoc) DO NOTHING",
            vec![assoc.into()],
        ))
        .await?;
        txn.execute_raw(values(SEAL_CHANGES, vec![assoc.into()])).await?;
    }
    txn.commit().await
}

/// PostgreSQL: seals every association with anything staged (after a node
/// died between a commit and its seal); returns how many it sealed.
pub async fn seal_all(db: &DatabaseConnection) -> Result<usize, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(0);
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT DISTINCT assoc FROM audit_pending UNION SELECT DISTINCT assoc FROM change_pending",
        ))
        .await?;
    let assocs: Vec<String> = rows.iter().map(|row| row.try_get::<String>("", "assoc")).collect::<Result<_, _>>()?;
    for assoc in &assocs {
        seal(db, assoc, Vec::new()).await?;
    }
    Ok(assocs.len())
}
