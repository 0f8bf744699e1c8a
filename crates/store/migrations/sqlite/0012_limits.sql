-- What a request asks besides its kind: the purposes an objection is to, or a consent
-- withdrawal names (a JSON list; empty for every other kind).
ALTER TABLE requests ADD COLUMN purposes TEXT NOT NULL DEFAULT '[]';

-- Limits a customer put on processing (Law 91/2025 art. 14): a restriction (purpose NULL)
-- freezes everything but legal obligations, an objection stops one purpose. In force until
-- lifted; at most one in force per customer, kind and purpose. Nothing personal: read on
-- every decision about a customer, by this index.
CREATE TABLE processing_limits (
    seq         INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    kind        TEXT NOT NULL CHECK (kind IN ('restriction', 'objection')),
    purpose     TEXT NOT NULL DEFAULT '',
    request_id  TEXT REFERENCES requests (id),
    since       TEXT NOT NULL,
    lifted_at   TEXT,
    lifted_by   TEXT
) STRICT;

CREATE UNIQUE INDEX processing_limits_in_force ON processing_limits (customer_id, kind, purpose)
    WHERE lifted_at IS NULL;

-- The one-time code that proves the customer asked, at most one per request.
CREATE TABLE request_codes (
    request_id  TEXT PRIMARY KEY REFERENCES requests (id),
    code_digest BLOB NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    expires_at  TEXT NOT NULL
) STRICT;
