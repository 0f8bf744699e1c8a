-- Requests from data subjects (Decree 356/2025 art. 5). The customer's own words are sealed
-- under their key (`details_sealed`); the rest is the request's bookkeeping. At most one
-- open request of a kind per customer: a second one is merged into the first.

CREATE TABLE requests (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    customer_id         TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    kind                TEXT NOT NULL,
    state               TEXT NOT NULL,
    channel             TEXT NOT NULL,
    entered_by          TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    partners_involved   BOOLEAN NOT NULL,
    acknowledge_by      TEXT NOT NULL,
    complete_by         TEXT NOT NULL,
    extension_limit     TEXT NOT NULL,
    reason              TEXT,
    details_sealed      BYTEA,
    details_key_version BIGINT,
    updated_at          TEXT NOT NULL
);

CREATE INDEX requests_by_customer ON requests (customer_id, id);
CREATE UNIQUE INDEX requests_one_open_per_kind ON requests (customer_id, kind)
    WHERE state NOT IN ('completed', 'rejected');

-- Every move of every request, append-only.
CREATE TABLE request_events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id TEXT COLLATE "C" NOT NULL REFERENCES requests (id),
    at         TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    note       TEXT
);

CREATE INDEX request_events_by_request ON request_events (request_id, seq);

CREATE TRIGGER request_events_append_only BEFORE UPDATE OR DELETE ON request_events
    FOR EACH ROW EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER request_events_no_truncate BEFORE TRUNCATE ON request_events
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();
