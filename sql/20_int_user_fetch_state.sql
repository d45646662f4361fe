-- int_user_fetch_state: the latest fetch of each database user and whether it is stale.
-- grain: one row per database user that has at least one user fetch.
-- key: project_id, username.
-- inputs: stg_fetches.
--
-- is_stale: the latest fetch failed or was skipped because its project failed, so the
-- certificates keep the state of the latest successful fetch. stale_since is the first failed
-- or skipped fetch after that one. is_deleted: the latest successful fetch found the user gone.
create or replace view atlas_certs.int_user_fetch_state as

with

user_fetches as (
    select
        run_id,
        project_id,
        username,
        fetch_status,
        is_successful,
        http_status,
        error_code,
        reason,
        fetched_at,
    from atlas_certs.stg_fetches
    where scope = 'user'
),

unsuccessful_user_fetches as (
    select
        project_id,
        username,
        fetched_at,
    from atlas_certs.stg_fetches
    where scope = 'user' and not is_successful
),

latest_fetches as (
    -- arg_max() skips NULL values, so each row's nullable fields travel in one struct.
    select
        project_id,
        username,
        arg_max(
            {
                'run_id': run_id,
                'fetch_status': fetch_status,
                'http_status': http_status,
                'error_code': error_code,
                'reason': reason,
                'fetched_at': fetched_at,
            },
            fetched_at
        ) as latest_fetch,
        arg_max(
            {'fetch_status': fetch_status, 'fetched_at': fetched_at},
            fetched_at
        ) filter (where is_successful) as latest_successful_fetch,
    from user_fetches
    group by project_id, username
),

user_states as (
    select
        project_id,
        username,
        latest_fetch.run_id as last_fetch_run_id,
        latest_fetch.fetch_status as last_fetch_status,
        latest_fetch.fetched_at as last_fetched_at,
        latest_fetch.http_status as last_fetch_http_status,
        latest_fetch.error_code as last_fetch_error_code,
        latest_fetch.reason as last_fetch_reason,
        latest_successful_fetch.fetch_status as last_success_status,
        latest_successful_fetch.fetched_at as last_success_at,
        latest_fetch.fetch_status in ('failed', 'skipped') as is_stale,
        coalesce(latest_successful_fetch.fetch_status = 'not_found', false) as is_deleted,
    from latest_fetches
),

stale_periods as (
    select
        user_states.project_id,
        user_states.username,
        min(unsuccessful_user_fetches.fetched_at) as stale_since,
    from user_states
    inner join unsuccessful_user_fetches
        on user_states.project_id = unsuccessful_user_fetches.project_id
        and user_states.username = unsuccessful_user_fetches.username
    where
        user_states.is_stale
        and (
            user_states.last_success_at is null
            or unsuccessful_user_fetches.fetched_at > user_states.last_success_at
        )
    group by user_states.project_id, user_states.username
)

select
    user_states.project_id,
    user_states.username,
    user_states.last_fetch_run_id,
    user_states.last_fetch_status,
    user_states.last_fetched_at,
    user_states.last_fetch_http_status,
    user_states.last_fetch_error_code,
    user_states.last_fetch_reason,
    user_states.last_success_status,
    user_states.last_success_at,
    user_states.is_stale,
    user_states.is_deleted,
    stale_periods.stale_since,
from user_states
left join stale_periods
    on user_states.project_id = stale_periods.project_id
    and user_states.username = stale_periods.username
