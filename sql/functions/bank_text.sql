-- A bank as a bank account's JSON names it, in p_lang ('zh', 'en'): the
-- text of {"code": ..., "name": ...}, bytes as jsonb's
-- (bank_account_text()).  One expression: inlined.
CREATE OR REPLACE FUNCTION bank_text(b bank, p_lang text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"code": ' || coalesce('"' || b.code || '"', 'null')
           || ', "name": '
           || csibiz_json(CASE WHEN p_lang = 'en' THEN b.name_en
                               ELSE b.name_zh END) || '}'
$$;
