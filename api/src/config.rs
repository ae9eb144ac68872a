//! Configuration from the environment (see the README's table).

use crate::trust::Trust;
use std::path::PathBuf;
use std::sync::Arc;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "data";
pub const DEFAULT_ISSUER: &str = "samplan";
pub const DEFAULT_AUDIENCE: &str = "samplan";

/// How tokens are verified: an HS256 secret (development and tests; it
/// trusts every claim), the trust file's identity providers (RS256/ES256,
/// each speaking only for its own organisations), or both.
#[derive(Clone, Default)]
pub struct JwtConfig {
    /// HS256 secret (`SAMPLAN_JWT_SECRET`, or the development secret).
    pub secret: Option<Vec<u8>>,
    /// Set in development mode: the file the generated secret lives in.
    pub development_secret: Option<PathBuf>,
    /// The trust file of `SAMPLAN_TRUST`.
    pub trust: Option<Arc<Trust>>,
    /// The `iss` of HS256 tokens.
    pub issuer: String,
    pub audience: String,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .field("development_secret", &self.development_secret)
            .field("trust", &self.trust.as_ref().map(|t| t.providers().count()))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub jwt: JwtConfig,
    /// The server's own key for keyed hashes and sealed cursors
    /// (`SAMPLAN_SECRET_KEY`); every node of one deployment needs the same.
    pub secret_key: SecretKey,
}

