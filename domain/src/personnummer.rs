//! Swedish personal identity numbers (personnummer and samordningsnummer).
//!
//! A [`PersonalIdentityNumber`] can only be obtained by parsing, so holding one
//! proves that the value has a valid format, a real date of birth that is not
//! in the future and a correct check digit. It is always stored in the
//! canonical 12-digit form `YYYYMMDDNNNC`.
//!
//! The number is sensitive personal data: it has a redacted `Debug`, no
//! `Display`, and parse errors never echo the input.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Samordningsnummer add this to the day of month.
const COORDINATION_DAY_OFFSET: u32 = 60;

/// A Swedish personnummer or samordningsnummer, always held as 12 digits (YYYYMMDDNNNC).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonalIdentityNumber(String);

/// Why a string is not a valid personal identity number.
///
/// The messages deliberately never contain the input or any part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PersonalIdentityNumberError {
    #[error("personal identity number has the wrong format")]
    Format,
    #[error("personal identity number does not contain a real date of birth")]
    Date,
    #[error("personal identity number has a wrong check digit")]
    Checksum,
}

/// Whether a 10-digit form had the `+` separator (person aged 100 or more).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Century {
    Explicit(u32),
    Under100,
    Over100,
}

impl PersonalIdentityNumber {
    /// Parses any accepted form, using the local date as "today" to infer the
    /// century of 10-digit forms and to reject future dates of birth.
    ///
    /// Accepted (surrounding whitespace is trimmed): `YYYYMMDDNNNC`,
    /// `YYYYMMDD-NNNC`, `YYMMDDNNNC`, `YYMMDD-NNNC` and `YYMMDD+NNNC`, where `+`
    /// marks a person aged 100 or more.
    pub fn parse(input: &str) -> Result<Self, PersonalIdentityNumberError> {
        Self::parse_at(input, chrono::Local::now().date_naive())
    }

    /// Same as [`parse`](Self::parse), with an explicit "today" (for tests and determinism).
    pub fn parse_at(input: &str, today: NaiveDate) -> Result<Self, PersonalIdentityNumberError> {
        use PersonalIdentityNumberError as E;

        let (century, ten) = split_forms(input.trim())?;

        let yy = two_digits(&ten[0..2]);
        let month = two_digits(&ten[2..4]);
        let day = real_day(two_digits(&ten[4..6]));

        let year = match century {
            Century::Explicit(c) => c * 100 + yy,
            Century::Under100 | Century::Over100 => {
                // Latest year ending in `yy` whose (month, day) is not after today.
                // Compared as tuples so that an invalid month/day is reported as a
                // date error below rather than skewing the century.
                let today_year = u32::try_from(today.year()).map_err(|_| E::Date)?;
                let mut year = today_year - today_year % 100 + yy;
                if (year, month, day) > (today_year, today.month(), today.day()) {
                    year = year.checked_sub(100).ok_or(E::Date)?;
                }
                if century == Century::Over100 {
                    year = year.checked_sub(100).ok_or(E::Date)?;
                }
                year
            }
        };

        // Only reachable with an absurd `today`, but the canonical form has four year digits.
        if year > 9999 {
            return Err(E::Date);
        }
        let birth_date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(E::Date)?;
        if birth_date > today {
            return Err(E::Date);
        }

        if luhn_check_digit(&ten[..9]) != ten[9] - b'0' {
            return Err(E::Checksum);
        }

        let ten = std::str::from_utf8(&ten).expect("checked to be ASCII digits");
        Ok(Self(format!("{:02}{ten}", year / 100)))
    }

    /// The 12 stored digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 12 stored digits, consuming the value.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// True for a samordningsnummer (day of month + 60).
    pub fn is_coordination_number(&self) -> bool {
        self.coded_day() > COORDINATION_DAY_OFFSET
    }

    /// The date of birth (for a samordningsnummer, with the 60 days removed).
    pub fn birth_date(&self) -> NaiveDate {
        let year = self.0[0..4].parse().expect("validated when parsed");
        let month = two_digits(&self.0.as_bytes()[4..6]);
        NaiveDate::from_ymd_opt(year, month, real_day(self.coded_day()))
            .expect("validated when parsed")
    }

    fn coded_day(&self) -> u32 {
        two_digits(&self.0.as_bytes()[6..8])
    }
}

