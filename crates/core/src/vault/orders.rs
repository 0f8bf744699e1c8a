//! The order use cases (P6, P14): placing an order for a customer or a guest, reading it as
//! the access decision allows (fulfilment sees an order's categories only while it is being
//! fulfilled), and moving it along its states.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use custodian_crypto::DataKey;
use custodian_policy::{Category, Field, Operation, Purpose, Section};

use super::{
    OpenKey, OrderSummary, RequestContext, StoredKey, StoredOrder, Vault, VaultError, Write,
    conflict, key_context, not_found, note, record, reject, summary,
};
use crate::access::{AccessContext, Disclosure, FieldOutcome, Principal, Withheld};
use crate::error::ErrorCode;
use crate::ids::{CustomerId, OrderId};
use crate::orders::OrderState;
use crate::personal::Personal;

/// The sealed field that holds an order's items, as one list.
const ITEMS: &str = "order_items";

/// The amount to pay, computed from the items when the policy declares it: what the payment
/// processor is told, rather than the basket.
const AMOUNT: &str = "order_payment.amount";

/// An order as one purpose may see it.
#[derive(Debug, Serialize)]
pub struct OrderView {
    pub id: OrderId,
    pub customer: CustomerId,
    pub state: OrderState,
    pub placed_at: Timestamp,
    pub updated_at: Timestamp,
    pub purpose: String,
    /// Each item's fields, or why the items are withheld.
    pub items: ItemsView,
    pub fields: BTreeMap<String, Disclosure>,
}

/// An order's items: each field of each item, or the reason they are withheld.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ItemsView {
    Items(Vec<BTreeMap<String, Disclosure>>),
    Withheld { withheld: Withheld },
}

/// What placing an order created.
#[derive(Debug, Serialize)]
pub struct PlacedOrder {
    pub id: OrderId,
    /// The data subject: the customer named, or the guest created for the order.
    pub customer: CustomerId,
    pub guest: bool,
    pub state: OrderState,
}

#[derive(Debug, Serialize)]
pub struct OrderLine {
    pub id: OrderId,
    pub state: OrderState,
    pub placed_at: Timestamp,
}

impl Vault {
    /// The categories an order holds: every category in the order section.
    fn order_categories(&self) -> impl Iterator<Item = &Category> {
        self.policy
            .categories
            .iter()
            .filter(|c| c.section == Section::Order)
    }

    /// The category of items (its fields describe one item).
    fn items_category(&self) -> Option<&Category> {
        self.policy.category_named(ITEMS)
    }

