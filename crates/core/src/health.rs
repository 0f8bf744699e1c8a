//! The readiness port: can the store answer right now?

use async_trait::async_trait;

use crate::StoreError;

#[async_trait]
pub trait Health: Send + Sync {
    /// Succeeds when the backing store answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;
}
