// The audit page: a thin client of /api/v1 (see /api/v1/openapi.json). Every value from the API is
// put in the page as text, never as markup.
'use strict';

const TOKEN_KEY = 'poolmig.token';
const $ = (selector) => document.querySelector(selector);

function token() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromFragment) {
    sessionStorage.setItem(TOKEN_KEY, fromFragment);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function say(text, isError) {
  const status = $('#status');
  status.textContent = text;
  status.classList.toggle('error', Boolean(isError));
}

class Unauthorized extends Error {}

async function api(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && String(value).trim() !== '') {
      query.set(name, String(value).trim());
    }
  }
  const url = '/api/v1/' + path + (query.toString() ? '?' + query : '');
  const response = await fetch(url, { headers: { Authorization: 'Bearer ' + (token() || '') } });
  const body = await response.json();
  if (response.status === 401) {
    throw new Unauthorized(body.error);
  }
  if (!response.ok) {
    throw new Error(body.error || response.statusText);
  }
  return body;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  if (className) {
    node.className = className;
  }
  return node;
}

const time = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
function size(bytes) {
  if (bytes === null || bytes === undefined) {
    return '';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return (unit === 0 ? value : value.toFixed(1)) + ' ' + units[unit];
}
// Who asked: the name shown, where from and as which database role, and for whom.
function who(r) {
  const role = r.dbRole ? ' (db role ' + r.dbRole + ')' : '';
  const real = r.osUser ? r.osUser + '@' + r.clientHost + role : r.requestedBy;
  return r.onBehalfOf ? real + ' on behalf of ' + r.onBehalfOf : real;
}
const whoShort = (r) => (r.onBehalfOf ? r.requestedBy + ' for ' + r.onBehalfOf : r.requestedBy);
const ms = (value) => (value === null || value === undefined ? '' : value + ' ms');
const seconds = (value) => (value === null || value === undefined ? '' : (value / 1000).toFixed(1) + ' s');

function row(cells, onClick) {
  const tr = document.createElement('tr');
  for (const [text, className] of cells) {
    tr.appendChild(el('td', text, className));
  }
  tr.addEventListener('click', () => {
    tr.parentElement.querySelectorAll('tr.selected').forEach((r) => r.classList.remove('selected'));
    tr.classList.add('selected');
    onClick();
  });
  return tr;
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function definitionList(pairs) {
  const dl = document.createElement('dl');
  for (const [term, value] of pairs) {
    if (value === null || value === undefined || value === '') {
      continue;
    }
    dl.appendChild(el('dt', term));
    dl.appendChild(el('dd', value));
  }
  return dl;
}

// Each listing remembers what it last asked, so a slow answer to an older filter is dropped.
let migrationRequest = 0;
let migrationNext = null;

async function loadMigrations(append) {
  const mine = ++migrationRequest;
  const params = formValues($('#migration-filters'));
  params.limit = 100;
  if (append && migrationNext) {
    params.after = migrationNext;
  }
  say('loading…');
  try {
    const page = await api('migrations', params);
    if (mine !== migrationRequest) {
      return;
    }
    const body = $('#migration-table tbody');
    if (!append) {
      body.replaceChildren();
      $('#migration-detail').hidden = true;
    }
    for (const m of page.items) {
      body.appendChild(row([
        [time(m.startedAt)], [m.vmName], [m.sourceHost], [m.targetHost],
        [m.status, 'st-' + m.status], [size(m.bytesSent), 'num'], [m.rounds, 'num'],
        [ms(m.downtimeMs), 'num'], [seconds(m.durationMs), 'num'], [whoShort(m)],
        [m.reason, 'why'],
      ], () => showMigration(m.id)));
    }
    migrationNext = page.next;
    $('#migration-more').hidden = !page.next;
    const shown = body.children.length;
    $('#migration-count').textContent = shown === 0 ? 'No migrations match.'
      : shown + ' migration' + (shown === 1 ? '' : 's') + (page.next ? ' shown, more match' : '');
    say('');
  } catch (e) {
    failed(e);
  }
}

async function showMigration(id) {
  try {
    const detail = await api('migrations/' + encodeURIComponent(id));
    const m = detail.migration;
    const article = $('#migration-detail');
    article.replaceChildren(
      el('h2', m.vmName + ': ' + m.sourceHost + ' → ' + m.targetHost + ' (' + m.status + ')'),
      definitionList([
        ['Migration', m.id], ['Workflow', m.workflowId], ['Job', m.jobId + ' (' + m.jobKind + ')'],
        ['Requested by', who(m)], ['Why', m.reason], ['Transport', m.transport + (m.live ? ', live' : '')],
        ['Started', time(m.startedAt)], ['Finished', time(m.finishedAt)], ['Duration', seconds(m.durationMs)],
        ['Sent', size(m.bytesSent)], ['Rounds', m.rounds], ['Downtime', ms(m.downtimeMs)],
        ['Runs on', m.runsOn], ['Error', m.error], ['Waits for', m.attention],
      ]));
    const table = el('table');
    table.id = 'timeline';
    const head = el('tr');
    ['#', 'At (UTC)', 'Step', 'Status', 'Took', 'Detail'].forEach((h) => head.appendChild(el('th', h)));
    table.appendChild(el('thead')).appendChild(head);
    const body = table.appendChild(el('tbody'));
    for (const e of detail.timeline) {
      const tr = el('tr');
      [[e.seq, 'num'], [e.at.replace('T', ' ')], [e.step.toLowerCase().replace(/_/g, ' ')],
        [e.status, 'st-' + e.status], [ms(e.tookMs), 'num'], [e.detail, 'why']]
        .forEach(([text, className]) => tr.appendChild(el('td', text, className)));
      body.appendChild(tr);
    }
    article.appendChild(table);
    article.hidden = false;
  } catch (e) {
    failed(e);
  }
}

let jobRequest = 0;

async function loadJobs() {
  const mine = ++jobRequest;
  const params = formValues($('#job-filters'));
  params.limit = 200;
  say('loading…');
  try {
    const jobs = await api('jobs', params);
    if (mine !== jobRequest) {
      return;
    }
    const body = $('#job-table tbody');
    body.replaceChildren();
    $('#job-detail').hidden = true;
    for (const j of jobs) {
      body.appendChild(row([
        [time(j.createdAt)], [j.kind], [j.status, 'st-' + j.status], [j.migrations, 'num'],
        [j.committed, 'num'], [j.rolledBack, 'num'], [whoShort(j)], [j.reason, 'why'],
      ], () => showJob(j.id)));
    }
    if (jobs.length === 0) {
      const tr = body.appendChild(el('tr'));
      const td = tr.appendChild(el('td', 'No jobs match.', 'empty'));
      td.colSpan = 8;
    }
    say('');
  } catch (e) {
    failed(e);
  }
}

async function showJob(id) {
  try {
    const detail = await api('jobs/' + encodeURIComponent(id));
    const s = detail.summary;
    const article = $('#job-detail');
    article.replaceChildren(
      el('h2', s.job.kind + ' job ' + s.job.id + ' (' + s.job.status + ')'),
      definitionList([
        ['Requested by', who(s.job)], ['Why', s.job.reason], ['Started', time(s.job.createdAt)],
        ['Finished', time(s.job.finishedAt)], ['VMs', s.vms],
        ['Migrations', s.job.migrations + ' (' + s.job.committed + ' committed, ' + s.job.rolledBack + ' rolled back)'],
        ['Bytes sent', size(s.bytesSent)], ['Makespan', seconds(s.makespanMs)],
        ['Downtime', s.downtimeMsMedian === null ? '' : 'median ' + s.downtimeMsMedian + ' ms, max ' + s.downtimeMsMax + ' ms'],
      ]));
    if (detail.events.length) {
      article.appendChild(el('h2', 'Events'));
      for (const e of detail.events) {
        article.appendChild(el('p', time(e.at) + '  ' + e.kind + ' by ' + e.who
          + (e.onBehalfOf ? ' for ' + e.onBehalfOf : '') + (e.detail ? ' (' + e.detail + ')' : '')));
      }
    }
    article.appendChild(el('h2', s.failures.length ? 'Failures' : 'No failures'));
    for (const f of s.failures) {
      article.appendChild(el('p', f.vmName + ' ' + f.sourceHost + ' → ' + f.targetHost + ': ' + f.status
        + (f.error ? ' — ' + f.error : '')));
    }
    article.hidden = false;
  } catch (e) {
    failed(e);
  }
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

// A bar chart: one group of bars per label, one bar per series, scaled to the largest value.
function bars(target, labels, series, classes) {
  const container = $(target);
  container.replaceChildren();
  if (labels.length === 0) {
    container.appendChild(el('p', 'Nothing in this window.', 'empty'));
    return;
  }
  const width = 480;
  const height = 180;
  const left = 44;
  const bottom = 28;
  const max = Math.max(1, ...series.flat().map((v) => v || 0));
  const chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, width: '100%', role: 'img' });
  const slot = (width - left) / labels.length;
  const barWidth = Math.max(1, (slot * 0.8) / series.length);
  chart.appendChild(svg('text', { x: 2, y: 10 }, String(Math.round(max * 10) / 10)));
  chart.appendChild(svg('text', { x: 2, y: height - bottom }, '0'));
  labels.forEach((label, i) => {
    series.forEach((values, s) => {
      const value = values[i] || 0;
      const h = ((height - bottom - 8) * value) / max;
      const bar = svg('rect', {
        x: left + i * slot + s * barWidth, y: height - bottom - h, width: barWidth, height: h,
        class: 'bar ' + (classes[s] || ''),
      });
      bar.appendChild(svg('title', {}, label + ': ' + value));
      chart.appendChild(bar);
    });
    const every = Math.ceil(labels.length / 8);
    if (i % every === 0 && left + i * slot + 30 < width) {
      chart.appendChild(svg('text', { x: left + i * slot, y: height - 10 }, label));
    }
  });
  container.appendChild(chart);
}

let activityRequest = 0;

async function loadActivity() {
  const mine = ++activityRequest;
  say('loading…');
  try {
    const a = await api('activity', formValues($('#activity-filters')));
    if (mine !== activityRequest) {
      return;
    }
    // Every bucket of the window, empty ones too, so the time axis is even.
    const step = a.bucket === 'hour' ? 3600e3 : 86400e3;
    const byStart = new Map(a.buckets.map((b) => [Date.parse(b.start), b]));
    const buckets = [];
    for (let t = Math.floor(Date.parse(a.since) / step) * step; t < Date.parse(a.until); t += step) {
      buckets.push(byStart.get(t) || { start: new Date(t).toISOString(), migrations: 0, committed: 0,
        rolledBack: 0, mibPerSecond: null, downtimeMsMedian: null, downtimeMsMax: null });
    }
    a.buckets = buckets;
    const label = (iso) => (a.bucket === 'hour' ? iso.slice(11, 16) : iso.slice(5, 10));
    const labels = a.buckets.map((b) => label(b.start));
    document.querySelectorAll('.bucket').forEach((span) => { span.textContent = a.bucket; });
    bars('#chart-count', labels, [a.buckets.map((b) => b.committed), a.buckets.map((b) => b.rolledBack),
      a.buckets.map((b) => b.migrations - b.committed - b.rolledBack)], ['', 'bad', 'other']);
    bars('#chart-rate', labels, [a.buckets.map((b) => b.mibPerSecond)], ['']);
    bars('#chart-downtime', labels, [a.buckets.map((b) => b.downtimeMsMedian), a.buckets.map((b) => b.downtimeMsMax)], ['', 'alt']);
    bars('#chart-hosts', a.hosts.map((h) => h.host), [a.hosts.map((h) => h.outbound), a.hosts.map((h) => h.inbound)], ['', 'alt']);
    say('');
  } catch (e) {
    failed(e);
  }
}

function failed(e) {
  if (e instanceof Unauthorized) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('#login').hidden = false;
    $('main').hidden = true;
    say(e.message, true);
  } else {
    say(e.message, true);
  }
}

const loaders = { migrations: () => loadMigrations(false), jobs: loadJobs, activity: loadActivity };

function show(tab) {
  document.querySelectorAll('nav button').forEach((b) => b.classList.toggle('active', b.dataset.tab === tab));
  document.querySelectorAll('section.tab').forEach((s) => { s.hidden = s.id !== tab; });
  loaders[tab]();
}

// Filters apply as they are typed, a quarter of a second after the last key.
function live(form, load) {
  let timer = null;
  const again = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  };
  form.addEventListener('input', again);
  form.addEventListener('change', again);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
}

document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('nav button').forEach((b) => b.addEventListener('click', () => show(b.dataset.tab)));
  live($('#migration-filters'), () => loadMigrations(false));
  live($('#job-filters'), loadJobs);
  live($('#activity-filters'), loadActivity);
  $('#migration-more').addEventListener('click', () => loadMigrations(true));
  $('#login').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
    $('#login').hidden = true;
    $('main').hidden = false;
    show('migrations');
  });
  if (!token()) {
    $('#login').hidden = false;
    $('main').hidden = true;
    return;
  }
  show('migrations');
});
