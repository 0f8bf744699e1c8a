-- Consent: one append-only history per customer, one entry per change of one purpose's
-- consent. The latest entry per (customer, purpose) is the consent as it stands. What is
-- personal in an entry (user agent, truncated address, a representative's name) is in
-- `evidence_sealed`, sealed under the customer's data key: erasure destroys the key, so the
-- entries stay (they prove what was agreed, under an opaque id) but say nothing of the person.

CREATE TABLE consent_events (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    customer_id          TEXT NOT NULL REFERENCES customers (id),
    purpose              TEXT NOT NULL,
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
    gpc                  INTEGER NOT NULL,
    evidence_sealed      BLOB,
    evidence_key_version INTEGER
) STRICT;

CREATE INDEX consent_events_by_customer ON consent_events (customer_id, purpose, seq);

CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN SELECT RAISE(ABORT, 'the consent history is append-only'); END;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
BEGIN SELECT RAISE(ABORT, 'the consent history is append-only'); END;

-- Notices owed to partners (a withdrawal, so far), until the outbox delivers them.
CREATE TABLE partner_notices (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    partner     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    consent_id  TEXT NOT NULL REFERENCES consent_events (id),
    at          TEXT NOT NULL,
    status      TEXT NOT NULL
) STRICT;

CREATE INDEX partner_notices_by_customer ON partner_notices (customer_id, seq);
CREATE INDEX partner_notices_pending ON partner_notices (status, seq);
