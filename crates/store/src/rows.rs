//! Reading the domain's values out of result rows, once for both backends: the two store
//! them the same way (timestamps as RFC 3339 text, versions and sequence numbers as 64-bit
//! integers, ids as text).

use jiff::Timestamp;
use sqlx::{ColumnIndex, Decode, Row, Type};

use custodian_core::StoreError;
use custodian_core::care::{
    StoredCareSession, StoredCustomerCode, StoredCustomerPassword, StoredCustomerSession,
};
use custodian_core::consent::{CollectionChannel, ConsentState, GivenBy};
use custodian_core::identity::{
    IdentityEvent, StoredScope, StoredSession, StoredToken, StoredUser,
};
use custodian_core::ids::{
    CareSessionId, ConsentId, CustomerId, LegalRequestId, OrderId, OutboxId, RequestId, TokenId,
    UserId,
};
use custodian_core::legal::{LegalRelease, LegalRequest, LegalStatus};
use custodian_core::orders::OrderState;
use custodian_core::outbox::{
    DisclosureRecord, OutboxMessage, OutboxStatus, PAYLOAD_FIELD, Payload,
};
use custodian_core::rights::erasure::{
    ErasureConfirmation, ErasureNotice, HeldRecord, StoredErasure, StoredHoldKey,
};
use custodian_core::rights::request::{
    LimitKind, ProcessingLimit, RequestChannel, RequestEvent, RequestState, StoredRequest,
    StoredRequestCode,
};
use custodian_core::vault::{OrderSummary, SealedField, StoredConsent, StoredKey, StoredOrder};
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

/// A legal-hold key, from `customer_id, hold_id, key_version, kek_version, wrapped_key`.
pub(crate) fn stored_hold_key<R>(row: &R) -> Result<StoredHoldKey, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredHoldKey {
        customer: customer_id(row, "customer_id")?,
        hold: get(row, "hold_id")?,
        key_version: version(row, "key_version")?,
        wrapped: WrappedKey {
            kek_version: version(row, "kek_version")?,
            bytes: get(row, "wrapped_key")?,
        },
    })
}

/// A held value, from [`HELD_COLUMNS`].
pub(crate) fn held_record<R>(row: &R) -> Result<HeldRecord, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let until: i64 = get(row, "held_until_ms")?;
    Ok(HeldRecord {
        customer: customer_id(row, "customer_id")?,
        hold: get(row, "hold_id")?,
        order: order_id(row, "order_id")?,
        value: SealedField {
            field: get(row, "field")?,
            sealed: get(row, "sealed")?,
            key_version: version(row, "key_version")?,
        },
        held_until: Timestamp::from_millisecond(until)
            .map_err(|_| StoreError::Corrupt("bad held time".into()))?,
    })
}

/// The columns of `held_values` a [`HeldRecord`] is read from.
pub(crate) const HELD_COLUMNS: &str =
    "customer_id, hold_id, order_id, field, sealed, key_version, held_until_ms";

/// An erasure notice, from `public_id, message_id, partner, customer_id`.
pub(crate) fn erasure_notice<R>(row: &R) -> Result<ErasureNotice, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let message: String = get(row, "message_id")?;
    Ok(ErasureNotice {
        public_id: get(row, "public_id")?,
        message: OutboxId::parse(&message)
            .ok_or_else(|| StoreError::Corrupt("bad outbox id".into()))?,
        partner: get(row, "partner")?,
        customer: customer_id(row, "customer_id")?,
    })
}

/// A confirmation, from `public_id, partner, customer_id, confirmed_at`.
pub(crate) fn erasure_confirmation<R>(row: &R) -> Result<ErasureConfirmation, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(ErasureConfirmation {
        public_id: get(row, "public_id")?,
        partner: get(row, "partner")?,
        customer: customer_id(row, "customer_id")?,
        confirmed_at: timestamp(row, "confirmed_at")?,
    })
}

