//! The privacy centre in a real headless Chromium (P1): sign in with a code read from the
//! `RecordingNotifier`, see my data, change a consent and see it in the history, ask for a
//! copy, confirm it with the code and download the ZIP (its contents checked), ask for
//! deletion and confirm it, then find that the customer cannot sign in and their data is
//! unreadable. Screenshots of the main pages go to `target/browser-artefacts/privacy-centre/`.
//!
//! This also shows that Chromium keeps the `__Host-` session cookie (`Secure`) on
//! `http://127.0.0.1`: loopback is a secure context, so no test-only cookie mode exists.

use serde_json::json;

use crate::World;
use crate::webdriver::{ENTER, Session, TAB};

const EMAIL: &str = "pham.thu.ha@example.com";
const NAME: &str = "Phạm Thu Hà";

fn wait_for_path(browser: &Session<'_>, path: &str) {
    browser.wait_for(
        path,
        &format!("return location.pathname === '{path}' && document.readyState === 'complete';"),
        10,
    );
}

pub fn the_privacy_centre_end_to_end(world: &World, browser: &Session<'_>) {
    let app = &world.app;
    let base = &world.shop_state.custodian;
    let shots = world.artefacts.join("privacy-centre");
    let id = world.rt.block_on(
        app.create(json!({ "account_name.full_name": NAME, "account_email.email": EMAIL })),
    );
    // An order: its long id is in the orders table, and the law keeps its records.
    world.rt.block_on(async {
        let response = app
            .call(
                "POST",
                "/v1/orders?purpose=order_fulfilment",
                Some(json!({
                    "customer": id,
                    "items": [{ "product_id": "sku-ao-dai-01", "product_name": "Áo dài lụa",
                                "quantity": 1, "unit_price": 1250000 }],
                    "fields": {
                        "order_recipient.recipient_name": NAME,
                        "order_shipping_address.address_line": "Số 12 phố Hàng Gai",
                        "order_shipping_address.ward": "Hàng Gai",
                        "order_shipping_address.province": "Hà Nội",
                        "order_shipping_address.country": "VN",
                        "order_contact_phone.contact_phone": "0912 345 678",
                        "order_payment.payment_token": "tok_test_7Hq2Lx",
                        "order_payment.card_brand": "visa",
                        "order_payment.card_last4": "1111",
                        "order_payment.card_expiry": "04/29",
                    },
                })),
            )
            .await;
        assert_eq!(response.status(), 201);
    });

    // A page needs a session: the browser lands on the sign-in page.
    browser.goto(&format!("{base}/privacy-centre?lang=en"));
    wait_for_path(browser, "/privacy-centre/sign-in");
    assert!(browser.text().contains("Sign in with a one-time code"));
    browser.screenshot(&shots.join("sign-in.png"));

    browser.type_into("#code-email", EMAIL);
    browser.click("section[aria-labelledby=\"by-code\"] button");
    browser.wait_for(
        "the code form",
        "return document.querySelector('#code') !== null;",
        10,
    );
    let code = app.notifier.last_code().unwrap().to_string();
    // A wrong code first: the same form again, the error beside the field, which has the
    // focus (no script: `autofocus`).
    let wrong = if code == "000000" { "111111" } else { "000000" };
    browser.type_into("#code", wrong);
    browser.click("section[aria-labelledby=\"by-code\"] button");
    browser.wait_for(
        "the code form again",
        "return document.readyState === 'complete' \
         && document.querySelector('#code[aria-invalid=\"true\"]') !== null;",
        10,
    );
    let refused = browser.js(
        "var code = document.getElementById('code');
         return { focused: document.activeElement === code,
                  error: document.getElementById(code.getAttribute('aria-describedby')).textContent,
                  email: document.getElementById('code-email').value, value: code.value };",
        json!([]),
    );
    assert_eq!(
        refused,
        json!({ "focused": true, "error": "The code is wrong or has expired. Check the code in the email, or ask for a new one.",
                "email": EMAIL, "value": "" })
    );
    browser.fits_the_width("the refused code");
    browser.screenshot(&shots.join("wrong-code.png"));
    browser.type_into("#code", &code);
    browser.click("section[aria-labelledby=\"by-code\"] button");

    // Signed in: the Secure, HttpOnly cookie was kept on http://127.0.0.1 and scripts
    // cannot read it.
    wait_for_path(browser, "/privacy-centre");
    let text = browser.text();
    assert!(text.contains("My data"), "{text}");
    assert!(text.contains(NAME) && text.contains(EMAIL), "{text}");
    assert!(text.contains("Why we hold it"));
    let cookies = browser.js("return document.cookie;", json!([]));
    assert!(
        !cookies.to_string().contains("custodian_centre"),
        "{cookies}"
    );
    browser.screenshot(&shots.join("my-data.png"));

    // Change a consent and see it in the history.
    browser.click("a[href=\"/privacy-centre/choices?lang=en\"]");
    wait_for_path(browser, "/privacy-centre/choices");
    assert!(browser.text().contains("Not asked (counts as no)"));
    browser.click("section.choice:has(input[value=\"marketing\"]) button");
    browser.wait_for(
        "the choice recorded",
        "return document.body.innerText.includes('Your choice has been recorded.');",
        10,
    );
    let history = browser
        .js(
            "return document.querySelector('#history').parentElement.innerText;",
            json!([]),
        )
        .to_string();
    assert!(
        history.contains("Granted") && history.contains("Web form"),
        "{history}"
    );
    browser.screenshot(&shots.join("choices.png"));

    // Who received my data.
    browser.click("a[href=\"/privacy-centre/recipients?lang=en\"]");
    wait_for_path(browser, "/privacy-centre/recipients");
    assert!(browser.text().contains("Who received my data"));
    browser.screenshot(&shots.join("recipients.png"));

    // Ask for a copy: confirmed with the code sent to the email on file, then downloaded.
    browser.click("a[href=\"/privacy-centre/requests?lang=en\"]");
    wait_for_path(browser, "/privacy-centre/requests");
    browser.click("#ask-portability button");
    wait_for_path(browser, "/privacy-centre/requests/verify");
    assert!(browser.text().contains("Confirm your request"));
    browser.screenshot(&shots.join("confirm-request.png"));
    let code = app.notifier.last_code().unwrap().to_string();
    browser.type_into("#request-code", &code);
    browser.click("main form button[type=\"submit\"]");
    browser.wait_for(
        "the copy ready",
        "return document.body.innerText.includes('Your copy is ready');",
        10,
    );
    browser.screenshot(&shots.join("copy-ready.png"));
    let downloads = shots.join("downloads");
    let _ = std::fs::remove_dir_all(&downloads);
    std::fs::create_dir_all(&downloads).unwrap();
    let downloads = downloads.canonicalize().unwrap();
    browser.cdp(
        "Page.setDownloadBehavior",
        json!({ "behavior": "allow", "downloadPath": downloads.to_str().unwrap() }),
    );
    browser.click("#download");
    let zip = wait_for_download(&downloads);
    let export = read_zip(&zip);
    let json = &export["export.json"];
    assert!(
        json.contains(EMAIL) && json.contains(NAME),
        "the export holds the profile"
    );
    assert!(json.contains("\"marketing\""), "and the consent just given");
    assert!(export["report.html"].contains(NAME));
    assert!(export["report.html"].contains("<html lang=\"en\">"));

    // The request is listed, completed, with its due date; a fresh copy can be had from it.
    browser.goto(&format!("{base}/privacy-centre/requests?lang=en"));
    wait_for_path(browser, "/privacy-centre/requests");
    let rows = browser
        .js(
            "return document.querySelector('table.requests').innerText;",
            json!([]),
        )
        .to_string();
    assert!(
        rows.contains("2026-01-15") && rows.contains("Download my data"),
        "{rows}"
    );
    browser.screenshot(&shots.join("requests.png"));
    text_contrast_is_at_least_4_5(browser);
    nothing_scrolls_sideways_on_a_phone(world, browser);

    // The first Tab reaches the skip link, which leads to the main content.
    browser.goto(&format!("{base}/privacy-centre/requests?lang=en"));
    wait_for_path(browser, "/privacy-centre/requests");
    browser.press(TAB);
    assert_eq!(
        browser.js("return document.activeElement.className;", json!([])),
        "skip"
    );
    browser.press(ENTER);
    browser.wait_for(
        "the skip link followed",
        "return location.hash === '#main';",
        5,
    );

    // The language switch keeps the page.
    browser.click("a[hreflang=\"vi\"]");
    wait_for_path(browser, "/privacy-centre/requests");
    assert_eq!(
        browser.js("return document.documentElement.lang;", json!([])),
        "vi"
    );
    assert!(browser.text().contains("Yêu cầu của tôi"));
    browser.screenshot(&shots.join("requests-vi.png"));

    // Deletion (on a phone), the warning acknowledged and the code entered: the report says
    // what the law keeps, and then the customer cannot sign in and their data is unreadable.
    browser.phone();
    browser.goto(&format!("{base}/privacy-centre/requests?lang=en"));
    wait_for_path(browser, "/privacy-centre/requests");
    browser.click("#deletion-confirm");
    browser.click("#ask-deletion button");
    wait_for_path(browser, "/privacy-centre/requests/verify");
    let code = app.notifier.last_code().unwrap().to_string();
    browser.type_into("#request-code", &code);
    browser.click("main form button[type=\"submit\"]");
    browser.wait_for(
        "the deletion report",
        "return document.body.innerText.includes('Your data has been deleted');",
        10,
    );
    // `find` fails the test when nothing matches.
    browser.find("#removed li[data-category=\"account_email\"]");
    browser.find("#retained tr[data-category]");
    browser.fits_the_width("the deletion's report");
    browser.screenshot(&shots.join("deleted.png"));
    browser.desktop();
    browser.goto(&format!("{base}/privacy-centre?lang=en"));
    wait_for_path(browser, "/privacy-centre/sign-in");
    let sent = app.notifier.count();
    browser.type_into("#code-email", EMAIL);
    browser.click("section[aria-labelledby=\"by-code\"] button");
    browser.wait_for(
        "the code form",
        "return document.querySelector('#code') !== null;",
        10,
    );
    assert_eq!(app.notifier.count(), sent, "no code for an erased customer");
    browser.type_into("#code", &code);
    browser.click("section[aria-labelledby=\"by-code\"] button");
    browser.wait_for(
        "the sign-in refused",
        "return location.pathname === '/privacy-centre/sign-in' \
         && document.readyState === 'complete';",
        10,
    );
    assert!(!browser.text().contains("My data"));
    let read = world.rt.block_on(async {
        let response = app
            .call("GET", &format!("/v1/customers/{id}?purpose=account"), None)
            .await;
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
    });
    assert_eq!(
        read["fields"]["account_name.full_name"],
        json!({ "withheld": "erased" })
    );
}

