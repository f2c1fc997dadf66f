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
    quarantined_at timestamptz,
    partition_key  varchar     -- the day (YYYY-MM-DD) of a daily-partitioned source's row, else null
);

-- Bad values in descriptive columns: the value is nulled in staging, the row stays.
create table if not exists quality.defects (
    table_name     varchar,
    record_key     varchar,
    column_name    varchar,
    rule           varchar,    -- e.g. invalid_email, unknown_country, likert_out_of_range
    original_value varchar,
    load_id        varchar,
    detected_at    timestamptz,
    partition_key  varchar     -- the day (YYYY-MM-DD) of a daily-partitioned source's row, else null
);

-- Warehouses created before partitions existed get the column (no-op otherwise).
alter table quality.quarantine add column if not exists partition_key varchar;
alter table quality.defects add column if not exists partition_key varchar;

-- The load ledger: one row per landed file per run that looked at it (assets/ingest/ledger.py).
create table if not exists quality.load_ledger (
    source         varchar,    -- the contract source
    file_path      varchar,
    file_size      bigint,     -- bytes
    modified_at    timestamptz,
    content_hash   varchar,    -- SHA-256 of the file's bytes
    contract_hash  varchar,    -- digest of the contract columns the file was read with
    rows           bigint,     -- rows in the file (CSV: parsed data lines, before quarantine)
    partition_key  varchar,    -- the day a daily-partitioned file holds (YYYY-MM-DD), else null
    action         varchar,    -- loaded (new file), reloaded (content or contract changed), unchanged (not loaded again)
    detail         varchar,    -- why, e.g. 'content changed since load <run> (2000 rows then)'
    previous_hash  varchar,    -- content hash at the file's previous entry
    load_id        varchar,    -- the Dagster run
    recorded_at    timestamptz
);

-- Erasure suppression list: salted hashes (pipelines/privacy.py) of every identifier of a person who
-- asked to be erased. Rows whose identifiers hash into it are dropped at ingest and staging, on every run.
create table if not exists quality.erasure_suppressions (
    identifier_hash varchar,   -- pii_hash(identifier, salt); never the identifier itself
    id_type         varchar,   -- crm_contact, email, web_user, cookie or request (the request's identifier)
    request_hash    varchar,   -- pii_hash of the request's identifier
    suppressed_at   timestamptz
);

-- Erasure audit: one row per deletion request and run that processed it. No PII beyond salted hashes.
create table if not exists quality.erasure_audit (
    request_hash     varchar,
    requested_at     timestamp,
    processed_at     timestamptz,
    run_id           varchar,
    customers_erased integer,  -- resolved customers (identity-graph components) removed
    identifiers_suppressed integer,
    rows_removed     bigint,
    rows_removed_by_table json  -- {"schema.table": rows}
);
