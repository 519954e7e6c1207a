//! `hub appeal register`: the card as flags (the Law's fields, the classifier's dimensions and the
//! urgency), turned into one request.

use std::path::PathBuf;

use clap::Args;
use hotline_proto::v1 as pb;

use super::CliError;
use super::args::coded;
use crate::api::classify::{sign_to_pb, urgency_to_pb};
use crate::api::convert::{channel_to_pb, kind_to_pb};
use crate::domain::{AppealKind, Channel, Sign, Urgency};

/// `hub appeal register` arguments.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Kind of appeal (art. 3 of the Law).
    #[arg(long, value_parser = coded::<AppealKind>())]
    pub kind: AppealKind,
    /// How it came in.
    #[arg(long, default_value = "phone", value_parser = coded::<Channel>())]
    pub channel: Channel,
    /// Citizen's full name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Citizen's phone.
    #[arg(long, default_value = "")]
    pub phone: String,
    /// Citizen's address.
    #[arg(long, default_value = "")]
    pub address: String,
    /// Citizen's e-mail, for notices.
    #[arg(long, default_value = "")]
    pub email: String,
    /// A consultation given on the spot: closed at once, never sent to an authority.
    #[arg(long)]
    pub consultation: bool,
    /// Why --received-at lies more than 3 days (configurable) in the past.
    #[arg(long, default_value = "")]
    pub backdate_reason: String,
    /// The citizen gave no name.
    #[arg(long)]
    pub anonymous: bool,
    /// Signatories of a collective appeal.
    #[arg(long, default_value_t = 1)]
    pub signatories: i32,
    /// The citizen holds a benefit category.
    #[arg(long)]
    pub benefit_holder: bool,
    /// District code.
    #[arg(long)]
    pub district: String,
    /// Settlement code.
    #[arg(long, default_value = "")]
    pub settlement: String,
    /// Category code.
    #[arg(long)]
    pub category: String,
    /// The appeal's text.
    #[arg(long, required_unless_present = "text_file")]
    pub text: Option<String>,
    /// Read the text from a file.
    #[arg(long)]
    pub text_file: Option<PathBuf>,
    /// Urgent.
    #[arg(long)]
    pub urgent: bool,
    /// For a complaint: the authority complained about.
    #[arg(long, default_value = "")]
    pub complained_authority: String,
    /// Needs further study (one-month term).
    #[arg(long)]
    pub needs_study: bool,
    /// A shorter deadline the citizen asked for (YYYY-MM-DD).
    #[arg(long, default_value = "")]
    pub requested_deadline: String,
    /// Number of an earlier appeal this one repeats.
    #[arg(long, default_value = "")]
    pub repeat_of: String,
    /// The repeat brings new circumstances.
    #[arg(long)]
    pub new_circumstances: bool,
    /// When it was received (RFC 3339); default now.
    #[arg(long, default_value = "")]
    pub received_at: String,
    /// The sign [default: the hub decides: primary, or repeat when it links one].
    #[arg(long, value_parser = coded::<Sign>())]
    pub sign: Option<Sign>,
    /// Author category (repeat for several), e.g. `ubd`; see `hub directory classifier`.
    #[arg(long = "author-category")]
    pub author_categories: Vec<String>,
    /// Social status code.
    #[arg(long, default_value = "")]
    pub social_status: String,
    /// Sex code.
    #[arg(long, default_value = "")]
    pub sex: String,
    /// For a collective appeal: whom to call [default: the citizen].
    #[arg(long, default_value = "")]
    pub contact_person: String,
    /// Urgency: ordinary, urgent (days) or emergency (hours).
    #[arg(long, value_parser = coded::<Urgency>())]
    pub urgency: Option<Urgency>,
    /// The citizen agrees that the text may be published as open data.
    #[arg(long)]
    pub publishable: bool,
}

pub fn register_request(r: RegisterArgs) -> Result<pb::RegisterAppealRequest, CliError> {
    let text = match (r.text, r.text_file) {
        (Some(text), None) => text,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| CliError::Io(format!("cannot read {}: {e}", path.display())))?,
        _ => {
            return Err(CliError::Usage(
                "give --text or --text-file, not both".into(),
            ));
        }
    };
    Ok(pb::RegisterAppealRequest {
        kind: kind_to_pb(r.kind) as i32,
        channel: channel_to_pb(r.channel) as i32,
        citizen: Some(pb::Citizen {
            name: r.name,
            phone: r.phone,
            address: r.address,
            email: r.email,
        }),
        anonymous: r.anonymous,
        signatories: r.signatories,
        benefit_holder: r.benefit_holder,
        district_code: r.district,
        settlement_code: r.settlement,
        category_code: r.category,
        text,
        urgent: r.urgent,
        sign: r.sign.map_or(pb::Sign::Unspecified, sign_to_pb) as i32,
        author_categories: r.author_categories,
        social_status: r.social_status,
        sex: r.sex,
        contact_person: r.contact_person,
        urgency: r.urgency.map_or(pb::Urgency::Unspecified, urgency_to_pb) as i32,
        publishable: r.publishable,
        complained_authority_code: r.complained_authority,
        needs_study: r.needs_study,
        requested_deadline: r.requested_deadline,
        repeat_of: r.repeat_of,
        new_circumstances: r.new_circumstances,
        received_at: r.received_at,
        request_id: String::new(),
        backdate_reason: r.backdate_reason,
        consultation: r.consultation,
    })
}
