//! Points in time: RFC 3339 UTC timestamps. The core never reads a clock; callers
//! pass the time in.

use std::fmt;

use crate::error::{Error, ErrorCode, Result};

/// A point in time in UTC, with nanosecond precision, between the years 0000 and 9999.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

/// Seconds from 0000-01-01T00:00:00Z to the Unix epoch.
const MIN_SECONDS: i64 = -62_167_219_200;
/// Seconds from the Unix epoch to 9999-12-31T23:59:59Z.
const MAX_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    /// A timestamp from seconds and nanoseconds since 1970-01-01T00:00:00Z.
    ///
    /// # Errors
    /// [`ErrorCode::TimeInvalid`] when `nanos` ≥ 10⁹ or the time falls outside the
    /// years 0000–9999.
    pub fn from_unix(seconds: i64, nanos: u32) -> Result<Timestamp> {
        if nanos >= 1_000_000_000 || !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return Err(Error::new(ErrorCode::TimeInvalid, "time is outside the years 0000-9999"));
        }
        Ok(Timestamp { seconds, nanos })
    }

    /// A timestamp from milliseconds since the Unix epoch.
    ///
    /// # Errors
    /// As [`Timestamp::from_unix`].
    pub fn from_unix_millis(millis: i64) -> Result<Timestamp> {
        Timestamp::from_unix(millis.div_euclid(1000), (millis.rem_euclid(1000) as u32) * 1_000_000)
    }

    /// Seconds since the Unix epoch (negative before 1970).
    pub fn unix_seconds(self) -> i64 {
        self.seconds
    }

    /// The nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Parses an RFC 3339 timestamp in UTC: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, with
    /// an uppercase `T` and `Z`, 1–9 fraction digits, and no leap second.
    ///
    /// # Errors
    /// [`ErrorCode::TimeInvalid`] for anything else, including offsets other than `Z`.
    pub fn parse(text: &str) -> Result<Timestamp> {
        let invalid = || {
            Error::new(
                ErrorCode::TimeInvalid,
                "time is not an RFC 3339 UTC timestamp of the form YYYY-MM-DDTHH:MM:SS[.fraction]Z",
            )
        };
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(invalid());
        }
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            b[range].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
        };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
            (year, month, day, hour, minute, second)
        else {
            return Err(invalid());
        };
        let mut nanos = 0u32;
        let rest = &b[19..];
        let zone = match rest.first() {
            Some(b'.') => {
                let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 || digits > 9 {
                    return Err(invalid());
                }
                let frac = num(20..20 + digits).ok_or_else(invalid)?;
                nanos = frac * 10u32.pow(9 - digits as u32);
                &rest[1 + digits..]
            }
            _ => rest,
        };
        if zone != b"Z" {
            return Err(invalid());
        }
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(invalid());
        }
        let days = days_from_civil(i64::from(year), month, day);
        let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Timestamp::from_unix(seconds, nanos)
    }
}

/// NumericDates (RFC 7519: seconds since the epoch as a JSON number, so an IEEE
/// double) as key histories carry them (SPEC.md §4.1).
impl Timestamp {
    /// The instant a NumericDate denotes: the double's exact value rounded to the
    /// nearest nanosecond, ties to even.
    ///
    /// # Errors
    /// [`ErrorCode::TimeInvalid`] when it is not finite or falls outside the years
    /// 0000–9999.
    pub fn from_numeric_date(seconds: f64) -> Result<Timestamp> {
        let outside = || Error::new(ErrorCode::TimeInvalid, "the NumericDate is outside the years 0000-9999");
        if !seconds.is_finite() {
            return Err(outside());
        }
        // seconds = mantissa · 2^exponent exactly.
        let bits = seconds.abs().to_bits();
        let biased = (bits >> 52) as i32;
        let fraction = i128::from(bits & ((1 << 52) - 1));
        let (mantissa, exponent) = match biased {
            0 => (fraction, -1074),
            _ => (fraction | (1 << 52), biased - 1075),
        };
        let scaled = mantissa * 1_000_000_000; // below 2^83
        let nanos = if exponent >= 0 {
            // Years 0000–9999 lie within 2^38 seconds of the epoch.
            if exponent > 40 {
                return Err(outside());
            }
            scaled << exponent
        } else {
            let shift = -exponent;
            if shift >= 100 {
                0 // below half a nanosecond: scaled < 2^83
            } else {
                let quotient = scaled >> shift;
                let remainder = scaled - (quotient << shift);
                let half = 1i128 << (shift - 1);
                quotient + i128::from(remainder > half || (remainder == half && quotient % 2 == 1))
            }
        };
        let nanos = if seconds.is_sign_negative() { -nanos } else { nanos };
        let whole = i64::try_from(nanos.div_euclid(1_000_000_000)).map_err(|_| outside())?;
        Timestamp::from_unix(whole, nanos.rem_euclid(1_000_000_000) as u32).map_err(|_| outside())
    }

