/* csibiz pages: DOM helpers shared by the views.  Elements are built
 * with ui.h() (never innerHTML: text from the API stays text), form
 * fields with ui.field(), errors shown inline with ui.showErrors(). */
(function () {
    'use strict';

    var ui = { lang: 'zh-CN' };
    var seq = 0;

    ui.t = function (key, args) {
        var cat = window.CSIBIZ_MESSAGES[ui.lang] || {};
        var s = cat[key];
        if (s === undefined) {
            s = (window.CSIBIZ_MESSAGES['zh-CN'] || {})[key];
        }
        if (s === undefined) {
            return key;
        }
        return s.replace(/\{(\w+)\}/g, function (m, name) {
            return args && args[name] !== undefined ? String(args[name]) : m;
        });
    };
    ui.has = function (key) {
        return (window.CSIBIZ_MESSAGES[ui.lang] || {})[key] !== undefined;
    };

    /* h('p', {class: 'x', id: 'y', onclick: fn}, child, 'text', [more]) */
    ui.h = function (tag, attrs) {
        var el = document.createElement(tag);
        var k, i;
        for (k in attrs || {}) {
            if (attrs[k] === null || attrs[k] === undefined
                || attrs[k] === false)
            {
                continue;
            }
            if (k.slice(0, 2) === 'on') {
                el.addEventListener(k.slice(2), attrs[k]);
            } else if (attrs[k] === true) {
                el.setAttribute(k, '');
            } else {
                el.setAttribute(k, attrs[k]);
            }
        }
        function add(c) {
            if (c === null || c === undefined || c === false) {
                return;
            }
            if (Array.isArray(c)) {
                c.forEach(add);
            } else if (typeof c === 'object') {
                el.appendChild(c);
            } else {
                el.appendChild(document.createTextNode(String(c)));
            }
        }
        for (i = 2; i < arguments.length; i++) {
            add(arguments[i]);
        }
        return el;
    };

    ui.uid = function (base) {
        seq += 1;
        return base + '-' + seq;
    };

    /* Replaces the page: the title, <main>'s content, focus on the h1 so
     * that a screen reader starts reading the new page (not for the first
     * page loaded: the browser starts at the top, the skip link first). */
    ui.page = function (titleKey, content, opts) {
        var main = document.getElementById('main');
        var title = ui.t(titleKey);
        var h1 = ui.h('h1', { tabindex: '-1', id: 'page-title' }, title);
        main.textContent = '';
        main.removeAttribute('aria-busy');
        main.appendChild(h1);
        if (ui.flash) {
            main.appendChild(ui.h('div', { 'class': 'notice', role: 'status' },
                                  ui.h('p', null, ui.flash)));
            ui.flash = null;
        }
        main.appendChild(ui.h('div', null, content));
        document.title = title + ' - ' + ui.t('site.name');
        if (ui.loaded && !(opts && opts.noFocus)) {
            h1.focus();
        }
        ui.loaded = true;
        ui.pageSeq = (ui.pageSeq || 0) + 1;
        window.scrollTo(0, 0);
        return main;
    };

    ui.announce = function (text) {
        var a = document.getElementById('announcer');
        a.textContent = '';
        window.setTimeout(function () { a.textContent = text; }, 50);
    };

    /* A labelled field: {name, label, hint, type, required, value,
     * autocomplete, inputmode, options: [[value, label, disabled]],
     * radios: [[value, label, hint]], attrs}.  Returns the wrapper, with
     * .input (or the first radio) for the caller. */
    ui.field = function (f) {
        var id = 'f-' + f.name;
        var hintId = id + '-hint';
        var errId = id + '-error';
        var wrap = ui.h('div', { 'class': 'field', 'data-field': f.name });
        var label = [ui.t(f.label),
                     f.required ? ui.h('span', { 'class': 'req' },
                                       ' ' + ui.t('common.required')) : null];
        var hint = f.hint ? ui.h('p', { 'class': 'hint', id: hintId },
                                 ui.t(f.hint)) : null;
        var err = ui.h('p', { 'class': 'error', id: errId, hidden: true });
        var input, k;

        /* a changed answer is no longer the one refused: its error goes
         * (the summary stays until the next submit) */
        function changed() {
            if (wrap.classList.contains('has-error')) {
                clearField(wrap);
            }
        }
        wrap.addEventListener('input', changed);
        wrap.addEventListener('change', changed);

        if (f.radios) {
            var fs = ui.h('fieldset', { 'class': 'radios',
                                        'aria-describedby': hint ? hintId : null });
            fs.appendChild(ui.h('legend', null, label));
            if (hint) {
                fs.appendChild(hint);
            }
            fs.appendChild(err);
            f.radios.forEach(function (r) {
                var rid = id + '-' + r[0];
                var rh = r[2] ? ui.h('span', { 'class': 'hint', id: rid + '-hint' },
                                     ui.t(r[2])) : null;
                var rb = ui.h('input', { type: 'radio', name: f.name, id: rid,
                                         value: r[0],
                                         'aria-describedby': rh ? rid + '-hint' : null,
                                         checked: f.value === r[0] });
                if (!input) {
                    input = rb;
                }
                fs.appendChild(ui.h('div', { 'class': 'radio' }, rb,
                    ui.h('label', { 'for': rid }, ui.t(r[1])), rh));
            });
            wrap.appendChild(fs);
            wrap.input = input;
            wrap.errorEl = err;
            return wrap;
        }

        wrap.appendChild(ui.h('label', { 'for': id }, label));
        if (hint) {
            wrap.appendChild(hint);
        }
        wrap.appendChild(err);
        if (f.options) {
            input = ui.h('select', { id: id, name: f.name });
            f.options.forEach(function (o) {
                input.appendChild(ui.h('option', { value: o[0],
                                                   disabled: !!o[2],
                                                   selected: f.value === o[0] },
                                       o[1]));
            });
        } else if (f.type === 'textarea') {
            input = ui.h('textarea', { id: id, name: f.name, rows: 3 });
            input.value = f.value || '';
        } else {
            input = ui.h('input', { id: id, name: f.name,
                                    type: f.type || 'text',
                                    autocomplete: f.autocomplete || 'off',
                                    inputmode: f.inputmode || null,
                                    spellcheck: 'false' });
            input.value = f.value || '';
        }
        if (f.required) {
            input.setAttribute('aria-required', 'true');
        }
        for (k in f.attrs || {}) {
            input.setAttribute(k, f.attrs[k]);
        }
        input.setAttribute('aria-describedby', hint ? hintId : '');
        wrap.appendChild(input);
        wrap.input = input;
        wrap.errorEl = err;
        return wrap;
    };

    ui.value = function (form, name) {
        var el = form.elements[name];
        if (!el) {
            return '';
        }
        if (el.length !== undefined && el.tagName !== 'SELECT') {
            var i;
            for (i = 0; i < el.length; i++) {
                if (el[i].checked) {
                    return el[i].value;
                }
            }
            return '';
        }
        if (el.type === 'checkbox') {
            return el.checked;
        }
        return el.value.trim();
    };

    /* The text for a field's error reason: the field's own, the
     * reason's, or the API's message. */
    ui.reasonText = function (field, reason, fallback) {
        if (ui.has('field.error.' + field + '.' + reason)) {
            return ui.t('field.error.' + field + '.' + reason);
        }
        if (ui.has('field.error.' + reason)) {
            return ui.t('field.error.' + reason);
        }
        return fallback || ui.t('field.error.format');
    };

    /* one field (its wrapper) back to no error */
    function clearField(w) {
        var e = w.querySelector('.error');
        e.hidden = true;
        e.textContent = '';
        w.classList.remove('has-error');
        Array.prototype.forEach.call(
            w.querySelectorAll('input, select, textarea, fieldset'),
            function (i) {
                i.removeAttribute('aria-invalid');
                var d = (i.getAttribute('aria-describedby') || '')
                        .split(' ').filter(function (x) {
                            return x && x !== e.id;
                        });
                i.setAttribute('aria-describedby', d.join(' '));
            });
    }

    ui.clearErrors = function (form) {
        Array.prototype.forEach.call(
            form.querySelectorAll('.error-summary, .retry-box'),
            function (old) { old.parentNode.removeChild(old); });
        Array.prototype.forEach.call(form.querySelectorAll('.field'),
                                     clearField);
    };

    /* errors: [[field name or null, text]].  Each text goes next to its
     * field (aria-invalid, aria-describedby) and into a summary at the top
     * of the form, which takes the focus and is announced (role=alert). */
    ui.showErrors = function (form, errors) {
        ui.clearErrors(form);
        if (!errors.length) {
            return;
        }
        var list = ui.h('ul');
        errors.forEach(function (e) {
            var w = e[0] && form.querySelector('.field[data-field="'
                                               + e[0] + '"]');
            var target = null;
            if (w && !w.closest('[hidden]')) {
                var err = w.querySelector('.error');
                err.textContent = '';
                err.appendChild(ui.h('span', { 'class': 'error-prefix' },
                                     ui.t('common.error_prefix')));
                err.appendChild(document.createTextNode(e[1]));
                err.hidden = false;
                w.classList.add('has-error');
                Array.prototype.forEach.call(
                    w.querySelectorAll('input, select, textarea'),
                    function (i) {
                        i.setAttribute('aria-invalid', 'true');
                        var d = i.getAttribute('aria-describedby') || '';
                        i.setAttribute('aria-describedby',
                                       (err.id + ' ' + d).trim());
                    });
                target = w.querySelector('input, select, textarea');
            }
            var item = target
                ? ui.h('a', { href: '#' + target.id, onclick: function (ev) {
                      ev.preventDefault();
                      target.focus();
                  } }, e[1])
                : e[1];
            list.appendChild(ui.h('li', null, item));
        });
        var box = ui.h('div', { 'class': 'error-summary', role: 'alert',
                                tabindex: '-1' },
                       ui.h('h2', null, ui.t('common.errors_title',
                                             { n: errors.length })),
                       list);
        form.insertBefore(box, form.firstChild);
        box.focus();
    };

    /* Errors of an API answer: the fields of a 400 invalid, else the
     * general message (ours for known codes, else the API's). */
    ui.apiErrors = function (res, codeField) {
        var out = [];
        var f, code = res.code;
        var err = res.json && res.json.error;
        if (code === 'invalid' && err && err.fields) {
            for (f in err.fields) {
                /* a non-debitable account comes with the why */
                out.push([f, err.fields[f] === 'non_debitable' && err.reason
                             ? err.reason : ui.reasonText(f, err.fields[f])]);
            }
            return out;
        }
        out.push([codeField && codeField[code] || null, ui.apiMessage(res)]);
        return out;
    };

    ui.apiMessage = function (res) {
        var err = res.json && res.json.error;
        var retry = res.json && res.json.retry_after;
        if (res.status === 0) {
            return ui.t(res.code === 'timeout' ? 'common.timeout'
                                               : 'common.network');
        }
        if (res.code && ui.has('api.' + res.code)) {
            return ui.t('api.' + res.code,
                        { s: retry, m: Math.ceil((retry || 60) / 60) });
        }
        if (res.status === 404) {
            return ui.t('common.unavailable');
        }
        if (err && err.message) {
            return err.message;
        }
        return ui.t('common.busy');
    };

    /* "2026-09-05T00:00:00+08:00" or "2026-09-05" -> a date in words;
     * minusDay for an exclusive end (closes_at is the first moment after). */
    ui.date = function (iso, minusDay) {
        var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
        if (!m) {
            return iso || '';
        }
        var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
        if (minusDay) {
            d = new Date(d.getTime() - 86400000);
        }
        var months = ui.t('common.months').split(',');
        return ui.t('common.date', { y: d.getUTCFullYear(),
                                     m: d.getUTCMonth() + 1,
                                     d: d.getUTCDate(),
                                     mon: months[d.getUTCMonth()] });
    };

    ui.dateTime = function (iso) {
        var m = /T(\d{2}:\d{2})/.exec(iso || '');
        return ui.date(iso) + (m ? ' ' + m[1] : '');
    };

    /* "2026-09" or (2026, 9) -> a month in words */
    ui.month = function (y, mo) {
        if (typeof y === 'string') {
            var m = /^(\d{4})-(\d{2})/.exec(y);
            if (!m) {
                return y;
            }
            y = +m[1];
            mo = +m[2];
        }
        var months = ui.t('common.months').split(',');
        return ui.t('common.month', { y: y, m: mo, mon: months[mo - 1] });
    };

    ui.yuan = function (cents) {
        return ui.t('common.yuan', { amount: (cents / 100).toFixed(2) });
    };

    /* a definition list from [[label key, value]] (null values skipped) */
    ui.dl = function (rows) {
        var dl = ui.h('dl', { 'class': 'facts' });
        rows.forEach(function (r) {
            if (r[1] === null || r[1] === undefined || r[1] === '') {
                return;
            }
            dl.appendChild(ui.h('div', null, ui.h('dt', null, ui.t(r[0])),
                                ui.h('dd', null, r[1])));
        });
        return dl;
    };

    ui.link = function (href, key, cls) {
        return ui.h('a', { href: href, 'class': cls || null }, ui.t(key));
    };

    window.csibizUi = ui;
}());
