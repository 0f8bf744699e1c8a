//! The access decision engine against the `cedar-policy` crate, side by side in one run, on the
//! same store policy: `policy/default.toml` as the engine compiles it, and the same policy
//! written in Cedar — generated here from the parsed `Policy`, not copied by hand.
//!
//! Usage: `cargo build --release -p custodian-bench && target/release/access-bench`
//! (options: `--rounds N`; `--cedar` prints the generated Cedar schema and policies and stops).
//!
//! A *decision* is the outcome for one category (field group) of one customer's data for one
//! principal and purpose — clear, masked or withheld: `decide` + `outcome` for the engine, one
//! `is_authorized` for Cedar, which evaluates one (principal, action, resource) at a time. A
//! *record* is a read of every category of the policy: one `decide` + one `outcome` per
//! category, against one `is_authorized` per category.
//!
//! Before anything is timed, every request of the mix is put to both engines, for its own
//! category and for every category of the policy, and their outcomes must be equal: the run
//! stops otherwise. Prints a Markdown table for docs/PERFORMANCE.md.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::time::Instant;

use custodian_core::access::{AccessContext, AccessEngine, FieldOutcome, Principal};
use custodian_core::ids::CustomerId;
use custodian_policy::{Category, DEFAULT_POLICY, Policy, PurposeId};

/// Decisions timed together: `Instant::now` costs tens of nanoseconds, as much as one of the
/// engine's decisions, so each sample is a batch divided by its size.
const BATCH: usize = 64;
/// Distinct requests in the mix (a multiple of `BATCH`), cycled through in every round.
const REQUESTS: usize = 160 * BATCH;

