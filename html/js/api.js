/* csibiz pages: the API client.  JSON in and out, the page's language in
 * Accept-Language, and the session's CSRF token on every write (see
 * docs/api.md, "Sessions and CSRF").  Answers resolve to
 * {status, ok, json, code}; a network failure to {status: 0, code:
 * 'network'}, no answer within api.timeoutMs to {status: 0, code:
 * 'timeout'} (the request is aborted). */
(function () {
    'use strict';

    var api = {
        csrf: null,         /* the session's token, from login or GET */
        lang: 'zh-CN',
        onActivity: null,   /* called after every answered write */
        onLoggedOut: null,  /* called on 401 not_logged_in */
        /* the one client timeout of every request: a phone on a bad
         * network is told and offered a retry rather than left waiting */
        timeoutMs: 15000
    };

    /* an answer not worth reading as the API's: no answer, or a gateway
     * or backend outage; the pages offer to repeat the action */
    api.retriable = function (res) {
        return res.status === 0 || res.status >= 500;
    };

    function request(method, path, body, headers) {
        var h = {
            'Accept': 'application/json',
            'Accept-Language': api.lang === 'en' ? 'en' : 'zh-CN,zh;q=0.9'
        };
        var k;
        if (method !== 'GET') {
            if (api.csrf) {
                h['X-CSRF-Token'] = api.csrf;
            }
        }
        if (body !== undefined) {
            h['Content-Type'] = 'application/json';
        }
        for (k in headers || {}) {
            h[k] = headers[k];
        }
        return new Promise(function (resolve) {
            var ctl = window.AbortController ? new window.AbortController()
                                             : null;
            var done = false;
            /* without AbortController a late answer is only ignored */
            var timer = window.setTimeout(function () {
                finish({ status: 0, ok: false, json: null, code: 'timeout' });
                if (ctl) {
                    ctl.abort();
                }
            }, api.timeoutMs);

            function finish(out) {
                if (!done) {
                    done = true;
                    window.clearTimeout(timer);
                    resolve(out);
                }
            }

            fetch(path, {
                method: method,
                headers: h,
                credentials: 'same-origin',
                cache: 'no-store',
                signal: ctl ? ctl.signal : undefined,
                body: body === undefined ? undefined : JSON.stringify(body)
            }).then(function (res) {
                return res.text().then(function (text) {
                    var json = null;
                    try {
                        json = text ? JSON.parse(text) : null;
                    } catch (e) {
                        json = null;
                    }
                    return { status: res.status, ok: res.ok, json: json,
                             code: json && json.error ? json.error.code
                                                      : null };
                });
            }).then(function (out) {
                if (done) {
                    return;
                }
                if (method !== 'GET' && api.onActivity && out.status < 500) {
                    api.onActivity(path, out);
                }
                if (out.code === 'not_logged_in' && api.onLoggedOut) {
                    api.onLoggedOut();
                }
                finish(out);
            }, function () {
                finish({ status: 0, ok: false, json: null, code: 'network' });
            });
        });
    }

    api.get = function (path) {
        return request('GET', path);
    };
    api.post = function (path, body) {
        return request('POST', path, body === undefined ? {} : body);
    };
    api.put = function (path, body, headers) {
        return request('PUT', path, body, headers);
    };

    /* a key for PUT /api/account: 128 random bits in hex */
    api.newKey = function () {
        var a = new Uint8Array(16);
        var s = '';
        var i;
        window.crypto.getRandomValues(a);
        for (i = 0; i < a.length; i++) {
            s += (a[i] < 16 ? '0' : '') + a[i].toString(16);
        }
        return s;
    };

    window.csibizApi = api;
}());