/// Validates the shape of the (trimmed) input and returns the century
/// information plus the 10 digits `YYMMDDNNNC`.
fn split_forms(s: &str) -> Result<(Century, [u8; 10]), PersonalIdentityNumberError> {
    let b = s.as_bytes();
    let all_digits = |bytes: &[u8]| bytes.iter().all(u8::is_ascii_digit);

    let (century, date_part, serial_part): (_, &[u8], &[u8]) = match b.len() {
        12 if all_digits(b) => (Some(&b[0..2]), &b[2..8], &b[8..12]),
        13 if b[8] == b'-' => (Some(&b[0..2]), &b[2..8], &b[9..13]),
        10 if all_digits(b) => (None, &b[0..6], &b[6..10]),
        11 if b[6] == b'-' => (None, &b[0..6], &b[7..11]),
        11 if b[6] == b'+' => (None, &b[0..6], &b[7..11]),
        _ => return Err(PersonalIdentityNumberError::Format),
    };
    if !all_digits(date_part) || !all_digits(serial_part) {
        return Err(PersonalIdentityNumberError::Format);
    }

    let century = match century {
        Some(c) if all_digits(c) => Century::Explicit(two_digits(c)),
        Some(_) => return Err(PersonalIdentityNumberError::Format),
        None if b.len() == 11 && b[6] == b'+' => Century::Over100,
        None => Century::Under100,
    };

    let mut ten = [0u8; 10];
    ten[..6].copy_from_slice(date_part);
    ten[6..].copy_from_slice(serial_part);
    Ok((century, ten))
}

/// The day of month with the samordningsnummer offset removed. Day 60 stays
/// 60 and is rejected as a date, since a samordningsnummer day is 61–91.
fn real_day(coded_day: u32) -> u32 {
    if coded_day > COORDINATION_DAY_OFFSET {
        coded_day - COORDINATION_DAY_OFFSET
    } else {
        coded_day
    }
}

/// Two ASCII digits as a number. Callers must have checked they are digits.
fn two_digits(b: &[u8]) -> u32 {
    u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0')
}

/// Luhn check digit over nine ASCII digits, weights 2,1,2,1,…
fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let product = u32::from(d - b'0') * if i % 2 == 0 { 2 } else { 1 };
            product / 10 + product % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

impl fmt::Debug for PersonalIdentityNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonalIdentityNumber(************)")
    }
}

impl FromStr for PersonalIdentityNumber {
    type Err = PersonalIdentityNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for PersonalIdentityNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PersonalIdentityNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(PersonalIdentityNumberVisitor)
    }
}

/// Serde's default visitor errors quote the offending value (e.g. a number
/// sent instead of a string), so every non-string input is rejected here with
/// a message that names only its type.
struct PersonalIdentityNumberVisitor;

impl PersonalIdentityNumberVisitor {
    fn wrong_type<E: de::Error>(&self, kind: &'static str) -> E {
        E::invalid_type(Unexpected::Other(kind), self)
    }
}

