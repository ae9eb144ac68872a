//! Aggregate reporting for project leads: small numbers are never shown, and
//! no set of reports can be differenced down to fewer than 5 people.
//!
//! Three rules work together (the README's "Reports can't be differenced"):
//!
//! 1. **Fixed periods.** A report covers whole calendar months
//!    ([`whole_months`]): two periods a day apart are the same period, so
//!    they give the same report.
//! 2. **Random rounding to base 5 with a cell key.** Every count that is
//!    shown is rounded to a multiple of [`ROUNDING_BASE`], up with
//!    probability `remainder / 5`, down otherwise (unbiased). The draw is
//!    not random per request: it is the cell's [`CellKey`], a keyed hash of
//!    the set of people the figure describes (the cell-key idea of the
//!    Australian Bureau of Statistics' TableBuilder), so asking again, or
//!    asking for another period that holds the same people, gives the same
//!    figure and cannot be averaged. Every shown figure, and so every sum or
//!    difference of shown figures, is a multiple of 5: no set of reports
//!    yields a figure of 1 to 4 people.
//! 3. **Suppression.** A cell that describes fewer than [`MIN_CELL`] people
//!    is not shown at all. So that a suppressed cell cannot be recovered by
//!    subtracting the shown cells from a shown total, each group of cells
//!    with its total is protected together: while the suppressed cells of a
//!    group add up to between 1 and `MIN_CELL - 1` people, the smallest shown
//!    cell is suppressed as well; if nothing is left to suppress, the total
//!    goes too. (Decided on the true counts, before rounding.)

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

/// Fewer people than this in a cell and the cell is suppressed.
pub const MIN_CELL: u64 = 5;

/// Shown counts are multiples of this.
pub const ROUNDING_BASE: u64 = 5;

/// The most a shown count differs from the true count.
pub const LARGEST_PERTURBATION: u64 = ROUNDING_BASE - 1;

/// What a report did to protect the people it counts; every report carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DisclosureControl {
    /// `cell_key_random_rounding`: shown counts are randomly rounded to a
    /// multiple of `rounding_base`, the direction drawn from a keyed hash of
    /// the set of people in the cell; cells under `min_cell` are suppressed.
    #[schema(example = "cell_key_random_rounding")]
    pub method: String,
    /// Shown counts are multiples of this.
    #[schema(example = 5)]
    pub rounding_base: u64,
    /// The most a shown count differs from the true count.
    #[schema(example = 4)]
    pub largest_perturbation: u64,
    /// Cells describing fewer people than this are suppressed.
    #[schema(example = 5)]
    pub min_cell: u64,
    /// `calendar_month`: periods are widened to whole calendar months.
    #[schema(example = "calendar_month")]
    pub period: String,
}

impl DisclosureControl {
    pub fn applied() -> Self {
        DisclosureControl {
            method: "cell_key_random_rounding".into(),
            rounding_base: ROUNDING_BASE,
            largest_perturbation: LARGEST_PERTURBATION,
            min_cell: MIN_CELL,
            period: "calendar_month".into(),
        }
    }

    /// The same, as one line for the head of a CSV export.
    pub fn csv_line(&self) -> String {
        format!(
            "# disclosure_control: method={}; rounding_base={}; largest_perturbation={}; min_cell={}; period={}",
            self.method, self.rounding_base, self.largest_perturbation, self.min_cell, self.period
        )
    }
}

/// A period widened to whole calendar months: the first day of `from`'s
/// month to the last day of `to`'s.
pub fn whole_months(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = from.with_day(1).expect("every month has a first day");
    let next = to.with_day(1).expect("every month has a first day").checked_add_months(Months::new(1));
    let last = next.and_then(|n| n.pred_opt()).unwrap_or(NaiveDate::MAX);
    (first, last)
}

/// The rounding draw of one cell: a keyed hash of the set of people in it
/// (computed where the server key is). The same set always has the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellKey(u64);

