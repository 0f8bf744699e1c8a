//! When a data subject's request must be acknowledged and completed.
//!
//! Pure: the time of receipt and "now" are passed in, never read from a clock. A
//! [`WorkingCalendar`] says which days are working days (a weekend and the operator's list of
//! holidays) and in which fixed UTC offset the controller's days begin (the workspace's jiff
//! carries no time-zone database; Vietnam has kept +07:00 without daylight saving since 1975).
//! A [`Profile`] says, per [`Jurisdiction`], how long each kind of request may take.
//!
//! Every period starts the day after receipt: the day a request arrives does not count, and a
//! request received on a non-working day is counted as from the next working day. A deadline
//! is a local date, met by the end of that day in the calendar's offset.

use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Included};

use custodian_policy::RightKind;
use jiff::civil::{Date, Weekday};
use jiff::tz::Offset;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

/// The kind of a request from a data subject (Decree 356/2025 art. 5; Law 91/2025 art. 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// To see the data held (view).
    Access,
    /// To be given the data (provide).
    Portability,
    Correction,
    Deletion,
    ConsentWithdrawal,
    Restriction,
    Objection,
}

impl RequestKind {
    pub const ALL: [RequestKind; 7] = [
        RequestKind::Access,
        RequestKind::Portability,
        RequestKind::Correction,
        RequestKind::Deletion,
        RequestKind::ConsentWithdrawal,
        RequestKind::Restriction,
        RequestKind::Objection,
    ];

    pub fn as_str(self) -> &'static str {
        RightKind::from(self).as_str()
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl From<RightKind> for RequestKind {
    fn from(right: RightKind) -> RequestKind {
        match right {
            RightKind::Access => RequestKind::Access,
            RightKind::Portability => RequestKind::Portability,
            RightKind::Correction => RequestKind::Correction,
            RightKind::Deletion => RequestKind::Deletion,
            RightKind::ConsentWithdrawal => RequestKind::ConsentWithdrawal,
            RightKind::Restriction => RequestKind::Restriction,
            RightKind::Objection => RequestKind::Objection,
        }
    }
}

impl From<RequestKind> for RightKind {
    fn from(kind: RequestKind) -> RightKind {
        match kind {
            RequestKind::Access => RightKind::Access,
            RequestKind::Portability => RightKind::Portability,
            RequestKind::Correction => RightKind::Correction,
            RequestKind::Deletion => RightKind::Deletion,
            RequestKind::ConsentWithdrawal => RightKind::ConsentWithdrawal,
            RequestKind::Restriction => RightKind::Restriction,
            RequestKind::Objection => RightKind::Objection,
        }
    }
}

/// Why a date could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("every day of the week is a weekend day: no day is a working day")]
    NoWorkingDay,
    #[error("the UTC offset is outside -12:00 … +14:00")]
    InvalidOffset,
    #[error("the date falls outside the supported range")]
    OutOfRange,
}

/// Why an extension was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error("the request was already extended once")]
    AlreadyExtended,
    #[error("an extension must move the due date ({due}) later")]
    NotLater { due: Date },
    #[error("an extension may reach {limit} at the latest")]
    BeyondLimit { limit: Date },
}

/// Vietnam's offset from UTC, +07:00.
const VN_UTC_OFFSET_SECONDS: i32 = 7 * 3600;
/// The offsets in use in the world, -12:00 … +14:00.
const MIN_OFFSET_SECONDS: i32 = -12 * 3600;
const MAX_OFFSET_SECONDS: i32 = 14 * 3600;

/// Which days are working days, and where the controller's days begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    /// The days of the week no one works.
    pub weekend: Vec<Weekday>,
    /// Days off besides the weekend (public holidays: the operator lists them, since they
    /// move — Tết follows the lunar calendar — and the government sets the bridging days
    /// each year).
    pub holidays: BTreeSet<Date>,
    /// The controller's fixed offset from UTC, in seconds, turning a receipt's timestamp into
    /// the local date that counts.
    pub utc_offset_seconds: i32,
}

impl Default for WorkingCalendar {
    fn default() -> WorkingCalendar {
        WorkingCalendar::vietnam()
    }
}

impl WorkingCalendar {
    /// Saturday and Sunday off, +07:00, no holidays (the operator lists them).
    pub fn vietnam() -> WorkingCalendar {
        WorkingCalendar {
            weekend: vec![Weekday::Saturday, Weekday::Sunday],
            holidays: BTreeSet::new(),
            utc_offset_seconds: VN_UTC_OFFSET_SECONDS,
        }
    }

    /// Checks that some day of the week is a working day and the offset is a real one.
    pub fn validate(&self) -> Result<(), CalendarError> {
        self.offset()?;
        if self.working_days_per_week() == 0 {
            return Err(CalendarError::NoWorkingDay);
        }
        Ok(())
    }

