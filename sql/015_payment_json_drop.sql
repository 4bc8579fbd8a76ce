-- payments_get() builds its rows in one statement now, and a failure's
-- part in payment_failure(): the per-row payment_json() goes.
DROP FUNCTION IF EXISTS payment_json(payment, timestamptz, text, int);
