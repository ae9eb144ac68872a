//! Identifiers of tenants and organisations: lowercase slugs such as
//! `vasteras-kommun`, as they appear in the `assoc` and `org` claims.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a slug of 1–64 lowercase letters, digits and '-' (e.g. vasteras-kommun)")]
pub struct SlugError;

fn parse_slug(input: &str) -> Result<String, SlugError> {
    let valid = !input.is_empty()
        && input.len() <= 64
        && input.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !input.starts_with('-')
        && !input.ends_with('-');
    if valid { Ok(input.to_owned()) } else { Err(SlugError) }
}

macro_rules! slug_type {
    ($(#[$meta:meta])* $name:ident, $example:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
        #[schema(value_type = String, example = $example, pattern = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, SlugError> {
                parse_slug(input).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_type!(
    /// An organisation, e.g. `vasteras-kommun` or `af-vasteras`.
    OrgId,
    "vasteras-kommun"
);
slug_type!(
    /// A coordination association (the tenant), e.g. `vastmanland`.
    AssocId,
    "vastmanland"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs() {
        for ok in ["vasteras-kommun", "af", "a1-b2", "x"] {
            assert!(OrgId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_non_slugs() {
        for bad in ["", "Vasteras", "-a", "a-", "a b", "å", &"a".repeat(65)] {
            assert!(OrgId::parse(bad).is_err(), "{bad}");
        }
    }
}
