-- Customers' data keys, each wrapped by a version of the master key. This database is kept
-- apart from the data (in the key directory): destroying a row here erases the customer,
-- and `secure_delete` makes sure the key's bytes do not linger in free pages.
CREATE TABLE data_keys (
    customer_id TEXT PRIMARY KEY,
    key_version INTEGER NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL
) STRICT;

CREATE INDEX data_keys_by_kek_version ON data_keys (kek_version);
