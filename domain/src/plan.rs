//! The plus model's parts as values: statuses, sources of support, scale
//! values and who contributed what; and the plan's rules: the status a plan
//! starts in, a meeting's dates, and progress (scale change, step counts).

use crate::ids::OrgId;
use chrono::{DateTime, FixedOffset, NaiveDate};
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a new plan starts as draft, active or paused")]
pub struct InitialStatusError;

impl PlanStatus {
    /// An open plan blocks a second plan for the same participant.
    pub fn is_open(self) -> bool {
        matches!(self, PlanStatus::Draft | PlanStatus::Active | PlanStatus::Paused)
    }

    /// The status a new plan starts in: the one asked for, `draft` when
    /// none is, and always an open one. Afterwards a plan may move to any
    /// status; reopening it is refused by the store while the participant
    /// has another open plan.
    pub fn initial(requested: Option<PlanStatus>) -> Result<PlanStatus, InitialStatusError> {
        let status = requested.unwrap_or(PlanStatus::Draft);
        if status.is_open() { Ok(status) } else { Err(InitialStatusError) }
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

// Counted by `StepCounts::of`; no description, so that its schema stays as published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StepCounts {
    pub planned: u64,
    pub done: u64,
    pub dropped: u64,
    pub total: u64,
}

impl StepCounts {
    /// A plan's small steps counted by status.
    pub fn of(statuses: impl IntoIterator<Item = StepStatus>) -> Self {
        statuses.into_iter().fold(StepCounts::default(), |mut counts, status| {
            match status {
                StepStatus::Planned => counts.planned += 1,
                StepStatus::Done => counts.done += 1,
                StepStatus::Dropped => counts.dropped += 1,
            }
            counts.total += 1;
            counts
        })
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

/// How far the participant has moved on the scale over a series of readings
/// in time order: the latest minus the first; none with fewer than two.
pub fn scale_change(series: &[ScaleValue]) -> Option<i16> {
    match series {
        [first, .., last] => Some(i16::from(last.get()) - i16::from(first.get())),
        _ => None,
    }
}

/// A follow-up meeting's dates: the day it was held, and the next booked
/// meeting, which is not before that day (compared by the date of the next
/// meeting in its own time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingDates {
    held_on: NaiveDate,
    next_meeting: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must not be before held_on")]
pub struct NextMeetingError;

impl MeetingDates {
    pub fn parse(held_on: NaiveDate, next_meeting: Option<DateTime<FixedOffset>>) -> Result<Self, NextMeetingError> {
        match next_meeting {
            Some(next) if next.date_naive() < held_on => Err(NextMeetingError),
            _ => Ok(MeetingDates { held_on, next_meeting }),
        }
    }

    pub fn held_on(self) -> NaiveDate {
        self.held_on
    }

    pub fn next_meeting(self) -> Option<DateTime<FixedOffset>> {
        self.next_meeting
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

    #[test]
    fn a_plan_starts_open_and_as_draft_by_default() {
        assert_eq!(PlanStatus::initial(None), Ok(PlanStatus::Draft));
        for open in [PlanStatus::Draft, PlanStatus::Active, PlanStatus::Paused] {
            assert_eq!(PlanStatus::initial(Some(open)), Ok(open));
        }
        for ended in [PlanStatus::Completed, PlanStatus::Closed] {
            assert_eq!(PlanStatus::initial(Some(ended)), Err(InitialStatusError));
        }
        assert_eq!(InitialStatusError.to_string(), "a new plan starts as draft, active or paused");
    }

    fn values(series: &[i64]) -> Vec<ScaleValue> {
        series.iter().map(|v| ScaleValue::parse(*v).unwrap()).collect()
    }

    #[test]
    fn scale_change_is_latest_minus_first() {
        assert_eq!(scale_change(&[]), None);
        assert_eq!(scale_change(&values(&[4])), None, "one reading is no change");
        assert_eq!(scale_change(&values(&[2, 9])), Some(7));
        assert_eq!(scale_change(&values(&[6, 10, 1, 3])), Some(-3), "the readings between do not count");
        assert_eq!(scale_change(&values(&[0, 10])), Some(10));
        assert_eq!(scale_change(&values(&[10, 0])), Some(-10));
    }

    #[test]
    fn steps_are_counted_by_status() {
        assert_eq!(StepCounts::of([]), StepCounts { planned: 0, done: 0, dropped: 0, total: 0 });
        let counts = StepCounts::of([
            StepStatus::Planned,
            StepStatus::Done,
            StepStatus::Planned,
            StepStatus::Dropped,
            StepStatus::Done,
            StepStatus::Done,
        ]);
        assert_eq!(counts, StepCounts { planned: 2, done: 3, dropped: 1, total: 6 });
    }

    #[test]
    fn the_next_meeting_is_not_before_the_meeting() {
        let held_on = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        let dates = MeetingDates::parse(held_on, Some(at("2026-12-08T10:00:00+01:00"))).unwrap();
        assert_eq!((dates.held_on(), dates.next_meeting()), (held_on, Some(at("2026-12-08T10:00:00+01:00"))));
        assert!(MeetingDates::parse(held_on, None).is_ok(), "no next meeting booked");
        assert!(MeetingDates::parse(held_on, Some(at("2026-11-24T08:00:00+01:00"))).is_ok(), "the same day");
        assert_eq!(MeetingDates::parse(held_on, Some(at("2026-11-23T23:59:00+01:00"))), Err(NextMeetingError));
        // The date in the next meeting's own time zone counts: 23:30 UTC on the
        // 23rd is already the 24th in Stockholm.
        assert!(MeetingDates::parse(held_on, Some(at("2026-11-24T00:30:00+01:00"))).is_ok());
        assert_eq!(
            MeetingDates::parse(held_on, Some(at("2026-11-23T23:30:00+00:00"))),
            Err(NextMeetingError),
            "the 23rd where it is booked"
        );
        assert_eq!(NextMeetingError.to_string(), "must not be before held_on");
    }
}
