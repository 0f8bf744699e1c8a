//! Blind indexes in the key store. Each statement is written once for both backends: sqlx's
//! SQLite driver reads `$n` as the n-th argument, as PostgreSQL does.

use sqlx::{ColumnIndex, Decode, Row, Type};

use custodian_core::StoreError;
use custodian_core::ids::CustomerId;

use crate::rows::{customer_id, digest32};

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
