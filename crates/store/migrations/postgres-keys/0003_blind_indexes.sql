-- Blind indexes, beside the customers' keys. Mirrors
-- migrations/sqlite-keys/0003_blind_indexes.sql.
CREATE TABLE blind_indexes (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id   TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    hash          BYTEA NOT NULL,
    sealed_digest BYTEA NOT NULL,
    UNIQUE (customer_id, kind, sealed_digest)
);

CREATE INDEX blind_indexes_by_hash ON blind_indexes (kind, hash);