struct Options {
    rounds: usize,
    print_cedar: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        rounds: 5,
        print_cedar: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cedar" => o.print_cedar = true,
            "--rounds" => {
                let value = args.next().ok_or("`--rounds` needs a value")?;
                o.rounds = value.parse().map_err(|_| "bad --rounds")?;
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(o)
}

fn main() -> Result<(), String> {
    let o = options()?;
    let policy = custodian_policy::parse(DEFAULT_POLICY).map_err(|e| e.to_string())?;
    let cedar_model = cedar::Model::new(&policy)?;
    if o.print_cedar {
        println!("{}\n{}", cedar::SCHEMA.trim(), cedar_model.source);
        return Ok(());
    }
    let engine = AccessEngine::new(&policy);
    let cast = mix::Cast::new(&policy)?;
    let drafts = mix::generate(&policy, &cast)?;
    let entities = cedar_model.entities(&policy, cast.principals())?;
    let requests = drafts
        .iter()
        .map(|d| Request::new(d, &policy, &engine, &cedar_model))
        .collect::<Result<Vec<_>, String>>()?;
    let authorizer = cedar_policy::Authorizer::new();
    let ours = |r: &Request, category: &Category| {
        let decision = engine.decide(r.principal, r.purpose, r.customer, &r.context);
        engine.outcome(&decision, category)
    };
    let authorize =
        |q: &cedar_policy::Request| authorizer.is_authorized(q, &cedar_model.policies, &entities);
    let theirs = |q: &cedar_policy::Request| cedar_model.release(&authorize(q));

    println!(
        "access-bench: custodian's AccessEngine against cedar-policy {} (Cedar language {}), \
         one process, the same policy (policy/default.toml)",
        cedar_policy::get_sdk_version(),
        cedar_policy::get_lang_version()
    );
    println!(
        "Cedar policy set: {} policies and a schema, generated from the parsed policy; \
         validated in strict mode; {} entities ({} categories, {} purposes, {} roles, \
         {} staff, {} integrations).",
        cedar_model.policies.policies().count(),
        entities.iter().count(),
        policy.categories.len(),
        policy.purposes.len(),
        policy.roles.len(),
        cast.staff.len(),
        cast.integrations.len(),
    );
    println!("{}", mix::describe(&drafts));

    // Agreement first: the same request, the same outcome, or nothing is timed.
    let agreed =
        check_agreement(&requests, &policy, &cedar_model, ours, authorize).map_err(|e| {
            eprintln!("{e}");
            "the engine and Cedar disagree (see above); nothing was timed".to_owned()
        })?;
    println!(
        "Agreement: {} decisions put to both engines ({} requests for their own category, \
         and each for all {} categories of the policy): identical in every case \
         (released or not, masked or clear), and each of the {} Cedar policies decided some of \
         them. The requests for their own category: {} clear, {} masked, {} withheld.",
        agreed.checked,
        requests.len(),
        policy.categories.len(),
        cedar_model.policies.policies().count(),
        agreed.clear,
        agreed.masked,
        agreed.withheld,
    );

    let purpose_ids: HashMap<String, u32> = policy
        .purposes
        .iter()
        .zip(0u32..)
        .map(|(p, i)| (p.id.as_str().to_owned(), i))
        .collect();
    let mut ours_one = Vec::new();
    let mut cedar_one = Vec::new();
    let mut lookup = Vec::new();
    let mut ours_record = Vec::new();
    let mut cedar_record = Vec::new();
    // Cedar's floor: the cost of a call with no policy, and with one that permits everything.
    let no_policy = cedar_policy::PolicySet::new();
    let permit_all: cedar_policy::PolicySet = "permit (principal, action, resource);"
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut cedar_empty = Vec::new();
    let mut cedar_trivial = Vec::new();
    // The consent rule's cost, A/B: the same policy with every consent purpose re-declared
    // on legitimate interest, so that its engine never evaluates the rule (the purposes keep
    // their positions, so the same contexts serve both). On the requests whose consent is
    // given, or not needed, both engines decide alike; the difference in time is the rule.
    let without_consent = custodian_policy::parse(&DEFAULT_POLICY.replace(
        "legal_basis = \"consent\"",
        "legal_basis = \"legitimate_interest\"",
    ))
    .map_err(|e| e.to_string())?;
    let engine_without = AccessEngine::new(&without_consent);
    let ours_without = |r: &Request, category: &Category| {
        let decision = engine_without.decide(r.principal, r.purpose, r.customer, &r.context);
        engine_without.outcome(&decision, category)
    };
    let alike: Vec<&Request> = requests
        .iter()
        .filter(|r| ours(r, r.category) == ours_without(r, r.category))
        .collect();
    let consent_given = alike
        .iter()
        .filter(|r| {
            policy
                .purpose(r.purpose)
                .is_some_and(|p| p.legal_basis == custodian_policy::LegalBasis::Consent)
        })
        .count();
    let mut ours_consent = Vec::new();
    let mut ours_other = Vec::new();
    // Warm-up: one untimed pass of each (the agreement check warmed Cedar already).
    let mut discard = Vec::new();
    pass(&requests, &mut discard, |r| ours(r, r.category));
    pass(&requests, &mut discard, |r| {
        purpose_ids.get(r.purpose.as_str()).copied()
    });
    let started = Instant::now();
    for _ in 0..o.rounds {
        // Interleaved, so that drift on a shared machine touches both alike.
        pass(&requests, &mut ours_one, |r| ours(r, r.category));
        pass(&requests, &mut cedar_one, |r| theirs(&r.cedar));
        pass(&requests, &mut lookup, |r| {
            purpose_ids.get(r.purpose.as_str()).copied()
        });
        pass(&requests, &mut ours_record, |r| {
            let decision = engine.decide(r.principal, r.purpose, r.customer, &r.context);
            for position in 0..policy.categories.len() {
                black_box(decision.outcome_at(position));
            }
        });
        pass(&requests, &mut cedar_record, |r| {
            for q in &r.cedar_record {
                let _ = black_box(theirs(q));
            }
        });
        pass(&requests, &mut cedar_empty, |r| {
            authorizer
                .is_authorized(&r.cedar, &no_policy, &entities)
                .decision()
        });
        pass(&requests, &mut cedar_trivial, |r| {
            authorizer
                .is_authorized(&r.cedar, &permit_all, &entities)
                .decision()
        });
        // Whichever runs first after Cedar's passes finds a colder cache: an untimed pass of
        // each warms both, then A, B, B, A.
        pass(&alike, &mut discard, |r| ours(r, r.category));
        pass(&alike, &mut discard, |r| ours_without(r, r.category));
        pass(&alike, &mut ours_consent, |r| ours(r, r.category));
        pass(&alike, &mut ours_other, |r| ours_without(r, r.category));
        pass(&alike, &mut ours_other, |r| ours_without(r, r.category));
        pass(&alike, &mut ours_consent, |r| ours(r, r.category));
    }
    let elapsed = started.elapsed();

    println!();
    println!(
        "Method: {} rounds, each a pass over the {} requests with each engine in turn (ours, \
         Cedar, the hash lookup, ours for whole records, Cedar for whole records, Cedar's two \
         floors), after a warm-up. Each sample is a batch of {BATCH} consecutive requests timed \
         with std::time::Instant and divided by {BATCH}, since one Instant::now() pair costs about \
         {:.0} ns here, too much beside a decision of ours to time one alone; so the p99 is that \
         of a batch's mean, which hides tails shorter than a batch. Inputs and results pass through \
         std::hint::black_box. Cedar's requests (context included) are built before timing, \
         as the engine's AccessContext is. {:.1} s of timing.",
        o.rounds,
        requests.len(),
        instant_cost(),
        elapsed.as_secs_f64()
    );
    println!();
    let o1 = Quantiles::of(&mut ours_one);
    let c1 = Quantiles::of(&mut cedar_one);
    let or = Quantiles::of(&mut ours_record);
    let cr = Quantiles::of(&mut cedar_record);
    let h = Quantiles::of(&mut lookup);
    let c0 = Quantiles::of(&mut cedar_empty);
    let ct = Quantiles::of(&mut cedar_trivial);
    println!(
        "| per decision | ours median | ours p99 | Cedar median | Cedar p99 | Cedar / ours \
         (median) | Cedar / ours (p99) |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| one category: `decide` + `outcome` vs one `is_authorized` | {} | {} | {} | {} | \
         {:.0}x | {:.0}x |",
        ns(o1.median),
        ns(o1.p99),
        ns(c1.median),
        ns(c1.p99),
        c1.median / o1.median,
        c1.p99 / o1.p99
    );
    println!(
        "| whole record, {n} categories: `decide` + {n} `outcome` vs {n} `is_authorized` | {} | \
         {} | {} | {} | {:.0}x | {:.0}x |",
        ns(or.median),
        ns(or.p99),
        ns(cr.median),
        ns(cr.p99),
        cr.median / or.median,
        cr.p99 / or.p99,
        n = policy.categories.len()
    );
    println!(
        "| reference: one `HashMap<String, u32>` lookup of a purpose id | {} | {} | | | | |",
        ns(h.median),
        ns(h.p99)
    );
    println!(
        "| reference: Cedar's floor, one `is_authorized` against no policy | | | {} | {} | {:.0}x \
         | {:.0}x |",
        ns(c0.median),
        ns(c0.p99),
        c0.median / o1.median,
        c0.p99 / o1.p99
    );
    println!(
        "| reference: Cedar, one `is_authorized` against `permit (principal, action, resource);` \
         | | | {} | {} | {:.0}x | {:.0}x |",
        ns(ct.median),
        ns(ct.p99),
        ct.median / o1.median,
        ct.p99 / o1.p99
    );
    println!();
    println!(
        "One decision of ours costs {:.1} hash lookups (median); a whole record {:.1}. \
         The floor rows' ratios are against our one-category decision.",
        o1.median / h.median,
        or.median / h.median
    );
    let oc = Quantiles::of(&mut ours_consent);
    let oo = Quantiles::of(&mut ours_other);
    println!();
    println!(
        "| the consent rule, A/B on {} requests decided alike ({} for a purpose resting on \
         consent, given) | median | p99 |",
        alike.len(),
        consent_given
    );
    println!("|---|---|---|");
    println!(
        "| the engine, consent rule evaluated | {} | {} |",
        ns(oc.median),
        ns(oc.p99)
    );
    println!(
        "| the same engine, the policy's consent purposes on legitimate interest (no rule) | {} \
         | {} |",
        ns(oo.median),
        ns(oo.p99)
    );
    println!();
    println!(
        "With the consent rule / without: {:.2}x (median), {:.2}x (p99).",
        oc.median / oo.median,
        oc.p99 / oo.p99
    );
    Ok(())
}

/// One request of the mix, ready for both engines.
struct Request<'a> {
    draft: &'a mix::Draft<'a>,
    principal: &'a Principal,
    purpose: &'a PurposeId,
    customer: Option<&'a CustomerId>,
    category: &'a Category,
    context: AccessContext,
    /// The same request in Cedar's terms, for `category`.
    cedar: cedar_policy::Request,
    /// And for every category of the policy, in the policy's order.
    cedar_record: Vec<cedar_policy::Request>,
}

