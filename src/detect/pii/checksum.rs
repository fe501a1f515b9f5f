//! The check-digit schemes national identifiers use, over ASCII digits.
//! Each takes the digits as values 0-9; the identifiers in `ids.rs` pick
//! the scheme and the weights their issuers publish.

/// Luhn (ISO/IEC 7812): payment cards, Canadian SIN, Swedish personnummer.
pub(super) fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, x) if x > 9 => x - 9,
            (true, x) => x,
            (false, _) => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The sum of digit times weight, pairwise; `weights` may be shorter than
/// `digits` (the rest are not weighted).
pub(super) fn weighted(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// Verhoeff's dihedral-group check (Indian Aadhaar): catches every single
/// digit error and every swap of neighbours.
pub(super) fn verhoeff(digits: &[u32]) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let c = digits.iter().rev().enumerate().fold(0u8, |c, (i, &d)| D[c as usize][P[i % 8][d as usize % 10] as usize]);
    c == 0
}

/// ISO 7064 MOD 11,10 (German Steuer-ID): the check digit that the first
/// `n - 1` digits call for.
pub(super) fn iso7064_mod11_10(digits: &[u32]) -> u32 {
    let mut product = 10;
    for d in digits {
        let mut sum = (d + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    (11 - product) % 10
}

/// The remainder of a long decimal number modulo `m`, digit by digit (the
/// 13 digits of a French NIR do not fit the arithmetic of every platform's
/// `u32`).
pub(super) fn mod_of(digits: &[u32], m: u64) -> u64 {
    digits.iter().fold(0u64, |r, &d| (r * 10 + u64::from(d)) % m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u32> {
        s.chars().filter_map(|c| c.to_digit(10)).collect()
    }

    #[test]
    fn schemes_accept_their_published_examples_and_refuse_one_changed_digit() {
        type Scheme = fn(&[u32]) -> bool;
        let cases: [(&str, Scheme, &str, &str); 3] = [
            ("luhn", luhn, "79927398713", "79927398710"),
            ("verhoeff", verhoeff, "2363", "2364"),
            ("iso7064", |d| iso7064_mod11_10(&d[..10]) == d[10], "86095742719", "86095742718"),
        ];
        for (name, check, good, bad) in cases {
            assert!(check(&digits(good)), "{name} {good}");
            assert!(!check(&digits(bad)), "{name} {bad}");
        }
        assert_eq!(mod_of(&digits("1850578006084"), 97), 6);
        assert_eq!(weighted(&[1, 2, 3], &[3, 2]), 7);
    }
}
