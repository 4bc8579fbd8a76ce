-- The parents' queries as PL/pgSQL.  005 wrote them as SQL functions,
-- which PostgreSQL plans again on every call (and query_text() and
-- query_reason() once per row): 3-5 times the cost of bank_account_get()
-- per request.  A PL/pgSQL body keeps its plans for the connection, and
-- the module's connections are long-lived.  Same signatures, same answers
-- (t/040-042 unchanged); the bodies are 005's, wrapped.


CREATE OR REPLACE FUNCTION query_text(p_kind text, p_code text, p_lang text)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN p_lang = 'en' THEN t.en ELSE t.zh END
          FROM query_text t
         WHERE t.kind = p_kind AND t.code = p_code);
END
$$;

CREATE OR REPLACE FUNCTION query_access(p_user bigint, p_person bigint,
                                        OUT status int, OUT code text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v record;
BEGIN
    SELECT u.phone, p.declared_phone INTO v
      FROM portal_user u
      JOIN insured_person p ON p.id = u.insured_person_id
     WHERE u.id = p_user AND u.insured_person_id = p_person;

    IF NOT FOUND THEN
        status := 401;
        code := 'not_logged_in';
    ELSIF v.declared_phone IS DISTINCT FROM v.phone THEN
        status := 403;
        code := 'phone_not_declared';
    ELSE
        status := 200;
        code := NULL;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION me_get(p_user bigint, p_person bigint,
                                  p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
            SELECT jsonb_build_object('person', jsonb_build_object(
                       'name', p.name,
                       'gender', p.gender,
                       'gender_text', query_text('gender', p.gender, p_lang),
                       'birth_date', to_char(p.birth_date, 'YYYY-MM-DD'),
                       'category', p.category,
                       'category_text', query_text('category', p.category,
                                                   p_lang),
                       'school', p.school,
                       'si_card_no_masked', csibiz_mask(p.si_card_no, 3, 4),
                       'id_number_masked', p.id_number_masked,
                       'phone_masked', csibiz_mask(p.declared_phone, 3, 4),
                       'registered_at', csibiz_iso(u.created_at)))::text
              FROM portal_user u
              JOIN insured_person p ON p.id = u.insured_person_id
             WHERE u.id = p_user) END
          FROM query_access(p_user, p_person) AS a;
END
$$;

CREATE OR REPLACE FUNCTION query_reason(p_code text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN p_code IS NULL THEN NULL
                    WHEN EXISTS (SELECT 1 FROM query_text t
                                  WHERE t.kind = 'reason' AND t.code = p_code)
                    THEN p_code ELSE 'other' END);
END
$$;

CREATE OR REPLACE FUNCTION declarations_get(p_user bigint, p_person bigint,
                                            p_now timestamptz, p_lang text,
                                            p_result_day int)
RETURNS TABLE (status int, code text, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
            SELECT jsonb_build_object('declarations', coalesce(jsonb_agg(
                       jsonb_build_object(
                           'receipt_no', d.receipt_no,
                           'submitted_at', csibiz_iso(d.submitted_at),
                           'applies_to', to_char(d.applies_to_month, 'YYYY-MM'),
                           'status', d.shown,
                           'status_text', query_text('declaration_status',
                                                     d.shown, p_lang),
                           'reason_code', d.reason,
                           'reason_text', query_text('reason', d.reason,
                                                     p_lang))
                       ORDER BY d.submitted_at DESC, d.id DESC), '[]'))::text
              FROM (SELECT x.*, v.shown,
                           CASE WHEN v.shown = 'failed'
                                THEN query_reason(x.reason_code) END AS reason
                      FROM declaration x,
                           LATERAL (SELECT CASE
                               WHEN x.status IN ('debited', 'failed')
                                    AND NOT debit_result_visible(
                                        x.applies_to_month, p_now, p_result_day)
                               THEN 'sent_to_bank'
                               ELSE x.status END AS shown) AS v
                     WHERE x.insured_person_id = p_person) AS d) END
          FROM query_access(p_user, p_person) AS a;
END
$$;

CREATE OR REPLACE FUNCTION payments_get(p_user bigint, p_person bigint,
                                        p_now timestamptz, p_lang text,
                                        p_result_day int)
RETURNS TABLE (status int, code text, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN
            jsonb_build_object(
                'premium_cents', (
                    SELECT p.amount_cents FROM premium p
                     WHERE p.year = extract(year FROM coalesce(p_now, now())
                                            AT TIME ZONE 'Asia/Shanghai')),
                'payments', coalesce((
                    SELECT jsonb_agg(payment_json(x, coalesce(p_now, now()),
                                                  p_lang, p_result_day)
                                     ORDER BY x.year DESC, x.month DESC)
                      FROM payment x
                     WHERE x.insured_person_id = p_person), '[]'))::text END
          FROM query_access(p_user, p_person) AS a;
END
$$;