impl<'a> Request<'a> {
    fn new(
        d: &'a mix::Draft<'a>,
        policy: &'a Policy,
        engine: &AccessEngine,
        cedar: &cedar::Model,
    ) -> Result<Request<'a>, String> {
        let context = AccessContext {
            consents: engine.purposes(d.consents.iter().map(|p| p.as_str())),
            objections: engine.purposes(d.objections.iter().map(|p| p.as_str())),
            restricted: d.restricted,
            care_session: d.care_session,
            fulfilling_order: d.fulfilling_order,
        };
        let cedar_context = cedar::context(d)?;
        let cedar_record = policy
            .categories
            .iter()
            .map(|c| cedar.request(d.principal, c, cedar_context.clone()))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Request {
            draft: d,
            principal: d.principal,
            purpose: d.purpose,
            customer: d.customer,
            category: d.category,
            context,
            cedar: cedar.request(d.principal, d.category, cedar_context)?,
            cedar_record,
        })
    }
}

/// What a decision releases, in the terms both engines share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    Clear,
    Masked,
    Withheld,
}

impl From<FieldOutcome> for Release {
    fn from(outcome: FieldOutcome) -> Release {
        match outcome {
            FieldOutcome::Clear => Release::Clear,
            FieldOutcome::Masked => Release::Masked,
            FieldOutcome::Withheld(_) => Release::Withheld,
        }
    }
}

/// What the agreement check found: how many decisions it compared, and the outcomes of the
/// requests for their own category.
#[derive(Default)]
struct Agreement {
    checked: usize,
    clear: usize,
    masked: usize,
    withheld: usize,
}

/// Puts every request to both engines, for its own category and for every category of the
/// policy; returns what was compared, or the disagreements. Every Cedar policy must decide at
/// least one of them (permits by allowing, forbids by denying).
fn check_agreement(
    requests: &[Request],
    policy: &Policy,
    cedar: &cedar::Model,
    ours: impl Fn(&Request, &Category) -> FieldOutcome,
    authorize: impl Fn(&cedar_policy::Request) -> cedar_policy::Response,
) -> Result<Agreement, String> {
    let mut agreement = Agreement::default();
    let mut disagreements = Vec::new();
    let mut deciding = HashSet::new();
    for r in requests {
        match Release::from(ours(r, r.category)) {
            Release::Clear => agreement.clear += 1,
            Release::Masked => agreement.masked += 1,
            Release::Withheld => agreement.withheld += 1,
        }
        let pairs = std::iter::once((r.category, &r.cedar))
            .chain(policy.categories.iter().zip(&r.cedar_record));
        for (category, q) in pairs {
            agreement.checked += 1;
            let outcome = ours(r, category);
            let response = authorize(q);
            let cedar_says = cedar.release(&response)?;
            deciding.extend(response.diagnostics().reason().cloned());
            if Release::from(outcome) != cedar_says {
                disagreements.push(format!(
                    "{}, category `{}`: engine {outcome:?}, Cedar {cedar_says:?}",
                    r.draft, category.id,
                ));
            }
        }
    }
    // Every rule must have had its say, or the mix leaves part of the policy untested.
    let idle: Vec<String> = cedar
        .policies
        .policies()
        .filter(|p| !deciding.contains(p.id()))
        .map(|p| p.to_string())
        .collect();
    if !idle.is_empty() {
        return Err(format!(
            "The mix never exercises these policies, so agreement proves nothing about them:\n{}",
            idle.join("\n")
        ));
    }
    if disagreements.is_empty() {
        Ok(agreement)
    } else {
        Err(format!(
            "The engine and Cedar disagree on {} of {} decisions: they do not enforce the same \
             policy. The first ones:\n  {}",
            disagreements.len(),
            agreement.checked,
            {
                let mut seen = HashSet::new();
                disagreements
                    .iter()
                    .filter(|d| seen.insert(*d))
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n  ")
            }
        ))
    }
}

/// Times one pass over `items` in batches of `BATCH`, pushing nanoseconds per item.
fn pass<T, R>(items: &[T], samples: &mut Vec<f64>, mut decide: impl FnMut(&T) -> R) {
    for batch in items.chunks_exact(BATCH) {
        let start = Instant::now();
        for item in batch {
            black_box(decide(black_box(item)));
        }
        samples.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
    }
}

/// The median cost of an `Instant::now()` and `elapsed()` pair, in nanoseconds.
fn instant_cost() -> f64 {
    let mut samples: Vec<f64> = (0..10_000)
        .map(|_| black_box(Instant::now()).elapsed().as_nanos() as f64)
        .collect();
    Quantiles::of(&mut samples).median
}

struct Quantiles {
    median: f64,
    p99: f64,
}

impl Quantiles {
    fn of(samples: &mut [f64]) -> Quantiles {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let i = ((samples.len().saturating_sub(1)) as f64 * q).round() as usize;
            samples.get(i).copied().unwrap_or(f64::NAN)
        };
        Quantiles {
            median: at(0.5),
            p99: at(0.99),
        }
    }
}

