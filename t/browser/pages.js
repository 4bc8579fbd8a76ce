#!/usr/bin/env node
/* Browser tests of the csibiz pages (html/), driven by t/060-pages.t:
 * headless Chromium (Debian's /usr/bin/chromium) through playwright-core.
 * Each check is printed as one JSON line {"ok":…,"name":…,"diag":…},
 * which the .t file turns into TAP.  With --screenshots DIR every page is
 * also saved at 360 px and 1280 px wide (tools/screenshots).
 *
 *   node t/browser/pages.js --base http://127.0.0.1:2003 --redis-port 6503 \
 *       --scenario journey --children '[{…},{…}]'
 */
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const USAGE = `usage: pages.js --base URL --redis-port N --scenario NAME
                --children JSON [--screenshots DIR] [--chromium PATH]
scenarios: journey (both payer cases, a bad card number, the English
switch), closed (the window is closed), idle (the idle warning), reset
(the school's new phone: the hint, the password reset, the new login),
slow (working, timeout, retry: the backend slowed or cut off by request
interception), narrow (360 px: nothing scrolls sideways)`;

function args() {
    const a = { chromium: '/usr/bin/chromium' };
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        if (k === '--help' || k === '-h') {
            console.log(USAGE);
            process.exit(0);
        }
        const m = /^--([a-z-]+)$/.exec(k);
        if (!m || i + 1 >= argv.length) {
            console.error(`pages.js: bad argument ${k}\n${USAGE}`);
            process.exit(2);
        }
        a[m[1].replace(/-/g, '_')] = argv[++i];
    }
    for (const k of ['base', 'redis_port', 'scenario', 'children']) {
        if (!a[k]) {
            console.error(`pages.js: --${k.replace(/_/g, '-')} is required\n`
                          + USAGE);
            process.exit(2);
        }
    }
    a.children = JSON.parse(a.children);
    return a;
}

const A = args();
let failed = 0;

function report(ok, name, diag) {
    if (!ok) {
        failed++;
    }
    process.stdout.write(JSON.stringify({ ok: !!ok, name, diag: diag || '' })
                         + '\n');
}

function redis(...cmd) {
    return execFileSync('redis-cli', ['-p', String(A.redis_port), '--raw',
                                      ...cmd], { encoding: 'utf8' });
}

function redisKeys(pattern) {
    return redis('KEYS', pattern).split('\n').filter(Boolean);
}

/* the latest SMS code sent to a phone, from the outbox stream */
function smsCode(phone) {
    const lines = redis('XRANGE', 'csibiz:sms:outbox', '-', '+').split('\n');
    let code = null;
    let who = null;
    for (let i = 0; i < lines.length - 1; i++) {
        if (lines[i] === 'phone') {
            who = lines[i + 1];
        } else if (lines[i] === 'code' && who === phone) {
            code = lines[i + 1];
        }
    }
    return code;
}

/* the answer of the captcha the page shows: the one key that appeared
 * in Redis since `before` */
async function captchaAnswer(page, before) {
    await page.waitForFunction(() => {
        const img = document.querySelector('.captcha-img');
        return img && img.src.startsWith('data:image/png');
    });
    for (let i = 0; i < 50; i++) {
        const now = redisKeys('csibiz:captcha:*').filter(k => !before.has(k));
        if (now.length === 1) {
            return redis('GET', now[0]).trim();
        }
        await page.waitForTimeout(100);
    }
    throw new Error('no new captcha key in Redis');
}

async function shot(page, name) {
    if (!A.screenshots) {
        return;
    }
    const vp = page.viewportSize();
    for (const w of [360, 1280]) {
        await page.setViewportSize({ width: w, height: w === 360 ? 740 : 800 });
        await page.waitForTimeout(100);
        await page.screenshot({ path: path.join(A.screenshots,
                                                `${name}-${w}.png`),
                                fullPage: true });
    }
    await page.setViewportSize(vp);
}

/* The accessibility audit: axe-core (npm, t/browser) run in the page as
 * it is (evaluated through the DevTools protocol, which the pages' CSP
 * does not govern); a serious or critical violation fails.  Each audit
 * names the view (#/route) it saw: t/060 checks that every route of the
 * app was audited.  Lesser findings are printed, not failed. */
let AXE = null;
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa',
                  'best-practice'];

async function audit(page, name) {
    if (AXE === null) {
        AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    }
    if (!await page.evaluate(() => !!window.axe)) {
        await page.evaluate(AXE);
    }
    const r = await page.evaluate(tags => window.axe.run(document, {
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations']
    }).then(res => ({
        route: (/^#\/([a-z]+)/.exec(location.hash) || [0, 'start'])[1],
        violations: res.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')
                                         + ': ' + n.failureSummary)
        }))
    })), AXE_TAGS);
    const bad = r.violations.filter(v => v.impact === 'serious'
                                         || v.impact === 'critical');
    const say = vs => vs.map(v => `${v.impact} ${v.id}: ${v.help}\n  `
                                  + v.nodes.join('\n  ')).join('\n');
    process.stdout.write(JSON.stringify({
        ok: bad.length === 0, audit: r.route,
        name: `a11y ${name} (#/${r.route}): no serious or critical `
              + 'violation (axe-core)',
        diag: say(bad) }) + '\n');
    if (bad.length) {
        failed++;
    }
    const minor = r.violations.filter(v => bad.indexOf(v) < 0);
    if (minor.length && process.env.CSIBIZ_AXE_VERBOSE) {
        console.error(`a11y ${name}: ${say(minor)}`);
    }
}

