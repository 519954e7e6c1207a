//! `hub authority …` and `hub directory …`: the admin's commands on the directory of a running hub.

use std::path::PathBuf;

use clap::Subcommand;
use hotline_proto::v1 as pb;
use hotline_proto::v1::directory_client::DirectoryClient;

use super::CliError;
use super::args::coded;
use super::connect::{Connection, channel};
use super::output::{self, Out};
use crate::api::classify::{dimension_to_pb, entry_to_pb};
use crate::api::convert::{authority_to_pb, category_to_pb};
use crate::domain::Dimension;
use crate::principal::StaffRole;
use crate::starter::DirectoryFile;

/// `hub authority …`
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// Add an authority.
    Add {
        /// Code (lowercase ascii, also named in its certificate).
        code: String,
        /// Official name.
        #[arg(long)]
        name: String,
        /// Kind of body.
        #[arg(long, default_value = "territorial_unit")]
        kind: String,
        /// District where it sits.
        #[arg(long, default_value = "")]
        district: String,
    },
    /// List authorities.
    List {
        /// Include deactivated ones.
        #[arg(long)]
        all: bool,
    },
    /// Deactivate an authority (no new cases).
    Deactivate {
        /// Code.
        code: String,
    },
}

/// `hub directory …`
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Load a directory file (default: the embedded starter directory) into the hub.
    Load {
        /// A TOML file shaped like hub/starter/directory.toml.
        file: Option<PathBuf>,
    },
    /// List the category classifier.
    Categories,
    /// List districts and settlements.
    Districts,
    /// List the classifier's other dimensions: author categories (priority ones marked), social
    /// status, sex.
    Classifier {
        /// Only this dimension.
        #[arg(long, value_parser = coded::<Dimension>())]
        dimension: Option<Dimension>,
    },
}

/// Runs `hub authority …`.
pub async fn authority(c: Connection<AuthorityCommand>) -> Result<(), CliError> {
    let out = Out { json: c.hub.json };
    let mut client = DirectoryClient::new(channel(&c.hub, StaffRole::Admin).await?);
    match c.command {
        AuthorityCommand::Add {
            code,
            name,
            kind,
            district,
        } => {
            let a = client
                .create_authority(pb::Authority {
                    code,
                    name,
                    kind,
                    district_code: district,
                    active: true,
                })
                .await?
                .into_inner();
            out.authorities(&[a]);
        }
        AuthorityCommand::List { all } => {
            let list = client
                .list_authorities(pb::ListAuthoritiesRequest {
                    include_inactive: all,
                })
                .await?
                .into_inner();
            out.authorities(&list.authorities);
        }
        AuthorityCommand::Deactivate { code } => {
            let a = client
                .deactivate_authority(pb::DeactivateAuthorityRequest { code })
                .await?
                .into_inner();
            out.authorities(&[a]);
        }
    }
    Ok(())
}

/// Runs `hub directory …`.
pub async fn directory(c: Connection<DirectoryCommand>) -> Result<(), CliError> {
    let out = Out { json: c.hub.json };
    let mut client = DirectoryClient::new(channel(&c.hub, StaffRole::Admin).await?);
    match c.command {
        DirectoryCommand::Load { file } => {
            let dir = match &file {
                None => DirectoryFile::starter(),
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        CliError::Io(format!("cannot read {}: {e}", path.display()))
                    })?;
                    DirectoryFile::parse(&text)
                        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?
                }
            };
            let total = dir.districts.len()
                + dir.categories.len()
                + dir.classifier.len()
                + dir.authorities.len();
            let mut done = 0;
            for d in &dir.districts {
                client
                    .upsert_district(pb::District {
                        code: d.code.clone(),
                        name: d.name.clone(),
                        kind: d.kind.clone(),
                        parent_code: d.parent.clone(),
                    })
                    .await?;
                done += 1;
                output::progress(done, total);
            }
            for cat in &dir.categories {
                client
                    .upsert_category(category_to_pb(&cat.to_category()))
                    .await?;
                done += 1;
                output::progress(done, total);
            }
            for e in &dir.classifier {
                let entry = e
                    .to_entry()
                    .map_err(|err| CliError::Usage(format!("classifier `{}`: {err}", e.code)))?;
                client.upsert_classifier_entry(entry_to_pb(&entry)).await?;
                done += 1;
                output::progress(done, total);
            }
            for a in &dir.authorities {
                let request = authority_to_pb(&a.to_authority());
                match client.create_authority(request.clone()).await {
                    Err(status) if status.code() == tonic::Code::AlreadyExists => {
                        client.update_authority(request).await?;
                    }
                    other => {
                        other?;
                    }
                }
                done += 1;
                output::progress(done, total);
            }
            out.loaded(
                dir.districts.len(),
                dir.categories.len(),
                dir.authorities.len(),
            );
        }
        DirectoryCommand::Categories => {
            let list = client
                .list_categories(pb::ListCategoriesRequest {})
                .await?
                .into_inner();
            out.categories(&list.categories);
        }
        DirectoryCommand::Classifier { dimension } => {
            let list = client
                .list_classifier(pb::ListClassifierRequest {
                    dimension: dimension.map_or(pb::Dimension::Unspecified, dimension_to_pb) as i32,
                })
                .await?
                .into_inner();
            out.classifier(&list.entries);
        }
        DirectoryCommand::Districts => {
            let list = client
                .list_districts(pb::ListDistrictsRequest {})
                .await?
                .into_inner();
            out.districts(&list.districts);
        }
    }
    Ok(())
}