/// At 360 × 740, in both languages, no page of the centre (with a request, a consent and an
/// order to show) and neither notice scrolls sideways: tables stack, long ids break.
fn nothing_scrolls_sideways_on_a_phone(world: &World, browser: &Session<'_>) {
    let base = &world.shop_state.custodian;
    let shots = world.artefacts.join("privacy-centre").join("phone");
    let request = browser
        .js(
            "return document.querySelector('table.requests tbody tr').id.replace('request-', '');",
            json!([]),
        )
        .as_str()
        .unwrap()
        .to_owned();
    browser.phone();
    let pages = [
        ("my-data", "/privacy-centre".to_owned()),
        ("choices", "/privacy-centre/choices".to_owned()),
        ("recipients", "/privacy-centre/recipients".to_owned()),
        ("requests", "/privacy-centre/requests".to_owned()),
        ("orders", "/privacy-centre/orders".to_owned()),
        ("sign-in", "/privacy-centre/sign-in".to_owned()),
        ("not-found", "/privacy-centre/nowhere".to_owned()),
        ("notice", "/privacy".to_owned()),
    ];
    for lang in ["en", "vi"] {
        for (name, path) in &pages {
            browser.goto(&format!("{base}{path}?lang={lang}"));
            wait_for_path(browser, path);
            browser.fits_the_width(&format!("{path}?lang={lang}"));
            browser.screenshot(&shots.join(format!("{name}-{lang}.png")));
        }
        let verify = format!("{base}/privacy-centre/requests/verify?lang={lang}&request={request}");
        browser.goto(&verify);
        wait_for_path(browser, "/privacy-centre/requests/verify");
        browser.fits_the_width(&format!("the code form ({lang})"));
    }
    // The tables are cards: each cell says its column.
    browser.goto(&format!("{base}/privacy-centre/orders?lang=en"));
    wait_for_path(browser, "/privacy-centre/orders");
    let label = browser.js(
        "return getComputedStyle(document.querySelector('td[data-label]'), '::before').content;",
        json!([]),
    );
    assert_eq!(label, "\"Order\"");
    browser.desktop();
}

