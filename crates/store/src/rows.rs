//! Reading the domain's values out of result rows, once for both backends: the two store
//! them the same way (timestamps as RFC 3339 text, versions and sequence numbers as 64-bit
//! integers, ids as text).

use jiff::Timestamp;
use sqlx::{ColumnIndex, Decode, Row, Type};

use custodian_core::StoreError;
use custodian_core::ids::CustomerId;
use custodian_core::vault::{SealedField, StoredKey};
use custodian_crypto::WrappedKey;

pub(crate) fn database(e: sqlx::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}

/// One column of a row, of a type both databases decode.
pub(crate) fn get<'r, R, T>(row: &'r R, column: &str) -> Result<T, StoreError>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    row.try_get(column).map_err(database)
}

pub(crate) fn customer_id<R>(row: &R, column: &str) -> Result<CustomerId, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = get(row, column)?;
    CustomerId::parse(&id).ok_or_else(|| StoreError::Corrupt("bad customer id".into()))
}

pub(crate) fn timestamp<R>(row: &R, column: &str) -> Result<Timestamp, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let text: String = get(row, column)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad timestamp in `{column}`")))
}

/// A key or data-key version, stored as a 64-bit integer.
pub(crate) fn version<R>(row: &R, column: &str) -> Result<u32, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let v: i64 = get(row, column)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("bad version in `{column}`")))
}

/// A sequence number or a count, stored as a 64-bit integer.
pub(crate) fn seq_of<R>(row: &R, column: &str) -> Result<u64, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let v: i64 = get(row, column)?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("bad number in `{column}`")))
}

pub(crate) fn seq_param(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt("sequence number out of range".into()))
}

/// `field`, `sealed`, `key_version`.
pub(crate) fn sealed_field<R>(row: &R) -> Result<SealedField, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(SealedField {
        field: get(row, "field")?,
        sealed: get(row, "sealed")?,
        key_version: version(row, "key_version")?,
    })
}

/// `customer_id`, `key_version`, `kek_version`, `wrapped_key`.
pub(crate) fn stored_key<R>(row: &R) -> Result<StoredKey, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredKey {
        customer: customer_id(row, "customer_id")?,
        key_version: version(row, "key_version")?,
        wrapped: WrappedKey {
            kek_version: version(row, "kek_version")?,
            bytes: get(row, "wrapped_key")?,
        },
    })
}
