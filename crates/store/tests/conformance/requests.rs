//! Data subjects' requests on every backend: one open request per kind (a second is merged
//! into it), moves that succeed only from the state they expect, an append-only trail.

use custodian_core::ids::RequestId;
use custodian_core::rights::request::{
    LimitKind, ProcessingLimit, RequestChannel, RequestEvent, RequestState, StoredRequest,
    StoredRequestCode,
};
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
        purposes: Vec::new(),
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

/// Limits on processing and the codes that verify requests, on every backend: a limit in force
/// is applied once (applying it again changes nothing) and lifted once; a code is replaced by a
/// newer one, counted up to its limit, and taken once.
pub async fn limits_apply_once_and_lift_once(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let customer = f
        .vault
        .create(
            &ctx("account"),
            &fields(json!({
                "account_name.full_name": "Quách Thị Mai",
                "account_email.email": "quach.mai@example.com",
            })),
        )
        .await
        .unwrap();
    let at: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
    let limit = |kind: LimitKind| ProcessingLimit {
        customer: customer.clone(),
        kind,
        request: None,
        since: at,
    };
    let restriction = limit(LimitKind::Restriction);
    let objection = limit(LimitKind::Objection("security".into()));
    b.requests
        .apply_limits(&[restriction.clone(), objection.clone()])
        .await
        .unwrap();
    b.requests
        .apply_limits(std::slice::from_ref(&restriction))
        .await
        .unwrap();
    assert_eq!(
        b.requests.limits(&customer).await.unwrap(),
        [restriction.clone(), objection.clone()]
    );
    let (one, two) = tokio::join!(
        b.requests
            .lift_limit(&customer, &LimitKind::Restriction, at, "customer"),
        b.requests
            .lift_limit(&customer, &LimitKind::Restriction, at, "dpo"),
    );
    assert_eq!(
        [one.unwrap(), two.unwrap()].iter().filter(|x| **x).count(),
        1
    );
    assert_eq!(b.requests.limits(&customer).await.unwrap(), [objection]);
    // Lifted, it may be asked for again.
    b.requests
        .apply_limits(std::slice::from_ref(&restriction))
        .await
        .unwrap();
    assert_eq!(b.requests.limits(&customer).await.unwrap().len(), 2);

    // Codes: one per request, the newer replaces the older, taken once.
    let id = RequestId::generate(at).unwrap();
    let request = StoredRequest {
        id: id.clone(),
        customer: customer.clone(),
        kind: "restriction".into(),
        state: RequestState::Acknowledged,
        channel: RequestChannel::PrivacyCentre,
        entered_by: format!("customer:{customer}"),
        received_at: at,
        partners_involved: false,
        acknowledge_by: "2026-12-02".parse().unwrap(),
        complete_by: "2026-12-21".parse().unwrap(),
        extension_limit: "2027-01-11".parse().unwrap(),
        reason: None,
        details: None,
        purposes: vec!["security".into()],
        updated_at: at,
    };
    let event = RequestEvent {
        request: id.clone(),
        at,
        from: None,
        to: RequestState::Acknowledged,
        actor: "test".into(),
        note: None,
    };
    b.requests.create(&request, &event).await.unwrap().unwrap();
    assert_eq!(
        b.requests.get(&id).await.unwrap().unwrap().purposes,
        ["security"]
    );
    let code = |digest: u8| StoredRequestCode {
        request: id.clone(),
        code_digest: [digest; 32],
        attempts: 0,
        expires_at: at,
    };
    b.requests.put_request_code(&code(1)).await.unwrap();
    assert_eq!(
        b.requests.count_request_code_attempt(&id, 2).await.unwrap(),
        Some(1)
    );
    b.requests.put_request_code(&code(2)).await.unwrap();
    let pending = b.requests.request_code(&id).await.unwrap().unwrap();
    assert_eq!(pending.code_digest, [2; 32]);
    assert_eq!(pending.attempts, 0, "a new code starts its attempts afresh");
    for expected in [Some(1), Some(2), None] {
        assert_eq!(
            b.requests.count_request_code_attempt(&id, 2).await.unwrap(),
            expected
        );
    }
    assert!(!b.requests.take_request_code(&id, &[1; 32]).await.unwrap());
    let (one, two) = tokio::join!(
        b.requests.take_request_code(&id, &[2; 32]),
        b.requests.take_request_code(&id, &[2; 32]),
    );
    assert_eq!(
        [one.unwrap(), two.unwrap()].iter().filter(|x| **x).count(),
        1
    );
    assert!(b.requests.request_code(&id).await.unwrap().is_none());
}
