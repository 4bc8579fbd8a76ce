-- A bank account as its owner may see it: masked, in p_lang ('zh', 'en').
-- With its bank's row, one expression that PostgreSQL inlines into the
-- calling query (bank_account_get() joins the bank); without, the bank is
-- looked up.
CREATE OR REPLACE FUNCTION bank_account_json(a bank_account, b bank,
                                             p_lang text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'payer', a.payer,
        'method', a.method,
        'bank', jsonb_build_object(
            'code', b.code,
            'name', CASE WHEN p_lang = 'en' THEN b.name_en ELSE b.name_zh END),
        'doc_type', a.doc_type,
        'account_last4', a.account_last4,
        'relative', CASE WHEN a.payer = 'relative' THEN jsonb_build_object(
            'name', csibiz_mask(a.relative_name, 1, 1),
            'gender', a.relative_gender,
            'relation', a.relative_relation,
            'phone', csibiz_mask(a.relative_phone, 3, 4),
            'address', csibiz_mask(left(a.relative_address, 10), 6, 0),
            'postcode', a.relative_postcode) END,
        'updated_at', csibiz_iso(a.updated_at))
$$;

CREATE OR REPLACE FUNCTION bank_account_json(a bank_account, p_lang text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT bank_account_json(a, b, p_lang)
      FROM bank b
     WHERE b.code = a.bank_code
$$;
