-- Legal-hold keys: one data key per erased customer and `[[legal_hold]]`, wrapped by a
-- version of the master key like a customer's key and kept beside them, apart from the data.
-- Destroying a row here erases what the hold kept (`secure_delete` zeroes its bytes).
CREATE TABLE hold_keys (
    customer_id TEXT NOT NULL,
    hold_id     TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    PRIMARY KEY (customer_id, hold_id)
) STRICT;
