//! `hotline.v1.Directory`: authorities, the classifier and districts.

use hotline_proto::v1 as pb;
use hotline_proto::v1::directory_server::Directory;
use tonic::{Request, Response, Status};

use super::caller;
use super::classify::{dimension_from_pb, entry_from_pb, entry_to_pb};
use super::convert::{
    authority_from_pb, authority_to_pb, category_from_pb, category_to_pb, district_from_pb,
    district_to_pb,
};
use super::error::status;
use crate::app::Hotline;
use crate::app::Store;

/// The admin directory service.
#[derive(Debug, Clone)]
pub struct DirectoryApi<S> {
    /// The application services.
    hotline: Hotline<S>,
}

impl<S: Store> DirectoryApi<S> {
    /// The service over `hotline`.
    pub fn new(hotline: Hotline<S>) -> Self {
        Self { hotline }
    }
}

#[tonic::async_trait]
impl<S: Store> Directory for DirectoryApi<S> {
    async fn create_authority(
        &self,
        request: Request<pb::Authority>,
    ) -> Result<Response<pb::Authority>, Status> {
        let caller = caller(&request);
        let a = self
            .hotline
            .create_authority(authority_from_pb(request.into_inner()), &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(authority_to_pb(&a)))
    }

    async fn update_authority(
        &self,
        request: Request<pb::Authority>,
    ) -> Result<Response<pb::Authority>, Status> {
        let caller = caller(&request);
        let a = self
            .hotline
            .update_authority(authority_from_pb(request.into_inner()), &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(authority_to_pb(&a)))
    }

    async fn list_authorities(
        &self,
        request: Request<pb::ListAuthoritiesRequest>,
    ) -> Result<Response<pb::ListAuthoritiesResponse>, Status> {
        let all = self
            .hotline
            .authorities(request.into_inner().include_inactive)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListAuthoritiesResponse {
            authorities: all.iter().map(authority_to_pb).collect(),
        }))
    }

    async fn deactivate_authority(
        &self,
        request: Request<pb::DeactivateAuthorityRequest>,
    ) -> Result<Response<pb::Authority>, Status> {
        let caller = caller(&request);
        let a = self
            .hotline
            .deactivate_authority(&request.into_inner().code, &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(authority_to_pb(&a)))
    }

    async fn upsert_category(
        &self,
        request: Request<pb::Category>,
    ) -> Result<Response<pb::Category>, Status> {
        let caller = caller(&request);
        let c = self
            .hotline
            .upsert_category(category_from_pb(request.into_inner()), &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(category_to_pb(&c)))
    }

    async fn list_categories(
        &self,
        _request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        let all = self.hotline.categories().await.map_err(status)?;
        Ok(Response::new(pb::ListCategoriesResponse {
            categories: all.iter().map(category_to_pb).collect(),
        }))
    }

    async fn upsert_district(
        &self,
        request: Request<pb::District>,
    ) -> Result<Response<pb::District>, Status> {
        let caller = caller(&request);
        let d = self
            .hotline
            .upsert_district(district_from_pb(request.into_inner())?, &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(district_to_pb(&d)))
    }

    async fn list_districts(
        &self,
        _request: Request<pb::ListDistrictsRequest>,
    ) -> Result<Response<pb::ListDistrictsResponse>, Status> {
        let all = self.hotline.districts().await.map_err(status)?;
        Ok(Response::new(pb::ListDistrictsResponse {
            districts: all.iter().map(district_to_pb).collect(),
        }))
    }

    async fn upsert_classifier_entry(
        &self,
        request: Request<pb::ClassifierEntry>,
    ) -> Result<Response<pb::ClassifierEntry>, Status> {
        let caller = caller(&request);
        let entry = entry_from_pb(request.into_inner())?;
        let entry = self
            .hotline
            .upsert_classifier_entry(entry, &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(entry_to_pb(&entry)))
    }

    async fn list_classifier(
        &self,
        request: Request<pb::ListClassifierRequest>,
    ) -> Result<Response<pb::ListClassifierResponse>, Status> {
        let dimension = dimension_from_pb(request.into_inner().dimension)?;
        let entries = self
            .hotline
            .classifier_entries(dimension)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListClassifierResponse {
            entries: entries.iter().map(entry_to_pb).collect(),
        }))
    }
}
