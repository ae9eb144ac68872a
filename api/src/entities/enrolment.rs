use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_id: Uuid,
    pub plan_id: Uuid,
    pub participant_id: Uuid,
    pub enrolled_on: Date,
    pub support_at_start: String,
    pub left_on: Option<Date>,
    pub exit_reason: Option<String>,
    pub support_at_exit: Option<String>,
    pub assoc: String,
    /// The organisation that enrolled the plan.
    pub org: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub version: i64,
    pub updated_org: String,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
