//! Bearer tokens: verifying them into a [`Principal`] (as an extractor, so a
//! handler that takes `Auth` cannot forget to authenticate) and minting
//! development tokens for `samplan token`.

use crate::audit::AuditContext;
use crate::config::JwtConfig;
use crate::error::ApiError;
use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use std::collections::HashMap;
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
    secret: Option<DecodingKey>,
    /// `kid` → the key and the one algorithm it verifies.
    public_keys: HashMap<String, (DecodingKey, Algorithm)>,
    issuer: String,
    audience: String,
}

#[derive(Debug, thiserror::Error)]
#[error("public key {kid}: {reason}")]
pub struct KeyError {
    kid: String,
    reason: String,
}

impl TokenVerifier {
    pub fn new(config: &JwtConfig) -> Result<Self, KeyError> {
        let mut public_keys = HashMap::new();
        for jwk in config.public_keys.iter().flat_map(|set| set.keys.iter()) {
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            let error = |reason: &str| KeyError { kid: kid.clone(), reason: reason.into() };
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                    if ec.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => return Err(error("only RS256 (RSA) and ES256 (P-256) keys are accepted")),
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| error(&e.to_string()))?;
            public_keys.insert(kid, (key, algorithm));
        }
        Ok(TokenVerifier {
            secret: config.secret.as_deref().map(DecodingKey::from_secret),
            public_keys,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation
    }

    /// HS256 tokens verify with the secret (refused when none is configured);
    /// others with the public key their `kid` names, which must be of the
    /// token's algorithm.
    fn key_for(&self, header: &Header) -> Result<(&DecodingKey, Algorithm), ApiError> {
        if header.alg == Algorithm::HS256 {
            return match &self.secret {
                Some(secret) => Ok((secret, Algorithm::HS256)),
                None => Err(ApiError::Unauthenticated("HS256 tokens are not accepted here")),
            };
        }
        let kid = header.kid.as_deref().ok_or(ApiError::Unauthenticated("the token names no key (kid)"))?;
        let (key, algorithm) =
            self.public_keys.get(kid).ok_or(ApiError::Unauthenticated("the token's key (kid) is unknown"))?;
        if *algorithm != header.alg {
            return Err(ApiError::Unauthenticated("the token's algorithm does not match its key"));
        }
        Ok((key, *algorithm))
    }

    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::Unauthenticated("the token is malformed or its algorithm is not accepted"))?;
        let (key, algorithm) = self.key_for(&header)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation(algorithm)).map_err(|error| {
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

/// The authenticated principal of a request, with the request's audit
/// record (which learns who is asking as soon as the token verifies).
#[derive(Debug, Clone)]
pub struct Auth {
    pub principal: Principal,
    pub audit: AuditContext,
}

impl std::ops::Deref for Auth {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let audit = AuditContext::of(req);
        audit.route(req);
        ready(authenticate(req).map(|principal| {
            audit.principal(&principal);
            Auth { principal, audit }
        }))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let verifier = req
        .app_data::<web::Data<Arc<TokenVerifier>>>()
        .ok_or_else(|| ApiError::Internal("token verifier not configured".into()))?;
    verifier.verify(bearer(req)?)
}

/// The bearer token of a request.
pub fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated("the Authorization header is missing"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthenticated("the Authorization header is not a bearer token"))
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

/// Signs a token with the configured HS256 secret; `None` when there is none
/// (a JWKS-only deployment mints its tokens at the identity providers).
pub fn mint(config: &JwtConfig, request: &TokenRequest) -> Option<String> {
    let secret = config.secret.as_deref()?;
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
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret)).ok()
}
