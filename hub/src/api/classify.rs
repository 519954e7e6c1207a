//! Wire conversions of the classifier's dimensions, urgency, roles, queues and incidents.

use hotline_proto::v1 as pb;
use tonic::Status;

use super::convert::time;
use super::error::invalid;
use crate::domain::{
    CaseRole, ClassifierEntry, Dimension, Incident, IncidentStatus, Queue, Sign, Urgency,
};

/// The wire value of a sign.
pub fn sign_to_pb(sign: Sign) -> pb::Sign {
    match sign {
        Sign::Primary => pb::Sign::Primary,
        Sign::Repeat => pb::Sign::Repeat,
        Sign::Duplicate => pb::Sign::Duplicate,
        Sign::Multiple => pb::Sign::Multiple,
        Sign::Mass => pb::Sign::Mass,
    }
}

/// The domain value of a wire sign: `None` when unspecified (the hub decides).
pub fn sign_from_pb(value: i32) -> Result<Option<Sign>, Status> {
    let wire =
        pb::Sign::try_from(value).map_err(|_| invalid("sign", format!("{value} is not a sign")))?;
    Ok(Sign::ALL.iter().copied().find(|s| sign_to_pb(*s) == wire))
}

/// The wire value of an urgency.
pub fn urgency_to_pb(urgency: Urgency) -> pb::Urgency {
    match urgency {
        Urgency::Ordinary => pb::Urgency::Ordinary,
        Urgency::Urgent => pb::Urgency::Urgent,
        Urgency::Emergency => pb::Urgency::Emergency,
    }
}

/// The domain value of a wire urgency; unspecified falls back on the older `urgent` flag.
pub fn urgency_from_pb(value: i32, urgent: bool) -> Result<Option<Urgency>, Status> {
    let wire = pb::Urgency::try_from(value)
        .map_err(|_| invalid("urgency", format!("{value} is not an urgency")))?;
    Ok(
        match Urgency::ALL
            .iter()
            .copied()
            .find(|u| urgency_to_pb(*u) == wire)
        {
            None if urgent => Some(Urgency::Urgent),
            other => other,
        },
    )
}

/// The wire value of a case's role.
pub fn role_to_pb(role: CaseRole) -> pb::CaseRole {
    match role {
        CaseRole::Sole => pb::CaseRole::Sole,
        CaseRole::Lead => pb::CaseRole::Lead,
        CaseRole::CoExecutor => pb::CaseRole::CoExecutor,
    }
}

/// The wire value of a dimension.
pub fn dimension_to_pb(dimension: Dimension) -> pb::Dimension {
    match dimension {
        Dimension::AuthorCategory => pb::Dimension::AuthorCategory,
        Dimension::SocialStatus => pb::Dimension::SocialStatus,
        Dimension::Sex => pb::Dimension::Sex,
    }
}

/// The domain value of a wire dimension; `None` when unspecified.
pub fn dimension_from_pb(value: i32) -> Result<Option<Dimension>, Status> {
    let wire = pb::Dimension::try_from(value)
        .map_err(|_| invalid("dimension", format!("{value} is not a dimension")))?;
    Ok(Dimension::ALL
        .iter()
        .copied()
        .find(|d| dimension_to_pb(*d) == wire))
}

/// A classifier entry on the wire.
pub fn entry_to_pb(e: &ClassifierEntry) -> pb::ClassifierEntry {
    pb::ClassifierEntry {
        dimension: dimension_to_pb(e.dimension) as i32,
        code: e.code.clone(),
        name: e.name.clone(),
        parent_code: e.parent_code.clone(),
        priority: e.priority,
    }
}

/// A classifier entry from the wire; the dimension is required.
pub fn entry_from_pb(e: pb::ClassifierEntry) -> Result<ClassifierEntry, Status> {
    let dimension =
        dimension_from_pb(e.dimension)?.ok_or_else(|| invalid("dimension", "required"))?;
    Ok(ClassifierEntry {
        dimension,
        code: e.code,
        name: e.name,
        parent_code: e.parent_code,
        priority: e.priority,
    })
}

/// The domain value of a wire queue; required.
pub fn queue_from_pb(value: i32) -> Result<Queue, Status> {
    let wire = pb::Queue::try_from(value)
        .map_err(|_| invalid("queue", format!("{value} is not a queue")))?;
    let queue = match wire {
        pb::Queue::Unspecified => return Err(invalid("queue", "required")),
        pb::Queue::Triage => Queue::Triage,
        pb::Queue::Verification => Queue::Verification,
        pb::Queue::Callback => Queue::Callback,
        pb::Queue::Rework => Queue::Rework,
    };
    Ok(queue)
}

/// The wire value of an incident's status.
pub fn incident_status_to_pb(status: IncidentStatus) -> pb::IncidentStatus {
    match status {
        IncidentStatus::Open => pb::IncidentStatus::Open,
        IncidentStatus::Answered => pb::IncidentStatus::Answered,
        IncidentStatus::Closed => pb::IncidentStatus::Closed,
    }
}

/// The domain value of a wire incident status; `None` when unspecified.
pub fn incident_status_from_pb(value: i32) -> Result<Option<IncidentStatus>, Status> {
    let wire = pb::IncidentStatus::try_from(value)
        .map_err(|_| invalid("status", format!("{value} is not an incident status")))?;
    Ok(IncidentStatus::ALL
        .iter()
        .copied()
        .find(|s| incident_status_to_pb(*s) == wire))
}

/// An incident on the wire.
pub fn incident_to_pb(i: &Incident, appeal_count: usize) -> pb::Incident {
    pb::Incident {
        id: i.id,
        title: i.title.clone(),
        description: i.description.clone(),
        category_code: i.category_code.clone(),
        district_code: i.district_code.clone(),
        status: incident_status_to_pb(i.status) as i32,
        primary_number: i.primary_number.clone(),
        opened_at: time(i.opened_at),
        answered_at: i.answered_at.map(time).unwrap_or_default(),
        closed_at: i.closed_at.map(time).unwrap_or_default(),
        appeal_count: i32::try_from(appeal_count).unwrap_or(i32::MAX),
    }
}
