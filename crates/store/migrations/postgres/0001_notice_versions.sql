-- Every notice version the service has published, kept forever so that a consent can cite
-- the exact text that was shown. `seq` orders the archive by publication.
-- Timestamps are RFC 3339 text, exactly as the SQLite backend keeps them, so every value
-- reads back unchanged (nanoseconds included).
CREATE TABLE notice_versions (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_hash  TEXT NOT NULL UNIQUE,
    version       TEXT NOT NULL UNIQUE,
    published_at  TEXT NOT NULL,
    policy_source TEXT NOT NULL,
    vi_html       TEXT NOT NULL,
    vi_markdown   TEXT NOT NULL,
    en_html       TEXT NOT NULL,
    en_markdown   TEXT NOT NULL
);
