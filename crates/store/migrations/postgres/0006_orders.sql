-- Orders. Mirrors migrations/sqlite/0006_orders.sql: the state in the clear, every field
-- sealed under the data subject's key, the items one sealed list.

CREATE TABLE orders (
    id          TEXT COLLATE "C" PRIMARY KEY,
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    state       TEXT NOT NULL,
    placed_at   TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX orders_by_customer ON orders (customer_id, id);

CREATE TABLE order_fields (
    order_id    TEXT COLLATE "C" NOT NULL REFERENCES orders (id),
    field       TEXT COLLATE "C" NOT NULL,
    sealed      BYTEA NOT NULL,
    key_version BIGINT NOT NULL,
    PRIMARY KEY (order_id, field)
);

-- Every move of every order, append-only.
CREATE TABLE order_moves (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   TEXT COLLATE "C" NOT NULL REFERENCES orders (id),
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    at         TEXT NOT NULL
);

CREATE INDEX order_moves_by_order ON order_moves (order_id, seq);

CREATE TRIGGER order_moves_append_only BEFORE UPDATE OR DELETE ON order_moves
    FOR EACH ROW EXECUTE FUNCTION custodian_append_only();
CREATE TRIGGER order_moves_no_truncate BEFORE TRUNCATE ON order_moves
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_append_only();
