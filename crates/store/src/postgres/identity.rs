//! Users, sessions, API tokens and identity events in PostgreSQL: the statements of
//! `sqlite/identity.rs` with numbered parameters. Every statement runs on the pool, whose
//! connections set `synchronous_commit = on`: a write is durable when the call returns.

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::identity::{
    IdentityConflict, IdentityEvent, IdentityStore, StoredSession, StoredToken, StoredUser,
};
use custodian_core::ids::{TokenId, UserId};
use jiff::Timestamp;
use sqlx::postgres::PgPool;

use super::PgStore;
use crate::rows::{
    database, get, identity_event, join_ids, seq_of, seq_param, stored_session, stored_token,
    stored_user, timestamp_opt,
};

/// The identity store on a PostgreSQL database: see [`PgStore::identity`].
#[derive(Debug, Clone)]
pub struct PgIdentity {
    pool: PgPool,
}

impl PgStore {
    /// The identity store (users, sessions, API tokens) in this database.
    pub fn identity(&self) -> PgIdentity {
        PgIdentity {
            pool: self.pool.clone(),
        }
    }
}

const USER_COLUMNS: &str = "id, login, login_key, role, password_hash, must_change_password, \
     failed_sign_ins, locked_until, totp_sealed, totp_active, totp_last_step, created_at, \
     last_sign_in_at";

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

#[async_trait]
impl IdentityStore for PgIdentity {
    async fn insert_user(
        &self,
        user: &StoredUser,
    ) -> Result<Result<(), IdentityConflict>, StoreError> {
        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO staff_users ({USER_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )))
        .bind(user.id.as_str())
        .bind(&user.login)
        .bind(&user.login_key)
        .bind(&user.role)
        .bind(&user.password_hash)
        .bind(user.must_change_password)
        .bind(i64::from(user.failed_sign_ins))
        .bind(user.locked_until.map(|t| t.to_string()))
        .bind(user.totp_sealed.as_deref())
        .bind(user.totp_active)
        .bind(user.totp_last_step.map(seq_param).transpose()?)
        .bind(user.created_at.to_string())
        .bind(user.last_sign_in_at.map(|t| t.to_string()))
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(Ok(())),
            Err(e) if is_unique_violation(&e) => Ok(Err(IdentityConflict::LoginTaken)),
            Err(e) => Err(database(e)),
        }
    }

    async fn user(&self, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM staff_users WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .map(|row| stored_user(&row))
        .transpose()
    }

    async fn user_by_login(&self, login_key: &str) -> Result<Option<StoredUser>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM staff_users WHERE login_key = $1"
        )))
        .bind(login_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .map(|row| stored_user(&row))
        .transpose()
    }

    async fn users(&self) -> Result<Vec<StoredUser>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM staff_users ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(stored_user)
        .collect()
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT count(*) AS n FROM staff_users")
            .fetch_one(&self.pool)
            .await
            .map_err(database)?;
        seq_of(&row, "n")
    }

    async fn set_role(&self, id: &UserId, role: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE staff_users SET role = $1 WHERE id = $2")
            .bind(role)
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_password(
        &self,
        id: &UserId,
        password_hash: &str,
        must_change_password: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE staff_users SET password_hash = $1, must_change_password = $2 WHERE id = $3",
        )
        .bind(password_hash)
        .bind(must_change_password)
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_failed_sign_in(
        &self,
        id: &UserId,
        max_failures: u32,
        lock_until: Timestamp,
    ) -> Result<Option<(u32, Option<Timestamp>)>, StoreError> {
        // One statement, so that failures on several instances at once are all counted.
        let row = sqlx::query(
            "UPDATE staff_users SET \
             failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= $1 THEN 0 \
                                    ELSE failed_sign_ins + 1 END, \
             locked_until = CASE WHEN failed_sign_ins + 1 >= $2 THEN $3 ELSE locked_until END \
             WHERE id = $4 RETURNING failed_sign_ins, locked_until",
        )
        .bind(i64::from(max_failures))
        .bind(i64::from(max_failures))
        .bind(lock_until.to_string())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        let Some(row) = row else { return Ok(None) };
        let failures: i64 = get(&row, "failed_sign_ins")?;
        let failures =
            u32::try_from(failures).map_err(|_| StoreError::Corrupt("bad failure count".into()))?;
        Ok(Some((failures, timestamp_opt(&row, "locked_until")?)))
    }

    async fn record_sign_in(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE staff_users SET failed_sign_ins = 0, last_sign_in_at = $1 WHERE id = $2",
        )
        .bind(at.to_string())
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn set_totp(
        &self,
        id: &UserId,
        sealed: Option<&[u8]>,
        active: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE staff_users SET totp_sealed = $1, totp_active = $2, totp_last_step = NULL \
             WHERE id = $3",
        )
        .bind(sealed)
        .bind(active)
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn use_totp_step(&self, id: &UserId, step: u64) -> Result<bool, StoreError> {
        let step = seq_param(step)?;
        let done = sqlx::query(
            "UPDATE staff_users SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(step)
        .bind(id.as_str())
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_session(&self, session: &StoredSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO staff_sessions (digest, user_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.digest)
        .bind(session.user.as_str())
        .bind(session.created_at.to_string())
        .bind(session.last_seen_at.to_string())
        .bind(session.expires_at.to_string())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn session(&self, digest: &str) -> Result<Option<StoredSession>, StoreError> {
        sqlx::query(
            "SELECT digest, user_id, created_at, last_seen_at, expires_at FROM staff_sessions \
             WHERE digest = $1",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .map(|row| stored_session(&row))
        .transpose()
    }

    async fn touch_session(&self, digest: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE digest = $2")
            .bind(at.to_string())
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }

    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM staff_sessions WHERE digest = $1")
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_sessions_of(&self, user: &UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM staff_sessions WHERE user_id = $1")
            .bind(user.as_str())
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(done.rows_affected())
    }

    async fn insert_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, digest, operations, purposes, restricted, \
             created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token.id.as_str())
        .bind(&token.name)
        .bind(&token.digest)
        .bind(join_ids(&token.scope.operations))
        .bind(token.scope.purposes.as_deref().map(join_ids))
        .bind(join_ids(&token.scope.restricted))
        .bind(token.created_at.to_string())
        .bind(token.last_used_at.map(|t| t.to_string()))
        .bind(token.revoked_at.map(|t| t.to_string()))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn token_by_digest(&self, digest: &str) -> Result<Option<StoredToken>, StoreError> {
        sqlx::query(
            "SELECT id, name, digest, operations, purposes, restricted, created_at, \
             last_used_at, revoked_at FROM api_tokens WHERE digest = $1",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .map(|row| stored_token(&row))
        .transpose()
    }

    async fn touch_token(&self, id: &TokenId, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at.to_string())
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }

    async fn revoke_token(&self, id: &TokenId, at: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at.to_string())
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        sqlx::query(
            "SELECT id, name, digest, operations, purposes, restricted, created_at, \
             last_used_at, revoked_at FROM api_tokens ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(stored_token)
        .collect()
    }

    async fn append_event(&self, event: &IdentityEvent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO identity_events (at, action, user_id, token_id, detail) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.at.to_string())
        .bind(&event.action)
        .bind(event.user.as_ref().map(UserId::as_str))
        .bind(event.token.as_ref().map(TokenId::as_str))
        .bind(event.detail.as_deref())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn events(&self) -> Result<Vec<IdentityEvent>, StoreError> {
        sqlx::query(
            "SELECT at, action, user_id, token_id, detail FROM identity_events ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(identity_event)
        .collect()
    }
}