    /// The offset as jiff's, if it is within -12:00 … +14:00.
    pub fn offset(&self) -> Result<Offset, CalendarError> {
        if !(MIN_OFFSET_SECONDS..=MAX_OFFSET_SECONDS).contains(&self.utc_offset_seconds) {
            return Err(CalendarError::InvalidOffset);
        }
        Offset::from_seconds(self.utc_offset_seconds).map_err(|_| CalendarError::InvalidOffset)
    }

    /// The local date at `at`.
    pub fn local_date(&self, at: Timestamp) -> Result<Date, CalendarError> {
        Ok(self.offset()?.to_datetime(at).date())
    }

    pub fn is_weekend(&self, day: Weekday) -> bool {
        self.weekend.contains(&day)
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        !self.is_weekend(date.weekday()) && !self.holidays.contains(&date)
    }

    fn working_days_per_week(&self) -> i64 {
        let working = Weekday::Monday
            .cycle_forward()
            .take(7)
            .filter(|d| !self.is_weekend(*d))
            .count();
        i64::try_from(working).unwrap_or(0)
    }

    /// The `n`th working day after `start`: `start` itself never counts, so for `n` ≥ 1 the
    /// result is a working day strictly after it, and strictly later for each larger `n`. For
    /// `n` = 0 it is `start` if that is a working day, else the next one (the same day as for
    /// `n` = 1 then).
    pub fn add_working_days(&self, start: Date, n: u32) -> Result<Date, CalendarError> {
        if self.working_days_per_week() == 0 {
            return Err(CalendarError::NoWorkingDay);
        }
        let mut day = start;
        let mut left = n;
        if n == 0 && self.is_working_day(day) {
            return Ok(day);
        }
        loop {
            // Terminates: a working weekday comes every week, and the holidays are finite.
            day = day.tomorrow().map_err(|_| CalendarError::OutOfRange)?;
            if self.is_working_day(day) {
                if left <= 1 {
                    return Ok(day);
                }
                left -= 1;
            }
        }
    }

    /// The working days after `from` up to and including `to`; negative (the working days
    /// after `to` up to and including `from`) when `to` is earlier.
    pub fn working_days_between(&self, from: Date, to: Date) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let days = day_number(to) - day_number(from);
        let (weeks, rest) = (days / 7, days % 7);
        let mut count = weeks * self.working_days_per_week();
        let start = from.weekday();
        for i in 1..=rest {
            if !self.is_weekend(start.wrapping_add(weeks * 7 + i)) {
                count += 1;
            }
        }
        let off = self
            .holidays
            .range((Excluded(from), Included(to)))
            .filter(|h| !self.is_weekend(h.weekday()))
            .count();
        count - i64::try_from(off).unwrap_or(0)
    }
}

/// Days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's `days_from_civil`), so that
/// the difference of two dates needs no fallible span arithmetic.
fn day_number(date: Date) -> i64 {
    let (month, day) = (i64::from(date.month()), i64::from(date.day()));
    let year = i64::from(date.year()) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Whose rules a request follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    /// Decree 356/2025 art. 5 (the default).
    #[default]
    Vn,
    /// GDPR art. 12(3).
    Gdpr,
}

impl Jurisdiction {
    pub const ALL: [Jurisdiction; 2] = [Jurisdiction::Vn, Jurisdiction::Gdpr];

    pub fn as_str(self) -> &'static str {
        match self {
            Jurisdiction::Vn => "vn",
            Jurisdiction::Gdpr => "gdpr",
        }
    }

    pub fn parse(s: &str) -> Option<Jurisdiction> {
        Jurisdiction::ALL.into_iter().find(|j| j.as_str() == s)
    }

    pub fn profile(self) -> Profile {
        match self {
            Jurisdiction::Vn => Profile::vn(),
            Jurisdiction::Gdpr => Profile::gdpr(),
        }
    }
}

/// How a period in days is counted, and in which days "days left" are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// Only the calendar's working days count.
    Working,
    /// Every day counts.
    Calendar,
}

/// The unit of a [`Period`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Days, counted as the profile's [`DayCount`] says.
    Days,
    /// Calendar months: the same day number in the month `n` later, or that month's last
    /// day if it is shorter (31 January + 1 month = 28 or 29 February).
    Months,
}

/// How long one kind of request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub unit: Unit,
    /// To complete it, from receipt.
    pub normal: u32,
    /// To complete it when partners (processors, third parties) must act on it too.
    pub with_partners: u32,
    /// The one extension allowed, at most, on top of the period that applies.
    pub extension: u32,
}

impl Period {
    const fn days(normal: u32, with_partners: u32, extension: u32) -> Period {
        Period {
            unit: Unit::Days,
            normal,
            with_partners,
            extension,
        }
    }
}