/* a view worth looking at: audited, and saved by tools/screenshots */
async function view(page, name) {
    await audit(page, name);
    await shot(page, name);
}

async function h1(page) {
    return (await page.locator('h1').first().textContent()).trim();
}

async function waitH1(page, text) {
    /* a view that loads shows its title at once: wait for its answers */
    await page.waitForFunction(t => {
        const h = document.querySelector('main h1');
        return h && h.textContent.trim() === t
               && !document.getElementById('main').hasAttribute('aria-busy');
    }, text, { timeout: 20000 });
}

async function focusedIs(page, selector) {
    return page.evaluate(s => document.activeElement
                              && document.activeElement.matches(s), selector);
}

async function session(page) {
    return page.evaluate(() => fetch('/api/session').then(r => r.json()));
}

/* ----------------------------------------------------------- steps */

async function register(page, c, check) {
    await page.goto(A.base + '/');
    await waitH1(page, '学生儿童医疗保险自助服务');
    if (check) {
        await page.keyboard.press('Tab');
        report(await focusedIs(page, '#skip-link')
               && await page.locator('#skip-link').isVisible(),
               'keyboard: the first Tab shows the skip link');
        await view(page, '01-start');
    }
    await page.getByRole('link', { name: '我要注册' }).click();
    await waitH1(page, '用户协议');
    const agree = page.getByRole('button', { name: '我同意，开始注册' });
    if (check) {
        report(/协议版本：\S+/.test(await page.locator('main').textContent()),
               'agreement: the version is shown');
        await agree.click();
        const err = page.locator('.error-summary');
        report(await err.isVisible() && /请先勾选/.test(await err.textContent()),
               'agreement: not ticked, an error says so');
        report(await focusedIs(page, '.error-summary'),
               'agreement: the error summary has the focus');
        await view(page, '02-agreement');
    }
    await page.getByLabel('我已阅读并同意以上用户协议').check();
    const before = new Set(redisKeys('csibiz:captcha:*'));
    await agree.click();
    await waitH1(page, '注册');
    let answer = await captchaAnswer(page, before);
    if (check) {
        /* the refresh button: a new picture, the old one is not used */
        const first = await page.locator('.captcha-img').getAttribute('src');
        const b2 = new Set(redisKeys('csibiz:captcha:*'));
        await page.getByRole('button', { name: '看不清，换一张' }).click();
        await page.waitForFunction(s => document.querySelector('.captcha-img')
                                        .src !== s, first);
        answer = await captchaAnswer(page, b2);
        report(true, 'register: the captcha refresh shows a new picture');
        report(/12333/.test(await page.locator('#captcha-help').textContent()),
               'register: the captcha names an alternative route');
        await page.getByRole('button', { name: '获取短信验证码' }).click();
        const errs = await page.locator('.field.has-error').count();
        report(errs === 4, 'register: "get code" on an empty form: '
                           + '4 fields in error', `${errs}`);
        await page.locator('summary').click();
        report(await page.locator('.card-hint img').isVisible(),
               'register: the card picture hint opens');
    }
    await page.getByLabel('孩子的身份证号').fill(c.id);
    await page.getByLabel('社保卡号').fill(c.card);
    await page.getByLabel('孩子在学校申报的手机号码').fill(c.phone);
    await page.getByLabel('图形验证码').fill(answer.toLowerCase());
    await page.getByRole('button', { name: '获取短信验证码' }).click();
    await page.locator('#code-wait').waitFor({ state: 'visible' });
    const wait = await page.locator('#code-wait').textContent();
    report(/\d+ 秒后可重新获取/.test(wait),
           `register ${c.payer}: the code is sent, a countdown runs`, wait);
    const code = smsCode(c.phone);
    report(/^\d{6}$/.test(code || ''), `register ${c.payer}: an SMS code`);
    await page.getByLabel('短信验证码').fill(code);
    await page.getByLabel('设置登录密码').fill(c.pw);
    report(/较强|一般/.test(await page.locator('#pw-strength').textContent()),
           `register ${c.payer}: the strength hint follows the password`);
    await page.getByLabel('再次输入登录密码').fill(c.pw);
    if (check) {
        await view(page, '03-register');
    }
    await page.getByRole('button', { name: '提交注册' }).click();
    await waitH1(page, '登录');
    report(/注册成功/.test(await page.locator('main').textContent()),
           `register ${c.payer}: registered, on to the login page`);
}

