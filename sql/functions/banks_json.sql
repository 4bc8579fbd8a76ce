-- GET /api/banks: every bank in p_lang ('zh', 'en') with its methods,
-- passbook lengths and debit card prefixes (the bank form fills the bank
-- in from a card number's first digits; credit card prefixes stay
-- unlisted: PUT /api/account refuses those by name).
CREATE OR REPLACE FUNCTION banks_json(p_lang text) RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT jsonb_build_object('banks', coalesce(jsonb_agg(jsonb_build_object(
               'code', b.code,
               'name', CASE WHEN p_lang = 'en' THEN b.name_en
                            ELSE b.name_zh END,
               'accepts_debit', b.accepts_debit,
               'methods', CASE WHEN b.accepts_debit THEN to_jsonb(b.methods)
                               ELSE '[]'::jsonb END,
               'passbook_lengths',
                   CASE WHEN b.accepts_debit AND 'passbook' = ANY (b.methods)
                        THEN to_jsonb(b.passbook_lengths)
                        ELSE '[]'::jsonb END,
               'card_prefixes',
                   CASE WHEN b.accepts_debit AND 'card' = ANY (b.methods)
                        THEN coalesce((SELECT jsonb_agg(n.prefix
                                                        ORDER BY n.prefix)
                                         FROM bank_bin n
                                        WHERE n.bank_code = b.code
                                          AND n.card_type = 'debit'),
                                      '[]'::jsonb)
                        ELSE '[]'::jsonb END)
             ORDER BY b.position, b.code), '[]'::jsonb))::text
      FROM bank b
$$;
