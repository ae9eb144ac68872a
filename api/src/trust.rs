//! The trust file (`SAMPLAN_TRUST`, DESIGN.md "Trust configuration"): the
//! associations, their organisations with their agency kind, and the
//! identity providers with the keys they sign with and the
//! association/organisation pairs each may speak for. Parsed once at start;
//! every check against it is a lookup.

use jsonwebtoken::jwk::JwkSet;
use samplan_domain::access;
use samplan_domain::{Agency, AssocId, OrgId, Organisation, Principal};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The parsed trust file.
#[derive(Debug, Clone)]
pub struct Trust {
    associations: BTreeMap<AssocId, Association>,
    providers: BTreeMap<String, IdentityProvider>,
}

#[derive(Debug, Clone)]
pub struct Association {
    pub name: String,
    pub organisations: Vec<Organisation>,
}

/// An identity provider: the tokens whose `iss` is `issuer`.
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    pub issuer: String,
    pub keys: JwkSet,
    pub speaks_for: BTreeSet<(AssocId, OrgId)>,
    /// For the web view's sign-in; read, not used yet.
    pub openid_connect: Option<OpenIdConnect>,
}

/// A provider's OpenID Connect settings. The client secret is never in the
/// file: `client_secret_env` names the variable that holds it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenIdConnect {
    pub discovery_url: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret_env: Option<String>,
}

/// Why a verified token is still refused. The messages name the check, never
/// a claim's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownIssuer,
    NotSpokenFor,
    WrongAgency,
    RoleNeedsAssociation,
}

