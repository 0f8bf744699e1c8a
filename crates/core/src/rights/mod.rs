//! The customer's rights (P1): requests from data subjects and their deadlines.
//!
//! [`deadline`] is the pure calculator of when a request must be acknowledged and completed
//! (Decree 356/2025 art. 5 by default, GDPR art. 12(3) as the other profile): no IO, no
//! clock — the time of receipt and "now" are passed in. [`request`] holds a request's states
//! and its storage port; the use cases are on the vault (`vault/requests.rs`). [`export`] is
//! the customer's export document and its download links' port, [`export_zip`] and
//! [`export_html`] its ZIP and HTML forms; the use case is `vault/export.rs`. [`erasure`]
//! holds what a legal hold keeps of an erased customer, the completion report, the notices to
//! partners and their confirmations (use cases in `vault/erasure.rs`).

pub mod deadline;
pub mod erasure;
pub mod export;
pub mod export_html;
pub mod export_zip;
pub mod request;

pub use deadline::{
    CalendarError, DayCount, Deadlines, ExtensionError, Jurisdiction, Period, Profile, RequestKind,
    Unit, WorkingCalendar, parse_date, parse_utc_offset, parse_weekday, weekday_name,
};
