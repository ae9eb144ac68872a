//! Bearer tokens: verifying them into a [`Principal`] (as an extractor, so a
//! handler that takes `Auth` cannot forget to authenticate) and minting
//! development tokens for `samplan token`.

use crate::config::JwtConfig;
use crate::error::ApiError;
use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use samplan_domain::{Agency, AssocId, OrgId, Principal, Role};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};
use std::sync::Arc;

/// The claims Samplan requires on every token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub assoc: String,
    pub org: String,
    pub agency: Agency,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// Verifies tokens; built once at start-up and shared by all workers.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(config: &JwtConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 30;
        TokenVerifier { key: DecodingKey::from_secret(config.secret()), validation }
    }

    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|error| {
            ApiError::Unauthenticated(match error.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidIssuer => "the token has the wrong issuer",
                ErrorKind::InvalidAudience => "the token has the wrong audience",
                ErrorKind::InvalidSignature => "the token's signature does not verify",
                ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    "the token's algorithm is not accepted"
                }
                ErrorKind::Json(_) => "the token's claims are missing or have unknown values",
                _ => "the token is malformed",
            })
        })?;
        let claims = data.claims;
        let invalid = || ApiError::Unauthenticated("the token's claims are missing or have unknown values");
        if claims.sub.trim().is_empty() || claims.sub.len() > 255 {
            return Err(invalid());
        }
        Ok(Principal {
            sub: claims.sub,
            assoc: AssocId::parse(&claims.assoc).map_err(|_| invalid())?,
            org: OrgId::parse(&claims.org).map_err(|_| invalid())?,
            agency: claims.agency,
            role: claims.role,
        })
    }
}

/// The authenticated principal of a request.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl std::ops::Deref for Auth {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(Auth))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let verifier = req
        .app_data::<web::Data<Arc<TokenVerifier>>>()
        .ok_or_else(|| ApiError::Internal("token verifier not configured".into()))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated("the Authorization header is missing"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthenticated("the Authorization header is not a bearer token"))?;
    verifier.verify(token)
}

/// What `samplan token` mints.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub sub: String,
    pub assoc: AssocId,
    pub org: OrgId,
    pub agency: Agency,
    pub role: Role,
    pub ttl: std::time::Duration,
}

pub fn mint(config: &JwtConfig, request: &TokenRequest) -> Result<String, jsonwebtoken::errors::Error> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: request.sub.clone(),
        assoc: request.assoc.to_string(),
        org: request.org.to_string(),
        agency: request.agency,
        role: request.role,
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        exp: now + request.ttl.as_secs(),
        nbf: now,
        iat: Some(now),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(config.secret()))
}
