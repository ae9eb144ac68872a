use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_solution_scenarios")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plan_id: Uuid,
    pub preferred_future: String,
    /// A JSON array of strings.
    pub signs_of_progress: Json,
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
