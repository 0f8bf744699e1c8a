//! The consent banner (`consent.js`) in a real headless Chromium, driven over WebDriver.
//!
//! Two loopback servers: Custodian's router (the same as the API tests') and a shop on another
//! port, whose page loads `consent.js` from Custodian before its Google tag (a stand-in that
//! only records `dataLayer`). Debian's `chromium` and `chromium-driver` packages are needed:
//! without them the test fails in CI and says it is skipped elsewhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod centre;
#[path = "../api/helpers.rs"]
#[allow(
    dead_code,
    reason = "shared with the API tests; this target uses a part of it"
)]
mod helpers;
mod webdriver;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use custodian_http::HttpConfig;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use helpers::{TestApp, body_json, spawn_app_with};
use webdriver::{Driver, ENTER, ESCAPE, SPACE, Session, TAB, find_browser};

const SIGNALS: [&str; 4] = [
    "ad_storage",
    "analytics_storage",
    "ad_user_data",
    "ad_personalization",
];

/// What the shop's test pages need to know.
struct Shop {
    custodian: String,
    /// The signed-in customer's session token, put in `data-session` on `/account` (never in
    /// a URL).
    session: Mutex<Option<String>>,
}

/// Everything one run shares.
struct World {
    rt: Runtime,
    app: TestApp,
    shop: String,
    artefacts: PathBuf,
    shop_state: Arc<Shop>,
}

#[test]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn the_consent_banner_in_a_real_browser() {
    let Some((chromium, chromedriver)) = find_browser() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Chromium: apt-get install chromium chromium-driver"
        );
        eprintln!(
            "skipped: install chromium chromium-driver (Debian packages) to run the banner's \
             browser test"
        );
        return;
    };
    let started = Instant::now();
    let world = world();
    let driver = Driver::start(&chromedriver);

    {
        let profile = tempfile::tempdir().unwrap();
        let browser = driver.session(&chromium, profile.path());
        banner_appears_with_every_signal_denied(&world, &browser);
        rejecting_keeps_every_signal_denied(&world, &browser);
        accepting_third_party_analytics_by_keyboard_grants_only_analytics_storage(&world, &browser);
        unreachable_custodian_leaves_every_signal_denied(&world, &browser);
    }
    {
        let profile = tempfile::tempdir().unwrap();
        let browser = driver.session(&chromium, profile.path());
        the_banner_on_a_phone_by_keyboard(&world, &browser);
    }
    {
        let profile = tempfile::tempdir().unwrap();
        let browser = driver.session(&chromium, profile.path());
        gpc_keeps_ad_signals_denied_after_accept_all(&world, &browser);
    }
    {
        let profile = tempfile::tempdir().unwrap();
        let browser = driver.session(&chromium, profile.path());
        signed_in_choice_reaches_the_consent_history(&world, &browser);
    }
    {
        let profile = tempfile::tempdir().unwrap();
        let browser = driver.session(&chromium, profile.path());
        centre::the_privacy_centre_end_to_end(&world, &browser);
    }
    eprintln!(
        "browser test: {:.1} s, screenshots in {}",
        started.elapsed().as_secs_f64(),
        world.artefacts.display()
    );
}

fn world() -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (shop_listener, custodian_listener) = rt.block_on(async {
        (
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        )
    });
    let shop = format!("http://{}", shop_listener.local_addr().unwrap());
    let custodian = format!("http://{}", custodian_listener.local_addr().unwrap());
    let app = rt.block_on(spawn_app_with(HttpConfig {
        storefront_origins: vec![shop.clone()],
        ..HttpConfig::default()
    }));
    let router = app.router.clone();
    rt.spawn(async move { axum::serve(custodian_listener, router).await.unwrap() });
    let shop_state = Arc::new(Shop {
        custodian,
        session: Mutex::new(None),
    });
    let pages = Router::new()
        .route("/", get(page_en))
        .route("/vi", get(page_vi))
        .route("/account", get(page_account))
        .route("/offline", get(page_offline))
        .route("/bare", get(page_bare))
        .with_state(shop_state.clone());
    rt.spawn(async move { axum::serve(shop_listener, pages).await.unwrap() });
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    World {
        rt,
        app,
        shop,
        artefacts: target.join("browser-artefacts"),
        shop_state,
    }
}

