// wasmcloud-cpp dashboard front end: renders the lattice state pushed by the server over
// server-sent events (/api/events) and posts the forms to the JSON API with the CSRF token.
// Plain ES module, no framework. Charts use chart.js (window.Chart) when it was installed.

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const MAX_ACTOR_UPLOAD = 16000000;
const MAX_PROVIDER_UPLOAD = 64000000;
/** A notice dismisses itself after this long (ms); at most MAX_NOTICES are shown at once. */
const NOTICE_MS = 6000;
const MAX_NOTICES = 3;
/** Longest text (characters) a notice or a chooser option shows; the rest is cut with "…". */
const MAX_SHORT_TEXT = 300;

let state = { hosts: [], actors: [], providers: [], links: [], claims: [], watches: [], applications: { available: false, message: '', apps: [] } };
let metrics = { actors: [] };
const charts = {};

// ---------------------------------------------------------------- helpers

/** Element factory: el('td', {class: 'x'}, 'text', child...). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
}

/** `text` cut to `max` characters with "…" when longer. */
function clip(text, max = MAX_SHORT_TEXT) {
  const s = String(text ?? '');
  return s.length > max ? s.slice(0, max) + '…' : s;
}

/** First 5 characters and an ellipsis, full value on hover and click-to-copy (as the original). */
function shortId(id) {
  if (!id) return el('span', {}, '');
  const s = el('span', { class: 'id', title: id, dataset: { full: id } }, id.length > 8 ? id.slice(0, 5) + '…' : id);
  s.addEventListener('click', () => navigator.clipboard?.writeText(id).catch(() => {}));
  return s;
}

function hostName(id) {
  const h = state.hosts.find((x) => x.id === id);
  return h && h.friendly_name ? h.friendly_name : id;
}

function actorName(id) {
  const c = state.claims.find((x) => x.id === id);
  return c && c.name ? c.name : (state.actors.find((a) => a.id === id)?.name || id.slice(0, 8));
}

/** POSTs JSON (or FormData) with the CSRF token; resolves to {ok, status, body}. */
async function api(path, body) {
  const headers = { 'X-CSRF-Token': csrf };
  let payload = body;
  if (!(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  try {
    const r = await fetch(path, { method: 'POST', headers, body: payload, credentials: 'same-origin' });
    let json = {};
    try { json = await r.json(); } catch { json = { accepted: false, error: `HTTP ${r.status}` }; }
    return { ok: r.ok && json.accepted === true, status: r.status, body: json };
  } catch (e) {
    return { ok: false, status: 0, body: { accepted: false, error: `Dashboard unreachable: ${e.message}` } };
  }
}

function setMessage(form, text, ok) {
  const m = form.querySelector('.form-message');
  m.textContent = text;
  m.dataset.level = ok ? 'ok' : 'error';
}

/** Shows a notice for NOTICE_MS (or until dismissed); the oldest go past MAX_NOTICES. */
function notice(text, level = 'error') {
  const n = el('div', { class: `notice ${level}`, role: level === 'error' ? 'alert' : 'status' },
    el('span', { class: 'notice-text' }, clip(text)),
    el('button', { type: 'button', class: 'dismiss', 'aria-label': 'dismiss' }, '×'));
  n.querySelector('.dismiss').addEventListener('click', () => n.remove());
  setTimeout(() => n.remove(), NOTICE_MS);
  const box = document.getElementById('notices');
  box.prepend(n);
  while (box.children.length > MAX_NOTICES) box.lastChild.remove();
}

// ---------------------------------------------------------------- rendering

function fillBody(tableId, rows, emptyText, columns) {
  const tbody = document.querySelector(`#${tableId} tbody`);
  tbody.replaceChildren();
  if (!rows.length) {
    tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: String(columns) }, emptyText)));
    return;
  }
  for (const r of rows) tbody.append(r);
}

