//! Data subjects' requests on every backend: one open request per kind (a second is merged
//! into it), moves that succeed only from the state they expect, an append-only trail.

use custodian_core::ids::RequestId;
use custodian_core::rights::request::{RequestChannel, RequestEvent, RequestState, StoredRequest};
use jiff::Timestamp;
use serde_json::json;

use crate::suite::{Backend, Fixture, ctx, fields};

pub async fn requests_merge_duplicates_and_move_forward_once(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let customer = f
        .vault
        .create(
            &ctx("account"),
            &fields(json!({
                "account_name.full_name": "Triệu Thị Trinh",
                "account_email.email": "trieu.trinh@example.com",
            })),
        )
        .await
        .unwrap();
    let at: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
    let request = |kind: &str| StoredRequest {
        id: RequestId::generate(at).unwrap(),
        customer: customer.clone(),
        kind: kind.to_owned(),
        state: RequestState::Received,
        channel: RequestChannel::PrivacyCentre,
        entered_by: format!("customer:{customer}"),
        received_at: at,
        partners_involved: false,
        acknowledge_by: "2026-12-02".parse().unwrap(),
        complete_by: "2026-12-14".parse().unwrap(),
        extension_limit: "2026-12-28".parse().unwrap(),
        reason: None,
        details: None,
        updated_at: at,
    };
    let received = |r: &StoredRequest| RequestEvent {
        request: r.id.clone(),
        at,
        from: None,
        to: RequestState::Received,
        actor: r.entered_by.clone(),
        note: None,
    };
    let first = request("access");
    b.requests
        .create(&first, &received(&first))
        .await
        .unwrap()
        .unwrap();
    // A second open access request is the first one.
    let second = request("access");
    let merged = b
        .requests
        .create(&second, &received(&second))
        .await
        .unwrap();
    assert_eq!(merged.unwrap_err().id, first.id);
    assert!(b.requests.get(&second.id).await.unwrap().is_none());
    // Another kind is another request.
    let deletion = request("deletion");
    b.requests
        .create(&deletion, &received(&deletion))
        .await
        .unwrap()
        .unwrap();

    // Two staff members acknowledge at once: one moves it.
    let ack = RequestEvent {
        from: Some(RequestState::Received),
        to: RequestState::Acknowledged,
        ..received(&first)
    };
    let (one, two) = tokio::join!(
        b.requests
            .transition(RequestState::Received, &ack, None, None),
        b.requests
            .transition(RequestState::Received, &ack, None, None),
    );
    assert_eq!(
        [one.unwrap(), two.unwrap()].iter().filter(|x| **x).count(),
        1
    );
    // Completed, the kind is free again.
    for (from, to) in [
        (RequestState::Acknowledged, RequestState::Verified),
        (RequestState::Verified, RequestState::InProgress),
        (RequestState::InProgress, RequestState::Extended),
        (RequestState::Extended, RequestState::Completed),
    ] {
        let event = RequestEvent {
            from: Some(from),
            to,
            ..received(&first)
        };
        let due = (to == RequestState::Extended).then(|| "2026-12-24".parse().unwrap());
        let reason = (to == RequestState::Extended).then_some("partners must act");
        assert!(
            b.requests
                .transition(from, &event, due, reason)
                .await
                .unwrap()
        );
    }
    let done = b.requests.get(&first.id).await.unwrap().unwrap();
    assert_eq!(done.state, RequestState::Completed);
    assert_eq!(done.complete_by.to_string(), "2026-12-24");
    assert_eq!(done.reason.as_deref(), Some("partners must act"));
    let again = request("access");
    b.requests
        .create(&again, &received(&again))
        .await
        .unwrap()
        .unwrap();

    let trail: Vec<RequestState> = b
        .requests
        .events(&first.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.to)
        .collect();
    assert_eq!(
        trail,
        [
            RequestState::Received,
            RequestState::Acknowledged,
            RequestState::Verified,
            RequestState::InProgress,
            RequestState::Extended,
            RequestState::Completed,
        ]
    );
    let open: std::collections::BTreeSet<String> = b
        .requests
        .open()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    let expected: std::collections::BTreeSet<String> =
        [deletion.id.to_string(), again.id.to_string()].into();
    assert_eq!(open, expected);
    assert_eq!(b.requests.of_customer(&customer).await.unwrap().len(), 3);
}
