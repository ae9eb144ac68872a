//! The plus model's parts as values: statuses, sources of support, scale
//! values and who contributed what.

use crate::ids::OrgId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a plan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Draft,
    Active,
    Paused,
    Completed,
    Closed,
}

impl PlanStatus {
    /// An open plan blocks a second plan for the same participant.
    pub fn is_open(self) -> bool {
        matches!(self, PlanStatus::Draft | PlanStatus::Active | PlanStatus::Paused)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Active => "active",
            PlanStatus::Paused => "paused",
            PlanStatus::Completed => "completed",
            PlanStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Active, Self::Paused, Self::Completed, Self::Closed]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// A small step's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Planned,
    Done,
    Dropped,
}

impl StepStatus {
    pub const ALL: [StepStatus; 3] = [StepStatus::Planned, StepStatus::Done, StepStatus::Dropped];

    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Planned => "planned",
            StepStatus::Done => "done",
            StepStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// The participant's main source of support, recorded at the start and the end
/// of a plan so that movement toward self-support can be counted (the
/// categories of Försäkringskassan's follow-up of coordination associations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SupportSource {
    Work,
    Studies,
    JobSeeking,
    SicknessBenefit,
    ActivityCompensation,
    FinancialSupport,
    Other,
}

impl SupportSource {
    pub const ALL: [SupportSource; 7] = [
        SupportSource::Work,
        SupportSource::Studies,
        SupportSource::JobSeeking,
        SupportSource::SicknessBenefit,
        SupportSource::ActivityCompensation,
        SupportSource::FinancialSupport,
        SupportSource::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SupportSource::Work => "work",
            SupportSource::Studies => "studies",
            SupportSource::JobSeeking => "job_seeking",
            SupportSource::SicknessBenefit => "sickness_benefit",
            SupportSource::ActivityCompensation => "activity_compensation",
            SupportSource::FinancialSupport => "financial_support",
            SupportSource::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == s)
    }
}

/// The participant's own 0–10 rating on the way to the solution scenario
/// (10 = there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[schema(value_type = u8, minimum = 0, maximum = 10, example = 4)]
#[serde(transparent)]
pub struct ScaleValue(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an integer from 0 to 10")]
pub struct ScaleValueError;

impl ScaleValue {
    pub fn parse(value: i64) -> Result<Self, ScaleValueError> {
        u8::try_from(value).ok().filter(|v| *v <= 10).map(Self).ok_or(ScaleValueError)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for ScaleValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = i64::deserialize(deserializer)?;
        Self::parse(raw).map_err(serde::de::Error::custom)
    }
}

/// Who a step belongs to or who noted a resource: the participant, or one
/// organisation. On the wire: `"participant"` or the organisation's slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contributor {
    Participant,
    Organisation(OrgId),
}

impl Contributor {
    pub const PARTICIPANT: &'static str = "participant";

    pub fn parse(input: &str) -> Result<Self, crate::ids::SlugError> {
        if input == Self::PARTICIPANT {
            Ok(Contributor::Participant)
        } else {
            OrgId::parse(input).map(Contributor::Organisation)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Contributor::Participant => Self::PARTICIPANT,
            Contributor::Organisation(org) => org.as_str(),
        }
    }
}

impl Serialize for Contributor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Contributor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(|_| {
            serde::de::Error::custom("must be \"participant\" or an organisation slug")
        })
    }
}

impl utoipa::PartialSchema for Contributor {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("`participant`, or the slug of an organisation"))
            .pattern(Some("^(participant|[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)$"))
            .examples(["af-vasteras"])
            .into()
    }
}

impl utoipa::ToSchema for Contributor {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_value_accepts_0_to_10_only() {
        assert!((0..=10).all(|v| ScaleValue::parse(v).is_ok()));
        for bad in [-1, 11, 255, 256, i64::MAX] {
            assert!(ScaleValue::parse(bad).is_err());
        }
    }

    #[test]
    fn contributor_round_trips() {
        assert_eq!(Contributor::parse("participant").unwrap(), Contributor::Participant);
        assert_eq!(Contributor::parse("af-vasteras").unwrap().as_str(), "af-vasteras");
        assert!(Contributor::parse("Not A Slug").is_err());
    }

    #[test]
    fn only_draft_active_paused_are_open() {
        assert!(PlanStatus::Draft.is_open() && PlanStatus::Active.is_open() && PlanStatus::Paused.is_open());
        assert!(!PlanStatus::Completed.is_open() && !PlanStatus::Closed.is_open());
    }
}