impl Visitor<'_> for PersonalIdentityNumberVisitor {
    type Value = PersonalIdentityNumber;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a personal identity number as a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        PersonalIdentityNumber::parse(v).map_err(E::custom)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(self.wrong_type("boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(self.wrong_type("number"))
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        Err(self.wrong_type("number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(self.wrong_type("number"))
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        Err(self.wrong_type("number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(self.wrong_type("number"))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Err(self.wrong_type("bytes"))
    }
}

impl utoipa::PartialSchema for PersonalIdentityNumber {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Personnummer or samordningsnummer, 10 or 12 digits, with or without '-' or '+'; \
                 stored and returned as 12 digits",
            ))
            .min_length(Some(10))
            .max_length(Some(13))
            .pattern(Some(r"^(\d{8}-?|\d{6}[-+]?)\d{4}$"))
            .examples(["19811218-9876"])
            .into()
    }
}

impl utoipa::ToSchema for PersonalIdentityNumber {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PersonalIdentityNumber")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type E = PersonalIdentityNumberError;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A fixed "today" so the tests do not depend on the clock.
    fn today() -> NaiveDate {
        date(2026, 11, 25)
    }

    fn parse(s: &str) -> Result<PersonalIdentityNumber, E> {
        PersonalIdentityNumber::parse_at(s, today())
    }

    /// Appends the correct check digit to nine digits `YYMMDDNNN`.
    fn with_check_digit(nine: &str) -> String {
        let c = luhn_check_digit(nine.as_bytes());
        format!("{nine}{c}")
    }

    #[test]
    fn example_numbers_have_correct_check_digits() {
        assert_eq!(with_check_digit("811218987"), "8112189876");
        assert_eq!(with_check_digit("811278987"), "8112789873");
        assert_eq!(with_check_digit("121212121"), "1212121212");
    }

    #[test]
    fn accepts_12_digits() {
        let p = parse("198112189876").unwrap();
        assert_eq!(p.as_str(), "198112189876");
        assert_eq!(p.birth_date(), date(1981, 12, 18));
        assert!(!p.is_coordination_number());
        assert_eq!(p.into_inner(), "198112189876");
    }

    #[test]
    fn accepts_12_digits_with_dash() {
        assert_eq!(parse("19811218-9876").unwrap().as_str(), "198112189876");
    }

    #[test]
    fn accepts_10_digits_with_and_without_dash() {
        assert_eq!(parse("8112189876").unwrap().as_str(), "198112189876");
        assert_eq!(parse("811218-9876").unwrap().as_str(), "198112189876");
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(parse("  19811218-9876\n").unwrap().as_str(), "198112189876");
        assert_eq!(parse("\t811218-9876 ").unwrap().as_str(), "198112189876");
    }

    #[test]
    fn plus_means_100_years_earlier() {
        let p = parse("121212+1212").unwrap();
        assert_eq!(p.as_str(), "191212121212");
        assert_eq!(p.birth_date(), date(1912, 12, 12));
        assert_eq!(parse("121212-1212").unwrap().as_str(), "201212121212");
        assert_eq!(parse("1212121212").unwrap().as_str(), "201212121212");
    }

    #[test]
    fn plus_rejected_in_12_digit_form() {
        assert_eq!(parse("19121212+1212"), Err(E::Format));
    }

    #[test]
    fn century_inference_at_today_boundary() {
        let today = date(2024, 6, 15);
        let born_today = with_check_digit("240615123");
        let born_tomorrow = with_check_digit("240616123");

        let p = PersonalIdentityNumber::parse_at(&born_today, today).unwrap();
        assert_eq!(p.birth_date(), date(2024, 6, 15));

        // Tomorrow's date in this century would be in the future, so it is the last century.
        let p = PersonalIdentityNumber::parse_at(&born_tomorrow, today).unwrap();
        assert_eq!(p.birth_date(), date(1924, 6, 16));

        // On the 100th birthday the '+' form applies.
        let plus = format!("{}+{}", &born_today[..6], &born_today[6..]);
        let p = PersonalIdentityNumber::parse_at(&plus, today).unwrap();
        assert_eq!(p.birth_date(), date(1924, 6, 15));
        let plus = format!("{}+{}", &born_tomorrow[..6], &born_tomorrow[6..]);
        let p = PersonalIdentityNumber::parse_at(&plus, today).unwrap();
        assert_eq!(p.birth_date(), date(1824, 6, 16));
    }

    #[test]
    fn century_inference_across_new_year() {
        let today = date(2000, 1, 1);
        let p = PersonalIdentityNumber::parse_at(&with_check_digit("991231123"), today).unwrap();
        assert_eq!(p.birth_date(), date(1999, 12, 31));
        let p = PersonalIdentityNumber::parse_at(&with_check_digit("000101123"), today).unwrap();
        assert_eq!(p.birth_date(), date(2000, 1, 1));
    }

    #[test]
    fn coordination_number_accepted_and_flagged() {
        let p = parse("19811278-9873").unwrap();
        assert!(p.is_coordination_number());
        assert_eq!(p.as_str(), "198112789873");
        assert_eq!(p.birth_date(), date(1981, 12, 18));
        assert_eq!(parse("811278-9873").unwrap().as_str(), "198112789873");
    }

    #[test]
    fn coordination_number_day_bounds() {
        // Day 61 is the 1st, day 91 the 31st, day 60 is day 0.
        assert!(parse(&format!("19{}", with_check_digit("810161123"))).is_ok());
        assert!(parse(&format!("19{}", with_check_digit("810191123"))).is_ok());
        assert_eq!(
            parse(&format!("19{}", with_check_digit("810160123"))),
            Err(E::Date)
        );
        assert_eq!(
            parse(&format!("19{}", with_check_digit("810231123"))),
            Err(E::Date)
        );
        assert_eq!(
            parse(&format!("19{}", with_check_digit("810289123"))),
            Err(E::Date)
        );
    }

    #[test]
    fn feb_29_only_on_leap_years() {
        assert!(parse(&format!("20{}", with_check_digit("000229123"))).is_ok());
        assert!(parse(&format!("19{}", with_check_digit("960229123"))).is_ok());
        assert_eq!(
            parse(&format!("19{}", with_check_digit("000229123"))),
            Err(E::Date)
        );
        assert_eq!(
            parse(&format!("19{}", with_check_digit("970229123"))),
            Err(E::Date)
        );
        // Samordningsnummer on Feb 29 follow the same rule.
        assert!(parse(&format!("19{}", with_check_digit("960289123"))).is_ok());
        assert_eq!(
            parse(&format!("19{}", with_check_digit("970289123"))),
            Err(E::Date)
        );
        // 10-digit: 000229 resolves to 2000 (leap); with '+' to 1900 (not leap).
        assert_eq!(
            parse(&with_check_digit("000229123")).unwrap().birth_date(),
            date(2000, 2, 29)
        );
        let n = with_check_digit("000229123");
        assert_eq!(parse(&format!("{}+{}", &n[..6], &n[6..])), Err(E::Date));
    }

    #[test]
    fn invalid_month_and_day_rejected() {
        for nine in [
            "811318987",
            "810018987",
            "810132987",
            "810100987",
            "810192987",
        ] {
            assert_eq!(
                parse(&format!("19{}", with_check_digit(nine))),
                Err(E::Date),
                "{nine}"
            );
            assert_eq!(parse(&with_check_digit(nine)), Err(E::Date), "{nine}");
        }
    }

    #[test]
    fn wrong_check_digit_rejected() {
        assert_eq!(parse("198112189875"), Err(E::Checksum));
        assert_eq!(parse("811218-9870"), Err(E::Checksum));
        assert_eq!(parse("121212+1213"), Err(E::Checksum));
    }

    #[test]
    fn malformed_input_rejected() {
        for s in [
            "",
            "   ",
            "19811218987",
            "1981121898760",
            "81121898",
            "811218-98760",
            "19811218-98",
            "1981121a9876",
            "abcdefghijkl",
            "19811218 9876",
            "811218 9876",
            "811218--9876",
            "1981-12-18-9876",
            "811218/9876",
            "811218_9876",
            "8112189876-",
            "-8112189876",
            "+8112189876",
            "19811218+9876",
            "198112-189876",
            "811218-9876x",
            "８１１２１８-９８７６",
            "811218\u{2013}9876",
        ] {
            assert_eq!(parse(s), Err(E::Format), "{s:?}");
        }
    }

    #[test]
    fn future_date_rejected() {
        // Tomorrow relative to the fixed today, 12-digit form.
        assert_eq!(
            parse(&format!("20{}", with_check_digit("261126123"))),
            Err(E::Date)
        );
        assert!(parse(&format!("20{}", with_check_digit("261125123"))).is_ok());
        assert_eq!(
            parse(&format!("21{}", with_check_digit("010101123"))),
            Err(E::Date)
        );
    }

    #[test]
    fn parse_uses_the_clock() {
        assert_eq!(
            PersonalIdentityNumber::parse("811218-9876")
                .unwrap()
                .as_str(),
            "198112189876"
        );
        assert_eq!(
            "8112189876"
                .parse::<PersonalIdentityNumber>()
                .unwrap()
                .as_str(),
            "198112189876"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let p = parse("19811218-9876").unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.chars().any(|c| c.is_ascii_digit()), "{debug}");
        let debug = format!("{:#?}", Some(p));
        assert!(!debug.chars().any(|c| c.is_ascii_digit()), "{debug}");
    }

    #[test]
    fn error_display_contains_no_input() {
        for s in [
            "19811218-9875",
            "19811318-9876",
            "1981121-89876",
            "811218 9876",
        ] {
            let err = parse(s).unwrap_err();
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
            }
        }
    }

    #[test]
    fn deserialize_parses() {
        use serde::de::IntoDeserializer;
        use serde::de::value::Error;

        let p = PersonalIdentityNumber::deserialize(IntoDeserializer::<Error>::into_deserializer(
            "811218-9876",
        ))
        .unwrap();
        assert_eq!(p.as_str(), "198112189876");
        let p = PersonalIdentityNumber::deserialize(IntoDeserializer::<Error>::into_deserializer(
            String::from("19811278-9873"),
        ))
        .unwrap();
        assert_eq!(p.as_str(), "198112789873");
    }

    #[test]
    fn deserialize_errors_contain_no_input() {
        use serde::de::IntoDeserializer;
        use serde::de::value::Error;

        fn assert_no_digits(err: Error) {
            let text = err.to_string();
            assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
        }

        let err = PersonalIdentityNumber::deserialize(
            IntoDeserializer::<Error>::into_deserializer("19811218-9875"),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), E::Checksum.to_string());

        assert_no_digits(
            PersonalIdentityNumber::deserialize(IntoDeserializer::<Error>::into_deserializer(
                198112189876_u64,
            ))
            .unwrap_err(),
        );
        assert_no_digits(
            PersonalIdentityNumber::deserialize(IntoDeserializer::<Error>::into_deserializer(
                -8112189876_i64,
            ))
            .unwrap_err(),
        );
        assert_no_digits(
            PersonalIdentityNumber::deserialize(IntoDeserializer::<Error>::into_deserializer(
                8112189876.0_f64,
            ))
            .unwrap_err(),
        );
        assert_no_digits(
            PersonalIdentityNumber::deserialize(IntoDeserializer::<Error>::into_deserializer(
                &b"198112189876"[..],
            ))
            .unwrap_err(),
        );
    }

    #[test]
    fn openapi_schema_is_a_documented_string() {
        use utoipa::openapi::schema::SchemaType;
        use utoipa::{PartialSchema, ToSchema};

        assert_eq!(PersonalIdentityNumber::name(), "PersonalIdentityNumber");
        let RefOr::T(Schema::Object(object)) = PersonalIdentityNumber::schema() else {
            panic!("expected an inline object schema");
        };
        assert!(matches!(object.schema_type, SchemaType::Type(Type::String)));
        assert!(object.description.unwrap().contains("12 digits"));
        assert_eq!(object.examples.len(), 1);
        assert_eq!(object.examples[0].as_str(), Some("19811218-9876"));
        assert!(parse("19811218-9876").is_ok());
    }

    /// Days since 1900-01-01 up to and including the fixed today.
    fn days_until_today() -> i64 {
        (today() - date(1900, 1, 1)).num_days()
    }

    fn build(birth: NaiveDate, serial: u32, coordination: bool) -> String {
        let day = birth.day()
            + if coordination {
                COORDINATION_DAY_OFFSET
            } else {
                0
            };
        let nine = format!(
            "{:02}{:02}{:02}{:03}",
            birth.year() % 100,
            birth.month(),
            day,
            serial
        );
        format!("{:02}{}", birth.year() / 100, with_check_digit(&nine))
    }

    proptest! {
        #[test]
        fn valid_numbers_round_trip(
            offset in 0..=days_until_today(),
            serial in 0u32..1000,
            coordination in any::<bool>(),
        ) {
            let birth = date(1900, 1, 1) + chrono::Duration::days(offset);
            let twelve = build(birth, serial, coordination);

            let p = parse(&twelve).unwrap();
            prop_assert_eq!(p.as_str(), twelve.as_str());
            prop_assert_eq!(p.birth_date(), birth);
            prop_assert_eq!(p.is_coordination_number(), coordination);

            let dashed = format!("{}-{}", &twelve[..8], &twelve[8..]);
            prop_assert_eq!(parse(&dashed).unwrap().into_inner(), twelve.clone());

            let ten = &twelve[2..];
            let under_100 =
                (birth.year() + 100, birth.month(), birth.day()) > (today().year(), today().month(), today().day());
            if under_100 {
                prop_assert_eq!(parse(ten).unwrap().into_inner(), twelve.clone());
                let dashed = format!("{}-{}", &ten[..6], &ten[6..]);
                prop_assert_eq!(parse(&dashed).unwrap().into_inner(), twelve.clone());
            } else {
                let plus = format!("{}+{}", &ten[..6], &ten[6..]);
                prop_assert_eq!(parse(&plus).unwrap().into_inner(), twelve.clone());
            }
        }

        #[test]
        fn any_other_check_digit_fails(
            offset in 0..=days_until_today(),
            serial in 0u32..1000,
            coordination in any::<bool>(),
            bump in 1u8..10,
        ) {
            let birth = date(1900, 1, 1) + chrono::Duration::days(offset);
            let mut twelve = build(birth, serial, coordination).into_bytes();
            twelve[11] = b'0' + (twelve[11] - b'0' + bump) % 10;
            let twelve = String::from_utf8(twelve).unwrap();

            prop_assert_eq!(parse(&twelve), Err(E::Checksum));
            // The 10-digit form always resolves to a real date in the last 100 years.
            prop_assert_eq!(parse(&twelve[2..]), Err(E::Checksum));
        }

        #[test]
        fn error_messages_never_contain_digits(input in any::<String>()) {
            if let Err(err) = PersonalIdentityNumber::parse(&input) {
                let text = err.to_string();
                prop_assert!(!text.chars().any(|c| c.is_numeric()), "{}", text);
            }
        }

        #[test]
        fn error_messages_never_contain_digits_for_near_misses(input in r"\s?[0-9+\- ]{9,14}\s?") {
            if let Err(err) = parse(&input) {
                let text = err.to_string();
                prop_assert!(!text.chars().any(|c| c.is_numeric()), "{}", text);
            }
        }
    }
}
