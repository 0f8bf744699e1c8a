//! Agreement with libphonenumber on a corpus it decided itself (`data/phone_corpus.tsv`,
//! written by `data/make_phone_corpus.py` with Python's `phonenumbers` on the metadata
//! release the `phonenumber` crate carries): every spelling of valid and invalid numbers of
//! every region, read with Vietnam as the default region. An input agrees when both refuse
//! it, or both accept it as the same E.164 number.

#![allow(clippy::print_stdout, reason = "the test prints the agreement figure")]

use std::collections::BTreeMap;

use custodian_crypto::{PhoneRegion, normalise_phone};

const CORPUS: &str = include_str!("data/phone_corpus.tsv");

#[test]
fn agrees_with_libphonenumber_on_at_least_99_percent_of_the_corpus() {
    let mut total = 0usize;
    let mut agreed = 0usize;
    let (mut valid, mut valid_agreed) = (0usize, 0usize);
    let mut disagreements: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in CORPUS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut cols = line.split('\t');
        let (Some(input), Some(ok), Some(e164), Some(kind)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            panic!("malformed corpus line {line:?}");
        };
        let expected = (ok == "1").then_some(e164);
        let got = normalise_phone(input, PhoneRegion::VIETNAM).ok();
        total += 1;
        if expected.is_some() {
            valid += 1;
        }
        if got.as_deref() == expected {
            agreed += 1;
            if expected.is_some() {
                valid_agreed += 1;
            }
        } else {
            let family = kind.split('/').next_back().unwrap_or(kind).to_owned();
            disagreements.entry(family).or_default().push(format!(
                "{input:?}: libphonenumber {expected:?}, ours {got:?} ({kind})"
            ));
        }
    }
    let percent = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "phone corpus: {agreed}/{total} agree ({:.2}%); valid numbers {valid_agreed}/{valid} ({:.2}%); invalid {}/{} ({:.2}%)",
        percent(agreed, total),
        percent(valid_agreed, valid),
        agreed - valid_agreed,
        total - valid,
        percent(agreed - valid_agreed, total - valid),
    );
    for (family, cases) in &disagreements {
        println!("  {family}: {} disagreements, e.g.", cases.len());
        for case in cases.iter().take(3) {
            println!("    {case}");
        }
    }
    assert!(total > 5000, "the corpus has {total} inputs");
    assert!(
        percent(agreed, total) >= 99.0,
        "agreement {:.2}% is under 99%",
        percent(agreed, total)
    );
}
