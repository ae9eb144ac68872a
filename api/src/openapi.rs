//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Samplan",
        description = "The common individual plan of a Swedish coordination association \
            (samordningsförbund), built with the solution-focused plus model. \
            Errors are application/problem+json (RFC 9457). Updates of editable objects need \
            If-Match with the object's ETag (428 without it, 412 when stale). Lists page with \
            limit and cursor. Personal identity numbers travel only in bodies, never in URLs.",
        license(name = "EUPL-1.2")
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "participants", description = "Registration and lookup of participants"),
        (name = "consents", description = "The participant's consent to share information between organisations"),
        (name = "plans", description = "The common plan: platform, solution scenario, resources, small steps, scale readings, meetings"),
        (name = "changes", description = "The change feed agency systems poll"),
        (name = "audit", description = "The audit trail: who read or wrote what, and every denied attempt"),
        (name = "operations", description = "Health and token checks"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT with the claims sub, assoc, org, agency, role, iss, aud, exp and nbf",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every POST accepts `Idempotency-Key` (the middleware handles it for all).
struct IdempotencyKeys;

impl Modify for IdempotencyKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        for item in openapi.paths.paths.values_mut() {
            if let Some(post) = item.post.as_mut() {
                let parameter = ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(utoipa::openapi::Required::False)
                    .description(Some(
                        "Retry safely: a retry with the same key and body replays the first answer \
                         (header Idempotent-Replayed: true); the same key with another body is 422; \
                         a retry while the first is running is 409. Keys are per caller and kept 24 hours.",
                    ))
                    .schema(Some(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::String)
                            .min_length(Some(1))
                            .max_length(Some(255)),
                    ))
                    .build();
                post.parameters.get_or_insert_with(Vec::new).push(utoipa::openapi::RefOr::T(parameter));
            }
        }
    }
}

/// The document `/openapi.json` serves and `openapi/openapi.json` holds.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    // The paths exist only now, after the routes were collected.
    IdempotencyKeys.modify(&mut api);
    api
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().expect("the OpenAPI document serializes");
    json.push('\n');
    json
}
