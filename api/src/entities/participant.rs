use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Twelve digits; never logged, never in a URL.
    pub personal_identity_number: String,
    pub name: String,
    pub assoc: String,
    /// The registering organisation.
    pub org: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub plans: HasMany<super::plan::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
