-- stg_projects: the Atlas projects (Atlas calls them groups) that a run fetched.
-- grain: one row per project.
-- key: project_id.
-- inputs: projects.
create or replace view atlas_certs.stg_projects as

with

source as (
    select
        project_id,
        name,
        org_id,
        last_seen_at,
    from atlas_certs.projects
)

select
    project_id::varchar as project_id,
    name::varchar as project_name,
    org_id::varchar as org_id,
    last_seen_at::timestamptz as project_last_seen_at,
from source
