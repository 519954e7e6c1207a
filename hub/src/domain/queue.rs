//! The staff's work queues and the order they are worked in: priority appeals first (an author
//! category the Law puts first, or a benefit holder), then by urgency (emergency, urgent,
//! ordinary), then the earliest deadline, then the oldest. The store reads each queue in this
//! order; [`queue_order`] states it once for the tests and for anything sorted in memory.

use std::cmp::Ordering;

use super::appeal::Appeal;
use super::coded_enum;

coded_enum! {
    /// A staff queue.
    Queue {
        /// Registered and not yet assigned (an incident's followers wait with their incident).
        Triage = "triage",
        /// An authority's answer waits for the analyst's check.
        Verification = "verification",
        /// Answered: the operator calls the citizen back.
        Callback = "callback",
        /// The citizen was not satisfied: the analyst names what is reworked.
        Rework = "rework",
    }
}

/// The order of every staff queue.
pub fn queue_order(a: &Appeal, b: &Appeal) -> Ordering {
    let key = |x: &Appeal| {
        (
            !x.card.profile.priority,
            x.card.profile.urgency.rank(),
            x.deadline,
            x.received_at,
            x.id,
        )
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Urgency;
    use crate::domain::fixtures::registered;

    #[test]
    fn priority_then_urgency_then_deadline_then_age() {
        let make = |id: i64, priority: bool, urgency: Urgency, days: i64| {
            let mut a = registered().appeal;
            a.id = id;
            a.card.profile.priority = priority;
            a.card.profile.urgency = urgency;
            a.received_at -= chrono::Duration::days(days);
            a.deadline = a.deadline - chrono::Days::new(days as u64);
            a
        };
        let mut appeals = [
            make(1, false, Urgency::Ordinary, 10),
            make(2, false, Urgency::Emergency, 0),
            make(3, true, Urgency::Ordinary, 0),
            make(4, false, Urgency::Ordinary, 12),
            make(5, true, Urgency::Urgent, 0),
        ];
        appeals.sort_by(queue_order);
        let ids: Vec<i64> = appeals.iter().map(|a| a.id).collect();
        // A veteran's fresh appeal overtakes older ordinary ones; urgency next; then deadlines.
        assert_eq!(ids, [5, 3, 2, 4, 1]);
    }
}
