-- rotation_warning_days(): the warning window, in days, behind needs_rotation.
-- grain: scalar macro.
-- key: none.
-- inputs: the session variable atlas_certs_warning_days, when set.
--
-- A database user needs rotation when its latest certificate expires within this many days.
-- The default is 30; `set variable atlas_certs_warning_days = 14` changes it for one connection.
create or replace macro atlas_certs.rotation_warning_days() as
    coalesce(getvariable('atlas_certs_warning_days')::integer, 30);
