//! `hotline.v1.Incidents`: decode, call one use case, encode.

use hotline_proto::v1 as pb;
use hotline_proto::v1::incidents_server::Incidents;
use tonic::{Request, Response, Status};

use super::caller;
use super::classify::{incident_status_from_pb, incident_to_pb};
use super::convert::appeal_state_to_pb;
use super::error::status;
use crate::app::incidents::IncidentView;
use crate::app::{Hotline, IncidentFilter, Store};

/// The incidents service.
#[derive(Debug, Clone)]
pub struct IncidentsApi<S> {
    /// The use cases.
    hotline: Hotline<S>,
}

impl<S: Store> IncidentsApi<S> {
    /// The service over `hotline`.
    pub fn new(hotline: Hotline<S>) -> Self {
        Self { hotline }
    }

    async fn detail(&self, view: IncidentView) -> Result<Response<pb::IncidentDetail>, Status> {
        let names = self.hotline.authority_names().await.map_err(status)?;
        let now = self.hotline.now();
        Ok(Response::new(pb::IncidentDetail {
            incident: Some(incident_to_pb(&view.incident, view.appeals.len())),
            appeals: view
                .appeals
                .iter()
                .map(|s| appeal_state_to_pb(s, false, &[], &names, &[], now))
                .collect(),
        }))
    }
}

#[tonic::async_trait]
impl<S: Store> Incidents for IncidentsApi<S> {
    async fn open_incident(
        &self,
        request: Request<pb::OpenIncidentRequest>,
    ) -> Result<Response<pb::IncidentDetail>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let view = self
            .hotline
            .open_incident(&r.primary_number, &r.title, &r.description, &caller)
            .await
            .map_err(status)?;
        self.detail(view).await
    }

    async fn attach_to_incident(
        &self,
        request: Request<pb::AttachToIncidentRequest>,
    ) -> Result<Response<pb::IncidentDetail>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let view = self
            .hotline
            .attach_to_incident(r.incident_id, &r.appeal_numbers, &caller)
            .await
            .map_err(status)?;
        self.detail(view).await
    }

    async fn get_incident(
        &self,
        request: Request<pb::GetIncidentRequest>,
    ) -> Result<Response<pb::IncidentDetail>, Status> {
        let id = request.into_inner().incident_id;
        let view = self.hotline.incident(id).await.map_err(status)?;
        self.detail(view).await
    }

    async fn list_incidents(
        &self,
        request: Request<pb::ListIncidentsRequest>,
    ) -> Result<Response<pb::ListIncidentsResponse>, Status> {
        let r = request.into_inner();
        let some = |s: String| (!s.trim().is_empty()).then_some(s);
        let filter = IncidentFilter {
            status: incident_status_from_pb(r.status)?,
            category_code: some(r.category_code),
            district_code: some(r.district_code),
            limit: if r.limit == 0 {
                100
            } else {
                i64::from(r.limit)
            },
        };
        let incidents = self.hotline.incidents(filter).await.map_err(status)?;
        Ok(Response::new(pb::ListIncidentsResponse {
            // The count of appeals is left at 0 in a list: GetIncident carries them.
            incidents: incidents.iter().map(|i| incident_to_pb(i, 0)).collect(),
        }))
    }

    async fn close_incident(
        &self,
        request: Request<pb::CloseIncidentRequest>,
    ) -> Result<Response<pb::IncidentDetail>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let view = self
            .hotline
            .close_incident(r.incident_id, &r.reason, &caller)
            .await
            .map_err(status)?;
        self.detail(view).await
    }
}
