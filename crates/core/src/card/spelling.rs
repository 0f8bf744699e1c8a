//! Card numbers as people and attackers may spell them, for tests (feature `test-support`):
//! a Luhn-valid number of 13 to 19 digits, each digit from one of several scripts, with runs
//! of up to three separators between digits and invisible format characters anywhere. Made
//! from a seed, so a property test's failing case can be replayed.

/// A generated card number: its digits, and how it was written.
#[derive(Debug, Clone)]
pub struct Spelled {
    pub digits: String,
    pub text: String,
}

/// The zero of each script a digit may be written in (the other nine follow it).
const ZEROS: [char; 12] = [
    '0',         // ASCII
    '\u{0660}',  // Arabic-Indic
    '\u{06F0}',  // Extended Arabic-Indic
    '\u{0966}',  // Devanagari
    '\u{09E6}',  // Bengali
    '\u{0E50}',  // Thai
    '\u{1040}',  // Myanmar
    '\u{17E0}',  // Khmer
    '\u{FF10}',  // full-width
    '\u{1D7CE}', // mathematical bold
    '\u{1D7EC}', // mathematical sans-serif bold
    '\u{1D7F6}', // mathematical monospace
];

/// Characters a separator run is made of: punctuation, spaces of every width, dashes.
const SEPARATORS: [char; 20] = [
    ' ', '-', '.', '/', '_', ',', ':', ';', '*', '#', '(', ')', '\u{00A0}', '\u{2009}', '\u{3000}',
    '\u{2013}', '\u{2014}', '\u{00B7}', '\u{FF0D}', '\u{2022}',
];

/// Invisible format characters (general category Cf).
const FORMAT: [char; 13] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{200E}', '\u{200F}', '\u{FEFF}', '\u{00AD}',
    '\u{202A}', '\u{202C}', '\u{2066}', '\u{2069}', '\u{061C}',
];

/// Text a number may stand in, before and after it (never a letter or a `+` against it).
pub const PREFIXES: [&str; 7] = ["", "note ", "thẻ: ", "(", "pay with ", "\n", "«"];
pub const SUFFIXES: [&str; 6] = ["", " thanks", ".", ")", " đ", "»"];

/// A small, fast generator (xorshift64*): tests need variety, not secrecy.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// The digit that, put after `payload`, makes it pass the Luhn check: the sum, doubling
/// every second digit from the right of the whole (the check digit itself not doubled), a
/// multiple of ten.
pub fn luhn_check_digit(payload: &[u32]) -> u32 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// A Luhn-valid number of 13–19 digits. The first is never 0: ISO/IEC 7812 gives 0 to no
/// card issuer, and a run starting `00` is read as a phone number dialled out; nor is a
/// 13-digit one a valid barcode (GTIN-13), which is read as one.
pub fn luhn_number(rng: &mut Rng) -> String {
    let len = 13 + rng.below(7);
    let mut digits: Vec<u32> = (0..len - 1).map(|_| rng.below(10) as u32).collect();
    if let Some(first) = digits.first_mut() {
        *first = 1 + rng.below(9) as u32;
    }
    digits.push(luhn_check_digit(&digits));
    // A 13-digit number that is also a valid barcode (GTIN-13) is read as one: make another.
    let bytes: Vec<u8> = digits
        .iter()
        .filter_map(|d| u8::try_from(*d).ok())
        .collect();
    if super::is_gtin13(&bytes) {
        return luhn_number(rng);
    }
    digits
        .iter()
        .filter_map(|d| char::from_digit(*d, 10))
        .collect()
}

/// A Luhn-valid number written in a random mix of scripts, separators and format characters.
pub fn spelled_card_number(seed: u64) -> Spelled {
    let mut rng = Rng::new(seed);
    let digits = luhn_number(&mut rng);
    let mut text = String::new();
    let invisible = |rng: &mut Rng, text: &mut String| {
        if rng.below(4) == 0
            && let Some(c) = rng.pick(&FORMAT)
        {
            text.push(*c);
        }
    };
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && rng.below(3) == 0 {
            for _ in 0..1 + rng.below(3) {
                invisible(&mut rng, &mut text);
                if let Some(c) = rng.pick(&SEPARATORS) {
                    text.push(*c);
                }
            }
        }
        invisible(&mut rng, &mut text);
        let zero = rng.pick(&ZEROS).copied().unwrap_or('0');
        let value = d.to_digit(10).unwrap_or(0);
        text.push(char::from_u32(u32::from(zero) + value).unwrap_or(d));
    }
    invisible(&mut rng, &mut text);
    Spelled { digits, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_pass_luhn_and_fold_back_to_their_digits() {
        for seed in 0..2_000 {
            let spelled = spelled_card_number(seed);
            let digits: Vec<u8> = spelled.digits.bytes().map(|b| b - b'0').collect();
            assert!(super::super::luhn(&digits), "{}", spelled.digits);
            let folded: String = crate::text::fold_for_search(&spelled.text)
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            assert_eq!(folded, spelled.digits, "{:?}", spelled.text);
        }
    }
}