async function login(page, c, check) {
    if (!/#\/login/.test(page.url())) {
        await page.goto(A.base + '/#/login');
        await waitH1(page, '登录');
    }
    await page.getByLabel('孩子的身份证号').fill(c.id);
    if (check) {
        await page.getByLabel('登录密码').fill('not the password at all');
        await page.getByLabel('登录密码').press('Enter');
        await page.locator('.error-summary').waitFor();
        report(/身份证号或密码不正确/.test(
                   await page.locator('.error-summary').textContent()),
               'login: a wrong password is refused, said in words');
        await view(page, '04-login');
    }
    /* keyboard only: type, Enter */
    await page.getByLabel('登录密码').fill(c.pw);
    await page.getByLabel('登录密码').press('Enter');
    await waitH1(page, '孩子的基本信息');
    report(true, `login ${c.payer}: the home page`);
}

async function bankForm(page) {
    await page.getByRole('navigation').getByRole('link',
        { name: '缴费银行账户' }).click();
    await waitH1(page, '缴费银行账户');
}

async function journeySelf(page, c) {
    await register(page, c, true);
    await login(page, c, true);
    const main = await page.locator('main').textContent();
    report(main.includes(c.name.slice(0, 1)) && main.includes('DEM')
           || main.includes(c.name_masked || c.name),
           'home: the child\'s basic information', main.slice(0, 200));
    await view(page, '05-home');

    await bankForm(page);
    report(/还没有登记银行账户/.test(await page.locator('main').textContent()),
           'bank: no account yet');
    await view(page, '06-bank-form');
    /* keyboard: Space on the focused radio */
    await page.locator('#f-payer-self').focus();
    await page.keyboard.press('Space');
    report(await page.locator('#f-payer-self').isChecked(),
           'keyboard: the payer is chosen with Space');
    report(await page.locator('#relative').isHidden(),
           'bank self: no relative fields');
    report(await page.locator('[data-field="account_no_confirm"]').isHidden(),
           'bank card: no second entry of the number');
    /* a bad card number: the bank is filled in, the API refuses the
     * check digit, the error is shown at the field */
    await page.getByLabel('银行卡号').fill(c.bad_card);
    report(await page.locator('#f-bank').inputValue() === 'ICBC',
           'bank: filled in from the card\'s first digits');
    report(/中国工商银行/.test(await page.locator('#bank-detected')
                                          .textContent()),
           'bank: the choice is said in words');
    await page.getByRole('button', { name: '下一步：核对信息' }).click();
    await waitH1(page, '核对信息');
    await page.getByRole('button', { name: '确认提交' }).click();
    await waitH1(page, '缴费银行账户');
    const err = page.locator('#f-account_no-error');
    await err.waitFor();
    report(/错误：卡号不正确/.test(await err.textContent()),
           'bank: a bad card number, the error inline at the field',
           await err.textContent());
    report(await page.locator('#f-account_no').getAttribute('aria-invalid')
           === 'true', 'bank: the field is aria-invalid');
    report((await page.locator('#f-account_no')
                .getAttribute('aria-describedby')).includes(
                    'f-account_no-error'),
           'bank: the error is the field\'s description');
    report(await focusedIs(page, '.error-summary'),
           'bank: the error summary has the focus');
    await view(page, '06b-bank-error');
    await page.getByLabel('银行卡号').fill(c.card_no);
    report(await err.isHidden() && await page.locator('#f-account_no')
               .getAttribute('aria-invalid') === null,
           'bank: the field\'s error goes when the field changes');
    await page.getByRole('button', { name: '下一步：核对信息' }).click();
    await waitH1(page, '核对信息');
    const dl = await page.locator('.facts').textContent();
    report(dl.includes(c.card_no.replace(/(\d{4})(?=\d)/g, '$1 '))
           && dl.includes('中国工商银行') && dl.includes('孩子本人'),
           'check: the answers to check', dl);
    await view(page, '07-bank-check');
    await page.getByRole('button', { name: '确认提交' }).click();
    await waitH1(page, '提交成功');
    const rec = await page.locator('main').textContent();
    report(/R\d{8}-\d+/.test(rec) && rec.includes('2026年10月的扣款'),
           'receipt: the number and the debit it applies to', rec);
    report(rec.includes('尾号 ' + c.card_no.slice(-4)),
           'receipt: the account, last 4 digits only');
    await view(page, '08-receipt');
    c.receipt = /R\d{8}-\d+/.exec(rec)[0];

    await page.getByRole('navigation').getByRole('link',
        { name: '申报状态' }).click();
    await waitH1(page, '申报状态');
    report((await page.locator('main').textContent()).includes(c.receipt),
           'status: the declaration is listed');
    await view(page, '09-status');

    await page.getByRole('navigation').getByRole('link',
        { name: '缴费情况' }).click();
    await waitH1(page, '缴费情况');
    const pay = await page.locator('main').textContent();
    report(pay.includes('余额不足') && pay.includes('160.00'),
           'payments: a failed debit with its reason', pay.slice(0, 300));
    await view(page, '10-payments');

    await page.getByRole('button', { name: '退出登录' }).click();
    await waitH1(page, '登录');
    report(/您已退出登录/.test(await page.locator('main').textContent()),
           'logout: back to the login page, said so');
    report((await session(page)).logged_in === false,
           'logout: the session ended');
}

