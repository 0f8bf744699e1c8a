-- Erasure (P1, issue 7 §3). Mirrors migrations/sqlite/0011_erasure.sql.

ALTER TABLE outbox ADD COLUMN payload_sealed BIGINT NOT NULL DEFAULT 1
    CHECK (payload_sealed IN (0, 1));

CREATE TABLE held_values (
    customer_id   TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    hold_id       TEXT COLLATE "C" NOT NULL,
    order_id      TEXT COLLATE "C" NOT NULL REFERENCES orders (id),
    field         TEXT COLLATE "C" NOT NULL,
    sealed        BYTEA NOT NULL,
    key_version   BIGINT NOT NULL,
    held_until_ms BIGINT NOT NULL,
    PRIMARY KEY (customer_id, hold_id, order_id, field)
);

CREATE INDEX held_values_due ON held_values (held_until_ms);

CREATE TABLE erasure_reports (
    customer_id TEXT COLLATE "C" PRIMARY KEY REFERENCES customers (id),
    request_id  TEXT,
    erased_at   TEXT NOT NULL,
    report      TEXT NOT NULL
);

CREATE TABLE erasure_notices (
    public_id   TEXT COLLATE "C" PRIMARY KEY,
    message_id  TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES outbox (id),
    partner     TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers (id)
);

CREATE INDEX erasure_notices_by_customer ON erasure_notices (customer_id);

CREATE TABLE erasure_confirmations (
    public_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES erasure_notices (public_id),
    partner      TEXT COLLATE "C" NOT NULL,
    customer_id  TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    confirmed_at TEXT NOT NULL
);

CREATE INDEX erasure_confirmations_by_customer ON erasure_confirmations (customer_id);

CREATE TRIGGER erasure_confirmations_append_only BEFORE UPDATE OR DELETE ON erasure_confirmations
    FOR EACH ROW EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER erasure_confirmations_no_truncate BEFORE TRUNCATE ON erasure_confirmations
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();