fn ns(value: f64) -> String {
    if value < 1000.0 {
        format!("{value:.0} ns")
    } else {
        format!("{:.2} µs", value / 1000.0)
    }
}

/// The store policy written in Cedar, generated from the parsed [`Policy`].
mod cedar {
    use std::collections::HashSet;
    use std::str::FromStr;

    use cedar_policy::{
        Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
        PolicySet, Response, RestrictedExpression, Schema, ValidationMode, Validator,
    };
    use custodian_core::access::Principal;
    use custodian_policy::{
        Category, LegalBasis, NeedToKnow, Policy, Purpose, PurposeId, Role, Section, Sensitivity,
    };

    use super::Release;
    use super::mix::Draft;

    /// The entities and the one action. Categories belong to the purposes that use them, so
    /// `resource in Purpose::"p"` reads "purpose p uses this category".
    pub const SCHEMA: &str = r#"
// Who acts: a member of staff in a role, a system integrated through an API token, or a
// customer acting on their own record.
entity Role;
entity Staff in [Role];
entity Integration = {
  // The purposes its token lets it act for.
  purposes: Set<Purpose>,
  // The restricted categories its token lets it see.
  restricted: Set<Category>,
};
entity Customer;

// A purpose of processing, and the categories of personal data it uses.
entity Purpose;
entity Category in [Purpose];

// Reading one category of one customer's data, for a purpose.
action read appliesTo {
  principal: [Staff, Integration, Customer],
  resource: Category,
  context: {
    purpose: Purpose,
    // Whose record, when one is named.
    customer?: Customer,
    // The customer's choices, as of now.
    consents: Set<Purpose>,
    objections: Set<Purpose>,
    restricted: Bool,
    // Need to know: the staff member holds a verified care session for this customer; the
    // request is about an order being fulfilled.
    care_session: Bool,
    fulfilling_order: Bool,
  },
};
"#;

    /// The released form a permit grants, by annotation: `@release("masked")` or clear.
    const RELEASE: &str = "release";

    pub struct Model {
        pub source: String,
        pub policies: PolicySet,
        schema: Schema,
        /// The permits that release masked; every other permit releases in the clear.
        masked: HashSet<PolicyId>,
        read: EntityUid,
    }

    impl Model {
        pub fn new(policy: &Policy) -> Result<Model, String> {
            let (schema, _warnings) =
                Schema::from_cedarschema_str(SCHEMA).map_err(|e| format!("schema: {e}"))?;
            let source = policies(policy);
            let policies =
                PolicySet::from_str(&source).map_err(|e| format!("generated policies: {e}"))?;
            let validation =
                Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
            if !validation.validation_passed() {
                let errors: Vec<String> = validation
                    .validation_errors()
                    .map(|e| e.to_string())
                    .collect();
                return Err(format!(
                    "the generated policies do not validate against the schema: {}",
                    errors.join("; ")
                ));
            }
            let masked = policies
                .policies()
                .filter(|p| p.annotation(RELEASE) == Some("masked"))
                .map(|p| p.id().clone())
                .collect();
            Ok(Model {
                source,
                policies,
                schema,
                masked,
                read: uid("Action", "read")?,
            })
        }

        /// Roles, purposes, categories and the principals of the mix, checked against the
        /// schema. Customers need no entity: nothing about them is looked up.
        pub fn entities<'a>(
            &self,
            policy: &Policy,
            principals: impl Iterator<Item = &'a Principal>,
        ) -> Result<Entities, String> {
            let mut all = Vec::new();
            for role in &policy.roles {
                all.push(Entity::new_no_attrs(
                    uid("Role", role.id.as_str())?,
                    HashSet::new(),
                ));
            }
            for purpose in &policy.purposes {
                all.push(Entity::new_no_attrs(
                    uid("Purpose", purpose.id.as_str())?,
                    HashSet::new(),
                ));
            }
            for category in &policy.categories {
                let uses = policy
                    .purposes
                    .iter()
                    .filter(|p| p.uses(&category.id))
                    .map(|p| uid("Purpose", p.id.as_str()))
                    .collect::<Result<HashSet<_>, _>>()?;
                all.push(Entity::new_no_attrs(
                    uid("Category", category.id.as_str())?,
                    uses,
                ));
            }
            for principal in principals {
                match principal {
                    Principal::Staff { user, role } => all.push(Entity::new_no_attrs(
                        uid("Staff", user)?,
                        HashSet::from([uid("Role", role.as_str())?]),
                    )),
                    Principal::Integration { name, scope } => {
                        let purposes = match &scope.purposes {
                            Some(listed) => listed.iter().map(|p| p.as_str()).collect(),
                            None => policy.purposes.iter().map(|p| p.id.as_str()).collect(),
                        };
                        let restricted = scope.restricted.iter().map(|c| c.as_str()).collect();
                        let attrs = [
                            ("purposes".to_owned(), set("Purpose", purposes)?),
                            ("restricted".to_owned(), set("Category", restricted)?),
                        ];
                        all.push(
                            Entity::new(uid("Integration", name)?, attrs.into(), HashSet::new())
                                .map_err(|e| e.to_string())?,
                        );
                    }
                    Principal::Customer { .. } | Principal::System { .. } => {}
                }
            }
            Entities::from_entities(all, Some(&self.schema)).map_err(|e| e.to_string())
        }

        /// `principal` reads `category`, checked against the schema.
        pub fn request(
            &self,
            principal: &Principal,
            category: &Category,
            context: Context,
        ) -> Result<cedar_policy::Request, String> {
            cedar_policy::Request::new(
                principal_uid(principal)?,
                self.read.clone(),
                uid("Category", category.id.as_str())?,
                context,
                Some(&self.schema),
            )
            .map_err(|e| e.to_string())
        }

