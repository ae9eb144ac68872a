//! The one place that decides who may see and do what (DESIGN.md, "Who may see
//! and do what"). Every decision is a pure function of the principal, the
//! facts about the record and the participant's consents; the persistence
//! layer turns [`ParticipantScope`] into the WHERE clause of every query that
//! can return a participant, so lists, counts and cursors obey the same rule.
//!
//! Nothing here is cached: callers load consents within the request, so a
//! withdrawn or expired consent ends access at once.

use crate::ids::{AssocId, OrgId};
use crate::principal::{Agency, Principal, Role};
use chrono::{Datelike, NaiveDate, DateTime, Utc, Duration, Weekday};

/// A consent as far as access is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub organisations: Vec<OrgId>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub withdrawn: bool,
}

impl Consent {
    /// Active from `valid_from` to `valid_until` inclusive, unless withdrawn.
    pub fn is_active_on(&self, today: NaiveDate) -> bool {
        !self.withdrawn && self.valid_from <= today && today <= self.valid_until
    }

    pub fn names(&self, org: &OrgId) -> bool {
        self.organisations.contains(org)
    }
}

/// The facts about a participant that access depends on.
#[derive(Debug, Clone, Copy)]
pub struct ParticipantFacts<'a> {
    pub assoc: &'a AssocId,
    pub registered_by: &'a OrgId,
}

/// The facts about a plan that plan-level writes depend on.
#[derive(Debug, Clone, Copy)]
pub struct PlanFacts<'a> {
    pub leading_org: &'a OrgId,
    /// The plan's coordinator, if one is assigned: a person (`sub`) of an
    /// organisation. A `sub` alone names no one: each identity provider
    /// hands out its own.
    pub coordinator: Option<(&'a OrgId, &'a str)>,
}

/// Whether an action on a visible record is allowed. An invisible record is
/// never asked about: the caller answers 404 before it gets here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Forbidden,
}

impl Decision {
    fn from_bool(allowed: bool) -> Self {
        if allowed { Decision::Allowed } else { Decision::Forbidden }
    }
}

/// Which participants a principal may see, as a filter the store applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParticipantScope {
    /// Project leads, auditors and admins never see a named person.
    Nothing,
    /// Participants of `assoc` registered by `org`, or named `org` in a
    /// consent active on `today`.
    RegisteredOrConsented { assoc: AssocId, org: OrgId, today: NaiveDate },
}

/// Roles that read and write personal data at all.
pub fn handles_personal_data(role: Role) -> bool {
    matches!(role, Role::CaseWorker | Role::Integration | Role::Coordinator)
}

pub fn participant_scope(principal: &Principal, today: NaiveDate) -> ParticipantScope {
    if handles_personal_data(principal.role) {
        ParticipantScope::RegisteredOrConsented {
            assoc: principal.assoc.clone(),
            org: principal.org.clone(),
            today,
        }
    } else {
        ParticipantScope::Nothing
    }
}

/// Rules 1, 2 and 5–6: the registering organisation always sees its own
/// participants; another organisation only while an active consent names it;
/// nothing crosses associations; some roles never see a named person.
pub fn may_see_participant(
    principal: &Principal,
    participant: ParticipantFacts<'_>,
    consents: &[Consent],
    today: NaiveDate,
) -> bool {
    match participant_scope(principal, today) {
        ParticipantScope::Nothing => false,
        ParticipantScope::RegisteredOrConsented { assoc, org, today } => {
            *participant.assoc == assoc && organisation_sees(&org, participant, consents, today)
        }
    }
}

/// Whether an organisation of the participant's association sees the
/// participant: it registered them, or an active consent names it. Used for
/// who may own a step as well as for the principal itself.
pub fn organisation_sees(
    org: &OrgId,
    participant: ParticipantFacts<'_>,
    consents: &[Consent],
    today: NaiveDate,
) -> bool {
    participant.registered_by == org || consents.iter().any(|c| c.is_active_on(today) && c.names(org))
}

/// A consent's validity period: `valid_from` ≤ `valid_until`, both inclusive
/// Swedish calendar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentPeriod {
    valid_from: NaiveDate,
    valid_until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must not be before valid_from")]
pub struct ConsentPeriodError;

impl ConsentPeriod {
    pub fn parse(valid_from: NaiveDate, valid_until: NaiveDate) -> Result<Self, ConsentPeriodError> {
        if valid_until < valid_from { Err(ConsentPeriodError) } else { Ok(ConsentPeriod { valid_from, valid_until }) }
    }

    pub fn valid_from(self) -> NaiveDate {
        self.valid_from
    }

    pub fn valid_until(self) -> NaiveDate {
        self.valid_until
    }
}