function renderHosts() {
  document.getElementById('host-count').textContent = String(state.hosts.length);
  fillBody('hosts-table', state.hosts.map((h) => {
    // As the original's Host Info: sum of actor instance counts, number of provider rows.
    const instances = state.actors.filter((a) => a.host_id === h.id).reduce((n, a) => n + a.count, 0);
    const providers = state.providers.filter((p) => p.host_id === h.id).length;
    return el('tr', { dataset: { host: h.id } },
      el('td', {}, shortId(h.id)), el('td', { class: 'friendly-name' }, h.friendly_name),
      el('td', {}, Object.entries(h.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ')),
      el('td', {}, h.uptime_human), el('td', {}, h.lattice_prefix),
      el('td', { class: 'actor-count' }, instances), el('td', { class: 'provider-count' }, providers));
  }), 'No hosts found', 7);
}

/** The host chosen in "Select Host" ("" = Show All); filters the actors and providers tables. */
function selectedHost() {
  return document.getElementById('host-filter').value;
}

function shown(rows) {
  const h = selectedHost();
  return h ? rows.filter((r) => r.host_id === h) : rows;
}

/** The "managed by wadm" badge of an actor or provider row (nothing when wadm does not manage it). */
function managedBadge(row) {
  if (row.managed_by !== 'wadm') return '';
  return el('span', { class: 'managed', title: `Started by wadm for application "${row.app}"`, dataset: { app: row.app } }, `managed by wadm: ${clip(row.app, 60)}`);
}

/**
 * Asks before a person stops or scales by hand what wadm manages (it would put it back).
 * Resolves true when the action may go ahead (not managed, or the person confirmed).
 */
function confirmManaged(row, what, verb) {
  if (row?.managed_by !== 'wadm') return true;
  return window.confirm(`${what} is managed by application "${row.app}": wadm will put it back. ${verb} it anyway?`);
}

function renderApps() {
  const view = state.applications || { available: false, message: '', apps: [] };
  const msg = document.getElementById('apps-message');
  msg.textContent = view.message || '';
  msg.dataset.available = String(Boolean(view.available));
  fillBody('apps-table', (view.apps || []).map((a) => {
    const actions = el('td', {});
    const deployed = Boolean(a.deployed_version);
    const btn = el('button', { type: 'button', class: deployed ? 'undeploy danger' : 'deploy' }, deployed ? 'Undeploy' : 'Deploy');
    btn.addEventListener('click', async () => {
      const r = await api(deployed ? '/api/apps/undeploy' : '/api/apps/deploy', { name: a.name });
      if (!r.ok) notice(`${deployed ? 'Undeploy' : 'Deploy'} ${a.name}: ${r.body.error}`);
    });
    actions.append(btn);
    const comps = el('ul', { class: 'components' }, ...(a.components || []).map((c) => el('li', { dataset: { component: c.name } },
      `${c.name} (${c.type}) `, el('span', { class: `status ${String(c.status).toLowerCase()}`, title: c.status_message || '' }, c.status || 'unknown'))));
    const status = el('td', { class: 'app-status' }, el('span', { class: `status ${String(a.status).toLowerCase()}` }, a.status),
      a.status_message ? el('div', { class: 'hint status-message' }, a.status_message) : '');
    return el('tr', { dataset: { app: a.name } }, el('td', { class: 'name' }, a.name),
      el('td', { class: 'deployed-version' }, a.deployed_version || '—'), el('td', { class: 'latest-version' }, a.latest_version),
      status, el('td', {}, comps), actions);
  }), view.available ? 'No applications' : 'Applications unavailable', 6);
}

function renderActors() {
  fillBody('actors-table', shown(state.actors).map((a) => {
    const scaleBtn = el('button', { type: 'button', class: 'scale' }, 'Scale');
    scaleBtn.addEventListener('click', () => openScale(a));
    const stopBtn = el('button', { type: 'button', class: 'stop danger' }, 'Stop');
    stopBtn.addEventListener('click', async () => {
      if (!confirmManaged(a, `Actor "${a.name}"`, 'Stop')) return;
      const r = await api('/api/actors/scale', { host_id: a.host_id, actor_id: a.id, actor_ref: a.image_ref, count: 0 });
      if (!r.ok) notice(`Stop actor: ${r.body.error}`);
    });
    return el('tr', { dataset: { actor: a.id, host: a.host_id } },
      el('td', { class: 'name' }, a.name, managedBadge(a)), el('td', {}, shortId(a.id)), el('td', {}, shortId(a.host_id)),
      el('td', { class: 'count' }, a.count), el('td', { class: 'ref' }, a.image_ref),
      el('td', { class: 'revision' }, a.revision), el('td', {}, scaleBtn, ' ', stopBtn));
  }), 'No actors running', 7);
  fillBody('watches-table', (state.watches || []).map((w) => {
    const stop = el('button', { type: 'button', class: 'stop-watch' }, 'Stop Hotwatch');
    stop.addEventListener('click', async () => {
      const r = await api('/api/hotwatch/stop', { path: w.path });
      if (!r.ok) notice(`Stop hotwatch: ${r.body.error}`);
    });
    return el('tr', { dataset: { path: w.path } }, el('td', {}, w.path), el('td', {}, shortId(w.actor_id)),
      el('td', {}, shortId(w.host_id)), el('td', { class: 'error-text' }, w.last_error), el('td', {}, stop));
  }), 'No files watched', 5);
}

function renderProviders() {
  fillBody('providers-table', shown(state.providers).map((p) => {
    const stop = el('button', { type: 'button', class: 'stop danger' }, 'Stop');
    stop.addEventListener('click', async () => {
      if (!confirmManaged(p, `Provider "${p.name}" (${p.link_name})`, 'Stop')) return;
      const r = await api('/api/providers/stop', { host_id: p.host_id, provider_id: p.id, link_name: p.link_name, contract_id: p.contract_id });
      if (!r.ok) notice(`Stop provider: ${r.body.error}`);
    });
    return el('tr', { dataset: { provider: p.id, host: p.host_id, link: p.link_name } },
      el('td', { class: 'name' }, p.name, managedBadge(p)), el('td', { class: 'key' }, shortId(p.id)),
      el('td', { class: 'link-name' }, p.link_name), el('td', { class: 'contract' }, p.contract_id),
      el('td', { class: 'host', title: p.host_id }, hostName(p.host_id)),
      el('td', {}, el('span', { class: `status ${p.status.toLowerCase()}` }, p.status)), el('td', {}, stop));
  }), 'No providers running', 7);
}

function renderLinks() {
  fillBody('links-table', state.links.map((l) => {
    const del = el('button', { type: 'button', class: 'delete danger' }, 'Delete');
    del.addEventListener('click', async () => {
      const r = await api('/api/links/delete', { actor_id: l.actor_id, contract_id: l.contract_id, link_name: l.link_name });
      if (!r.ok) notice(`Delete link: ${r.body.error}`);
    });
    const values = Object.entries(l.values || {}).map(([k, v]) => `${k}=${v}`).join(',');
    const actions = el('td', {}, del);
    if (values) {
      const copy = el('button', { type: 'button', class: 'copy-values' }, 'Copy Values');
      copy.addEventListener('click', () => navigator.clipboard?.writeText(values).catch(() => {}));
      actions.append(' ', copy);
    }
    return el('tr', { dataset: { link: l.id } }, el('td', {}, l.link_name), el('td', {}, l.contract_id),
      el('td', {}, shortId(l.actor_id)), el('td', {}, shortId(l.provider_id)), el('td', {}, values), actions);
  }), 'No link definitions', 6);
}

/** Rebuilds every host chooser, keeping the current choice. */
function renderHostSelects() {
  for (const s of document.querySelectorAll('select.host-select')) {
    const keep = s.value;
    const opts = [];
    if (s.dataset.any) opts.push(el('option', { value: '' }, s.dataset.any));
    for (const h of state.hosts) opts.push(el('option', { value: h.id }, `${clip(h.friendly_name || '', 60)} (${h.id.slice(0, 5)}…)`));
    s.replaceChildren(...opts);
    if ([...s.options].some((o) => o.value === keep)) s.value = keep;
  }
  for (const s of document.querySelectorAll('select.claims-select')) {
    const keep = s.value;
    const kind = s.dataset.kind;
    const opts = [el('option', { value: '' }, kind === 'actor' ? '-- Select an actor --' : '-- Select a provider --')];
    for (const c of state.claims.filter((x) => x.kind === kind && x.id.length === 56))
      opts.push(el('option', { value: c.id }, `${clip(c.name || 'N/A', 60)} (${c.id.slice(0, 5)}...)`));
    s.replaceChildren(...opts);
    if ([...s.options].some((o) => o.value === keep)) s.value = keep;
  }
}

function render() {
  renderHostSelects();
  renderHosts();
  renderApps();
  renderActors();
  renderProviders();
  renderLinks();
}

/**
 * Adds a log entry to the event log. Only a live (not history) lattice failure raises a notice:
 * the dashboard's own refusals go to the page that made the request (its form or button).
 */
function appendLog(entry) {
  const li = el('li', { class: `log ${entry.level} type-${entry.type}`, dataset: { type: entry.type } },
    el('time', {}, (entry.time || '').replace('T', ' ').slice(0, 19)), ' ',
    el('span', { class: 'type' }, entry.type), ' ', el('span', { class: 'summary' }, entry.summary));
  const log = document.getElementById('event-log');
  log.prepend(li);
  while (log.children.length > 300) log.lastChild.remove();
  if (entry.level === 'error' && !entry.history && entry.source !== 'dashboard') notice(entry.summary);
}

// ---------------------------------------------------------------- metrics

const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04'];

function chartFor(id, label) {
  if (!window.Chart) return null;
  if (!charts[id]) {
    charts[id] = new window.Chart(document.getElementById(id), {
      type: 'line',
      data: { labels: [], datasets: [] },
      options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, title: { display: true, text: label } } }, plugins: { legend: { position: 'bottom' } } },
    });
  }
  return charts[id];
}

