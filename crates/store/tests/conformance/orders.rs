//! Orders on every backend: sealed at rest, moves that race, erasure.

use custodian_core::access::{Disclosure, Withheld};
use custodian_core::error::ErrorCode;
use custodian_core::orders::OrderState;
use custodian_core::vault::{Conflict, ItemsView, RequestContext, Transaction, VaultError, Write};
use serde_json::{Map, Value, json};

use crate::care::agent;
use crate::consent::{ConsentFixture, holds, raw_contents};
use crate::suite::{Backend, ctx, fields};

const ADDRESS: &str = "Số 9 ngõ CanaryOrder, phố Hàng Đào";

fn items() -> Vec<Map<String, Value>> {
    vec![fields(json!({
        "product_id": "sku-lua-01",
        "product_name": "Lụa Vạn Phúc",
        "quantity": 3,
        "unit_price": 450000,
    }))]
}

fn order_fields() -> Map<String, Value> {
    fields(json!({
        "order_recipient.recipient_name": "Phan Bội Châu",
        "order_shipping_address.address_line": ADDRESS,
        "order_shipping_address.ward": "Hàng Đào",
        "order_shipping_address.province": "Hà Nội",
        "order_shipping_address.country": "VN",
        "order_payment.payment_token": "tok_test_9Kd",
        "order_payment.card_brand": "mastercard",
        "order_payment.card_last4": "4444",
        "order_payment.card_expiry": "11/28",
    }))
}

fn fulfilment() -> RequestContext {
    RequestContext {
        principal: agent("fulfilment"),
        purpose: "order_fulfilment".into(),
        request_id: None,
    }
}

fn code(e: VaultError) -> ErrorCode {
    match e {
        VaultError::Rejected(api) => api.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub async fn orders_are_sealed_and_fulfilment_sees_them_only_while_fulfilling(b: Backend) {
    let f = ConsentFixture::new(&b, custodian_policy::DEFAULT_POLICY).await;
    let placed = f
        .vault
        .place_order(&ctx("order_fulfilment"), None, &items(), &order_fields())
        .await
        .unwrap();
    assert!(placed.guest);
    let raw = raw_contents(&b);
    assert!(!holds(&raw, "CanaryOrder"), "the address is sealed at rest");
    assert!(
        !holds(&raw, "Phan Bội Châu"),
        "the recipient is sealed at rest"
    );

    let view = f.vault.read_order(&fulfilment(), &placed.id).await.unwrap();
    assert!(matches!(
        view.fields.get("order_shipping_address.address_line"),
        Some(Disclosure::Withheld(Withheld::OrderNotFulfilling))
    ));
    for to in [OrderState::Paid, OrderState::Fulfilling] {
        f.vault
            .move_order(&ctx("order_fulfilment"), &placed.id, to)
            .await
            .unwrap();
    }
    let view = f.vault.read_order(&fulfilment(), &placed.id).await.unwrap();
    assert_eq!(view.state, OrderState::Fulfilling);
    assert!(matches!(
        view.fields.get("order_shipping_address.address_line"),
        Some(Disclosure::Value(v)) if v == ADDRESS
    ));
    let ItemsView::Items(lines) = &view.items else {
        panic!("items withheld: {:?}", view.items);
    };
    assert!(matches!(lines[0].get("quantity"), Some(Disclosure::Value(q)) if q == "3"));
    // The card's brand is restricted to care agents.
    assert!(matches!(
        view.fields.get("order_payment.card_brand"),
        Some(Disclosure::Withheld(Withheld::NotForRole))
    ));
}

pub async fn order_moves_race_and_only_one_wins(b: Backend) {
    let f = ConsentFixture::new(&b, custodian_policy::DEFAULT_POLICY).await;
    let placed = f
        .vault
        .place_order(&ctx("order_fulfilment"), None, &items(), &order_fields())
        .await
        .unwrap();
    // Two moves that both read `placed` (one pays, the other cancels) reach the store at
    // once: exactly one applies, the other is refused and writes nothing.
    let at = "2026-03-01T08:00:01Z".parse().unwrap();
    let from_placed = |to| Transaction {
        writes: vec![Write::MoveOrder {
            order: placed.id.clone(),
            customer: placed.customer.clone(),
            from: OrderState::Placed,
            to,
            at,
        }],
        audit: Vec::new(),
    };
    let (a, c) = tokio::join!(
        b.store.commit(from_placed(OrderState::Paid)),
        b.store.commit(from_placed(OrderState::Cancelled)),
    );
    let (a, c) = (a.unwrap(), c.unwrap());
    assert_eq!(
        [a.is_ok(), c.is_ok()].iter().filter(|w| **w).count(),
        1,
        "{a:?} {c:?}"
    );
    assert!(matches!(
        a.err().or(c.err()),
        Some(Conflict::OrderMoved(id)) if id == placed.id
    ));
    let won = b.store.order(&placed.id).await.unwrap().unwrap().state;
    assert!(matches!(won, OrderState::Paid | OrderState::Cancelled));
    // The vault then moves on from whichever won: into fulfilment only once paid.
    let stale = f
        .vault
        .move_order(&ctx("order_fulfilment"), &placed.id, OrderState::Fulfilling)
        .await;
    if won == OrderState::Paid {
        stale.unwrap();
    } else {
        assert_eq!(
            code(stale.unwrap_err()),
            ErrorCode::OrderTransitionNotAllowed
        );
    }
    // A move the state does not allow is refused before anything is written.
    let refused = f
        .vault
        .move_order(&ctx("order_fulfilment"), &placed.id, OrderState::Delivered)
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::OrderTransitionNotAllowed);
}

pub async fn erasure_takes_the_orders_with_it(b: Backend) {
    let f = ConsentFixture::new(&b, custodian_policy::DEFAULT_POLICY).await;
    let customer = f
        .vault
        .create(
            &ctx("account"),
            &fields(json!({
                "account_name.full_name": "Phan Châu Trinh",
                "account_email.email": "phan.chau.trinh@example.com",
            })),
        )
        .await
        .unwrap();
    let placed = f
        .vault
        .place_order(
            &ctx("order_fulfilment"),
            Some(&customer),
            &items(),
            &order_fields(),
        )
        .await
        .unwrap();
    assert!(!placed.guest);
    f.vault.erase(&ctx("account"), &customer).await.unwrap();
    let view = f
        .vault
        .read_order(&ctx("order_fulfilment"), &placed.id)
        .await
        .unwrap();
    assert!(
        view.fields
            .values()
            .all(|d| matches!(d, Disclosure::Withheld(Withheld::Erased))),
        "{:?}",
        view.fields
    );
    let refused = f
        .vault
        .place_order(
            &ctx("order_fulfilment"),
            Some(&customer),
            &items(),
            &order_fields(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::CustomerNotFound);
}