/// A stored erasure report, from `customer_id, request_id, erased_at, report`.
pub(crate) fn stored_erasure<R>(row: &R) -> Result<StoredErasure, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredErasure {
        customer: customer_id(row, "customer_id")?,
        request: get(row, "request_id")?,
        erased_at: timestamp(row, "erased_at")?,
        report: get(row, "report")?,
    })
}

/// A timestamp column that may be NULL.
pub(crate) fn timestamp_opt<R>(row: &R, column: &str) -> Result<Option<Timestamp>, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let text: Option<String> = get(row, column)?;
    text.map(|text| {
        text.parse()
            .map_err(|_| StoreError::Corrupt(format!("bad timestamp in `{column}`")))
    })
    .transpose()
}

fn user_id<R>(row: &R, column: &str) -> Result<UserId, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = get(row, column)?;
    UserId::parse(&id).ok_or_else(|| StoreError::Corrupt("bad user id".into()))
}

fn token_id<R>(row: &R, column: &str) -> Result<TokenId, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = get(row, column)?;
    TokenId::parse(&id).ok_or_else(|| StoreError::Corrupt("bad token id".into()))
}

/// A scope's list as stored: the ids separated by single spaces (policy ids have none).
pub(crate) fn join_ids(ids: &[String]) -> String {
    ids.join(" ")
}

fn split_ids(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Every column of `staff_users`.
pub(crate) fn stored_user<R>(row: &R) -> Result<StoredUser, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let last_step: Option<i64> = get(row, "totp_last_step")?;
    Ok(StoredUser {
        id: user_id(row, "id")?,
        login: get(row, "login")?,
        login_key: get(row, "login_key")?,
        role: get(row, "role")?,
        password_hash: get(row, "password_hash")?,
        must_change_password: get(row, "must_change_password")?,
        failed_sign_ins: version(row, "failed_sign_ins")?,
        locked_until: timestamp_opt(row, "locked_until")?,
        totp_sealed: get(row, "totp_sealed")?,
        totp_active: get(row, "totp_active")?,
        totp_last_step: last_step
            .map(|s| u64::try_from(s).map_err(|_| StoreError::Corrupt("bad TOTP step".into())))
            .transpose()?,
        created_at: timestamp(row, "created_at")?,
        last_sign_in_at: timestamp_opt(row, "last_sign_in_at")?,
    })
}

/// Every column of `staff_sessions`.
pub(crate) fn stored_session<R>(row: &R) -> Result<StoredSession, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredSession {
        digest: get(row, "digest")?,
        user: user_id(row, "user_id")?,
        created_at: timestamp(row, "created_at")?,
        last_seen_at: timestamp(row, "last_seen_at")?,
        expires_at: timestamp(row, "expires_at")?,
    })
}

/// Every column of `api_tokens`.
pub(crate) fn stored_token<R>(row: &R) -> Result<StoredToken, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let operations: String = get(row, "operations")?;
    let purposes: Option<String> = get(row, "purposes")?;
    let restricted: String = get(row, "restricted")?;
    Ok(StoredToken {
        id: token_id(row, "id")?,
        name: get(row, "name")?,
        digest: get(row, "digest")?,
        scope: StoredScope {
            operations: split_ids(&operations),
            purposes: purposes.as_deref().map(split_ids),
            restricted: split_ids(&restricted),
        },
        created_at: timestamp(row, "created_at")?,
        last_used_at: timestamp_opt(row, "last_used_at")?,
        revoked_at: timestamp_opt(row, "revoked_at")?,
    })
}

/// `at`, `action`, `user_id`, `token_id`, `detail` of `identity_events`.
pub(crate) fn identity_event<R>(row: &R) -> Result<IdentityEvent, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let user: Option<String> = get(row, "user_id")?;
    let token: Option<String> = get(row, "token_id")?;
    Ok(IdentityEvent {
        at: timestamp(row, "at")?,
        action: get(row, "action")?,
        user: user
            .map(|u| UserId::parse(&u).ok_or_else(|| StoreError::Corrupt("bad user id".into())))
            .transpose()?,
        token: token
            .map(|t| TokenId::parse(&t).ok_or_else(|| StoreError::Corrupt("bad token id".into())))
            .transpose()?,
        detail: get(row, "detail")?,
    })
}

