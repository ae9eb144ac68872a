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
                            .max_length(Some(255))
                            // Printable ASCII; spaces only inside (a header value is trimmed).
                            .pattern(Some("^[!-~]([\\t -~]{0,253}[!-~])?$")),
                    ))
                    .build();
                post.parameters.get_or_insert_with(Vec::new).push(utoipa::openapi::RefOr::T(parameter));
            }
        }
    }
}

/// Every `If-Match` is read by `extract::IfMatch`: one or more entity tags
/// (`"<version>"`, or `*`) separated by commas; without one the answer is 428.
struct IfMatchHeaders;

impl Modify for IfMatchHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let RefOr::T(parameter) = parameter
                        && parameter.parameter_in == ParameterIn::Header
                        && parameter.name.eq_ignore_ascii_case("If-Match")
                    {
                        parameter.schema = Some(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::schema::Type::String)
                                // Printable ASCII with at least one character that is not a separator.
                                .pattern(Some("^[\\t -~]*[!-+\\x2D-~][\\t -~]*$"))
                                .examples(["\"1\""])
                                .into(),
                        );
                    }
                }
            }
        }
    }
}

/// The answers every operation can give before its handler runs, documented
/// once: 401 where a token is required; 400 where a JSON body, query
/// parameters or an `Idempotency-Key` are parsed; 413, 415 and 422 where a
/// JSON body is read; 409 and 422 for `Idempotency-Key` retries. An
/// operation's own description of a status wins.
struct CommonResponses;

impl CommonResponses {
    const RESPONSES: [(&'static str, &'static str); 6] = [
        ("Unauthenticated", "The bearer token is missing, malformed, expired or not signed by a trusted key"),
        (
            "BadRequest",
            "Malformed request: a body that is not well-formed JSON, an unknown or malformed query parameter \
             or cursor, or an invalid Idempotency-Key",
        ),
        ("PayloadTooLarge", "The body is larger than 64 KiB"),
        ("UnsupportedMediaType", "The body is not sent as application/json"),
        (
            "Unprocessable",
            "Invalid fields (each named in `errors`), or an Idempotency-Key reused with a different request",
        ),
        ("IdempotencyConflict", "A request with this Idempotency-Key is still being processed; retry later"),
    ];
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, header::HeaderBuilder};

        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in Self::RESPONSES {
            let mut response = ResponseBuilder::new().description(description).content(
                crate::error::PROBLEM_JSON,
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
            );
            if name == "Unauthenticated" {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(Some(
                            utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String),
                        ))
                        .description(Some("Bearer realm=\"samplan\""))
                        .build(),
                );
            }
            components.responses.insert(name.into(), RefOr::T(response.build()));
        }
        for item in openapi.paths.paths.values_mut() {
            let methods = [
                (&mut item.get, false),
                (&mut item.put, false),
                (&mut item.post, true),
                (&mut item.delete, false),
                (&mut item.patch, false),
            ];
            for (operation, is_post) in methods.into_iter().filter_map(|(op, post)| op.as_mut().map(|op| (op, post))) {
                let secured = operation
                    .security
                    .as_ref()
                    .is_some_and(|requirements| requirements.iter().any(|r| *r != SecurityRequirement::default()));
                let has_body = operation.request_body.is_some();
                let has_query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, name: &str| {
                    responses.entry(status.to_owned()).or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                };
                if secured {
                    add("401", "Unauthenticated");
                }
                if has_body || has_query || is_post {
                    add("400", "BadRequest");
                }
                if has_body {
                    add("413", "PayloadTooLarge");
                    add("415", "UnsupportedMediaType");
                }
                if has_body || is_post {
                    add("422", "Unprocessable");
                }
                if is_post {
                    add("409", "IdempotencyConflict");
                }
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
    IfMatchHeaders.modify(&mut api);
    CommonResponses.modify(&mut api);
    api
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    /// Links and generated clients name operations by `operationId`, which
    /// OpenAPI requires to be unique.
    #[test]
    fn operation_ids_are_unique() {
        let document = super::document();
        let mut seen = std::collections::BTreeMap::new();
        for (path, item) in &document.paths.paths {
            let operations = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
            for id in operations.into_iter().flatten().filter_map(|operation| operation.operation_id.as_ref()) {
                if let Some(other) = seen.insert(id.clone(), path.clone()) {
                    panic!("operationId {id} names operations on both {other} and {path}");
                }
            }
        }
    }
}
