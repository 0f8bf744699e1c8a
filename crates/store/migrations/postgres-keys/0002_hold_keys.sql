-- Legal-hold keys. Mirrors migrations/sqlite-keys/0002_hold_keys.sql.
CREATE TABLE hold_keys (
    customer_id TEXT COLLATE "C" NOT NULL,
    hold_id     TEXT COLLATE "C" NOT NULL,
    key_version BIGINT NOT NULL,
    kek_version BIGINT NOT NULL,
    wrapped_key BYTEA NOT NULL,
    PRIMARY KEY (customer_id, hold_id)
);
