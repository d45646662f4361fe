-- user_certificate_status: whether each database user still has a valid certificate, judged
-- by its latest one, as of now_utc().
-- grain: one row per database user seen in a certificate or a user fetch.
-- key: project_id, username.
-- inputs: certificate_status, int_user_fetch_state, stg_projects.
--
-- The latest certificate is the one with the latest not_after among those that are not
-- vanished (active, stale or expired). days_left, seconds_left and expiry_window measure the
-- time until the user has no valid certificate left, so a user that already rotated (an old
-- certificate expiring soon, a new one valid for months) is judged by the new one.
-- needs_rotation: that latest certificate expires within rotation_warning_days() (30 days
-- unless the session variable atlas_certs_warning_days is set), or has expired.
-- is_in_last_third_of_lifetime: less than a third of that certificate's lifetime is left.
-- A deleted user (its latest successful fetch was not_found), or one without any certificate
-- that is not vanished, has NULL days_left, seconds_left and expiry_window, and both flags
-- false.
create or replace view atlas_certs.user_certificate_status as

with

certificate_status as (
    select * from atlas_certs.certificate_status
),

user_fetch_state as (
    select * from atlas_certs.int_user_fetch_state
),

projects as (
    select * from atlas_certs.stg_projects
),

clock as (
    select atlas_certs.now_utc() as now_at
),

user_certificates as (
    -- The latest certificate is chosen among those that are not vanished; ties on not_after
    -- go to the certificate created last, then to the larger serial.
    select
        project_id,
        username,
        count(*) as certificate_count,
        count(*) filter (where state = 'active') as active_certificate_count,
        count(*) filter (where state in ('active', 'stale')) as valid_certificate_count,
        arg_max(
            {
                'cert_id': cert_id,
                'serial_hex': serial_hex,
                'created_at': created_at,
                'not_after': not_after,
                'state': state,
            },
            {'not_after': not_after, 'created_at': created_at, 'cert_id': cert_id}
        ) filter (where state <> 'vanished') as latest,
    from certificate_status
    group by project_id, username
),

users as (
    select project_id, username from user_certificates
    union
    select project_id, username from user_fetch_state
),

user_facts as (
    select
        users.project_id,
        users.username,
        coalesce(user_certificates.certificate_count, 0) as certificate_count,
        coalesce(user_certificates.active_certificate_count, 0) as active_certificate_count,
        coalesce(user_certificates.valid_certificate_count, 0) as valid_certificate_count,
        user_certificates.latest.cert_id as latest_cert_id,
        user_certificates.latest.serial_hex as latest_serial_hex,
        user_certificates.latest.created_at as latest_created_at,
        user_certificates.latest.not_after as latest_not_after,
        user_certificates.latest.state as latest_state,
        coalesce(user_fetch_state.is_deleted, false) as is_deleted,
        coalesce(user_fetch_state.is_stale, false) as is_stale,
        user_fetch_state.stale_since,
        user_fetch_state.last_fetch_status,
        user_fetch_state.last_fetched_at,
        user_fetch_state.last_success_at,
        clock.now_at,
    from users
    cross join clock
    left join user_certificates
        on users.project_id = user_certificates.project_id
        and users.username = user_certificates.username
    left join user_fetch_state
        on users.project_id = user_fetch_state.project_id
        and users.username = user_fetch_state.username
),

user_timings as (
    select
        *,
        case
            when not is_deleted
                then (epoch_us(latest_not_after) - epoch_us(now_at)) / 1000000
        end as exact_seconds_left,
        (epoch_us(latest_not_after) - epoch_us(latest_created_at)) / 1000000
            as latest_lifetime_seconds,
    from user_facts
)

select
    user_timings.project_id,
    projects.project_name,
    user_timings.username,
    user_timings.certificate_count,
    user_timings.active_certificate_count,
    user_timings.valid_certificate_count,
    user_timings.latest_cert_id,
    user_timings.latest_serial_hex,
    user_timings.latest_created_at,
    user_timings.latest_not_after,
    user_timings.latest_state,
    floor(user_timings.exact_seconds_left / 86400)::bigint as days_left,
    floor(user_timings.exact_seconds_left)::bigint as seconds_left,
    user_timings.latest_lifetime_seconds / 86400 as latest_lifetime_days,
    atlas_certs.expiry_window(user_timings.exact_seconds_left) as expiry_window,
    coalesce(
        user_timings.exact_seconds_left <= atlas_certs.rotation_warning_days() * 86400,
        false
    ) as needs_rotation,
    coalesce(
        user_timings.exact_seconds_left < user_timings.latest_lifetime_seconds / 3,
        false
    ) as is_in_last_third_of_lifetime,
    user_timings.is_deleted,
    user_timings.is_stale,
    user_timings.stale_since,
    user_timings.last_fetch_status,
    user_timings.last_fetched_at,
    user_timings.last_success_at,
from user_timings
left join projects
    on user_timings.project_id = projects.project_id