/** The latest plotted values per actor as `{actorId: [[secondsAgo, value]...]}` (null seconds
 *  left out): written on each chart's canvas as data-points so that tests and people can read
 *  what is drawn. */
function plottedPoints(field) {
  const out = {};
  const n = metrics.window_seconds;
  for (const a of metrics.actors) {
    out[a.id] = a[field].map((v, i) => [n - 1 - i, v]).filter(([, v]) => v !== null);
  }
  return out;
}

function renderMetrics() {
  document.getElementById('chart-missing').hidden = Boolean(window.Chart);
  const labels = [];
  for (let i = metrics.window_seconds - 1; i >= 0; i--) labels.push(i === 0 ? 'now' : `-${i}s`);
  const series = [['chart-rate', 'per_second', 'calls/s'], ['chart-errors', 'errors_per_second', 'errors/s'], ['chart-latency', 'latency_ms', 'ms']];
  for (const [id, field, label] of series) {
    document.getElementById(id).dataset.points = JSON.stringify(plottedPoints(field));
    const c = chartFor(id, label);
    if (!c) continue;
    c.data.labels = labels;
    // Latency is a per-second mean with gaps (null) where nothing ran: points are drawn so that
    // a lone second is visible, and lines span the gaps.
    const radius = field === 'latency_ms' ? 3 : 0;
    c.data.datasets = metrics.actors.map((a, i) => ({ label: actorName(a.id), actorId: a.id, data: a[field], borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], spanGaps: true, pointRadius: radius }));
    c.update();
  }
  fillBody('metrics-table', metrics.actors.map((a) => {
    const lat = a.latency_ms.filter((x) => x !== null);
    return el('tr', { dataset: { actor: a.id } }, el('td', {}, actorName(a.id)), el('td', { class: 'total' }, a.total),
      el('td', { class: 'errors' }, a.errors), el('td', {}, a.per_second[a.per_second.length - 1] ?? 0),
      el('td', { class: 'latency' }, lat.length ? (lat.reduce((x, y) => x + y, 0) / lat.length).toFixed(2) : 'n/a'));
  }), 'No invocations yet', 5);
}