/// A jurisdiction's deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Profile {
    pub jurisdiction: Jurisdiction,
    /// Working days to acknowledge a request, from receipt.
    pub acknowledge_working_days: u32,
    /// How a [`Unit::Days`] period counts, and how [`Deadlines::days_left`] counts.
    pub day_count: DayCount,
    /// Access, portability, correction: view, provide, correct.
    pub see_provide_correct: Period,
    /// Consent withdrawal, restriction, objection.
    pub withdraw_restrict_object: Period,
    /// Deletion.
    pub delete: Period,
}

impl Profile {
    /// Decree 356/2025 art. 5: acknowledge within 2 working days; complete a request to view,
    /// provide or correct in 10 days (15 when partners must act; one extension of at most 10),
    /// to withdraw consent, restrict or object in 15 (20; +15), to delete in 20 (30; +20).
    ///
    /// The completion periods are counted in **working days**, like the acknowledgement: they
    /// are administrative periods of the same article as the acknowledgement, which it sets in
    /// working days, and we read them the same way (so a request received just before Tết
    /// does not fall due in the middle of it). This is a reading, not the decree's words:
    /// `day_count` is a field so that an operator taking the stricter reading (calendar
    /// days; the acknowledgement stays in working days) switches with one change.
    pub fn vn() -> Profile {
        Profile {
            jurisdiction: Jurisdiction::Vn,
            acknowledge_working_days: 2,
            day_count: DayCount::Working,
            see_provide_correct: Period::days(10, 15, 10),
            withdraw_restrict_object: Period::days(15, 20, 15),
            delete: Period::days(20, 30, 20),
        }
    }

    /// GDPR art. 12(3): complete within one month of receipt, extendable once by at most two
    /// further months (the limit is three months from receipt, so 31 January's limit is
    /// 30 April, not two months after a due date clamped to 28 February); partners make no
    /// difference. The regulation sets no acknowledgement period: 2 working days is kept as a
    /// service level. Days left are told in calendar days.
    pub fn gdpr() -> Profile {
        let month = Period {
            unit: Unit::Months,
            normal: 1,
            with_partners: 1,
            extension: 2,
        };
        Profile {
            jurisdiction: Jurisdiction::Gdpr,
            acknowledge_working_days: 2,
            day_count: DayCount::Calendar,
            see_provide_correct: month,
            withdraw_restrict_object: month,
            delete: month,
        }
    }

    /// The period for a kind of request.
    pub fn period(&self, kind: RequestKind) -> Period {
        match kind {
            RequestKind::Access | RequestKind::Portability | RequestKind::Correction => {
                self.see_provide_correct
            }
            RequestKind::ConsentWithdrawal | RequestKind::Restriction | RequestKind::Objection => {
                self.withdraw_restrict_object
            }
            RequestKind::Deletion => self.delete,
        }
    }

    /// `n` units after `from`.
    fn advance(
        &self,
        calendar: &WorkingCalendar,
        from: Date,
        unit: Unit,
        n: u32,
    ) -> Result<Date, CalendarError> {
        let span = |span: Result<Span, jiff::Error>| {
            span.and_then(|span| from.checked_add(span))
                .map_err(|_| CalendarError::OutOfRange)
        };
        match (unit, self.day_count) {
            (Unit::Days, DayCount::Working) => calendar.add_working_days(from, n),
            (Unit::Days, DayCount::Calendar) => span(Span::new().try_days(n)),
            (Unit::Months, _) => span(Span::new().try_months(n)),
        }
    }
}

/// A request's deadlines, as local dates: each is met by the end of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// The local date of receipt.
    pub received_on: Date,
    pub acknowledge_by: Date,
    /// The due date: the normal one, or the extended one after [`Deadlines::extend`].
    pub complete_by: Date,
    /// The latest an extension may reach.
    pub extension_limit: Date,
    /// Whether the one extension allowed was used.
    pub extended: bool,
    /// The profile's day count, in which [`Deadlines::days_left`] is told.
    pub day_count: DayCount,
    /// The calendar's offset, which turns "now" into a local date.
    pub utc_offset: Offset,
}

impl Deadlines {
    /// The deadlines of a request of `kind` received at `received_at`; `partners_involved`
    /// when partners must act on it too (the longer period, where the profile has one).
    pub fn compute(
        profile: &Profile,
        calendar: &WorkingCalendar,
        kind: RequestKind,
        received_at: Timestamp,
        partners_involved: bool,
    ) -> Result<Deadlines, CalendarError> {
        calendar.validate()?;
        let utc_offset = calendar.offset()?;
        let received_on = utc_offset.to_datetime(received_at).date();
        let acknowledge_by =
            calendar.add_working_days(received_on, profile.acknowledge_working_days)?;
        let period = profile.period(kind);
        let due = if partners_involved {
            period.with_partners
        } else {
            period.normal
        };
        let limit = due
            .checked_add(period.extension)
            .ok_or(CalendarError::OutOfRange)?;
        Ok(Deadlines {
            received_on,
            acknowledge_by,
            complete_by: profile.advance(calendar, received_on, period.unit, due)?,
            extension_limit: profile.advance(calendar, received_on, period.unit, limit)?,
            extended: false,
            day_count: profile.day_count,
            utc_offset,
        })
    }

