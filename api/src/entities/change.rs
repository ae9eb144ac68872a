use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub assoc: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub resource_type: String,
    pub resource_id: Uuid,
    pub participant_id: Uuid,
    pub plan_id: Option<Uuid>,
    pub version: i64,
    pub operation: String,
    pub changed_at_us: i64,
}

impl ActiveModelBehavior for ActiveModel {}