async function journeyRelative(page, c) {
    await register(page, c, false);
    await login(page, c, false);

    /* the English switch */
    await page.getByRole('button', { name: 'English' }).click();
    await waitH1(page, 'Your child\'s details');
    report(await page.evaluate(() => document.documentElement.lang) === 'en',
           'English: <html lang="en">');
    report(await page.getByRole('navigation').getByRole('link',
               { name: 'Payments' }).isVisible(), 'English: the menu');
    await view(page, '05b-home-en');
    await page.reload();
    await waitH1(page, 'Your child\'s details');
    report(true, 'English: kept after a reload');
    await page.getByRole('navigation').getByRole('link',
        { name: 'Bank account for the premium' }).click();
    await waitH1(page, 'Bank account for the premium');
    report(await page.getByLabel('In whose name is the card or passbook?')
               .count() === 0
           && await page.getByText('In whose name is the card or passbook?')
               .isVisible(), 'English: the bank form');
    await audit(page, 'bank form in English');
    await page.getByRole('button', { name: '中文' }).click();
    await waitH1(page, '缴费银行账户');
    report(await page.evaluate(() => document.documentElement.lang)
           === 'zh-CN', 'back to Chinese');

    await page.getByLabel('孩子的亲属（父母等）').check();
    report(await page.locator('#relative').isVisible(),
           'bank relative: the relative\'s fields are shown');
    await page.getByLabel('存折', { exact: true }).check();
    report(await page.locator('[data-field="account_no_confirm"]').isVisible(),
           'bank passbook: the number is asked twice');
    await page.locator('#f-account_no').fill(c.passbook);
    await page.getByLabel('再次输入存折账号').fill(c.passbook.slice(0, -1)
                                                    + '0');
    await page.locator('#f-bank').selectOption('CCB');
    await page.getByRole('button', { name: '下一步：核对信息' }).click();
    const errs = await page.locator('.field.has-error').count();
    report(errs === 7, 'bank relative: 6 relative fields required and the '
                       + 'second entry differs', `${errs}`);
    await audit(page, 'bank form, relative, passbook, 7 errors');
    report(/两次输入的不一样/.test(await page
               .locator('#f-account_no_confirm-error').textContent()),
           'bank passbook: the mismatch is said at the field');
    await page.getByLabel('再次输入存折账号').fill(c.passbook);
    const rel = page.locator('#relative');
    await rel.getByLabel('姓名').fill('王丽娟');
    await rel.getByLabel('女').check();
    await rel.getByLabel('与孩子的关系').selectOption('mother');
    await rel.getByLabel('联系电话').fill('13912345678');
    await rel.getByLabel('居住地址').fill('北京市海淀区中关村南大街5号院3号楼201室');
    await rel.getByLabel('居住地邮政编码').fill('100081');
    await page.getByRole('button', { name: '下一步：核对信息' }).click();
    await waitH1(page, '核对信息');
    const dl = await page.locator('.facts').textContent();
    report(dl.includes('王丽娟') && dl.includes('母亲') && dl.includes('存折'),
           'check relative: the holder\'s details to check', dl);
    /* change, then back: the answers are kept */
    await page.getByRole('button', { name: '修改' }).click();
    await waitH1(page, '缴费银行账户');
    report(await rel.getByLabel('姓名').inputValue() === '王丽娟',
           'check -> change: the answers are kept');
    await page.getByRole('button', { name: '下一步：核对信息' }).click();
    await waitH1(page, '核对信息');
    await page.getByRole('button', { name: '确认提交' }).click();
    await waitH1(page, '提交成功');
    const rec = await page.locator('main').textContent();
    report(/R\d{8}-\d+/.test(rec) && rec.includes('2026年10月的扣款'),
           'receipt relative: the number and the debit it applies to', rec);
    await page.getByRole('link', { name: '查看申报状态' }).click();
    await waitH1(page, '申报状态');
    report((await page.locator('tbody tr').count()) === 1,
           'status relative: one declaration');
    await page.getByRole('button', { name: '退出登录' }).click();
    await waitH1(page, '登录');
}

/* A change of an existing account, the password entered more than 20
 * minutes ago: the check step asks for it (POST /api/reauth). */
async function change(page, c) {
    await login(page, c, false);
    for (const k of redisKeys('csibiz:sess:*')) {
        if (redis('TYPE', k).trim() === 'hash') {
            redis('HSET', k, 'auth_at',
                  String(Math.floor(Date.now() / 1000) - 1300));
        }
    }
    await bankForm(page);
    const main = await page.locator('main').textContent();
    report(main.includes('尾号 ' + c.card_no.slice(-4)),
           'change: the account on file, last 4 digits');
    report(await page.locator('#f-payer-self').isChecked()
           && await page.locator('#f-bank').inputValue() === 'ICBC',
           'change: the form starts from the account on file');
    await page.getByLabel('银行卡号').fill(c.card_no2);
    await page.getByRole('button', { name: '下一步：核对信息' }).click();
    await waitH1(page, '核对信息');
    const pw = page.getByLabel('登录密码');
    report(await pw.isVisible(), 'change: the password is asked again');
    await audit(page, 'check, the password asked again');
    await pw.fill('not my password at all');
    await page.getByRole('button', { name: '确认提交' }).click();
    const err = page.locator('#f-password-error');
    await err.waitFor();
    report(/身份证号或密码不正确/.test(await err.textContent()),
           'change: a wrong password, said at the field');
    await pw.fill(c.pw);
    await page.getByRole('button', { name: '确认提交' }).click();
    await waitH1(page, '提交成功');
    report((await page.locator('main').textContent())
               .includes('尾号 ' + c.card_no2.slice(-4)),
           'change: the receipt shows the new account');
    await page.getByRole('button', { name: '退出登录' }).click();
    await waitH1(page, '登录');
}

