//! Who is acting: the verified claims of a bearer token.

use crate::ids::{AssocId, OrgId};
use serde::{Deserialize, Serialize};

/// The kind of organisation a principal works for (claim `agency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Agency {
    /// Arbetsförmedlingen.
    EmploymentOffice,
    /// Försäkringskassan.
    SocialInsurance,
    /// A municipality (kommun).
    Municipality,
    /// The region (health care).
    Region,
    /// The coordination association's own staff.
    Association,
}

/// What the principal does in the association (claim `role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    CaseWorker,
    Coordinator,
    ProjectLead,
    Auditor,
    Admin,
    /// An agency system acting for its organisation.
    Integration,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::CaseWorker,
        Role::Coordinator,
        Role::ProjectLead,
        Role::Auditor,
        Role::Admin,
        Role::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::CaseWorker => "case_worker",
            Role::Coordinator => "coordinator",
            Role::ProjectLead => "project_lead",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Integration => "integration",
        }
    }
}

impl Agency {
    pub fn as_str(self) -> &'static str {
        match self {
            Agency::EmploymentOffice => "employment_office",
            Agency::SocialInsurance => "social_insurance",
            Agency::Municipality => "municipality",
            Agency::Region => "region",
            Agency::Association => "association",
        }
    }
}

/// The acting user or agency system, as the token proves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Principal {
    /// The user, or the agency system, acting.
    pub sub: String,
    /// The association (tenant).
    pub assoc: AssocId,
    /// The organisation the principal acts for.
    pub org: OrgId,
    pub agency: Agency,
    pub role: Role,
}