        /// Cedar's answer in the engine's terms: denied is withheld; allowed is clear if any
        /// permit that allowed it releases in the clear, masked if all mask. An evaluation
        /// error is a defect of the generated policies.
        pub fn release(&self, response: &Response) -> Result<Release, String> {
            if let Some(error) = response.diagnostics().errors().next() {
                return Err(format!("Cedar could not evaluate a policy: {error}"));
            }
            Ok(match response.decision() {
                Decision::Deny => Release::Withheld,
                Decision::Allow
                    if response
                        .diagnostics()
                        .reason()
                        .any(|id| !self.masked.contains(id)) =>
                {
                    Release::Clear
                }
                Decision::Allow => Release::Masked,
            })
        }
    }

    /// A request's context: the purpose, whose record, the customer's choices, need to know.
    pub fn context(d: &Draft) -> Result<Context, String> {
        let mut pairs = vec![
            ("purpose".to_owned(), entity("Purpose", d.purpose.as_str())?),
            (
                "consents".to_owned(),
                set("Purpose", d.consents.iter().map(|p| p.as_str()).collect())?,
            ),
            (
                "objections".to_owned(),
                set("Purpose", d.objections.iter().map(|p| p.as_str()).collect())?,
            ),
            (
                "restricted".to_owned(),
                RestrictedExpression::new_bool(d.restricted),
            ),
            (
                "care_session".to_owned(),
                RestrictedExpression::new_bool(d.care_session),
            ),
            (
                "fulfilling_order".to_owned(),
                RestrictedExpression::new_bool(d.fulfilling_order),
            ),
        ];
        if let Some(customer) = d.customer {
            pairs.push((
                "customer".to_owned(),
                entity("Customer", customer.as_str())?,
            ));
        }
        Context::from_pairs(pairs).map_err(|e| e.to_string())
    }

    fn principal_uid(principal: &Principal) -> Result<EntityUid, String> {
        match principal {
            Principal::Staff { user, .. } => uid("Staff", user),
            Principal::Integration { name, .. } => uid("Integration", name),
            Principal::Customer { id } => uid("Customer", id.as_str()),
            Principal::System { .. } => Err("the system acts for no purpose in Cedar".to_owned()),
        }
    }

    fn uid(ty: &str, id: &str) -> Result<EntityUid, String> {
        let ty = EntityTypeName::from_str(ty).map_err(|e| e.to_string())?;
        Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
    }

    fn entity(ty: &str, id: &str) -> Result<RestrictedExpression, String> {
        Ok(RestrictedExpression::new_entity_uid(uid(ty, id)?))
    }

    fn set(ty: &str, ids: Vec<&str>) -> Result<RestrictedExpression, String> {
        let members = ids
            .into_iter()
            .map(|id| entity(ty, id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RestrictedExpression::new_set(members))
    }

    // ---- The generator: the policy file's access rules, one Cedar policy each ----------------

    /// `Type::"id"`, as Cedar writes an entity.
    fn lit(ty: &str, id: &str) -> String {
        format!("{ty}::{id:?}")
    }

    fn list<'a>(ty: &str, ids: impl IntoIterator<Item = &'a str>) -> String {
        let items: Vec<String> = ids.into_iter().map(|id| lit(ty, id)).collect();
        format!("[{}]", items.join(", "))
    }

    /// The whole policy set, as text.
    pub fn policies(policy: &Policy) -> String {
        let mut out = String::from(
            "// Generated by access-bench from the parsed store policy. Nothing is permitted\n\
             // unless a permit below says so; a forbid overrides every permit.\n",
        );
        out.push_str("\n// ---- Staff: each role, for each purpose it serves ----\n");
        for role in &policy.roles {
            for purpose in role.purposes.iter().filter_map(|p| policy.purpose(p)) {
                staff(&mut out, policy, role, purpose);
            }
        }
        out.push_str("\n// ---- Integrations: the purposes their token lists ----\n");
        for purpose in &policy.purposes {
            let p = lit("Purpose", purpose.id.as_str());
            let mut when = vec![format!("principal.purposes.contains({p})")];
            when.extend(choices(purpose));
            permit(
                &mut out,
                &format!("An integration whose token lists `{}`.", purpose.id),
                "clear",
                "principal is Integration",
                &purpose.id,
                &when,
                None,
            );
        }
        out.push_str("\n// ---- Customers ----\n");
        out.push_str(
            "\n// A customer sees their own record in full, whatever the purpose, and nobody \
             else's.\n\
             @release(\"clear\")\n\
             permit (principal is Customer, action == Action::\"read\", resource)\n\
             when { context has customer && context.customer == principal };\n",
        );
        out.push_str("\n// ---- Restricted categories (every sensitive one) ----\n");
        for category in policy
            .categories
            .iter()
            .filter(|c| !c.restricted_to.is_empty() || c.is_sensitive())
        {
            restricted(&mut out, category);
        }
        out
    }

    /// The permits of one role for one purpose: the categories the role sees in the clear,
    /// and those it sees masked.
    fn staff(out: &mut String, policy: &Policy, role: &Role, purpose: &Purpose) {
        let mut when = Vec::new();
        let need = match role.need_to_know {
            NeedToKnow::Always => "",
            NeedToKnow::CareSession => {
                when.push("context.care_session".to_owned());
                ", within an identity-verified care session"
            }
            NeedToKnow::FulfillingOrder => {
                when.push("context.fulfilling_order".to_owned());
                // Bound to an order: the order's categories, never the customer's account.
                let order: Vec<&str> = policy
                    .categories
                    .iter()
                    .filter(|c| c.section == Section::Order && purpose.uses(&c.id))
                    .map(|c| c.id.as_str())
                    .collect();
                when.push(format!("resource in {}", list("Category", order)));
                ", while the order is being fulfilled, for the order's categories only"
            }
            // Such a role works only with pseudonymous or aggregate data, and a decision about
            // a customer's data is about an identified person, named or looked up: no permit.
            NeedToKnow::Pseudonymous => {
                out.push_str(&format!(
                    "\n// Role `{}` serves `{}` only with pseudonymous or aggregate data, which a \
                     customer's record never is:\n// no permit.\n",
                    role.id, purpose.id
                ));
                return;
            }
        };
        when.extend(choices(purpose));
        let principal = format!("principal in {}", lit("Role", role.id.as_str()));
        let masked: Vec<&str> = role
            .masked
            .iter()
            .filter(|c| purpose.uses(c))
            .map(|c| c.as_str())
            .collect();
        let comment = format!(
            "Role `{}` serves `{}` ({}){need}.",
            role.id,
            purpose.id,
            basis(purpose.legal_basis)
        );
        if masked.is_empty() {
            permit(out, &comment, "clear", &principal, &purpose.id, &when, None);
            return;
        }
        // A role that sees every category of the purpose masked gets no permit in the clear.
        let all_masked = purpose.categories().all(|c| role.masked.contains(c));
        let masked = format!("resource in {}", list("Category", masked));
        if !all_masked {
            permit(
                out,
                &comment,
                "clear",
                &principal,
                &purpose.id,
                &when,
                Some(&masked),
            );
        }
        when.push(masked);
        permit(
            out,
            &format!("Role `{}` sees these masked for `{}`.", role.id, purpose.id),
            "masked",
            &principal,
            &purpose.id,
            &when,
            None,
        );
    }

    /// The customer's choices that bind a purpose: a restriction and objections stop all but
    /// legal obligations; a purpose that rests on consent needs it.
    fn choices(purpose: &Purpose) -> Vec<String> {
        let p = lit("Purpose", purpose.id.as_str());
        let mut when = Vec::new();
        if purpose.legal_basis != LegalBasis::LegalObligation {
            when.push("!context.restricted".to_owned());
            when.push(format!("!context.objections.contains({p})"));
        }
        if purpose.legal_basis == LegalBasis::Consent {
            when.push(format!("context.consents.contains({p})"));
        }
        when
    }

    /// A permit for `purpose`: the request names it, and it uses the category read.
    fn permit(
        out: &mut String,
        comment: &str,
        release: &str,
        principal: &str,
        purpose: &PurposeId,
        when: &[String],
        unless: Option<&str>,
    ) {
        let p = lit("Purpose", purpose.as_str());
        out.push_str(&format!(
            "\n// {comment}\n@{RELEASE}({release:?})\npermit (\n    {principal},\n    \
             action == Action::\"read\",\n    resource in {p}\n)\nwhen {{\n    \
             context.purpose == {p}"
        ));
        for condition in when {
            out.push_str(&format!(" &&\n    {condition}"));
        }
        out.push_str("\n}");
        if let Some(unless) = unless {
            out.push_str(&format!("\nunless {{ {unless} }}"));
        }
        out.push_str(";\n");
    }

    /// A restricted category reaches only the roles it lists, and integrations whose token
    /// lists it. (Customers see their own record in full.)
    fn restricted(out: &mut String, category: &Category) {
        let c = lit("Category", category.id.as_str());
        let kind = match &category.sensitivity {
            Sensitivity::Sensitive(kind) => {
                let kind = serde_json::to_string(kind).unwrap_or_default();
                format!(" (sensitive: {})", kind.trim_matches('"'))
            }
            Sensitivity::Basic => String::new(),
        };
        let roles: Vec<&str> = category.restricted_to.iter().map(|r| r.as_str()).collect();
        out.push_str(&format!(
            "\n// `{}`{kind} is restricted to {}.\nforbid (principal is Staff, action == \
             Action::\"read\", resource == {c})",
            category.id,
            if roles.is_empty() {
                "no role".to_owned()
            } else {
                roles.join(", ")
            }
        ));
        if !roles.is_empty() {
            out.push_str(&format!(
                "\nunless {{ principal in {} }}",
                list("Role", roles)
            ));
        }
        out.push_str(&format!(
            ";\nforbid (principal is Integration, action == Action::\"read\", resource == {c})\n\
             unless {{ principal.restricted.contains(resource) }};\n"
        ));
    }

    fn basis(basis: LegalBasis) -> &'static str {
        match basis {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegalObligation => "legal obligation",
            LegalBasis::LegitimateInterest => "legitimate interest",
        }
    }
}

