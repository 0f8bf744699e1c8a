-- Care sessions, and customers' own credentials. No secret is here in the clear: one-time
-- codes are HMACs under the code key (kept outside this database), passwords Argon2id
-- hashes, session tokens SHA-256 digests. An erased customer's rows are purged.
--
-- Mirrors migrations/sqlite/0004_care.sql; ids sort byte by byte ("C") as in SQLite.

CREATE TABLE care_sessions (
    id              TEXT COLLATE "C" PRIMARY KEY,
    staff_user      TEXT COLLATE "C" NOT NULL,
    customer_id     TEXT COLLATE "C" NOT NULL,
    channel         TEXT NOT NULL,
    code_digest     BYTEA NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    code_expires_at TEXT NOT NULL,
    verified_at     TEXT,
    active_until    TEXT,
    closed_at       TEXT
);

-- Asked on every decision made for a care agent about a customer.
CREATE INDEX care_sessions_by_agent ON care_sessions (staff_user, customer_id);
CREATE INDEX care_sessions_by_customer ON care_sessions (customer_id);

-- At most one pending sign-in code per customer.
CREATE TABLE customer_codes (
    customer_id TEXT COLLATE "C" PRIMARY KEY,
    code_digest BYTEA NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    expires_at  TEXT NOT NULL
);

CREATE TABLE customer_passwords (
    customer_id     TEXT COLLATE "C" PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    failed_sign_ins BIGINT NOT NULL DEFAULT 0,
    locked_until    TEXT
);

CREATE TABLE customer_sessions (
    digest       TEXT COLLATE "C" PRIMARY KEY,
    customer_id  TEXT COLLATE "C" NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

CREATE INDEX customer_sessions_by_customer ON customer_sessions (customer_id);
