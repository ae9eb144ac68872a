//! The stored side of `Idempotency-Key`s (the middleware is
//! `crate::idempotency`): a key's row, found by its principal and key.

use crate::entities::idempotency_key;
use crate::record::{IdempotencyKey, Original, now_us};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// How long keys are kept (the contract promises 24 hours).
pub const RETENTION_US: i64 = 48 * 3600 * 1_000_000;

/// Restricts a query to `key`'s row.
pub fn of_key<Q: QueryFilter>(key: &IdempotencyKey, query: Q) -> Q {
    query
        .filter(idempotency_key::Column::Assoc.eq(key.assoc.as_str()))
        .filter(idempotency_key::Column::Org.eq(key.org.as_str()))
        .filter(idempotency_key::Column::Sub.eq(key.sub.as_str()))
        .filter(idempotency_key::Column::Role.eq(key.role.as_str()))
        .filter(idempotency_key::Column::Key.eq(key.key.as_str()))
}

/// Called inside a write's transaction: the key's request has now done its work.
pub async fn mark_committed<C: ConnectionTrait>(
    db: &C,
    key: &IdempotencyKey,
    original: Original,
) -> Result<(), sea_orm::DbErr> {
    let location = original.resource_id.map(|created| format!("{}/{created}", key.path));
    of_key(key, idempotency_key::Entity::update_many())
        .col_expr(idempotency_key::Column::State, Expr::value("committed"))
        .col_expr(idempotency_key::Column::Location, Expr::value(location))
        .col_expr(idempotency_key::Column::ParticipantId, Expr::value(original.participant_id))
        .col_expr(idempotency_key::Column::Route, Expr::value(original.route))
        .col_expr(idempotency_key::Column::ResourceId, Expr::value(original.resource_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes keys past their retention; run now and then.
pub async fn purge<C: ConnectionTrait>(db: &C) -> Result<u64, sea_orm::DbErr> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAtUs.lt(now_us() - RETENTION_US))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
