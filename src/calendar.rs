//! Working days: each member state's working week, the hour its working day closes, and its
//! public holidays; and deadlines counted in them (an acknowledgement's
//! `estimated_working_days`). Pure: values in, instants out. Holidays read from an
//! iCalendar file go through the `icalendar` crate's parser.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// The most working days an acknowledgement may count: 24 weeks of five days, within the
/// longest timeframe (180 days) unless many holidays fall between.
pub const MAX_WORKING_DAYS: u32 = 120;
/// How many holidays one state may have on record.
pub const MAX_HOLIDAYS: usize = 1000;
/// The hour a working day closes unless the Secretariat says otherwise.
pub const DEFAULT_DAY_ENDS: &str = "18:00";
/// Monday to Friday, as stored and shown.
pub const DEFAULT_WEEK: &str = "mon,tue,wed,thu,fri";

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// The days of the week a state works, at least one. In JSON, day names: `["mon", …]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct WorkingWeek([bool; 7]);

impl TryFrom<Vec<String>> for WorkingWeek {
    type Error = String;
    fn try_from(days: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(days.iter().map(String::as_str))
    }
}

/// When a working day closes, `HH:MM` (checked), as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DayEnds(pub String);

impl TryFrom<String> for DayEnds {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        parse_day_ends(&text).map(|_| Self(text))
    }
}

impl WorkingWeek {
    /// From day names (`mon` … `sun`), each once at most, at least one.
    pub fn parse<'a>(days: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut week = [false; 7];
        for day in days {
            let day = day.trim();
            let index = DAY_NAMES
                .iter()
                .position(|(name, _)| *name == day)
                .ok_or_else(|| {
                    format!("{day:?} is not a day: use mon, tue, wed, thu, fri, sat, sun")
                })?;
            if week[index] {
                return Err(format!("{day} is given twice"));
            }
            week[index] = true;
        }
        if !week.contains(&true) {
            return Err("at least one working day is required".into());
        }
        Ok(Self(week))
    }

    /// As stored: `mon,tue,wed,thu,fri`.
    pub fn parse_stored(text: &str) -> Result<Self, String> {
        Self::parse(text.split(','))
    }

    pub fn works(&self, day: Weekday) -> bool {
        self.0[day.num_days_from_monday() as usize]
    }

    /// The day names, Monday first.
    pub fn names(&self) -> Vec<&'static str> {
        DAY_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0[*i])
            .map(|(_, (name, _))| *name)
            .collect()
    }
}

impl fmt::Display for WorkingWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// `HH:MM`, 24-hour: when a working day closes.
pub fn parse_day_ends(text: &str) -> Result<NaiveTime, String> {
    let valid = text.len() == 5 && text.as_bytes()[2] == b':';
    valid
        .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("{text:?} is not a time of day as HH:MM (24-hour, e.g. 18:00)"))
}

/// A public holiday.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
}

/// `holidays` as a state keeps them: by date, each date once, at most [`MAX_HOLIDAYS`].
pub fn holiday_set(mut holidays: Vec<Holiday>) -> Result<Vec<Holiday>, String> {
    holidays.sort();
    if let Some(pair) = holidays
        .windows(2)
        .find(|pair| pair[0].date == pair[1].date)
    {
        return Err(format!("{} is given twice", pair[0].date));
    }
    if holidays.len() > MAX_HOLIDAYS {
        return Err(format!(
            "at most {MAX_HOLIDAYS} dates, got {}",
            holidays.len()
        ));
    }
    Ok(holidays)
}

/// A state's working time: its zone, week, closing hour and holidays.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    pub zone: chrono_tz::Tz,
    pub week: WorkingWeek,
    pub day_ends: NaiveTime,
    pub holidays: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.week.works(date.weekday()) && !self.holidays.contains(&date)
    }

    /// The close of the `days`-th working day after the local date of `from` (day 1 is the
    /// first working day after it, whatever the hour of `from`), as an instant. `None` if
    /// that lies beyond any date chrono represents.
    pub fn after_working_days(&self, from: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
        let mut date = from.with_timezone(&self.zone).date_naive();
        let mut counted = 0;
        while counted < days {
            date = date.checked_add_days(Days::new(1))?;
            if self.is_working_day(date) {
                counted += 1;
            }
        }
        Some(self.close_of(date))
    }

    /// When `date`'s working day closes, as an instant: at a clock change the later of an
    /// hour that occurs twice; an hour that does not occur is moved on by the change.
    pub fn close_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(self.day_ends);
        let mut shift = TimeDelta::zero();
        loop {
            if let Some(at) = self.zone.from_local_datetime(&(local + shift)).latest() {
                return at.with_timezone(&Utc);
            }
            shift += TimeDelta::minutes(30);
        }
    }
}

