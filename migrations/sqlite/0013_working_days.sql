-- cbm2 0013: each member state's working days and public holidays. Kept in lockstep with
-- ../postgres/0013_working_days.sql.

-- An acknowledgement may give its timeframe in working days of the responding state
-- (`estimated_working_days`): the deadline skips the days the state does not work and its
-- holidays, and falls when its working day closes, in its time zone. The Secretariat keeps
-- them: `working_days` (day names, Monday first, at least one) and `working_day_ends`
-- (HH:MM, local) through PATCH /v1/member-states/{code}, which checks them; the holidays
-- through PUT /v1/member-states/{code}/holidays (dates, or an iCalendar file).
ALTER TABLE member_states ADD COLUMN working_days TEXT NOT NULL DEFAULT 'mon,tue,wed,thu,fri'
    CHECK (working_days <> '');
ALTER TABLE member_states ADD COLUMN working_day_ends TEXT NOT NULL DEFAULT '18:00'
    CHECK (length(working_day_ends) = 5);

CREATE TABLE member_state_holidays (
    member_state TEXT NOT NULL REFERENCES member_states (code),
    date         TEXT NOT NULL CHECK (length(date) = 10),
    name         TEXT NOT NULL,
    PRIMARY KEY (member_state, date)
);
