//! Web accounts below the pages: sign-in links (single use, 15 minutes, at most 5 per
//! account in 15 minutes, never for an unknown or inactive account), browser sessions
//! (the caller a token would be, on a token of their own; idle 12 hours, 7 days at most;
//! ended by signing out or by revoking their token), staff accounts, the UI language, the
//! sign-in e-mail, and `cbm2 staff` / `cbm2 login-link`.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use cbm2::clock;
use cbm2::delivery::email::{Mailer, send_sign_in_mail};
use cbm2::domain::poc::Languages;
use cbm2::domain::{
    Affiliation, EmailAddress, Language, LanguageCode, MemberStateCode, PersonName, PocId, PocRole,
    Principal,
};
use cbm2::store::Store;
use cbm2::store::accounts::{Account, AccountError, IssuedSession, SESSION_TOKEN_LABEL, StaffKey};
use cbm2::store::directory::{Actor, MemberStateChanges, NewPoc};
use cbm2::store::tokens::TokenOwner;

use crate::cli::cbm2;
use crate::email::{SENDER, SmtpSink};
use crate::helpers::{TestDb, on_both_databases};

on_both_databases!(
    a_sign_in_link_signs_in_once_and_only_once,
    a_link_never_returns_to_another_site,
    concurrent_redeems_of_one_link_start_exactly_one_session,
    a_link_works_for_15_minutes_and_not_a_moment_more,
    an_account_gets_at_most_5_links_in_15_minutes,
    concurrent_requests_for_links_get_5_in_all,
    an_address_no_active_account_has_gets_no_link,
    a_deactivated_poc_gets_no_link_and_its_sessions_stop,
    a_session_ends_after_12_idle_hours_or_7_days_whatever_its_use,
    signing_out_ends_only_ones_own_session_and_revokes_its_token,
    revoking_a_sessions_token_ends_the_session,
    a_poc_session_is_the_caller_its_token_would_be,
    a_staff_session_is_the_secretariat_until_the_account_is_removed,
    the_chosen_language_round_trips_and_is_the_links_language,
    a_session_secret_is_no_bearer_token,
    the_sessions_list_shows_the_working_ones_and_marks_the_current,
    expired_links_and_old_sessions_are_purged,
    staff_commands_add_list_and_remove_with_clear_errors,
    login_link_prints_a_link_per_account_or_says_there_is_none,
    the_sign_in_email_reaches_the_reader_in_their_language,
);

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

fn email(address: &str) -> EmailAddress {
    EmailAddress::parse(address).unwrap()
}

/// A fixed instant to count from, whole seconds (both databases keep it exactly).
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