/// A 32-byte digest column.
pub(crate) fn digest32<R>(row: &R, column: &str) -> Result<[u8; 32], StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let bytes: Vec<u8> = get(row, column)?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("bad digest in `{column}`")))
}

/// A count of attempts or failures, stored as a 64-bit integer.
pub(crate) fn count<R>(row: &R, column: &str) -> Result<u32, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let n: i64 = get(row, column)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("bad count in `{column}`")))
}

/// Every column of `care_sessions`.
pub(crate) fn stored_care_session<R>(row: &R) -> Result<StoredCareSession, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = get(row, "id")?;
    Ok(StoredCareSession {
        id: CareSessionId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt("bad care session id".into()))?,
        staff: user_id(row, "staff_user")?,
        customer: customer_id(row, "customer_id")?,
        channel: get(row, "channel")?,
        code_digest: digest32(row, "code_digest")?,
        attempts: count(row, "attempts")?,
        created_at: timestamp(row, "created_at")?,
        code_expires_at: timestamp(row, "code_expires_at")?,
        verified_at: timestamp_opt(row, "verified_at")?,
        active_until: timestamp_opt(row, "active_until")?,
        closed_at: timestamp_opt(row, "closed_at")?,
    })
}

/// Every column of `customer_codes`.
pub(crate) fn stored_customer_code<R>(row: &R) -> Result<StoredCustomerCode, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredCustomerCode {
        customer: customer_id(row, "customer_id")?,
        code_digest: digest32(row, "code_digest")?,
        attempts: count(row, "attempts")?,
        expires_at: timestamp(row, "expires_at")?,
    })
}

/// Every column of `customer_passwords`.
pub(crate) fn stored_customer_password<R>(row: &R) -> Result<StoredCustomerPassword, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredCustomerPassword {
        customer: customer_id(row, "customer_id")?,
        password_hash: get(row, "password_hash")?,
        failed_sign_ins: count(row, "failed_sign_ins")?,
        locked_until: timestamp_opt(row, "locked_until")?,
    })
}

/// Every column of `customer_sessions`.
pub(crate) fn stored_customer_session<R>(row: &R) -> Result<StoredCustomerSession, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredCustomerSession {
        digest: get(row, "digest")?,
        customer: customer_id(row, "customer_id")?,
        created_at: timestamp(row, "created_at")?,
        last_seen_at: timestamp(row, "last_seen_at")?,
        expires_at: timestamp(row, "expires_at")?,
    })
}

/// An optional sealed value kept in two columns, `<prefix>_sealed` and
/// `<prefix>_key_version`, both set or both NULL, as the field `field`.
fn optional_sealed<R>(row: &R, prefix: &str, field: &str) -> Result<Option<SealedField>, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = || StoreError::Corrupt(format!("bad sealed `{prefix}`"));
    let sealed: Option<Vec<u8>> = get(row, &format!("{prefix}_sealed"))?;
    let key_version: Option<i64> = get(row, &format!("{prefix}_key_version"))?;
    match (sealed, key_version) {
        (Some(sealed), Some(v)) => Ok(Some(SealedField {
            field: field.to_owned(),
            sealed,
            key_version: u32::try_from(v).map_err(|_| corrupt())?,
        })),
        (None, None) => Ok(None),
        _ => Err(corrupt()),
    }
}

/// The columns of a consent history entry, in the order of [`CONSENT_COLUMNS`].
pub(crate) const CONSENT_COLUMNS: &str = "id, customer_id, purpose, state, at, notice_version, \
     notice_hash, channel, recording_id, given_by, recorded_by, options, terms, request_id, \
     gpc, evidence_sealed, evidence_key_version";

