//! The one-time code that proves a customer made a request about their data (P1: identity
//! verification before anything is released or changed). Sent to the email on file — read by
//! Custodian, never shown to whoever asks for the code — and read back by the customer in the
//! privacy centre, or to the DPO entering a request made by email or letter. Stored and
//! checked like every code here — an HMAC, compared in constant time, good once, for
//! [`CODE_VALID`] — with [`MAX_REQUEST_CODE_ATTEMPTS`] attempts over the request's life: a new
//! code carries the attempts already spent, and sending is rate-limited, so re-sending buys
//! neither guesses nor a flood of email.

use jiff::Timestamp;

use custodian_crypto::{OneTimeCode, verify_code};
use custodian_policy::Lang;

use super::{
    CODE_DIGITS, CODE_VALID, Care, CareError, deliverable, notifier_error, notifier_reason, reject,
};
use crate::access::SystemTask;
use crate::audit::Decision;
use crate::error::ErrorCode;
use crate::ids::RequestId;
use crate::notify::{Channel, CodeMessage, CodePurpose};
use crate::rights::request::{RequestState, StoredRequestCode};
use crate::vault::{Fulfilment, RequestContext};

/// Wrong codes a request may receive, over all its codes; then only the DPO can verify it
/// (moving it to verified and saying how).
pub const MAX_REQUEST_CODE_ATTEMPTS: u32 = 10;

/// The `action` of the audit events written here.
pub mod action {
    pub const REQUEST_CODE: &str = "request.code_sent";
    pub const REQUEST_VERIFY: &str = "request.code_checked";
}

/// A code went out for the request.
#[derive(Debug, serde::Serialize)]
pub struct RequestCodeSent {
    pub request: RequestId,
    /// Where it went: `email` (never the address).
    pub channel: &'static str,
    pub code_expires_at: Timestamp,
}

impl Care {
    /// Sends the code that verifies an acknowledged request to the customer's email on file.
    /// The customer asks for their own request; the DPO (`requests.manage`) for a request
    /// entered from an email or a letter.
    pub async fn send_request_code(
        &self,
        ctx: &RequestContext,
        id: &RequestId,
        lang: Lang,
    ) -> Result<RequestCodeSent, CareError> {
        let request = self.vault.request_for(ctx, id).await?;
        // Each code starts its attempts afresh: sending is limited too, per request and per
        // customer, so that new codes cannot buy unlimited guesses (nor flood an inbox).
        self.limiter
            .take(
                &[
                    format!("request:{id}"),
                    format!("request-customer:{}", request.customer),
                ],
                self.clock.now(),
            )
            .map_err(|retry_after| CareError::RateLimited { retry_after })?;
        if request.state != RequestState::Acknowledged {
            return Err(reject(
                ErrorCode::RequestTransitionNotAllowed,
                format!(
                    "a request that is {} is not waiting for a code",
                    request.state.as_str()
                ),
                "id",
            ));
        }
        let channel = Channel::Email;
        let mut event = self.event(
            self.clock.now(),
            ctx.principal.audit_name(),
            action::REQUEST_CODE,
            Some(&request.customer),
            ctx.request_id.clone(),
        );
        event.withheld.push(format!("request:{id}"));
        if let Err(e) = deliverable(self.notifier.as_ref(), channel) {
            event.decision = Decision::Denied;
            event
                .withheld
                .push(format!("reason:{}", notifier_reason(&e)));
            self.vault.audit(event).await?;
            return Err(notifier_error(&e));
        }
        let Some(contact) = self
            .vault
            .contact_on_file(
                &request.customer,
                channel,
                SystemTask::RequestVerification,
                ctx.request_id.clone(),
            )
            .await?
        else {
            event.decision = Decision::Denied;
            event.withheld.push("reason:no_contact_on_file".into());
            self.vault.audit(event).await?;
            return Err(reject(
                ErrorCode::NoContactOnFile,
                "the customer has no email on file: verify the request another way and say \
                 how when moving it to verified",
                "channel",
            ));
        };
        let now = self.clock.now();
        let code = OneTimeCode::generate(CODE_DIGITS)?;
        let code_expires_at = now.saturating_add(CODE_VALID).unwrap_or(now);
        let store = self.vault.requests_port()?;
        let spent = store.request_code(id).await?.map_or(0, |c| c.attempts);
        store
            .put_request_code(&StoredRequestCode {
                request: id.clone(),
                code_digest: code.digest(&self.code_key),
                attempts: spent,
                expires_at: code_expires_at,
            })
            .await?;
        let message = CodeMessage::new(
            code,
            CodePurpose::RequestVerification,
            lang,
            code_expires_at,
            CODE_VALID,
        );
        if let Err(e) = self.notifier.send_code(&contact, &message).await {
            event.decision = Decision::Denied;
            event
                .withheld
                .push(format!("reason:{}", notifier_reason(&e)));
            self.vault.audit(event).await?;
            return Err(notifier_error(&e));
        }
        self.vault.audit(event).await?;
        Ok(RequestCodeSent {
            request: id.clone(),
            channel: channel.as_str(),
            code_expires_at,
        })
    }