// ---------------------------------------------------------------- forms

function formJson(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (!(v instanceof File)) out[k] = v;
  return out;
}

function openScale(a) {
  const d = document.getElementById('dialog-scale');
  const f = d.querySelector('form');
  f.querySelector('.title').textContent = `Scale "${a.name}"`;
  f.host_id.value = a.host_id;
  f.actor_id.value = a.id;
  f.actor_ref.value = a.image_ref || '';
  f.count.value = a.count;
  setMessage(f, '', true);
  d.showModal();
}

/** Wires a form: validates, posts, shows the server's acknowledgement or error. */
function wire(formId, path, { prepare, multipart = false, done } = {}) {
  const form = document.getElementById(formId);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body = multipart ? new FormData(form) : formJson(form);
    if (prepare) {
      const problem = prepare(body, form);
      if (problem) return setMessage(form, problem, false);
    }
    setMessage(form, 'Sending…', true);
    const r = await api(path, body);
    if (!r.ok) return setMessage(form, r.body.error || `HTTP ${r.status}`, false);
    setMessage(form, done ? done(r.body) : 'Accepted', true);
  });
}

function startedText(b) {
  return `Accepted: ${b.count} instance(s) of ${b.actor_id?.slice(0, 8)}… requested on host ${hostName(b.host_id)}`;
}