/// The request mix: deterministic, from a small seeded PRNG.
mod mix {
    use std::collections::{BTreeMap, HashSet};
    use std::fmt;

    use custodian_core::access::{Principal, Scope};
    use custodian_core::ids::CustomerId;
    use custodian_policy::{Category, LegalBasis, Policy, PurposeId};

    use super::REQUESTS;

    /// xorshift64*: enough for a reproducible mix.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> Result<&'a T, String> {
            let i = self.below(items.len());
            items
                .get(i)
                .ok_or_else(|| "nothing to pick from".to_owned())
        }
    }

    /// What a customer has chosen.
    struct Customer<'a> {
        id: CustomerId,
        principal: Principal,
        consents: Vec<&'a PurposeId>,
        objections: Vec<&'a PurposeId>,
        restricted: bool,
    }

    /// Everyone who acts in the mix.
    pub struct Cast<'a> {
        pub staff: Vec<Principal>,
        pub integrations: Vec<Principal>,
        customers: Vec<Customer<'a>>,
    }

    /// Staff per role, as a shop of this size might have them.
    const STAFF: [(&str, usize); 7] = [
        ("care_agent", 24),
        ("fulfilment", 10),
        ("marketing", 4),
        ("analyst", 3),
        ("qa_reviewer", 3),
        ("dpo", 1),
        ("admin", 2),
    ];
    const CUSTOMERS: usize = 2000;

    impl<'a> Cast<'a> {
        pub fn new(policy: &'a Policy) -> Result<Cast<'a>, String> {
            let mut staff = Vec::new();
            for (role, count) in STAFF {
                let role = policy
                    .role_named(role)
                    .ok_or_else(|| format!("the policy has no role `{role}`"))?;
                for n in 0..count {
                    staff.push(Principal::Staff {
                        user: format!("usr_{}_{n:02}", role.id),
                        role: role.id.clone(),
                    });
                }
            }
            let purpose = |id: &str| {
                policy
                    .purpose_named(id)
                    .map(|p| p.id.clone())
                    .ok_or_else(|| format!("the policy has no purpose `{id}`"))
            };
            let integrations = vec![
                // The shop's storefront: every purpose, no restricted category.
                Principal::Integration {
                    name: "storefront".to_owned(),
                    scope: Scope::unrestricted(),
                },
                // The telephone exchange: call recordings for quality review.
                Principal::Integration {
                    name: "pbx".to_owned(),
                    scope: Scope {
                        purposes: Some(vec![purpose("care_quality")?, purpose("customer_care")?]),
                        restricted: vec![
                            policy
                                .category_named("voice_recording")
                                .ok_or("the policy has no category `voice_recording`")?
                                .id
                                .clone(),
                        ],
                        ..Scope::unrestricted()
                    },
                },
            ];
            let mut rng = Rng(0x5eed_cafe_f00d_0001);
            let consentable: Vec<&PurposeId> = policy
                .purposes
                .iter()
                .filter(|p| p.legal_basis == LegalBasis::Consent)
                .map(|p| &p.id)
                .collect();
            let all: Vec<&PurposeId> = policy.purposes.iter().map(|p| &p.id).collect();
            let mut customers = Vec::new();
            for n in 1..=CUSTOMERS {
                let id = CustomerId::parse(&format!("cus_{n:032x}")).ok_or("bad customer id")?;
                let consents = consentable
                    .iter()
                    .copied()
                    .filter(|_| rng.chance(45))
                    .collect();
                let objections = if rng.chance(4) {
                    vec![*rng.pick(&all)?]
                } else {
                    Vec::new()
                };
                customers.push(Customer {
                    principal: Principal::Customer { id: id.clone() },
                    id,
                    consents,
                    objections,
                    restricted: rng.chance(3),
                });
            }
            Ok(Cast {
                staff,
                integrations,
                customers,
            })
        }

        /// Every principal that needs an entity in Cedar.
        pub fn principals(&self) -> impl Iterator<Item = &Principal> {
            self.staff.iter().chain(&self.integrations)
        }

        fn staff_in(&self, role: &str) -> Vec<&Principal> {
            self.staff
                .iter()
                .filter(|p| matches!(p, Principal::Staff { role: r, .. } if r.as_str() == role))
                .collect()
        }

        fn integration(&self, name: &str) -> Result<&Principal, String> {
            self.integrations
                .iter()
                .find(|p| matches!(p, Principal::Integration { name: n, .. } if n == name))
                .ok_or_else(|| format!("no integration `{name}`"))
        }
    }

    /// One request, as facts both engines are given.
    pub struct Draft<'a> {
        /// What kind of request, for the description of the mix.
        pub kind: &'static str,
        pub principal: &'a Principal,
        pub purpose: &'a PurposeId,
        pub customer: Option<&'a CustomerId>,
        pub category: &'a Category,
        pub consents: &'a [&'a PurposeId],
        pub objections: &'a [&'a PurposeId],
        pub restricted: bool,
        pub care_session: bool,
        pub fulfilling_order: bool,
    }

    impl fmt::Display for Draft<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let ids =
                |ids: &[&PurposeId]| ids.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ");
            write!(
                f,
                "{} for `{}` on customer {} (consents [{}], objections [{}], restricted {}, \
                 care session {}, fulfilling order {})",
                self.principal.audit_name(),
                self.purpose,
                self.customer.map_or("none", |c| c.as_str()),
                ids(self.consents),
                ids(self.objections),
                self.restricted,
                self.care_session,
                self.fulfilling_order
            )
        }
    }

    /// `REQUESTS` distinct requests.
    pub fn generate<'a>(policy: &'a Policy, cast: &'a Cast<'a>) -> Result<Vec<Draft<'a>>, String> {
        let purpose = move |id: &str| {
            policy
                .purpose_named(id)
                .map(|p| &p.id)
                .ok_or_else(|| format!("the policy has no purpose `{id}`"))
        };
        let categories = move |ids: &[&str]| {
            ids.iter()
                .map(|id| {
                    policy
                        .category_named(id)
                        .ok_or_else(|| format!("the policy has no category `{id}`"))
                })
                .collect::<Result<Vec<&Category>, String>>()
        };
        let care_agents = cast.staff_in("care_agent");
        let fulfilment = cast.staff_in("fulfilment");
        let marketing = cast.staff_in("marketing");
        let analysts = cast.staff_in("analyst");
        let reviewers = cast.staff_in("qa_reviewer");
        let dpo = cast.staff_in("dpo");
        let admins = cast.staff_in("admin");
        let storefront = cast.integration("storefront")?;
        let pbx = cast.integration("pbx")?;
        let care_reads = categories(&[
            "account_name",
            "account_email",
            "account_phone",
            "care_enquiry",
            "care_identity_verification",
            "order_items",
            "order_payment",
            "account_birth_date",
        ])?;
        let order_reads = categories(&[
            "order_items",
            "order_recipient",
            "order_shipping_address",
            "order_contact_phone",
            "order_payment",
            "account_email",
        ])?;
        let account_reads = categories(&[
            "account_name",
            "account_email",
            "account_phone",
            "account_birth_date",
        ])?;
        let marketing_reads = categories(&[
            "marketing_preferences",
            "account_email",
            "account_phone",
            "viewing_history",
        ])?;
        let all_purposes: Vec<&PurposeId> = policy.purposes.iter().map(|p| &p.id).collect();
        let all_categories: Vec<&Category> = policy.categories.iter().collect();

        let mut rng = Rng(0x0acc_e55b_e4c4_0002);
        let mut seen = HashSet::new();
        let mut drafts = Vec::with_capacity(REQUESTS);
        let mut attempts = 0;
        while drafts.len() < REQUESTS {
            attempts += 1;
            if attempts > REQUESTS * 20 {
                return Err("the mix repeats itself: too few distinct requests".to_owned());
            }
            let customer = rng.pick(&cast.customers)?;
            let mut d = Draft {
                kind: "",
                principal: storefront,
                purpose: purpose("account")?,
                customer: Some(&customer.id),
                category: *rng.pick(&account_reads)?,
                consents: &customer.consents,
                objections: &customer.objections,
                restricted: customer.restricted,
                care_session: false,
                fulfilling_order: false,
            };
            match rng.below(100) {
                // Care agents answering customers, nearly always in a verified session.
                0..35 => {
                    d.kind = "care agent, in a care session or not";
                    d.principal = *rng.pick(&care_agents)?;
                    d.purpose = purpose(if rng.chance(80) {
                        "customer_care"
                    } else {
                        "identity_verification"
                    })?;
                    d.category = *rng.pick(&care_reads)?;
                    d.care_session = rng.chance(92);
                }
                // Fulfilment staff, mostly on an order being fulfilled.
                35..50 => {
                    d.kind = "fulfilment, with or without an order being fulfilled";
                    d.principal = *rng.pick(&fulfilment)?;
                    d.purpose = purpose("order_fulfilment")?;
                    d.category = *rng.pick(&order_reads)?;
                    d.fulfilling_order = rng.chance(85);
                }
                // The storefront, for accounts and orders.
                50..68 => {
                    d.kind = "storefront integration (mostly account, order_fulfilment)";
                    d.principal = storefront;
                    match rng.below(10) {
                        0..6 => d.category = *rng.pick(&account_reads)?,
                        6..9 => {
                            d.purpose = purpose("order_fulfilment")?;
                            d.category = *rng.pick(&order_reads)?;
                        }
                        // Its token allows every purpose; now and then it uses another.
                        _ => {
                            d.purpose = *rng.pick(&all_purposes)?;
                            d.category = *rng.pick(&all_categories)?;
                        }
                    }
                }
                // Customers reading themselves; now and then someone else's id.
                68..78 => {
                    d.kind = "customer reading their own record (or another's)";
                    d.principal = if rng.chance(95) {
                        &customer.principal
                    } else {
                        &rng.pick(&cast.customers)?.principal
                    };
                    if rng.chance(30) {
                        d.purpose = *rng.pick(&all_purposes)?;
                    }
                    d.category = *rng.pick(&all_categories)?;
                }
                // Marketing: consent decides; now and then the wrong purpose.
                78..86 => {
                    d.kind = "marketing staff (consent or not)";
                    d.principal = *rng.pick(&marketing)?;
                    d.purpose = purpose(if rng.chance(60) {
                        "marketing"
                    } else if rng.chance(75) {
                        "personalised_ads"
                    } else {
                        "analytics"
                    })?;
                    d.category = *rng.pick(&marketing_reads)?;
                }
                // Sensitive: call recordings for the quality reviewers.
                86..90 => {
                    d.kind = "qa_reviewer on call recordings (sensitive)";
                    d.principal = *rng.pick(&reviewers)?;
                    d.purpose = purpose("care_quality")?;
                    d.category = *rng.pick(&categories(&[
                        "voice_recording",
                        "voice_recording",
                        "voice_recording",
                        "account_name",
                    ])?)?;
                }
                90..93 => {
                    d.kind = "pbx integration (call recordings, care)";
                    d.principal = pbx;
                    if rng.chance(60) {
                        d.purpose = purpose("care_quality")?;
                        d.category = *rng.pick(&categories(&["voice_recording"])?)?;
                    } else {
                        d.purpose = purpose("customer_care")?;
                        d.category = *rng.pick(&care_reads)?;
                    }
                }
                // Refusals by rule: the wrong purpose for the role, or an analyst asking
                // about an identified customer.
                93..96 => {
                    d.kind = "wrong purpose for the role, or an analyst on a customer";
                    match rng.below(3) {
                        0 => {
                            d.principal = *rng.pick(&care_agents)?;
                            d.purpose = purpose("marketing")?;
                            d.care_session = true;
                        }
                        1 => {
                            d.principal = *rng.pick(&fulfilment)?;
                            d.purpose = purpose("customer_care")?;
                            d.fulfilling_order = true;
                        }
                        _ => {
                            d.principal = *rng.pick(&analysts)?;
                            d.purpose = purpose("analytics")?;
                            d.category = *rng.pick(&categories(&["viewing_history"])?)?;
                            // Sometimes with no customer named: refused all the same.
                            if rng.chance(30) {
                                d.customer = None;
                            }
                        }
                    }
                }
                // The DPO, under a legal obligation that a restriction does not stop.
                96..98 => {
                    d.kind = "dpo (legal obligation)";
                    d.principal = *rng.pick(&dpo)?;
                    d.purpose = purpose("legal_obligation")?;
                    d.category = *rng.pick(&order_reads)?;
                }
                _ => {
                    d.kind = "admin (security)";
                    d.principal = *rng.pick(&admins)?;
                    d.purpose = purpose("security")?;
                    d.category = *rng.pick(&categories(&["device_data", "account_email"])?)?;
                }
            }
            let key = (
                d.principal.audit_name(),
                d.purpose,
                d.customer,
                &d.category.id,
                (d.care_session, d.fulfilling_order),
            );
            if seen.insert(key) {
                drafts.push(d);
            }
        }
        Ok(drafts)
    }

    /// The mix, by kind of request, in words.
    pub fn describe(drafts: &[Draft]) -> String {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for d in drafts {
            *kinds.entry(d.kind).or_default() += 1;
        }
        let mut kinds: Vec<(&str, usize)> = kinds.into_iter().collect();
        kinds.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let total = drafts.len().max(1) as f64;
        let parts: Vec<String> = kinds
            .iter()
            .map(|(kind, n)| format!("{kind} {:.0}%", *n as f64 * 100.0 / total))
            .collect();
        format!(
            "Mix: {} distinct requests over {CUSTOMERS} customers (about 45% consent to each \
             consent-based purpose, 4% object to one purpose, 3% restricted processing): {}.",
            drafts.len(),
            parts.join(", ")
        )
    }
}
