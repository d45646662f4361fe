-- certificate_issuance_monthly: how many certificates each database user was issued per month.
-- grain: one row per calendar month (UTC) of created_at, project and database user with at
-- least one certificate created that month.
-- key: issued_month, project_id, username.
-- inputs: stg_certificates, stg_projects.
create or replace view atlas_certs.certificate_issuance_monthly as

with

certificates as (
    select * from atlas_certs.stg_certificates
),

projects as (
    select * from atlas_certs.stg_projects
),

issued_certificates as (
    -- timezone('UTC', …) gives the UTC wall time, so months do not follow the session's zone.
    select
        project_id,
        username,
        cert_id,
        created_at,
        date_trunc('month', timezone('UTC', created_at))::date as issued_month,
    from certificates
),

monthly_counts as (
    select
        issued_month,
        project_id,
        username,
        count(*) as certificates_issued,
        min(created_at) as first_created_at,
        max(created_at) as last_created_at,
    from issued_certificates
    group by issued_month, project_id, username
)

select
    monthly_counts.issued_month,
    monthly_counts.project_id,
    projects.project_name,
    monthly_counts.username,
    monthly_counts.certificates_issued,
    monthly_counts.first_created_at,
    monthly_counts.last_created_at,
from monthly_counts
left join projects
    on monthly_counts.project_id = projects.project_id
