-- stg_runs: the pipeline runs with their counters.
-- grain: one row per run.
-- key: run_id.
-- inputs: runs.
--
-- is_successful marks the runs that loaded: succeeded, and partial (some fetches failed, and
-- the certificates of those projects and users are stale). A failed run loaded nothing new.
create or replace view atlas_certs.stg_runs as

with

source as (
    select
        run_id,
        started_at,
        finished_at,
        status,
        project_filter,
        projects_fetched,
        projects_failed,
        users_fetched,
        users_failed,
        certificates_seen,
        certificates_new,
        requests,
        error,
    from atlas_certs.runs
)

select
    run_id::varchar as run_id,
    started_at::timestamptz as started_at,
    finished_at::timestamptz as finished_at,
    status::varchar as run_status,
    status in ('succeeded', 'partial') as is_successful,
    project_filter::varchar as project_filter,
    projects_fetched::bigint as projects_fetched,
    projects_failed::bigint as projects_failed,
    users_fetched::bigint as users_fetched,
    users_failed::bigint as users_failed,
    certificates_seen::bigint as certificates_seen,
    certificates_new::bigint as certificates_new,
    requests::bigint as requests,
    error::varchar as error,
from source
