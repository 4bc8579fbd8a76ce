/* csibiz pages: the bank account form (payer, method, card or passbook,
 * bank filled in from the card's first digits, the relative's details),
 * the "check your answers" step and the receipt; when the window is
 * closed, when it opens next.  See docs/api.md, GET and PUT /api/account. */
(function () {
    'use strict';

    var ui = window.csibizUi;
    var api = window.csibizApi;
    var views = window.csibizViews;
    var h = ui.h;

    var DOCS = ['id_card', 'household_register', 'passport',
                'hk_macao_permit', 'taiwan_permit',
                'foreign_permanent_residence'];
    var RELATIONS = ['father', 'mother', 'grandparent', 'sibling',
                     'guardian', 'other'];
    var REL_FIELDS = ['relative_name', 'relative_gender', 'relative_relation',
                      'relative_phone', 'relative_address',
                      'relative_postcode'];

    /* The bank whose longest debit card prefix starts the number. */
    function bankOfCard(banks, number) {
        var digits = number.replace(/[\s-]/g, '').slice(0, 8);
        var best = null;
        var len = 0;
        banks.forEach(function (b) {
            (b.card_prefixes || []).forEach(function (p) {
                if (p.length > len && digits.slice(0, p.length) === p) {
                    best = b;
                    len = p.length;
                }
            });
        });
        return best;
    }

    function bankName(banks, code) {
        var b = banks.filter(function (x) { return x.code === code; })[0];
        return b ? b.name : code;
    }

    function closedNotice(win) {
        return h('div', { 'class': 'notice notice-closed', id: 'window-closed' },
            h('h2', null, ui.t('bank.closed.title')),
            h('p', null, win && win.opens_at
                ? ui.t('bank.closed.next',
                       { from: ui.date(win.opens_at),
                         to: ui.date(win.closes_at, true) })
                : ui.t('bank.closed.none')),
            h('p', null, ui.t('bank.closed.queries'), ' ',
              ui.link('#/status', 'menu.status'), ' · ',
              ui.link('#/payments', 'menu.payments')));
    }

    function current(acct) {
        if (!acct) {
            return h('p', null, ui.t('bank.current.none'));
        }
        return h('div', null, h('p', null, ui.t('bank.current.account', {
            bank: acct.bank.name,
            method: ui.t('bank.method.' + acct.method),
            last4: acct.account_last4 })),
            acct.relative ? h('p', null, ui.t('bank.current.holder', {
                who: acct.relative.name + ' ('
                     + ui.t('bank.relation.' + acct.relative.relation) + ')'
            })) : null);
    }

    /* ------------------------------------------------------ form */

    function form(app, ctx, errors) {
        var d = ctx.draft;
        var banks = ctx.banks;
        var f = {};
        var detected = h('p', { 'class': 'hint', id: 'bank-detected',
                                'aria-live': 'polite' });

        f.payer = ui.field({ name: 'payer', label: 'bank.payer',
                             required: true, value: d.payer,
                             radios: [['self', 'bank.payer.self',
                                       'bank.payer.self.hint'],
                                      ['relative', 'bank.payer.relative',
                                       'bank.payer.relative.hint']] });
        f.method = ui.field({ name: 'method', label: 'bank.method',
                              required: true, value: d.method,
                              radios: [['card', 'bank.method.card'],
                                       ['passbook', 'bank.method.passbook']] });
        f.account_no = ui.field({ name: 'account_no',
                                  label: 'bank.account_no.card',
                                  hint: 'bank.account_no.hint', required: true,
                                  inputmode: 'numeric', value: d.account_no,
                                  attrs: { maxlength: '30' } });
        f.account_no_confirm = ui.field({ name: 'account_no_confirm',
                                          label: 'bank.account_no_confirm',
                                          required: true, inputmode: 'numeric',
                                          value: d.account_no_confirm,
                                          attrs: { maxlength: '30' } });
        f.bank = ui.field({ name: 'bank', label: 'bank.bank', required: true,
            value: d.bank,
            options: [['', ui.t('bank.bank.choose')]].concat(
                banks.map(function (b) {
                    return [b.code, b.accepts_debit ? b.name
                            : ui.t('bank.bank.no_debit', { name: b.name }),
                            !b.accepts_debit];
                })) });
        f.bank.appendChild(detected);
        f.doc_type = ui.field({ name: 'doc_type', label: 'bank.doc_type',
            required: true, value: d.doc_type || 'id_card',
            options: DOCS.map(function (k) {
                return [k, ui.t('bank.doc.' + k)];
            }) });
        f.relative_name = ui.field({ name: 'relative_name',
            label: 'bank.relative_name', required: true,
            value: d.relative_name, autocomplete: 'name' });
        f.relative_gender = ui.field({ name: 'relative_gender',
            label: 'bank.relative_gender', required: true,
            value: d.relative_gender,
            radios: [['F', 'bank.gender.F'], ['M', 'bank.gender.M']] });
        f.relative_relation = ui.field({ name: 'relative_relation',
            label: 'bank.relative_relation', required: true,
            value: d.relative_relation,
            options: [['', ui.t('bank.bank.choose')]].concat(
                RELATIONS.map(function (k) {
                    return [k, ui.t('bank.relation.' + k)];
                })) });
        f.relative_phone = ui.field({ name: 'relative_phone',
            label: 'bank.relative_phone', hint: 'bank.relative_phone.hint',
            required: true, type: 'tel', inputmode: 'tel',
            autocomplete: 'tel', value: d.relative_phone });
        f.relative_address = ui.field({ name: 'relative_address',
            label: 'bank.relative_address', required: true,
            autocomplete: 'street-address', value: d.relative_address,
            attrs: { maxlength: '100' } });
        f.relative_postcode = ui.field({ name: 'relative_postcode',
            label: 'bank.relative_postcode',
            hint: 'bank.relative_postcode.hint', required: true,
            inputmode: 'numeric', autocomplete: 'postal-code',
            value: d.relative_postcode, attrs: { maxlength: '6' } });

        var relative = h('fieldset', { 'class': 'group', id: 'relative' },
            h('legend', null, ui.t('bank.relative')),
            h('p', { 'class': 'hint' }, ui.t('bank.relative.hint')),
            REL_FIELDS.map(function (k) { return f[k]; }));
        var el = h('form', { novalidate: true, id: 'bank-form' },
            f.payer, f.method, f.account_no, f.account_no_confirm, f.bank,
            f.doc_type, relative,
            h('p', { 'class': 'actions' },
              h('button', { type: 'submit', 'class': 'primary' },
                ui.t('bank.to_check'))));

        /* what the form shows depends on payer and method */
        function sync() {
            var payer = ui.value(el, 'payer');
            var method = ui.value(el, 'method');
            relative.hidden = payer !== 'relative';
            f.account_no_confirm.hidden = method !== 'passbook';
            f.account_no.querySelector('label').firstChild.textContent =
                ui.t(method === 'passbook' ? 'bank.account_no.passbook'
                                           : 'bank.account_no.card');
            Array.prototype.forEach.call(f.bank.input.options, function (o) {
                var b = banks.filter(function (x) {
                    return x.code === o.value;
                })[0];
                o.disabled = !!b && (!b.accepts_debit
                    || b.methods.indexOf(method || 'card') < 0);
            });
        }
        function detect() {
            if (ui.value(el, 'method') !== 'card') {
                return;
            }
            var b = bankOfCard(banks, f.account_no.input.value);
            if (b && b.code !== f.bank.input.value) {
                f.bank.input.value = b.code;
                detected.textContent = ui.t('bank.bank.detected',
                                            { name: b.name });
            }
        }
        el.addEventListener('change', function (ev) {
            sync();
            if (ev.target.name === 'method') {
                detect();
            }
        });
        f.account_no.input.addEventListener('input', detect);
        sync();

        el.addEventListener('submit', function (ev) {
            ev.preventDefault();
            var draft = {};
            var errs = [];
            ['payer', 'method', 'account_no', 'account_no_confirm', 'bank',
             'doc_type'].concat(REL_FIELDS).forEach(function (k) {
                draft[k] = ui.value(el, k);
            });
            var need = ['payer', 'method', 'account_no', 'bank', 'doc_type'];
            if (draft.method === 'passbook') {
                need.push('account_no_confirm');
            }
            if (draft.payer === 'relative') {
                need = need.concat(REL_FIELDS);
            }
            need.forEach(function (k) {
                if (!draft[k]) {
                    errs.push([k, ui.t('field.error.required')]);
                }
            });
            if (draft.method === 'passbook' && draft.account_no_confirm
                && draft.account_no_confirm !== draft.account_no)
            {
                errs.push(['account_no_confirm', ui.t('field.error.mismatch')]);
            }
            if (errs.length) {
                return ui.showErrors(el, errs);
            }
            ctx.draft = draft;
            check(app, ctx);
        });

        var top = [h('p', null, ui.t('bank.intro')),
                   ctx.acct.window && ctx.acct.window.closes_at
                   ? h('p', null, ui.t('bank.window', {
                         to: ui.date(ctx.acct.window.closes_at, true) }))
                   : null,
                   h('h2', null, ui.t('bank.current')),
                   current(ctx.acct.account), el];
        ui.page('bank.title', top);
        if (errors) {
            ui.showErrors(el, errors);
        }
    }

    /* ---------------------------------------------- check, submit */

    function grouped(n) {
        return n.replace(/[\s-]/g, '').replace(/(\d{4})(?=\d)/g, '$1 ');
    }

    function check(app, ctx) {
        var d = ctx.draft;
        var rows = [['bank.payer', ui.t('bank.payer.' + d.payer)],
                    ['bank.method', ui.t('bank.method.' + d.method)],
                    ['bank.bank', bankName(ctx.banks, d.bank)],
                    [d.method === 'passbook' ? 'bank.account_no.passbook'
                                             : 'bank.account_no.card',
                     grouped(d.account_no)],
                    ['bank.doc_type', ui.t('bank.doc.' + d.doc_type)]];
        if (d.payer === 'relative') {
            rows = rows.concat([
                ['bank.relative_name', d.relative_name],
                ['bank.relative_gender', ui.t('bank.gender.'
                                              + d.relative_gender)],
                ['bank.relative_relation', ui.t('bank.relation.'
                                                + d.relative_relation)],
                ['bank.relative_phone', d.relative_phone],
                ['bank.relative_address', d.relative_address],
                ['bank.relative_postcode', d.relative_postcode]]);
        }
        var pw = ui.field({ name: 'password', label: 'bank.check.password',
                            hint: 'bank.check.reauth', type: 'password',
                            required: true,
                            autocomplete: 'current-password' });
        pw.hidden = !ctx.needReauth;
        var send = h('button', { type: 'submit', 'class': 'primary' },
                     ui.t('bank.check.submit'));
        var el = h('form', { novalidate: true, id: 'bank-check' }, pw,
            h('p', { 'class': 'actions' }, send,
              h('button', { type: 'button', id: 'bank-change',
                            onclick: function () {
                                if (!views.isBusy(el)) {
                                    form(app, ctx);
                                }
                            } },
                ui.t('bank.check.change'))));
        el.addEventListener('submit', function (ev) {
            ev.preventDefault();
            if (views.isBusy(el)) {
                return;
            }
            if (ctx.needReauth && !el.elements.password.value) {
                return ui.showErrors(el, [['password',
                                           ui.t('field.error.required')]]);
            }
            views.act(el, send, function () {
                return submit(ctx, el);
            }, function (res) {
                answer(app, ctx, el, res);
            });
        });
        ui.page('bank.check.title', [h('p', null, ui.t('bank.check.intro')),
                                     ui.dl(rows), el]);
    }

    function body(ctx) {
        var d = ctx.draft;
        var b = { version: ctx.acct.version };
        Object.keys(d).forEach(function (k) {
            if (d[k] !== '' && (d.payer === 'relative'
                                || REL_FIELDS.indexOf(k) < 0)
                && !(k === 'account_no_confirm' && d.method !== 'passbook'))
            {
                b[k] = d[k];
            }
        });
        return b;
    }

    /* the answer to show: the reauth's when it refused, else the PUT's */
    function submit(ctx, el) {
        var first = Promise.resolve(null);
        if (ctx.needReauth) {
            first = api.post('/api/reauth',
                             { password: el.elements.password.value });
        }
        return first.then(function (re) {
            if (re && !re.ok) {
                re.reauth = true;
                return re;
            }
            var b = body(ctx);
            var sig = JSON.stringify(b);
            /* the same request keeps its key: a retry after a lost answer
             * is answered, not written twice */
            if (ctx.keyFor !== sig) {
                ctx.key = api.newKey();
                ctx.keyFor = sig;
            }
            return api.put('/api/account', b, { 'Idempotency-Key': ctx.key });
        });
    }

    function answer(app, ctx, el, res) {
        if (res.reauth) {
            return ui.showErrors(el, ui.apiErrors(res,
                { bad_credentials: 'password', locked: 'password' }));
        }
        if (res.ok) {
            return receipt(res.json);
        }
        if (res.code === 'invalid') {
            ctx.keyFor = null;
            return form(app, ctx, ui.apiErrors(res));
        }
        if (res.code === 'reauth_required') {
            ctx.needReauth = true;
            return check(app, ctx);
        }
        if (res.code === 'window_closed') {
            return ui.page('bank.title',
                           closedNotice(res.json.next_window));
        }
        if (res.code === 'conflict') {
            return ui.page('bank.title', h('div', { 'class': 'error-summary',
                                                    role: 'alert' },
                h('p', null, ui.t('bank.conflict')),
                h('p', null, h('a', { href: '#/bank', onclick: function (e) {
                    e.preventDefault();
                    app.render();
                } }, ui.t('bank.reload')))));
        }
        ui.showErrors(el, ui.apiErrors(res));
    }

    function receipt(r) {
        var a = r.account;
        ui.page('bank.receipt.title', [
            h('p', { 'class': 'notice notice-ok' }, r.message),
            ui.dl([['bank.receipt.no', r.receipt_no],
                   ['bank.receipt.applies', ui.t('bank.receipt.debit', {
                       month: ui.month(r.debit.month),
                       date: ui.date(r.debit.date) })],
                   ['bank.receipt.account', a ? ui.t('bank.current.account', {
                       bank: a.bank.name,
                       method: ui.t('bank.method.' + a.method),
                       last4: a.account_last4 }) : null]]),
            r.debit.too_late_for_this_month
                ? h('p', null, ui.t('bank.receipt.too_late')) : null,
            h('p', { 'class': 'actions' },
              ui.link('#/status', 'bank.receipt.status', 'button primary'),
              ui.link('#/home', 'common.home', 'button'),
              h('button', { type: 'button', id: 'print',
                            onclick: function () { window.print(); } },
                ui.t('common.print')))]);
    }

    /* ------------------------------------------------------ view */

    views.bank = function (app) {
        views.load('bank.title', function () {
            return [api.get('/api/account'), api.get('/api/banks')];
        }, function (acct, banks) {
            if (!acct.ok || !banks.ok) {
                return views.failPage('bank.title', acct.ok ? banks : acct);
            }
            var a = acct.json;
            if (!a.editable) {
                return ui.page('bank.title', [
                    closedNotice(a.window),
                    h('h2', null, ui.t('bank.current')),
                    current(a.account)]);
            }
            var cur = a.account || {};
            var ctx = { acct: a, banks: banks.json.banks,
                        needReauth: !!(a.account && a.reauth_required),
                        draft: { payer: cur.payer || '',
                                 method: cur.method || 'card',
                                 bank: cur.bank ? cur.bank.code : '',
                                 doc_type: cur.doc_type || 'id_card' } };
            form(app, ctx);
        });
    };

    views.bankOfCard = bankOfCard;
}());
