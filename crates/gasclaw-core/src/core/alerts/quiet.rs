//! Quiet hours (`QUIET_HOURS` in `GASCLAW_TZ`): whether an instant falls
//! inside them. A range whose end is earlier than its start runs over
//! midnight (22:00-07:00). Local times come from the time zone database,
//! so the hours follow daylight saving.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

/// Whether `now` is within `start..end` local time in `tz`.
pub fn in_quiet_hours(now: DateTime<Utc>, tz: Tz, (start, end): (NaiveTime, NaiveTime)) -> bool {
    let t = now.with_timezone(&tz).time();
    if start < end {
        start <= t && t < end
    } else {
        t >= start || t < end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn over_midnight_and_within_a_day() {
        let night = (hm(22, 0), hm(7, 0));
        let utc = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 12, 6, h, m, 0).unwrap();
        assert!(in_quiet_hours(utc(22, 0), chrono_tz::UTC, night));
        assert!(in_quiet_hours(utc(23, 59), chrono_tz::UTC, night));
        assert!(in_quiet_hours(utc(3, 0), chrono_tz::UTC, night));
        assert!(!in_quiet_hours(utc(7, 0), chrono_tz::UTC, night));
        assert!(!in_quiet_hours(utc(12, 0), chrono_tz::UTC, night));
        let lunch = (hm(12, 0), hm(13, 30));
        assert!(in_quiet_hours(utc(13, 29), chrono_tz::UTC, lunch));
        assert!(!in_quiet_hours(utc(13, 30), chrono_tz::UTC, lunch));
        assert!(!in_quiet_hours(utc(11, 59), chrono_tz::UTC, lunch));
    }

    #[test]
    fn local_time_follows_the_zone_and_daylight_saving() {
        let night = (hm(22, 0), hm(7, 0));
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 21:30 UTC is 22:30 in Berlin in winter (quiet), 23:30 in summer.
        let winter = Utc.with_ymd_and_hms(2026, 12, 6, 21, 30, 0).unwrap();
        assert!(in_quiet_hours(winter, berlin, night));
        assert!(!in_quiet_hours(winter, chrono_tz::UTC, night));
        // 05:30 UTC: 06:30 in winter (quiet), 07:30 in summer (not).
        let w = Utc.with_ymd_and_hms(2026, 1, 10, 5, 30, 0).unwrap();
        let s = Utc.with_ymd_and_hms(2026, 7, 10, 5, 30, 0).unwrap();
        assert!(in_quiet_hours(w, berlin, night));
        assert!(!in_quiet_hours(s, berlin, night));
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        // 15:00 UTC is 23:00 in Shanghai.
        let t = Utc.with_ymd_and_hms(2026, 7, 10, 15, 0, 0).unwrap();
        assert!(in_quiet_hours(t, shanghai, night));
    }
}
