use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub assoc: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
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
    pub prev_hash: String,
    pub hash: String,
    /// How many refused requests an `unauthenticated` event stands for, when
    /// more than its own (see `audit::Throttle`); `None` for one.
    pub count: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
