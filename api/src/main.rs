//! The `samplan` binary: `serve` (the default), `token`, `openapi`.

use samplan_api::auth::{TokenRequest, mint};
use samplan_api::config::{Config, DEFAULT_DATA_DIR, JwtConfig};
use samplan_api::{Application, telemetry};
use samplan_domain::{Agency, AssocId, OrgId, Role};
use std::process::ExitCode;

/// mimalloc: glibc's allocator spends much of a loaded server's time in its
/// arena locks, shared by the actix workers and the store's threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage:
  samplan [serve]                  start the server (configuration from the environment)
  samplan token --org ORG --agency KIND --role ROLE [--assoc A] [--sub S] [--ttl 1h]
                                   print a token signed with the configured (or development) secret
  samplan audit verify [--assoc A] walk the audit hash chain(s); exits non-zero at the first broken event
  samplan openapi                  print the OpenAPI document";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve(),
        Some("token") => token(&args[1..]),
        Some("audit") => audit(&args[1..]),
        Some("openapi") => {
            print!("{}", samplan_api::openapi::document_json());
            Ok(())
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("samplan: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> Result<(), String> {
    telemetry::init();
    let config = Config::from_env().map_err(|e| e.to_string())?;
    if config.jwt.is_development() {
        tracing::warn!(
            "DEVELOPMENT MODE: no SAMPLAN_JWT_SECRET is set, so tokens are signed with a random secret \
             kept in the data directory; mint one with `samplan token`. Never run like this in production."
        );
    }
    if config.jwt.trust.is_some() && config.jwt.secret.is_some() {
        tracing::warn!(
            "SAMPLAN_JWT_SECRET is set beside SAMPLAN_TRUST: HS256 tokens are trusted for every claim, \
             whatever the trust file says. Never run production like this."
        );
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config.clone()).await.map_err(|e| e.to_string())?;
        tracing::info!(address = %config.bind, port = app.port(), store = if config.is_sqlite() { "sqlite" } else { "postgres" }, "samplan listening");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn audit(args: &[String]) -> Result<(), String> {
    let assoc = match args {
        [verify] if verify == "verify" => None,
        [verify, flag, assoc] if verify == "verify" && flag == "--assoc" => Some(assoc.clone()),
        _ => return Err(format!("usage: samplan audit verify [--assoc A]\n{USAGE}")),
    };
    let config = Config::from_env().map_err(|e| e.to_string())?;
    actix_web::rt::System::new().block_on(async move {
        let store = samplan_api::store::Store::connect(&config.database_url).await.map_err(|e| e.to_string())?;
        let verified = samplan_api::audit::verify(store.db(), assoc.as_deref()).await.map_err(|e| e.to_string())?;
        println!("audit chain intact: {verified} events verified");
        Ok(())
    })
}

fn token(args: &[String]) -> Result<(), String> {
    let mut org = None;
    let mut agency = None;
    let mut role = None;
    let mut assoc = "vastmanland".to_owned();
    let mut sub = None;
    let mut ttl = std::time::Duration::from_secs(3600);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || rest.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--org" => org = Some(value()?),
            "--agency" => agency = Some(value()?),
            "--role" => role = Some(value()?),
            "--assoc" => assoc = value()?,
            "--sub" => sub = Some(value()?),
            "--ttl" => ttl = parse_ttl(&value()?)?,
            other => return Err(format!("unknown option {other:?}\n{USAGE}")),
        }
    }
    let org = org.ok_or_else(|| format!("--org is required\n{USAGE}"))?;
    let enum_value = |name: &str, raw: Option<String>| -> Result<serde_json::Value, String> {
        raw.map(serde_json::Value::String).ok_or_else(|| format!("--{name} is required\n{USAGE}"))
    };
    let agency: Agency = serde_json::from_value(enum_value("agency", agency)?)
        .map_err(|_| "--agency must be employment_office, social_insurance, municipality, region or association")?;
    let role: Role = serde_json::from_value(enum_value("role", role)?)
        .map_err(|_| "--role must be case_worker, coordinator, project_lead, auditor, admin or integration")?;
    let request = TokenRequest {
        sub: sub.unwrap_or_else(|| format!("{}@{org}", role.as_str())),
        assoc: AssocId::parse(&assoc).map_err(|e| format!("--assoc {e}"))?,
        org: OrgId::parse(&org).map_err(|e| format!("--org {e}"))?,
        agency,
        role,
        ttl,
    };
    let data_dir = std::env::var("SAMPLAN_DATA_DIR").unwrap_or_else(|_| DEFAULT_DATA_DIR.into());
    let jwt = JwtConfig::from_env(std::path::Path::new(&data_dir)).map_err(|e| e.to_string())?;
    let token = mint(&jwt, &request).ok_or("no SAMPLAN_JWT_SECRET is configured to sign with")?;
    println!("{token}");
    Ok(())
}

fn parse_ttl(raw: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = number.parse().map_err(|_| format!("--ttl {raw:?}: use e.g. 30m, 1h, 7d"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("--ttl {raw:?}: use e.g. 30m, 1h, 7d")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}