async function closed(page, c) {
    await login(page, c, false);
    await bankForm(page);
    const box = page.locator('#window-closed');
    await box.waitFor();
    const text = await box.textContent();
    report(/现在不在申报时间内/.test(text)
           && text.includes('2027年7月5日 至 2027年7月25日'),
           'closed: the bank page says when the window opens next', text);
    report(await page.locator('#bank-form').count() === 0,
           'closed: no form');
    report((await page.locator('main').textContent()).includes('尾号'),
           'closed: the account on file is shown');
    await view(page, '11-bank-closed');
    await page.getByRole('navigation').getByRole('link',
        { name: '申报状态' }).click();
    await waitH1(page, '申报状态');
    report((await page.locator('main').textContent()).includes(c.receipt),
           'closed: the queries still work');
    await page.getByRole('navigation').getByRole('link',
        { name: '缴费情况' }).click();
    await waitH1(page, '缴费情况');
    report((await page.locator('.payment').count()) >= 1,
           'closed: payments still shown');
}

async function idle(page, c) {
    await login(page, c, false);
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor({ state: 'visible', timeout: 30000 });
    const text = await dialog.textContent();
    report(/即将自动退出/.test(text) && /\d+ 秒后自动退出/.test(text),
           'idle: the warning, with the seconds left', text);
    report(await focusedIs(page, '#idle-stay'),
           'idle: the focus is on "stay logged in"');
    report(await page.locator('main').getAttribute('inert') !== null,
           'idle: the page behind is inert');
    await page.keyboard.press('Tab');
    report(await focusedIs(page, '#idle-logout'),
           'idle: Tab stays in the dialog');
    await page.keyboard.press('Tab');
    await view(page, '12-idle-warning');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    const s = await session(page);
    report(s.logged_in && s.expires_in > 120,
           'idle: "stay logged in" extended the session', JSON.stringify(s));
    report(await focusedIs(page, 'main h1, main'),
           'idle: the focus goes back to the page');
}

/* The school declared a new phone (c.new_phone) after the registration:
 * home says so and links to the reset; the reset sends the code to the
 * new phone, refuses a short password at its field, then the new
 * password logs in. */
async function reset(page, c) {
    /* registering again with the old phone: refused at the phone, with
     * the link to the reset */
    await page.goto(A.base + '/#/agreement');
    await waitH1(page, '用户协议');
    await page.getByLabel('我已阅读并同意以上用户协议').check();
    let before = new Set(redisKeys('csibiz:captcha:*'));
    await page.getByRole('button', { name: '我同意，开始注册' }).click();
    await waitH1(page, '注册');
    await page.getByLabel('孩子的身份证号').fill(c.id);
    await page.getByLabel('社保卡号').fill(c.card);
    await page.getByLabel('孩子在学校申报的手机号码').fill(c.phone);
    await page.getByLabel('图形验证码').fill(await captchaAnswer(page, before));
    await page.getByRole('button', { name: '获取短信验证码' }).click();
    await page.locator('#f-phone-error').waitFor();
    const moved = page.locator('#new-phone');
    report(await moved.isVisible()
           && /忘记密码/.test(await moved.textContent()),
           'register, phone not declared: a link to the reset',
           await moved.textContent());
    await audit(page, 'register, phone not declared');

    await login(page, c, false);
    const hint = page.locator('#new-phone');
    await hint.waitFor();
    report(/学校登记了新的手机号/.test(await hint.textContent()),
           'reset: home says the school has a new phone, links to the reset',
           await hint.textContent());
    await audit(page, 'home, the school\'s new phone');
    before = new Set(redisKeys('csibiz:captcha:*'));
    await hint.getByRole('link').click();
    await waitH1(page, '重置密码');
    const answer = await captchaAnswer(page, before);
    await view(page, '13a-reset-start');
    await page.getByLabel('孩子的身份证号').fill(c.id);
    await page.getByLabel('社保卡号').fill(c.card);
    await page.getByLabel('孩子在学校申报的手机号码').fill(c.new_phone);
    await page.getByLabel('图形验证码').fill(answer);
    await page.getByRole('button', { name: '获取短信验证码' }).click();
    const sent = page.locator('#code-sent');
    await sent.waitFor({ state: 'visible' });
    const masked = c.new_phone.slice(0, 3) + '****' + c.new_phone.slice(7);
    report((await sent.textContent()).includes(masked),
           'reset: the code is sent, to the masked phone shown',
           await sent.textContent());
    const code = smsCode(c.new_phone);
    report(/^\d{6}$/.test(code || ''), 'reset: an SMS code to the new phone');
    await page.getByLabel('短信验证码').fill(code);
    await page.getByLabel('设置新的登录密码').fill(c.new_pw);
    await page.getByLabel('再次输入新的登录密码').fill(c.new_pw);
    await view(page, '13b-reset-code-sent');
    await page.getByLabel('设置新的登录密码').fill('too short');
    await page.getByLabel('再次输入新的登录密码').fill('too short');
    await page.getByRole('button', { name: '重置密码' }).click();
    const err = page.locator('#f-password-error');
    await err.waitFor();
    report(/错误：密码至少要12个字符/.test(await err.textContent()),
           'reset: the password policy, said at the field as when '
           + 'registering', await err.textContent());
    await audit(page, 'reset, a short password');
    await page.getByLabel('设置新的登录密码').fill(c.new_pw);
    await page.getByLabel('再次输入新的登录密码').fill(c.new_pw);
    await page.getByRole('button', { name: '重置密码' }).click();
    await waitH1(page, '登录');
    report(/密码已重置/.test(await page.locator('main').textContent()),
           'reset: done, on to the login page with the new password');
    await view(page, '13c-reset-done');
    report((await session(page)).logged_in === false,
           'reset: the session that asked for it ended');
    await login(page, { ...c, pw: c.new_pw }, false);
    await page.locator('.facts').waitFor();
    report(await page.locator('#new-phone').count() === 0
           && (await page.locator('.facts').textContent()).includes(masked),
           'reset: the new password logs in, the new phone is the account\'s');
}

