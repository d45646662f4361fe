-- expiry_window(seconds_left): the fixed expiry window of a certificate or database user.
-- grain: scalar macro.
-- key: none.
-- inputs: seconds from now to not_after, fractional (negative once expired).
--
-- Each window includes its upper edge: 7 days left exactly is 0-7d, and 0 seconds left is
-- already expired. The windows are expired, 0-7d, 7-14d, 14-30d, 30-60d, 60-90d and 90d+,
-- as listed with their bounds in expiry_window_definitions. A day is 86,400 seconds here, so
-- the edges do not move with the session's TimeZone or daylight saving time.
create or replace macro atlas_certs.expiry_window(seconds_left) as
    case
        when seconds_left is null then null
        when seconds_left <= 0 then 'expired'
        when seconds_left <= 7 * 86400 then '0-7d'
        when seconds_left <= 14 * 86400 then '7-14d'
        when seconds_left <= 30 * 86400 then '14-30d'
        when seconds_left <= 60 * 86400 then '30-60d'
        when seconds_left <= 90 * 86400 then '60-90d'
        else '90d+'
    end;
