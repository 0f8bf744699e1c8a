//! Blind indexes in the key store, and their move out of the data database where versions
//! before it kept them. Each statement is written once for both backends: sqlx's SQLite
//! driver reads `$n` as the n-th argument, as PostgreSQL does.

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use custodian_core::StoreError;
use custodian_core::ids::CustomerId;
use custodian_core::vault::{BlindIndex, KeyStore, sealed_digest};

use crate::rows::{customer_id, database, digest32, get};

/// Adds one row (`customer_id`, `kind`, `hash`, `sealed_digest`), unless the customer has no
/// key — never had one, or was erased —, so that an index never outlives the key it goes
/// with; a row already there is kept. (On PostgreSQL the key's row is locked `FOR SHARE`
/// first, so that a destruction cannot slip between the check and the insert.)
pub(crate) const PUT: &str = "INSERT INTO blind_indexes (customer_id, kind, hash, sealed_digest) \
     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM data_keys WHERE customer_id = $1) \
     ON CONFLICT DO NOTHING";

/// Every row of a kind (`$1`) with a hash (`$2`).
pub(crate) const FIND: &str = "SELECT customer_id, sealed_digest FROM blind_indexes \
     WHERE kind = $1 AND hash = $2 ORDER BY customer_id, seq";

/// The rows of a customer (`$1`) and kind (`$2`) added before the one for `$3`.
pub(crate) const PRUNE: &str = "DELETE FROM blind_indexes WHERE customer_id = $1 AND kind = $2 \
     AND seq < (SELECT seq FROM blind_indexes \
     WHERE customer_id = $1 AND kind = $2 AND sealed_digest = $3)";

/// Every row of a customer (`$1`) and kind (`$2`).
pub(crate) const PRUNE_ALL: &str = "DELETE FROM blind_indexes WHERE customer_id = $1 AND kind = $2";

/// The row of a customer (`$1`) and kind (`$2`) for one digest (`$3`).
pub(crate) const REMOVE: &str =
    "DELETE FROM blind_indexes WHERE customer_id = $1 AND kind = $2 AND sealed_digest = $3";

/// Every row of a customer (`$1`): with their key, in the same transaction.
pub(crate) const DESTROY: &str = "DELETE FROM blind_indexes WHERE customer_id = $1";

/// Rows of the data database's legacy `blind_indexes` table moved per round.
const LEGACY_BATCH: i64 = 500;

/// The next legacy rows of the data database (`$1`: how many), each with its customer's
/// current sealed value of the field, if the customer is not erased and has one.
const LEGACY_ROWS: &str = "SELECT b.customer_id, b.kind, b.hash, \
     CASE WHEN c.id IS NOT NULL AND c.erased_at IS NULL THEN f.sealed END AS sealed \
     FROM blind_indexes b LEFT JOIN customers c ON c.id = b.customer_id \
     LEFT JOIN customer_fields f ON f.customer_id = b.customer_id AND f.field = b.kind \
     ORDER BY b.customer_id, b.kind LIMIT $1";

/// One legacy row, once copied to the key store.
const LEGACY_DELETE: &str = "DELETE FROM blind_indexes WHERE customer_id = $1 AND kind = $2";

/// A row of [`LEGACY_ROWS`]: its customer and kind (to delete it), and the key-store row it
/// becomes — none for an erased customer or a value no longer held.
fn legacy_row<R>(row: &R) -> Result<(CustomerId, String, Option<BlindIndex>), StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
{
    let customer = customer_id(row, "customer_id")?;
    let kind: String = get(row, "kind")?;
    let sealed: Option<Vec<u8>> = get(row, "sealed")?;
    let index = match sealed {
        Some(sealed) => Some(BlindIndex {
            customer: customer.clone(),
            kind: kind.clone(),
            hash: digest32(row, "hash")?,
            sealed_digest: sealed_digest(&sealed),
        }),
        None => None,
    };
    Ok((customer, kind, index))
}

/// A row of [`FIND`].
pub(crate) fn found_row<R>(row: &R) -> Result<(CustomerId, [u8; 32]), StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok((
        customer_id(row, "customer_id")?,
        digest32(row, "sealed_digest")?,
    ))
}

/// Moves the data database's legacy `blind_indexes` rows into the key store, then drops the
/// table; runs inside the caller's transaction on the data database, which holds the table
/// (checked by the caller, in that transaction). Each round copies a batch to the key store
/// (durably: a row of a customer erased since, or with no value any more, is not copied) and
/// only then deletes it here, so a crash anywhere leaves every row in one store or the other,
/// and the next run finishes the move (copying again is harmless). Returns how many rows the
/// data database held.
pub(crate) async fn move_legacy<DB>(
    conn: &mut DB::Connection,
    keys: &dyn KeyStore,
) -> Result<u64, StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c str: ColumnIndex<DB::Row>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> Option<Vec<u8>>: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let mut moved = 0;
    loop {
        let rows = sqlx::query::<DB>(LEGACY_ROWS)
            .bind(LEGACY_BATCH)
            .fetch_all(&mut *conn)
            .await
            .map_err(database)?
            .iter()
            .map(legacy_row)
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            break;
        }
        let indexes: Vec<BlindIndex> = rows.iter().filter_map(|(_, _, i)| i.clone()).collect();
        keys.put_indexes(&indexes).await?;
        for (customer, kind, _) in &rows {
            sqlx::query::<DB>(LEGACY_DELETE)
                .bind(customer.as_str().to_owned())
                .bind(kind.clone())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
        }
        moved += u64::try_from(rows.len()).unwrap_or(u64::MAX);
    }
    sqlx::query::<DB>("DROP TABLE blind_indexes")
        .execute(&mut *conn)
        .await
        .map_err(database)?;
    Ok(moved)
}
