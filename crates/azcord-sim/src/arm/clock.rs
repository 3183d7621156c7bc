//! Wall-clock timestamps in the formats Azure writes them, without a date library.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RFC 3339 with seven fractional digits and `+00:00`, as ARM writes times:
/// `2024-05-14T08:30:00.1234567+00:00`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let (date, seconds, nanos) = split(time);
    format!(
        "{date}T{:02}:{:02}:{:02}.{:07}+00:00",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60,
        nanos / 100
    )
}

/// AAD's `timestamp` field: `2024-05-14 08:30:00Z`.
pub(crate) fn aad_timestamp(time: SystemTime) -> String {
    let (date, seconds, _) = split(time);
    format!(
        "{date} {:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// An ISO 8601 duration as deployments report it: `PT4.25S`.
pub(crate) fn iso_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    format!("PT{}.{:03}S", millis / 1000, millis % 1000)
}

/// The date (`YYYY-MM-DD`), seconds into the day and nanoseconds of `time`.
fn split(time: SystemTime) -> (String, u64, u32) {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        secs % 86_400,
        since_epoch.subsec_nanos(),
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (
                0,
                0,
                "1970-01-01T00:00:00.0000000+00:00",
                "1970-01-01 00:00:00Z",
            ),
            (
                951_782_400,
                0,
                "2000-02-29T00:00:00.0000000+00:00",
                "2000-02-29 00:00:00Z",
            ),
            (
                1_715_675_400,
                123_456_789,
                "2024-05-14T08:30:00.1234567+00:00",
                "2024-05-14 08:30:00Z",
            ),
            (
                4_102_444_799,
                999_999_999,
                "2099-12-31T23:59:59.9999999+00:00",
                "2099-12-31 23:59:59Z",
            ),
        ];
        for (secs, nanos, rfc, aad) in cases {
            let time = UNIX_EPOCH + Duration::new(secs, nanos);
            assert_eq!(
                (rfc3339(time).as_str(), aad_timestamp(time).as_str()),
                (rfc, aad)
            );
        }
    }

    #[test]
    fn durations_are_iso_8601() {
        assert_eq!(iso_duration(Duration::from_millis(4250)), "PT4.250S");
        assert_eq!(iso_duration(Duration::ZERO), "PT0.000S");
    }
}