/// A server secret of at least 32 bytes. It keys the HMACs that stand in for
/// personal identity numbers in stored request fingerprints, and seals
/// cursors, so that neither can be guessed or read by a client.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// A key from bytes; `None` when shorter than 32 bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Option<Self> {
        let bytes = bytes.into();
        (bytes.len() >= 32).then_some(SecretKey(bytes))
    }

    /// HMAC-SHA-256 over `parts`, each length-prefixed so that no two
    /// different sequences of parts give the same input.
    pub fn mac(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        use hmac::{Hmac, Mac as _};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// [`SecretKey::mac`] as lower-case hex.
    pub fn mac_hex(&self, domain: &str, parts: &[&[u8]]) -> String {
        self.mac(domain, parts).iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("SAMPLAN_JWT_SECRET must be at least 32 bytes")]
    ShortSecret,
    #[error("SAMPLAN_SECRET_KEY must be at least 32 bytes")]
    ShortSecretKey,
    #[error("SAMPLAN_TRUST {path}: {reason}")]
    Trust { path: String, reason: String },
    #[error(
        "SAMPLAN_JWT_PUBLIC_KEYS is no longer read: a JWKS alone lets any of its keys sign for any organisation. \
         Write a trust file (the identity providers, their JWKS files and the organisations each speaks for; \
         see the README, \"Trust file\") and name it in SAMPLAN_TRUST"
    )]
    PublicKeysWithoutTrust,
    #[error("cannot use the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the configuration; creates the data directory and, in
    /// development mode, the signing secret.
    pub fn from_env() -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(env("SAMPLAN_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.into()));
        let database_url = match env("SAMPLAN_DATABASE_URL") {
            Some(url) => url,
            None => {
                ensure_dir(&data_dir)?;
                format!("sqlite://{}?mode=rwc", data_dir.join("samplan.db").display())
            }
        };
        Ok(Config {
            bind: env("SAMPLAN_BIND").unwrap_or_else(|| DEFAULT_BIND.into()),
            database_url,
            jwt: JwtConfig::from_env(&data_dir)?,
            secret_key: secret_key(&data_dir)?,
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

impl JwtConfig {
    pub fn from_env(data_dir: &std::path::Path) -> Result<Self, ConfigError> {
        Self::from_vars(data_dir, env)
    }

    /// [`JwtConfig::from_env`] over any source of variables.
    fn from_vars(data_dir: &std::path::Path, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = match env("SAMPLAN_JWT_SECRET") {
            Some(secret) if secret.len() < 32 => return Err(ConfigError::ShortSecret),
            secret => secret.map(String::into_bytes),
        };
        let trust = match (env("SAMPLAN_TRUST"), env("SAMPLAN_JWT_PUBLIC_KEYS")) {
            (None, Some(_)) => return Err(ConfigError::PublicKeysWithoutTrust),
            (Some(path), public_keys) => {
                if public_keys.is_some() {
                    tracing::warn!("SAMPLAN_JWT_PUBLIC_KEYS is ignored: the trust file (SAMPLAN_TRUST) names the keys");
                }
                let trust = Trust::load(std::path::Path::new(&path))
                    .map_err(|e| ConfigError::Trust { path: path.clone(), reason: e.to_string() })?;
                Some(Arc::new(trust))
            }
            (None, None) => None,
        };
        let mut config = JwtConfig {
            secret,
            development_secret: None,
            trust,
            issuer: env("SAMPLAN_JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into()),
            audience: env("SAMPLAN_JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
        };
        if config.secret.is_none() && config.trust.is_none() {
            let (secret, path) = development_secret(data_dir)?;
            config.secret = Some(secret);
            config.development_secret = Some(path);
        }
        Ok(config)
    }

    pub fn is_development(&self) -> bool {
        self.development_secret.is_some()
    }
}

fn ensure_dir(dir: &std::path::Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::DataDir { path: dir.into(), source })
}

/// `SAMPLAN_SECRET_KEY`, or else a random key created once in the data
/// directory and reused (enough for one node; several nodes need the variable).
fn secret_key(data_dir: &std::path::Path) -> Result<SecretKey, ConfigError> {
    if let Some(key) = env("SAMPLAN_SECRET_KEY") {
        return SecretKey::new(key.into_bytes()).ok_or(ConfigError::ShortSecretKey);
    }
    let (bytes, _) = random_secret(data_dir, "secret-key")?;
    Ok(SecretKey::new(bytes).expect("a generated key is 43 bytes"))
}

/// The development secret: created once with 32 random bytes, then reused so
/// that tokens minted by `samplan token` keep working across restarts.
fn development_secret(data_dir: &std::path::Path) -> Result<(Vec<u8>, PathBuf), ConfigError> {
    random_secret(data_dir, "dev-jwt-secret")
}

/// 32 random bytes (base64) kept in `data_dir/name`, created on first use.
fn random_secret(data_dir: &std::path::Path, name: &str) -> Result<(Vec<u8>, PathBuf), ConfigError> {
    use base64::Engine as _;
    ensure_dir(data_dir)?;
    let path = data_dir.join(name);
    let io = |source| ConfigError::DataDir { path: path.clone(), source };
    let secret = match std::fs::read_to_string(&path) {
        Ok(existing) if existing.trim().len() >= 32 => existing.trim().to_owned(),
        _ => {
            let bytes: [u8; 32] = rand::random();
            let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            write_private(&path, &encoded).map_err(io)?;
            encoded
        }
    };
    Ok((secret.into_bytes(), path))
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(set: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| set.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn public_keys_without_a_trust_file_stop_the_start() {
        let dir = std::env::temp_dir();
        let secret = "a-secret-that-is-long-enough-for-hs256-0123456789";
        for set in [
            &[("SAMPLAN_JWT_PUBLIC_KEYS", "keys.jwks.json")][..],
            &[("SAMPLAN_JWT_PUBLIC_KEYS", "keys.jwks.json"), ("SAMPLAN_JWT_SECRET", secret)][..],
        ] {
            let error = JwtConfig::from_vars(&dir, vars(set)).unwrap_err();
            assert!(matches!(error, ConfigError::PublicKeysWithoutTrust), "{error}");
            assert!(error.to_string().contains("SAMPLAN_TRUST"), "{error}");
        }
        let only_secret = JwtConfig::from_vars(&dir, vars(&[("SAMPLAN_JWT_SECRET", secret)])).unwrap();
        assert!(only_secret.trust.is_none() && !only_secret.is_development());
    }

    #[test]
    fn an_unreadable_trust_file_stops_the_start() {
        let error = JwtConfig::from_vars(&std::env::temp_dir(), vars(&[("SAMPLAN_TRUST", "/nonexistent/trust.toml")]))
            .unwrap_err();
        assert!(error.to_string().starts_with("SAMPLAN_TRUST /nonexistent/trust.toml:"), "{error}");
    }
}