    /// These deadlines with the due date moved to `new_due`: once, later than the current
    /// due date, and no later than the extension limit. (The reason, and telling the
    /// customer, are the caller's.)
    pub fn extend(&self, new_due: Date) -> Result<Deadlines, ExtensionError> {
        if self.extended {
            return Err(ExtensionError::AlreadyExtended);
        }
        if new_due <= self.complete_by {
            return Err(ExtensionError::NotLater {
                due: self.complete_by,
            });
        }
        if new_due > self.extension_limit {
            return Err(ExtensionError::BeyondLimit {
                limit: self.extension_limit,
            });
        }
        Ok(Deadlines {
            complete_by: new_due,
            extended: true,
            ..*self
        })
    }

    /// The local date at `now`.
    pub fn today(&self, now: Timestamp) -> Date {
        self.utc_offset.to_datetime(now).date()
    }

    /// Days left until the due date, in the profile's day count: 0 on the due date itself,
    /// negative once it has passed (at least -1, even when only days off have passed since:
    /// the sign alone tells whether the request is overdue).
    pub fn days_left(&self, now: Timestamp, calendar: &WorkingCalendar) -> i64 {
        let today = self.today(now);
        match self.day_count {
            DayCount::Calendar => day_number(self.complete_by) - day_number(today),
            DayCount::Working if today <= self.complete_by => {
                calendar.working_days_between(today, self.complete_by)
            }
            DayCount::Working => calendar
                .working_days_between(today, self.complete_by)
                .min(-1),
        }
    }

    /// Whether the due date has passed at `now`.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.today(now) > self.complete_by
    }
}

/// A day of the week from its lowercase English name (`saturday`).
pub fn parse_weekday(name: &str) -> Option<Weekday> {
    Weekday::Monday
        .cycle_forward()
        .take(7)
        .find(|d| weekday_name(*d) == name)
}

/// The lowercase English name of a day of the week.
pub fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "monday",
        Weekday::Tuesday => "tuesday",
        Weekday::Wednesday => "wednesday",
        Weekday::Thursday => "thursday",
        Weekday::Friday => "friday",
        Weekday::Saturday => "saturday",
        Weekday::Sunday => "sunday",
    }
}

/// An offset written `+HH:MM` or `-HH:MM`, within -12:00 … +14:00, in seconds.
pub fn parse_utc_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.strip_prefix('+') {
        Some(rest) => (1, rest),
        None => (-1, text.strip_prefix('-')?),
    };
    let (hours, minutes) = rest.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return None;
    }
    let (hours, minutes) = (hours.parse::<i32>().ok()?, minutes.parse::<i32>().ok()?);
    if minutes >= 60 {
        return None;
    }
    let seconds = sign * (hours * 3600 + minutes * 60);
    (MIN_OFFSET_SECONDS..=MAX_OFFSET_SECONDS)
        .contains(&seconds)
        .then_some(seconds)
}

