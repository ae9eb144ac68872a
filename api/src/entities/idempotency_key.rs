use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub assoc: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sub: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub request_hash: String,
    pub state: String,
    pub status: Option<i16>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    /// The answer, with every personal identity number replaced by null.
    pub body: Option<String>,
    /// The participant the answer shows: a replay re-checks access to it.
    pub participant_id: Option<Uuid>,
    /// The route template and the created object, for the replay's audit event.
    pub route: Option<String>,
    pub resource_id: Option<Uuid>,
    pub created_at_us: i64,
}

impl ActiveModelBehavior for ActiveModel {}
