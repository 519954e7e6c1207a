//! What tests register and load: the small directory, a valid card, and an authority answering a
//! case by driving the domain transitions directly (for tests about staff, not the gateway).

use hotline_hub::domain::{Caller, CaseOutcome, CaseStatus, Change, Limits, Outcome};
use hotline_hub::store::{AppealKey, AppealStore};
use hotline_proto::v1 as pb;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;

use crate::hub::TestHub;

/// A small directory: two districts, a settlement, a section with a subject, four authorities,
/// and a few entries of the classifier's other dimensions (`ubd` a priority author category).
pub const DIRECTORY: &str = r#"
[[districts]]
code = "dniprovskyi"
name = "Дніпровський район"
kind = "district"

[[districts]]
code = "kryvorizkyi"
name = "Криворізький район"
kind = "district"

[[districts]]
code = "dnipro"
name = "Дніпро"
kind = "settlement"
parent = "dniprovskyi"

[[categories]]
code = "07"
name = "Комунальне господарство"
term_days = 30

[[categories]]
code = "07.01"
name = "Водопостачання"
parent = "07"
term_days = 15

[[authorities]]
code = "vodokanal"
name = "КП «Дніпроводоканал»"
kind = "utility"
district = "dniprovskyi"

[[authorities]]
code = "city-council"
name = "Дніпровська міська рада"
kind = "city_council"
district = "dniprovskyi"

[[authorities]]
code = "heating"
name = "КП «Теплоенерго»"
kind = "utility"
district = "dniprovskyi"

[[authorities]]
code = "kryvyi-rih-council"
name = "Криворізька міська рада"
kind = "city_council"
district = "kryvorizkyi"

[[classifier]]
dimension = "author_category"
code = "ubd"
name = "Учасники бойових дій"
priority = true

[[classifier]]
dimension = "author_category"
code = "idp"
name = "Внутрішньо переміщені особи"

[[classifier]]
dimension = "author_category"
code = "large-family"
name = "Багатодітні сім'ї"

[[classifier]]
dimension = "social_status"
code = "pensioner"
name = "Пенсіонер"

[[classifier]]
dimension = "sex"
code = "f"
name = "Жіноча"
"#;

/// An authority answering case `case_id` without its agency client: deliver, accept, report,
/// resolve (outcome: resolved), as transitions on the store.
pub async fn authority_answers<S: AppealStore>(hub: &TestHub<S>, case_id: i64, answer: &str) {
    let store = &hub.store;
    let actor = Caller {
        principal: "agency:test".into(),
        rpc: "test".into(),
    };
    let key = AppealKey::Case(case_id);
    let now = chrono::Utc::now();
    let state = store.load(&key).await.unwrap().unwrap();
    let status = state.cases.iter().find(|c| c.id == case_id).unwrap().status;
    if status == CaseStatus::Assigned {
        store
            .transact(&key, &actor, now, move |s| {
                s.deliver(case_id, now).map(Change::from)
            })
            .await
            .unwrap();
        store
            .transact(&key, &actor, now, move |s| {
                s.accept(case_id, now).map(Change::from)
            })
            .await
            .unwrap();
    }
    store
        .transact(&key, &actor, now, move |s| {
            s.report_progress(case_id, "crew sent", None, now)
                .map(Change::from)
        })
        .await
        .unwrap();
    let answer = answer.to_string();
    store
        .transact(&key, &actor, now, move |s| {
            let outcome = CaseOutcome::checked(Some(Outcome::Resolved), "")?;
            s.resolve(case_id, &answer, "", outcome, &Limits::default(), now)
                .map(Change::from)
        })
        .await
        .unwrap();
}

/// An assignment of appeal `number` to the one authority `authority`, with its default deadline.
#[allow(clippy::needless_update)] // the request may grow fields these callers leave empty
pub fn assign_to(number: &str, authority: &str) -> pb::AssignAppealRequest {
    pb::AssignAppealRequest {
        number: number.to_string(),
        assignments: vec![pb::Assignment {
            authority_code: authority.to_string(),
            deadline: String::new(),
        }],
        ..Default::default()
    }
}

/// Registers [`water_complaint`] through `operator` and returns the appeal's number.
pub async fn register_water(
    operator: &mut AppealRegistryClient<tonic::transport::Channel>,
) -> String {
    operator
        .register_appeal(water_complaint())
        .await
        .expect("registered")
        .into_inner()
        .number
}

/// A valid registration card for a water complaint in Dnipro.
pub fn water_complaint() -> pb::RegisterAppealRequest {
    pb::RegisterAppealRequest {
        kind: pb::AppealKind::Complaint as i32,
        channel: pb::Channel::Phone as i32,
        citizen: Some(pb::Citizen {
            name: "Петренко Ганна Іванівна".into(),
            phone: "067 123 45 67".into(),
            address: "м. Дніпро, вул. Січеславська Набережна, 15, кв. 7".into(),
            email: String::new(),
        }),
        district_code: "dniprovskyi".into(),
        settlement_code: "dnipro".into(),
        category_code: "07.01".into(),
        text: "Третій день немає холодної води в будинку".into(),
        ..Default::default()
    }
}
