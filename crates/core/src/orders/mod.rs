//! Orders (P6): what a customer or a guest bought, where it goes and how it is paid — a
//! processor's token with the card's brand, last four digits and expiry, never the card.
//!
//! An order's fields are personal data of its data subject, sealed under their key like a
//! profile's; only its state is in the clear, since need-to-know depends on it (fulfilment
//! sees an order's categories only while it is being fulfilled). The use cases are on
//! [`crate::vault::Vault`] (`vault/orders.rs`); this module holds the states (the guard against
//! card data, which runs on every request, is [`crate::card`]).

use serde::{Deserialize, Serialize};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Placed,
    Paid,
    Fulfilling,
    Shipped,
    Delivered,
    Cancelled,
    Returned,
}

impl OrderState {
    /// The state in words, as the customer reads it (the export's report).
    pub fn label(self, lang: custodian_policy::Lang) -> &'static str {
        let (vi, en) = match self {
            OrderState::Placed => ("Đã đặt", "Placed"),
            OrderState::Paid => ("Đã thanh toán", "Paid"),
            OrderState::Fulfilling => ("Đang chuẩn bị giao", "Being prepared for delivery"),
            OrderState::Shipped => ("Đang giao", "Shipped"),
            OrderState::Delivered => ("Đã giao", "Delivered"),
            OrderState::Cancelled => ("Đã hủy", "Cancelled"),
            OrderState::Returned => ("Đã trả hàng", "Returned"),
        };
        match lang {
            custodian_policy::Lang::Vi => vi,
            custodian_policy::Lang::En => en,
        }
    }

    pub const ALL: [OrderState; 7] = [
        OrderState::Placed,
        OrderState::Paid,
        OrderState::Fulfilling,
        OrderState::Shipped,
        OrderState::Delivered,
        OrderState::Cancelled,
        OrderState::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Placed => "placed",
            OrderState::Paid => "paid",
            OrderState::Fulfilling => "fulfilling",
            OrderState::Shipped => "shipped",
            OrderState::Delivered => "delivered",
            OrderState::Cancelled => "cancelled",
            OrderState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The states an order may move to from this one. An order is cancelled before it
    /// ships, returned after; cancelled and returned orders are final.
    pub fn next(self) -> &'static [OrderState] {
        match self {
            OrderState::Placed => &[OrderState::Paid, OrderState::Cancelled],
            OrderState::Paid => &[OrderState::Fulfilling, OrderState::Cancelled],
            OrderState::Fulfilling => &[OrderState::Shipped, OrderState::Cancelled],
            OrderState::Shipped => &[OrderState::Delivered, OrderState::Returned],
            OrderState::Delivered => &[OrderState::Returned],
            OrderState::Cancelled | OrderState::Returned => &[],
        }
    }

    pub fn may_become(self, to: OrderState) -> bool {
        self.next().contains(&to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_go_forward_and_end() {
        assert!(OrderState::Placed.may_become(OrderState::Paid));
        assert!(OrderState::Paid.may_become(OrderState::Fulfilling));
        assert!(OrderState::Fulfilling.may_become(OrderState::Shipped));
        assert!(OrderState::Shipped.may_become(OrderState::Delivered));
        assert!(OrderState::Delivered.may_become(OrderState::Returned));
        assert!(
            !OrderState::Placed.may_become(OrderState::Fulfilling),
            "paid first"
        );
        assert!(
            !OrderState::Shipped.may_become(OrderState::Cancelled),
            "returned, not cancelled"
        );
        assert!(!OrderState::Delivered.may_become(OrderState::Placed));
        for end in [OrderState::Cancelled, OrderState::Returned] {
            assert!(end.next().is_empty());
        }
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(s));
            assert!(!s.may_become(s), "no move to itself");
        }
    }
}
