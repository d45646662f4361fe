-- int_certificate_vanishings: certificates that a successful fetch of their user did not list
-- although it was done before their not_after: the user or the certificate was deleted.
-- grain: one row per vanished certificate.
-- key: project_id, username, cert_id.
-- inputs: stg_certificates, stg_fetches, stg_runs.
--
-- The fetch that found a certificate gone is the first successful fetch of its user after
-- last_seen_at. Every fetch that lists a certificate moves its last_seen_at, so that fetch did
-- not list it. It counts as done before not_after when its run finished before not_after (or,
-- for a run without a `runs` row, when the fetch started before it). Atlas stops listing a
-- certificate at its not_after, so a fetch still running then may have missed it because it
-- expired, and the certificate counts as expired instead.
create or replace view atlas_certs.int_certificate_vanishings as

with

certificates as (
    select
        project_id,
        username,
        cert_id,
        not_after,
        last_seen_at,
        last_run_id,
    from atlas_certs.stg_certificates
),

runs as (
    select
        run_id,
        started_at,
        finished_at,
    from atlas_certs.stg_runs
),

successful_user_fetches as (
    select
        run_id,
        project_id,
        username,
        fetched_at,
    from atlas_certs.stg_fetches
    where scope = 'user' and is_successful
),

run_sequence as (
    select
        run_id,
        lead(finished_at) over (order by started_at, run_id) as next_run_finished_at,
    from runs
),

candidate_certificates as (
    -- Runs never overlap, because the pipeline locks the database file for a run. So a later
    -- fetch of the user belongs to a later run and is done no earlier than the next run
    -- finished. When that is at or after not_after, or there is no later run, the certificate
    -- cannot have vanished. This cheap test leaves out nearly every certificate that simply
    -- expired or is still listed, so the search below reads the fetch history of few users.
    -- NOTE: a run that crashed before writing its `runs` row is invisible here, so a
    -- certificate it found gone shows as vanished only after the next complete run.
    select
        certificates.project_id,
        certificates.username,
        certificates.cert_id,
        certificates.not_after,
        certificates.last_seen_at,
    from certificates
    left join run_sequence
        on certificates.last_run_id = run_sequence.run_id
    where
        run_sequence.run_id is null
        or run_sequence.next_run_finished_at < certificates.not_after
),

candidate_users as (
    select distinct
        project_id,
        username,
    from candidate_certificates
),

candidate_user_fetches as (
    select
        successful_user_fetches.project_id,
        successful_user_fetches.username,
        successful_user_fetches.run_id,
        successful_user_fetches.fetched_at,
        coalesce(runs.finished_at, successful_user_fetches.fetched_at) as done_by,
    from successful_user_fetches
    semi join candidate_users
        on successful_user_fetches.project_id = candidate_users.project_id
        and successful_user_fetches.username = candidate_users.username
    left join runs
        on successful_user_fetches.run_id = runs.run_id
),

next_successful_fetches as (
    select
        candidate_certificates.project_id,
        candidate_certificates.username,
        candidate_certificates.cert_id,
        candidate_certificates.not_after,
        candidate_user_fetches.run_id,
        candidate_user_fetches.fetched_at,
        candidate_user_fetches.done_by,
    from candidate_certificates
    asof inner join candidate_user_fetches
        on candidate_certificates.project_id = candidate_user_fetches.project_id
        and candidate_certificates.username = candidate_user_fetches.username
        and candidate_certificates.last_seen_at < candidate_user_fetches.fetched_at
)

select
    project_id,
    username,
    cert_id,
    fetched_at as vanished_at,
    run_id as vanished_run_id,
from next_successful_fetches
where done_by < not_after
