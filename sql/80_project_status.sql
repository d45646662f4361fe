-- project_status: the fetch health of each project: its latest fetch and its stale users.
-- grain: one row per project seen in the projects table or the fetch log.
-- key: project_id.
-- inputs: stg_projects, stg_fetches, int_user_fetch_state.
--
-- is_stale: the latest fetch of the project failed, so all its users were skipped and keep
-- their last known state. stale_since is the first failed fetch after the latest successful
-- one. stale_user_count also counts users whose own fetch failed in a project that did not.
create or replace view atlas_certs.project_status as

with

projects as (
    select * from atlas_certs.stg_projects
),

fetches as (
    select * from atlas_certs.stg_fetches
),

user_fetch_state as (
    select * from atlas_certs.int_user_fetch_state
),

project_fetches as (
    select
        project_id,
        fetch_status,
        is_successful,
        http_status,
        error_code,
        reason,
        fetched_at,
    from fetches
    where scope = 'project'
),

latest_project_fetches as (
    -- arg_max() skips NULL values, so each row's nullable fields travel in one struct.
    select
        project_id,
        arg_max(
            {
                'fetch_status': fetch_status,
                'http_status': http_status,
                'error_code': error_code,
                'reason': reason,
                'fetched_at': fetched_at,
            },
            fetched_at
        ) as latest_fetch,
        max(fetched_at) filter (where is_successful) as last_success_at,
    from project_fetches
    group by project_id
),

stale_periods as (
    select
        latest_project_fetches.project_id,
        min(project_fetches.fetched_at) as stale_since,
    from latest_project_fetches
    inner join project_fetches
        on latest_project_fetches.project_id = project_fetches.project_id
    where
        latest_project_fetches.latest_fetch.fetch_status = 'failed'
        and not project_fetches.is_successful
        and (
            latest_project_fetches.last_success_at is null
            or project_fetches.fetched_at > latest_project_fetches.last_success_at
        )
    group by latest_project_fetches.project_id
),

user_counts as (
    select
        project_id,
        count(*) filter (where not is_deleted) as user_count,
        count(*) filter (where is_stale) as stale_user_count,
        count(*) filter (where last_fetch_status = 'failed') as failed_user_count,
    from user_fetch_state
    group by project_id
),

project_ids as (
    select project_id from projects
    union
    select project_id from latest_project_fetches
    union
    select project_id from user_counts
)

select
    project_ids.project_id,
    projects.project_name,
    projects.org_id,
    latest_project_fetches.latest_fetch.fetch_status as last_fetch_status,
    latest_project_fetches.latest_fetch.fetched_at as last_fetched_at,
    latest_project_fetches.latest_fetch.http_status as last_fetch_http_status,
    latest_project_fetches.latest_fetch.error_code as last_fetch_error_code,
    latest_project_fetches.latest_fetch.reason as last_fetch_reason,
    latest_project_fetches.last_success_at,
    coalesce(latest_project_fetches.latest_fetch.fetch_status = 'failed', false) as is_stale,
    stale_periods.stale_since,
    coalesce(user_counts.user_count, 0) as user_count,
    coalesce(user_counts.stale_user_count, 0) as stale_user_count,
    coalesce(user_counts.failed_user_count, 0) as failed_user_count,
from project_ids
left join projects
    on project_ids.project_id = projects.project_id
left join latest_project_fetches
    on project_ids.project_id = latest_project_fetches.project_id
left join stale_periods
    on project_ids.project_id = stale_periods.project_id
left join user_counts
    on project_ids.project_id = user_counts.project_id
