-- Orders. The state is in the clear (need-to-know depends on it); every field is sealed under
-- the data subject's key, bound to the order's id; the items are one sealed list.

CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    state       TEXT NOT NULL,
    placed_at   TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE INDEX orders_by_customer ON orders (customer_id, placed_at);

CREATE TABLE order_fields (
    order_id    TEXT NOT NULL REFERENCES orders (id),
    field       TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    key_version INTEGER NOT NULL,
    PRIMARY KEY (order_id, field)
) STRICT;

-- Every move of every order, append-only.
CREATE TABLE order_moves (
    seq        INTEGER PRIMARY KEY,
    order_id   TEXT NOT NULL REFERENCES orders (id),
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    at         TEXT NOT NULL
) STRICT;

CREATE INDEX order_moves_by_order ON order_moves (order_id, seq);

CREATE TRIGGER order_moves_no_update BEFORE UPDATE ON order_moves
BEGIN SELECT RAISE(ABORT, 'order moves are append-only'); END;
CREATE TRIGGER order_moves_no_delete BEFORE DELETE ON order_moves
BEGIN SELECT RAISE(ABORT, 'order moves are append-only'); END;
