-- The transactional outbox and the disclosure ledger (P4, P15). Mirrors
-- migrations/sqlite/0007_outbox.sql. Replaces `partner_notices` (never delivered from).

DROP TABLE partner_notices;

CREATE TABLE outbox (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT COLLATE "C" NOT NULL UNIQUE,
    partner         TEXT COLLATE "C" NOT NULL,
    customer_id     TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    kind            TEXT NOT NULL,
    idempotency_key TEXT COLLATE "C" NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    consent_id      TEXT COLLATE "C",
    fields          TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    key_version     BIGINT NOT NULL,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'dropped')),
    attempts        BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    lease_ms        BIGINT,
    last_error      TEXT,
    delivered_at    TEXT,
    UNIQUE (partner, idempotency_key)
);

CREATE INDEX outbox_due ON outbox (status, next_attempt_ms, seq);
CREATE INDEX outbox_by_customer ON outbox (customer_id, seq);

CREATE TABLE disclosures (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  TEXT COLLATE "C" NOT NULL UNIQUE,
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    recipient   TEXT NOT NULL,
    categories  TEXT NOT NULL,
    fields      TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    consent_id  TEXT COLLATE "C",
    at          TEXT NOT NULL,
    digest      TEXT NOT NULL
);

CREATE INDEX disclosures_by_customer ON disclosures (customer_id, seq);

CREATE TRIGGER disclosures_append_only BEFORE UPDATE OR DELETE ON disclosures
    FOR EACH ROW EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER disclosures_no_truncate BEFORE TRUNCATE ON disclosures
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();
