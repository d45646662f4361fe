-- certificate_status: the state of every certificate ever loaded, as of now_utc().
-- grain: one row per certificate.
-- key: project_id, username, cert_id.
-- inputs: stg_certificates, stg_projects, int_user_fetch_state, int_certificate_vanishings.
--
-- state, first match wins:
--   vanished  a successful fetch of its user, done before its not_after, did not list it,
--             because the user or the certificate was deleted. It stays vanished after
--             not_after.
--             vanished_at is the start of that fetch (int_certificate_vanishings).
--   expired   not_after <= now.
--   stale     its user's latest fetch failed or was skipped: the last known state is kept,
--             the certificate stays in the expiry views, and stale_since is the first failed
--             or skipped fetch after the latest successful one.
--   active    listed by the latest successful fetch of its user.
-- days_left is rounded down, so it is 0 at the instant not_after = now (already expired) and
-- -1 one second later.
create or replace view atlas_certs.certificate_status as

with

certificates as (
    select * from atlas_certs.stg_certificates
),

projects as (
    select * from atlas_certs.stg_projects
),

user_fetch_state as (
    select * from atlas_certs.int_user_fetch_state
),

certificate_vanishings as (
    select * from atlas_certs.int_certificate_vanishings
),

clock as (
    select atlas_certs.now_utc() as now_at
),

certificate_facts as (
    select
        certificates.project_id,
        certificates.username,
        certificates.cert_id,
        certificates.serial_hex,
        certificates.subject,
        certificates.created_at,
        certificates.not_after,
        certificates.first_seen_at,
        certificates.last_seen_at,
        certificates.last_run_id,
        certificate_vanishings.vanished_at,
        certificate_vanishings.vanished_run_id,
        coalesce(user_fetch_state.is_stale, false) as is_user_stale,
        user_fetch_state.stale_since as user_stale_since,
        (epoch_us(certificates.not_after) - epoch_us(clock.now_at)) / 1000000
            as exact_seconds_left,
        certificates.not_after <= clock.now_at as is_past_not_after,
    from certificates
    cross join clock
    left join certificate_vanishings
        on certificates.project_id = certificate_vanishings.project_id
        and certificates.username = certificate_vanishings.username
        and certificates.cert_id = certificate_vanishings.cert_id
    left join user_fetch_state
        on certificates.project_id = user_fetch_state.project_id
        and certificates.username = user_fetch_state.username
),

certificate_states as (
    select
        *,
        case
            when vanished_at is not null then 'vanished'
            when is_past_not_after then 'expired'
            when is_user_stale then 'stale'
            else 'active'
        end as state,
    from certificate_facts
)

select
    certificate_states.project_id,
    projects.project_name,
    certificate_states.username,
    certificate_states.cert_id,
    certificate_states.serial_hex,
    certificate_states.subject,
    certificate_states.created_at,
    certificate_states.not_after,
    certificate_states.first_seen_at,
    certificate_states.last_seen_at,
    certificate_states.last_run_id,
    floor(certificate_states.exact_seconds_left / 86400)::bigint as days_left,
    floor(certificate_states.exact_seconds_left)::bigint as seconds_left,
    (epoch_us(certificate_states.not_after) - epoch_us(certificate_states.created_at))
        / 1000000 / 86400 as lifetime_days,
    atlas_certs.expiry_window(certificate_states.exact_seconds_left) as expiry_window,
    certificate_states.state,
    certificate_states.vanished_at,
    certificate_states.vanished_run_id,
    case
        when certificate_states.state = 'stale' then certificate_states.user_stale_since
    end as stale_since,
from certificate_states
left join projects
    on certificate_states.project_id = projects.project_id
