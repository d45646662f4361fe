-- run_history: what each pipeline run did, with the certificates that expired or vanished
-- since the run before it.
-- grain: one row per run.
-- key: run_id.
-- inputs: stg_runs, stg_certificates, int_certificate_vanishings.
--
-- certificates_expired: certificates (not vanished) whose not_after falls after the previous
-- run's start and at or before this run's start. The first run counts every earlier not_after.
-- certificates_vanished: certificates whose vanishing this run's fetches found.
create or replace view atlas_certs.run_history as

with

runs as (
    select * from atlas_certs.stg_runs
),

certificates as (
    select * from atlas_certs.stg_certificates
),

certificate_vanishings as (
    select * from atlas_certs.int_certificate_vanishings
),

ordered_runs as (
    select
        *,
        lag(run_id) over run_order as previous_run_id,
        lag(started_at) over run_order as previous_started_at,
    from runs
    window run_order as (order by started_at, run_id)
),

unvanished_certificates as (
    select
        certificates.not_after,
    from certificates
    anti join certificate_vanishings
        on certificates.project_id = certificate_vanishings.project_id
        and certificates.username = certificate_vanishings.username
        and certificates.cert_id = certificate_vanishings.cert_id
),

expirations as (
    -- Each certificate goes to the first run that started at or after its not_after.
    select
        runs.run_id,
        count(*) as certificates_expired,
    from unvanished_certificates
    asof inner join runs
        on unvanished_certificates.not_after <= runs.started_at
    group by runs.run_id
),

vanishings as (
    select
        vanished_run_id as run_id,
        count(*) as certificates_vanished,
    from certificate_vanishings
    group by vanished_run_id
)

select
    ordered_runs.run_id,
    ordered_runs.started_at,
    ordered_runs.finished_at,
    (epoch_us(ordered_runs.finished_at) - epoch_us(ordered_runs.started_at)) / 1000000
        as duration_seconds,
    ordered_runs.run_status,
    ordered_runs.is_successful,
    ordered_runs.project_filter,
    ordered_runs.projects_fetched,
    ordered_runs.projects_failed,
    ordered_runs.users_fetched,
    ordered_runs.users_failed,
    ordered_runs.certificates_seen,
    ordered_runs.certificates_new,
    coalesce(expirations.certificates_expired, 0) as certificates_expired,
    coalesce(vanishings.certificates_vanished, 0) as certificates_vanished,
    ordered_runs.requests,
    ordered_runs.error,
    ordered_runs.previous_run_id,
    ordered_runs.previous_started_at,
from ordered_runs
left join expirations
    on ordered_runs.run_id = expirations.run_id
left join vanishings
    on ordered_runs.run_id = vanishings.run_id
