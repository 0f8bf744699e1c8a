//! The data subject's rights (P1): requests, their deadlines, and what each does.

pub mod request;