/// Every column of `consent_events` but `seq`.
pub(crate) fn stored_consent<R>(row: &R) -> Result<StoredConsent, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| StoreError::Corrupt(format!("bad consent {what}"));
    let id: String = get(row, "id")?;
    let state: String = get(row, "state")?;
    let channel: String = get(row, "channel")?;
    let given_by: String = get(row, "given_by")?;
    let evidence = optional_sealed(row, "evidence", "consent.evidence")?;
    Ok(StoredConsent {
        id: ConsentId::parse(&id).ok_or_else(|| corrupt("id"))?,
        customer: customer_id(row, "customer_id")?,
        purpose: get(row, "purpose")?,
        state: ConsentState::parse(&state).ok_or_else(|| corrupt("state"))?,
        at: timestamp(row, "at")?,
        notice_version: get(row, "notice_version")?,
        notice_hash: get(row, "notice_hash")?,
        channel: CollectionChannel::parse(&channel).ok_or_else(|| corrupt("channel"))?,
        recording_id: get(row, "recording_id")?,
        given_by: GivenBy::parse(&given_by).ok_or_else(|| corrupt("giver"))?,
        recorded_by: get(row, "recorded_by")?,
        options: get(row, "options")?,
        terms: get(row, "terms")?,
        request_id: get(row, "request_id")?,
        gpc: get(row, "gpc")?,
        evidence,
    })
}

/// The columns of `outbox` an [`OutboxMessage`] is read from.
pub(crate) const OUTBOX_COLUMNS: &str = "id, partner, customer_id, kind, idempotency_key, \
     purpose, legal_basis, consent_id, fields, payload, key_version, created_at, status, \
     attempts, next_attempt_ms, last_error, delivered_at, payload_sealed";

/// The columns of `disclosures` a [`DisclosureRecord`] is read from.
pub(crate) const DISCLOSURE_COLUMNS: &str = "message_id, customer_id, recipient, categories, \
     fields, purpose, legal_basis, consent_id, at, digest";

fn json_list(text: &str, what: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt(format!("bad {what} list")))
}

fn consent_ref(id: Option<String>) -> Result<Option<ConsentId>, StoreError> {
    id.map(|c| {
        ConsentId::parse(&c).ok_or_else(|| StoreError::Corrupt("bad consent reference".into()))
    })
    .transpose()
}

/// A message of the outbox, from the columns of [`OUTBOX_COLUMNS`].
pub(crate) fn outbox_message<R>(row: &R) -> Result<OutboxMessage, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| StoreError::Corrupt(format!("bad outbox {what}"));
    let id: String = get(row, "id")?;
    let status: String = get(row, "status")?;
    let fields: String = get(row, "fields")?;
    let key_version: i64 = get(row, "key_version")?;
    let attempts: i64 = get(row, "attempts")?;
    let next: i64 = get(row, "next_attempt_ms")?;
    let delivered: Option<String> = get(row, "delivered_at")?;
    let sealed: i64 = get(row, "payload_sealed")?;
    Ok(OutboxMessage {
        id: OutboxId::parse(&id).ok_or_else(|| corrupt("id"))?,
        partner: get(row, "partner")?,
        customer: customer_id(row, "customer_id")?,
        kind: get(row, "kind")?,
        idempotency_key: get(row, "idempotency_key")?,
        purpose: get(row, "purpose")?,
        legal_basis: get(row, "legal_basis")?,
        consent: consent_ref(get(row, "consent_id")?)?,
        fields: json_list(&fields, "field")?,
        payload: if sealed == 0 {
            Payload::Public(get(row, "payload")?)
        } else {
            Payload::Sealed(SealedField {
                field: PAYLOAD_FIELD.to_owned(),
                sealed: get(row, "payload")?,
                key_version: u32::try_from(key_version).map_err(|_| corrupt("key version"))?,
            })
        },
        created_at: timestamp(row, "created_at")?,
        status: OutboxStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
        next_attempt_at: Timestamp::from_millisecond(next).map_err(|_| corrupt("time"))?,
        last_error: get(row, "last_error")?,
        delivered_at: delivered
            .map(|t| t.parse::<Timestamp>().map_err(|_| corrupt("time")))
            .transpose()?,
    })
}