/// A shop page: `consent.js` first, then the Google tag (here a stand-in that defines `gtag`
/// as the real snippet does and records nothing but `dataLayer`), a footer link that reopens
/// the preferences.
fn page(html_lang: &str, script_attrs: &str) -> Html<String> {
    page_with(html_lang, script_attrs, FOOTER)
}

fn page_with(html_lang: &str, script_attrs: &str, footer: &str) -> Html<String> {
    Html(format!(
        r##"<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8"><title>Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script {script_attrs}></script>
<script>
  // The Google tag's snippet, without the tag: gtag() only records into dataLayer.
  window.dataLayer = window.dataLayer || [];
  function gtag() {{ dataLayer.push(arguments); }}
  window.googleTagLoaded = true;
</script>
</head><body>
<h1>Shop</h1><p>Products.</p>
{footer}
</body></html>"##
    ))
}

/// The footer link that reopens the preferences, on every shop page but `/bare`.
const FOOTER: &str = r##"<footer><a href="#" id="footer-preferences" data-custodian-preferences>Privacy preferences</a></footer>"##;

fn script_attrs(shop: &Shop, extra: &str) -> String {
    format!(
        r#"src="{0}/consent.js" data-custodian="{0}" {extra}"#,
        shop.custodian
    )
}

async fn page_en(State(shop): State<Arc<Shop>>) -> Html<String> {
    page("vi", &script_attrs(&shop, r#"data-lang="en""#))
}

async fn page_bare(State(shop): State<Arc<Shop>>) -> Html<String> {
    // No preferences link of its own: the banner leaves its re-open button.
    page_with("en", &script_attrs(&shop, r#"data-lang="en""#), "")
}

async fn page_vi(State(shop): State<Arc<Shop>>) -> Html<String> {
    // No data-lang: the page's own language decides.
    page("vi", &script_attrs(&shop, ""))
}

async fn page_account(State(shop): State<Arc<Shop>>) -> Html<String> {
    let token = shop.session.lock().unwrap().clone().unwrap_or_default();
    page(
        "en",
        &script_attrs(&shop, &format!(r#"data-lang="en" data-session="{token}""#)),
    )
}

async fn page_offline(State(shop): State<Arc<Shop>>) -> Html<String> {
    // The script from Custodian, but its API unreachable: a closed port.
    page(
        "en",
        &format!(
            r#"src="{}/consent.js" data-custodian="http://127.0.0.1:9" data-lang="en""#,
            shop.custodian
        ),
    )
}

// --- reading Consent Mode -------------------------------------------------------------------

/// Every `gtag(...)` call so far, as arrays.
fn data_layer(browser: &Session<'_>) -> Vec<Value> {
    let entries = browser.js(
        "return (window.dataLayer || []).map(function (a) { return Array.prototype.slice.call(a); });",
        json!([]),
    );
    entries.as_array().cloned().unwrap_or_default()
}

/// The `consent` calls: the default, then each update.
fn consent_calls(browser: &Session<'_>) -> (Value, Vec<Value>) {
    let calls: Vec<Value> = data_layer(browser)
        .into_iter()
        .filter(|c| c[0] == "consent")
        .collect();
    let default = calls
        .iter()
        .find(|c| c[1] == "default")
        .map(|c| c[2].clone())
        .expect("gtag('consent', 'default', ...) was called");
    let updates = calls
        .iter()
        .filter(|c| c[1] == "update")
        .map(|c| c[2].clone())
        .collect();
    (default, updates)
}

/// Each signal's state after the default and every update.
fn signals(browser: &Session<'_>) -> Value {
    let (default, updates) = consent_calls(browser);
    let mut state = json!({});
    for call in std::iter::once(&default).chain(&updates) {
        for signal in SIGNALS {
            if let Some(value) = call.get(signal) {
                state[signal] = value.clone();
            }
        }
    }
    state
}

fn all_denied() -> Value {
    json!({
        "ad_storage": "denied",
        "analytics_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
    })
}

fn nothing_ever_granted(browser: &Session<'_>) {
    let (default, updates) = consent_calls(browser);
    for call in std::iter::once(&default).chain(&updates) {
        assert!(!call.to_string().contains("granted"), "{call}");
    }
}

fn updates_count(browser: &Session<'_>) -> usize {
    consent_calls(browser).1.len()
}

fn wait_for_banner(browser: &Session<'_>) {
    browser.wait_for(
        "the banner",
        "return !!document.getElementById('custodian-banner');",
        10,
    );
}

fn fresh_page(browser: &Session<'_>, url: &str) {
    browser.goto(url);
    browser.js("window.localStorage.clear();", json!([]));
    browser.goto(url);
}

// --- the scenarios --------------------------------------------------------------------------

/// (a) The banner appears (in Vietnamese by the page's language); before any choice the only
/// consent call is the default, every signal denied.
fn banner_appears_with_every_signal_denied(world: &World, browser: &Session<'_>) {
    fresh_page(browser, &format!("{}/vi", world.shop));
    wait_for_banner(browser);
    let (default, updates) = consent_calls(browser);
    let mut expected = all_denied();
    expected["wait_for_update"] = json!(500);
    assert_eq!(default, expected);
    assert!(updates.is_empty(), "{updates:?}");
    let first = &data_layer(browser)[0];
    assert_eq!(
        first[0], "consent",
        "the default comes before anything else"
    );

    let banner = browser.js(
        "var b = document.getElementById('custodian-banner');
         var accept = document.getElementById('custodian-accept');
         var reject = document.getElementById('custodian-reject');
         var style = function (e) { var s = getComputedStyle(e); var r = e.getBoundingClientRect();
           return [e.tagName, e.className, s.backgroundColor, s.color, s.fontSize, s.fontWeight,
                   Math.round(r.width), Math.round(r.height)].join('|'); };
         return { text: b.textContent, accept: accept.textContent, reject: reject.textContent,
                  acceptStyle: style(accept), rejectStyle: style(reject),
                  link: b.querySelector('a') && b.querySelector('a').href };",
        json!([]),
    );
    assert_eq!(banner["accept"], "Đồng ý tất cả");
    assert_eq!(banner["reject"], "Từ chối tất cả");
    assert_eq!(
        banner["acceptStyle"], banner["rejectStyle"],
        "accept and reject weigh the same"
    );
    assert!(
        banner["acceptStyle"]
            .as_str()
            .unwrap()
            .starts_with("BUTTON|")
    );
    assert!(
        banner["link"].as_str().unwrap().contains("/privacy"),
        "{banner}"
    );
    browser.screenshot(&world.artefacts.join("banner.png"));

    browser.click("#custodian-choose");
    let dialog = browser.js(
        "var d = document.getElementById('custodian-dialog');
         var boxes = Array.prototype.slice.call(d.querySelectorAll('input[type=checkbox]'));
         return { role: d.getAttribute('role'), modal: d.getAttribute('aria-modal'),
                  title: document.getElementById(d.getAttribute('aria-labelledby')).textContent,
                  boxes: boxes.map(function (b) { return b.id; }),
                  ticked: boxes.filter(function (b) { return b.checked; }).length,
                  focusInside: d.contains(document.activeElement),
                  text: d.textContent };",
        json!([]),
    );
    assert_eq!(dialog["role"], "dialog");
    assert_eq!(dialog["modal"], "true");
    assert_eq!(dialog["title"], "Tùy chọn quyền riêng tư");
    assert_eq!(dialog["ticked"], 0, "nothing is pre-ticked: {dialog}");
    assert_eq!(dialog["focusInside"], true);
    for purpose in ["analytics", "third_party_analytics", "personalised_ads"] {
        let id = format!("custodian-purpose-{purpose}");
        assert!(
            dialog["boxes"].as_array().unwrap().contains(&json!(id)),
            "{dialog}"
        );
    }
    assert!(
        dialog["text"].as_str().unwrap().contains("Nếu bạn từ chối"),
        "what declining costs is said: {dialog}"
    );
    browser.screenshot(&world.artefacts.join("dialog.png"));
    assert_eq!(
        updates_count(browser),
        0,
        "opening the dialog decides nothing"
    );
}

/// (b) "Reject all" keeps every signal denied, and after a reload nothing is granted and the
/// banner does not come back.
fn rejecting_keeps_every_signal_denied(world: &World, browser: &Session<'_>) {
    fresh_page(browser, &format!("{}/", world.shop));
    wait_for_banner(browser);
    browser.click("#custodian-reject");
    browser.wait_for(
        "the update",
        "return dataLayer.some(function (a) { return a[0] === 'consent' && a[1] === 'update'; });",
        5,
    );
    assert_eq!(signals(browser), all_denied());
    nothing_ever_granted(browser);
    assert_eq!(
        browser.js(
            "return !!document.getElementById('custodian-banner');",
            json!([])
        ),
        false
    );

    browser.refresh();
    browser.wait_for(
        "the stored choice applied",
        "return dataLayer.some(function (a) { return a[0] === 'consent' && a[1] === 'update'; });",
        10,
    );
    assert_eq!(signals(browser), all_denied());
    nothing_ever_granted(browser);
    let state = browser.js(
        "return { banner: !!document.getElementById('custodian-banner'),
                  choices: CustodianConsent.choices() };",
        json!([]),
    );
    assert_eq!(state["banner"], false, "answered: no banner");
    assert_eq!(
        state["choices"],
        json!({ "analytics": "denied", "third_party_analytics": "denied", "personalised_ads": "denied" })
    );

    // A purpose's terms changed since (as Custodian's `terms` would say): asked again.
    browser.js(
        "var s = JSON.parse(localStorage.getItem('custodian-consent'));
         s.purposes.third_party_analytics.terms = 'sha256:earlier-terms';
         localStorage.setItem('custodian-consent', JSON.stringify(s));",
        json!([]),
    );
    browser.refresh();
    wait_for_banner(browser);
    nothing_ever_granted(browser);
}

/// (c) Keyboard only: Tab to "Choose", Enter; Escape closes and gives the focus back; Enter
/// again, Tab to third-party analytics, Space, Tab to "Save", Enter. Only `analytics_storage`
/// is granted.
fn accepting_third_party_analytics_by_keyboard_grants_only_analytics_storage(
    world: &World,
    browser: &Session<'_>,
) {
    fresh_page(browser, &format!("{}/", world.shop));
    wait_for_banner(browser);
    browser.tab_to("custodian-choose");
    browser.press(ENTER);
    browser.wait_for(
        "the dialog",
        "return !!document.getElementById('custodian-dialog');",
        5,
    );
    let first_box = browser.js(
        "return document.querySelector('#custodian-dialog input[type=checkbox]').id;",
        json!([]),
    );
    assert_eq!(
        browser.focused(),
        first_box,
        "the focus moves into the dialog"
    );
    let focus_style = browser.js(
        "return getComputedStyle(document.activeElement).outlineStyle;",
        json!([]),
    );
    assert_eq!(focus_style, "solid", "the keyboard focus is visible");
    let ring = focus_ring_contrast(browser);
    assert!(
        ring >= 3.0,
        "the focus ring's contrast is {ring:.2}:1 (WCAG 1.4.11: 3:1)"
    );
    browser.press(ESCAPE);
    assert_eq!(
        browser.js(
            "return !!document.getElementById('custodian-dialog');",
            json!([])
        ),
        false
    );
    assert_eq!(
        browser.focused(),
        "custodian-choose",
        "the focus comes back"
    );

    browser.press(ENTER);
    browser.wait_for(
        "the dialog",
        "return !!document.getElementById('custodian-dialog');",
        5,
    );
    browser.tab_to("custodian-purpose-third_party_analytics");
    browser.press(SPACE);
    assert_eq!(
        browser.js(
            "return document.getElementById('custodian-purpose-third_party_analytics').checked;",
            json!([])
        ),
        true
    );
    browser.tab_to("custodian-save");
    browser.press(ENTER);
    browser.wait_for(
        "the update",
        "return dataLayer.some(function (a) { return a[0] === 'consent' && a[1] === 'update'; });",
        5,
    );
    let (_, updates) = consent_calls(browser);
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(
        updates[0],
        json!({
            "ad_storage": "denied",
            "analytics_storage": "granted",
            "ad_user_data": "denied",
            "ad_personalization": "denied",
        })
    );
    assert_eq!(
        browser.js("return CustodianConsent.choices();", json!([])),
        json!({ "analytics": "denied", "third_party_analytics": "granted", "personalised_ads": "denied" })
    );

    // The footer link reopens the preferences, showing the choice made.
    browser.click("#footer-preferences");
    browser.wait_for(
        "the dialog",
        "return !!document.getElementById('custodian-dialog');",
        5,
    );
    assert_eq!(
        browser.js(
            "return document.getElementById('custodian-purpose-third_party_analytics').checked;",
            json!([])
        ),
        true
    );
    browser.press(ESCAPE);
}

/// The contrast of the focused element's outline with what it is drawn on (WCAG 2 relative
/// luminance, as Chromium computed the styles).
fn focus_ring_contrast(browser: &Session<'_>) -> f64 {
    browser
        .js(
            r#"
            const lum = (c) => {
              const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
                v /= 255;
                return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
              });
              return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const el = document.activeElement;
            let bg = 'rgb(255, 255, 255)';
            // The outline is drawn outside the element (offset): on its parents' background.
            for (let p = el.parentElement; p; p = p.parentElement) {
              const b = getComputedStyle(p).backgroundColor;
              if (b && b !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(b)) { bg = b; break; }
            }
            const a = lum(getComputedStyle(el).outlineColor), b = lum(bg);
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            "#,
            json!([]),
        )
        .as_f64()
        .unwrap()
}

fn dialog_open(browser: &Session<'_>) -> bool {
    browser.js(
        "return !!document.getElementById('custodian-dialog');",
        json!([]),
    ) == true
}

/// (f) On a phone (360 × 740) and by keyboard: nothing scrolls sideways; the focus ring is
/// visible (3:1); after Reject all, Accept all or Save the focus goes to the page's
/// preferences link (or, on a page without one, the banner's re-open button), never to
/// `<body>`; while the dialog is open the page behind is inert, Shift+Tab from the dialog's
/// text stays inside, Escape closes it and gives the page back; its buttons are on screen.
fn the_banner_on_a_phone_by_keyboard(world: &World, browser: &Session<'_>) {
    browser.phone();
    let shots = world.artefacts.join("phone");
    for (action, button) in [
        ("reject all", "custodian-reject"),
        ("accept all", "custodian-accept"),
    ] {
        fresh_page(browser, &format!("{}/", world.shop));
        wait_for_banner(browser);
        browser.fits_the_width("the shop's page with the banner");
        browser.tab_to(button);
        assert!(focus_ring_contrast(browser) >= 3.0, "{button}");
        browser.press(ENTER);
        browser.wait_for(
            "the banner gone",
            "return !document.getElementById('custodian-banner');",
            5,
        );
        assert_eq!(browser.focused(), "footer-preferences", "after {action}");
    }

    fresh_page(browser, &format!("{}/vi", world.shop));
    wait_for_banner(browser);
    browser.tab_to("custodian-choose");
    browser.press(ENTER);
    browser.wait_for(
        "the dialog",
        "return !!document.getElementById('custodian-dialog');",
        5,
    );
    browser.fits_the_width("the dialog");
    browser.screenshot(&shots.join("dialog-vi.png"));
    let off_screen = browser.js(
        "return ['custodian-save', 'custodian-dialog-accept', 'custodian-dialog-reject', 'custodian-close']
           .filter(function (id) {
             var r = document.getElementById(id).getBoundingClientRect();
             return !(r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth);
           });",
        json!([]),
    );
    assert_eq!(
        off_screen,
        json!([]),
        "the dialog's buttons are on screen at 360 × 740"
    );
    let inert = browser.js(
        "return [document.getElementById('custodian-banner').closest('[inert]') !== null,
                 document.querySelector('h1').closest('[inert]') !== null,
                 document.getElementById('custodian-dialog').closest('[inert]') !== null];",
        json!([]),
    );
    assert_eq!(
        inert,
        json!([true, true, false]),
        "the page behind is inert, not the dialog"
    );
    // A click on the dialog's text, then Shift+Tab (and Tab): the focus stays inside.
    browser.click("#custodian-dialog .custodian-dialog-body > p");
    browser.shift_tab();
    let inside =
        "return document.getElementById('custodian-dialog').contains(document.activeElement);";
    assert_eq!(
        browser.js(inside, json!([])),
        true,
        "Shift+Tab stays in the dialog"
    );
    assert_eq!(browser.focused(), "custodian-close", "to its last control");
    browser.press(TAB);
    assert_eq!(
        browser.js(inside, json!([])),
        true,
        "Tab stays in the dialog"
    );
    for _ in 0..3 {
        browser.shift_tab();
        assert_eq!(browser.js(inside, json!([])), true);
    }
    browser.press(ESCAPE);
    assert!(!dialog_open(browser), "Escape closes the dialog");
    assert_eq!(
        browser.focused(),
        "custodian-choose",
        "the focus comes back"
    );
    assert_eq!(
        browser.js(
            "return document.querySelectorAll('[inert]').length;",
            json!([])
        ),
        0,
        "the page is given back"
    );
    // Save from the dialog: the banner goes, the focus to the page's preferences link.
    browser.press(ENTER);
    browser.wait_for(
        "the dialog",
        "return !!document.getElementById('custodian-dialog');",
        5,
    );
    browser.tab_to("custodian-save");
    assert!(focus_ring_contrast(browser) >= 3.0, "custodian-save");
    browser.press(ENTER);
    assert!(!dialog_open(browser));
    assert_eq!(browser.focused(), "footer-preferences", "after save");
    // Reopened from the footer link, closed by Escape: back to the link.
    browser.press(ENTER);
    browser.wait_for(
        "the dialog",
        "return !!document.getElementById('custodian-dialog');",
        5,
    );
    browser.press(ESCAPE);
    assert_eq!(browser.focused(), "footer-preferences");

    // A page without a preferences link: the banner's re-open button takes the focus.
    fresh_page(browser, &format!("{}/bare", world.shop));
    wait_for_banner(browser);
    browser.click("#custodian-reject");
    browser.wait_for(
        "the banner gone",
        "return !document.getElementById('custodian-banner');",
        5,
    );
    assert_eq!(browser.focused(), "custodian-reopen", "after reject all");
    browser.fits_the_width("the re-open button");
    browser.screenshot(&shots.join("reopen.png"));
    browser.press(ENTER);
    browser.wait_for(
        "the dialog",
        "return !!document.getElementById('custodian-dialog');",
        5,
    );
    browser.press(ESCAPE);
    assert_eq!(browser.focused(), "custodian-reopen");
    // Answered, the next page offers the button again (and no banner).
    browser.refresh();
    browser.wait_for(
        "the re-open button",
        "return !!document.getElementById('custodian-reopen');",
        10,
    );
    assert_eq!(
        browser.js(
            "return !!document.getElementById('custodian-banner');",
            json!([])
        ),
        false
    );
    browser.desktop();
}

/// Custodian unreachable: no banner, every signal stays denied.
fn unreachable_custodian_leaves_every_signal_denied(world: &World, browser: &Session<'_>) {
    fresh_page(browser, &format!("{}/offline", world.shop));
    browser.wait_for("the script", "return !!window.CustodianConsent;", 5);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(signals(browser), all_denied());
    nothing_ever_granted(browser);
    assert_eq!(
        browser.js(
            "return !!document.getElementById('custodian-banner');",
            json!([])
        ),
        false
    );
}

/// (d) With Global Privacy Control, "Accept all" grants no purpose the policy refuses under
/// GPC: the ad signals (and third-party analytics) stay denied, and the GPC text is shown.
fn gpc_keeps_ad_signals_denied_after_accept_all(world: &World, browser: &Session<'_>) {
    browser.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', \
                           { get: function () { return true; }, configurable: true });" }),
    );
    browser.cdp("Network.enable", json!({}));
    browser.cdp(
        "Network.setExtraHTTPHeaders",
        json!({ "headers": { "Sec-GPC": "1" } }),
    );
    fresh_page(browser, &format!("{}/", world.shop));
    wait_for_banner(browser);
    assert_eq!(
        browser.js("return navigator.globalPrivacyControl;", json!([])),
        true
    );
    let policy = custodian_policy::parse(custodian_policy::DEFAULT_POLICY).unwrap();
    let gpc_text = &policy.notice.texts.global_privacy_control.en;
    let shown = browser.js(
        "var g = document.getElementById('custodian-gpc'); return g ? g.textContent : '';",
        json!([]),
    );
    assert!(
        shown.as_str().unwrap().contains(gpc_text.as_str()),
        "the policy's GPC text is shown: {shown}"
    );
    browser.screenshot(&world.artefacts.join("banner-gpc.png"));

    browser.click("#custodian-choose");
    let boxes = browser.js(
        "return ['analytics', 'third_party_analytics', 'personalised_ads'].map(function (p) {
           var b = document.getElementById('custodian-purpose-' + p);
           return [p, b.checked, b.disabled]; });",
        json!([]),
    );
    assert_eq!(
        boxes,
        json!([
            ["analytics", false, false],
            ["third_party_analytics", false, true],
            ["personalised_ads", false, true]
        ])
    );
    browser.screenshot(&world.artefacts.join("dialog-gpc.png"));
    browser.click("#custodian-dialog-accept");
    browser.wait_for(
        "the update",
        "return dataLayer.some(function (a) { return a[0] === 'consent' && a[1] === 'update'; });",
        5,
    );
    let state = signals(browser);
    for signal in ["ad_storage", "ad_user_data", "ad_personalization"] {
        assert_eq!(state[signal], "denied", "{signal}: {state}");
    }
    assert_eq!(state["analytics_storage"], "denied", "{state}");
    assert_eq!(
        browser.js("return CustodianConsent.choices();", json!([])),
        json!({ "analytics": "granted", "third_party_analytics": "denied", "personalised_ads": "denied" })
    );
}