/// The holidays an iCalendar file lists: each `VEVENT` with a date (`DTSTART;VALUE=DATE`),
/// every day from its start to its end (exclusive) when it spans several, named by its
/// `SUMMARY`. A recurring event (`RRULE`) is refused, by its name: export the occurrences.
pub fn holidays_from_ical(text: &str) -> Result<Vec<Holiday>, String> {
    use icalendar::{Calendar, CalendarComponent, Component, DatePerhapsTime};
    let calendar: Calendar = text.parse().map_err(|error: String| {
        format!(
            "not an iCalendar file: {}",
            error.lines().next().unwrap_or("")
        )
    })?;
    let mut holidays = Vec::new();
    for component in &calendar.components {
        let CalendarComponent::Event(event) = component else {
            continue;
        };
        let name = event.get_summary().unwrap_or("").trim().to_owned();
        let name = if name.is_empty() {
            "Holiday".to_owned()
        } else {
            name
        };
        if event.property_value("RRULE").is_some() {
            return Err(format!(
                "{name:?} recurs (RRULE): export each year's occurrence as its own event"
            ));
        }
        let date_of = |value: Option<DatePerhapsTime>| match value {
            Some(DatePerhapsTime::Date(date)) => Ok(Some(date)),
            Some(DatePerhapsTime::DateTime(_)) => Err(format!(
                "{name:?} has a time: a holiday is a whole day (DTSTART;VALUE=DATE:YYYYMMDD)"
            )),
            None => Ok(None),
        };
        let start = date_of(event.get_start())?
            .ok_or_else(|| format!("{name:?} has no start date (DTSTART)"))?;
        let end = date_of(event.get_end())?.unwrap_or(start + Days::new(1));
        if end <= start || (end - start).num_days() > 31 {
            return Err(format!("{name:?} must last from 1 to 31 days"));
        }
        let mut date = start;
        while date < end {
            holidays.push(Holiday {
                date,
                name: name.clone(),
            });
            date = date + Days::new(1);
        }
    }
    Ok(holidays)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(zone: chrono_tz::Tz, holidays: &[&str]) -> WorkingCalendar {
        WorkingCalendar {
            zone,
            week: WorkingWeek::parse_stored(DEFAULT_WEEK).unwrap(),
            day_ends: parse_day_ends("18:00").unwrap(),
            holidays: holidays.iter().map(|d| d.parse().unwrap()).collect(),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_deadline_skips_the_weekend_and_ends_at_the_close_of_the_day_in_sao_paulo() {
        let brazil = calendar(chrono_tz::America::Sao_Paulo, &[]);
        // Friday 2026-12-04, 15:00 in São Paulo (UTC−3): 1 working day is Monday 18:00.
        let due = brazil
            .after_working_days(at("2026-12-04T18:00:00Z"), 1)
            .unwrap();
        assert_eq!(due, at("2026-12-07T21:00:00Z"));
        // 3 working days: Wednesday.
        let due = brazil
            .after_working_days(at("2026-12-04T18:00:00Z"), 3)
            .unwrap();
        assert_eq!(due, at("2026-12-09T21:00:00Z"));
    }

    #[test]
    fn a_deadline_skips_a_holiday_and_counts_in_the_states_own_date() {
        // Friday 2026-12-04 at 23:30 in New York (UTC−5) is already Saturday in UTC; the
        // count starts from New York's Friday. Monday 7 is a holiday there: Tuesday 18:00.
        let usa = calendar(chrono_tz::America::New_York, &["2026-12-07"]);
        let due = usa
            .after_working_days(at("2026-12-05T04:30:00Z"), 1)
            .unwrap();
        assert_eq!(due, at("2026-12-08T23:00:00Z"));
        // Christmas Friday and the weekend: from Thursday 24 December, 1 day is Monday 28.
        let usa = calendar(chrono_tz::America::New_York, &["2026-12-25"]);
        let due = usa
            .after_working_days(at("2026-12-24T15:00:00Z"), 1)
            .unwrap();
        assert_eq!(due, at("2026-12-28T23:00:00Z"));
    }

    #[test]
    fn the_close_of_a_day_follows_the_clock_change() {
        // New York in July is UTC−4.
        let usa = calendar(chrono_tz::America::New_York, &[]);
        let due = usa
            .after_working_days(at("2026-07-09T12:00:00Z"), 1)
            .unwrap();
        assert_eq!(due, at("2026-07-10T22:00:00Z"));
    }

    #[test]
    fn a_working_week_is_read_from_day_names_and_refuses_the_rest() {
        let week = WorkingWeek::parse(["sun", "mon", "tue", "wed", "thu"]).unwrap();
        assert!(week.works(Weekday::Sun) && !week.works(Weekday::Fri));
        assert_eq!(week.to_string(), "mon,tue,wed,thu,sun");
        assert!(WorkingWeek::parse(["mon", "mon"]).is_err());
        assert!(WorkingWeek::parse(["monday"]).is_err());
        assert!(WorkingWeek::parse([]).is_err());
        assert!(parse_day_ends("17:30").is_ok());
        for bad in ["24:00", "5pm", "9:00", "18:00:00", ""] {
            assert!(parse_day_ends(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn holidays_are_read_from_an_icalendar_file() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
            BEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:Navidad\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;VALUE=DATE:20270215\r\nDTEND;VALUE=DATE:20270217\r\nSUMMARY:Carnaval\r\nEND:VEVENT\r\n\
            END:VCALENDAR\r\n";
        let holidays = holidays_from_ical(ics).unwrap();
        let dates: Vec<String> = holidays.iter().map(|h| h.date.to_string()).collect();
        assert_eq!(dates, ["2026-12-25", "2027-02-15", "2027-02-16"]);
        assert_eq!(holidays[1].name, "Carnaval");

        let recurring = ics.replace("SUMMARY:Navidad", "SUMMARY:Navidad\r\nRRULE:FREQ=YEARLY");
        assert!(
            holidays_from_ical(&recurring)
                .unwrap_err()
                .contains("RRULE")
        );
        let timed = ics.replace("DTSTART;VALUE=DATE:20261225", "DTSTART:20261225T100000Z");
        assert!(
            holidays_from_ical(&timed)
                .unwrap_err()
                .contains("whole day")
        );
    }
}