    /// Checks the code read back and, if it is right, marks the request verified. The
    /// customer's own request is then carried out at once where it can be
    /// ([`crate::vault::Vault::fulfil_request`]): everything but a correction, which staff make.
    pub async fn verify_request_code(
        &self,
        ctx: &RequestContext,
        id: &RequestId,
        code: &str,
    ) -> Result<VerifiedRequest, CareError> {
        let request = self.vault.request_for(ctx, id).await?;
        let now = self.clock.now();
        let mut event = self.event(
            now,
            ctx.principal.audit_name(),
            action::REQUEST_VERIFY,
            Some(&request.customer),
            ctx.request_id.clone(),
        );
        event.withheld.push(format!("request:{id}"));
        let store = self.vault.requests_port()?;
        let expired = || {
            reject(
                ErrorCode::CodeExpired,
                "the code expired, was used, or its attempts are spent: ask for a new one (after 10 \
                 wrong codes, only the DPO can verify the request)",
                "code",
            )
        };
        let pending = store
            .request_code(id)
            .await?
            .filter(|c| now < c.expires_at && request.state == RequestState::Acknowledged);
        let Some(pending) = pending else {
            event.decision = Decision::Denied;
            event.withheld.push("reason:no_code".into());
            self.vault.audit(event).await?;
            return Err(expired());
        };
        // Counted before it is compared: concurrent guesses cannot get past the limit.
        let counted = store
            .count_request_code_attempt(id, MAX_REQUEST_CODE_ATTEMPTS)
            .await?;
        let right = verify_code(&self.code_key, code.trim(), &pending.code_digest);
        let refusal = match counted {
            None => Some(("attempts_spent", expired())),
            Some(_) if right => None,
            Some(n) if n >= MAX_REQUEST_CODE_ATTEMPTS => Some(("wrong_code", expired())),
            Some(n) => Some((
                "wrong_code",
                reject(
                    ErrorCode::InvalidCode,
                    format!(
                        "the code is not the one sent; {} attempts left",
                        MAX_REQUEST_CODE_ATTEMPTS - n
                    ),
                    "code",
                ),
            )),
        };
        if let Some((reason, error)) = refusal {
            event.decision = Decision::Denied;
            event.withheld.push(format!("reason:{reason}"));
            self.vault.audit(event).await?;
            return Err(error);
        }
        if !store.take_request_code(id, &pending.code_digest).await? {
            event.decision = Decision::Denied;
            event.withheld.push("reason:code_used".into());
            self.vault.audit(event).await?;
            return Err(expired());
        }
        self.vault.audit(event).await?;
        let verified = self
            .vault
            .verify_request(ctx, &request, "one_time_code")
            .await?;
        let own = matches!(ctx.principal, crate::access::Principal::Customer { .. });
        let fulfilment = if own && verified.kind != "correction" {
            Some(self.vault.fulfil_request(ctx, id).await?)
        } else {
            None
        };
        Ok(VerifiedRequest {
            request: id.clone(),
            fulfilment,
        })
    }
}

/// A request verified by its code, and what was done with it at once.
#[derive(Debug, serde::Serialize)]
pub struct VerifiedRequest {
    pub request: RequestId,
    /// The customer's own request, carried out (all but a correction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<Fulfilment>,
}
