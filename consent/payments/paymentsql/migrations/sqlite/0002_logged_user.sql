-- The customer's own channels list the payments of the consents they
-- authorised (CustomerPayments).
CREATE INDEX payment_consents_logged_user ON payment_consents (logged_user);