async fn add_poc(
    store: &Store,
    state: &str,
    role: PocRole,
    address: &str,
    languages: &[&str],
) -> PocId {
    let poc = NewPoc {
        member_state: MemberStateCode::parse(state).unwrap(),
        name: PersonName::parse("Ana Souza").unwrap(),
        affiliation: Affiliation::parse("Ministry of Foreign Affairs").unwrap(),
        role,
        email: email(address),
        phone: None,
        languages: Languages::try_from(
            languages
                .iter()
                .map(|l| LanguageCode::parse(l).unwrap())
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    };
    PocId(
        store
            .create_poc(Actor::CommandLine, &poc, t0())
            .await
            .unwrap()
            .id,
    )
}

async fn add_staff(store: &Store, address: &str) -> uuid::Uuid {
    store
        .add_staff(
            Actor::CommandLine,
            &email(address),
            &PersonName::parse("Marta Ruiz").unwrap(),
            t0(),
        )
        .await
        .unwrap()
        .id
}

/// Signs `address`'s only account in at `at`.
async fn sign_in(store: &Store, address: &str, at: DateTime<Utc>) -> IssuedSession {
    let links = store
        .create_sign_in_links(&email(address), None, at)
        .await
        .unwrap();
    assert_eq!(links.len(), 1, "one account has {address}");
    store
        .redeem_sign_in_link(&links[0].secret, Some("Firefox"), at)
        .await
        .unwrap()
        .expect("a fresh link signs in")
}

async fn a_sign_in_link_signs_in_once_and_only_once(db: TestDb) {
    let store = open(&db).await;
    let poc = add_poc(&store, "BRA", PocRole::Policy, "ana@mre.gov.br", &["pt"]).await;
    let links = store
        .create_sign_in_links(&email("Ana@MRE.gov.br"), Some("/inquiries/abc"), t0())
        .await
        .unwrap();
    assert_eq!(links.len(), 1, "the address matches whatever its case");
    let link = &links[0];
    assert_eq!(link.account, Account::Poc(poc));
    assert_eq!(link.label, "Policy POC of Brazil (BRA)");
    assert_eq!(link.expires_at, t0() + minutes(15));

    let peeked = store
        .peek_sign_in_link(&link.secret, t0())
        .await
        .unwrap()
        .expect("peeking finds the link");
    assert_eq!(peeked.account, Account::Poc(poc));
    assert_eq!(peeked.return_to.as_deref(), Some("/inquiries/abc"));
    assert!(
        store
            .peek_sign_in_link(&link.secret, t0())
            .await
            .unwrap()
            .is_some(),
        "peeking does not use the link up"
    );

    let session = store
        .redeem_sign_in_link(&link.secret, Some("Firefox"), t0())
        .await
        .unwrap()
        .expect("the first redeem signs in");
    assert_eq!(session.return_to.as_deref(), Some("/inquiries/abc"));
    assert_eq!(session.expires_at, t0() + TimeDelta::days(7));
    assert!(
        store
            .redeem_sign_in_link(&link.secret, None, t0())
            .await
            .unwrap()
            .is_none(),
        "a used link signs nobody in"
    );
    assert!(
        store
            .peek_sign_in_link(&link.secret, t0())
            .await
            .unwrap()
            .is_none()
    );
    let caller = store
        .authenticate_session(&session.secret, t0())
        .await
        .unwrap()
        .expect("the session works");
    assert_eq!(caller.account, Account::Poc(poc));
    assert_eq!(caller.session_id, session.session_id);
    assert_eq!(caller.email, "ana@mre.gov.br");
    assert_eq!(caller.name, "Ana Souza");
    assert_eq!(caller.member_state.unwrap().as_str(), "BRA");
    assert!(!caller.csrf_token.is_empty());
    assert!(
        store
            .redeem_sign_in_link("not-a-link", None, t0())
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_link_never_returns_to_another_site(db: TestDb) {
    let store = open(&db).await;
    add_poc(
        &store,
        "ECU",
        PocRole::Policy,
        "ana@cancilleria.gob.ec",
        &["es"],
    )
    .await;
    for (asked, kept) in [
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/\\evil.example/", None),
        ("/inbox?side=incoming", Some("/inbox?side=incoming")),
    ] {
        let links = store
            .create_sign_in_links(&email("ana@cancilleria.gob.ec"), Some(asked), t0())
            .await
            .unwrap();
        let info = store
            .peek_sign_in_link(&links[0].secret, t0())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(info.return_to.as_deref(), kept, "{asked}");
    }
}

async fn concurrent_redeems_of_one_link_start_exactly_one_session(db: TestDb) {
    let store = open(&db).await;
    add_poc(&store, "CHL", PocRole::Policy, "jo@minrel.gob.cl", &["es"]).await;
    let links = store
        .create_sign_in_links(&email("jo@minrel.gob.cl"), None, t0())
        .await
        .unwrap();
    let secret = links[0].secret.clone();
    let redeems = (0..6).map(|_| {
        let store = store.clone();
        let secret = secret.clone();
        tokio::spawn(async move { store.redeem_sign_in_link(&secret, None, t0()).await })
    });
    let mut sessions = 0;
    for redeem in redeems.collect::<Vec<_>>() {
        if redeem.await.unwrap().unwrap().is_some() {
            sessions += 1;
        }
    }
    assert_eq!(sessions, 1);
    assert_eq!(db.count("SELECT count(*) FROM web_sessions").await, 1);
    assert_eq!(
        db.count("SELECT count(*) FROM tokens WHERE label = 'browser session'")
            .await,
        1,
        "the losers left no token behind"
    );
}

async fn a_link_works_for_15_minutes_and_not_a_moment_more(db: TestDb) {
    let store = open(&db).await;
    add_poc(&store, "MEX", PocRole::Policy, "luis@sre.gob.mx", &["es"]).await;
    let links = store
        .create_sign_in_links(&email("luis@sre.gob.mx"), None, t0())
        .await
        .unwrap();
    let secret = &links[0].secret;
    let almost = t0() + minutes(15) - TimeDelta::seconds(1);
    assert!(
        store
            .peek_sign_in_link(secret, almost)
            .await
            .unwrap()
            .is_some()
    );
    let expired = t0() + minutes(15);
    assert!(
        store
            .peek_sign_in_link(secret, expired)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .redeem_sign_in_link(secret, None, expired)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .redeem_sign_in_link(secret, None, almost)
            .await
            .unwrap()
            .is_some(),
        "the refused late redeem did not use the link up"
    );
}

async fn an_account_gets_at_most_5_links_in_15_minutes(db: TestDb) {
    let store = open(&db).await;
    add_poc(&store, "CAN", PocRole::Policy, "jo@gc.ca", &["fr"]).await;
    let address = email("jo@gc.ca");
    for i in 0..5 {
        let links = store
            .create_sign_in_links(&address, None, t0() + TimeDelta::seconds(i))
            .await
            .unwrap();
        assert_eq!(links.len(), 1, "link {}", i + 1);
    }
    let sixth = store
        .create_sign_in_links(&address, None, t0() + minutes(14))
        .await
        .unwrap();
    assert!(
        sixth.is_empty(),
        "a sixth link within 15 minutes is not made"
    );
    assert_eq!(db.count("SELECT count(*) FROM sign_in_links").await, 5);
    let later = store
        .create_sign_in_links(&address, None, t0() + minutes(15) + TimeDelta::seconds(5))
        .await
        .unwrap();
    assert_eq!(
        later.len(),
        1,
        "once the first ones are 15 minutes old, links come again"
    );
}

async fn concurrent_requests_for_links_get_5_in_all(db: TestDb) {
    let store = open(&db).await;
    add_poc(&store, "GTM", PocRole::Policy, "ana@minex.gob.gt", &["es"]).await;
    let requests = (0..10).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .create_sign_in_links(&email("ana@minex.gob.gt"), None, t0())
                .await
        })
    });
    let mut issued = 0;
    for request in requests.collect::<Vec<_>>() {
        issued += request.await.unwrap().unwrap().len();
    }
    assert_eq!(issued, 5);
    assert_eq!(db.count("SELECT count(*) FROM sign_in_links").await, 5);
}

