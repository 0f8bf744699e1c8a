-- Customers' data keys, each wrapped by a version of the master key. Mirrors
-- migrations/sqlite-keys/0001_data_keys.sql. Kept in a database apart from the data (its own
-- URL), so that a backup of the data holds no key; in the schema `custodian_keys`, so that
-- pointing both URLs at one database still cannot mix the two sets of migrations.
CREATE TABLE data_keys (
    customer_id TEXT COLLATE "C" PRIMARY KEY,
    key_version BIGINT NOT NULL,
    kek_version BIGINT NOT NULL,
    wrapped_key BYTEA NOT NULL
);

CREATE INDEX data_keys_by_kek_version ON data_keys (kek_version);
