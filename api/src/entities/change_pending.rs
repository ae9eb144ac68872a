use sea_orm::entity::prelude::*;

/// A change committed but not yet numbered in its association's feed
/// (PostgreSQL only: written by the change triggers, moved into `changes`
/// by `store::chain::seal`).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_pending")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub pos: i64,
    pub assoc: String,
    pub resource_type: String,
    pub resource_id: Uuid,
    pub participant_id: Uuid,
    pub plan_id: Option<Uuid>,
    pub version: i64,
    pub operation: String,
    pub changed_at_us: i64,
}

impl ActiveModelBehavior for ActiveModel {}
