//! Samplan's domain: the plus model, who may do what, and the types that prove
//! input valid once it has been parsed at the edge. No HTTP, no SQL.

pub mod access;
pub mod ids;
pub mod organisation;
pub mod personnummer;
pub mod plan;
pub mod principal;
pub mod report;
pub mod validation;

pub use ids::{AssocId, OrgId};
pub use organisation::Organisation;
pub use personnummer::{PersonalIdentityNumber, PersonalIdentityNumberError};
pub use plan::{Contributor, MeetingDates, PlanStatus, ScaleValue, StepCounts, StepStatus, SupportSource};
pub use principal::{Agency, Principal, Role};
pub use validation::{FieldError, ValidationErrors};
