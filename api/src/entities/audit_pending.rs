use sea_orm::entity::prelude::*;

/// An audit event committed with its request but not yet in its chain
/// (PostgreSQL only: see `store::chain::seal`). `pos` orders the staged
/// events of one association.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_pending")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub pos: i64,
    pub assoc: String,
    pub id: Uuid,
    pub occurred_at_us: i64,
    pub sub: String,
    pub org: String,
    pub agency: String,
    pub role: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    pub outcome: String,
    pub status: i16,
    pub request_id: String,
    pub count: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
