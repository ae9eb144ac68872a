//! Participants: registration, reading, listing and lookup by personal
//! identity number (in the body, never in the URL).

use crate::auth::Auth;
use crate::entities::participant;
use crate::error::{ApiError, Problem};
use crate::extract::{Body, PageQuery};
use crate::routes::created;
use crate::store::{Store, scope};
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use samplan_domain::validation::{self, ValidationErrors};
use samplan_domain::{PersonalIdentityNumber, access};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const NAME_MAX: usize = 200;

/// Register a participant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewParticipant {
    /// Personnummer or samordningsnummer: 10 or 12 digits, with or without
    /// `-` or `+` (`+` = 100 years or older). Validated (date, check digit)
    /// and stored as 12 digits.
    #[schema(example = "19811218-9876")]
    pub personal_identity_number: String,
    #[schema(example = "Anna Andersson", max_length = 200, pattern = "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")]
    pub name: String,
}

/// Find participants by personal identity number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    #[schema(example = "19811218-9876")]
    pub personal_identity_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Participant {
    pub id: Uuid,
    /// Twelve digits.
    #[schema(example = "198112189876")]
    pub personal_identity_number: String,
    pub name: String,
    /// The organisation that registered the participant.
    pub registered_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<participant::Model> for Participant {
    fn from(m: participant::Model) -> Self {
        Participant {
            id: m.id,
            personal_identity_number: m.personal_identity_number,
            name: m.name,
            registered_by: m.org,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantPage {
    pub items: Vec<Participant>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantMatches {
    /// The participants with that number that you may see: the one your
    /// organisation registered and those whose consent names your organisation.
    pub items: Vec<Participant>,
}

fn parse_pin(errors: &mut ValidationErrors, raw: &str) -> Option<PersonalIdentityNumber> {
    errors.check("personal_identity_number", PersonalIdentityNumber::parse(raw))
}

/// Register a participant for your organisation.
#[utoipa::path(
    tag = "participants",
    request_body = NewParticipant,
    responses(
        (status = 201, description = "Registered", body = Participant, headers(("Location" = String))),
        (status = 409, description = "Your organisation has already registered this person", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/participants")]
pub async fn register(
    auth: Auth,
    store: web::Data<Store>,
    Body(body): Body<NewParticipant>,
) -> Result<HttpResponse, ApiError> {
    if !access::may_register_participant(&auth) {
        return Err(ApiError::NotFound);
    }
    let mut errors = ValidationErrors::new();
    let pin = parse_pin(&mut errors, &body.personal_identity_number);
    validation::text(&mut errors, "name", &body.name, NAME_MAX, true);
    let pin = errors.finish(|| pin.expect("parsed when no errors"))?;

    let now = Utc::now();
    let id = Uuid::now_v7();
    let model = participant::ActiveModel {
        id: Set(id),
        personal_identity_number: Set(pin.into_inner()),
        name: Set(body.name.trim().to_owned()),
        assoc: Set(auth.assoc.to_string()),
        org: Set(auth.org.to_string()),
        created_by: Set(auth.sub.clone()),
        created_at: Set(now),
    };
    let txn = store.begin_write(&auth).await?;
    // A second registration by the same organisation runs into ux_participants_pin: 409.
    let inserted = model.insert(&txn).await?;
    // Recorded once stored: a refused duplicate names no participant.
    auth.audit.created(id);
    auth.audit.saw(id);
    txn.commit().await?;
    let participant = Participant::from(inserted);
    Ok(created(format!("/v1/participants/{}", participant.id), &participant))
}

/// List the participants you may see, oldest first.
#[utoipa::path(
    tag = "participants",
    operation_id = "list_participants",
    params(PageQuery),
    responses(
        (status = 200, body = ParticipantPage),
        (status = 400, description = "Bad cursor or limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/participants")]
pub async fn list(
    auth: Auth,
    store: web::Data<Store>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ParticipantPage>, ApiError> {
    let page = query.page()?;
    let visible = scope::participant_condition(&auth, scope::today()).ok_or(ApiError::NotFound)?;
    let select = participant::Entity::find().filter(visible);
    let (rows, next_cursor) = page.fetch(store.db(), select, participant::Column::Id, |row| row.id).await?;
    for row in &rows {
        auth.audit.saw(row.id);
    }
    Ok(web::Json(ParticipantPage { items: rows.into_iter().map(Participant::from).collect(), next_cursor }))
}

/// Read one participant.
#[utoipa::path(
    tag = "participants",
    operation_id = "read_participant",
    params(("id" = Uuid, Path, description = "Participant id")),
    responses(
        (status = 200, body = Participant),
        (status = 404, description = "No such participant, or not one you may see", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/participants/{id}")]
pub async fn read(
    auth: Auth,
    store: web::Data<Store>,
    id: web::Path<Uuid>,
) -> Result<web::Json<Participant>, ApiError> {
    let found = scope::visible_participant(store.db(), &auth, id.into_inner(), scope::today()).await?;
    Ok(web::Json(found.model.into()))
}

/// Find participants by personal identity number. The number travels in the
/// body so that it never appears in a URL or an access log. A read: an
/// `Idempotency-Key` is ignored and no answer is kept.
#[utoipa::path(
    tag = "participants",
    request_body = Lookup,
    responses(
        (status = 200, description = "The matching participants you may see (possibly none)", body = ParticipantMatches),
        (status = 422, description = "Invalid number", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/participants/lookup")]
pub async fn lookup(
    auth: Auth,
    store: web::Data<Store>,
    Body(body): Body<Lookup>,
) -> Result<web::Json<ParticipantMatches>, ApiError> {
    let mut errors = ValidationErrors::new();
    let pin = parse_pin(&mut errors, &body.personal_identity_number);
    let pin = errors.finish(|| pin.expect("parsed when no errors"))?;
    let select = participant::Entity::find()
        .filter(participant::Column::PersonalIdentityNumber.eq(pin.as_str()))
        .order_by_asc(participant::Column::Id)
        .limit(crate::extract::MAX_LIMIT);
    // Matches the caller may not see are audited as denied, in their own
    // association, and otherwise left out: the answer is the same as for a
    // number that matches no one.
    let rows = scope::matching_participants(store.db(), &auth, select, scope::today()).await?;
    Ok(web::Json(ParticipantMatches { items: rows.into_iter().map(Participant::from).collect() }))
}
