use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meetings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub plan_id: Uuid,
    pub held_on: Date,
    /// A JSON array of who took part (roles or organisations, no names needed).
    pub participants: Json,
    pub better_since_last_time: String,
    pub until_next_time: String,
    pub next_meeting: Option<DateTimeWithTimeZone>,
    pub assoc: String,
    pub org: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
