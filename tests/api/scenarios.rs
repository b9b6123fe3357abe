//! Every scenario of `protocol/scenarios/` replayed through the HTTP API.

use cbm2::protocol::scenario::{Party, Refused, Scenario, Step};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::workflow::{Parties, inquiry_path, written};

/// Every scenario file, by file name.
fn scenarios() -> Vec<(String, Scenario)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/protocol/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("protocol/scenarios exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let scenario = Scenario::parse(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                scenario,
            )
        })
        .collect()
}

/// The tokens of the parties: Chile asks; Brazil and Argentina answer what is addressed to
/// them; Mexico has no part; each of Chile and Brazil has a technical POC (its CSIRT).
struct Cast {
    parties: Parties,
    arg: String,
    /// Brazil's policy POC (id, token): the one `replace_responder` replaces.
    bra: std::sync::Mutex<(String, String)>,
    chl_colleague: (String, String),
    bra_colleague: (String, String),
}

impl Cast {
    async fn enrol(app: &TestApp) -> Self {
        let parties = Parties::enrol(app).await;
        let bra = (parties.bra_id.clone(), parties.bra.clone());
        Self {
            arg: app.poc_with_token("ARG", "Ines Paz").await.1,
            bra: std::sync::Mutex::new(bra),
            chl_colleague: app.technical_poc_with_token("CHL", "Tomas Lagos").await,
            bra_colleague: app.technical_poc_with_token("BRA", "Joao Lima").await,
            parties,
        }
    }

    /// A step's body with the parties' POC ids in place of their placeholders.
    fn body(&self, body: Value) -> Value {
        let mut text = body.to_string();
        for (party, id) in [
            (Party::Requester, self.parties.chl_id.clone()),
            (Party::Responder, self.bra.lock().unwrap().0.clone()),
            (Party::ThirdState, self.parties.mex_id.clone()),
            (Party::RequesterColleague, self.chl_colleague.0.clone()),
            (Party::ResponderColleague, self.bra_colleague.0.clone()),
        ] {
            text = text.replace(party.placeholder(), &id);
        }
        let a_minute_ago = (cbm2::clock::now() - chrono::TimeDelta::minutes(1)).to_rfc3339();
        text = text.replace("{a_minute_ago}", &a_minute_ago);
        serde_json::from_str(&text).unwrap()
    }

    /// `replace_responder`: Brazil's policy POC leaves (deactivated) and a new one takes
    /// the post; `responder` is the new one from then on.
    async fn replace_responder(&self, app: &TestApp) {
        let old = self.bra.lock().unwrap().0.clone();
        app.post(
            &format!("/v1/pocs/{old}/deactivate"),
            &app.secretariat,
            json!({}),
        )
        .await
        .assert_status(200);
        let new = app.poc_with_token("BRA", "Bruno Costa").await;
        *self.bra.lock().unwrap() = new;
    }

    /// The token of `party` for the inquiry `current` (if any).
    async fn token(&self, app: &TestApp, party: Party, current: Option<&str>) -> String {
        match party {
            Party::Requester => self.parties.chl.clone(),
            Party::Secretariat => app.secretariat.clone(),
            Party::ThirdState => self.parties.mex.clone(),
            Party::RequesterColleague => self.chl_colleague.1.clone(),
            Party::ResponderColleague => self.bra_colleague.1.clone(),
            Party::Responder => {
                let state = match current {
                    Some(id) => {
                        let view = app.get(&inquiry_path(id), &self.parties.chl).await;
                        view.assert_status(200)["responding_state"].clone()
                    }
                    None => Value::Null,
                };
                match state.as_str() {
                    Some("ARG") => self.arg.clone(),
                    Some("BRA") | None => self.bra.lock().unwrap().1.clone(),
                    Some(other) => panic!("no responder cast for {other}"),
                }
            }
        }
    }
}

/// Takes `step` through the API and checks its outcome; returns the inquiry then current.
async fn take(
    app: &TestApp,
    cast: &Cast,
    step: &Step,
    current: Option<String>,
    at: &str,
) -> Option<String> {
    let token = cast.token(app, step.party, current.as_deref()).await;
    let before = match &current {
        Some(id) => Some(written(app, id, &cast.parties.chl).await),
        None => None,
    };
    let body = cast.body(step.body.clone().unwrap_or_else(|| json!({})));
    if step.action == "replace_responder" {
        assert_eq!(
            step.party,
            Party::Secretariat,
            "{at}: the Secretariat keeps the directory"
        );
        cast.replace_responder(app).await;
        return current;
    }
    let (reply, path) = if step.action == "create" {
        let body = if step.related {
            let related = current
                .as_deref()
                .expect("a related create follows an inquiry");
            json!({"related_inquiry_id": related})
        } else {
            body
        };
        (app.post("/v1/inquiries", &token, body).await, None)
    } else {
        let id = current.as_deref().expect("an action follows a create");
        let path = format!("/v1/inquiries/{id}/{}", step.action.replace('_', "-"));
        (app.post(&path, &token, body).await, Some(path))
    };

    match (step.expect_status, step.expect_refused) {
        (Some(status), None) => {
            let code = if path.is_none() { 201 } else { 200 };
            assert_eq!(
                reply.status.as_u16(),
                code,
                "{at}: expected {code}; body: {}",
                reply.body
            );
            assert_eq!(
                reply.body["status"],
                status.as_str(),
                "{at}: status after the step"
            );
            if step.related {
                assert_eq!(
                    reply.body["related_inquiry_id"],
                    current.as_deref().unwrap(),
                    "{at}"
                );
            }
            let id = reply.body["id"].as_str().unwrap().to_owned();
            if let (Some(before), Some(_)) = (before, &path) {
                assert_eq!(
                    reply.body["version"],
                    before.0 + 1,
                    "{at}: one event per accepted step"
                );
            }
            Some(id)
        }
        (None, Some(refused)) => {
            let refused = match refused {
                Refused::NotVisible => 404,
                Refused::WrongRole => 403,
                Refused::NotAllowed => 409,
                Refused::InvalidInput => 422,
            };
            reply.assert_problem(refused, None);
            if refused == 409 {
                assert!(
                    reply.body["current_status"].is_string()
                        && reply.body["allowed_actions"].is_array(),
                    "{at}: {}",
                    reply.body
                );
            }
            if let Some(before) = before {
                assert_eq!(
                    written(app, current.as_deref().unwrap(), &cast.parties.chl).await,
                    before,
                    "{at}: a refused step writes nothing"
                );
            }
            current
        }
        other => panic!("{at}: a step expects a status or a refusal, not {other:?}"),
    }
}

async fn every_protocol_scenario_plays_out_through_the_api(db: TestDb) {
    let app = spawn_app(db).await;
    let cast = Cast::enrol(&app).await;
    let scenarios = scenarios();
    assert!(
        scenarios.len() >= 12,
        "the scenarios of protocol/scenarios: {:?}",
        scenarios.iter().map(|(f, _)| f).collect::<Vec<_>>()
    );

    for (file, scenario) in &scenarios {
        let mut current: Option<String> = None;
        for (i, step) in scenario.steps.iter().enumerate() {
            let at = format!(
                "{file} ({}), step {} ({:?} {})",
                scenario.name,
                i + 1,
                step.party,
                step.action
            );
            current = take(&app, &cast, step, current, &at).await;
        }
    }
    app.assert_audit_intact().await;
}

on_both_databases!(every_protocol_scenario_plays_out_through_the_api);
