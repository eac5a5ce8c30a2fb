//! Unix time as a UTC calendar date and time of day, without a time-zone database: what a
//! DICOM ContentDate/Time and a log line's stamp need (days to civil date: Howard Hinnant's
//! algorithm).

/// A UTC date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcTime {
    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub fn from_unix(secs: u64) -> UtcTime {
        let days = (secs / 86_400) as i64;
        let rem = (secs % 86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
        UtcTime {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }

    /// Now, from the system clock (the epoch if the clock is before it).
    pub fn now() -> (UtcTime, u32) {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        (UtcTime::from_unix(since.as_secs()), since.subsec_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::UtcTime;

    #[test]
    fn known_dates() {
        let t = |y, mo, d, h, mi, s| UtcTime {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
        };
        assert_eq!(UtcTime::from_unix(0), t(1970, 1, 1, 0, 0, 0));
        // A leap day, and the last second of a leap year (Python's datetime gives the same).
        assert_eq!(UtcTime::from_unix(951_782_400), t(2000, 2, 29, 0, 0, 0));
        assert_eq!(
            UtcTime::from_unix(1_104_537_599),
            t(2004, 12, 31, 23, 59, 59)
        );
        assert_eq!(
            UtcTime::from_unix(1_795_801_707),
            t(2026, 11, 27, 17, 48, 27)
        );
    }
}