/// A date written exactly `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// Noon local time (+07:00) on `day`.
    fn noon(day: Date) -> Timestamp {
        Offset::UTC.to_timestamp(day.at(5, 0, 0, 0)).unwrap()
    }

    fn utc_calendar() -> WorkingCalendar {
        WorkingCalendar {
            utc_offset_seconds: 0,
            ..WorkingCalendar::vietnam()
        }
    }

    /// Tết 2027 as generated test data: 5 to 11 February.
    fn tet_2027() -> BTreeSet<Date> {
        let mut days = BTreeSet::new();
        let mut day = date(2027, 2, 5);
        while day <= date(2027, 2, 11) {
            days.insert(day);
            day = day.tomorrow().unwrap();
        }
        days
    }

    fn vn(kind: RequestKind, received: Date, partners: bool) -> Deadlines {
        Deadlines::compute(
            &Profile::vn(),
            &WorkingCalendar::vietnam(),
            kind,
            noon(received),
            partners,
        )
        .unwrap()
    }

    fn gdpr(received: Date) -> Deadlines {
        Deadlines::compute(
            &Profile::gdpr(),
            &WorkingCalendar::vietnam(),
            RequestKind::Access,
            noon(received),
            false,
        )
        .unwrap()
    }

    #[test]
    fn kinds_have_stable_names_shared_with_the_policy() {
        for kind in RequestKind::ALL {
            assert_eq!(RequestKind::parse(kind.as_str()), Some(kind));
            assert_eq!(RequestKind::from(RightKind::from(kind)), kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(
            RequestKind::parse("consent_withdrawal"),
            Some(RequestKind::ConsentWithdrawal)
        );
        assert_eq!(RequestKind::parse("Access"), None);
        for j in Jurisdiction::ALL {
            assert_eq!(Jurisdiction::parse(j.as_str()), Some(j));
            assert_eq!(j.profile().jurisdiction, j);
        }
        assert_eq!(Jurisdiction::default(), Jurisdiction::Vn);
    }

    #[test]
    fn weekends_are_skipped_and_the_day_of_receipt_does_not_count() {
        let cal = WorkingCalendar::vietnam();
        let friday = date(2027, 1, 8);
        assert_eq!(friday.weekday(), Weekday::Friday);
        assert!(cal.is_working_day(friday));
        assert!(!cal.is_working_day(date(2027, 1, 9)));
        assert!(!cal.is_working_day(date(2027, 1, 10)));
        assert_eq!(cal.add_working_days(friday, 1).unwrap(), date(2027, 1, 11));
        assert_eq!(cal.add_working_days(friday, 2).unwrap(), date(2027, 1, 12));
        assert_eq!(cal.add_working_days(friday, 0).unwrap(), friday);
        // Received on a Saturday: Monday is the first day, Tuesday the second.
        let saturday = date(2027, 1, 9);
        assert_eq!(
            cal.add_working_days(saturday, 0).unwrap(),
            date(2027, 1, 11)
        );
        assert_eq!(
            cal.add_working_days(saturday, 2).unwrap(),
            date(2027, 1, 12)
        );
        let d = vn(RequestKind::Access, saturday, false);
        assert_eq!(d.received_on, saturday);
        assert_eq!(d.acknowledge_by, date(2027, 1, 12));
    }

    #[test]
    fn holidays_push_the_due_date() {
        let tet = WorkingCalendar {
            holidays: tet_2027(),
            ..WorkingCalendar::vietnam()
        };
        assert_eq!(tet.holidays.len(), 7);
        let thursday = date(2027, 2, 4);
        assert_eq!(thursday.weekday(), Weekday::Thursday);
        // Without the holidays: Friday, Monday.
        assert_eq!(
            WorkingCalendar::vietnam()
                .add_working_days(thursday, 2)
                .unwrap(),
            date(2027, 2, 8)
        );
        // Tết takes Friday 5 to Thursday 11: Friday 12, Monday 15.
        assert_eq!(
            tet.add_working_days(thursday, 2).unwrap(),
            date(2027, 2, 15)
        );
        let with = Deadlines::compute(
            &Profile::vn(),
            &tet,
            RequestKind::Access,
            noon(thursday),
            false,
        )
        .unwrap();
        let without = vn(RequestKind::Access, thursday, false);
        assert_eq!(with.acknowledge_by, date(2027, 2, 15));
        // The five working days of Tết (Fri 5, Mon 8 … Thu 11) push completion a week.
        assert_eq!(without.complete_by, date(2027, 2, 18));
        assert_eq!(with.complete_by, date(2027, 2, 25));
        assert!(tet.is_working_day(with.complete_by));
        assert_eq!(tet.working_days_between(thursday, with.complete_by), 10);
        assert_eq!(
            WorkingCalendar::vietnam().working_days_between(thursday, with.complete_by),
            15
        );
        // A holiday on a weekend day costs nothing twice.
        let mut weekend_holiday = WorkingCalendar::vietnam();
        weekend_holiday.holidays.insert(date(2027, 1, 9));
        assert_eq!(
            weekend_holiday.working_days_between(date(2027, 1, 8), date(2027, 1, 11)),
            1
        );
    }

    #[test]
    fn a_friday_evening_receipt_counts_from_friday_local_time() {
        // 20:00 UTC on Thursday is 03:00 on Friday in Hà Nội.
        let received = at("2027-01-07T20:00:00Z");
        let local = Deadlines::compute(
            &Profile::vn(),
            &WorkingCalendar::vietnam(),
            RequestKind::Access,
            received,
            false,
        )
        .unwrap();
        assert_eq!(local.received_on, date(2027, 1, 8));
        assert_eq!(local.acknowledge_by, date(2027, 1, 12));
        let utc = Deadlines::compute(
            &Profile::vn(),
            &utc_calendar(),
            RequestKind::Access,
            received,
            false,
        )
        .unwrap();
        assert_eq!(utc.received_on, date(2027, 1, 7));
        assert_eq!(utc.acknowledge_by, date(2027, 1, 11));
        // Friday evening in Hà Nội (13:00 UTC) is still Friday.
        let evening = Deadlines::compute(
            &Profile::vn(),
            &WorkingCalendar::vietnam(),
            RequestKind::Access,
            at("2027-01-08T13:00:00Z"),
            false,
        )
        .unwrap();
        assert_eq!(evening.received_on, date(2027, 1, 8));
        // One minute before local midnight, then local midnight.
        let late = at("2027-01-08T16:59:00Z");
        let midnight = at("2027-01-08T17:00:00Z");
        let cal = WorkingCalendar::vietnam();
        assert_eq!(cal.local_date(late).unwrap(), date(2027, 1, 8));
        assert_eq!(cal.local_date(midnight).unwrap(), date(2027, 1, 9));
    }

    #[test]
    fn each_kind_has_the_decrees_periods_in_working_days() {
        // Received on Monday 4 January 2027: n working days (a multiple of 5) later is a
        // Monday n/5 weeks on.
        let monday = date(2027, 1, 4);
        assert_eq!(monday.weekday(), Weekday::Monday);
        let weeks = |n: i64| monday.checked_add(Span::new().days(7 * n / 5)).unwrap();
        // (kind, normal, with partners, extension)
        let table = [
            (RequestKind::Access, 10, 15, 10),
            (RequestKind::Portability, 10, 15, 10),
            (RequestKind::Correction, 10, 15, 10),
            (RequestKind::ConsentWithdrawal, 15, 20, 15),
            (RequestKind::Restriction, 15, 20, 15),
            (RequestKind::Objection, 15, 20, 15),
            (RequestKind::Deletion, 20, 30, 20),
        ];
        assert_eq!(table.len(), RequestKind::ALL.len());
        for (kind, normal, partners, extension) in table {
            let alone = vn(kind, monday, false);
            assert_eq!(alone.acknowledge_by, date(2027, 1, 6), "{kind:?}");
            assert_eq!(alone.complete_by, weeks(normal), "{kind:?}");
            assert_eq!(alone.extension_limit, weeks(normal + extension), "{kind:?}");
            let shared = vn(kind, monday, true);
            assert_eq!(shared.complete_by, weeks(partners), "{kind:?}");
            assert_eq!(
                shared.extension_limit,
                weeks(partners + extension),
                "{kind:?}"
            );
            assert_eq!(alone.day_count, DayCount::Working);
            assert!(!alone.extended);
        }
        // The same as literal dates, for the reader.
        let delete = vn(RequestKind::Deletion, monday, true);
        assert_eq!(delete.complete_by, date(2027, 2, 15));
        assert_eq!(delete.extension_limit, date(2027, 3, 15));
        let access = vn(RequestKind::Access, monday, false);
        assert_eq!(access.complete_by, date(2027, 1, 18));
        assert_eq!(access.extension_limit, date(2027, 2, 1));
    }

    #[test]
    fn the_day_count_can_be_switched_to_calendar_days() {
        let profile = Profile {
            day_count: DayCount::Calendar,
            ..Profile::vn()
        };
        let d = Deadlines::compute(
            &profile,
            &WorkingCalendar::vietnam(),
            RequestKind::Access,
            noon(date(2027, 1, 4)),
            false,
        )
        .unwrap();
        assert_eq!(d.acknowledge_by, date(2027, 1, 6), "still working days");
        assert_eq!(d.complete_by, date(2027, 1, 14));
        assert_eq!(d.extension_limit, date(2027, 1, 24));
        assert_eq!(
            d.days_left(noon(date(2027, 1, 10)), &WorkingCalendar::vietnam()),
            4
        );
    }

    #[test]
    fn gdpr_counts_calendar_months_clamped_to_the_months_end() {
        let jan31 = gdpr(date(2025, 1, 31));
        assert_eq!(jan31.complete_by, date(2025, 2, 28));
        assert_eq!(jan31.extension_limit, date(2025, 4, 30));
        let leap = gdpr(date(2028, 1, 31));
        assert_eq!(leap.complete_by, date(2028, 2, 29));
        assert_eq!(leap.extension_limit, date(2028, 4, 30));
        let mar31 = gdpr(date(2027, 3, 31));
        assert_eq!(mar31.complete_by, date(2027, 4, 30));
        assert_eq!(mar31.extension_limit, date(2027, 6, 30));
        let mid = gdpr(date(2027, 1, 15));
        assert_eq!(mid.complete_by, date(2027, 2, 15));
        assert_eq!(mid.extension_limit, date(2027, 4, 15));
        let december = gdpr(date(2027, 12, 31));
        assert_eq!(december.complete_by, date(2028, 1, 31));
        assert_eq!(december.extension_limit, date(2028, 3, 31));
        // The acknowledgement is the same service level: 2 working days.
        assert_eq!(mid.acknowledge_by, date(2027, 1, 19));
        // Partners make no difference; every kind has one month.
        for kind in RequestKind::ALL {
            for partners in [false, true] {
                let d = Deadlines::compute(
                    &Profile::gdpr(),
                    &WorkingCalendar::vietnam(),
                    kind,
                    noon(date(2027, 1, 15)),
                    partners,
                )
                .unwrap();
                assert_eq!(d.complete_by, mid.complete_by, "{kind:?}");
                assert_eq!(d.extension_limit, mid.extension_limit, "{kind:?}");
            }
        }
        // Receipt late on 30 January UTC is 31 January in +07:00.
        let local = Deadlines::compute(
            &Profile::gdpr(),
            &WorkingCalendar::vietnam(),
            RequestKind::Deletion,
            at("2025-01-30T18:00:00Z"),
            false,
        )
        .unwrap();
        assert_eq!(local.complete_by, date(2025, 2, 28));
    }

    #[test]
    fn an_extension_is_once_later_and_within_the_limit() {
        let d = vn(RequestKind::Access, date(2027, 1, 4), false);
        assert_eq!(
            d.extend(date(2027, 2, 2)),
            Err(ExtensionError::BeyondLimit {
                limit: date(2027, 2, 1)
            })
        );
        assert_eq!(
            d.extend(date(2027, 1, 18)),
            Err(ExtensionError::NotLater {
                due: date(2027, 1, 18)
            })
        );
        assert_eq!(
            d.extend(date(2027, 1, 11)),
            Err(ExtensionError::NotLater {
                due: date(2027, 1, 18)
            })
        );
        let extended = d.extend(date(2027, 2, 1)).unwrap();
        assert_eq!(extended.complete_by, date(2027, 2, 1));
        assert!(extended.extended);
        assert_eq!(extended.extension_limit, d.extension_limit);
        assert_eq!(extended.acknowledge_by, d.acknowledge_by);
        assert_eq!(
            extended.extend(date(2027, 2, 1)),
            Err(ExtensionError::AlreadyExtended)
        );
        let partial = d.extend(date(2027, 1, 25)).unwrap();
        assert_eq!(
            partial.extend(date(2027, 1, 26)),
            Err(ExtensionError::AlreadyExtended),
            "one extension, even a short one"
        );
        // GDPR: up to three months from receipt.
        let g = gdpr(date(2025, 1, 31));
        assert!(g.extend(date(2025, 4, 30)).is_ok());
        assert!(matches!(
            g.extend(date(2025, 5, 1)),
            Err(ExtensionError::BeyondLimit { .. })
        ));
    }

    #[test]
    fn days_left_count_down_and_go_negative_when_overdue() {
        let cal = WorkingCalendar::vietnam();
        // Due Monday 18 January 2027.
        let d = vn(RequestKind::Access, date(2027, 1, 4), false);
        assert_eq!(d.days_left(noon(date(2027, 1, 4)), &cal), 10);
        assert_eq!(d.days_left(noon(date(2027, 1, 15)), &cal), 1);
        assert_eq!(d.days_left(noon(date(2027, 1, 16)), &cal), 1, "Saturday");
        assert_eq!(d.days_left(noon(date(2027, 1, 18)), &cal), 0);
        assert!(!d.is_overdue(noon(date(2027, 1, 18))));
        // The due date lasts until local midnight.
        assert!(!d.is_overdue(at("2027-01-18T16:59:59Z")));
        assert!(d.is_overdue(at("2027-01-18T17:00:00Z")));
        assert_eq!(d.days_left(at("2027-01-18T17:00:00Z"), &cal), -1);
        assert_eq!(d.days_left(noon(date(2027, 1, 22)), &cal), -4);
        assert_eq!(d.days_left(noon(date(2027, 1, 23)), &cal), -4, "Saturday");
        assert!(d.is_overdue(noon(date(2027, 1, 23))));
        // Due on a Friday, now the Saturday after: overdue, so negative, though no working
        // day has passed.
        let friday_due = Deadlines {
            complete_by: date(2027, 1, 22),
            ..d
        };
        assert_eq!(friday_due.days_left(noon(date(2027, 1, 23)), &cal), -1);
        assert_eq!(friday_due.days_left(noon(date(2027, 1, 25)), &cal), -1);
        assert_eq!(friday_due.days_left(noon(date(2027, 1, 26)), &cal), -2);
        // GDPR tells calendar days.
        let g = gdpr(date(2025, 1, 31));
        assert_eq!(g.days_left(noon(date(2025, 2, 1)), &cal), 27);
        assert_eq!(g.days_left(noon(date(2025, 3, 2)), &cal), -2);
        assert!(g.is_overdue(noon(date(2025, 3, 1))));
    }

    #[test]
    fn calendars_without_a_working_day_or_with_a_false_offset_are_refused() {
        let mut all_weekend = WorkingCalendar::vietnam();
        all_weekend.weekend = Weekday::Monday.cycle_forward().take(7).collect();
        assert_eq!(all_weekend.validate(), Err(CalendarError::NoWorkingDay));
        assert_eq!(
            all_weekend.add_working_days(date(2027, 1, 4), 1),
            Err(CalendarError::NoWorkingDay)
        );
        let far = WorkingCalendar {
            utc_offset_seconds: 15 * 3600,
            ..WorkingCalendar::vietnam()
        };
        assert_eq!(far.validate(), Err(CalendarError::InvalidOffset));
        assert_eq!(
            Deadlines::compute(
                &Profile::vn(),
                &far,
                RequestKind::Access,
                noon(date(2027, 1, 4)),
                false
            ),
            Err(CalendarError::InvalidOffset)
        );
        assert_eq!(
            WorkingCalendar::vietnam().add_working_days(Date::MAX, 1),
            Err(CalendarError::OutOfRange)
        );
        assert_eq!(WorkingCalendar::vietnam().validate(), Ok(()));
        assert_eq!(WorkingCalendar::default(), WorkingCalendar::vietnam());
    }

    #[test]
    fn day_numbers_agree_with_jiff() {
        let epoch = date(1970, 1, 1);
        assert_eq!(day_number(epoch), 0);
        for day in [
            date(1969, 12, 31),
            date(2000, 2, 29),
            date(2027, 2, 5),
            date(2100, 3, 1),
            Date::MIN,
            Date::MAX,
        ] {
            let span = epoch.until((jiff::Unit::Day, day)).unwrap();
            assert_eq!(day_number(day), i64::from(span.get_days()), "{day}");
        }
    }

    #[test]
    fn settings_are_parsed_strictly() {
        assert_eq!(parse_weekday("saturday"), Some(Weekday::Saturday));
        assert_eq!(parse_weekday("Saturday"), None);
        assert_eq!(parse_weekday("sat"), None);
        for day in Weekday::Monday.cycle_forward().take(7) {
            assert_eq!(parse_weekday(weekday_name(day)), Some(day));
        }
        assert_eq!(parse_utc_offset("+07:00"), Some(25_200));
        assert_eq!(parse_utc_offset("-03:30"), Some(-12_600));
        assert_eq!(parse_utc_offset("+00:00"), Some(0));
        assert_eq!(parse_utc_offset("+14:00"), Some(50_400));
        for bad in [
            "07:00",
            "+7:00",
            "+0700",
            "+07",
            "+07:60",
            "+14:01",
            "-12:01",
            "Z",
            "",
            "+07:00:00",
        ] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2027-02-05"), Some(date(2027, 2, 5)));
        for bad in [
            "2027-2-5",
            "2027-02-30",
            "2027-02-05T00:00",
            "05/02/2027",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    fn naive_between(cal: &WorkingCalendar, from: Date, to: Date) -> i64 {
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = day.tomorrow().unwrap();
            if cal.is_working_day(day) {
                count += 1;
            }
        }
        count
    }

    proptest::proptest! {
        /// Whatever the weekend (not the whole week) and holidays, the nth working day after
        /// a date is a working day, later for a larger n, and n working days away.
        #[test]
        fn add_working_days_lands_on_working_days_monotonically(
            start in 0i64..36_500,
            weekend in proptest::collection::btree_set(0i8..7, 0..7),
            holidays in proptest::collection::vec(0i64..400, 0..40),
            n in 0u32..120,
        ) {
            let base = date(2000, 1, 1);
            let start = base.checked_add(Span::new().days(start)).unwrap();
            let cal = WorkingCalendar {
                weekend: weekend
                    .iter()
                    .map(|d| Weekday::from_monday_zero_offset(*d).unwrap())
                    .collect(),
                holidays: holidays
                    .iter()
                    .map(|h| start.checked_add(Span::new().days(*h)).unwrap())
                    .collect(),
                utc_offset_seconds: 0,
            };
            let due = cal.add_working_days(start, n).unwrap();
            let next = cal.add_working_days(start, n + 1).unwrap();
            proptest::prop_assert!(cal.is_working_day(due));
            proptest::prop_assert!(cal.is_working_day(next));
            // Strictly later from n = 1 on; 0 and 1 coincide when `start` is a day off.
            proptest::prop_assert!(next > due || (n == 0 && !cal.is_working_day(start)));
            proptest::prop_assert!(next >= due);
            if n > 0 {
                proptest::prop_assert!(due > start);
                proptest::prop_assert_eq!(cal.working_days_between(start, due), i64::from(n));
            }
            proptest::prop_assert_eq!(
                cal.working_days_between(start, next),
                naive_between(&cal, start, next)
            );
            proptest::prop_assert_eq!(
                cal.working_days_between(next, start),
                -naive_between(&cal, start, next)
            );
        }
    }
}
