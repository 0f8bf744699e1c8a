-- Legal disclosures (P16): an authority's request recorded by the DPO, approved by a second
-- administrator, released once. The scope names customers by their opaque ids; the
-- reference is the authority's document number. Releases are the legal part of each
-- customer's disclosure ledger, visible to them from `visible_from` (NULL: silenced until
-- lifted). Both tables only ever grow; a request's status only moves forward.

CREATE TABLE legal_requests (
    id            TEXT PRIMARY KEY,
    authority     TEXT NOT NULL,
    reference     TEXT NOT NULL,
    customers     TEXT NOT NULL,
    categories    TEXT NOT NULL,
    -- The period the release covers (orders placed in it); NULL: unbounded.
    period_from   TEXT,
    period_to     TEXT,
    notify        INTEGER NOT NULL,
    silence_until TEXT,
    status        TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'released')),
    requested_by  TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    approved_by   TEXT,
    approved_at   TEXT,
    released_at   TEXT
) STRICT;

CREATE TABLE legal_releases (
    seq          INTEGER PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES legal_requests (id),
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    authority    TEXT NOT NULL,
    categories   TEXT NOT NULL,
    fields       TEXT NOT NULL,
    at           TEXT NOT NULL,
    digest       TEXT NOT NULL,
    visible_from TEXT
) STRICT;

CREATE INDEX legal_releases_by_customer ON legal_releases (customer_id, seq);
CREATE INDEX legal_releases_by_request ON legal_releases (request_id);