/* ------------------------------------------------- slow and narrow */

/* a promise and the function that resolves it */
function gate() {
    let open;
    const p = new Promise(r => { open = r; });
    return [p, open];
}

/* the pressed button says it is working and a second press does nothing */
async function working(page, button, name) {
    await page.waitForFunction(b => b.textContent === '正在提交…',
                               await button.elementHandle());
    report(await button.getAttribute('aria-disabled') === 'true',
           `${name}: working, the button says 正在提交… and is disabled`);
}

/* the retry box: the message, the focus on 重试; then pressed */
async function retried(page, name, re) {
    const box = page.locator('.retry-box');
    await box.waitFor();
    const text = await box.textContent();
    report(re.test(text), `${name}: a plain message and a retry`, text);
    report(await focusedIs(page, '.retry-box button.retry'),
           `${name}: the focus is on 重试`);
    return box;
}

/* Every slow action says it is working, gives up after the client's
 * timeout (set to 2 s here: csibizApi.timeoutMs), and on no answer, no
 * connection or a 503 offers 重试, which does the action again.  The
 * backend is made slow or unavailable by intercepting the requests. */
async function slow(page, c) {
    const TIMEOUT = /没有及时回应/;
    const NETWORK = /网络连接失败/;
    const BUSY = /服务繁忙/;
    const unavailable = { status: 503, contentType: 'application/json',
        headers: { 'Retry-After': '1' },
        body: JSON.stringify({ error: { code: 'backend_unavailable',
                                        message: '服务繁忙，请稍后再试。' } }) };
    /* the registration sent this phone a code less than a minute ago:
     * its wait before the next one is not what this tests */
    for (const k of redisKeys('csibiz:sms:phone:*')) {
        redis('DEL', k);
    }
    /* the captcha's picture: the connection drops once; "show another
     * picture" is the retry */
    await page.route('**/api/captcha', route => route.abort('connectionreset'),
                     { times: 1 });
    const before = new Set(redisKeys('csibiz:captcha:*'));
    await page.goto(A.base + '/#/reset');
    await waitH1(page, '重置密码');
    await page.evaluate(() => { window.csibizApi.timeoutMs = 2000; });
    const failed = page.locator('#captcha-failed');
    await failed.waitFor();
    report(NETWORK.test(await failed.textContent())
           && /看不清，换一张/.test(await failed.textContent()),
           'captcha: no picture, said so, with the way to retry',
           await failed.textContent());
    await page.getByRole('button', { name: '看不清，换一张' }).click();
    const answer = await captchaAnswer(page, before);
    report(await failed.isHidden(), 'captcha: the retry shows the picture');

    /* the SMS code: the connection drops once */
    await page.getByLabel('孩子的身份证号').fill(c.id);
    await page.getByLabel('社保卡号').fill(c.card);
    await page.getByLabel('孩子在学校申报的手机号码').fill(c.phone);
    await page.getByLabel('图形验证码').fill(answer);
    let [held, release] = gate();
    await page.route('**/api/sms/send', async route => {
        await held;
        await route.abort('connectionreset');
    }, { times: 1 });
    const getCode = page.getByRole('button', { name: /获取短信验证码|正在提交/ });
    await getCode.click();
    await working(page, getCode, 'SMS code');
    release();
    await retried(page, 'SMS code, no connection', NETWORK);
    await page.getByRole('button', { name: '重试' }).click();
    await page.locator('#code-sent').waitFor({ state: 'visible' });
    report(/^\d{6}$/.test(smsCode(c.phone) || '')
           && await page.locator('.retry-box').count() === 0,
           'SMS code: the retry sent it');

    /* the reset: 503 once; the retry reaches the API (a wrong code) */
    await page.route('**/api/password/reset',
                     route => route.fulfill(unavailable), { times: 1 });
    await page.getByLabel('短信验证码').fill('000000');
    await page.getByLabel('设置新的登录密码').fill('a fresh kettle for the slow');
    await page.getByLabel('再次输入新的登录密码')
        .fill('a fresh kettle for the slow');
    await page.getByRole('button', { name: '重置密码' }).click();
    await retried(page, 'reset, 503', BUSY);
    await page.getByRole('button', { name: '重试' }).click();
    await page.locator('#f-sms_code-error').waitFor();
    report(/短信验证码不正确/.test(await page.locator('#f-sms_code-error')
                                          .textContent()),
           'reset: the retry was sent (the API refused the code)');

    /* the login: no answer within the timeout; then home: no connection */
    await page.goto(A.base + '/#/login');
    await waitH1(page, '登录');
    await page.evaluate(() => { window.csibizApi.timeoutMs = 2000; });
    const stuck = [];
    await page.route('**/api/login', route => { stuck.push(route); },
                     { times: 1 });
    await page.getByLabel('孩子的身份证号').fill(c.id);
    await page.getByLabel('登录密码').fill(c.pw);
    const submit = page.locator('main form button[type="submit"]');
    await submit.click();
    await working(page, submit, 'login');
    await retried(page, 'login, no answer in 2 s', TIMEOUT);
    await audit(page, 'login, no answer: 重试');
    report(await page.getByLabel('登录密码').inputValue() === c.pw,
           'login: the answers are kept for the retry');
    stuck.forEach(r => r.abort().catch(() => 0));
    await page.route('**/api/me', route => route.abort('connectionreset'),
                     { times: 1 });
    await page.getByRole('button', { name: '重试' }).click();
    await retried(page, 'home, no connection', NETWORK);
    report(await h1(page) === '孩子的基本信息',
           'login: the retry logged in, home did not load');
    await page.getByRole('button', { name: '重试' }).click();
    await page.locator('.facts').waitFor();
    report(true, 'home: the retry loaded it');

    /* the status: loading, no answer; retry */
    await page.route('**/api/declarations', route => { stuck.push(route); },
                     { times: 1 });
    await page.getByRole('navigation').getByRole('link',
        { name: '申报状态' }).click();
    const loading = page.locator('main .loading');
    await loading.waitFor();
    report(await h1(page) === '申报状态'
           && await loading.textContent() === '正在加载…'
           && await page.locator('main').getAttribute('aria-busy') === 'true',
           'status: the title at once, 正在加载…, main aria-busy');
    await view(page, '14-status-loading');
    await retried(page, 'status, no answer in 2 s', TIMEOUT);
    await view(page, '15-status-retry');
    stuck.forEach(r => r.abort().catch(() => 0));
    await page.getByRole('button', { name: '重试' }).click();
    await waitH1(page, '申报状态');
    report(await page.locator('tbody tr').count() >= 1,
           'status: the retry loaded the declarations');

    /* the payments: 503 once */
    await page.route('**/api/payments', route => route.fulfill(unavailable),
                     { times: 1 });
    await page.getByRole('navigation').getByRole('link',
        { name: '缴费情况' }).click();
    await retried(page, 'payments, 503', BUSY);
    await page.getByRole('button', { name: '重试' }).click();
    await waitH1(page, '缴费情况');
    report(await page.locator('.payment').count() >= 1,
           'payments: the retry loaded them');

    /* the bank account: the answer is lost after the server wrote it;
     * the retry carries the same Idempotency-Key and gets the first
     * answer, not a second declaration */
    await bankForm(page);
    await page.getByLabel('银行卡号').fill(c.card_no);
    await page.getByRole('button', { name: '下一步：核对信息' }).click();
    await waitH1(page, '核对信息');
    [held, release] = gate();
    let first = null;
    await page.route('**/api/account', async route => {
        if (route.request().method() !== 'PUT') {
            return route.continue();
        }
        await held;
        first = await (await route.fetch()).json();
        await route.abort('connectionreset');
    }, { times: 1 });
    const send = page.getByRole('button', { name: /确认提交|正在提交/ });
    await send.click();
    await working(page, send, 'bank account');
    release();
    await retried(page, 'bank account, the answer lost', NETWORK);
    await page.getByRole('button', { name: '重试' }).click();
    await waitH1(page, '提交成功');
    const rec = await page.locator('main').textContent();
    report(first && first.receipt_no && rec.includes(first.receipt_no),
           'bank account: the retry got the first answer, the same receipt',
           `${JSON.stringify(first)}\n${rec}`);
    await page.getByRole('button', { name: '退出登录' }).click();
    await waitH1(page, '登录');
}

