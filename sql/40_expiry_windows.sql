-- expiry_windows: how many certificates of each project fall in each expiry window.
-- grain: one row per project and expiry window, with every window listed for every project
-- that has certificates (counts of zero included).
-- key: project_id, expiry_window.
-- inputs: certificate_status, expiry_window_definitions.
--
-- Counts active, stale and expired certificates; vanished ones no longer exist in Atlas and
-- are left out. Stale certificates count in the window of their last known not_after, so a
-- failed fetch neither hides nor moves them.
create or replace view atlas_certs.expiry_windows as

with

certificate_status as (
    select * from atlas_certs.certificate_status
),

window_definitions as (
    select * from atlas_certs.expiry_window_definitions
),

window_counts as (
    select
        project_id,
        any_value(project_name) as project_name,
        expiry_window,
        count(*) as certificate_count,
        count(*) filter (where state = 'stale') as stale_certificate_count,
        count(distinct username) as user_count,
    from certificate_status
    where state <> 'vanished'
    group by project_id, expiry_window
),

projects as (
    select
        project_id,
        any_value(project_name) as project_name,
    from window_counts
    group by project_id
)

select
    projects.project_id,
    projects.project_name,
    window_definitions.expiry_window,
    window_definitions.window_order,
    window_definitions.lower_days,
    window_definitions.upper_days,
    coalesce(window_counts.certificate_count, 0) as certificate_count,
    coalesce(window_counts.stale_certificate_count, 0) as stale_certificate_count,
    coalesce(window_counts.user_count, 0) as user_count,
from projects
cross join window_definitions
left join window_counts
    on projects.project_id = window_counts.project_id
    and window_definitions.expiry_window = window_counts.expiry_window
