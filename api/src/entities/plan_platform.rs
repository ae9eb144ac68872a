use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_platforms")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plan_id: Uuid,
    pub purpose: String,
    /// Organisation slug → the frame its mandate sets.
    pub frames: Json,
    pub how_the_participant_notices_it_helps: String,
    pub assoc: String,
    pub org: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub version: i64,
    pub updated_org: String,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