/* At 360 px wide nothing scrolls sideways, the tables least of all:
 * they are stacked, one card per row. */
async function narrow(page, c) {
    await page.setViewportSize({ width: 360, height: 740 });
    async function fits(name) {
        const m = await page.evaluate(() => {
            const se = document.scrollingElement;
            return { sw: se.scrollWidth, cw: se.clientWidth,
                     tables: Array.from(document.querySelectorAll(
                         'main table, main .table-wrap, main .payment'),
                         t => [t.scrollWidth, t.clientWidth,
                               Math.ceil(t.getBoundingClientRect().right)]) };
        });
        report(m.sw <= m.cw, `360 px ${name}: no sideways scrolling`,
               JSON.stringify(m));
        if (m.tables.length) {
            report(m.tables.every(t => t[0] <= t[1] && t[2] <= m.cw),
                   `360 px ${name}: each table fits`, JSON.stringify(m));
        }
        await audit(page, `360 px ${name}`);
        return m;
    }
    await page.goto(A.base + '/');
    await waitH1(page, '学生儿童医疗保险自助服务');
    await fits('start');
    await page.goto(A.base + '/#/reset');
    await waitH1(page, '重置密码');
    await fits('reset');
    await login(page, c, false);
    await fits('home');
    await bankForm(page);
    await fits('bank form');
    await page.getByRole('navigation').getByRole('link',
        { name: '申报状态' }).click();
    await waitH1(page, '申报状态');
    const rows = await page.locator('tbody tr').count();
    const m = await fits(`status (${rows} declarations)`);
    report(rows >= 1 && m.tables.length >= 1,
           '360 px status: the table is there, with its rows', `${rows}`);
    const cell = await page.evaluate(() => {
        const td = document.querySelector('tbody td');
        return [getComputedStyle(td).display,
                getComputedStyle(td, '::before').content,
                document.querySelector('thead th:nth-child(2)').textContent];
    });
    report(cell[0] === 'block' && cell[1].includes(cell[2]),
           '360 px status: stacked, each cell under its column\'s name',
           JSON.stringify(cell));
    /* opened by its address, a view that loads leaves the focus at the
     * top of the page, as any first page */
    await page.goto(A.base + '/#/home');
    await page.reload();
    await waitH1(page, '孩子的基本信息');
    await page.keyboard.press('Tab');
    report(await focusedIs(page, '#skip-link'),
           'home opened by its address: the first Tab is the skip link',
           await page.evaluate(() => document.activeElement.outerHTML));
    await page.getByRole('navigation').getByRole('link',
        { name: '缴费情况' }).click();
    await waitH1(page, '缴费情况');
    await fits('payments');
    await page.setViewportSize({ width: 1024, height: 800 });
    await page.getByRole('navigation').getByRole('link',
        { name: '申报状态' }).click();
    await waitH1(page, '申报状态');
    report(await page.evaluate(() => getComputedStyle(
               document.querySelector('tbody td')).display) === 'table-cell',
           '1024 px status: a table again');
    await page.getByRole('button', { name: '退出登录' }).click();
    await waitH1(page, '登录');
}

