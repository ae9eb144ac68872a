//! The organisations of an association, as the trust file registers them.

use crate::ids::OrgId;
use crate::principal::Agency;
use serde::Serialize;

/// An organisation registered in an association.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Organisation {
    pub id: OrgId,
    #[schema(example = "Västerås stad")]
    pub name: String,
    pub agency: Agency,
}
