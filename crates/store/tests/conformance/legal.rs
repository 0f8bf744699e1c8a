//! Legal requests on every backend: approval and release move a request forward once, even
//! when two try at the same moment; silenced releases become visible when lifted.

use custodian_core::ids::{CustomerId, LegalRequestId};
use custodian_core::legal::{LegalRelease, LegalRequest, LegalStatus};
use jiff::Timestamp;
use serde_json::json;

use crate::suite::{Backend, Fixture, ctx, fields};

pub async fn legal_requests_move_forward_once(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let customer: CustomerId = f
        .vault
        .create(
            &ctx("account"),
            &fields(json!({
                "account_name.full_name": "Lý Công Uẩn",
                "account_email.email": "ly.cong.uan@example.com",
            })),
        )
        .await
        .unwrap();
    let at: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
    let request = LegalRequest {
        id: LegalRequestId::generate(at).unwrap(),
        authority: "courts_and_investigators".into(),
        reference: "Quyết định số 7/2026".into(),
        customers: vec![customer.clone()],
        categories: vec!["account_name".into()],
        period_from: Some(at),
        period_to: None,
        notify: false,
        silence_until: None,
        status: LegalStatus::Requested,
        requested_by: "usr_dpo".into(),
        requested_at: at,
        approved_by: None,
        approved_at: None,
        released_at: None,
    };
    b.legal.create(&request).await.unwrap();
    assert_eq!(b.legal.get(&request.id).await.unwrap().unwrap(), request);

    let release = LegalRelease {
        request: request.id.clone(),
        customer: customer.clone(),
        authority: request.authority.clone(),
        categories: request.categories.clone(),
        fields: vec!["account_name.full_name".into()],
        at,
        digest: "sha256:00".into(),
        visible_from: None,
    };
    // Not approved: no release.
    assert!(
        !b.legal
            .release(&request.id, at, std::slice::from_ref(&release))
            .await
            .unwrap()
    );
    let (one, two) = tokio::join!(
        b.legal.approve(&request.id, "usr_admin_1", at),
        b.legal.approve(&request.id, "usr_admin_2", at),
    );
    assert_eq!(
        [one.unwrap(), two.unwrap()].iter().filter(|x| **x).count(),
        1
    );
    let (one, two) = tokio::join!(
        b.legal
            .release(&request.id, at, std::slice::from_ref(&release)),
        b.legal
            .release(&request.id, at, std::slice::from_ref(&release)),
    );
    assert_eq!(
        [one.unwrap(), two.unwrap()].iter().filter(|x| **x).count(),
        1
    );
    let stored = b.legal.get(&request.id).await.unwrap().unwrap();
    assert_eq!(stored.status, LegalStatus::Released);
    let releases = b.legal.releases_of(&customer).await.unwrap();
    assert_eq!(releases, vec![release.clone()], "released once");

    let later: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
    b.legal.lift_silence(&request.id, later).await.unwrap();
    assert_eq!(
        b.legal.releases_of(&customer).await.unwrap()[0].visible_from,
        Some(later)
    );
}
