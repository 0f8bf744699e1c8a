-- Blind indexes: keyed hashes (HMAC-SHA256 under the index key) of customers' normalised
-- emails and phones, for lookups without decrypting. Kept here, beside the customers' keys
-- and apart from the data: destroying a customer's key deletes their rows in the same
-- transaction (`secure_delete` zeroes the bytes), so that after an erasure no copy of the
-- data, not even with the index key, can confirm an email or phone was theirs.
--
-- `sealed_digest` is the SHA-256 of the sealed value a row was written for: a lookup trusts a
-- row only while the customer's current ciphertext of that field has this digest. A row is
-- added before the data is committed and the rows of older values pruned after, so a
-- customer may have several rows of a kind for a moment; `seq` orders them (a prune removes
-- only the rows added before the value it keeps).
CREATE TABLE blind_indexes (
    seq           INTEGER PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    hash          BLOB NOT NULL,
    sealed_digest BLOB NOT NULL,
    UNIQUE (customer_id, kind, sealed_digest)
) STRICT;

CREATE INDEX blind_indexes_by_hash ON blind_indexes (kind, hash);