/// The first whole ZIP file to appear in `dir` (Chromium writes `.crdownload` until done).
fn wait_for_download(dir: &std::path::Path) -> std::path::PathBuf {
    for _ in 0..100 {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "zip"));
        if let Some(path) = done {
            return path;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no download in {}", dir.display());
}

/// Every file of a ZIP, by name.
fn read_zip(path: &std::path::Path) -> std::collections::HashMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut file, &mut text).unwrap();
            (file.name().unwrap().to_string(), text)
        })
        .collect()
}

/// Every text element's contrast with the background it is drawn on (WCAG 2 relative
/// luminance), as Chromium computed the styles.
fn text_contrast_is_at_least_4_5(browser: &Session<'_>) {
    let ratios = browser.js(
        r#"
        const lum = (c) => {
          const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
          });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const bg = (el) => {
          for (; el; el = el.parentElement) {
            const b = getComputedStyle(el).backgroundColor;
            if (b && b !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(b)) return b;
          }
          return 'rgb(255, 255, 255)';
        };
        const out = [];
        for (const el of document.querySelectorAll(arguments[0])) {
          const a = lum(getComputedStyle(el).color), b = lum(bg(el));
          out.push([el.tagName + '.' + el.className, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
        }
        return out;
        "#,
        json!(["p, a, button, th, td, h1, h2, h3, label, dt, dd"]),
    );
    let ratios = ratios.as_array().unwrap();
    assert!(ratios.len() > 10, "{ratios:?}");
    for r in ratios {
        assert!(r[1].as_f64().unwrap() >= 4.5, "contrast below 4.5:1: {r:?}");
    }
}
