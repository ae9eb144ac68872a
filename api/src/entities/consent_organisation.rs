use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_organisations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub consent_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org: String,
    pub participant_id: Uuid,
    #[sea_orm(belongs_to, from = "consent_id", to = "id")]
    pub consent: BelongsTo<super::consent::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
