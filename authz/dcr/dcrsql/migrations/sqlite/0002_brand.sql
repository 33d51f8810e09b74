-- A client belongs to the brand whose registration endpoint created it.
-- Rows from before this migration get the empty brand, which no brand's
-- handler or client adapter uses: those clients must register again.
ALTER TABLE dcr_clients ADD COLUMN brand TEXT NOT NULL DEFAULT '';
