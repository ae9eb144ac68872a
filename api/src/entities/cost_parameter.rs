use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_parameters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub assoc: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    pub effective_from: Date,
    pub annual_cost_of_exclusion_sek: i64,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
