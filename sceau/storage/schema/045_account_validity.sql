-- Account validity (the admin API's account expiry): when set and past, every
-- authenticated request of the user is refused with ORG_MATRIX_EXPIRED_ACCOUNT.
ALTER TABLE users ADD COLUMN expiration_ts BIGINT;
