-- Consent: one append-only history per customer, one entry per change of one purpose's
-- consent. Mirrors migrations/sqlite/0005_consent.sql: the latest entry per (customer,
-- purpose) is the consent as it stands; what is personal in an entry is sealed under the
-- customer's data key (`evidence_sealed`), so erasure leaves the entries saying nothing of
-- the person.

CREATE TABLE consent_events (
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                   TEXT COLLATE "C" NOT NULL UNIQUE,
    customer_id          TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    purpose              TEXT COLLATE "C" NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('granted', 'denied')),
    at                   TEXT NOT NULL,
    notice_version       TEXT NOT NULL,
    notice_hash          TEXT NOT NULL,
    channel              TEXT NOT NULL,
    recording_id         TEXT,
    given_by             TEXT NOT NULL,
    recorded_by          TEXT NOT NULL,
    options              TEXT NOT NULL,
    terms                TEXT NOT NULL,
    request_id           TEXT,
    gpc                  BOOLEAN NOT NULL,
    evidence_sealed      BYTEA,
    evidence_key_version BIGINT
);

CREATE INDEX consent_events_by_customer ON consent_events (customer_id, purpose, seq);

CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();

-- Notices owed to partners (a withdrawal, so far), until the outbox delivers them.
CREATE TABLE partner_notices (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT COLLATE "C" NOT NULL UNIQUE,
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    partner     TEXT COLLATE "C" NOT NULL,
    kind        TEXT NOT NULL,
    consent_id  TEXT COLLATE "C" NOT NULL REFERENCES consent_events (id),
    at          TEXT NOT NULL,
    status      TEXT NOT NULL
);

CREATE INDEX partner_notices_by_customer ON partner_notices (customer_id, seq);
CREATE INDEX partner_notices_pending ON partner_notices (status, seq);
