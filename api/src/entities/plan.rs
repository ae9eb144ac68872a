use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub participant_id: Uuid,
    pub leading_org: String,
    pub status: String,
    pub coordinator: Option<String>,
    pub coordinator_org: Option<String>,
    pub support_at_start: Option<String>,
    pub support_at_end: Option<String>,
    pub assoc: String,
    pub org: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub version: i64,
    pub updated_org: String,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "participant_id", to = "id")]
    pub participant: BelongsTo<super::participant::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
