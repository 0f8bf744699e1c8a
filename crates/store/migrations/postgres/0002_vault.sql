-- The vault. Personal values exist here only as ciphertext (`sealed`), sealed under the
-- customer's data key. The keys are not here: they live in a separate key store, so that no
-- copy of this database (a backup, say) can ever decrypt an erased customer.
--
-- Mirrors migrations/sqlite/0002_vault.sql. Text that is sorted on (ids, field names) uses
-- the "C" collation, so PostgreSQL orders it byte by byte as SQLite does, whatever the
-- cluster's locale. Timestamps are RFC 3339 text as in SQLite, so they read back exactly.

CREATE TABLE customers (
    id         TEXT COLLATE "C" PRIMARY KEY,
    created_at TEXT NOT NULL,
    -- Set when the customer's key was destroyed and their rows purged.
    erased_at  TEXT
);

CREATE TABLE customer_fields (
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    field       TEXT COLLATE "C" NOT NULL,
    sealed      BYTEA NOT NULL,
    key_version BIGINT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (customer_id, field)
);

-- Earlier values of corrected fields, each sealed under a binding of its own entry.
-- `replaced_at_second`, `replaced_at_nanosecond` (the same instant as numbers) and `seq`
-- (insertion order) order the history oldest first: RFC 3339 text does not sort
-- chronologically when the fractions of a second differ in length.
CREATE TABLE field_history (
    id                     TEXT COLLATE "C" PRIMARY KEY,
    customer_id            TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    field                  TEXT COLLATE "C" NOT NULL,
    sealed                 BYTEA NOT NULL,
    key_version            BIGINT NOT NULL,
    replaced_at            TEXT NOT NULL,
    replaced_at_second     BIGINT NOT NULL,
    replaced_at_nanosecond INTEGER NOT NULL,
    seq                    BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX field_history_by_customer
    ON field_history (customer_id, replaced_at_second, replaced_at_nanosecond, seq);

-- Keyed hashes of normalised emails and phones, for lookups without decrypting.
CREATE TABLE blind_indexes (
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    kind        TEXT COLLATE "C" NOT NULL,
    hash        BYTEA NOT NULL,
    PRIMARY KEY (customer_id, kind)
);

CREATE INDEX blind_indexes_by_hash ON blind_indexes (kind, hash);

-- The audit log: append-only, hash-chained. `event` is the JSON that was hashed; it names
-- fields and purposes, never values. `customer_id` is copied out for breach-impact queries.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    customer_id TEXT COLLATE "C",
    event       BYTEA NOT NULL
);

CREATE INDEX audit_log_by_customer ON audit_log (customer_id);

-- Chain heads authenticated with the audit key.
CREATE TABLE audit_checkpoints (
    seq  BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    at   TEXT NOT NULL,
    mac  TEXT NOT NULL
);

-- The end of the chain, in one row. Several service instances may share this database:
-- every commit batch locks this row (SELECT ... FOR UPDATE) before chaining, and moves it in
-- the same transaction, so batches from all processes chain one after another. (SQLite gets
-- the same from BEGIN IMMEDIATE.)
CREATE TABLE audit_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    seq      BIGINT NOT NULL,
    hash     TEXT NOT NULL
);

INSERT INTO audit_head (seq, hash)
VALUES (0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only, also against mistakes: rows can be added, never changed or removed.
CREATE FUNCTION custodian_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();

-- The head only ever moves forward and is never removed.
CREATE FUNCTION custodian_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'the audit head only moves forward';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION custodian_audit_head_forward();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();
