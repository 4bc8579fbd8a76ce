-- The masked ID number (first 3 and last 4 characters) is no longer
-- stored: the first 3 with the age band that a category and a school's
-- name imply left a municipality's child fewer than 10,000 candidates,
-- and the last 4 alone too once the city is known (a school's name, the
-- phone's prefix, the city the portal serves), as the check character
-- then rules out all but one in 11 (docs/operations.md, "What the
-- database reveals").  The mask the API shows is made by the module,
-- from the ID number the request carries (login, registration) or that
-- it opens from id_number_enc (GET /api/me).
ALTER TABLE insured_person DROP COLUMN id_number_masked;
