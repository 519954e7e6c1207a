//! Command-line values that are the domain's own closed sets (kinds, channels, statuses,
//! outcomes): parsed from their codes, so the command line never keeps a copy of a domain enum.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::domain::Coded;

/// A code as typed on the command line: `national-centre` for `national_centre`.
fn typed(code: &str) -> String {
    code.replace('_', "-")
}

/// A parser for the domain enum `T`: accepts its codes (with `-` for `_`) and lists them in `--help`.
pub fn coded<T: Coded + Send + Sync>() -> impl TypedValueParser<Value = T> {
    // Parsed once per command line: the few leaked names are the price of clap's `&'static str`.
    let names = T::all()
        .iter()
        .map(|v| PossibleValue::new(&*typed(v.code()).leak()));
    PossibleValuesParser::new(names).map(|s: String| {
        *T::all()
            .iter()
            .find(|v| typed(v.code()) == s)
            .expect("clap admits only the possible values")
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::coded;
    use crate::domain::{AppealStatus, Channel};

    #[derive(Debug, Parser)]
    struct Probe {
        #[arg(long, value_parser = coded::<Channel>())]
        channel: Channel,
        #[arg(long, value_parser = coded::<AppealStatus>())]
        status: Option<AppealStatus>,
    }

    #[test]
    fn domain_codes_are_the_values() {
        let p = Probe::try_parse_from([
            "x",
            "--channel",
            "national-centre",
            "--status",
            "in-progress",
        ])
        .unwrap();
        assert_eq!(p.channel, Channel::NationalCentre);
        assert_eq!(p.status, Some(AppealStatus::InProgress));
        assert!(Probe::try_parse_from(["x", "--channel", "pigeon"]).is_err());
    }
}
