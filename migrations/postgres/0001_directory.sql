-- cbm2 0001: the directory. Member states, points of contact, bearer tokens, and the
-- append-only log of every change to them. Kept in lockstep with ../sqlite/0001_directory.sql.

CREATE TABLE member_states (
    -- ISO 3166-1 alpha-3: the name states use for each other in the protocol.
    code          TEXT PRIMARY KEY CHECK (length(code) = 3 AND code = upper(code)),
    -- The state's name in the four official languages of the OAS, for the texts cbm2
    -- writes in them (the invocation statement, e-mails).
    name_en       TEXT NOT NULL,
    name_es       TEXT NOT NULL,
    name_fr       TEXT NOT NULL,
    name_pt       TEXT NOT NULL,
    -- Whether the state takes part in CBM #2: inquiries may only be addressed to
    -- participating states (R1: "from the participating Member State").
    participating BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE pocs (
    id                UUID PRIMARY KEY,
    member_state      TEXT NOT NULL REFERENCES member_states (code),
    name              TEXT NOT NULL CHECK (name <> ''),
    affiliation       TEXT NOT NULL CHECK (affiliation <> ''),
    -- policy: CBM #2 contact; mfa: CBM #3 contact; technical: CSIRT and the like.
    role              TEXT NOT NULL CHECK (role IN ('policy', 'mfa', 'technical')),
    email             TEXT NOT NULL,
    phone             TEXT,
    -- JSON array of ISO 639-1 codes, most preferred first.
    languages         JSONB NOT NULL DEFAULT '[]',
    -- A deactivated POC stays in the directory (inquiries name it) but cannot act: its
    -- tokens stop working and lookups skip it.
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    -- CBM #2: contact information "will be updated annually"; a POC not confirmed for
    -- 365 days is stale. Creation counts as the first confirmation.
    last_confirmed_at TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    deactivated_at    TIMESTAMPTZ
);
-- The directory is listed by state, then name; lookups filter by state and role.
CREATE INDEX pocs_by_state_name ON pocs (member_state, name, id);
CREATE INDEX pocs_by_state_role ON pocs (member_state, role) WHERE active;

CREATE TABLE tokens (
    id           UUID PRIMARY KEY,
    -- Hex SHA-256 of the token: the token itself is shown once and never stored.
    token_hash   TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    kind         TEXT NOT NULL CHECK (kind IN ('secretariat', 'poc')),
    poc_id       UUID REFERENCES pocs (id),
    label        TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    -- Updated at most once a minute, so that authentication rarely writes.
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    -- A POC token names its POC; a Secretariat token names none.
    CHECK ((kind = 'poc') = (poc_id IS NOT NULL))
);
CREATE INDEX tokens_by_poc ON tokens (poc_id);

-- Every change to the directory: who, what, when. Rows are only ever inserted.
CREATE TABLE directory_events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL,
    -- Who made the change: the Secretariat (through the API), a POC about itself, or an
    -- operator at the command line (cli).
    actor_kind     TEXT NOT NULL CHECK (actor_kind IN ('secretariat', 'poc', 'cli')),
    -- The token the actor used (NULL for the command line).
    actor_token_id UUID,
    actor_poc_id   UUID,
    type           TEXT NOT NULL,
    -- What was changed: a POC id, a member-state code or a token id, as text.
    subject        TEXT NOT NULL,
    -- The new values.
    payload        JSONB NOT NULL
);

CREATE FUNCTION refuse_change_to_append_only_table() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER directory_events_are_append_only
    BEFORE UPDATE OR DELETE ON directory_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();

CREATE TRIGGER directory_events_are_never_truncated
    BEFORE TRUNCATE ON directory_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only_table();

-- The 35 OAS Member States (ISO 3166-1 alpha-3), all participating in CBM #2 to begin with;
-- the Secretariat changes participation through PATCH /v1/member-states/{code}.
INSERT INTO member_states (code, name_en, name_es, name_fr, name_pt) VALUES
    ('ARG', 'Argentina', 'Argentina', 'Argentine', 'Argentina'),
    ('ATG', 'Antigua and Barbuda', 'Antigua y Barbuda', 'Antigua-et-Barbuda', 'Antígua e Barbuda'),
    ('BHS', 'The Bahamas', 'Bahamas', 'Bahamas', 'Bahamas'),
    ('BLZ', 'Belize', 'Belice', 'Belize', 'Belize'),
    ('BOL', 'Bolivia', 'Bolivia', 'Bolivie', 'Bolívia'),
    ('BRA', 'Brazil', 'Brasil', 'Brésil', 'Brasil'),
    ('BRB', 'Barbados', 'Barbados', 'Barbade', 'Barbados'),
    ('CAN', 'Canada', 'Canadá', 'Canada', 'Canadá'),
    ('CHL', 'Chile', 'Chile', 'Chili', 'Chile'),
    ('COL', 'Colombia', 'Colombia', 'Colombie', 'Colômbia'),
    ('CRI', 'Costa Rica', 'Costa Rica', 'Costa Rica', 'Costa Rica'),
    ('CUB', 'Cuba', 'Cuba', 'Cuba', 'Cuba'),
    ('DMA', 'Dominica', 'Dominica', 'Dominique', 'Dominica'),
    ('DOM', 'Dominican Republic', 'República Dominicana', 'République dominicaine', 'República Dominicana'),
    ('ECU', 'Ecuador', 'Ecuador', 'Équateur', 'Equador'),
    ('GRD', 'Grenada', 'Granada', 'Grenade', 'Granada'),
    ('GTM', 'Guatemala', 'Guatemala', 'Guatemala', 'Guatemala'),
    ('GUY', 'Guyana', 'Guyana', 'Guyana', 'Guiana'),
    ('HND', 'Honduras', 'Honduras', 'Honduras', 'Honduras'),
    ('HTI', 'Haiti', 'Haití', 'Haïti', 'Haiti'),
    ('JAM', 'Jamaica', 'Jamaica', 'Jamaïque', 'Jamaica'),
    ('KNA', 'Saint Kitts and Nevis', 'Saint Kitts y Nevis', 'Saint-Kitts-et-Nevis', 'São Cristóvão e Névis'),
    ('LCA', 'Saint Lucia', 'Santa Lucía', 'Sainte-Lucie', 'Santa Lúcia'),
    ('MEX', 'Mexico', 'México', 'Mexique', 'México'),
    ('NIC', 'Nicaragua', 'Nicaragua', 'Nicaragua', 'Nicarágua'),
    ('PAN', 'Panama', 'Panamá', 'Panama', 'Panamá'),
    ('PER', 'Peru', 'Perú', 'Pérou', 'Peru'),
    ('PRY', 'Paraguay', 'Paraguay', 'Paraguay', 'Paraguai'),
    ('SLV', 'El Salvador', 'El Salvador', 'El Salvador', 'El Salvador'),
    ('SUR', 'Suriname', 'Suriname', 'Suriname', 'Suriname'),
    ('TTO', 'Trinidad and Tobago', 'Trinidad y Tobago', 'Trinité-et-Tobago', 'Trinidad e Tobago'),
    ('URY', 'Uruguay', 'Uruguay', 'Uruguay', 'Uruguai'),
    ('USA', 'United States', 'Estados Unidos', 'États-Unis', 'Estados Unidos'),
    ('VCT', 'Saint Vincent and the Grenadines', 'San Vicente y las Granadinas', 'Saint-Vincent-et-les-Grenadines', 'São Vicente e Granadinas'),
    ('VEN', 'Venezuela', 'Venezuela', 'Venezuela', 'Venezuela');
