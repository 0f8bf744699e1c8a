#!/usr/bin/env python3
"""Writes phone_corpus.tsv: phone numbers as people type them, each with libphonenumber's
decision for the default region VN (valid or not, and the E.164 form of a valid one).

The decisions come from Python's `phonenumbers`, a port of libphonenumber kept in step with
Google's releases. Pin the version whose metadata the Rust `phonenumber` crate carries (the
part of its version after `+`), so the two are compared on the same metadata:

    python3 -m venv /tmp/pn && /tmp/pn/bin/pip install phonenumbers==9.0.33
    /tmp/pn/bin/python crates/crypto/tests/data/make_phone_corpus.py > crates/crypto/tests/data/phone_corpus.tsv

Every number is generated: regions' example numbers from the metadata, variations of them and
random digits. Deterministic (fixed seed). Columns: input, 1/0 (valid), E.164 or empty, kind.
Extensions and letters are not generated: Custodian refuses both on purpose (E.164 holds no
extension; vanity letters are not what a customer's phone field holds).
"""

import random
import sys

import phonenumbers as pn
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

DEFAULT = "VN"
rng = random.Random(14)
rows = {}

FULLWIDTH = {c: chr(0xFF10 + int(c)) for c in "0123456789"}
FULLWIDTH.update({"+": "\uff0b", "-": "\uff0d", "(": "\uff08", ")": "\uff09", " ": "\u3000"})


def fullwidth(s):
    return "".join(FULLWIDTH.get(c, c) for c in s)


def decide(text):
    try:
        n = pn.parse(text, DEFAULT)
    except pn.NumberParseException:
        return "0", ""
    if n.extension or not pn.is_valid_number(n):
        return "0", ""
    return "1", pn.format_number(n, F.E164)


def add(text, kind):
    if "\t" in text or "\n" in text or text in rows:
        return
    valid, e164 = decide(text)
    rows[text] = (valid, e164, kind)


def groups(digits):
    """Splits digits into groups of 2 to 4, as people write them."""
    out, i = [], 0
    while i < len(digits):
        step = rng.choice((2, 3, 3, 4))
        out.append(digits[i : i + step])
        i += step
    return out


def international_spellings(cc, nsn, formatted):
    """`formatted` is libphonenumber's international format (`+84 91 234 56 78`)."""
    spaced = " ".join(groups(nsn))
    return [
        ("e164", f"+{cc}{nsn}"),
        ("international", formatted),
        ("international-dashes", formatted.replace(" ", "-")),
        ("international-dots", f"+{cc}." + ".".join(groups(nsn))),
        ("international-regrouped", f"+{cc} {spaced}"),
        ("idd-00", f"00{cc} {spaced}"),
        ("idd-00-compact", f"00{cc}{nsn}"),
        ("tel-uri", "tel:+" + formatted[1:].replace(" ", "-")),
        ("tel-uri-compact", f"tel:+{cc}{nsn}"),
        ("fullwidth-international", fullwidth(formatted)),
        ("nbsp-international", formatted.replace(" ", "\u00a0")),
        ("parenthesised-cc", f"(+{cc}) {spaced}"),
        ("cc-without-plus", f"{cc}{nsn}"),
        ("cc-without-plus-spaced", f"{cc} {spaced}"),
    ]


def national_spellings(national, nsn, prefix):
    spaced = " ".join(groups(nsn))
    compact = f"{prefix}{nsn}"
    out = [
        ("national", national),
        ("national-compact", compact),
        ("national-dashes", f"{prefix}{spaced}".replace(" ", "-")),
        ("national-dots", f"{prefix}{spaced}".replace(" ", ".")),
        ("national-regrouped", f"{prefix}{spaced}"),
        ("fullwidth-national", fullwidth(national)),
        ("nbsp-national", national.replace(" ", "\u00a0")),
        ("national-without-trunk", nsn),
    ]
    if len(compact) > 4:
        out.append(("national-parentheses", f"({compact[:3]}) {compact[3:]}"))
    return out


