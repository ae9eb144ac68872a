use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub participant_id: Uuid,
    pub purpose: String,
    pub valid_from: Date,
    pub valid_until: Date,
    pub withdrawn_at: Option<DateTimeUtc>,
    pub withdrawn_by: Option<String>,
    pub withdrawn_org: Option<String>,
    pub assoc: String,
    /// The organisation that recorded the consent (the registering one).
    pub org: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub version: i64,
    #[sea_orm(has_many)]
    pub organisations: HasMany<super::consent_organisation::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
