//! Authentication and authorization, once per call, as a tower layer in front of every service: the
//! peer certificate becomes a [`Principal`], the principal is checked against [`allowed`] for the RPC,
//! and the handler receives a [`CallContext`]. Handlers never parse certificates.

use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::Status;
use tonic::codegen::http;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::app::Hotline;
use crate::app::Store;
use crate::domain::Caller;
use crate::live::PeerInfo;
use crate::principal::{Principal, StaffRole};

/// Who is calling which RPC; inserted into every authorized request.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The caller's identity from its certificate.
    pub principal: Principal,
    /// The RPC path (`/hotline.v1.AppealRegistry/GetAppeal`), recorded in the audit trail.
    pub rpc: String,
}

impl CallContext {
    /// The caller as the store records it.
    pub fn caller(&self) -> Caller {
        Caller {
            principal: self.principal.actor(),
            rpc: self.rpc.clone(),
        }
    }
}

/// The authorization matrix: may `principal` call `method` of `service`?
pub fn allowed(principal: &Principal, service: &str, method: &str) -> bool {
    use StaffRole::{Admin, Analyst, Operator, Supervisor};
    match (principal, service) {
        // Standard services any authenticated client may use (tools such as grpcurl).
        (
            _,
            "grpc.health.v1.Health"
            | "grpc.reflection.v1.ServerReflection"
            | "grpc.reflection.v1alpha.ServerReflection",
        ) => true,
        (Principal::Staff { role, .. }, "hotline.v1.AppealRegistry") => {
            let roles: &[StaffRole] = match method {
                "RegisterAppeal" | "RecordCallback" | "MarkNoticeDone" => &[Operator],
                "ListNotices" => &[Operator, Analyst, Supervisor],
                "GetAppeal" | "SearchAppeals" | "WatchAppeals" => &[Operator, Analyst, Supervisor],
                "AssignAppeal"
                | "ReassignCase"
                | "ExtendDeadline"
                | "VerifyAnswer"
                | "AnswerClarification"
                | "CloseAppeal"
                | "ReworkCases"
                | "RefuseExtension" => &[Analyst],
                "ListDeclinedCases" => &[Analyst, Supervisor],
                "ListQueue" => &[Operator, Analyst, Supervisor],
                _ => &[],
            };
            roles.contains(role)
        }
        (Principal::Staff { role, .. }, "hotline.v1.Directory") => match method {
            "ListAuthorities" | "ListCategories" | "ListDistricts" | "ListClassifier" => true,
            _ => *role == Admin,
        },
        (Principal::Staff { role, .. }, "hotline.v1.Incidents") => match method {
            "GetIncident" | "ListIncidents" => matches!(role, Operator | Analyst | Supervisor),
            "OpenIncident" | "AttachToIncident" | "CloseIncident" => *role == Analyst,
            _ => false,
        },
        (Principal::Staff { role, .. }, "hotline.v1.ExchangeAdmin") => match method {
            "SetMapping" => *role == Admin,
            "ListMappings" => matches!(role, Admin | Analyst),
            "ListHeld" | "ClassifyHeld" | "ForwardToPartner" => *role == Analyst,
            _ => false,
        },
        (Principal::Staff { role, .. }, "hotline.v1.Reports") => {
            matches!(role, Supervisor | Analyst)
        }
        (Principal::Staff { role, .. }, "hotline.v1.Operations") => {
            matches!(role, Supervisor | Analyst | Admin)
        }
        (Principal::Agency { .. }, "hotline.v1.AgencyGateway") => true,
        (Principal::Exchange { .. }, "hotline.v1.ContactCentreExchange") => true,
        _ => false,
    }
}

/// Splits `/package.Service/Method`.
fn service_and_method(path: &str) -> Option<(&str, &str)> {
    path.strip_prefix('/')?.split_once('/')
}

/// The tower layer that authenticates and authorizes every call.
#[derive(Debug, Clone)]
pub struct AuthLayer<S> {
    /// To check that an agency's authority exists and is active.
    hotline: Hotline<S>,
}

impl<S> AuthLayer<S> {
    /// The layer over the use cases of `hotline`.
    pub fn new(hotline: Hotline<S>) -> Self {
        Self { hotline }
    }
}

impl<S: Clone, Inner> tower::Layer<Inner> for AuthLayer<S> {
    type Service = Auth<S, Inner>;

