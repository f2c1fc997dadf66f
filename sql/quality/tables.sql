-- Quality tables shared by every staging model. Created once, written by each staging asset for
-- its own table only (delete + insert in the same transaction as the staged table).

-- Rows unusable as a whole (unparseable, no key, impossible amount), kept with their original row.
create table if not exists quality.quarantine (
    source_system  varchar,    -- crm, web_analytics, surveys, marketing, finance
    table_name     varchar,    -- the contract source (raw/staging table name)
    record_key     varchar,    -- the record's key as exported, or file:line for unparseable lines
    original_row   json,       -- the raw row exactly as landed
    rule           varchar,    -- machine-readable rule id, e.g. malformed_row, missing_key
    reason         varchar,    -- human-readable explanation
    load_id        varchar,    -- the Dagster run that loaded it
    quarantined_at timestamptz
);

-- Bad values in descriptive columns: the value is nulled in staging, the row stays.
create table if not exists quality.defects (
    table_name     varchar,
    record_key     varchar,
    column_name    varchar,
    rule           varchar,    -- e.g. invalid_email, unknown_country, likert_out_of_range
    original_value varchar,
    load_id        varchar,
    detected_at    timestamptz
);
