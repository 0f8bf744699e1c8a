//! The guard's false positives, measured: a generated corpus of what shops really send —
//! identifiers, phone numbers in every Vietnamese and international spelling, prices, order
//! numbers, addresses, dates — goes through [`contains_card_number`], and the share taken for
//! a card number is counted per form. Printed with `--nocapture`; the figures are stated in
//! SECURITY.md.
//!
//! A form that can never hold 13 digits standing together must never be refused; a form
//! that can (an order number made of a date and a sequence, a date and time to the second,
//! a range of dates, a bank account, a tax code with its branch, two grouped phone numbers
//! in one text) is refused when its digits happen to pass Luhn:
//! the price of catching every spelling of a card, whose groups may be anything.

use super::contains_card_number;
use super::spelling::{Rng, luhn_check_digit};
use crate::ids::{CustomerId, OrderId};

const SAMPLES: usize = 2_000;

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + (rng.below(10) as u8)))
        .collect()
}

/// A Vietnamese mobile number's 9 national digits after the trunk 0 (prefixes 3, 5, 7, 8, 9).
fn vn_mobile(rng: &mut Rng) -> String {
    let prefix = rng.pick(&["3", "5", "7", "8", "9"]).copied().unwrap_or("9");
    format!("{prefix}{}", digits(rng, 8))
}

/// A mobile's 9 national digits as people group them: `912`, `345`, `678`.
fn three_groups(m: &str) -> (&str, &str, &str) {
    (
        m.get(..3).unwrap_or(""),
        m.get(3..6).unwrap_or(""),
        m.get(6..).unwrap_or(""),
    )
}

