-- cbm2 0009: each member state's time zone. Kept in lockstep with
-- ../sqlite/0009_member_state_time_zones.sql.

-- The IANA time zone of the state's capital (e.g. America/Santiago), in which the e-mails
-- to the state's POCs show times, beside the UTC instant. The Secretariat changes it
-- through PATCH /v1/member-states/{code}, which checks the name against the time-zone
-- database cbm2 is built with (chrono-tz); SQL can only refuse an empty one. 'UTC' is the
-- default only for the ALTER: every seeded state gets its own below.
ALTER TABLE member_states ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC'
    CHECK (time_zone <> '');

WITH zones (code, time_zone) AS (VALUES
    ('ARG', 'America/Argentina/Buenos_Aires'),
    ('ATG', 'America/Antigua'),
    ('BHS', 'America/Nassau'),
    ('BLZ', 'America/Belize'),
    ('BOL', 'America/La_Paz'),
    ('BRA', 'America/Sao_Paulo'),
    ('BRB', 'America/Barbados'),
    ('CAN', 'America/Toronto'),
    ('CHL', 'America/Santiago'),
    ('COL', 'America/Bogota'),
    ('CRI', 'America/Costa_Rica'),
    ('CUB', 'America/Havana'),
    ('DMA', 'America/Dominica'),
    ('DOM', 'America/Santo_Domingo'),
    ('ECU', 'America/Guayaquil'),
    ('GRD', 'America/Grenada'),
    ('GTM', 'America/Guatemala'),
    ('GUY', 'America/Guyana'),
    ('HND', 'America/Tegucigalpa'),
    ('HTI', 'America/Port-au-Prince'),
    ('JAM', 'America/Jamaica'),
    ('KNA', 'America/St_Kitts'),
    ('LCA', 'America/St_Lucia'),
    ('MEX', 'America/Mexico_City'),
    ('NIC', 'America/Managua'),
    ('PAN', 'America/Panama'),
    ('PER', 'America/Lima'),
    ('PRY', 'America/Asuncion'),
    ('SLV', 'America/El_Salvador'),
    ('SUR', 'America/Paramaribo'),
    ('TTO', 'America/Port_of_Spain'),
    ('URY', 'America/Montevideo'),
    ('USA', 'America/New_York'),
    ('VCT', 'America/St_Vincent'),
    ('VEN', 'America/Caracas')
)
UPDATE member_states
   SET time_zone = (SELECT zones.time_zone FROM zones WHERE zones.code = member_states.code)
 WHERE code IN (SELECT code FROM zones);