    /// Places an order for `customer`, or for a guest — who becomes a data subject of their
    /// own, with their own key — when `customer` is `None`. `items` are objects of the item
    /// category's fields; `fields` are the order's other `category.field`s. Every required
    /// category of the purpose must be given; card data never gets this far (the HTTP layer
    /// refuses the whole request first).
    pub async fn place_order(
        &self,
        ctx: &RequestContext,
        customer: Option<&CustomerId>,
        items: &[Map<String, Value>],
        fields: &Map<String, Value>,
    ) -> Result<PlacedOrder, VaultError> {
        self.check_operation(ctx, Operation::OrdersCreate)?;
        let purpose = self.purpose(ctx)?;
        let decision = self.decide(ctx, purpose, customer).await?;
        // Writing is allowed where the decision allows the purpose at all: a category the
        // caller may not read back (a restricted one: card brand and last digits for the
        // storefront) is write-only for it.
        let writable = |category: &Category, name: &str| -> Result<(), VaultError> {
            match self.engine.outcome(&decision, category) {
                FieldOutcome::Clear | FieldOutcome::Masked => Ok(()),
                FieldOutcome::Withheld(Withheld::NotForRole | Withheld::Restricted)
                    if decision.refusal().is_none() =>
                {
                    Ok(())
                }
                FieldOutcome::Withheld(Withheld::NotForPurpose) => Err(reject(
                    ErrorCode::FieldNotAllowed,
                    format!("purpose `{}` does not use field `{name}`", purpose.id),
                    name,
                )),
                FieldOutcome::Withheld(reason) => Err(super::access_denied(reason, name)),
            }
        };
        let mut values: Vec<(&Category, &Field, Personal)> = Vec::new();
        for (name, value) in fields {
            let Some((category, field)) = self.policy.field_named(name) else {
                return Err(reject(
                    ErrorCode::UndeclaredField,
                    "`fields` names a field the policy does not declare (see /v1/policy)",
                    "fields",
                ));
            };
            if category.section != Section::Order || category.id.as_str() == ITEMS {
                return Err(reject(
                    ErrorCode::FieldNotAllowed,
                    format!("field `{name}` is not an order field (items go in `items`)"),
                    name,
                ));
            }
            writable(category, name)?;
            let value = super::input::normalise(field, value, self.phone_region)
                .map_err(|e| reject(e.code, format!("field `{name}` {e}"), name))?;
            values.push((category, field, value));
        }
        if fields.contains_key(AMOUNT) {
            return Err(reject(
                ErrorCode::FieldNotAllowed,
                format!("field `{AMOUNT}` is computed from the items, not sent"),
                AMOUNT,
            ));
        }
        let items = self.accept_items(purpose, items, &writable)?;
        if let Some((category, field)) = self.policy.field_named(AMOUNT)
            && !items.is_empty()
        {
            writable(category, AMOUNT)?;
            let amount = amount_of(&items).ok_or_else(|| {
                reject(
                    ErrorCode::InvalidField,
                    "the items' quantities and unit prices do not add up to an amount",
                    "items",
                )
            })?;
            values.push((category, field, Personal::new(amount.to_string())));
        }
        for category in self.order_categories() {
            let required = purpose.required.contains(&category.id);
            let given = category.id.as_str() == ITEMS && !items.is_empty()
                || values.iter().any(|(c, ..)| c.id == category.id);
            if required && !given {
                let name = if category.id.as_str() == ITEMS {
                    "items".to_owned()
                } else {
                    category.fields.first().map_or_else(
                        || category.id.to_string(),
                        |f| format!("{}.{}", category.id, f.name),
                    )
                };
                return Err(reject(
                    ErrorCode::MissingField,
                    format!(
                        "purpose `{}` requires category `{}` in an order",
                        purpose.id, category.id
                    ),
                    &name,
                ));
            }
        }

        let now = self.clock.now();
        let mut writes = Vec::new();
        let (subject, key, guest) = match customer {
            Some(id) => {
                let (_, key) = self.load_live(ctx, "order.place", id).await?;
                (id.clone(), key, false)
            }
            None => {
                let (id, key) = self.new_subject(now).await?;
                writes.push(Write::CreateCustomer {
                    id: id.clone(),
                    created_at: now,
                });
                (id, key, true)
            }
        };
        let id = OrderId::generate(now)?;
        let mut sealed = Vec::new();
        let mut event = self.event(ctx, "order.place", Some(&subject));
        for (category, field, value) in &values {
            let name = format!("{}.{}", category.id, field.name);
            sealed.push(self.seal_field(
                &key,
                &subject,
                id.as_str(),
                &name,
                value.expose().as_bytes(),
            )?);
            note(&mut event, category, &name);
        }
        if let Some(category) = self.items_category().filter(|_| !items.is_empty()) {
            let list = Value::Array(items.into_iter().map(Value::Object).collect());
            let list = Personal::new(list.to_string());
            sealed.push(self.seal_field(
                &key,
                &subject,
                id.as_str(),
                ITEMS,
                list.expose().as_bytes(),
            )?);
            note(&mut event, category, ITEMS);
        }
        event.withheld.push(format!("order:{id}"));
        writes.push(Write::CreateOrder {
            order: StoredOrder {
                id: id.clone(),
                customer: subject.clone(),
                state: OrderState::Placed,
                placed_at: now,
                updated_at: now,
                fields: sealed,
            },
        });
        match self.try_commit(writes, vec![event.clone()]).await? {
            Ok(()) => Ok(PlacedOrder {
                id,
                customer: subject,
                guest,
                state: OrderState::Placed,
            }),
            Err(c) => {
                if guest {
                    let _ = self.key_store.destroy(&subject).await;
                }
                self.record_refusal(vec![event]).await?;
                Err(conflict(c))
            }
        }
    }