def spell_all(number, kind, with_national):
    cc = number.country_code
    nsn = pn.national_significant_number(number)
    formatted = pn.format_number(number, F.INTERNATIONAL)
    for style, text in international_spellings(cc, nsn, formatted):
        add(text, f"{kind}/{style}")
    region = pn.region_code_for_number(number)
    meta = pn.PhoneMetadata.metadata_for_region(region) if region else None
    prefix = meta.national_prefix if meta and meta.national_prefix else ""
    if prefix:
        spaced = " ".join(groups(nsn))
        add(f"+{cc} {prefix}{spaced}", f"{kind}/trunk-after-cc")
        add(f"+{cc} ({prefix}){spaced}", f"{kind}/trunk-parenthesised-after-cc")
    if with_national:
        national = pn.format_number(number, F.NATIONAL)
        for style, text in national_spellings(national, nsn, prefix):
            add(text, f"{kind}/{style}")


def variations(cc, nsn):
    """Wrong lengths and wrong leading digits of a number."""
    out = [
        ("one-digit-more", nsn + str(rng.randrange(10))),
        ("one-digit-less", nsn[:-1]),
        ("two-digits-more", nsn + f"{rng.randrange(100):02d}"),
    ]
    if len(nsn) > 3:
        out.append(("two-digits-less", nsn[:-2]))
    first = rng.choice([d for d in "0123456789" if d != nsn[0]])
    out.append(("other-leading-digit", first + nsn[1:]))
    second = rng.choice([d for d in "0123456789" if d != nsn[1]])
    out.append(("other-second-digit", nsn[0] + second + nsn[2:]))
    return out


def random_digits(n):
    return "".join(str(rng.randrange(10)) for _ in range(n))


TYPES = [T.FIXED_LINE, T.MOBILE, T.TOLL_FREE, T.PREMIUM_RATE, T.VOIP, T.UAN]

# Every region: its example numbers in international spellings, a few variations.
for region in sorted(pn.SUPPORTED_REGIONS):
    for kind in TYPES[:3] if region != DEFAULT else TYPES:
        example = pn.example_number_for_type(region, kind)
        if example is None:
            continue
        label = f"{region}-{kind}"
        if region == DEFAULT:
            spell_all(example, label, with_national=True)
        else:
            cc = example.country_code
            nsn = pn.national_significant_number(example)
            formatted = pn.format_number(example, F.INTERNATIONAL)
            for style, text in rng.sample(international_spellings(cc, nsn, formatted), 5):
                add(text, f"{label}/{style}")
            meta = pn.PhoneMetadata.metadata_for_region(region)
            if meta.national_prefix:
                add(f"+{cc} ({meta.national_prefix}){nsn}", f"{label}/trunk-parenthesised-after-cc")
            # Read with the default region VN: a foreign number written nationally.
            add(pn.format_number(example, F.NATIONAL), f"{label}/foreign-national")
        cc = example.country_code
        nsn = pn.national_significant_number(example)
        for var, digits in variations(cc, nsn):
            add(f"+{cc} {' '.join(groups(digits))}", f"{label}/{var}")

