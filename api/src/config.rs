//! Configuration from the environment (see the README's table).

use std::path::PathBuf;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "data";
pub const DEFAULT_ISSUER: &str = "samplan";
pub const DEFAULT_AUDIENCE: &str = "samplan";

/// How tokens are verified.
#[derive(Clone)]
pub enum JwtKeys {
    /// HS256 with a configured shared secret.
    Secret(Vec<u8>),
    /// Development mode: no JWT setting at all, so a random secret kept under
    /// the data directory signs and verifies (`samplan token` uses the same).
    Development { secret: Vec<u8>, path: PathBuf },
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtKeys::Secret(_) => f.write_str("Secret(…)"),
            JwtKeys::Development { path, .. } => write!(f, "Development({})", path.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct JwtConfig {
    pub keys: JwtKeys,
    pub issuer: String,
    pub audience: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub jwt: JwtConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("SAMPLAN_JWT_SECRET must be at least 32 bytes")]
    ShortSecret,
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
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

impl JwtConfig {
    pub fn from_env(data_dir: &std::path::Path) -> Result<Self, ConfigError> {
        let keys = match env("SAMPLAN_JWT_SECRET") {
            Some(secret) if secret.len() < 32 => return Err(ConfigError::ShortSecret),
            Some(secret) => JwtKeys::Secret(secret.into_bytes()),
            None => development_secret(data_dir)?,
        };
        Ok(JwtConfig {
            keys,
            issuer: env("SAMPLAN_JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into()),
            audience: env("SAMPLAN_JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
        })
    }

    pub fn is_development(&self) -> bool {
        matches!(self.keys, JwtKeys::Development { .. })
    }

    pub fn secret(&self) -> &[u8] {
        match &self.keys {
            JwtKeys::Secret(secret) | JwtKeys::Development { secret, .. } => secret,
        }
    }
}

fn ensure_dir(dir: &std::path::Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::DataDir { path: dir.into(), source })
}

/// The development secret: created once with 32 random bytes, then reused so
/// that tokens minted by `samplan token` keep working across restarts.
fn development_secret(data_dir: &std::path::Path) -> Result<JwtKeys, ConfigError> {
    use base64::Engine as _;
    ensure_dir(data_dir)?;
    let path = data_dir.join("dev-jwt-secret");
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
    Ok(JwtKeys::Development { secret: secret.into_bytes(), path })
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