function setupForms() {
  document.getElementById('host-filter').addEventListener('change', () => { renderActors(); renderProviders(); });
  for (const b of document.querySelectorAll('[data-open]')) {
    b.addEventListener('click', () => {
      const d = document.getElementById(b.dataset.open);
      setMessage(d.querySelector('form'), '', true);
      d.showModal();
    });
  }
  for (const b of document.querySelectorAll('dialog .close')) b.addEventListener('click', () => b.closest('dialog').close());

  wire('form-start-oci', '/api/actors/start', { done: startedText });
  wire('form-upload', '/api/actors/upload', {
    multipart: true,
    prepare: (fd) => {
      const f = fd.get('file');
      if (!(f instanceof File) || f.size === 0) return 'Please select a file';
      if (f.size > MAX_ACTOR_UPLOAD) return 'Uploaded actor was too large, must be under 16000000 bytes';
      return null;
    },
    done: (b) => `${startedText(b)} from ${b.actor_ref}`,
  });
  wire('form-hotreload', '/api/actors/hotreload', { done: (b) => `${startedText(b)}; watching ${b.watching}` });
  wire('form-scale', '/api/actors/scale', {
    prepare: (body) => {
      const a = state.actors.find((x) => x.id === body.actor_id && x.host_id === body.host_id);
      return confirmManaged(a, `Actor "${a?.name}"`, 'Scale') ? null : 'Not scaled: wadm manages this actor';
    },
    done: (b) => `Accepted: scaling to ${b.count} instance(s) on host ${hostName(b.host_id)}` });
  wire('form-start-provider', '/api/providers/start', { done: (b) => `Accepted: starting ${b.provider_ref} on host ${hostName(b.host_id)}` });
  wire('form-upload-provider', '/api/providers/upload', {
    multipart: true,
    prepare: (fd) => {
      const f = fd.get('file');
      if (!(f instanceof File) || f.size === 0) return 'Please select a provider archive file';
      if (f.size > MAX_PROVIDER_UPLOAD) return 'Provider archive too large (limit: 64.0MB). Consider the --compress option to `par create`';
      return null;
    },
    done: (b) => `Accepted: starting ${b.provider_ref} on host ${hostName(b.host_id)}`,
  });
  // Choosing a provider fills in its contract when the field is still empty (from the
  // providers table; the person can still type another). The list and the typed ID exclude each
  // other: whichever the person touched last is the one sent.
  const linkForm = document.getElementById('form-link');
  linkForm.provider_id.addEventListener('change', () => {
    if (linkForm.provider_id.value) linkForm.provider_id_text.value = '';
    const p = state.providers.find((x) => x.id === linkForm.provider_id.value);
    if (p && !linkForm.contract_id.value) linkForm.contract_id.value = p.contract_id;
  });
  linkForm.provider_id_text.addEventListener('input', () => {
    if (linkForm.provider_id_text.value) linkForm.provider_id.value = '';
  });
  wire('form-link', '/api/links/put', {
    prepare: (body) => {
      if (body.provider_id_text) body.provider_id = body.provider_id_text.trim();
      delete body.provider_id_text;
      if (!body.actor_id) return 'Please select an Actor ID to link';
      if (!body.provider_id) return 'Please select a Provider ID to link';
      return null;
    },
    done: () => 'Link definition published',
  });
}

// ---------------------------------------------------------------- live updates

function connect() {
  const badge = document.getElementById('connection');
  const es = new EventSource('/api/events');
  es.addEventListener('open', () => {
    badge.textContent = 'live';
    badge.dataset.state = 'live';
    // Every stream starts with the whole history: listed afresh, without notices.
    document.getElementById('event-log').replaceChildren();
  });
  es.addEventListener('error', () => {
    badge.textContent = 'reconnecting…';
    badge.dataset.state = 'down';
    // A refused stream (503: too many open) is not retried by the browser itself.
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
  });
  es.addEventListener('state', (e) => { state = JSON.parse(e.data); render(); });
  es.addEventListener('metrics', (e) => { metrics = JSON.parse(e.data); renderMetrics(); });
  es.addEventListener('log', (e) => {
    const entry = JSON.parse(e.data);
    if (entry.type === 'host_heartbeat' && !document.getElementById('show-heartbeats').checked) return;
    appendLog(entry);
  });
}

async function init() {
  setupForms();
  try {
    const s = await (await fetch('/api/session')).json();
    for (const r of document.querySelectorAll('.registry')) r.textContent = s.registry;
    document.getElementById('version-badge').textContent = `Version: ${s.version}`;
  } catch { /* shown by the connection badge */ }
  connect();
}

init();