/// (e) A signed-in customer's choice is posted to Custodian and shows in their consent
/// history, from the web form; on the next page the choice on file applies without asking.
fn signed_in_choice_reaches_the_consent_history(world: &World, browser: &Session<'_>) {
    let app = &world.app;
    let token = world.rt.block_on(sign_in_customer(app));
    let history = |token: &str| {
        world.rt.block_on(async {
            let response = app
                .call_as(Some(token), "GET", "/v1/account/consents/history", None)
                .await;
            (response.status().as_u16(), body_json(response).await)
        })
    };
    *world.shop_state.session.lock().unwrap() = Some(token.clone());
    fresh_page(browser, &format!("{}/account", world.shop));
    wait_for_banner(browser);
    browser.click("#custodian-choose");
    browser.click("#custodian-purpose-analytics");
    browser.click("#custodian-purpose-third_party_analytics");
    browser.click("#custodian-save");

    let deadline = Instant::now() + Duration::from_secs(10);
    let entries = loop {
        let (status, body) = history(&token);
        assert_eq!(status, 200, "{body}");
        let entries = body["history"].as_array().cloned().unwrap_or_default();
        if entries.len() >= 3 {
            break entries;
        }
        assert!(
            Instant::now() < deadline,
            "the choice never reached the history: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let state_of = |purpose: &str| {
        entries
            .iter()
            .find(|e| e["purpose"] == purpose)
            .unwrap_or_else(|| panic!("{purpose} in {entries:?}"))
            .clone()
    };
    let third = state_of("third_party_analytics");
    assert_eq!(third["state"], "granted");
    assert_eq!(third["channel"], "web_form");
    assert_eq!(third["notice_version"], app.version.version.as_str());
    assert_eq!(state_of("analytics")["state"], "granted");
    assert_eq!(state_of("personalised_ads")["state"], "denied");

    // Another page, this browser's storage emptied: the choice on file applies, unasked.
    fresh_page(browser, &format!("{}/account", world.shop));
    browser.wait_for(
        "the choice on file applied",
        "return dataLayer.some(function (a) { return a[0] === 'consent' && a[1] === 'update'; });",
        10,
    );
    assert_eq!(
        browser.js(
            "return !!document.getElementById('custodian-banner');",
            json!([])
        ),
        false
    );
    assert_eq!(signals(browser)["analytics_storage"], "granted");
    assert_eq!(signals(browser)["ad_storage"], "denied");
    *world.shop_state.session.lock().unwrap() = None;
}

/// A customer created through the vault, signed in with the code "sent" to their email.
async fn sign_in_customer(app: &TestApp) -> String {
    const EMAIL: &str = "tran.thi.mai@example.com";
    app.create(json!({ "account_name.full_name": "Trần Thị Mai", "account_email.email": EMAIL }))
        .await;
    let post = |uri: &'static str, body: Value| async move {
        app.call_as(None, "POST", uri, Some(body.to_string())).await
    };
    let response = post("/v1/customer-sessions/code", json!({ "email": EMAIL })).await;
    assert_eq!(response.status(), 202);
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post(
        "/v1/customer-sessions",
        json!({ "email": EMAIL, "code": code }),
    )
    .await;
    assert_eq!(response.status(), 201);
    body_json(response).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}
