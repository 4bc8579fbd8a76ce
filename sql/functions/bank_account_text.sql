-- A bank account as its owner may see it, masked, with p_bank_name its
-- bank's name in the reader's language as a JSON string: the JSON text
-- that bank_account_json() makes jsonb of.  Built as text for speed (GET
-- /api/account sends it as it is, as me_get() does its body): the bytes
-- of jsonb's output, keys shorter first then bytewise, ", " and ": ".
-- Codes, masks and times whose CHECK leaves nothing to escape are quoted
-- as they are; every value may be NULL (null), as in jsonb.  One
-- expression: inlined.
CREATE OR REPLACE FUNCTION bank_account_text(a bank_account,
                                             p_bank_name text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"bank": {"code": ' || coalesce('"' || a.bank_code || '"', 'null')
        || ', "name": ' || coalesce(p_bank_name, 'null')
        || '}, "payer": ' || coalesce('"' || a.payer || '"', 'null')
        || ', "method": ' || coalesce('"' || a.method || '"', 'null')
        || ', "doc_type": ' || coalesce('"' || a.doc_type || '"', 'null')
        || ', "relative": '
        || CASE WHEN a.payer = 'relative' THEN
               '{"name": ' || csibiz_json(csibiz_mask(a.relative_name, 1, 1))
               || ', "phone": '
               || coalesce('"' || csibiz_mask(a.relative_phone, 3, 4) || '"',
                           'null')
               || ', "gender": '
               || coalesce('"' || a.relative_gender || '"', 'null')
               || ', "address": '
               || csibiz_json(csibiz_mask(left(a.relative_address, 10), 6, 0))
               || ', "postcode": '
               || coalesce('"' || a.relative_postcode || '"', 'null')
               || ', "relation": ' || csibiz_json(a.relative_relation) || '}'
           ELSE 'null' END
        || ', "updated_at": '
        || coalesce('"' || csibiz_iso(a.updated_at) || '"', 'null')
        || ', "account_last4": '
        || coalesce('"' || a.account_last4 || '"', 'null') || '}'
$$;
