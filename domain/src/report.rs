//! Aggregate reporting for project leads: small numbers are never shown.
//!
//! A cell that describes fewer than [`MIN_CELL`] people is suppressed. So
//! that a suppressed cell cannot be recovered by subtracting the shown cells
//! from a shown total, each group of cells with its total is protected
//! together: while the suppressed cells of a group add up to between 1 and
//! `MIN_CELL - 1` people, the smallest shown cell is suppressed as well; if
//! nothing is left to suppress, the total goes too.

use serde::Serialize;

/// Fewer people than this in a cell and the cell is suppressed.
pub const MIN_CELL: u64 = 5;

/// A count in a report, or `null` with `suppressed: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Cell {
    pub value: Option<u64>,
    pub suppressed: bool,
}

/// A count before protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    true_value: u64,
    suppressed: bool,
}

impl Count {
    pub fn new(value: u64) -> Self {
        Count { true_value: value, suppressed: value < MIN_CELL }
    }

    pub fn suppressed(&self) -> bool {
        self.suppressed
    }

    pub fn suppress(&mut self) {
        self.suppressed = true;
    }

    pub fn cell(&self) -> Cell {
        if self.suppressed {
            Cell { value: None, suppressed: true }
        } else {
            Cell { value: Some(self.true_value), suppressed: false }
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

    #[test]
    fn four_is_suppressed_and_five_is_shown() {
        assert_eq!(Count::new(4).cell(), Cell { value: None, suppressed: true });
        assert_eq!(Count::new(5).cell(), Cell { value: Some(5), suppressed: false });
    }

    #[test]
    fn a_lone_suppressed_cell_takes_another_with_it() {
        let (mut a, mut b, mut c, mut total) = (Count::new(3), Count::new(6), Count::new(9), Count::new(18));
        protect(&mut [&mut a, &mut b, &mut c], &mut total);
        assert!(a.suppressed() && b.suppressed() && !c.suppressed() && !total.suppressed());
    }

    #[test]
    fn suppressed_cells_adding_up_to_five_are_safe() {
        let (mut a, mut b, mut c, mut total) = (Count::new(3), Count::new(2), Count::new(9), Count::new(14));
        protect(&mut [&mut a, &mut b, &mut c], &mut total);
        assert!(a.suppressed() && b.suppressed() && !c.suppressed() && !total.suppressed());
    }

    #[test]
    fn with_nothing_left_to_hide_the_total_goes() {
        let (mut a, mut total) = (Count::new(3), Count::new(7));
        let mut b = Count::new(4);
        protect(&mut [&mut a, &mut b], &mut total);
        assert!(a.suppressed() && b.suppressed() && !total.suppressed(), "3 + 4 = 7 hidden together");
        let (mut a, mut total) = (Count::new(2), Count::new(5));
        let mut b = Count::new(3);
        protect(&mut [&mut a, &mut b], &mut total);
        assert!(!total.suppressed(), "2 + 3 = 5 is enough");
        let (mut a, mut total) = (Count::new(1), Count::new(6));
        let mut b = Count::new(5);
        protect(&mut [&mut a, &mut b], &mut total);
        assert!(a.suppressed() && b.suppressed() && !total.suppressed());
    }

    #[test]
    fn no_shown_total_minus_shown_cells_reveals_fewer_than_five() {
        // Exhaustively over small groups of three.
        for x in 0..8 {
            for y in 0..8 {
                for z in 0..8 {
                    let (mut a, mut b, mut c, mut t) = (Count::new(x), Count::new(y), Count::new(z), Count::new(x + y + z));
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
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [3, 1, 2]), Some(2.0));
        assert_eq!(median(&mut [4, 1, 2, 3]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
