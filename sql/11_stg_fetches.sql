-- stg_fetches: the fetch log, one row per project and per database user in each run.
-- grain: one row per fetch.
-- key: none enforced; run_id, scope, project_id, username identify a fetch.
-- inputs: fetches.
--
-- is_successful marks the fetches whose result is a database user's complete certificate
-- list: ok (at least one certificate), empty (none) and not_found (the user is gone, so its
-- certificates are too). failed and skipped fetches tell nothing about the certificates.
create or replace view atlas_certs.stg_fetches as

with

source as (
    select
        run_id,
        scope,
        project_id,
        username,
        status,
        http_status,
        error_code,
        reason,
        certificate_count,
        pages,
        fetched_at,
    from atlas_certs.fetches
)

select
    run_id::varchar as run_id,
    scope::varchar as scope,
    project_id::varchar as project_id,
    username::varchar as username,
    status::varchar as fetch_status,
    status in ('ok', 'empty', 'not_found') as is_successful,
    http_status::bigint as http_status,
    error_code::varchar as error_code,
    reason::varchar as reason,
    certificate_count::bigint as certificate_count,
    pages::bigint as pages,
    fetched_at::timestamptz as fetched_at,
from source
