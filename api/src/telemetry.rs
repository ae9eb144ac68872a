//! Logging: one subscriber, filtered by `RUST_LOG` (default `info`). SQL
//! statement logging (sea-orm, sqlx) stays at `warn` unless `RUST_LOG` names
//! those targets explicitly.

use tracing_subscriber::EnvFilter;

pub fn filter_directives(rust_log: Option<&str>) -> String {
    let base = rust_log.filter(|s| !s.trim().is_empty()).unwrap_or("info");
    let mut directives = base.to_owned();
    for target in ["sea_orm", "sqlx"] {
        if !base.contains(target) {
            directives.push_str(&format!(",{target}=warn"));
        }
    }
    directives
}

pub fn init() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = EnvFilter::try_new(filter_directives(rust_log.as_deref()))
        .unwrap_or_else(|_| EnvFilter::new(filter_directives(None)));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}
