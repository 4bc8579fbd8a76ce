/* csibiz pages: the router (#/view), the session (logged in or not, the
 * CSRF token, the idle warning 2 minutes before the idle timeout), the
 * language switch and the menu. */
(function () {
    'use strict';

    var ui = window.csibizUi;
    var api = window.csibizApi;
    var views = window.csibizViews;
    var h = ui.h;

    var WARN_BEFORE = 120;      /* seconds before the idle timeout */
    var PUBLIC = { start: 1, agreement: 1, register: 1, login: 1,
                   reset: 1 };
    var ROUTES = ['start', 'agreement', 'register', 'login', 'reset', 'home',
                  'bank', 'status', 'payments'];
    var MENU = [['home', 'menu.home'], ['bank', 'menu.bank'],
                ['status', 'menu.status'], ['payments', 'menu.payments']];

    var app = { state: { loggedIn: false }, routes: ROUTES };
    var leave = [];
    var idleTimer = null;
    var retryIn = 15;       /* s to the next check after a failed one */
    var tickTimer = null;
    var lastFocus = null;

    app.onLeave = function (fn) {
        leave.push(fn);
    };

    function route() {
        var m = /^#\/([a-z]+)/.exec(window.location.hash);
        return m && ROUTES.indexOf(m[1]) >= 0 ? m[1] : 'start';
    }

    app.go = function (hash, replace) {
        if (window.location.hash === hash) {
            return app.render();
        }
        if (replace) {
            window.location.replace(hash);
        } else {
            window.location.hash = hash;
        }
    };

    app.render = function () {
        var name = route();
        leave.forEach(function (fn) { fn(); });
        leave = [];
        if (!app.state.loggedIn && !PUBLIC[name]) {
            return app.go('#/login', true);
        }
        if (app.state.loggedIn && (name === 'start' || name === 'login')) {
            return app.go('#/home', true);
        }
        menu(name);
        views[name](app);
    };

    /* ----------------------------------------------------- chrome */

    function chrome() {
        document.documentElement.lang = ui.lang;
        document.getElementById('skip-link').textContent = ui.t('site.skip');
        document.getElementById('brand').textContent = ui.t('site.name');
        document.getElementById('footer-text').textContent =
            ui.t('site.footer');
        document.getElementById('menu-label').textContent = ui.t('menu.label');
        var sw = document.getElementById('lang-switch');
        sw.textContent = ui.t('lang.switch');
        sw.setAttribute('lang', ui.t('lang.switch.code'));
        document.getElementById('idle-title').textContent =
            ui.t('idle.title');
        document.getElementById('idle-stay').textContent = ui.t('idle.stay');
        document.getElementById('idle-logout').textContent =
            ui.t('idle.logout');
    }

    function menu(current) {
        var nav = document.getElementById('menu');
        var list = document.getElementById('menu-list');
        list.textContent = '';
        nav.hidden = !app.state.loggedIn;
        if (!app.state.loggedIn) {
            return;
        }
        MENU.forEach(function (m) {
            list.appendChild(h('li', null, h('a', {
                href: '#/' + m[0],
                'aria-current': m[0] === current ? 'page' : null
            }, ui.t(m[1]))));
        });
        list.appendChild(h('li', null, h('button', {
            type: 'button', 'class': 'link-button', id: 'logout',
            onclick: function () { logout('login.logged_out'); }
        }, ui.t('menu.logout'))));
    }

    function setLang(lang) {
        ui.lang = api.lang = lang;
        try {
            window.localStorage.setItem('csibiz-lang', lang);
        } catch (e) {
            /* private mode: the choice lasts for this page */
        }
        chrome();
    }

    /* ---------------------------------------------------- session */

    app.loggedIn = function (s) {
        app.state.loggedIn = true;
        api.csrf = s.csrf_token;
        schedule(s.expires_in || s.idle_timeout);
    };

    function ended(flashKey) {
        var was = app.state.loggedIn;
        app.state.loggedIn = false;
        api.csrf = null;
        window.clearTimeout(idleTimer);
        hideWarning(false);
        if (was) {
            ui.flash = ui.t(flashKey || 'login.session_ended');
            app.go('#/login');
        }
    }

    app.ended = ended;

    function logout(flashKey) {
        api.post('/api/logout').then(function () {
            ended(flashKey);
        });
    }

    /* Asks the server how long the session has left (GET does not
     * extend it) and warns WARN_BEFORE seconds before the end. */
    function refresh() {
        return api.get('/api/session').then(function (res) {
            if (!res.ok) {
                /* a failed check (outage, network) asks again later,
                 * backing off to 5 minutes: never every second */
                retryIn = Math.min(retryIn * 2, 300);
                window.clearTimeout(idleTimer);
                idleTimer = window.setTimeout(refresh, retryIn * 1000);
                return;
            }
            retryIn = 15;
            if (!res.json.logged_in) {
                return ended();
            }
            api.csrf = res.json.csrf_token;
            if (res.json.expires_in <= WARN_BEFORE) {
                showWarning(res.json.expires_in);
            } else {
                /* extended meanwhile (another tab): no warning now */
                hideWarning(true);
                schedule(res.json.expires_in);
            }
        });
    }

    function schedule(expiresIn) {
        window.clearTimeout(idleTimer);
        idleTimer = window.setTimeout(refresh,
            Math.max(1, expiresIn - WARN_BEFORE) * 1000);
    }

    function showWarning(seconds) {
        var box = document.getElementById('idle-warning');
        var text = document.getElementById('idle-text');
        var left = seconds;
        var first = box.hidden;
        window.clearInterval(tickTimer);
        function tick() {
            text.textContent = ui.t('idle.text', { s: Math.max(0, left) });
            if (left <= 0) {
                window.clearInterval(tickTimer);
                refresh();
            }
            left -= 1;
        }
        tick();
        tickTimer = window.setInterval(tick, 1000);
        if (first) {
            lastFocus = document.activeElement;
            box.hidden = false;
            ['main', 'menu', 'skip-link'].forEach(function (id) {
                document.getElementById(id).setAttribute('inert', '');
            });
            document.getElementById('idle-stay').focus();
        }
    }

    function hideWarning(restore) {
        var box = document.getElementById('idle-warning');
        window.clearInterval(tickTimer);
        if (box.hidden) {
            return;
        }
        box.hidden = true;
        ['main', 'menu', 'skip-link'].forEach(function (id) {
            document.getElementById(id).removeAttribute('inert');
        });
        if (restore && lastFocus && document.contains(lastFocus)) {
            lastFocus.focus();
        } else if (restore) {
            document.getElementById('main').focus();
        }
    }

    function stay() {
        api.post('/api/session').then(function (res) {
            if (res.ok) {
                hideWarning(true);
                ui.announce(ui.t('idle.extended'));
                refresh();
            }
        });
    }

    function dialogKeys(ev) {
        var stayB = document.getElementById('idle-stay');
        var outB = document.getElementById('idle-logout');
        if (ev.key === 'Escape') {
            ev.preventDefault();
            stay();
        } else if (ev.key === 'Tab') {
            /* keep the focus in the dialog while it is open */
            ev.preventDefault();
            (document.activeElement === stayB ? outB : stayB).focus();
        }
    }

    /* ------------------------------------------------------- start */

    function start() {
        var saved = null;
        try {
            saved = window.localStorage.getItem('csibiz-lang');
        } catch (e) {
            saved = null;
        }
        setLang(saved === 'en' ? 'en' : 'zh-CN');
        document.getElementById('lang-switch').addEventListener('click',
            function () {
                setLang(ui.lang === 'en' ? 'zh-CN' : 'en');
                app.render();
                ui.announce(ui.t('lang.name'));
            });
        document.getElementById('idle-stay').addEventListener('click', stay);
        document.getElementById('idle-logout').addEventListener('click',
            function () { logout('login.logged_out'); });
        document.getElementById('idle-warning').addEventListener('keydown',
                                                                 dialogKeys);
        api.onLoggedOut = function () { ended(); };
        api.onActivity = function (path) {
            if (app.state.loggedIn && path !== '/api/session'
                && path !== '/api/logout')
            {
                refresh();
            }
        };
        window.addEventListener('hashchange', app.render);
        api.get('/api/session').then(function (res) {
            if (res.ok && res.json.logged_in) {
                app.loggedIn(res.json);
            }
            app.render();
        });
    }

    window.csibizApp = app;
    start();
}());
