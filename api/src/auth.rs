//! Bearer tokens: verifying them into a [`Principal`] (as an extractor, so a
//! handler that takes `Auth` cannot forget to authenticate) and minting
//! development tokens for `samplan token`.

use crate::record::AuditContext;
use crate::config::JwtConfig;
use crate::error::ApiError;
use crate::trust::{Refusal, Trust};
use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use std::collections::HashMap;
use samplan_domain::{Agency, AssocId, OrgId, Principal, Role, ValidationErrors};
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
    trust: Option<Arc<Trust>>,
    /// Issuer → `kid` → the key and the one algorithm it verifies. A key
    /// verifies only tokens of its own provider.
    providers: HashMap<String, HashMap<String, (DecodingKey, Algorithm)>>,
    issuer: String,
    audience: String,
}

#[derive(Debug, thiserror::Error)]
#[error("public key {kid} of {issuer}: {reason}")]
pub struct KeyError {
    issuer: String,
    kid: String,
    reason: String,
}

/// Only the issuer, read before the signature is checked to find the keys.
#[derive(Deserialize)]
struct Issuer {
    iss: String,
}

impl TokenVerifier {
    pub fn new(config: &JwtConfig) -> Result<Self, KeyError> {
        let mut providers = HashMap::new();
        for provider in config.trust.iter().flat_map(|trust| trust.providers()) {
            let mut keys = HashMap::new();
            for jwk in &provider.keys.keys {
                let kid = jwk.common.key_id.clone().unwrap_or_default();
                let error =
                    |reason: &str| KeyError { issuer: provider.issuer.clone(), kid: kid.clone(), reason: reason.into() };
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
                keys.insert(kid, (key, algorithm));
            }
            providers.insert(provider.issuer.clone(), keys);
        }
        Ok(TokenVerifier {
            secret: config.secret.as_deref().map(DecodingKey::from_secret),
            trust: config.trust.clone(),
            providers,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }

    /// The trust file, if there is one.
    pub fn trust(&self) -> Option<&Arc<Trust>> {
        self.trust.as_ref()
    }

    fn validation(&self, algorithm: Algorithm, issuer: &str) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[&self.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation
    }

    /// HS256 tokens verify with the secret (refused when none is configured)
    /// and the issuer `SAMPLAN_JWT_ISSUER`. Others name their issuer, which
    /// must be a provider of the trust file, and a `kid` among that
    /// provider's keys, whose algorithm must be the token's. Returns the key,
    /// its algorithm and the issuer to require.
    fn key_for(&self, token: &str, header: &Header) -> Result<(&DecodingKey, Algorithm, String), ApiError> {
        if header.alg == Algorithm::HS256 {
            return match &self.secret {
                Some(secret) => Ok((secret, Algorithm::HS256, self.issuer.clone())),
                None => Err(ApiError::Unauthenticated("HS256 tokens are not accepted here")),
            };
        }
        if self.trust.is_none() {
            return Err(ApiError::Unauthenticated("only HS256 tokens are accepted here: no identity provider is trusted"));
        }
        let issuer = jsonwebtoken::dangerous::insecure_decode::<Issuer>(token)
            .map_err(|_| ApiError::Unauthenticated("the token lacks a required claim"))?
            .claims
            .iss;
        let keys = self.providers.get(&issuer).ok_or(ApiError::Unauthenticated(Refusal::UnknownIssuer.detail()))?;
        let kid = header.kid.as_deref().ok_or(ApiError::Unauthenticated("the token names no key (kid)"))?;
        let (key, algorithm) = keys
            .get(kid)
            .ok_or(ApiError::Unauthenticated("the token's key (kid) is not one of its identity provider's keys"))?;
        if *algorithm != header.alg {
            return Err(ApiError::Unauthenticated("the token's algorithm does not match its key"));
        }
        Ok((key, *algorithm, issuer))
    }

    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::Unauthenticated("the token is malformed or its algorithm is not accepted"))?;
        let (key, algorithm, issuer) = self.key_for(token, &header)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation(algorithm, &issuer)).map_err(|error| {
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
        let principal = Principal {
            sub: claims.sub,
            assoc: AssocId::parse(&claims.assoc).map_err(|_| invalid())?,
            org: OrgId::parse(&claims.org).map_err(|_| invalid())?,
            agency: claims.agency,
            role: claims.role,
        };
        // The development secret trusts every claim; a provider only its own.
        if algorithm != Algorithm::HS256 {
            let trust = self.trust.as_ref().ok_or_else(|| ApiError::Internal("a provider key without trust".into()))?;
            trust.admit(&issuer, &principal).map_err(|refusal| ApiError::Unauthenticated(refusal.detail()))?;
        }
        Ok(principal)
    }
}

/// The authenticated principal of a request, with the request's audit
/// record (which learns who is asking as soon as the token verifies).
#[derive(Debug, Clone)]
pub struct Auth {
    pub principal: Principal,
    pub audit: AuditContext,
    /// The trust file, when the server has one.
    pub trust: Option<Arc<Trust>>,
}

impl Auth {
    /// Whether `org` is an organisation of the principal's association: one
    /// the trust file registers there, or, without a trust file
    /// (development), any.
    pub fn knows_organisation(&self, org: &OrgId) -> bool {
        self.trust.as_ref().is_none_or(|trust| trust.organisation(&self.principal.assoc, org).is_some())
    }

    /// Adds a validation error on `field` unless `org` is an organisation of
    /// the principal's association (see [`Auth::knows_organisation`]).
    pub fn check_organisation(&self, errors: &mut ValidationErrors, field: &str, org: &OrgId) {
        if !self.knows_organisation(org) {
            errors.add(field, "must be an organisation registered in your association (see GET /v1/organisations)");
        }
    }
}

impl AsRef<AuditContext> for Auth {
    fn as_ref(&self) -> &AuditContext {
        &self.audit
    }
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
        ready(authenticate(req).map(|(principal, trust)| {
            audit.principal(&principal);
            Auth { principal, audit, trust }
        }))
    }
}

fn authenticate(req: &HttpRequest) -> Result<(Principal, Option<Arc<Trust>>), ApiError> {
    let verifier = req
        .app_data::<web::Data<Arc<TokenVerifier>>>()
        .ok_or_else(|| ApiError::Internal("token verifier not configured".into()))?;
    Ok((verifier.verify(bearer(req)?)?, verifier.trust().cloned()))
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
/// (with only a trust file, the identity providers mint the tokens).
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