    /// Checks and normalises each item's fields; every field of the item category is
    /// required in each item.
    fn accept_items(
        &self,
        purpose: &Purpose,
        items: &[Map<String, Value>],
        writable: &dyn Fn(&Category, &str) -> Result<(), VaultError>,
    ) -> Result<Vec<Map<String, Value>>, VaultError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let Some(category) = self.items_category() else {
            return Err(reject(
                ErrorCode::FieldNotAllowed,
                format!("purpose `{}` takes no items", purpose.id),
                "items",
            ));
        };
        writable(category, "items")?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                if item.keys().any(|k| category.field(k).is_none()) {
                    let at = format!("items[{i}]");
                    return Err(reject(
                        ErrorCode::UndeclaredField,
                        format!(
                            "`{at}` has a field an item does not have; an item has {}",
                            crate::error::one_of(category.fields.iter().map(|f| f.name.as_str()))
                        ),
                        &at,
                    ));
                }
                let mut checked = Map::new();
                for field in &category.fields {
                    let at = format!("items[{i}].{}", field.name);
                    let Some(value) = item.get(&field.name) else {
                        return Err(reject(
                            ErrorCode::MissingField,
                            format!("an item needs `{}`", field.name),
                            &at,
                        ));
                    };
                    let value = super::input::normalise(field, value, self.phone_region)
                        .map_err(|e| reject(e.code, format!("field `{at}` {e}"), &at))?;
                    checked.insert(field.name.clone(), Value::String(value.expose().to_owned()));
                }
                Ok(checked)
            })
            .collect()
    }

    /// A new data subject's id and data key, the key already stored (a key without a
    /// subject is harmless; a subject without a key, lost).
    pub(super) async fn new_subject(
        &self,
        now: Timestamp,
    ) -> Result<(CustomerId, OpenKey), VaultError> {
        let (id, key, stored) = self.subject_key(now).await?;
        self.key_store.put(&stored, &[]).await?;
        Ok((id, key))
    }

    /// A new data subject's id and data key, in the clear and wrapped, not stored yet.
    pub(super) async fn subject_key(
        &self,
        now: Timestamp,
    ) -> Result<(CustomerId, OpenKey, StoredKey), VaultError> {
        let id = CustomerId::generate(now)?;
        let key = OpenKey {
            key: DataKey::generate()?,
            version: 1,
        };
        let wrapped = self
            .keys
            .wrap(&key.key, key_context(&id, key.version).as_bytes())
            .await?;
        let stored = StoredKey {
            customer: id.clone(),
            key_version: key.version,
            wrapped,
        };
        Ok((id, key, stored))
    }

    fn order_not_found() -> VaultError {
        reject(ErrorCode::OrderNotFound, "no order has this id", "id")
    }

    /// Loads an order, or records the refused attempt and reports it as not found.
    async fn load_order(
        &self,
        ctx: &RequestContext,
        action: &str,
        id: &OrderId,
    ) -> Result<StoredOrder, VaultError> {
        match self.store.order(id).await? {
            Some(order) => Ok(order),
            None => {
                let mut event = self.event(ctx, action, None);
                event.decision = crate::audit::Decision::Denied;
                event.withheld.push(format!("order:{id}"));
                self.audit_only(event).await?;
                Err(Self::order_not_found())
            }
        }
    }

    /// What the context's purpose may see of an order, field by field: decided with the
    /// order's state (a role bound to fulfilling orders sees it only while it is being
    /// fulfilled), recorded, and only then decrypted.
    pub async fn read_order(
        &self,
        ctx: &RequestContext,
        id: &OrderId,
    ) -> Result<OrderView, VaultError> {
        self.check_operation(ctx, Operation::OrdersRead)?;
        let purpose = self.purpose(ctx)?;
        let order = self.load_order(ctx, "order.read", id).await?;
        let context = AccessContext {
            fulfilling_order: order.state == OrderState::Fulfilling,
            ..self
                .access_context(&ctx.principal, Some(&order.customer), Some(purpose))
                .await?
        };
        let decision =
            self.engine
                .decide(&ctx.principal, &purpose.id, Some(&order.customer), &context);
        if decision.refusal() == Some(Withheld::NotOwnRecord) {
            let mut event = self.event(ctx, "order.read", Some(&order.customer));
            event.decision = crate::audit::Decision::Denied;
            self.audit_only(event).await?;
            return Err(Self::order_not_found());
        }
        let customer = self.load(ctx, "order.read", &order.customer).await?;
        let mut event = self.event(ctx, "order.read", Some(&order.customer));
        event.withheld.push(format!("order:{id}"));
        let mut decisions = Vec::new();
        for category in self.order_categories() {
            let names: Vec<String> = if category.id.as_str() == ITEMS {
                vec![ITEMS.to_owned()]
            } else {
                category
                    .fields
                    .iter()
                    .map(|f| format!("{}.{}", category.id, f.name))
                    .collect()
            };
            for name in names {
                let outcome = match self.engine.outcome(&decision, category) {
                    _ if customer.erased => FieldOutcome::Withheld(Withheld::Erased),
                    o if o.is_released() && !order.fields.iter().any(|f| f.field == name) => {
                        FieldOutcome::Withheld(Withheld::NotCollected)
                    }
                    o => o,
                };
                record(&mut event, category, &name, outcome);
                decisions.push((category, name, outcome));
            }
        }
        event.decision = summary(&event);
        // INVARIANT: the decision is durable in the audit log before any plaintext exists.
        self.audit_only(event).await?;

        let released = decisions.iter().any(|(_, _, o)| o.is_released());
        let key = if released {
            self.live_key(&customer).await?
        } else {
            None
        };
        let mut fields = BTreeMap::new();
        let mut items = ItemsView::Withheld {
            withheld: Withheld::NotCollected,
        };
        for (category, name, outcome) in decisions {
            let sealed = order.fields.iter().find(|f| f.field == name);
            let opened = match (outcome, &key, sealed) {
                (FieldOutcome::Withheld(reason), _, _) => Err(reason),
                (_, None, _) => Err(Withheld::Erased),
                (_, Some(_), None) => Err(Withheld::NotCollected),
                (_, Some(key), Some(sealed)) => {
                    Ok(self.open_field(key, &order.customer, id.as_str(), sealed)?)
                }
            };
            if name == ITEMS {
                items = match opened {
                    Err(withheld) => ItemsView::Withheld { withheld },
                    Ok(list) => ItemsView::Items(item_disclosures(category, outcome, &list)),
                };
                continue;
            }
            let field = category
                .fields
                .iter()
                .find(|f| name.ends_with(&format!(".{}", f.name)));
            let disclosure = match (opened, field) {
                (Err(reason), _) => Disclosure::Withheld(reason),
                (Ok(value), Some(field)) => Disclosure::release(outcome, field.ty, &value),
                (Ok(_), None) => Disclosure::Withheld(Withheld::NotForPurpose),
            };
            fields.insert(name, disclosure);
        }
        Ok(OrderView {
            id: order.id,
            customer: order.customer,
            state: order.state,
            placed_at: order.placed_at,
            updated_at: order.updated_at,
            purpose: ctx.purpose.clone(),
            items,
            fields,
        })
    }

    /// Moves an order to `to`, if its current state allows it; the move is audited. Returns
    /// the new state.
    pub async fn move_order(
        &self,
        ctx: &RequestContext,
        id: &OrderId,
        to: OrderState,
    ) -> Result<OrderState, VaultError> {
        self.check_operation(ctx, Operation::OrdersTransition)?;
        let order = self.load_order(ctx, "order.move", id).await?;
        if let Principal::Customer { id: own } = &ctx.principal
            && own != &order.customer
        {
            return Err(Self::order_not_found());
        }
        let refused = |from: OrderState| {
            reject(
                ErrorCode::OrderTransitionNotAllowed,
                format!(
                    "an order that is {} cannot become {} (next: {})",
                    from.as_str(),
                    to.as_str(),
                    from.next()
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "to",
            )
        };
        if !order.state.may_become(to) {
            return Err(refused(order.state));
        }
        let now = self.clock.now();
        let mut event = self.event(
            ctx,
            &format!("order.{}", to.as_str()),
            Some(&order.customer),
        );
        event.purpose = None;
        event.withheld.push(format!("order:{id}"));
        let mut writes = vec![Write::MoveOrder {
            order: id.clone(),
            customer: order.customer.clone(),
            from: order.state,
            to,
            at: now,
        }];
        // Entering fulfilment releases the order to the partners that fulfil it, in the
        // same transaction as the move (the transactional outbox).
        if to == OrderState::Fulfilling {
            writes.extend(self.fulfilment_messages(ctx, &order).await?);
        }
        match self.try_commit(writes, vec![event.clone()]).await? {
            Ok(()) => Ok(to),
            Err(super::Conflict::OrderMoved(_)) => {
                self.record_refusal(vec![event]).await?;
                Err(reject(
                    ErrorCode::OrderTransitionNotAllowed,
                    "the order moved meanwhile; read it again",
                    "to",
                ))
            }
            Err(c) => {
                self.record_refusal(vec![event]).await?;
                Err(conflict(c))
            }
        }
    }

    /// The outbox messages that release an order to the partners that receive order fields
    /// (the carrier, the payment processor): each exactly its declared fields, item fields
    /// as lists in item order. The order's fields are opened only after the release is
    /// recorded in the audit log (`system:outbox_delivery`).
    async fn fulfilment_messages(
        &self,
        ctx: &RequestContext,
        order: &StoredOrder,
    ) -> Result<Vec<Write>, VaultError> {
        let partners: Vec<&custodian_policy::Partner> = self
            .policy
            .partners
            .iter()
            .filter(|p| {
                p.fields.iter().all(|f| {
                    self.policy
                        .category(&f.category)
                        .is_some_and(|c| c.section == Section::Order)
                })
            })
            .collect();
        if partners.is_empty() {
            return Ok(Vec::new());
        }
        // A restriction (or an objection to a partner's purpose) stops the release, and so
        // the move: nothing is opened or queued.
        let purposes: Vec<&custodian_policy::Purpose> = partners
            .iter()
            .filter_map(|p| self.policy.purpose(&p.purpose))
            .collect();
        if let Some(reason) = self.limit_stopping(&order.customer, &purposes).await? {
            return Err(super::access_denied(reason, "purpose"));
        }
        let system = super::system_context(
            crate::access::SystemTask::OutboxDelivery,
            ctx.request_id.clone(),
        );
        let (customer, key) = self
            .load_live(&system, "order.release", &order.customer)
            .await?;
        let mut event = self.event(&system, "order.release", Some(&customer.id));
        event.withheld.push(format!("order:{}", order.id));
        for partner in &partners {
            event.purpose = Some(partner.purpose.as_str().to_owned());
            for field in &partner.fields {
                if let Some(category) = self.policy.category(&field.category) {
                    note(&mut event, category, &field.to_string());
                }
            }
        }
        // INVARIANT: the release is durable in the audit log before the order is opened.
        self.audit_only(event).await?;
        let mut opened: BTreeMap<String, Personal> = BTreeMap::new();
        for sealed in &order.fields {
            let value = self.open_field(&key, &order.customer, order.id.as_str(), sealed)?;
            opened.insert(sealed.field.clone(), value);
        }
        let items: Vec<Value> = opened
            .get(ITEMS)
            .and_then(|list| serde_json::from_str::<Value>(list.expose()).ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        let mut writes = Vec::new();
        for partner in partners {
            let mut data = BTreeMap::new();
            for field in &partner.fields {
                let name = field.to_string();
                let value = if field.category.as_str() == ITEMS {
                    // Items keep their values as text; numbers go out as numbers.
                    let integer = self
                        .policy
                        .field_named(&name)
                        .is_some_and(|(_, f)| f.ty == custodian_policy::FieldType::Integer);
                    Some(Value::Array(
                        items
                            .iter()
                            .map(|item| match item.get(&field.field) {
                                Some(Value::String(text)) if integer => text
                                    .parse::<i64>()
                                    .map_or_else(|_| Value::String(text.clone()), Value::from),
                                Some(v) => v.clone(),
                                None => Value::Null,
                            })
                            .collect(),
                    ))
                } else {
                    let integer = self
                        .policy
                        .field_named(&name)
                        .is_some_and(|(_, f)| f.ty == custodian_policy::FieldType::Integer);
                    opened.get(&name).map(|v| {
                        let text = v.expose();
                        match text.parse::<i64>() {
                            Ok(n) if integer => Value::from(n),
                            _ => Value::String(text.to_owned()),
                        }
                    })
                };
                // A field the customer declined (an optional one) is not sent.
                if let Some(value) = value {
                    data.insert(name, value);
                }
            }
            writes.push(self.message_write(
                &key,
                partner,
                &order.customer,
                "order.fulfilling",
                &format!("order.fulfilling:{}", order.id),
                None,
                &data,
            )?);
        }
        Ok(writes)
    }

    /// A customer's orders, oldest first: ids, states and dates, nothing personal.
    pub async fn orders_of(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
    ) -> Result<Vec<OrderLine>, VaultError> {
        self.check_operation(ctx, Operation::OrdersRead)?;
        if let Principal::Customer { id: own } = &ctx.principal
            && own != customer
        {
            return Err(self
                .refuse(ctx, "order.list", customer, not_found())
                .await?);
        }
        let mut event = self.event(ctx, "order.list", Some(customer));
        event.purpose = None;
        self.audit_only(event).await?;
        Ok(self
            .store
            .orders_of(customer)
            .await?
            .into_iter()
            .map(
                |OrderSummary {
                     id,
                     state,
                     placed_at,
                 }| OrderLine {
                    id,
                    state,
                    placed_at,
                },
            )
            .collect())
    }
}

/// Σ quantity × unit price over the items, checked: `None` on a missing or negative part, or
/// an overflow.
fn amount_of(items: &[Map<String, Value>]) -> Option<i64> {
    items.iter().try_fold(0i64, |sum, item| {
        let part = |name: &str| {
            item.get(name)
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|n| *n >= 0)
        };
        sum.checked_add(part("quantity")?.checked_mul(part("unit_price")?)?)
    })
}

/// Each item's fields as released: the items' category decides them all alike.
pub(super) fn item_disclosures(
    category: &Category,
    outcome: FieldOutcome,
    list: &Personal,
) -> Vec<BTreeMap<String, Disclosure>> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(list.expose()) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            category
                .fields
                .iter()
                .map(|field| {
                    let value = item
                        .get(&field.name)
                        .and_then(Value::as_str)
                        .map(|v| Personal::new(v.to_owned()));
                    let disclosure = match value {
                        Some(v) => Disclosure::release(outcome, field.ty, &v),
                        None => Disclosure::Withheld(Withheld::NotCollected),
                    };
                    (field.name.clone(), disclosure)
                })
                .collect()
        })
        .collect()
}
