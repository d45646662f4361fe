-- now_utc(): the time every view measures "days left", windows and states against.
-- grain: scalar macro.
-- key: none.
-- inputs: the session variable atlas_certs_now, when set.
--
-- Nothing now-relative is stored: the views compute it when queried. Setting
-- `set variable atlas_certs_now = timestamptz '2026-06-01 00:00:00+00'` freezes the clock for
-- that connection, which is how the tests and the commands' --now option get reproducible
-- output. Without the variable it is now(), the start time of the current transaction.
create or replace macro atlas_certs.now_utc() as
    coalesce(getvariable('atlas_certs_now')::timestamptz, now());