/// An entry of the disclosure ledger, from the columns of [`DISCLOSURE_COLUMNS`].
pub(crate) fn disclosure_record<R>(row: &R) -> Result<DisclosureRecord, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = get(row, "message_id")?;
    let categories: String = get(row, "categories")?;
    let fields: String = get(row, "fields")?;
    Ok(DisclosureRecord {
        message: OutboxId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt("bad disclosure message id".into()))?,
        customer: customer_id(row, "customer_id")?,
        recipient: get(row, "recipient")?,
        categories: json_list(&categories, "category")?,
        fields: json_list(&fields, "field")?,
        purpose: get(row, "purpose")?,
        legal_basis: get(row, "legal_basis")?,
        consent: consent_ref(get(row, "consent_id")?)?,
        at: timestamp(row, "at")?,
        digest: get(row, "digest")?,
    })
}

/// A list of names as stored (a JSON array).
pub(crate) fn list_text(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn order_id<R>(row: &R, column: &str) -> Result<OrderId, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = get(row, column)?;
    OrderId::parse(&id).ok_or_else(|| StoreError::Corrupt("bad order id".into()))
}

pub(crate) fn order_state<R>(row: &R, column: &str) -> Result<OrderState, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let state: String = get(row, column)?;
    OrderState::parse(&state).ok_or_else(|| StoreError::Corrupt("bad order state".into()))
}

/// `id`, `state`, `placed_at`.
pub(crate) fn order_summary<R>(row: &R) -> Result<OrderSummary, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(OrderSummary {
        id: order_id(row, "id")?,
        state: order_state(row, "state")?,
        placed_at: timestamp(row, "placed_at")?,
    })
}

/// An order and its fields from the rows of `orders LEFT JOIN order_fields` (`None` when
/// there are none: no such order).
pub(crate) fn stored_order<R>(rows: &[R]) -> Result<Option<StoredOrder>, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut fields = Vec::with_capacity(rows.len());
    for row in rows {
        let field: Option<String> = get(row, "field")?;
        if field.is_some() {
            fields.push(sealed_field(row)?);
        }
    }
    Ok(Some(StoredOrder {
        id: order_id(first, "id")?,
        customer: customer_id(first, "customer_id")?,
        state: order_state(first, "state")?,
        placed_at: timestamp(first, "placed_at")?,
        updated_at: timestamp(first, "updated_at")?,
        fields,
    }))
}

/// The columns of `legal_requests`, in the order of [`legal_request`].
pub(crate) const LEGAL_REQUEST_COLUMNS: &str = "id, authority, reference, customers, categories, \
     period_from, period_to, notify, silence_until, status, requested_by, requested_at, \
     approved_by, approved_at, released_at";

/// Every column of `legal_requests`.
pub(crate) fn legal_request<R>(row: &R) -> Result<LegalRequest, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| StoreError::Corrupt(format!("bad legal request {what}"));
    let id: String = get(row, "id")?;
    let customers: String = get(row, "customers")?;
    let status: String = get(row, "status")?;
    Ok(LegalRequest {
        id: LegalRequestId::parse(&id).ok_or_else(|| corrupt("id"))?,
        authority: get(row, "authority")?,
        reference: get(row, "reference")?,
        customers: json_list(&customers, "customer")?
            .iter()
            .map(|c| CustomerId::parse(c).ok_or_else(|| corrupt("customer")))
            .collect::<Result<_, _>>()?,
        categories: json_list(&get::<_, String>(row, "categories")?, "category")?,
        period_from: timestamp_opt(row, "period_from")?,
        period_to: timestamp_opt(row, "period_to")?,
        notify: get(row, "notify")?,
        silence_until: timestamp_opt(row, "silence_until")?,
        status: LegalStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        requested_by: get(row, "requested_by")?,
        requested_at: timestamp(row, "requested_at")?,
        approved_by: get(row, "approved_by")?,
        approved_at: timestamp_opt(row, "approved_at")?,
        released_at: timestamp_opt(row, "released_at")?,
    })
}

