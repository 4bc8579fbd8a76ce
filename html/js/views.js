/* csibiz pages: the views that are not the bank form (bank.js): start,
 * agreement, registration, login, home, declaration status, payments.
 * Each view is a function(app) that renders <main> through ui.page(). */
(function () {
    'use strict';

    var ui = window.csibizUi;
    var api = window.csibizApi;
    var h = ui.h;
    var views = {};

    function button(key, attrs) {
        var a = attrs || {};
        a.type = a.type || 'button';
        return h('button', a, ui.t(key));
    }

    /* A form at work: its buttons aria-disabled (a second press does
     * nothing), the one pressed saying so ("正在提交…").  Buttons already
     * disabled for another reason (the code's countdown) stay so. */
    function busy(form, on, pressed) {
        Array.prototype.forEach.call(form.querySelectorAll('button'),
            function (b) {
                if (on && b.getAttribute('aria-disabled') !== 'true') {
                    b.setAttribute('aria-disabled', 'true');
                    b.dataset.busy = '1';
                } else if (!on && b.dataset.busy) {
                    b.removeAttribute('aria-disabled');
                    delete b.dataset.busy;
                }
                if (!on && b.dataset.label !== undefined) {
                    b.textContent = b.dataset.label;
                    delete b.dataset.label;
                }
            });
        if (on && pressed) {
            pressed.dataset.label = pressed.textContent;
            pressed.textContent = ui.t('common.working');
        }
        form.setAttribute('aria-busy', on ? 'true' : 'false');
    }

    function isBusy(form) {
        return form.getAttribute('aria-busy') === 'true';
    }
    views.isBusy = isBusy;

    /* What failed and a button that does it again: no answer in time, no
     * connection, or a backend outage (api.retriable). */
    function retryBox(res, again) {
        var retry = button('common.retry', { 'class': 'primary retry' });
        retry.addEventListener('click', again);
        var box = h('div', { 'class': 'retry-box', role: 'alert' },
                    h('p', null, ui.apiMessage(res)), retry);
        box.retry = retry;
        return box;
    }

    /* Runs a slow action of a form: action() returns the answer's promise,
     * handle(res) shows any answer but a retriable one, which puts the
     * retry box before the pressed button. */
    function act(form, pressed, action, handle) {
        var old = form.querySelector('.retry-box');
        if (isBusy(form)) {
            return;
        }
        if (old) {
            old.parentNode.removeChild(old);
        }
        busy(form, true, pressed);
        action().then(function (res) {
            busy(form, false);
            if (!api.retriable(res)) {
                return handle(res);
            }
            var box = retryBox(res, function () {
                act(form, pressed, action, handle);
            });
            var at = pressed.closest('.actions') || pressed;
            at.parentNode.insertBefore(box, at);
            box.retry.focus();
        });
    }
    views.act = act;

    /* A view that needs answers first: its title and "正在加载…" at once;
     * then render(answers...), or on a retriable answer the retry box.  A
     * page shown meanwhile (the parent went elsewhere) is left alone. */
    function load(titleKey, requests, render) {
        var first = !ui.loaded;
        var main = ui.page(titleKey, h('p', { 'class': 'loading',
                                              role: 'status' },
                                       ui.t('common.loading')));
        var seq = ui.pageSeq;
        main.setAttribute('aria-busy', 'true');
        Promise.all(requests()).then(function (rs) {
            var bad = rs.filter(api.retriable)[0];
            if (ui.pageSeq !== seq) {
                return;
            }
            /* the first page loaded leaves the focus at the top (the skip
             * link first), its answers too */
            ui.loaded = !first;
            if (!bad) {
                return render.apply(null, rs);
            }
            var box = retryBox(bad, function () {
                load(titleKey, requests, render);
            });
            ui.page(titleKey, [box,
                               h('p', null, ui.link('#/home', 'common.home'))]);
            box.retry.focus();
        });
    }
    views.load = load;

    /* A form-level problem shown with the page (not tied to a field). */
    function failPage(titleKey, res) {
        ui.page(titleKey, [
            res.code === 'phone_not_declared' ? newPhoneHint()
            : h('div', { 'class': 'error-summary', role: 'alert' },
                h('p', null, ui.apiMessage(res))),
            h('p', null, ui.link('#/home', 'common.home'))]);
    }
    views.failPage = failPage;

    /* ------------------------------------------------------- start */

    views.start = function () {
        ui.page('start.title', [
            h('p', null, ui.t('start.intro')),
            h('p', null, ui.t('start.window')),
            h('p', null, ui.t('start.school')),
            h('p', { 'class': 'actions' },
              ui.link('#/agreement', 'start.register', 'button primary'),
              ui.link('#/login', 'start.login', 'button'))]);
    };

    /* --------------------------------------------------- agreement */

    views.agreement = function (app) {
        load('agreement.title', function () {
            return [api.get('/api/agreement')];
        }, function (res) {
            if (!res.ok) {
                return failPage('agreement.title', res);
            }
            var a = res.json;
            var text = h('div', { 'class': 'agreement-text', tabindex: '0',
                                  role: 'region',
                                  'aria-label': ui.t('agreement.text_label') });
            a.text.split(/\n\s*\n/).forEach(function (para) {
                text.appendChild(h('p', null, para));
            });
            var accept = ui.field({ name: 'accept', label: 'agreement.accept' });
            var box = h('input', { type: 'checkbox', id: 'f-accept',
                                   name: 'accept' });
            accept.textContent = '';
            accept.appendChild(accept.errorEl);
            accept.appendChild(h('div', { 'class': 'checkbox' }, box,
                h('label', { 'for': 'f-accept' }, ui.t('agreement.accept'))));
            var form = h('form', { novalidate: true }, accept,
                         h('p', { 'class': 'actions' },
                           button('agreement.agree',
                                  { type: 'submit', 'class': 'primary' })));
            form.addEventListener('submit', function (ev) {
                ev.preventDefault();
                if (!box.checked) {
                    ui.showErrors(form, [['accept',
                                          ui.t('agreement.must_accept')]]);
                    return;
                }
                app.state.agreeVersion = a.version;
                app.go('#/register');
            });
            ui.page('agreement.title', [
                h('h2', { 'class': 'subtitle' }, a.title),
                h('p', { 'class': 'meta' },
                  ui.t('agreement.version', { version: a.version })),
                text, form]);
        });
    };

    /* ---------------------------------------------------- captcha */

    /* The captcha block: image, refresh button, answer field and the
     * alternative for those who cannot use it.  .load() fetches a new
     * one; .id() and .answer() give what a request carries. */
    function captcha() {
        var img = h('img', { 'class': 'captcha-img', width: '120',
                             height: '40', alt: ui.t('register.captcha.alt'),
                             src: 'img/blank.svg' });
        var f = ui.field({ name: 'captcha_answer', label: 'register.captcha',
                           hint: 'register.captcha.hint', required: true,
                           attrs: { maxlength: '10',
                                    autocapitalize: 'characters' } });
        var id = null;
        var refresh = button('register.captcha.refresh',
                             { 'class': 'link-button', id: 'captcha-refresh' });
        /* the picture did not come: "show another picture" is the retry */
        var failed = h('p', { 'class': 'captcha-failed', id: 'captcha-failed',
                              role: 'alert', hidden: true });
        var block = h('div', { 'class': 'captcha' }, f,
                      h('div', { 'class': 'captcha-row' }, img, refresh),
                      failed,
                      h('p', { 'class': 'hint', id: 'captcha-help' },
                        ui.t('register.captcha.help')));
        f.input.setAttribute('aria-describedby',
                             f.input.getAttribute('aria-describedby')
                             + ' captcha-help');
        block.load = function (say) {
            f.input.value = '';
            return api.get('/api/captcha').then(function (res) {
                failed.hidden = res.ok;
                failed.textContent = res.ok ? '' : ui.apiMessage(res) + ' '
                                     + ui.t('register.captcha.failed');
                if (res.ok) {
                    id = res.json.captcha_id;
                    img.src = res.json.image;
                    if (say) {
                        ui.announce(ui.t('register.captcha.refreshed'));
                    }
                }
            });
        };
        refresh.addEventListener('click', function () {
            block.load(true);
            f.input.focus();
        });
        block.captchaId = function () { return id; };
        block.answer = function () { return f.input.value.trim(); };
        return block;
    }

    /* --------------------------------------------------- register */

    function strength(pw) {
        var n = Array.from(pw).length;
        var kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/]
                    .filter(function (re) { return re.test(pw); }).length;
        var level = n < 12 ? 'short' : (n >= 16 || kinds >= 3 ? 'good'
                                                              : 'fair');
        return ui.t('register.strength',
                    { level: ui.t('register.strength.' + level), n: n });
    }

    function cardFigure() {
        return h('details', { 'class': 'card-hint' },
                 h('summary', null, ui.t('register.card_figure')),
                 h('figure', null,
                   h('img', { src: 'img/si-card.svg', width: '320',
                              height: '202', alt: ui.t('register.card_alt') }),
                   h('figcaption', null, ui.t('register.card_caption'))));
    }

    /* "13800138000" -> "138****8000": what the page shows of a phone */
    function maskPhone(phone) {
        var d = phone.replace(/\D/g, '').slice(-11);
        return d.length === 11 ? d.slice(0, 3) + '****' + d.slice(7) : phone;
    }

    /* The form that proves an identity and a phone with an SMS code and
     * sets a password: registration and the password reset.  o: purpose
     * (of the code), title, intro, password and password2 (label keys),
     * submit (button key), path (of the final POST), extra(body) (fields
     * of its own), done(res) (true when it handled the answer). */
    function identityForm(app, o) {
        var cap = captcha();
        var fields = {
            id_number: ui.field({ name: 'id_number', label: 'register.id_number',
                                  hint: 'register.id_number.hint',
                                  required: true,
                                  attrs: { maxlength: '18' } }),
            si_card_no: ui.field({ name: 'si_card_no',
                                   label: 'register.si_card_no',
                                   hint: 'register.si_card_no.hint',
                                   required: true,
                                   attrs: { maxlength: '20' } }),
            phone: ui.field({ name: 'phone', label: 'register.phone',
                              hint: 'register.phone.hint', type: 'tel',
                              required: true, autocomplete: 'tel-national',
                              inputmode: 'tel' }),
            sms_code: ui.field({ name: 'sms_code', label: 'register.sms_code',
                                 hint: 'register.sms_code.hint',
                                 required: true, inputmode: 'numeric',
                                 autocomplete: 'one-time-code',
                                 attrs: { maxlength: '6' } }),
            password: ui.field({ name: 'password', label: o.password,
                                 hint: 'register.password.hint',
                                 type: 'password', required: true,
                                 autocomplete: 'new-password' }),
            password2: ui.field({ name: 'password2',
                                  label: o.password2,
                                  type: 'password', required: true,
                                  autocomplete: 'new-password' })
        };
        var meter = h('p', { 'class': 'hint strength', id: 'pw-strength' },
                      strength(''));
        fields.password.appendChild(meter);
        fields.password.input.setAttribute('aria-describedby',
            'f-password-hint pw-strength');
        fields.password.input.addEventListener('input', function () {
            meter.textContent = strength(fields.password.input.value);
        });
        var getCode = button('register.get_code', { id: 'get-code' });
        var submit = button(o.submit, { type: 'submit', 'class': 'primary' });
        var countdown = h('p', { 'class': 'hint', id: 'code-wait',
                                 hidden: true });
        var timer = null;
        var ticket = null;      /* sms/send's, the register call needs it */
        var sent = h('p', { 'class': 'notice', id: 'code-sent',
                            hidden: true });
        /* registering with a phone the school no longer declares: the
         * account may exist already, with the old phone */
        var moved = h('p', { 'class': 'notice', id: 'new-phone',
                             hidden: true },
                      ui.t('phone.register_hint'), ' ',
                      ui.link('#/reset', 'phone.new_link'));
        var form = h('form', { novalidate: true },
                     h('p', null, ui.t(o.intro)),
                     fields.id_number, fields.si_card_no, cardFigure(),
                     fields.phone, moved, cap,
                     h('div', { 'class': 'actions' }, getCode, countdown),
                     sent, fields.sms_code, fields.password, fields.password2,
                     h('p', { 'class': 'actions' }, submit));
        var codeFields = { identity_mismatch: 'si_card_no',
                           phone_not_declared: 'phone',
                           captcha_invalid: 'captcha_answer',
                           captcha_required: 'captcha_answer',
                           sms_code_invalid: 'sms_code',
                           rate_limited: 'phone' };

        function refused(res) {
            moved.hidden = !(o.purpose === 'register'
                             && res.code === 'phone_not_declared');
            ui.showErrors(form, ui.apiErrors(res, codeFields));
        }

        function identity() {
            return { id_number: ui.value(form, 'id_number'),
                     si_card_no: ui.value(form, 'si_card_no'),
                     phone: ui.value(form, 'phone') };
        }

        function missing(names) {
            return names.filter(function (n) {
                return !ui.value(form, n);
            }).map(function (n) {
                return [n, ui.t('field.error.required')];
            });
        }

        function wait(seconds) {
            var left = seconds;
            getCode.setAttribute('aria-disabled', 'true');
            getCode.dataset.wait = '1';
            countdown.hidden = false;
            function tick() {
                countdown.textContent = ui.t('register.resend_in', { s: left });
                if (left <= 0) {
                    window.clearInterval(timer);
                    countdown.hidden = true;
                    getCode.removeAttribute('aria-disabled');
                    delete getCode.dataset.wait;
                }
                left -= 1;
            }
            tick();
            timer = window.setInterval(tick, 1000);
            app.onLeave(function () { window.clearInterval(timer); });
        }

        getCode.addEventListener('click', function () {
            if (getCode.dataset.wait || isBusy(form)) {
                return;
            }
            var errs = missing(['id_number', 'si_card_no', 'phone',
                                'captcha_answer']);
            if (errs.length) {
                return ui.showErrors(form, errs);
            }
            var body = identity();
            body.purpose = o.purpose;
            body.captcha_id = cap.captchaId();
            body.captcha_answer = cap.answer();
            act(form, getCode, function () {
                return api.post('/api/sms/send', body);
            }, function (res) {
                if (res.ok) {
                    ticket = res.json.sms_ticket;
                    ui.clearErrors(form);
                    /* the API does not say the phone: the one typed */
                    sent.textContent = ui.t('register.code_sent',
                                            { phone: maskPhone(body.phone) });
                    sent.hidden = false;
                    ui.announce(sent.textContent);
                    countdown.hidden = false;
                    wait(res.json.resend_after || 60);
                    cap.load();
                    fields.sms_code.input.focus();
                    return;
                }
                cap.load();
                if (res.code === 'captcha_invalid') {
                    moved.hidden = true;
                    return ui.showErrors(form, [['captcha_answer',
                                         ui.t('field.error.captcha')]]);
                }
                refused(res);
            });
        });

        form.addEventListener('submit', function (ev) {
            ev.preventDefault();
            if (isBusy(form)) {
                return;
            }
            var errs = missing(['id_number', 'si_card_no', 'phone',
                                'sms_code', 'password', 'password2']);
            if (!errs.length && ui.value(form, 'password')
                                !== ui.value(form, 'password2'))
            {
                errs.push(['password2', ui.t('field.error.mismatch')]);
            }
            if (!errs.length && !ticket) {
                /* a code asked for before a reload: ask for a new one */
                errs.push(['sms_code', ui.t('api.sms_code_invalid')]);
            }
            if (errs.length) {
                return ui.showErrors(form, errs);
            }
            var body = identity();
            body.sms_code = ui.value(form, 'sms_code');
            body.sms_ticket = ticket;
            body.password = form.elements.password.value;
            o.extra(body);
            act(form, submit, function () {
                return api.post(o.path, body);
            }, function (res) {
                if (!o.done(res)) {
                    refused(res);
                }
            });
        });

        ui.page(o.title, form);
        cap.load();
    }

    views.register = function (app) {
        if (!app.state.agreeVersion) {
            return app.go('#/agreement', true);
        }
        identityForm(app, {
            purpose: 'register', title: 'register.title',
            intro: 'register.intro', password: 'register.password',
            password2: 'register.password2', submit: 'register.submit',
            path: '/api/register',
            extra: function (body) {
                body.agree_version = app.state.agreeVersion;
            },
            done: function (res) {
                if (res.status === 201) {
                    ui.flash = ui.t('register.done');
                    app.go('#/login');
                    return true;
                }
                if (res.code === 'agreement_version') {
                    app.state.agreeVersion = null;
                    app.go('#/agreement');
                    return true;
                }
                return false;
            }
        });
    };

    /* ------------------------------------------------------ reset */

    /* A forgotten password, or a phone the school changed: a code to the
     * phone declared now, then a new password.  The reset ends every
     * session of the account, this one too. */
    views.reset = function (app) {
        identityForm(app, {
            purpose: 'reset', title: 'reset.title', intro: 'reset.intro',
            password: 'reset.password', password2: 'reset.password2',
            submit: 'reset.submit', path: '/api/password/reset',
            extra: function () {},
            done: function (res) {
                if (!res.ok) {
                    return false;
                }
                if (app.state.loggedIn) {
                    app.ended('reset.done');
                } else {
                    ui.flash = ui.t('reset.done');
                    app.go('#/login');
                }
                return true;
            }
        });
    };

    /* The school declared another phone than the account's: a reset
     * with the new one lets the parent in again. */
    function newPhoneHint() {
        return h('p', { 'class': 'notice', id: 'new-phone' },
                 ui.t('phone.new_hint'), ' ',
                 ui.link('#/reset', 'phone.new_link'));
    }

    /* ------------------------------------------------------ login */

    views.login = function (app) {
        var cap = null;
        var submit = button('login.submit', { type: 'submit',
                                              'class': 'primary' });
        var form = h('form', { novalidate: true },
            ui.field({ name: 'id_number', label: 'login.id_number',
                       required: true, autocomplete: 'username',
                       attrs: { maxlength: '18' } }),
            ui.field({ name: 'password', label: 'login.password',
                       type: 'password', required: true,
                       autocomplete: 'current-password' }),
            h('div', { id: 'login-captcha' }),
            h('p', { 'class': 'actions' }, submit));
        form.addEventListener('submit', function (ev) {
            ev.preventDefault();
            if (isBusy(form)) {
                return;
            }
            var errs = ['id_number', 'password'].filter(function (n) {
                return !ui.value(form, n);
            }).map(function (n) { return [n, ui.t('field.error.required')]; });
            if (errs.length) {
                return ui.showErrors(form, errs);
            }
            var body = { id_number: ui.value(form, 'id_number'),
                         password: form.elements.password.value };
            if (cap) {
                body.captcha_id = cap.captchaId();
                body.captcha_answer = cap.answer();
            }
            act(form, submit, function () {
                return api.post('/api/login', body);
            }, function (res) {
                if (res.ok) {
                    app.loggedIn(res.json);
                    return app.go('#/home');
                }
                form.elements.password.value = '';
                if ((res.code === 'captcha_required'
                     || res.code === 'captcha_invalid') && !cap)
                {
                    cap = captcha();
                    form.querySelector('#login-captcha').appendChild(cap);
                    cap.load();
                    return ui.showErrors(form, [['captcha_answer',
                        ui.t('login.captcha_needed')]]);
                }
                if (cap) {
                    cap.load();
                }
                ui.showErrors(form, ui.apiErrors(res,
                    { captcha_invalid: 'captcha_answer',
                      captcha_required: 'captcha_answer' }));
            });
        });
        ui.page('login.title', [form,
            h('p', null, ui.link('#/reset', 'login.forgot')),
            h('p', null, ui.t('login.no_account'), ' ',
              ui.link('#/agreement', 'login.register'))]);
    };

    /* ------------------------------------------------------- home */

    views.home = function () {
        load('home.title', function () {
            return [api.get('/api/me')];
        }, function (res) {
            var p = res.ok && res.json.person;
            var menu = h('ul', { 'class': 'tiles' },
                h('li', null, ui.link('#/bank', 'home.menu.bank')),
                h('li', null, ui.link('#/status', 'home.menu.status')),
                h('li', null, ui.link('#/payments', 'home.menu.payments')));
            var facts = p ? [
                h('p', null, ui.t('home.welcome', { name: p.name })),
                ui.dl([['home.name', p.name],
                       ['home.gender', p.gender_text],
                       ['home.birth_date', ui.date(p.birth_date)],
                       ['home.category', p.category_text],
                       ['home.school', p.school],
                       ['home.si_card_no', p.si_card_no_masked],
                       ['home.id_number', p.id_number_masked],
                       ['home.phone', p.phone_masked],
                       ['home.registered_at', ui.date(p.registered_at)]])]
                : res.code === 'phone_not_declared' ? newPhoneHint()
                : h('p', { 'class': 'notice' }, ui.apiMessage(res));
            ui.page('home.title', [facts,
                h('h2', null, ui.t('home.menu_title')), menu]);
        });
    };

    /* ----------------------------------------------------- status */

    /* On a narrow screen the stylesheet stacks each row into a card, a
     * cell under its column's name (data-label); the roles keep it a
     * table for screen readers, which a change of display can undo. */
    function table(captionKey, heads, rows) {
        var names = heads.map(function (k) { return ui.t(k); });
        return h('div', { 'class': 'table-wrap' },
            h('table', { 'class': 'stack', role: 'table' },
              h('caption', null, ui.t(captionKey)),
              h('thead', { role: 'rowgroup' },
                h('tr', { role: 'row' }, names.map(function (n) {
                    return h('th', { scope: 'col', role: 'columnheader' }, n);
                }))),
              h('tbody', { role: 'rowgroup' }, rows.map(function (r) {
                  return h('tr', { role: 'row' }, r.map(function (c, i) {
                      return i === 0
                          ? h('th', { scope: 'row', role: 'rowheader',
                                      'data-label': names[i] }, c)
                          : h('td', { role: 'cell', 'data-label': names[i] },
                              c);
                  }));
              }))));
    }

    function statusBadge(status, text) {
        /* the words carry the meaning; the mark and colour only repeat it */
        var mark = { debited: '✓', failed: '✗', pending: '…',
                     submitted: '…', sent_to_bank: '→' }[status] || '';
        return h('span', { 'class': 'badge badge-' + status },
                 h('span', { 'aria-hidden': 'true' }, mark + ' '), text);
    }

    views.status = function () {
        load('status.title', function () {
            return [api.get('/api/declarations')];
        }, function (res) {
            if (!res.ok) {
                return failPage('status.title', res);
            }
            var list = res.json.declarations || [];
            ui.page('status.title', list.length ? table('status.caption',
                ['status.receipt_no', 'status.submitted_at',
                 'status.applies_to', 'status.status', 'status.reason'],
                list.map(function (d) {
                    return [d.receipt_no, ui.dateTime(d.submitted_at),
                            ui.month(d.applies_to),
                            statusBadge(d.status, d.status_text),
                            d.reason_text || '—'];
                })) : h('p', null, ui.t('status.none')));
        });
    };

    /* --------------------------------------------------- payments */

    views.payments = function () {
        load('payments.title', function () {
            return [api.get('/api/payments')];
        }, function (res) {
            if (!res.ok) {
                return failPage('payments.title', res);
            }
            var list = res.json.payments || [];
            var items = list.map(function (p) {
                var rows = [['payments.amount', ui.yuan(p.amount_cents)],
                            ['payments.status',
                             statusBadge(p.status, p.status_text)]];
                if (p.reason_code) {
                    rows.push(['payments.reason',
                               ui.t('payments.reason.' + p.reason_code)]);
                }
                if (p.advice) {
                    /* the advice names the date to fix it by, or says
                     * that November was the last debit */
                    rows.push(['payments.advice', p.advice]);
                }
                return h('li', { 'class': 'payment payment-' + p.status },
                         h('h2', null, ui.month(p.year, p.month)),
                         ui.dl(rows));
            });
            ui.page('payments.title', [
                h('p', null, ui.t('payments.premium',
                                  { amount: ui.yuan(res.json.premium_cents) })),
                h('p', { 'class': 'hint' }, ui.t('payments.result_day')),
                list.length ? h('ul', { 'class': 'payments' }, items)
                            : h('p', null, ui.t('payments.none'))]);
        });
    };

    views.statusBadge = statusBadge;
    window.csibizViews = views;
}());
