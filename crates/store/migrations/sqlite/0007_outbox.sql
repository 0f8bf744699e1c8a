-- The transactional outbox and the disclosure ledger (P4, P15). Replaces `partner_notices`
-- (withdrawal notices, never delivered from): a withdrawal now queues an outbox message of
-- kind `consent.withdrawn`.

DROP TABLE partner_notices;

-- Messages to partners, committed with the change that causes them. `payload` is the JSON
-- body sealed under the customer's data key; nothing else here is personal. Times compared
-- by the claim are integers (Unix milliseconds).
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    partner         TEXT NOT NULL,
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    consent_id      TEXT,
    fields          TEXT NOT NULL,
    payload         BLOB NOT NULL,
    key_version     INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'dropped')),
    attempts        INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    lease_ms        INTEGER,
    last_error      TEXT,
    delivered_at    TEXT,
    UNIQUE (partner, idempotency_key)
) STRICT;

CREATE INDEX outbox_due ON outbox (status, next_attempt_ms, seq);
CREATE INDEX outbox_by_customer ON outbox (customer_id, seq);

-- The disclosure ledger: every release outside the company, one entry per message
-- delivered. Append-only; names recipients, categories, fields, purpose, legal basis, the
-- consent relied on and a digest of what was sent — never a value.
CREATE TABLE disclosures (
    seq         INTEGER PRIMARY KEY,
    message_id  TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    recipient   TEXT NOT NULL,
    categories  TEXT NOT NULL,
    fields      TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    consent_id  TEXT,
    at          TEXT NOT NULL,
    digest      TEXT NOT NULL
) STRICT;

CREATE INDEX disclosures_by_customer ON disclosures (customer_id, seq);

CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures
BEGIN SELECT RAISE(ABORT, 'the disclosure ledger is append-only'); END;
CREATE TRIGGER disclosures_no_delete BEFORE DELETE ON disclosures
BEGIN SELECT RAISE(ABORT, 'the disclosure ledger is append-only'); END;
