//! The notice archive in PostgreSQL.

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::notice::{
    NoticeArchive, NoticeSummary, PublishOutcome, PublishedNotice, RenderedNotice,
};
use jiff::Timestamp;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgStore, database};

#[async_trait]
impl NoticeArchive for PgStore {
    async fn publish(&self, notice: PublishedNotice) -> Result<PublishOutcome, StoreError> {
        // The unique constraints on hash and version decide the race between instances
        // starting at once: exactly one insert wins, the others read what it wrote.
        let inserted = sqlx::query(
            "INSERT INTO notice_versions (content_hash, version, published_at, policy_source, \
             vi_html, vi_markdown, en_html, en_markdown) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&notice.content_hash)
        .bind(&notice.version)
        .bind(notice.published_at.to_string())
        .bind(&notice.policy_source)
        .bind(&notice.rendered.vi_html)
        .bind(&notice.rendered.vi_markdown)
        .bind(&notice.rendered.en_html)
        .bind(&notice.rendered.en_markdown)
        .execute(&self.pool)
        .await
        .map_err(database)?;
        if inserted.rows_affected() == 1 {
            return Ok(PublishOutcome::Published);
        }
        let existing = sqlx::query(
            "SELECT content_hash FROM notice_versions WHERE content_hash = $1 OR version = $2 \
             ORDER BY content_hash = $1 DESC LIMIT 1",
        )
        .bind(&notice.content_hash)
        .bind(&notice.version)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        let published_hash: String = match existing {
            Some(row) => row.try_get("content_hash").map_err(database)?,
            None => {
                return Err(StoreError::Corrupt(
                    "notice insert ignored without a conflicting row".into(),
                ));
            }
        };
        if published_hash == notice.content_hash {
            Ok(PublishOutcome::AlreadyPublished)
        } else {
            Err(StoreError::NoticeVersionConflict {
                version: notice.version,
                published_hash,
                new_hash: notice.content_hash,
            })
        }
    }

    async fn list(&self) -> Result<Vec<NoticeSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, content_hash, published_at FROM notice_versions ORDER BY seq DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        rows.iter()
            .map(|row| {
                Ok(NoticeSummary {
                    version: row.try_get("version").map_err(database)?,
                    content_hash: row.try_get("content_hash").map_err(database)?,
                    published_at: timestamp(row)?,
                })
            })
            .collect()
    }

    async fn get(&self, content_hash: &str) -> Result<Option<PublishedNotice>, StoreError> {
        let row = sqlx::query(
            "SELECT version, content_hash, published_at, policy_source, vi_html, vi_markdown, \
             en_html, en_markdown FROM notice_versions WHERE content_hash = $1",
        )
        .bind(content_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PublishedNotice {
            version: row.try_get("version").map_err(database)?,
            content_hash: row.try_get("content_hash").map_err(database)?,
            published_at: timestamp(&row)?,
            policy_source: row.try_get("policy_source").map_err(database)?,
            rendered: RenderedNotice {
                vi_html: row.try_get("vi_html").map_err(database)?,
                vi_markdown: row.try_get("vi_markdown").map_err(database)?,
                en_html: row.try_get("en_html").map_err(database)?,
                en_markdown: row.try_get("en_markdown").map_err(database)?,
            },
        }))
    }
}

fn timestamp(row: &PgRow) -> Result<Timestamp, StoreError> {
    let text: String = row.try_get("published_at").map_err(database)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("notice timestamp `{text}` is not RFC 3339")))
}
