-- Erasure (P1, issue 7 §3): legal holds, completion reports, erasure notices to partners and
-- their confirmations.

-- An outbox message whose payload holds nothing personal (an erasure notice: message
-- digests only) is stored as is (`payload_sealed = 0`, `key_version = 0`) and survives the
-- erasure of its customer; every other payload is sealed under the customer's key
-- (`payload_sealed = 1`) and is dropped, unsent, by the erasure.
ALTER TABLE outbox ADD COLUMN payload_sealed INTEGER NOT NULL DEFAULT 1
    CHECK (payload_sealed IN (0, 1));

-- Values of an erased customer's orders that a `[[legal_hold]]` keeps, re-sealed under the
-- hold key of that customer and hold (in the key store, apart from this database), until
-- `held_until` (Unix milliseconds). Deleted when the hold ends.
CREATE TABLE held_values (
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    hold_id       TEXT NOT NULL,
    order_id      TEXT NOT NULL REFERENCES orders (id),
    field         TEXT NOT NULL,
    sealed        BLOB NOT NULL,
    key_version   INTEGER NOT NULL,
    held_until_ms INTEGER NOT NULL,
    PRIMARY KEY (customer_id, hold_id, order_id, field)
) STRICT;

CREATE INDEX held_values_due ON held_values (held_until_ms);

-- The completion report of each erasure, as JSON: categories, counts, holds, partners and
-- dates, never a value. Kept after the customer is gone.
CREATE TABLE erasure_reports (
    customer_id TEXT PRIMARY KEY REFERENCES customers (id),
    request_id  TEXT,
    erased_at   TEXT NOT NULL,
    report      TEXT NOT NULL
) STRICT;

-- The erasure notice queued for each partner, by the `Custodian-Message-Id` it is sent with.
CREATE TABLE erasure_notices (
    public_id   TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL UNIQUE REFERENCES outbox (id),
    partner     TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id)
) STRICT;

CREATE INDEX erasure_notices_by_customer ON erasure_notices (customer_id);

-- Partners' confirmations that they erased what a notice named. Append-only.
CREATE TABLE erasure_confirmations (
    public_id    TEXT PRIMARY KEY REFERENCES erasure_notices (public_id),
    partner      TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    confirmed_at TEXT NOT NULL
) STRICT;

CREATE INDEX erasure_confirmations_by_customer ON erasure_confirmations (customer_id);

CREATE TRIGGER erasure_confirmations_no_update BEFORE UPDATE ON erasure_confirmations
BEGIN SELECT RAISE(ABORT, 'erasure confirmations are append-only'); END;
CREATE TRIGGER erasure_confirmations_no_delete BEFORE DELETE ON erasure_confirmations
BEGIN SELECT RAISE(ABORT, 'erasure confirmations are append-only'); END;
