-- Who may act: staff users, their sessions, integrations' API tokens, and the identity
-- events. No secret is here in the clear: passwords are Argon2id hashes, TOTP secrets are
-- sealed under the identity key (kept outside this database), session and API tokens are
-- SHA-256 digests.
--
-- Mirrors migrations/sqlite/0003_identity.sql; ids sort byte by byte ("C") as in SQLite.

CREATE TABLE staff_users (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    login                TEXT NOT NULL,
    -- The login in lower case: unique, and what sign-in looks up.
    login_key            TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    failed_sign_ins      BIGINT NOT NULL DEFAULT 0,
    locked_until         TEXT,
    totp_sealed          BYTEA,
    totp_active          BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step       BIGINT,
    created_at           TEXT NOT NULL,
    last_sign_in_at      TEXT
);

CREATE TABLE staff_sessions (
    digest       TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES staff_users (id),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);

-- A scope's lists are the policy's ids separated by spaces; `purposes` NULL is every purpose.
CREATE TABLE api_tokens (
    id           TEXT COLLATE "C" PRIMARY KEY,
    name         TEXT NOT NULL,
    digest       TEXT COLLATE "C" NOT NULL UNIQUE,
    operations   TEXT NOT NULL,
    purposes     TEXT,
    restricted   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- Changes to who may act, and sign-in outcomes. Users are named by id, never by login.
CREATE TABLE identity_events (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       TEXT NOT NULL,
    action   TEXT NOT NULL,
    user_id  TEXT,
    token_id TEXT,
    detail   TEXT
);

CREATE TRIGGER identity_events_append_only BEFORE UPDATE OR DELETE ON identity_events
    FOR EACH ROW EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER identity_events_no_truncate BEFORE TRUNCATE ON identity_events
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();