    /// The NumericDate nearest to this instant (correctly rounded).
    pub fn to_numeric_date(self) -> f64 {
        let nanos = i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanos);
        let sign = if nanos < 0 { "-" } else { "" };
        let magnitude = nanos.unsigned_abs();
        // Rust parses decimal text to the nearest double; the text is always valid.
        format!("{sign}{}.{:09}", magnitude / 1_000_000_000, magnitude % 1_000_000_000).parse().unwrap_or(0.0)
    }

    /// This instant as a key history can hold it: the instant its nearest
    /// NumericDate denotes. Reading back what is written gives the same instant.
    pub fn as_numeric_date(self) -> Result<Timestamp> {
        Timestamp::from_numeric_date(self.to_numeric_date())
    }

    /// The latest instant at or before this one that a NumericDate denotes: where a
    /// bound that must not pass this instant (a revocation from it) can be written.
    pub fn as_numeric_date_at_or_before(self) -> Result<Timestamp> {
        let nearest = self.to_numeric_date();
        let instant = Timestamp::from_numeric_date(nearest)?;
        if instant <= self { Ok(instant) } else { Timestamp::from_numeric_date(nearest.next_down()) }
    }
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Timestamp {
    /// Appends the RFC 3339 form (see [`Display`](fmt::Display)) to `out`.
    pub(crate) fn write_text(&self, out: &mut Vec<u8>) {
        fn digits(out: &mut Vec<u8>, value: u64, width: usize) {
            let start = out.len();
            out.resize(start + width, b'0');
            let mut v = value;
            for slot in out[start..].iter_mut().rev() {
                *slot = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        let days = self.seconds.div_euclid(86_400);
        let secs = self.seconds.rem_euclid(86_400) as u64;
        let (year, month, day) = civil_from_days(days);
        digits(out, year as u64, 4);
        out.push(b'-');
        digits(out, u64::from(month), 2);
        out.push(b'-');
        digits(out, u64::from(day), 2);
        out.push(b'T');
        digits(out, secs / 3600, 2);
        out.push(b':');
        digits(out, secs % 3600 / 60, 2);
        out.push(b':');
        digits(out, secs % 60, 2);
        if self.nanos != 0 {
            out.push(b'.');
            digits(out, u64::from(self.nanos), 9);
            while out.last() == Some(&b'0') {
                out.pop();
            }
        }
        out.push(b'Z');
    }
}

/// RFC 3339 in UTC, with the fraction's trailing zeros removed (none when whole).
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(30);
        self.write_text(&mut out);
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_are_exact_doubles_rounded_to_the_nanosecond() {
        let at = |s: f64| Timestamp::from_numeric_date(s).map(|t| (t.unix_seconds(), t.subsec_nanos()));
        assert_eq!(at(0.0), Ok((0, 0)));
        assert_eq!(at(-0.0), Ok((0, 0)));
        assert_eq!(at(1.5), Ok((1, 500_000_000)));
        assert_eq!(at(-1.5), Ok((-2, 500_000_000)));
        // 0.1 is 0.1000000000000000055…: the nearest nanosecond is 100,000,000.
        assert_eq!(at(0.1), Ok((0, 100_000_000)));
        // 1800000000.123457 is 1800000000.12345695495605…: not 123,457,000.
        assert_eq!(at(1_800_000_000.123_457), Ok((1_800_000_000, 123_456_955)));
        // 0.9999999999 rounds up into the next second (it was clamped before).
        assert_eq!(at(0.999_999_999_9), Ok((1, 0)));
        // Ties go to the even nanosecond: 2^-31 s is 0.465661287307739…, 2^-10 s is
        // exactly 976,562.5 ns.
        assert_eq!(at(2f64.powi(-10)), Ok((0, 976_562)));
        assert_eq!(at(3.0 * 2f64.powi(-10)), Ok((0, 2_929_688)));
        assert_eq!(at(-(2f64.powi(-10))), Ok((-1, 999_023_438)));
        assert_eq!(at(f64::MIN_POSITIVE), Ok((0, 0)));
        assert_eq!(at(5e-324), Ok((0, 0)));
        assert_eq!(at(253_402_300_799.5), Ok((253_402_300_799, 500_000_000)));
        for outside in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 253_402_300_800.0, -62_167_219_201.0, 1e300] {
            assert_eq!(Timestamp::from_numeric_date(outside).unwrap_err().code(), ErrorCode::TimeInvalid);
        }
    }

    #[test]
    fn numeric_dates_round_trip() {
        for text in ["2026-11-30T08:00:00.123456789Z", "1969-12-31T23:59:59.5Z", "2026-01-01T00:00:00Z"] {
            let t = Timestamp::parse(text).unwrap();
            let held = t.as_numeric_date().unwrap();
            // Within half the spacing of doubles (2^-22 s today) of the instant…
            let gap = (i128::from(held.unix_seconds() - t.unix_seconds()) * 1_000_000_000
                + i128::from(held.subsec_nanos())
                - i128::from(t.subsec_nanos()))
            .abs();
            assert!(gap <= 120, "{text}: {held}");
            // …and a fixed point: writing and reading it again changes nothing.
            assert_eq!(held.as_numeric_date().unwrap(), held, "{text}");
            assert_eq!(held.to_numeric_date(), t.to_numeric_date());
        }
        assert_eq!(Timestamp::from_unix(-1, 500_000_000).unwrap().to_numeric_date(), -0.5);
    }

    #[test]
    fn parses_and_formats() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0, 0, "1970-01-01T00:00:00Z"),
            ("2026-11-22T10:30:05.120Z", 1_795_343_405, 120_000_000, "2026-11-22T10:30:05.12Z"),
            ("2000-02-29T23:59:59.000000001Z", 951_868_799, 1, "2000-02-29T23:59:59.000000001Z"),
            ("1969-12-31T23:59:59.5Z", -1, 500_000_000, "1969-12-31T23:59:59.5Z"),
            ("0000-01-01T00:00:00Z", MIN_SECONDS, 0, "0000-01-01T00:00:00Z"),
            ("9999-12-31T23:59:59.999999999Z", MAX_SECONDS, 999_999_999, "9999-12-31T23:59:59.999999999Z"),
        ];
        for (text, seconds, nanos, formatted) in cases {
            let t = Timestamp::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((t.unix_seconds(), t.subsec_nanos()), (seconds, nanos), "{text}");
            assert_eq!(t.to_string(), formatted);
            assert_eq!(Timestamp::parse(formatted).unwrap(), t);
        }
    }

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        for days in (-719_528..=2_932_896).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T10:30:05",
            "2026-11-22T10:30:05z",
            "2026-11-22t10:30:05Z",
            "2026-11-22 10:30:05Z",
            "2026-11-22T10:30:05+00:00",
            "2026-11-22T10:30:05.Z",
            "2026-11-22T10:30:05.1234567890Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T23:60:00Z",
            "2026-11-22T23:59:60Z",
            "+2026-11-22T10:30:05Z",
            "2026-11-22T10:30:05ZZ",
            "２026-11-22T10:30:05Z",
            "-001-11-22T10:30:05Z",
        ] {
            assert_eq!(Timestamp::parse(bad).unwrap_err().code(), ErrorCode::TimeInvalid, "{bad:?}");
        }
        assert!(Timestamp::from_unix(0, 1_000_000_000).is_err());
        assert!(Timestamp::from_unix(MAX_SECONDS + 1, 0).is_err());
    }

    #[test]
    fn millis() {
        let t = Timestamp::from_unix_millis(-1).unwrap();
        assert_eq!(t.to_string(), "1969-12-31T23:59:59.999Z");
    }
}