/// `(form, generator, the most it may be refused)`: a form whose digits never stand 13
/// together has `NEVER`; one whose do is refused when they pass Luhn, once per way of
/// reading 13–19 of them from the start of a group to the end of one (about one in ten each).
type Form = (&'static str, fn(&mut Rng) -> String, f64);

const NEVER: f64 = 0.0;
/// One way to read 13–19 digits: refused when they pass Luhn, about one time in ten.
const ONE_READING: f64 = 0.15;

fn forms() -> Vec<Form> {
    vec![
        (
            "customer and order ids",
            |rng| {
                let at =
                    jiff::Timestamp::from_second(1_700_000_000 + rng.below(200_000_000) as i64)
                        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                if rng.below(2) == 0 {
                    CustomerId::generate(at)
                        .map(|i| i.as_str().to_owned())
                        .unwrap_or_default()
                } else {
                    OrderId::generate(at)
                        .map(|i| i.as_str().to_owned())
                        .unwrap_or_default()
                }
            },
            NEVER,
        ),
        (
            "processor tokens",
            |rng| format!("tok_{}{}", digits(rng, 6), "Kx2eZvKYlo2C"),
            NEVER,
        ),
        (
            "VN mobile, national (0912 345 678 and others)",
            |rng| {
                let m = vn_mobile(rng);
                let (a, b, c) = three_groups(&m);
                match rng.below(5) {
                    0 => format!("0{m}"),
                    1 => format!("0{a} {b} {c}"),
                    2 => format!("0{a}-{b}-{c}"),
                    3 => format!("0{a}.{b}.{c}"),
                    _ => format!("(0{a}) {b} {c}"),
                }
            },
            NEVER,
        ),
        (
            "VN mobile, international (+84, 84, tel:)",
            |rng| {
                let m = vn_mobile(rng);
                let (a, b, c) = three_groups(&m);
                match rng.below(6) {
                    0 => format!("+84{m}"),
                    1 => format!("+84 {a} {b} {c}"),
                    2 => format!("(+84) {a}-{b}-{c}"),
                    3 => format!("84{m}"),
                    4 => format!("+84 (0) {a} {b} {c}"),
                    _ => format!("tel:+84-{a}-{b}-{c}"),
                }
            },
            NEVER,
        ),
        (
            "VN landline and 1800/1900 numbers",
            |rng| match rng.below(4) {
                0 => format!("024 {} {}", digits(rng, 4), digits(rng, 4)),
                1 => format!("(028) {}-{}", digits(rng, 4), digits(rng, 4)),
                2 => format!("+84 24 {} {}", digits(rng, 4), digits(rng, 4)),
                _ => format!(
                    "1{}00 {} {}",
                    rng.below(2) * 8,
                    digits(rng, 2),
                    digits(rng, 2)
                ),
            },
            NEVER,
        ),
        (
            "foreign numbers after + (US, UK, CN, DE, ID, JP, FR, SG)",
            |rng| match rng.below(8) {
                0 => format!(
                    "+1 ({}) {}-{}",
                    digits(rng, 3),
                    digits(rng, 3),
                    digits(rng, 4)
                ),
                1 => format!("+44 20 {} {}", digits(rng, 4), digits(rng, 4)),
                2 => format!(
                    "+86 1{} {} {}",
                    digits(rng, 2),
                    digits(rng, 4),
                    digits(rng, 4)
                ),
                3 => format!("+49 15{} {}", digits(rng, 1), digits(rng, 8)),
                4 => format!(
                    "+62 8{}-{}-{}",
                    digits(rng, 2),
                    digits(rng, 4),
                    digits(rng, 5)
                ),
                5 => format!("+81 90-{}-{}", digits(rng, 4), digits(rng, 4)),
                6 => format!(
                    "+33 6 {} {} {} {}",
                    digits(rng, 2),
                    digits(rng, 2),
                    digits(rng, 2),
                    digits(rng, 2)
                ),
                _ => format!("+65 {} {}", digits(rng, 4), digits(rng, 4)),
            },
            NEVER,
        ),
        (
            "numbers dialled out with 00 (US, UK, SG, VN)",
            |rng| match rng.below(4) {
                0 => format!(
                    "001 {} {} {}",
                    digits(rng, 3),
                    digits(rng, 3),
                    digits(rng, 4)
                ),
                1 => format!("0044 20 {} {}", digits(rng, 4), digits(rng, 4)),
                2 => format!("0065 {} {}", digits(rng, 4), digits(rng, 4)),
                _ => format!("0084 {}", vn_mobile(rng)),
            },
            NEVER,
        ),
        (
            "numbers dialled out with 00, 12-13 digits (CN, DE, ID)",
            |rng| match rng.below(3) {
                0 => format!(
                    "0086 1{} {} {}",
                    digits(rng, 2),
                    digits(rng, 4),
                    digits(rng, 4)
                ),
                1 => format!("0049 15{} {}", digits(rng, 1), digits(rng, 8)),
                _ => format!(
                    "0062 8{}-{}-{}",
                    digits(rng, 2),
                    digits(rng, 4),
                    digits(rng, 5)
                ),
            },
            NEVER,
        ),
        (
            "two VN mobiles in one text, unspaced (0912345678 / 0987654321)",
            |rng| format!("0{} / 0{}", vn_mobile(rng), vn_mobile(rng)),
            NEVER,
        ),
        (
            "two VN mobiles in one text, grouped (0912 345 678, 0987 654 321)",
            |rng| {
                let (a, b) = (vn_mobile(rng), vn_mobile(rng));
                let group = |m: &str| {
                    let (a, b, c) = three_groups(m);
                    format!("0{a} {b} {c}")
                };
                format!("{}, {}", group(&a), group(&b))
            },
            0.5,
        ),
        (
            "prices",
            |rng| {
                let amount = 1_000 + rng.below(999_999_000);
                let grouped = |sep: char| {
                    let s = amount.to_string();
                    let mut out = String::new();
                    for (i, c) in s.chars().enumerate() {
                        if i > 0 && (s.len() - i) % 3 == 0 {
                            out.push(sep);
                        }
                        out.push(c);
                    }
                    out
                };
                match rng.below(5) {
                    0 => format!("{} ₫", grouped('.')),
                    1 => format!("{} VND", grouped(',')),
                    2 => format!("{}đ", grouped('.')),
                    3 => format!("{},00 đ", grouped('.')),
                    _ => format!("{amount}"),
                }
            },
            NEVER,
        ),
        (
            "order numbers (DH123456, ORD-2026-000123, SO/2026/12/000123, #100234)",
            |rng| match rng.below(4) {
                0 => format!("DH{}", digits(rng, 6)),
                1 => format!("ORD-2026-{}", digits(rng, 6)),
                2 => format!("SO/2026/12/{}", digits(rng, 6)),
                _ => format!("#{}", digits(rng, 6)),
            },
            NEVER,
        ),
        (
            "order numbers of a date and a sequence (ORD-20261205-0001234)",
            |rng| format!("ORD-202612{:02}-{}", 1 + rng.below(28), digits(rng, 7)),
            ONE_READING,
        ),
        (
            "phones' identities labelled IMEI (IMEI 356938035643809)",
            |rng| {
                // The IMEI's last digit is its Luhn check digit.
                let body: Vec<u32> = (0..14).map(|_| rng.below(10) as u32).collect();
                let check = luhn_check_digit(&body);
                let text: String = body
                    .iter()
                    .filter_map(|d| char::from_digit(*d, 10))
                    .collect();
                format!("IMEI: {text}{check}")
            },
            NEVER,
        ),
        (
            "product barcodes and books (EAN-13 893…, ISBN 978-604-…)",
            |rng| {
                let prefix = if rng.below(2) == 0 { "893" } else { "978604" };
                let body = format!("{prefix}{}", digits(rng, 12 - prefix.len()));
                let sum: u32 = body
                    .bytes()
                    .enumerate()
                    .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
                    .sum();
                format!("{body}{}", (10 - sum % 10) % 10)
            },
            NEVER,
        ),
        (
            "price arithmetic (1.202.000 + 25.000 = 1.227.000)",
            |rng| {
                let (a, b) = (rng.below(9_000) + 1, rng.below(900) + 1);
                format!(
                    "Tổng: {a}.{:03}.000 + {b}.000 = {}.000",
                    rng.below(1000),
                    a * 1000 + b
                )
            },
            NEVER,
        ),
        (
            "date ranges (05/12/2026 - 09/12/2026)",
            |rng| {
                let d = |rng: &mut Rng| {
                    format!("{:02}/{:02}/2026", 1 + rng.below(28), 1 + rng.below(12))
                };
                format!("giao {} - {}", d(rng), d(rng))
            },
            0.3,
        ),
        (
            "bank accounts of 14 digits (STK 19036543000007)",
            |rng| format!("STK {}", digits(rng, 14)),
            ONE_READING,
        ),
        (
            "tax codes with a branch (MST 0312345001-001)",
            |rng| format!("MST 03{}-{}", digits(rng, 8), digits(rng, 3)),
            ONE_READING,
        ),
        (
            "addresses",
            |rng| match rng.below(4) {
                0 => format!(
                    "Số {}, ngõ {}, phố Huế, Hai Bà Trưng, Hà Nội",
                    1 + rng.below(300),
                    1 + rng.below(200)
                ),
                1 => format!(
                    "{}/{}/{} Nguyễn Trãi, P.{}, Q.{}, TP.HCM",
                    1 + rng.below(999),
                    1 + rng.below(99),
                    1 + rng.below(20),
                    1 + rng.below(15),
                    1 + rng.below(12)
                ),
                2 => format!(
                    "Tòa nhà {}, {} Lê Lợi, Quận 1, {}",
                    1 + rng.below(9),
                    1 + rng.below(999),
                    700_000 + rng.below(1_000)
                ),
                _ => format!(
                    "Lô {}-{}, KCN {}, {} {}",
                    1 + rng.below(50),
                    1 + rng.below(50),
                    1 + rng.below(9),
                    digits(rng, 3),
                    digits(rng, 4)
                ),
            },
            NEVER,
        ),
        (
            "dates and ISO times",
            |rng| match rng.below(3) {
                0 => format!(
                    "{:02}/{:02}/20{}",
                    1 + rng.below(28),
                    1 + rng.below(12),
                    digits(rng, 2)
                ),
                1 => format!(
                    "2026-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                    1 + rng.below(12),
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60)
                ),
                _ => format!(
                    "{:02}/{:02}/2026 {:02}:{:02}",
                    1 + rng.below(28),
                    1 + rng.below(12),
                    rng.below(24),
                    rng.below(60)
                ),
            },
            NEVER,
        ),
        (
            "dates with a time to the second (2026-12-05 14:30:15)",
            |rng| {
                format!(
                    "2026-{:02}-{:02} {:02}:{:02}:{:02}",
                    1 + rng.below(12),
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60)
                )
            },
            ONE_READING,
        ),
    ]
}

#[test]
#[allow(
    clippy::print_stdout,
    reason = "the measurement is read with --nocapture"
)]
fn false_positives_on_a_generated_corpus() {
    let mut rng = Rng::new(0x00C0_FFEE);
    let mut total = 0;
    let mut refused_total = 0;
    println!("| form | samples | taken for a card |");
    println!("|---|---|---|");
    for (form, generate, most) in forms() {
        let refused = (0..SAMPLES)
            .filter(|_| contains_card_number(&generate(&mut rng)))
            .count();
        println!(
            "| {form} | {SAMPLES} | {:.2}% |",
            100.0 * refused as f64 / SAMPLES as f64
        );
        assert!(
            refused as f64 <= most * SAMPLES as f64,
            "{form}: {refused} of {SAMPLES} taken for a card number"
        );
        total += SAMPLES;
        refused_total += refused;
    }
    println!(
        "| all | {total} | {:.2}% |",
        100.0 * refused_total as f64 / total as f64
    );
}