/// `request_id, customer_id, authority, categories, fields, at, digest, visible_from`.
pub(crate) fn legal_release<R>(row: &R) -> Result<LegalRelease, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let request: String = get(row, "request_id")?;
    Ok(LegalRelease {
        request: LegalRequestId::parse(&request)
            .ok_or_else(|| StoreError::Corrupt("bad legal release request".into()))?,
        customer: customer_id(row, "customer_id")?,
        authority: get(row, "authority")?,
        categories: json_list(&get::<_, String>(row, "categories")?, "category")?,
        fields: json_list(&get::<_, String>(row, "fields")?, "field")?,
        at: timestamp(row, "at")?,
        digest: get(row, "digest")?,
        visible_from: timestamp_opt(row, "visible_from")?,
    })
}

/// The columns of `requests`, in the order [`stored_request`] reads them.
pub(crate) const REQUEST_COLUMNS: &str = "id, customer_id, kind, state, channel, entered_by, \
     received_at, partners_involved, acknowledge_by, complete_by, extension_limit, reason, \
     details_sealed, details_key_version, updated_at, purposes";

fn civil_date<R>(row: &R, column: &str) -> Result<jiff::civil::Date, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let text: String = get(row, column)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad date in `{column}`")))
}

/// Every column of `requests`.
pub(crate) fn stored_request<R>(row: &R) -> Result<StoredRequest, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| StoreError::Corrupt(format!("bad request {what}"));
    let id: String = get(row, "id")?;
    let state: String = get(row, "state")?;
    let channel: String = get(row, "channel")?;
    let details = optional_sealed(row, "details", "request.details")?;
    Ok(StoredRequest {
        id: RequestId::parse(&id).ok_or_else(|| corrupt("id"))?,
        customer: customer_id(row, "customer_id")?,
        kind: get(row, "kind")?,
        state: RequestState::parse(&state).ok_or_else(|| corrupt("state"))?,
        channel: RequestChannel::parse(&channel).ok_or_else(|| corrupt("channel"))?,
        entered_by: get(row, "entered_by")?,
        received_at: timestamp(row, "received_at")?,
        partners_involved: get(row, "partners_involved")?,
        acknowledge_by: civil_date(row, "acknowledge_by")?,
        complete_by: civil_date(row, "complete_by")?,
        extension_limit: civil_date(row, "extension_limit")?,
        reason: get(row, "reason")?,
        details,
        purposes: json_list(&get::<_, String>(row, "purposes")?, "purpose")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

/// `customer_id, kind, purpose, request_id, since` of `processing_limits`.
pub(crate) fn processing_limit<R>(row: &R) -> Result<ProcessingLimit, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind: String = get(row, "kind")?;
    let purpose: String = get(row, "purpose")?;
    let request: Option<String> = get(row, "request_id")?;
    Ok(ProcessingLimit {
        customer: customer_id(row, "customer_id")?,
        kind: match kind.as_str() {
            "restriction" => LimitKind::Restriction,
            "objection" => LimitKind::Objection(purpose),
            _ => return Err(StoreError::Corrupt("bad limit kind".into())),
        },
        request: request
            .map(|r| {
                RequestId::parse(&r).ok_or_else(|| StoreError::Corrupt("bad request id".into()))
            })
            .transpose()?,
        since: timestamp(row, "since")?,
    })
}

/// Every column of `request_codes`.
pub(crate) fn stored_request_code<R>(row: &R) -> Result<StoredRequestCode, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = get(row, "request_id")?;
    Ok(StoredRequestCode {
        request: RequestId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt("bad request id".into()))?,
        code_digest: digest32(row, "code_digest")?,
        attempts: count(row, "attempts")?,
        expires_at: timestamp(row, "expires_at")?,
    })
}

