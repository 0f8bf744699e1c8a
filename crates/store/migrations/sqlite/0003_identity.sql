-- Who may act: staff users, their sessions, integrations' API tokens, and the identity
-- events. No secret is here in the clear: passwords are Argon2id hashes, TOTP secrets are
-- sealed under the identity key (kept outside this database), session and API tokens are
-- SHA-256 digests.

CREATE TABLE staff_users (
    id                   TEXT PRIMARY KEY,
    login                TEXT NOT NULL,
    -- The login in lower case: unique, and what sign-in looks up.
    login_key            TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    failed_sign_ins      INTEGER NOT NULL DEFAULT 0,
    locked_until         TEXT,
    totp_sealed          BLOB,
    totp_active          INTEGER NOT NULL DEFAULT 0,
    totp_last_step       INTEGER,
    created_at           TEXT NOT NULL,
    last_sign_in_at      TEXT
) STRICT;

CREATE TABLE staff_sessions (
    digest       TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES staff_users (id),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) STRICT;

CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);

-- A scope's lists are the policy's ids separated by spaces; `purposes` NULL is every purpose.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    digest       TEXT NOT NULL UNIQUE,
    operations   TEXT NOT NULL,
    purposes     TEXT,
    restricted   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;

-- Changes to who may act, and sign-in outcomes. Users are named by id, never by login.
CREATE TABLE identity_events (
    seq      INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    action   TEXT NOT NULL,
    user_id  TEXT,
    token_id TEXT,
    detail   TEXT
) STRICT;

CREATE TRIGGER identity_events_no_update BEFORE UPDATE ON identity_events
BEGIN SELECT RAISE(ABORT, 'identity events are append-only'); END;
CREATE TRIGGER identity_events_no_delete BEFORE DELETE ON identity_events
BEGIN SELECT RAISE(ABORT, 'identity events are append-only'); END;
