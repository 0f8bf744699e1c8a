pub mod access;
pub mod care;
pub mod choices;
pub mod consents;
pub mod customers;
pub mod erasure;
pub mod exports;
pub mod health;
pub mod legal;
pub mod orders;
pub mod outbox;
pub mod policy;
pub mod privacy;
pub mod requests;
pub mod staff;
pub mod storefront;

use crate::error::HttpError;
use custodian_core::error::ApiError;

pub async fn not_found() -> HttpError {
    HttpError(ApiError::not_found())
}
