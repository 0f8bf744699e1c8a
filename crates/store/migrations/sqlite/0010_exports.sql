-- Single-use download links of customers' exports. Only the SHA-256 digest of a link's token
-- is kept; a link is used once (`used_at`, set by a conditional update) before it expires.
-- An erasure removes the customer's links.

CREATE TABLE export_links (
    digest      TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    request_id  TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) STRICT;

CREATE INDEX export_links_by_customer ON export_links (customer_id);
