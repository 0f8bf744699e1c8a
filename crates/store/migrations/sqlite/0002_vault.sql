-- The vault. Personal values exist here only as ciphertext (`sealed`), sealed under the
-- customer's data key. The keys are not here: they live in a separate key store, so that no
-- copy of this database (a backup, say) can ever decrypt an erased customer.

CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    -- Set when the customer's key was destroyed and their rows purged.
    erased_at  TEXT
) STRICT;

CREATE TABLE customer_fields (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    field       TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    key_version INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (customer_id, field)
) STRICT;

-- Earlier values of corrected fields, each sealed under a binding of its own entry.
CREATE TABLE field_history (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    field       TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    key_version INTEGER NOT NULL,
    replaced_at TEXT NOT NULL
) STRICT;

CREATE INDEX field_history_by_customer ON field_history (customer_id);

-- Keyed hashes of normalised emails and phones, for lookups without decrypting.
CREATE TABLE blind_indexes (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    kind        TEXT NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (customer_id, kind)
) STRICT;

CREATE INDEX blind_indexes_by_hash ON blind_indexes (kind, hash);

-- The audit log: append-only, hash-chained. `event` is the JSON that was hashed; it names
-- fields and purposes, never values. `customer_id` is copied out for breach-impact queries.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    customer_id TEXT,
    event       BLOB NOT NULL
) STRICT;

CREATE INDEX audit_log_by_customer ON audit_log (customer_id);

-- Chain heads authenticated with the audit key.
CREATE TABLE audit_checkpoints (
    seq  INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    at   TEXT NOT NULL,
    mac  TEXT NOT NULL
) STRICT;

-- Append-only, also against mistakes: rows can be added, never changed or removed.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