impl Refusal {
    pub fn detail(self) -> &'static str {
        match self {
            Refusal::UnknownIssuer => "the token's issuer (iss) is not a trusted identity provider",
            Refusal::NotSpokenFor => {
                "the token's identity provider does not speak for its association and organisation (assoc, org)"
            }
            Refusal::WrongAgency => "the token's agency is not the kind registered for its organisation",
            Refusal::RoleNeedsAssociation => {
                "the token's role is given only to the staff of an organisation of kind association"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TrustError(String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    association: Vec<FileAssociation>,
    #[serde(default)]
    organisation: Vec<FileOrganisation>,
    #[serde(default)]
    identity_provider: Vec<FileProvider>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAssociation {
    id: AssocId,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOrganisation {
    association: AssocId,
    id: OrgId,
    name: String,
    agency: Agency,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProvider {
    issuer: String,
    jwks: PathBuf,
    speaks_for: Vec<String>,
    #[serde(default)]
    openid_connect: Option<OpenIdConnect>,
}

impl Trust {
    /// Reads the trust file at `path`; JWKS paths are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, TrustError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrustError(e.to_string()))?;
        Trust::parse(&text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Parses a trust file whose relative paths start at `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, TrustError> {
        let error = |message: String| Err(TrustError(message));
        let file: File = toml::from_str(text).map_err(|e| TrustError(e.to_string()))?;
        let mut associations = BTreeMap::new();
        for association in file.association {
            let entry = Association { name: association.name, organisations: Vec::new() };
            if associations.insert(association.id.clone(), entry).is_some() {
                return error(format!("association {} is listed twice", association.id));
            }
        }
        for organisation in file.organisation {
            let Some(association) = associations.get_mut(&organisation.association) else {
                return error(format!(
                    "organisation {}: association {} is not listed",
                    organisation.id, organisation.association
                ));
            };
            if association.organisations.iter().any(|o| o.id == organisation.id) {
                return error(format!("organisation {}/{} is listed twice", organisation.association, organisation.id));
            }
            association.organisations.push(Organisation {
                id: organisation.id,
                name: organisation.name,
                agency: organisation.agency,
            });
        }
        let mut providers = BTreeMap::new();
        for provider in file.identity_provider {
            let issuer = provider.issuer;
            if issuer.trim().is_empty() {
                return error("an identity provider has an empty issuer".into());
            }
            if provider.speaks_for.is_empty() {
                return error(format!("identity provider {issuer}: speaks_for names no organisation"));
            }
            let mut speaks_for = BTreeSet::new();
            for pair in &provider.speaks_for {
                let parsed = pair
                    .split_once('/')
                    .and_then(|(assoc, org)| Some((AssocId::parse(assoc).ok()?, OrgId::parse(org).ok()?)));
                let Some((assoc, org)) = parsed else {
                    return error(format!("identity provider {issuer}: {pair:?} is not \"association/organisation\""));
                };
                let registered = associations.get(&assoc).is_some_and(|a| a.organisations.iter().any(|o| o.id == org));
                if !registered {
                    return error(format!("identity provider {issuer}: {assoc}/{org} is not a listed organisation"));
                }
                speaks_for.insert((assoc, org));
            }
            let keys = read_jwks(&base.join(&provider.jwks))
                .map_err(|reason| TrustError(format!("identity provider {issuer}: jwks {}: {reason}", provider.jwks.display())))?;
            let entry = IdentityProvider {
                issuer: issuer.clone(),
                keys,
                speaks_for,
                openid_connect: provider.openid_connect,
            };
            if providers.insert(issuer.clone(), entry).is_some() {
                return error(format!("identity provider {issuer} is listed twice"));
            }
        }
        Ok(Trust { associations, providers })
    }

    pub fn providers(&self) -> impl Iterator<Item = &IdentityProvider> {
        self.providers.values()
    }

    /// The organisations registered in `assoc` (none for an unknown one).
    pub fn organisations(&self, assoc: &AssocId) -> &[Organisation] {
        self.associations.get(assoc).map(|a| a.organisations.as_slice()).unwrap_or_default()
    }

    pub fn organisation(&self, assoc: &AssocId, org: &OrgId) -> Option<&Organisation> {
        self.organisations(assoc).iter().find(|o| o.id == *org)
    }

    /// Whether the provider `issuer` may vouch for `principal`, whose token
    /// it signed: it speaks for the principal's association and
    /// organisation, the agency is the one registered for that organisation,
    /// and a staff role belongs to an organisation of kind `association`.
    pub fn admit(&self, issuer: &str, principal: &Principal) -> Result<(), Refusal> {
        let provider = self.providers.get(issuer).ok_or(Refusal::UnknownIssuer)?;
        if !provider.speaks_for.contains(&(principal.assoc.clone(), principal.org.clone())) {
            return Err(Refusal::NotSpokenFor);
        }
        let registered = self.organisation(&principal.assoc, &principal.org).ok_or(Refusal::NotSpokenFor)?;
        if registered.agency != principal.agency {
            return Err(Refusal::WrongAgency);
        }
        if !access::role_fits_agency(principal.role, registered.agency) {
            return Err(Refusal::RoleNeedsAssociation);
        }
        Ok(())
    }
}

/// Reads a JWKS file; every key needs a `kid`, unique within the file.
fn read_jwks(path: &Path) -> Result<JwkSet, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let set: JwkSet = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut kids = BTreeSet::new();
    for key in &set.keys {
        match key.common.key_id.as_deref() {
            None | Some("") => return Err("every key needs a kid".into()),
            Some(kid) if !kids.insert(kid) => return Err(format!("kid {kid:?} is used twice")),
            Some(_) => {}
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use samplan_domain::Role;

    const JWKS: &str = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

    fn trust(extra: &str) -> Result<Trust, TrustError> {
        let dir = std::env::temp_dir().join(format!("samplan-trust-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        std::fs::write(dir.join("keys/k.json"), JWKS).unwrap();
        let text = format!(
            r#"
[[association]]
id = "vastmanland"
name = "Samordningsförbundet Västerås"

[[organisation]]
association = "vastmanland"
id = "vasteras-kommun"
name = "Västerås stad"
agency = "municipality"

[[organisation]]
association = "vastmanland"
id = "samordning"
name = "Kansliet"
agency = "association"

[[identity_provider]]
issuer = "https://login.vasteras.se"
jwks = "keys/k.json"
speaks_for = ["vastmanland/vasteras-kommun"]

[identity_provider.openid_connect]
discovery_url = "https://login.vasteras.se/.well-known/openid-configuration"
client_id = "samplan"
client_secret_env = "SAMPLAN_OIDC_VASTERAS"
{extra}"#
        );
        let parsed = Trust::parse(&text, &dir);
        std::fs::remove_dir_all(&dir).ok();
        parsed
    }

    fn principal(org: &str, agency: Agency, role: Role) -> Principal {
        Principal {
            sub: "u".into(),
            assoc: AssocId::parse("vastmanland").unwrap(),
            org: OrgId::parse(org).unwrap(),
            agency,
            role,
        }
    }

    #[test]
    fn parses_the_design_example() {
        let trust = trust("").unwrap();
        let assoc = AssocId::parse("vastmanland").unwrap();
        assert_eq!(trust.organisations(&assoc).len(), 2);
        let provider = trust.providers().next().unwrap();
        assert_eq!(provider.keys.keys.len(), 1);
        assert_eq!(provider.openid_connect.as_ref().unwrap().client_id, "samplan");
        assert!(trust.organisations(&AssocId::parse("sala").unwrap()).is_empty());
    }

    #[test]
    fn admits_only_what_the_provider_speaks_for() {
        let trust = trust("").unwrap();
        let issuer = "https://login.vasteras.se";
        let worker = principal("vasteras-kommun", Agency::Municipality, Role::CaseWorker);
        assert_eq!(trust.admit(issuer, &worker), Ok(()));
        assert_eq!(trust.admit("https://elsewhere", &worker), Err(Refusal::UnknownIssuer));
        let other_org = principal("samordning", Agency::Association, Role::CaseWorker);
        assert_eq!(trust.admit(issuer, &other_org), Err(Refusal::NotSpokenFor));
        let other_assoc = Principal { assoc: AssocId::parse("sala").unwrap(), ..worker.clone() };
        assert_eq!(trust.admit(issuer, &other_assoc), Err(Refusal::NotSpokenFor));
        let wrong_kind = principal("vasteras-kommun", Agency::Region, Role::CaseWorker);
        assert_eq!(trust.admit(issuer, &wrong_kind), Err(Refusal::WrongAgency));
        let auditor = principal("vasteras-kommun", Agency::Municipality, Role::Auditor);
        assert_eq!(trust.admit(issuer, &auditor), Err(Refusal::RoleNeedsAssociation));
    }

    #[test]
    fn refuses_inconsistent_files() {
        let unlisted_org = "[[identity_provider]]\nissuer = \"x\"\njwks = \"keys/k.json\"\nspeaks_for = [\"vastmanland/af\"]\n";
        assert!(trust(unlisted_org).unwrap_err().to_string().contains("not a listed organisation"));
        let unlisted_assoc = "[[organisation]]\nassociation = \"sala\"\nid = \"a\"\nname = \"A\"\nagency = \"region\"\n";
        assert!(trust(unlisted_assoc).unwrap_err().to_string().contains("association sala is not listed"));
        let bad_kind = "[[organisation]]\nassociation = \"vastmanland\"\nid = \"a\"\nname = \"A\"\nagency = \"bank\"\n";
        assert!(trust(bad_kind).is_err());
        let missing_jwks = "[[identity_provider]]\nissuer = \"y\"\njwks = \"keys/none.json\"\nspeaks_for = [\"vastmanland/samordning\"]\n";
        assert!(trust(missing_jwks).unwrap_err().to_string().contains("keys/none.json"));
        let twice = "[[identity_provider]]\nissuer = \"https://login.vasteras.se\"\njwks = \"keys/k.json\"\nspeaks_for = [\"vastmanland/samordning\"]\n";
        assert!(trust(twice).unwrap_err().to_string().contains("listed twice"));
        assert!(trust("unknown_key = 1\n").is_err());
    }
}
