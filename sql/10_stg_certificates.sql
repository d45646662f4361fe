-- stg_certificates: the loaded certificates, without dlt's bookkeeping columns.
-- grain: one row per certificate ever listed by Atlas.
-- key: project_id, username, cert_id.
-- inputs: certificates.
--
-- Later views read this view and never the raw table, so a column that dlt adds to
-- `certificates` changes nothing downstream.
create or replace view atlas_certs.stg_certificates as

with

source as (
    select
        project_id,
        username,
        cert_id,
        serial_hex,
        subject,
        created_at,
        not_after,
        first_seen_at,
        last_seen_at,
        last_run_id,
    from atlas_certs.certificates
)

select
    project_id::varchar as project_id,
    username::varchar as username,
    cert_id::bigint as cert_id,
    serial_hex::varchar as serial_hex,
    subject::varchar as subject,
    created_at::timestamptz as created_at,
    not_after::timestamptz as not_after,
    first_seen_at::timestamptz as first_seen_at,
    last_seen_at::timestamptz as last_seen_at,
    last_run_id::varchar as last_run_id,
from source
