-- A bank account as its owner may see it: masked, in p_lang ('zh', 'en').
-- With its bank's row, bank_account_text() as jsonb: one expression that
-- PostgreSQL inlines into the calling query; without, the bank is looked
-- up (bank_account_put()).
CREATE OR REPLACE FUNCTION bank_account_json(a bank_account, b bank,
                                             p_lang text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT bank_account_text(a, csibiz_json(CASE WHEN p_lang = 'en'
                                                 THEN b.name_en
                                                 ELSE b.name_zh END))::jsonb
$$;

CREATE OR REPLACE FUNCTION bank_account_json(a bank_account, p_lang text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT bank_account_json(a, b, p_lang)
      FROM bank b
     WHERE b.code = a.bank_code
$$;
