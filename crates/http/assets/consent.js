/*! Custodian consent banner. Served by Custodian at /consent.js; no dependencies, no build.
 *
 * Add it to every page BEFORE the Google tag:
 *   <script src="https://custodian.example/consent.js" data-lang="vi"></script>
 * Attributes: data-custodian (Custodian's base URL; default: where this script came from),
 * data-lang (vi|en; default: <html lang>, else vi), data-session (a signed-in customer's
 * session token; or CustodianConsent.init({session})). Any element with
 * data-custodian-preferences reopens the preferences; a page without one gets a small
 * "Privacy preferences" button once the visitor has answered, so a choice can always be changed.
 *
 * Rules kept here: every Consent Mode signal is denied until a choice grants it; nothing is
 * pre-ticked; accepting and rejecting weigh the same; Global Privacy Control refuses the
 * purposes the policy marks for it; text from the server is only ever set as text.
 * Keyboard: while the dialog is open the rest of the page is inert and Tab stays inside it,
 * Escape closes it; after a choice the focus goes back to what opened the dialog, else to the
 * page's preferences link or the re-open button, never lost on <body>.
 */
(function () {
  'use strict';

  var w = window;
  var d = document;
  var SIGNALS = ['ad_storage', 'analytics_storage', 'ad_user_data', 'ad_personalization'];
  var STORAGE_KEY = 'custodian-consent';
  var TIMEOUT_MS = 8000;

  // 1. Before anything else, synchronously: every signal denied.
  w.dataLayer = w.dataLayer || [];
  if (typeof w.gtag !== 'function') {
    w.gtag = function () { w.dataLayer.push(arguments); };
  }
  var gtag = function () { w.gtag.apply(w, arguments); };
  gtag('consent', 'default', {
    ad_storage: 'denied',
    analytics_storage: 'denied',
    ad_user_data: 'denied',
    ad_personalization: 'denied',
    wait_for_update: 500
  });

  var TEXTS = {
    vi: {
      title: 'Quyền riêng tư của bạn',
      body: 'Chúng tôi chỉ dùng công cụ phân tích và quảng cáo khi bạn đồng ý. Bạn có thể chọn cho từng mục đích và thay đổi bất cứ lúc nào.',
      accept: 'Đồng ý tất cả',
      reject: 'Từ chối tất cả',
      choose: 'Tùy chọn',
      save: 'Lưu lựa chọn',
      close: 'Đóng',
      dialogTitle: 'Tùy chọn quyền riêng tư',
      dialogIntro: 'Không mục nào được chọn sẵn. Mỗi mục đích được hỏi riêng; từ chối không bao giờ ngăn bạn đặt hàng.',
      decline: 'Nếu bạn từ chối: ',
      notice: 'Thông báo về quyền riêng tư',
      gpc: 'Trình duyệt của bạn gửi tín hiệu Global Privacy Control (GPC).',
      gpcPurpose: 'Đã từ chối theo tín hiệu GPC của trình duyệt.'
    },
    en: {
      title: 'Your privacy',
      body: 'We use analytics and advertising tools only if you agree. You can choose for each purpose and change your mind at any time.',
      accept: 'Accept all',
      reject: 'Reject all',
      choose: 'Choose',
      save: 'Save choices',
      close: 'Close',
      dialogTitle: 'Privacy preferences',
      dialogIntro: 'Nothing is pre-selected. Each purpose is asked separately; declining never stops you from ordering.',
      decline: 'If you decline: ',
      notice: 'Privacy notice',
      gpc: 'Your browser sends the Global Privacy Control (GPC) signal.',
      gpcPurpose: 'Refused by your browser\'s GPC signal.'
    }
  };

  var CSS = [
    '.custodian-banner{position:fixed;left:0;right:0;bottom:0;z-index:2147483000;background:#fff;color:#1b1b1b;',
    'border-top:1px solid #888;box-shadow:0 -2px 8px rgba(0,0,0,.15);padding:16px;font:15px/1.45 system-ui,sans-serif}',
    '.custodian-banner h2,.custodian-dialog h2{font-size:17px;margin:0 0 6px}',
    '.custodian-banner p,.custodian-dialog p{margin:0 0 8px}',
    '.custodian-actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}',
    '.custodian-btn{flex:1 1 10em;min-height:44px;padding:10px 16px;font:inherit;font-weight:600;color:#fff;',
    'background:#1f4e79;border:2px solid #1f4e79;border-radius:6px;cursor:pointer}',
    '.custodian-btn:hover{background:#163a5b}',
    // The focus ring: #b35900 is 4.8:1 on white (WCAG 1.4.11 asks 3:1).
    '.custodian-btn:focus-visible,.custodian-dialog input:focus-visible,.custodian-banner a:focus-visible,',
    '.custodian-dialog a:focus-visible{outline:3px solid #b35900;outline-offset:2px}',
    '.custodian-backdrop{position:fixed;inset:0;z-index:2147483001;background:rgba(0,0,0,.45);display:flex;',
    'align-items:center;justify-content:center;padding:12px}',
    // The dialog's content scrolls; its buttons stay in view below it (a phone's fold).
    '.custodian-dialog{background:#fff;color:#1b1b1b;max-width:640px;width:100%;max-height:calc(100vh - 24px);',
    'display:flex;flex-direction:column;overflow:hidden;border-radius:8px;font:15px/1.45 system-ui,sans-serif}',
    '.custodian-dialog-body{overflow:auto;flex:1 1 auto;min-height:0;padding:20px 20px 8px}',
    '.custodian-dialog .custodian-actions{flex:none;margin:0;padding:10px 20px 16px;border-top:1px solid #ddd}',
    '.custodian-reopen{position:fixed;left:12px;bottom:12px;z-index:2147483000;flex:none;font-size:14px;',
    'box-shadow:0 1px 4px rgba(0,0,0,.3)}',
    '.custodian-purpose{border-top:1px solid #ddd;padding:10px 0}',
    '.custodian-purpose label{font-weight:600;display:flex;gap:8px;align-items:flex-start}',
    '.custodian-purpose input{width:20px;height:20px;margin:2px 0 0;flex:none}',
    '.custodian-purpose p{margin:4px 0 0 28px;font-size:14px}',
    '.custodian-gpc{background:#fff6d6;border:1px solid #d9b200;border-radius:6px;padding:8px}',
    '.custodian-close{float:right;margin-left:8px}'
  ].join('');

  var script = d.currentScript;
  var attr = function (name) { return script ? script.getAttribute(name) : null; };

  var config = {
    base: baseUrl(attr('data-custodian')),
    lang: pickLang(attr('data-lang')),
    session: attr('data-session') || null
  };

  var state = {
    generation: 0,
    choices: null,      // the /v1/choices answer
    purposes: [],       // purposes with a consent, in order
    current: null,      // {purpose: 'granted'|'denied'}
    loaded: null,       // a Promise of the load in progress
    banner: null,
    dialog: null,
    opener: null,
    inert: [],          // the page's elements made inert while the dialog is open
    reopen: null        // the re-open button, on a page without a preferences link
  };

  function baseUrl(given) {
    try {
      if (given) { return new URL(given, d.baseURI).origin; }
      if (script && script.src) { return new URL(script.src).origin; }
    } catch (e) { /* fall through */ }
    return null;
  }

  function pickLang(given) {
    var tag = (given || (d.documentElement && d.documentElement.lang) || '').toLowerCase();
    return tag.slice(0, 2) === 'en' ? 'en' : 'vi';
  }

  function t(key) { return TEXTS[config.lang][key]; }

  function gpcOn() {
    return w.navigator.globalPrivacyControl === true &&
      !!(state.choices && state.choices.gpc && state.choices.gpc.honoured !== false);
  }

  function refusedByGpc(purpose) {
    return gpcOn() && purpose.consent.refused_by_gpc === true;
  }

  // --- talking to Custodian --------------------------------------------------------------

  function request(method, path, body) {
    var headers = { Accept: 'application/json' };
    if (config.session && path.indexOf('/v1/account/') === 0) {
      headers.Authorization = 'Bearer ' + config.session;
    }
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(config.base + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      mode: 'cors',
      cache: 'no-store',
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (timer) { clearTimeout(timer); }
      if (!response.ok) { throw new Error('custodian: ' + method + ' ' + path.split('?')[0] + ' ' + response.status); }
      return response.json();
    }, function (error) {
      if (timer) { clearTimeout(timer); }
      throw error;
    });
  }

  // --- the stored choice -------------------------------------------------------------------

  function readLocal() {
    try {
      var stored = JSON.parse(w.localStorage.getItem(STORAGE_KEY) || 'null');
      return stored && typeof stored.purposes === 'object' ? stored : null;
    } catch (e) { return null; }
  }

  function writeLocal(states) {
    var purposes = {};
    state.purposes.forEach(function (p) {
      purposes[p.id] = { state: states[p.id], terms: p.consent.terms };
    });
    try {
      w.localStorage.setItem(STORAGE_KEY, JSON.stringify({
        notice_version: state.choices.notice && state.choices.notice.version,
        at: new Date().toISOString(),
        purposes: purposes
      }));
    } catch (e) { /* storage refused: the choice holds for this page only */ }
  }

  /** The answers still valid: same terms, for purposes still asked. */
  function validLocal() {
    var stored = readLocal();
    var answers = {};
    if (!stored) { return answers; }
    state.purposes.forEach(function (p) {
      var entry = stored.purposes[p.id];
      if (entry && entry.terms === p.consent.terms &&
          (entry.state === 'granted' || entry.state === 'denied')) {
        answers[p.id] = entry.state;
      }
    });
    return answers;
  }

  function serverAnswers(consents) {
    var answers = {};
    (consents || []).forEach(function (c) {
      if ((c.state === 'granted' || c.state === 'denied') && !c.needs_renewal) {
        answers[c.purpose] = c.state;
      }
    });
    return answers;
  }

  function answeredAll(answers) {
    return state.purposes.every(function (p) { return answers.hasOwnProperty(p.id); });
  }

  // --- Consent Mode ------------------------------------------------------------------------

  /** Every signal denied, except those of a granted purpose. GPC wins for visitors. */
  function apply(answers) {
    var states = {};
    var signals = {};
    SIGNALS.forEach(function (s) { signals[s] = 'denied'; });
    state.purposes.forEach(function (p) {
      var granted = answers[p.id] === 'granted' && !(refusedByGpc(p) && !config.session);
      states[p.id] = granted ? 'granted' : 'denied';
      if (granted) {
        (p.consent.consent_mode || []).forEach(function (s) {
          if (SIGNALS.indexOf(s) >= 0) { signals[s] = 'granted'; }
        });
      }
    });
    state.current = states;
    gtag('consent', 'update', signals);
    if (!state.banner) { offerReopen(); }
    try {
      w.dispatchEvent(new CustomEvent('custodian:consent', { detail: { purposes: copy(states), signals: copy(signals) } }));
    } catch (e) { /* old browsers: no event */ }
    return states;
  }

  function copy(o) { return JSON.parse(JSON.stringify(o)); }

  /** A choice made in the banner or the dialog: applied, stored here, and for a signed-in
   *  customer recorded in Custodian (each purpose its own consent). */
  function choose(answers) {
    removeBanner();
    var opener = closeDialog(true);
    var states = apply(answers);
    writeLocal(states);
    focusAfter(opener);
    if (config.session) {
      request('POST', '/v1/account/consents', {
        notice_version: state.choices.notice && state.choices.notice.version,
        channel: 'web_form',
        gpc: w.navigator.globalPrivacyControl === true,
        choices: state.purposes.map(function (p) { return { purpose: p.id, state: states[p.id] }; })
      }).catch(function () { /* kept locally; the customer can choose again */ });
    }
  }

  function acceptAll() {
    var answers = {};
    state.purposes.forEach(function (p) { answers[p.id] = refusedByGpc(p) ? 'denied' : 'granted'; });
    choose(answers);
  }

  function rejectAll() {
    var answers = {};
    state.purposes.forEach(function (p) { answers[p.id] = 'denied'; });
    choose(answers);
  }

  // --- loading -----------------------------------------------------------------------------

  function start() {
    var generation = ++state.generation;
    removeBanner();
    closeDialog();
    if (!config.base) { return Promise.resolve(); }
    state.loaded = request('GET', '/v1/choices?subject=visitors&lang=' + config.lang).then(function (choices) {
      if (generation !== state.generation) { return; }
      state.choices = choices;
      state.purposes = (choices.purposes || []).filter(function (p) {
        return p && p.consent && typeof p.id === 'string';
      });
      if (!state.purposes.length) { return; }
      return (config.session ? fromServer() : Promise.resolve(null)).then(function (server) {
        if (generation !== state.generation) { return; }
        var answers = server || validLocal();
        if (answeredAll(answers)) {
          apply(answers);
          if (server) { writeLocal(state.current); }
        } else {
          if (Object.keys(answers).length) { apply(answers); }
          showBanner();
        }
      });
    }).catch(function () {
      // Custodian unreachable or refusing: every signal stays denied, no banner.
      if (generation === state.generation) { state.choices = null; state.purposes = []; }
    });
    return state.loaded;
  }

  /** A signed-in customer's answers on file; with GPC, the refusal is recorded first for
   *  what they had granted without it (Custodian decides which). */
  function fromServer() {
    return request('GET', '/v1/account/consents').then(function (body) {
      var answers = serverAnswers(body.consents);
      var grantedGpc = state.purposes.some(function (p) {
        return refusedByGpc(p) && answers[p.id] === 'granted';
      });
      if (!grantedGpc) { return answers; }
      return request('POST', '/v1/account/consents', {
        notice_version: state.choices.notice && state.choices.notice.version,
        channel: 'web_form',
        gpc: true,
        choices: []
      }).then(function () {
        return request('GET', '/v1/account/consents');
      }).then(function (again) { return serverAnswers(again.consents); });
    }).catch(function () { return null; });
  }

  // --- the banner --------------------------------------------------------------------------

  function el(tag, props, children) {
    var node = d.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === 'text') { node.textContent = props[k]; } else { node.setAttribute(k, props[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  function button(id, label, onClick) {
    var b = el('button', { type: 'button', id: id, 'class': 'custodian-btn', text: label });
    b.addEventListener('click', onClick);
    return b;
  }

  function noticeLink() {
    var url = state.choices && state.choices.notice && state.choices.notice.url;
    if (typeof url !== 'string') { return null; }
    try {
      var href = new URL(url, config.base + '/');
      if (href.protocol !== 'https:' && href.protocol !== 'http:') { return null; }
      return el('a', { href: href.href, target: '_blank', rel: 'noopener', text: t('notice') });
    } catch (e) { return null; }
  }

  function gpcNote() {
    if (!gpcOn() || !state.purposes.some(refusedByGpc)) { return null; }
    var text = state.choices.gpc && typeof state.choices.gpc.text === 'string' ? state.choices.gpc.text : '';
    return el('div', { 'class': 'custodian-gpc', id: 'custodian-gpc' }, [
      el('p', { text: t('gpc') }),
      text ? el('p', { text: text }) : null
    ]);
  }

  function injectStyle() {
    if (d.getElementById('custodian-style')) { return; }
    var style = el('style', { id: 'custodian-style' });
    if (script && script.nonce) { style.nonce = script.nonce; }
    style.textContent = CSS;
    (d.head || d.documentElement).appendChild(style);
  }

  function showBanner() {
    injectStyle();
    removeBanner();
    removeReopen();
    var link = noticeLink();
    state.banner = el('div', {
      id: 'custodian-banner', 'class': 'custodian-banner', role: 'region',
      'aria-labelledby': 'custodian-banner-title'
    }, [
      el('h2', { id: 'custodian-banner-title', text: t('title') }),
      el('p', { text: t('body') }, link ? [d.createTextNode(' '), link] : []),
      gpcNote(),
      el('div', { 'class': 'custodian-actions' }, [
        button('custodian-accept', t('accept'), acceptAll),
        button('custodian-reject', t('reject'), rejectAll),
        button('custodian-choose', t('choose'), function (e) { openDialog(e.currentTarget); })
      ])
    ]);
    d.body.appendChild(state.banner);
  }

  function removeBanner() {
    if (state.banner && state.banner.parentNode) { state.banner.parentNode.removeChild(state.banner); }
    state.banner = null;
  }

  /** The page's own control reopening the preferences, if it has one. */
  function preferencesControl() {
    return d.querySelector('[data-custodian-preferences]');
  }

  /** A page without a preferences link gets the re-open button once the visitor answered. */
  function offerReopen() {
    if (preferencesControl() || !d.body) { return null; }
    if (state.reopen && state.reopen.isConnected) { return state.reopen; }
    injectStyle();
    state.reopen = button('custodian-reopen', t('dialogTitle'), function (e) { openDialog(e.currentTarget); });
    state.reopen.className = 'custodian-btn custodian-reopen';
    d.body.appendChild(state.reopen);
    return state.reopen;
  }

  function removeReopen() {
    if (state.reopen && state.reopen.parentNode) { state.reopen.parentNode.removeChild(state.reopen); }
    state.reopen = null;
  }

  /** Where the focus goes when the dialog or the banner goes away: what opened the dialog
   *  if it is still there, else the banner's "Choose", the page's preferences link, or the
   *  re-open button. */
  function focusAfter(opener) {
    var target = opener && opener !== d.body && opener.isConnected &&
      typeof opener.focus === 'function' ? opener : null;
    target = target || d.getElementById('custodian-choose') || preferencesControl() || offerReopen();
    if (target) { target.focus(); }
  }

  // --- the preferences dialog --------------------------------------------------------------

  function focusables(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll('button, a[href], input:not([disabled])'),
      function (n) { return !n.disabled; }
    );
  }

  function openDialog(opener) {
    if (!state.purposes.length) { return; }
    closeDialog();
    injectStyle();
    state.opener = opener || d.activeElement;
    var current = state.current || {};
    var rows = state.purposes.map(function (p) {
      var forced = refusedByGpc(p) && !config.session;
      var box = el('input', { type: 'checkbox', id: 'custodian-purpose-' + p.id, 'data-purpose': p.id });
      box.checked = !forced && current[p.id] === 'granted';
      if (forced) { box.disabled = true; box.setAttribute('aria-describedby', 'custodian-gpc'); }
      var decline = p.consent.decline_cost;
      return el('div', { 'class': 'custodian-purpose' }, [
        el('label', { 'for': box.id }, [box, el('span', { text: String(p.label || p.id) })]),
        p.description ? el('p', { text: String(p.description) }) : null,
        decline ? el('p', { text: t('decline') + String(decline) }) : null,
        forced ? el('p', { text: t('gpcPurpose') }) : null
      ]);
    });
    var link = noticeLink();
    var dialog = el('div', {
      id: 'custodian-dialog', 'class': 'custodian-dialog', role: 'dialog',
      'aria-modal': 'true', 'aria-labelledby': 'custodian-dialog-title', tabindex: '-1'
    }, [
      el('div', { 'class': 'custodian-dialog-body' }, [
        el('h2', { id: 'custodian-dialog-title', text: t('dialogTitle') }),
        el('p', { text: t('dialogIntro') }),
        gpcNote()
      ].concat(rows).concat([link ? el('p', {}, [link]) : null])),
      el('div', { 'class': 'custodian-actions' }, [
        button('custodian-save', t('save'), save),
        button('custodian-dialog-accept', t('accept'), acceptAll),
        button('custodian-dialog-reject', t('reject'), rejectAll),
        button('custodian-close', t('close'), function () { closeDialog(); })
      ])
    ]);
    var backdrop = el('div', { 'class': 'custodian-backdrop', id: 'custodian-backdrop' }, [dialog]);
    d.body.appendChild(backdrop);
    state.dialog = backdrop;
    // Modal: the rest of the page can be neither focused nor clicked until it closes.
    state.inert = Array.prototype.filter.call(d.body.children, function (n) {
      return n !== backdrop && !n.hasAttribute('inert');
    });
    state.inert.forEach(function (n) { n.setAttribute('inert', ''); });
    var first = focusables(dialog)[0];
    (first || dialog).focus();
  }

  function save() {
    var answers = {};
    state.purposes.forEach(function (p) {
      var box = d.getElementById('custodian-purpose-' + p.id);
      answers[p.id] = box && box.checked && !box.disabled ? 'granted' : 'denied';
    });
    choose(answers);
  }

  function onDialogKey(event) {
    if (!state.dialog) { return; }
    if (event.key === 'Escape' || event.key === 'Esc') {
      event.preventDefault();
      closeDialog();
      return;
    }
    if (event.key !== 'Tab' || !state.dialog) { return; }
    var items = focusables(state.dialog);
    if (!items.length) { return; }
    var first = items[0];
    var last = items[items.length - 1];
    var inside = items.indexOf(d.activeElement) >= 0;
    // From the first or last control, or from anywhere else (the dialog itself after a
    // click on its text, or the page), Tab wraps inside the dialog.
    if (event.shiftKey && (!inside || d.activeElement === first)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (!inside || d.activeElement === last)) {
      event.preventDefault();
      first.focus();
    }
  }

  /** Closes the dialog and gives the page back; the focus goes back where it came from,
   *  unless `keepFocus` (a choice, which moves it itself): then the opener is returned. */
  function closeDialog(keepFocus) {
    if (!state.dialog) { return null; }
    if (state.dialog.parentNode) { state.dialog.parentNode.removeChild(state.dialog); }
    state.dialog = null;
    state.inert.forEach(function (n) { n.removeAttribute('inert'); });
    state.inert = [];
    var opener = state.opener;
    state.opener = null;
    if (!keepFocus) { focusAfter(opener); }
    return opener;
  }

  // --- the public API ----------------------------------------------------------------------

  function open() {
    var opener = d.activeElement;
    return Promise.resolve(state.loaded || start()).then(function () {
      if (!state.purposes.length) { return start().then(function () { openDialog(opener); }); }
      openDialog(opener);
    });
  }

  w.CustodianConsent = {
    /** Options: base (Custodian's URL), lang ('vi'|'en'), session (a customer's token). */
    init: function (opts) {
      opts = opts || {};
      if (opts.base) { config.base = baseUrl(opts.base); }
      if (opts.lang) { config.lang = pickLang(opts.lang); }
      if (opts.hasOwnProperty('session')) { config.session = opts.session || null; }
      return start();
    },
    open: open,
    /** The current choice per purpose ('granted' | 'denied'), or null before any. */
    choices: function () { return state.current ? copy(state.current) : null; }
  };

  // On the document, so Escape and Tab work wherever the focus ended up.
  d.addEventListener('keydown', onDialogKey, true);

  d.addEventListener('click', function (event) {
    var target = event.target && event.target.closest && event.target.closest('[data-custodian-preferences]');
    if (!target) { return; }
    event.preventDefault();
    open();
  });

  if (d.readyState === 'loading') {
    d.addEventListener('DOMContentLoaded', function () { start(); });
  } else {
    start();
  }
})();