    fn layer(&self, inner: Inner) -> Self::Service {
        Auth {
            inner,
            hotline: self.hotline.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the router.
#[derive(Debug, Clone)]
pub struct Auth<S, Inner> {
    /// The router.
    inner: Inner,
    /// The directory, for agency principals.
    hotline: Hotline<S>,
}

/// The principal the peer certificate names, or why there is none (no I/O, no check of the
/// matrix). The certificate was read once, when the connection was accepted ([`PeerInfo`]).
fn identity<B>(request: &http::Request<B>) -> Result<Principal, Status> {
    let info = request
        .extensions()
        .get::<PeerInfo<TlsConnectInfo<TcpConnectInfo>>>()
        .filter(|info| {
            info.transport
                .peer_certs()
                .is_some_and(|certs| !certs.is_empty())
        })
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    info.identity
        .as_ref()
        .clone()
        .map_err(Status::permission_denied)
}

/// The identity the peer certificate names, if it names one (for spans and metrics; no check).
pub fn peer_principal<B>(request: &http::Request<B>) -> Option<Principal> {
    identity(request).ok()
}

/// Reads the principal from the peer certificate and checks the matrix (no I/O).
fn authenticate<B>(request: &http::Request<B>) -> Result<CallContext, Status> {
    let principal = identity(request)?;
    let rpc = request.uri().path().to_string();
    let (service, method) = service_and_method(&rpc)
        .ok_or_else(|| Status::unimplemented(format!("no such method `{rpc}`")))?;
    if !allowed(&principal, service, method) {
        return Err(Status::permission_denied(format!(
            "{principal} may not call {service}/{method}"
        )));
    }
    Ok(CallContext { principal, rpc })
}

/// An agency certificate is honoured only while its authority is in the directory and active.
async fn check_authority<S: Store>(
    hotline: &Hotline<S>,
    principal: &Principal,
) -> Result<(), Status> {
    if let Principal::Agency { authority } = principal {
        let active = hotline
            .authority_is_active(authority)
            .await
            .map_err(super::error::status)?;
        if !active {
            return Err(Status::permission_denied(format!(
                "authority `{authority}` is unknown or deactivated"
            )));
        }
    }
    Ok(())
}

impl<S, Inner, B> tower::Service<http::Request<B>> for Auth<S, Inner>
where
    S: Store,
    B: Send + 'static,
    Inner: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    Inner::Future: Send + 'static,
    Inner::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Inner::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was made ready is the one to call; keep a fresh clone for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let hotline = self.hotline.clone();
        let path = request.uri().path().to_string();
        let context = authenticate(&request);
        let refused = move |status: Status| {
            tracing::info!(%path, code = ?status.code(), reason = %status.message(), "call refused");
            Ok(status.into_http())
        };
        match context {
            Err(status) => Box::pin(std::future::ready(refused(status))),
            Ok(context) => Box::pin(async move {
                if let Err(status) = check_authority(&hotline, &context.principal).await {
                    return refused(status);
                }
                request.extensions_mut().insert(context);
                inner.call(request).await
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_roles_pass() {
        let staff = |role| Principal::Staff {
            role,
            login: "x".into(),
        };
        assert!(allowed(
            &staff(StaffRole::Operator),
            "hotline.v1.AppealRegistry",
            "RegisterAppeal"
        ));
        assert!(!allowed(
            &staff(StaffRole::Operator),
            "hotline.v1.AppealRegistry",
            "AssignAppeal"
        ));
        assert!(!allowed(
            &staff(StaffRole::Admin),
            "hotline.v1.AppealRegistry",
            "GetAppeal"
        ));
        assert!(allowed(
            &staff(StaffRole::Admin),
            "hotline.v1.Directory",
            "CreateAuthority"
        ));
        assert!(!allowed(
            &staff(StaffRole::Analyst),
            "hotline.v1.Directory",
            "CreateAuthority"
        ));
        let agency = Principal::Agency {
            authority: "a".into(),
        };
        assert!(!allowed(&agency, "hotline.v1.AppealRegistry", "GetAppeal"));
        assert!(!allowed(&agency, "hotline.v1.Directory", "ListAuthorities"));
        assert!(allowed(&agency, "hotline.v1.AgencyGateway", "StreamCases"));
        assert!(!allowed(&agency, "hotline.v1.Operations", "GetStatus"));
        assert!(!allowed(
            &staff(StaffRole::Operator),
            "hotline.v1.Operations",
            "GetStatus"
        ));
        for role in [StaffRole::Supervisor, StaffRole::Analyst, StaffRole::Admin] {
            assert!(allowed(&staff(role), "hotline.v1.Operations", "GetStatus"));
        }
        let exchange = Principal::Exchange {
            partner: "n".into(),
        };
        assert!(!allowed(
            &exchange,
            "hotline.v1.AgencyGateway",
            "StreamCases"
        ));
        assert!(allowed(&exchange, "grpc.health.v1.Health", "Check"));
        assert_eq!(
            service_and_method("/hotline.v1.Directory/ListDistricts"),
            Some(("hotline.v1.Directory", "ListDistricts"))
        );
    }
}