/* ------------------------------------------------------------- main */

(async () => {
    let chromium;
    try {
        ({ chromium } = require('playwright-core'));
    } catch (e) {
        report(false, 'playwright-core is installed (npm ci in t/browser)',
               String(e));
        process.exit(1);
    }
    const browser = await chromium.launch({
        executablePath: A.chromium,
        args: ['--no-sandbox', '--disable-dev-shm-usage']
    });
    const context = await browser.newContext({ locale: 'zh-CN',
        viewport: { width: 1024, height: 800 } });
    context.setDefaultTimeout(20000);
    const page = await context.newPage();
    const problems = [];
    /* the browser logs refused requests; and those cut off on purpose */
    const expected = A.scenario === 'slow'
        ? /status of (40[0-9]|503)|net::ERR_CONNECTION_RESET/
        : /status of 40[0-9]/;
    page.on('console', m => {
        if (m.type() === 'error' && !expected.test(m.text())) {
            problems.push(m.text());
        }
    });
    page.on('pageerror', e => problems.push(String(e)));
    try {
        if (A.scenario === 'journey') {
            await journeySelf(page, A.children[0]);
            await journeyRelative(page, A.children[1]);
            await change(page, A.children[0]);
        } else if (A.scenario === 'closed') {
            await closed(page, A.children[0]);
        } else if (A.scenario === 'idle') {
            await idle(page, A.children[0]);
        } else if (A.scenario === 'reset') {
            await reset(page, A.children[0]);
        } else if (A.scenario === 'slow') {
            await slow(page, A.children[0]);
        } else if (A.scenario === 'narrow') {
            await narrow(page, A.children[0]);
        } else {
            throw new Error('unknown scenario ' + A.scenario);
        }
    } catch (e) {
        report(false, `${A.scenario}: ran to the end`,
               `${e.stack}\nat ${page.url()}: ${await h1(page)
                                                  .catch(() => '?')}`);
        if (A.screenshots || process.env.CSIBIZ_FAIL_SHOT) {
            await page.screenshot({ path: (A.screenshots || '/tmp')
                                          + '/failure.png' }).catch(() => 0);
        }
    }
    report(problems.length === 0,
           `${A.scenario}: no script error, no CSP violation`,
           problems.join('\n'));
    await browser.close();
    process.exit(failed ? 1 : 0);
})();