async fn an_address_no_active_account_has_gets_no_link(db: TestDb) {
    let store = open(&db).await;
    add_poc(&store, "PER", PocRole::Policy, "rosa@rree.gob.pe", &["es"]).await;
    let links = store
        .create_sign_in_links(&email("nobody@rree.gob.pe"), None, t0())
        .await
        .unwrap();
    assert!(links.is_empty());
    assert_eq!(db.count("SELECT count(*) FROM sign_in_links").await, 0);
}

async fn a_deactivated_poc_gets_no_link_and_its_sessions_stop(db: TestDb) {
    let store = open(&db).await;
    let poc = add_poc(&store, "URY", PocRole::Policy, "ines@mrree.gub.uy", &["es"]).await;
    let session = sign_in(&store, "ines@mrree.gub.uy", t0()).await;
    let pending = store
        .create_sign_in_links(&email("ines@mrree.gub.uy"), None, t0())
        .await
        .unwrap();
    store
        .deactivate_poc(Actor::CommandLine, poc.0, t0() + minutes(1))
        .await
        .unwrap();
    let at = t0() + minutes(2);
    assert!(
        store
            .authenticate_session(&session.secret, at)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .create_sign_in_links(&email("ines@mrree.gub.uy"), None, at)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .peek_sign_in_link(&pending[0].secret, at)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .redeem_sign_in_link(&pending[0].secret, None, at)
            .await
            .unwrap()
            .is_none(),
        "a link sent before the deactivation no longer signs in"
    );
}

