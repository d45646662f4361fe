-- expiry_window_definitions: the fixed expiry windows, in the order of urgency.
-- grain: one row per window.
-- key: expiry_window.
-- inputs: none; the bounds repeat the ones in the expiry_window() macro.
--
-- A certificate is in a window when lower_days * 86400 < seconds_left <= upper_days * 86400;
-- a NULL bound is open.
create or replace view atlas_certs.expiry_window_definitions as

with

windows as (
    select
        window_order,
        expiry_window,
        lower_days,
        upper_days,
    from (
        values
            (1, 'expired', null, 0),
            (2, '0-7d', 0, 7),
            (3, '7-14d', 7, 14),
            (4, '14-30d', 14, 30),
            (5, '30-60d', 30, 60),
            (6, '60-90d', 60, 90),
            (7, '90d+', 90, null)
    ) as definitions (window_order, expiry_window, lower_days, upper_days)
)

select
    window_order::integer as window_order,
    expiry_window::varchar as expiry_window,
    lower_days::integer as lower_days,
    upper_days::integer as upper_days,
from windows