/// `request_id, at, from_state, to_state, actor, note`.
pub(crate) fn request_event<R>(row: &R) -> Result<RequestEvent, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| StoreError::Corrupt(format!("bad request event {what}"));
    let id: String = get(row, "request_id")?;
    let from: Option<String> = get(row, "from_state")?;
    let to: String = get(row, "to_state")?;
    Ok(RequestEvent {
        request: RequestId::parse(&id).ok_or_else(|| corrupt("request"))?,
        at: timestamp(row, "at")?,
        from: from
            .map(|f| RequestState::parse(&f).ok_or_else(|| corrupt("state")))
            .transpose()?,
        to: RequestState::parse(&to).ok_or_else(|| corrupt("state"))?,
        actor: get(row, "actor")?,
        note: get(row, "note")?,
    })
}

/// Orders and their fields from the rows of `orders LEFT JOIN order_fields`, ordered by order
/// id: each run of rows of one id is one order.
pub(crate) fn stored_orders<R>(rows: &[R]) -> Result<Vec<StoredOrder>, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut orders = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let rest = rows.get(start..).unwrap_or_default();
        let first: String = rest
            .first()
            .map(|r| get(r, "id"))
            .transpose()?
            .unwrap_or_default();
        let mut len = 0;
        for row in rest {
            let id: String = get(row, "id")?;
            if id != first {
                break;
            }
            len += 1;
        }
        if let Some(order) = stored_order(rest.get(..len).unwrap_or_default())? {
            orders.push(order);
        }
        start += len.max(1);
    }
    Ok(orders)
}

/// `order_id`, `from_state`, `to_state`, `at` of `order_moves`.
pub(crate) fn order_move<R>(row: &R) -> Result<custodian_core::vault::OrderMove, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(custodian_core::vault::OrderMove {
        order: order_id(row, "order_id")?,
        from: order_state(row, "from_state")?,
        to: order_state(row, "to_state")?,
        at: timestamp(row, "at")?,
    })
}

/// The columns of `export_links`, in the order of [`export_link`].
pub(crate) const EXPORT_LINK_COLUMNS: &str =
    "digest, customer_id, request_id, created_by, created_at, expires_at, used_at";

pub(crate) fn export_link<R>(
    row: &R,
) -> Result<custodian_core::rights::export::StoredExportLink, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    let request: Option<String> = get(row, "request_id")?;
    Ok(custodian_core::rights::export::StoredExportLink {
        digest: get(row, "digest")?,
        customer: customer_id(row, "customer_id")?,
        request: match request {
            Some(r) => Some(
                RequestId::parse(&r).ok_or_else(|| StoreError::Corrupt("bad request id".into()))?,
            ),
            None => None,
        },
        created_by: get(row, "created_by")?,
        created_at: timestamp(row, "created_at")?,
        expires_at: timestamp(row, "expires_at")?,
        used_at: timestamp_opt(row, "used_at")?,
    })
}

/// A payload's stored columns: the bytes, the key version (0 when not sealed) and whether it
/// is sealed (`payload_sealed`: 1, or 0 for a payload that holds nothing personal).
pub(crate) fn payload_columns(payload: &Payload) -> (Vec<u8>, i64, i64) {
    match payload {
        Payload::Sealed(s) => (s.sealed.clone(), i64::from(s.key_version), 1),
        Payload::Public(body) => (body.clone(), 0, 0),
    }
}

/// The limits in force as the customer's row carries them: `kind:purpose` pairs joined by
/// commas (`restriction:`, `objection:security`), or nothing.
pub(crate) fn limit_kinds(text: Option<String>) -> Result<Vec<LimitKind>, StoreError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|pair| match pair.split_once(':') {
            Some(("restriction", "")) => Ok(LimitKind::Restriction),
            Some(("objection", purpose)) if !purpose.is_empty() => {
                Ok(LimitKind::Objection(purpose.to_owned()))
            }
            _ => Err(StoreError::Corrupt("bad limit".into())),
        })
        .collect()
}