# Non-geographical entities (+800, +808, +870, +878, +881, +882, +883, +888, +979).
for cc in sorted(pn.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
    example = pn.example_number_for_non_geo_entity(cc)
    if example is None:
        continue
    nsn = pn.national_significant_number(example)
    formatted = pn.format_number(example, F.INTERNATIONAL)
    for style, text in international_spellings(cc, nsn, formatted)[:8]:
        add(text, f"nongeo-{cc}/{style}")
    for var, digits in variations(cc, nsn):
        add(f"+{cc} {digits}", f"nongeo-{cc}/{var}")

# Country codes that do not exist.
assigned = set(pn.COUNTRY_CODE_TO_REGION_CODE)
unassigned = [cc for cc in range(1, 1000) if cc not in assigned]
for cc in rng.sample(unassigned, 120):
    digits = random_digits(rng.randint(7, 11))
    add(f"+{cc} {' '.join(groups(digits))}", "unassigned-country-code")
    add(f"00{cc}{digits}", "unassigned-country-code/idd-00")

# Vietnam in depth: mobiles of today (10 digits), the 11-digit mobiles renumbered in 2018,
# fixed lines of today and before 2017, 1800/1900 numbers, prefixes nobody was assigned.
VN_MOBILE = ["32", "33", "34", "35", "36", "37", "38", "39", "52", "55", "56", "58", "59",
             "70", "76", "77", "78", "79", "81", "82", "83", "84", "85", "86", "87", "88",
             "89", "90", "91", "92", "93", "94", "96", "97", "98", "99"]
VN_OLD_MOBILE = ["120", "121", "122", "123", "124", "125", "126", "127", "128", "129",
                 "162", "163", "164", "165", "166", "167", "168", "169", "186", "188", "199"]


def vn(nsn, kind):
    """A Vietnamese number in its common spellings (some of them)."""
    spaced = " ".join(groups(nsn))
    spellings = [
        ("national-compact", f"0{nsn}"),
        ("national-regrouped", f"0{spaced}"),
        ("national-dashes", f"0{spaced}".replace(" ", "-")),
        ("national-dots", f"0{spaced}".replace(" ", ".")),
        ("international", f"+84 {spaced}"),
        ("e164", f"+84{nsn}"),
        ("trunk-after-cc", f"+84 0{spaced}"),
        ("trunk-parenthesised-after-cc", f"+84 (0){spaced}"),
        ("idd-00", f"0084 {spaced}"),
        ("tel-uri", f"tel:+84-{spaced.replace(' ', '-')}"),
        ("tel-uri-context", f"tel:0{nsn};phone-context=+84"),
        ("fullwidth", fullwidth(f"0{spaced}")),
        ("nbsp", f"0{spaced}".replace(" ", "\u00a0")),
        ("cc-without-plus", f"84{nsn}"),
        ("national-without-trunk", nsn),
    ]
    for style, text in rng.sample(spellings, 6):
        add(text, f"vn-{kind}/{style}")


for prefix in VN_MOBILE:
    for _ in range(6):
        vn(prefix + random_digits(7), "mobile")
    vn(prefix + random_digits(6), "mobile-short")
    vn(prefix + random_digits(8), "mobile-long")
for prefix in VN_OLD_MOBILE:
    for _ in range(4):
        vn(prefix + random_digits(7), "old-11-digit-mobile")
for first in "0123456789":
    for second in "0123456789":
        vn(f"{first}{second}{random_digits(7)}", "any-prefix")
for area in range(200, 300):
    vn(f"{area}{random_digits(7)}", "fixed-line")
for area in ["4", "8", "511", "650", "61", "710", "320"]:
    for _ in range(3):
        vn(f"{area}{random_digits(9 - len(area))}", "fixed-line-before-2017")
for service in ["1800", "1900"]:
    for n in (3, 4, 5, 6, 7):
        for _ in range(3):
            digits = service + random_digits(n)
            add(digits, f"vn-{service}/{n}-digits")
            add(f"{service} {digits[4:]}", f"vn-{service}/{n}-digits-spaced")
            add(f"+84 {service} {digits[4:]}", f"vn-{service}/{n}-digits-international")
for n in range(5, 14):
    for _ in range(12):
        vn(random_digits(n), f"random-{n}-digits")

# The same numbers from other regions as people abroad write them.
for region, spellings in [
    ("US", ["+1 (650) 253-0000", "1-650-253-0000", "+1.650.253.0000", "001 650 253 0000"]),
    ("GB", ["+44 (0)20 7031 3000", "+44 020 7031 3000", "0044 20 7031 3000"]),
    ("FR", ["+33 (0)1 42 68 53 00", "+33 6 12 34 56 78", "0033 6 12 34 56 78"]),
    ("DE", ["+49 (0)30 123456", "+49 30 901820", "+49 1512 3456789"]),
]:
    for text in spellings:
        add(text, f"{region}/written-abroad")

out = sys.stdout
out.write(f"# libphonenumber (Python phonenumbers {pn.__version__}), default region {DEFAULT}\n")
out.write("# input\tvalid\te164\tkind\n")
for text, (valid, e164, kind) in rows.items():
    out.write(f"{text}\t{valid}\t{e164}\t{kind}\n")