impl CellKey {
    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        CellKey(u64::from_be_bytes(bytes))
    }

    /// Rounds `value` to a multiple of [`ROUNDING_BASE`]: up when the key's
    /// draw (uniform over 0..base) is below the remainder, so up with
    /// probability `remainder / base` and the expected value is the true one.
    pub fn round(self, value: u64) -> u64 {
        let remainder = value % ROUNDING_BASE;
        let down = value - remainder;
        if self.0 % ROUNDING_BASE < remainder { down + ROUNDING_BASE } else { down }
    }
}

/// A count in a report, or `null` with `suppressed: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Cell {
    /// A multiple of 5 (see `disclosure_control`), never under 5.
    pub value: Option<u64>,
    pub suppressed: bool,
}

/// A count before protection: the true number of people and their cell key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    true_value: u64,
    key: CellKey,
    suppressed: bool,
}

impl Count {
    pub fn new(value: u64, key: CellKey) -> Self {
        Count { true_value: value, key, suppressed: value < MIN_CELL }
    }

    pub fn suppressed(&self) -> bool {
        self.suppressed
    }

    pub fn suppress(&mut self) {
        self.suppressed = true;
    }

    /// What is shown: the rounded count, or nothing.
    pub fn cell(&self) -> Cell {
        if self.suppressed {
            Cell { value: None, suppressed: true }
        } else {
            Cell { value: Some(self.key.round(self.true_value)), suppressed: false }
        }
    }
}

/// Protects one group of cells whose sum is `total`.
pub fn protect(cells: &mut [&mut Count], total: &mut Count) {
    if total.suppressed {
        cells.iter_mut().for_each(|c| c.suppress());
        return;
    }
    loop {
        let hidden: u64 = cells.iter().filter(|c| c.suppressed).map(|c| c.true_value).sum();
        if hidden == 0 || hidden >= MIN_CELL {
            return;
        }
        let smallest = cells.iter_mut().filter(|c| !c.suppressed).min_by_key(|c| c.true_value);
        match smallest {
            Some(cell) => cell.suppress(),
            None => {
                total.suppress();
                return;
            }
        }
    }
}

/// Why a participant left a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    Completed,
    BrokenOff,
    Moved,
    Health,
    Other,
}

