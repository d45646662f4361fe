-- certificate_rotations: each certificate that followed an earlier one of the same database
-- user, with the overlap or gap between the two.
-- grain: one row per certificate that has a predecessor (the user's certificates ordered by
-- created_at, then cert_id).
-- key: project_id, username, cert_id.
-- inputs: stg_certificates, stg_projects.
--
-- overlap_seconds = previous not_after - created_at: positive while both were valid (a clean
-- rotation), negative for a gap in which the user had no valid certificate.
create or replace view atlas_certs.certificate_rotations as

with

certificates as (
    select * from atlas_certs.stg_certificates
),

projects as (
    select * from atlas_certs.stg_projects
),

ordered_certificates as (
    -- One lag() of a struct reads the previous certificate in a single pass over the window.
    select
        project_id,
        username,
        cert_id,
        serial_hex,
        created_at,
        not_after,
        row_number() over user_certificates as certificate_number,
        lag(
            {
                'cert_id': cert_id,
                'serial_hex': serial_hex,
                'created_at': created_at,
                'not_after': not_after,
            }
        ) over user_certificates as previous,
    from certificates
    -- With the hash first, the sort orders most rows without comparing strings. project_id
    -- and username follow it, so two users stay apart even if their hashes collide.
    window user_certificates as (
        partition by hash(project_id, username), project_id, username
        order by created_at, cert_id
    )
),

rotations as (
    select
        project_id,
        username,
        certificate_number - 1 as rotation_number,
        previous.cert_id as previous_cert_id,
        previous.serial_hex as previous_serial_hex,
        previous.created_at as previous_created_at,
        previous.not_after as previous_not_after,
        cert_id,
        serial_hex,
        created_at,
        not_after,
        (epoch_us(previous.not_after) - epoch_us(created_at)) / 1000000 as overlap_seconds,
    from ordered_certificates
    where certificate_number > 1
)

select
    rotations.project_id,
    projects.project_name,
    rotations.username,
    rotations.rotation_number,
    rotations.previous_cert_id,
    rotations.previous_serial_hex,
    rotations.previous_created_at,
    rotations.previous_not_after,
    rotations.cert_id,
    rotations.serial_hex,
    rotations.created_at,
    rotations.not_after,
    rotations.overlap_seconds,
    rotations.overlap_seconds / 86400 as overlap_days,
    rotations.overlap_seconds < 0 as has_gap,
from rotations
left join projects
    on rotations.project_id = projects.project_id