/// Registering a participant: roles that handle personal data register for
/// their own organisation.
pub fn may_register_participant(principal: &Principal) -> bool {
    handles_personal_data(principal.role)
}

/// Recording and withdrawing consent belongs to the registering organisation.
pub fn may_manage_consents(principal: &Principal, participant: ParticipantFacts<'_>) -> Decision {
    Decision::from_bool(*participant.registered_by == principal.org)
}

/// Projects and their timelines carry no personal data: everyone in the
/// association reads them; project leads and coordinators write them.
pub fn may_write_projects(principal: &Principal) -> Decision {
    Decision::from_bool(matches!(principal.role, Role::ProjectLead | Role::Coordinator))
}

/// Aggregate reports (rule 5) are read by project leads, coordinators and auditors.
pub fn may_read_reports(principal: &Principal) -> Decision {
    Decision::from_bool(matches!(principal.role, Role::ProjectLead | Role::Coordinator | Role::Auditor))
}

/// Cost parameters are settings: admins write them.
pub fn may_write_settings(principal: &Principal) -> Decision {
    Decision::from_bool(principal.role == Role::Admin)
}

/// Rule 6: auditors read the association's audit log; no one else does.
pub fn may_read_audit_log(principal: &Principal) -> Decision {
    Decision::from_bool(principal.role == Role::Auditor)
}

/// A participant's access log (who has looked at my plan?) is read by the
/// association's auditors and the registering organisation's case workers,
/// who hand it to the participant.
pub fn may_read_access_log(principal: &Principal, participant: ParticipantFacts<'_>) -> bool {
    *participant.assoc == principal.assoc
        && (principal.role == Role::Auditor
            || (principal.role == Role::CaseWorker && *participant.registered_by == principal.org))
}

/// Rule 4: platform, solution scenario and the plan's own fields are written
/// by the plan's coordinator and by case workers (or the agency system) of
/// the organisation leading the plan.
pub fn may_write_plan_level(principal: &Principal, plan: PlanFacts<'_>) -> Decision {
    let leading = *plan.leading_org == principal.org
        && matches!(principal.role, Role::CaseWorker | Role::Integration);
    let coordinator = principal.role == Role::Coordinator
        && plan.coordinator == Some((&principal.org, principal.sub.as_str()));
    Decision::from_bool(leading || coordinator)
}

/// Coordinators, project leads, auditors and admins are the association's
/// own staff: a token may carry one of these roles only for an organisation
/// of kind `association`.
pub fn role_fits_agency(role: Role, agency: Agency) -> bool {
    agency == Agency::Association || !matches!(role, Role::Coordinator | Role::ProjectLead | Role::Auditor | Role::Admin)
}

/// Rule 3: an organisation changes only its own contributions.
pub fn may_change_contribution(principal: &Principal, written_by: &OrgId) -> Decision {
    Decision::from_bool(*written_by == principal.org)
}