async fn a_session_ends_after_12_idle_hours_or_7_days_whatever_its_use(db: TestDb) {
    let store = open(&db).await;
    add_poc(
        &store,
        "COL",
        PocRole::Policy,
        "ana@cancilleria.gov.co",
        &["es"],
    )
    .await;
    let idle = sign_in(&store, "ana@cancilleria.gov.co", t0()).await;
    let hours = TimeDelta::hours;
    assert!(
        store
            .authenticate_session(&idle.secret, t0() + hours(12) - minutes(1))
            .await
            .unwrap()
            .is_some(),
        "11 h 59 min idle still works (and counts as use)"
    );
    let from = t0() + hours(12) - minutes(1);
    assert!(
        store
            .authenticate_session(&idle.secret, from + hours(12))
            .await
            .unwrap()
            .is_none(),
        "12 h idle has ended it"
    );

    let busy = store
        .redeem_sign_in_link(
            &store
                .create_sign_in_links(&email("ana@cancilleria.gov.co"), None, t0())
                .await
                .unwrap()[0]
                .secret,
            None,
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    // Used every 11 hours, it lives until its seventh day, then ends.
    let mut at = t0();
    while at + hours(11) < t0() + TimeDelta::days(7) {
        at += hours(11);
        assert!(
            store
                .authenticate_session(&busy.secret, at)
                .await
                .unwrap()
                .is_some(),
            "in use at {at}"
        );
    }
    assert!(
        store
            .authenticate_session(&busy.secret, t0() + TimeDelta::days(7))
            .await
            .unwrap()
            .is_none(),
        "7 days after it started, however busy"
    );
}

async fn signing_out_ends_only_ones_own_session_and_revokes_its_token(db: TestDb) {
    let store = open(&db).await;
    let ana = add_poc(
        &store,
        "ARG",
        PocRole::Policy,
        "ana@cancilleria.gob.ar",
        &["es"],
    )
    .await;
    let other = add_poc(&store, "BOL", PocRole::Policy, "eva@rree.gob.bo", &["es"]).await;
    let session = sign_in(&store, "ana@cancilleria.gob.ar", t0()).await;
    let token_id = store
        .authenticate_session(&session.secret, t0())
        .await
        .unwrap()
        .unwrap()
        .caller
        .token_id;
    assert!(
        !store
            .end_session(&Account::Poc(other), session.session_id, t0())
            .await
            .unwrap(),
        "another account cannot end it"
    );
    assert!(
        store
            .authenticate_session(&session.secret, t0())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .end_session(&Account::Poc(ana), session.session_id, t0() + minutes(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .authenticate_session(&session.secret, t0() + minutes(1))
            .await
            .unwrap()
            .is_none()
    );
    let token = store.get_token(token_id).await.unwrap().unwrap();
    assert_eq!(token.revoked_at, Some(t0() + minutes(1)));
    assert!(
        !store
            .end_session(&Account::Poc(ana), session.session_id, t0() + minutes(2))
            .await
            .unwrap(),
        "an ended session ends once"
    );
}

async fn revoking_a_sessions_token_ends_the_session(db: TestDb) {
    let store = open(&db).await;
    add_poc(&store, "JAM", PocRole::Policy, "kay@mfaft.gov.jm", &["en"]).await;
    let session = sign_in(&store, "kay@mfaft.gov.jm", t0()).await;
    let caller = store
        .authenticate_session(&session.secret, t0() + TimeDelta::seconds(90))
        .await
        .unwrap()
        .unwrap();
    let token = store
        .get_token(caller.caller.token_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.label.as_deref(), Some(SESSION_TOKEN_LABEL));
    assert_eq!(token.kind, "poc");
    assert_eq!(
        token.last_used_at,
        Some(t0() + TimeDelta::seconds(90)),
        "its token says when the session was last used"
    );
    assert!(
        store
            .revoke_token(Actor::CommandLine, token.id, t0() + minutes(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .authenticate_session(&session.secret, t0() + minutes(2))
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_poc_session_is_the_caller_its_token_would_be(db: TestDb) {
    let store = open(&db).await;
    let poc = add_poc(&store, "BRA", PocRole::Technical, "cert@cert.br", &["pt"]).await;
    let token = store
        .create_token(Actor::CommandLine, TokenOwner::Poc(poc), None, t0())
        .await
        .unwrap();
    let session = sign_in(&store, "cert@cert.br", t0()).await;
    let by_token = store
        .authenticate(&token.secret, t0())
        .await
        .unwrap()
        .unwrap();
    let by_session = store
        .authenticate_session(&session.secret, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_session.caller.principal, by_token.principal);
    assert!(matches!(
        by_session.caller.principal,
        Principal::Poc {
            role: PocRole::Technical,
            participating: true,
            ..
        }
    ));
    assert_ne!(
        by_session.caller.token_id, by_token.token_id,
        "its own token"
    );

    let brazil = MemberStateCode::parse("BRA").unwrap();
    let leaves = MemberStateChanges {
        participating: Some(false),
        ..MemberStateChanges::default()
    };
    store
        .update_member_state(Actor::CommandLine, &brazil, &leaves, t0())
        .await
        .unwrap();
    let by_session = store
        .authenticate_session(&session.secret, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        by_session.caller.principal,
        store
            .authenticate(&token.secret, t0())
            .await
            .unwrap()
            .unwrap()
            .principal
    );
    assert!(matches!(
        by_session.caller.principal,
        Principal::Poc {
            participating: false,
            ..
        }
    ));
}

async fn a_staff_session_is_the_secretariat_until_the_account_is_removed(db: TestDb) {
    let store = open(&db).await;
    let staff = add_staff(&store, "mruiz@oas.org").await;
    let session = sign_in(&store, "MRuiz@oas.org", t0()).await;
    let caller = store
        .authenticate_session(&session.secret, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(caller.caller.principal, Principal::Secretariat);
    assert_eq!(caller.account, Account::Staff(staff));
    assert_eq!(caller.member_state, None);
    assert_eq!(caller.name, "Marta Ruiz");
    assert_eq!(
        store
            .get_token(caller.caller.token_id)
            .await
            .unwrap()
            .unwrap()
            .kind,
        "secretariat"
    );
    assert!(matches!(
        store
            .add_staff(
                Actor::CommandLine,
                &email("MRUIZ@oas.org"),
                &PersonName::parse("Other").unwrap(),
                t0()
            )
            .await,
        Err(AccountError::DuplicateEmail(_))
    ));

    let removed = store
        .remove_staff(
            Actor::CommandLine,
            StaffKey::Email(&email("mruiz@OAS.org")),
            t0(),
        )
        .await
        .unwrap()
        .expect("the account is removed");
    assert_eq!(removed.id, staff);
    assert!(
        store
            .authenticate_session(&session.secret, t0())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_token(caller.caller.token_id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some(),
        "its sessions' tokens are revoked"
    );
    assert!(
        store
            .create_sign_in_links(&email("mruiz@oas.org"), None, t0())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .remove_staff(Actor::CommandLine, StaffKey::Id(staff), t0())
            .await
            .unwrap()
            .is_none(),
        "removed once"
    );
    assert_eq!(store.list_staff(false).await.unwrap().len(), 0);
    assert_eq!(store.list_staff(true).await.unwrap().len(), 1);
    // The address may be given to a new account.
    add_staff(&store, "mruiz@oas.org").await;
    let events = db
        .fetch_strings("SELECT type FROM directory_events WHERE type LIKE 'staff_%' ORDER BY seq")
        .await;
    assert_eq!(events, ["staff_added", "staff_removed", "staff_added"]);
}

async fn the_chosen_language_round_trips_and_is_the_links_language(db: TestDb) {
    let store = open(&db).await;
    let poc = add_poc(
        &store,
        "HTI",
        PocRole::Policy,
        "jean@mae.gouv.ht",
        &["ht", "fr"],
    )
    .await;
    let staff = add_staff(&store, "ops@oas.org").await;
    let link_language = async |address: &str, at| {
        store
            .create_sign_in_links(&email(address), None, at)
            .await
            .unwrap()[0]
            .language
    };
    assert_eq!(
        link_language("jean@mae.gouv.ht", t0()).await,
        Language::Fr,
        "the POC's first OAS language"
    );
    assert_eq!(link_language("ops@oas.org", t0()).await, Language::En);

    let account = Account::Poc(poc);
    store
        .set_language_preference(&account, Some(Language::Es))
        .await
        .unwrap();
    assert_eq!(
        store.language_preference(&account).await.unwrap(),
        Some(Language::Es)
    );
    assert_eq!(link_language("jean@mae.gouv.ht", t0()).await, Language::Es);
    store
        .set_language_preference(&account, Some(Language::Pt))
        .await
        .unwrap();
    let session = sign_in(&store, "jean@mae.gouv.ht", t0()).await;
    let caller = store
        .authenticate_session(&session.secret, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(caller.language, Some(Language::Pt));
    store.set_language_preference(&account, None).await.unwrap();
    assert_eq!(store.language_preference(&account).await.unwrap(), None);
    assert_eq!(link_language("jean@mae.gouv.ht", t0()).await, Language::Fr);

    let staff = Account::Staff(staff);
    store
        .set_language_preference(&staff, Some(Language::Fr))
        .await
        .unwrap();
    assert_eq!(
        store.language_preference(&staff).await.unwrap(),
        Some(Language::Fr)
    );
    assert_eq!(
        store.language_preference(&account).await.unwrap(),
        None,
        "one person's choice is theirs alone"
    );
}

async fn a_session_secret_is_no_bearer_token(db: TestDb) {
    let store = open(&db).await;
    add_staff(&store, "ops@oas.org").await;
    let session = sign_in(&store, "ops@oas.org", t0()).await;
    let caller = store
        .authenticate_session(&session.secret, t0())
        .await
        .unwrap()
        .unwrap();
    for presented in [session.secret.clone(), format!("cbm2_{}", session.secret)] {
        assert!(
            store
                .authenticate(&presented, t0())
                .await
                .unwrap()
                .is_none()
        );
        let hash = hex::encode(Sha256::digest(presented.as_bytes()));
        let token_hash = db
            .fetch_strings(&format!(
                "SELECT token_hash FROM tokens WHERE id = {}",
                db.uuid_literal(&caller.caller.token_id.to_string())
            ))
            .await;
        assert_eq!(token_hash.len(), 1);
        assert_ne!(token_hash[0], hash);
    }
}

async fn the_sessions_list_shows_the_working_ones_and_marks_the_current(db: TestDb) {
    let store = open(&db).await;
    let poc = add_poc(&store, "PAN", PocRole::Policy, "ana@mire.gob.pa", &["es"]).await;
    let first = sign_in(&store, "ana@mire.gob.pa", t0()).await;
    let second = sign_in(&store, "ana@mire.gob.pa", t0() + minutes(1)).await;
    let ended = sign_in(&store, "ana@mire.gob.pa", t0() + minutes(2)).await;
    let account = Account::Poc(poc);
    store
        .end_session(&account, ended.session_id, t0() + minutes(3))
        .await
        .unwrap();
    let sessions = store
        .list_sessions(&account, Some(second.session_id), t0() + minutes(4))
        .await
        .unwrap();
    let ids: Vec<_> = sessions.iter().map(|s| (s.id, s.current)).collect();
    assert_eq!(ids, [(second.session_id, true), (first.session_id, false)]);
    assert_eq!(sessions[0].user_agent.as_deref(), Some("Firefox"));
    assert!(
        store
            .list_sessions(&account, None, t0() + TimeDelta::hours(13))
            .await
            .unwrap()
            .is_empty(),
        "idle ones are gone"
    );
}

async fn expired_links_and_old_sessions_are_purged(db: TestDb) {
    let store = open(&db).await;
    add_poc(&store, "SLV", PocRole::Policy, "ana@rree.gob.sv", &["es"]).await;
    sign_in(&store, "ana@rree.gob.sv", t0()).await;
    store
        .create_sign_in_links(&email("ana@rree.gob.sv"), None, t0() + minutes(10))
        .await
        .unwrap();
    let purged = store
        .purge_expired_sign_in(t0() + minutes(20))
        .await
        .unwrap();
    assert_eq!(
        (purged.links, purged.sessions),
        (1, 0),
        "the younger link stays"
    );
    let purged = store
        .purge_expired_sign_in(t0() + TimeDelta::days(40))
        .await
        .unwrap();
    assert_eq!((purged.links, purged.sessions), (1, 1));
    assert_eq!(
        db.count("SELECT count(*) FROM tokens WHERE label = 'browser session'")
            .await,
        1,
        "the session's token stays: events may name it"
    );
}

async fn staff_commands_add_list_and_remove_with_clear_errors(db: TestDb) {
    let (code, _, stderr) = cbm2(&db.url, &["migrate"]).await;
    assert_eq!(code, 0, "{stderr}");
    let add = [
        "staff",
        "add",
        "--email",
        "mruiz@oas.org",
        "--name",
        "Marta Ruiz",
    ];
    let (code, stdout, stderr) = cbm2(&db.url, &add).await;
    assert_eq!(code, 0, "{stderr}");
    let id = stdout.trim().to_owned();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "prints the id alone: {stdout:?}"
    );

    let (code, _, stderr) = cbm2(
        &db.url,
        &[
            "staff",
            "add",
            "--email",
            "MRuiz@oas.org",
            "--name",
            "M. Ruiz",
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("an active staff account already has the e-mail address MRuiz@oas.org"),
        "{stderr}"
    );
    let (code, _, stderr) = cbm2(
        &db.url,
        &["staff", "add", "--email", "not-an-address", "--name", "X"],
    )
    .await;
    assert_eq!(code, 2, "clap refuses it: {stderr}");
    assert!(stderr.contains("--email"), "{stderr}");

    let (code, stdout, _) = cbm2(&db.url, &["staff", "list"]).await;
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains("mruiz@oas.org") && stdout.contains("Marta Ruiz"));
    assert!(stdout.contains("active") && stdout.contains(&id));

    let (code, _, stderr) = cbm2(&db.url, &["staff", "remove", "nobody@oas.org"]).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no active staff account is nobody@oas.org"),
        "{stderr}"
    );
    let (code, _, stderr) = cbm2(&db.url, &["staff", "remove", "neither"]).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("an account's id (a UUID) or its e-mail address"),
        "{stderr}"
    );
    let (code, _, stderr) = cbm2(&db.url, &["staff", "remove", &id]).await;
    assert_eq!(code, 0, "{stderr}");

    let (_, stdout, _) = cbm2(&db.url, &["staff", "list"]).await;
    assert_eq!(
        stdout.lines().count(),
        1,
        "removed accounts are hidden: {stdout}"
    );
    let (_, stdout, _) = cbm2(&db.url, &["staff", "list", "--all"]).await;
    assert!(
        stdout.contains("removed") && stdout.contains(&id),
        "{stdout}"
    );
}

async fn login_link_prints_a_link_per_account_or_says_there_is_none(db: TestDb) {
    let store = open(&db).await;
    // One person, two roles under one address: two links.
    add_poc(&store, "BRA", PocRole::Policy, "ana@mre.gov.br", &["pt"]).await;
    add_poc(&store, "BRA", PocRole::Mfa, "ana@mre.gov.br", &["pt"]).await;
    store.close().await;
    let url = "https://cbm2.example.org/";
    let (code, stdout, stderr) = cbm2(
        &db.url,
        &[
            "login-link",
            "--email",
            "ana@mre.gov.br",
            "--return-to",
            "/inquiries/0193",
            "--public-url",
            url,
        ],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("Policy POC of Brazil (BRA)")),
        "{stdout}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with("MFA POC of Brazil (BRA)")),
        "{stdout}"
    );
    let store = open(&db).await;
    for line in lines {
        let link = line.split_whitespace().next().unwrap();
        let secret = link
            .strip_prefix("https://cbm2.example.org/sign-in/")
            .unwrap_or_else(|| panic!("{link} is under the public URL"));
        let info = store
            .peek_sign_in_link(secret, clock::now())
            .await
            .unwrap()
            .expect("the printed link works");
        assert_eq!(info.return_to.as_deref(), Some("/inquiries/0193"));
    }
    store.close().await;

    let (code, stdout, stderr) =
        cbm2(&db.url, &["login-link", "--email", "nobody@mre.gov.br"]).await;
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("no active POC or staff account has the e-mail address nobody@mre.gov.br"),
        "{stderr}"
    );
    for (bad, why) in [
        ("https://evil.example/", "starting with \"/\""),
        ("//evil.example/", "must not start with \"//\""),
    ] {
        let (code, _, stderr) = cbm2(
            &db.url,
            &[
                "login-link",
                "--email",
                "ana@mre.gov.br",
                "--return-to",
                bad,
            ],
        )
        .await;
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("--return-to") && stderr.contains(why),
            "{stderr}"
        );
    }
}

async fn the_sign_in_email_reaches_the_reader_in_their_language(db: TestDb) {
    let sink = SmtpSink::start(0);
    let store = open(&db).await;
    add_poc(
        &store,
        "BRA",
        PocRole::Policy,
        "ana@mre.gov.br",
        &["pt", "en"],
    )
    .await;
    let links = store
        .create_sign_in_links(&email("ana@mre.gov.br"), None, clock::now())
        .await
        .unwrap();
    let mailer = Mailer::new(&sink.url(), SENDER).unwrap();
    send_sign_in_mail(
        &mailer,
        &email("ana@mre.gov.br"),
        &links,
        "https://cbm2.example.org",
    )
    .await
    .expect("the relay takes it");
    let mail = sink
        .message_to("ana@mre.gov.br", "cbm2: seu link de acesso")
        .await;
    let link = format!("https://cbm2.example.org/sign-in/{}", links[0].secret);
    mail.assert_holds(&[
        &link,
        "Ponto de contato de nível político do Brasil",
        "uma única vez, nos 15 minutos",
        "ignore este e-mail",
    ]);
}
