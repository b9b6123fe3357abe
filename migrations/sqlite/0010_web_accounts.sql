-- cbm2 0010: the web UI's accounts. Secretariat staff who sign in with their e-mail
-- address, single-use sign-in links, browser sessions and each person's UI language.
-- Kept in lockstep with ../postgres/0010_web_accounts.sql.
--
-- A POC signs in with the e-mail address the directory holds for it (pocs.email); the
-- Secretariat's people are not in the directory, so they have their own accounts here.

CREATE TABLE staff_accounts (
    id         BLOB PRIMARY KEY CHECK (length(id) = 16),
    -- Where sign-in links are sent: the account is this address.
    email      TEXT NOT NULL CHECK (email <> ''),
    name       TEXT NOT NULL CHECK (name <> ''),
    created_at TEXT NOT NULL,
    -- A removed account stays (the log names it) but can no longer sign in; its sessions
    -- end when it is removed.
    removed_at TEXT
);
-- One active account per address, whatever its case: a sign-in link for an address must
-- name one person. A removed account's address may be given to a new one.
CREATE UNIQUE INDEX staff_accounts_one_active_per_email
    ON staff_accounts (lower(email)) WHERE removed_at IS NULL;

CREATE TABLE sign_in_links (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    -- Hex SHA-256 of the link's secret: the secret is only in the e-mail (or printed once
    -- by `cbm2 login-link`), never stored.
    secret_hash TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
    -- Whom the link signs in: a POC or a staff account, exactly one.
    poc_id      BLOB REFERENCES pocs (id),
    staff_id    BLOB REFERENCES staff_accounts (id),
    -- The local path (starting with one "/") to show after signing in, if one was asked.
    return_to   TEXT CHECK (return_to IS NULL OR (substr(return_to, 1, 1) = '/'
                                                  AND substr(return_to, 1, 2) <> '//')),
    -- Also what the rate limit counts: links per account in the last 15 minutes.
    created_at  TEXT NOT NULL,
    -- created_at + 15 minutes: a link in a mailbox is worth little for long.
    expires_at  TEXT NOT NULL,
    -- Set when the link is redeemed: a link signs in once.
    used_at     TEXT,
    CHECK ((poc_id IS NULL) <> (staff_id IS NULL))
);
CREATE INDEX sign_in_links_by_poc ON sign_in_links (poc_id, created_at);
CREATE INDEX sign_in_links_by_staff ON sign_in_links (staff_id, created_at);
CREATE INDEX sign_in_links_by_expiry ON sign_in_links (expires_at);

CREATE TABLE web_sessions (
    id           BLOB PRIMARY KEY CHECK (length(id) = 16),
    -- Hex SHA-256 of the cookie's secret, which is never stored.
    secret_hash  TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
    -- A token created for the session (label "browser session", its secret thrown away):
    -- what a session does is recorded, as an API call is, under a token id (events,
    -- directory events, communication checks). Revoking it ends the session.
    token_id     BLOB NOT NULL REFERENCES tokens (id),
    -- Who is signed in: a POC or a staff account, exactly one.
    poc_id       BLOB REFERENCES pocs (id),
    staff_id     BLOB REFERENCES staff_accounts (id),
    -- Sent back with every form (double submit): a page of another site cannot know it.
    csrf_token   TEXT NOT NULL CHECK (csrf_token <> ''),
    created_at   TEXT NOT NULL,
    -- Updated at most once a minute; a session idle for 12 hours has ended.
    last_seen_at TEXT NOT NULL,
    -- created_at + 7 days, whatever the activity: sign in again after that.
    expires_at   TEXT NOT NULL,
    -- Set when the person signs out (or the session is ended from another one).
    ended_at     TEXT,
    -- The browser's User-Agent (at most 200 characters), so a person can tell their
    -- sessions apart in the list.
    user_agent   TEXT,
    CHECK ((poc_id IS NULL) <> (staff_id IS NULL))
);
CREATE INDEX web_sessions_by_poc ON web_sessions (poc_id) WHERE ended_at IS NULL;
CREATE INDEX web_sessions_by_staff ON web_sessions (staff_id) WHERE ended_at IS NULL;
CREATE INDEX web_sessions_by_token ON web_sessions (token_id);

-- The UI language a person chose (en, es, fr, pt); without a row the page follows the
-- browser's Accept-Language, and e-mails the POC's first OAS language.
CREATE TABLE account_preferences (
    poc_id   BLOB UNIQUE REFERENCES pocs (id),
    staff_id BLOB UNIQUE REFERENCES staff_accounts (id),
    language TEXT NOT NULL CHECK (language IN ('en', 'es', 'fr', 'pt')),
    CHECK ((poc_id IS NULL) <> (staff_id IS NULL))
);
