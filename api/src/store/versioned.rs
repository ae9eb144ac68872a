//! Changing an editable row: optimistic concurrency by `version`, the one
//! way every update of the API is written.
//!
//! The handler reads the row, checks `If-Match` against its version and
//! builds the change; [`update`] applies it only if the row still has that
//! version (`WHERE id = ? AND version = ?`), counts the version up and stamps
//! who changed it and when. A request that lost the race to another change
//! made in between gets 412 with the row's current ETag, read anew, so that
//! it can re-read, re-apply and resend; no update is lost silently.

use crate::entities::{consent, enrolment, milestone, plan, plan_platform, plan_solution_scenario, plan_step, project};
use crate::error::ApiError;
use chrono::Utc;
use samplan_domain::Principal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, UpdateMany};
use uuid::Uuid;

/// A table of editable rows: a `version` per row, counted up by each change.
pub trait Versioned: EntityTrait {
    const ID: Self::Column;
    const VERSION: Self::Column;
    /// `updated_org`, `updated_by` and `updated_at`: who last changed the
    /// row, and when. `None` for a row that records its one change in
    /// columns of its own (a consent's withdrawal).
    const STAMP: Option<[Self::Column; 3]>;

    fn id(model: &Self::Model) -> Uuid;

    fn version(model: &Self::Model) -> i64;

    /// The answer to any change of a row whose state admits none (a
    /// withdrawn consent), also when the change lost the race to the one
    /// that put it there; `None` when the row may change.
    fn finished(_current: &Self::Model) -> Option<ApiError> {
        None
    }
}

/// Applies `changes` (the changed columns of an `update_many`) to the row
/// `current` was read as, by `by`, if nobody changed it since; returns the
/// row as it is now. Otherwise nothing is changed and the answer is 412 with
/// the row's current ETag (or [`Versioned::finished`]'s answer, or 404 when
/// the row is gone).
pub async fn update<E: Versioned, C: ConnectionTrait>(
    db: &C,
    current: &E::Model,
    changes: UpdateMany<E>,
    by: &Principal,
) -> Result<E::Model, ApiError> {
    let (id, version) = (E::id(current), E::version(current));
    let mut changes = changes.col_expr(E::VERSION, Expr::col(E::VERSION).add(1));
    if let Some([org, sub, at]) = E::STAMP {
        changes = changes
            .col_expr(org, Expr::value(by.org.to_string()))
            .col_expr(sub, Expr::value(by.sub.clone()))
            .col_expr(at, Expr::value(Utc::now()));
    }
    let result = changes.filter(E::ID.eq(id)).filter(E::VERSION.eq(version)).exec(db).await?;
    let now = E::find().filter(E::ID.eq(id)).one(db).await?.ok_or(ApiError::NotFound)?;
    if result.rows_affected == 0 {
        return Err(E::finished(&now).unwrap_or_else(|| ApiError::precondition_failed(E::version(&now))));
    }
    Ok(now)
}

/// The stamped tables: `$module::Entity` with primary key column `$id`
/// (field `$field`).
macro_rules! stamped {
    ($($module:ident: $id:ident / $field:ident),* $(,)?) => {$(
        impl Versioned for $module::Entity {
            const ID: $module::Column = $module::Column::$id;
            const VERSION: $module::Column = $module::Column::Version;
            const STAMP: Option<[$module::Column; 3]> =
                Some([$module::Column::UpdatedOrg, $module::Column::UpdatedBy, $module::Column::UpdatedAt]);

            fn id(model: &$module::Model) -> Uuid {
                model.$field
            }

            fn version(model: &$module::Model) -> i64 {
                model.version
            }
        }
    )*};
}

stamped!(
    plan: Id / id,
    plan_platform: PlanId / plan_id,
    plan_solution_scenario: PlanId / plan_id,
    plan_step: Id / id,
    enrolment: Id / id,
    project: Id / id,
    milestone: Id / id,
);

impl Versioned for consent::Entity {
    const ID: consent::Column = consent::Column::Id;
    const VERSION: consent::Column = consent::Column::Version;
    const STAMP: Option<[consent::Column; 3]> = None;

    fn id(model: &consent::Model) -> Uuid {
        model.id
    }

    fn version(model: &consent::Model) -> i64 {
        model.version
    }

    /// Withdrawal is final, and a second one changes nothing: 409, with or
    /// without `If-Match`.
    fn finished(current: &consent::Model) -> Option<ApiError> {
        current.withdrawn_at.is_some().then_some(ApiError::Conflict("The consent is already withdrawn"))
    }
}