/// Today's calendar date in Sweden (Europe/Stockholm: CET, CEST from the last
/// Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC). Consent
/// periods are Swedish calendar dates.
pub fn stockholm_today(now: DateTime<Utc>) -> NaiveDate {
    fn last_sunday(year: i32, month: u32) -> NaiveDate {
        let last = NaiveDate::from_ymd_opt(year, month, 31).expect("March and October have 31 days");
        let back = last.weekday().num_days_from_sunday();
        last - Duration::days(i64::from(back))
    }
    let year = now.year();
    let summer_from = last_sunday(year, 3).and_hms_opt(1, 0, 0).expect("valid time").and_utc();
    let summer_until = last_sunday(year, 10).and_hms_opt(1, 0, 0).expect("valid time").and_utc();
    let offset = if now >= summer_from && now < summer_until { 2 } else { 1 };
    debug_assert_eq!(last_sunday(year, 3).weekday(), Weekday::Sun);
    (now + Duration::hours(offset)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(org: &str, role: Role) -> Principal {
        Principal {
            sub: format!("{org}-user"),
            assoc: AssocId::parse("vastmanland").unwrap(),
            org: OrgId::parse(org).unwrap(),
            agency: Agency::Municipality,
            role,
        }
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn consent(orgs: &[&str], from: &str, until: &str, withdrawn: bool) -> Consent {
        Consent {
            organisations: orgs.iter().map(|o| OrgId::parse(o).unwrap()).collect(),
            valid_from: date(from),
            valid_until: date(until),
            withdrawn,
        }
    }

    #[test]
    fn registering_org_sees_its_own_and_others_need_active_consent() {
        let assoc = AssocId::parse("vastmanland").unwrap();
        let kommun = OrgId::parse("vasteras-kommun").unwrap();
        let facts = ParticipantFacts { assoc: &assoc, registered_by: &kommun };
        let today = date("2026-11-25");
        let owner = principal("vasteras-kommun", Role::CaseWorker);
        let af = principal("af-vasteras", Role::CaseWorker);

        assert!(may_see_participant(&owner, facts, &[], today));
        assert!(!may_see_participant(&af, facts, &[], today));
        let active = consent(&["af-vasteras"], "2026-11-25", "2026-11-25", false);
        assert!(may_see_participant(&af, facts, &[active.clone()], today));
        let withdrawn = Consent { withdrawn: true, ..active.clone() };
        assert!(!may_see_participant(&af, facts, &[withdrawn], today));
        assert!(!may_see_participant(&af, facts, &[active.clone()], date("2026-11-26")));
        assert!(!may_see_participant(&af, facts, &[active], date("2026-11-24")));
    }

    #[test]
    fn consent_period_is_ordered_and_inclusive() {
        assert!(ConsentPeriod::parse(date("2026-11-25"), date("2026-11-25")).is_ok());
        assert!(ConsentPeriod::parse(date("2026-11-25"), date("2026-11-24")).is_err());
    }

    #[test]
    fn nothing_crosses_associations() {
        let other = AssocId::parse("sala").unwrap();
        let kommun = OrgId::parse("vasteras-kommun").unwrap();
        let facts = ParticipantFacts { assoc: &other, registered_by: &kommun };
        let owner_slug_elsewhere = principal("vasteras-kommun", Role::CaseWorker);
        assert!(!may_see_participant(&owner_slug_elsewhere, facts, &[], date("2026-11-25")));
    }

    #[test]
    fn project_leads_auditors_and_admins_never_see_a_person() {
        let assoc = AssocId::parse("vastmanland").unwrap();
        let org = OrgId::parse("vasteras-kommun").unwrap();
        let facts = ParticipantFacts { assoc: &assoc, registered_by: &org };
        for role in [Role::ProjectLead, Role::Auditor, Role::Admin] {
            assert!(!may_see_participant(&principal("vasteras-kommun", role), facts, &[], date("2026-11-25")));
            assert!(!may_register_participant(&principal("vasteras-kommun", role)));
        }
    }

    #[test]
    fn plan_level_parts_belong_to_leading_case_worker_and_plan_coordinator() {
        let lead = OrgId::parse("vasteras-kommun").unwrap();
        let forbundet = OrgId::parse("samordningsforbundet").unwrap();
        let plan = PlanFacts { leading_org: &lead, coordinator: Some((&forbundet, "samordnare-1")) };
        assert_eq!(may_write_plan_level(&principal("vasteras-kommun", Role::CaseWorker), plan), Decision::Allowed);
        assert_eq!(may_write_plan_level(&principal("af-vasteras", Role::CaseWorker), plan), Decision::Forbidden);
        let mut coordinator = principal("samordningsforbundet", Role::Coordinator);
        assert_eq!(may_write_plan_level(&coordinator, plan), Decision::Forbidden);
        coordinator.sub = "samordnare-1".into();
        assert_eq!(may_write_plan_level(&coordinator, plan), Decision::Allowed);
        // The same `sub` from another organisation is someone else.
        let mut namesake = principal("samordningsforbundet-sala", Role::Coordinator);
        namesake.sub = "samordnare-1".into();
        assert_eq!(may_write_plan_level(&namesake, plan), Decision::Forbidden);
        let unassigned = PlanFacts { leading_org: &lead, coordinator: None };
        assert_eq!(may_write_plan_level(&coordinator, unassigned), Decision::Forbidden);
    }

    #[test]
    fn staff_roles_belong_to_the_association_kind() {
        for role in Role::ALL {
            assert!(role_fits_agency(role, Agency::Association), "{role:?}");
            let staff = matches!(role, Role::Coordinator | Role::ProjectLead | Role::Auditor | Role::Admin);
            for agency in [Agency::EmploymentOffice, Agency::SocialInsurance, Agency::Municipality, Agency::Region] {
                assert_eq!(role_fits_agency(role, agency), !staff, "{role:?} {agency:?}");
            }
        }
    }

    #[test]
    fn stockholm_date_follows_summer_time() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(stockholm_today(at("2026-11-24T22:59:59Z")), date("2026-11-24"));
        assert_eq!(stockholm_today(at("2026-11-24T23:00:00Z")), date("2026-11-25"));
        assert_eq!(stockholm_today(at("2026-06-30T21:59:59Z")), date("2026-06-30"));
        assert_eq!(stockholm_today(at("2026-06-30T22:00:00Z")), date("2026-07-01"));
    }
}