impl ExitReason {
    pub const ALL: [ExitReason; 5] =
        [ExitReason::Completed, ExitReason::BrokenOff, ExitReason::Moved, ExitReason::Health, ExitReason::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Completed => "completed",
            ExitReason::BrokenOff => "broken_off",
            ExitReason::Moved => "moved",
            ExitReason::Health => "health",
            ExitReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A milestone's state on the strategic timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneStatus {
    Planned,
    Reached,
    Dropped,
}

impl MilestoneStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneStatus::Planned => "planned",
            MilestoneStatus::Reached => "reached",
            MilestoneStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [MilestoneStatus::Planned, MilestoneStatus::Reached, MilestoneStatus::Dropped]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// Public support, in Försäkringskassan's follow-up sense: a move from one
/// of these to work or studies is the movement toward self-support the
/// pay-off estimate counts.
pub fn is_public_support(source: crate::SupportSource) -> bool {
    use crate::SupportSource::*;
    matches!(source, JobSeeking | SicknessBenefit | ActivityCompensation | FinancialSupport)
}

pub fn is_self_support(source: crate::SupportSource) -> bool {
    matches!(source, crate::SupportSource::Work | crate::SupportSource::Studies)
}

/// The median of a list of changes (the mean of the middle two for an even count).
pub fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 0 { (values[mid - 1] + values[mid]) as f64 / 2.0 } else { values[mid] as f64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(value: u64) -> Count {
        Count::new(value, CellKey(0))
    }

    #[test]
    fn four_is_suppressed_and_five_is_shown() {
        assert_eq!(count(4).cell(), Cell { value: None, suppressed: true });
        assert_eq!(count(5).cell(), Cell { value: Some(5), suppressed: false });
    }

    #[test]
    fn a_lone_suppressed_cell_takes_another_with_it() {
        let (mut a, mut b, mut c, mut total) = (count(3), count(6), count(9), count(18));
        protect(&mut [&mut a, &mut b, &mut c], &mut total);
        assert!(a.suppressed() && b.suppressed() && !c.suppressed() && !total.suppressed());
    }

    #[test]
    fn suppressed_cells_adding_up_to_five_are_safe() {
        let (mut a, mut b, mut c, mut total) = (count(3), count(2), count(9), count(14));
        protect(&mut [&mut a, &mut b, &mut c], &mut total);
        assert!(a.suppressed() && b.suppressed() && !c.suppressed() && !total.suppressed());
    }

    #[test]
    fn with_nothing_left_to_hide_the_total_goes() {
        let (mut a, mut total) = (count(3), count(7));
        let mut b = count(4);
        protect(&mut [&mut a, &mut b], &mut total);
        assert!(a.suppressed() && b.suppressed() && !total.suppressed(), "3 + 4 = 7 hidden together");
        let (mut a, mut total) = (count(2), count(5));
        let mut b = count(3);
        protect(&mut [&mut a, &mut b], &mut total);
        assert!(!total.suppressed(), "2 + 3 = 5 is enough");
        let (mut a, mut total) = (count(1), count(6));
        let mut b = count(5);
        protect(&mut [&mut a, &mut b], &mut total);
        assert!(a.suppressed() && b.suppressed() && !total.suppressed());
    }

    #[test]
    fn no_shown_total_minus_shown_cells_reveals_fewer_than_five() {
        // Exhaustively over small groups of three.
        for x in 0..8 {
            for y in 0..8 {
                for z in 0..8 {
                    let (mut a, mut b, mut c, mut t) = (count(x), count(y), count(z), count(x + y + z));
                    protect(&mut [&mut a, &mut b, &mut c], &mut t);
                    if !t.suppressed() {
                        let hidden: u64 = [(&a, x), (&b, y), (&c, z)].iter().filter(|(c, _)| c.suppressed()).map(|(_, v)| v).sum();
                        assert!(hidden == 0 || hidden >= MIN_CELL, "{x} {y} {z}");
                    }
                }
            }
        }
    }

    #[test]
    fn rounding_is_to_a_multiple_of_five_within_four_and_unbiased() {
        for value in 0..40u64 {
            let mut total = 0;
            for draw in 0..ROUNDING_BASE {
                let rounded = CellKey(draw).round(value);
                assert_eq!(rounded % ROUNDING_BASE, 0, "{value}");
                assert!(rounded.abs_diff(value) <= LARGEST_PERTURBATION, "{value} -> {rounded}");
                total += rounded;
            }
            // Over the five equally likely draws the mean is the true value.
            assert_eq!(total, value * ROUNDING_BASE, "{value}");
        }
        assert_eq!(CellKey(3).round(5), 5, "multiples of five stay");
    }

    #[test]
    fn shown_counts_are_never_under_five() {
        for value in 0..30 {
            for draw in 0..5 {
                let cell = Count::new(value, CellKey(draw)).cell();
                assert_eq!(cell.suppressed, value < MIN_CELL);
                assert!(cell.value.is_none_or(|v| v >= MIN_CELL && v % ROUNDING_BASE == 0), "{value}: {cell:?}");
            }
        }
    }

    #[test]
    fn periods_widen_to_whole_months() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(whole_months(d("2025-01-10"), d("2025-12-20")), (d("2025-01-01"), d("2025-12-31")));
        assert_eq!(whole_months(d("2024-02-29"), d("2024-02-29")), (d("2024-02-01"), d("2024-02-29")));
        // A day apart, the same period.
        assert_eq!(whole_months(d("2025-03-01"), d("2025-06-19")), whole_months(d("2025-03-02"), d("2025-06-20")));
        assert_eq!(whole_months(d("2025-11-30"), d("2025-12-31")), (d("2025-11-01"), d("2025-12-31")));
    }

    #[test]
    fn disclosure_control_states_its_bound() {
        let applied = DisclosureControl::applied();
        assert_eq!((applied.rounding_base, applied.largest_perturbation, applied.min_cell), (5, 4, 5));
        assert!(applied.csv_line().starts_with("# disclosure_control: method=cell_key_random_rounding;"));
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [3, 1, 2]), Some(2.0));
        assert_eq!(median(&mut [4, 1, 2, 3]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
