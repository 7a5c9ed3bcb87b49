// Poster Studio's page: plain DOM, no framework, no inline code (the server's CSP forbids it).
// Every text from the server goes in through textContent; only the report's own chart SVGs,
// built and escaped on the server, are inserted as markup.
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};
const pct = (v) => `${Math.round(v * 100)}%`;
const status = (msg) => {
  $('status').textContent = msg;
};

async function api(path, init) {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}
const postJson = (path, v) =>
  api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(v) });

// Tabs: click, or arrow keys / Home / End on the tab list (the WAI-ARIA tabs pattern).
const tabs = [...document.querySelectorAll('[role=tab]')];
function select(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  tab.focus();
  if (tab.id === 'tab-runs') loadRun();
}
tabs.forEach((t, i) => {
  t.addEventListener('click', () => select(t));
  t.addEventListener('keydown', (e) => {
    const j = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (j === undefined) return;
    e.preventDefault();
    select(tabs[(j + tabs.length) % tabs.length]);
  });
});

function off(panel, msg) {
  const p = $(panel).querySelector('.off');
  p.textContent = msg;
  p.hidden = false;
  for (const c of $(panel).children) if (c !== p && c.id !== 'status') c.hidden = true;
}

let info = null;
let current = null; // the last generate answer: {seed, genres, decade, posters}

function condition() {
  const genres = [...document.querySelectorAll('#genres input:checked')].map((i) => i.value);
  const d = $('decade').value;
  return { genres, decade: d === '' ? null : Number(d) };
}

function posterCard(p, onPick) {
  const img = el('img', { src: p.png, alt: p.file });
  const top = el('div', {
    class: 'top',
    text: p.top.map((t) => `${t.genre} ${pct(t.score)}`).join(' · ') || 'no classifier',
  });
  const dl = el('a', { href: p.png, download: p.file, text: 'download PNG' });
  const card = el('figure', { class: 'poster' });
  if (onPick) {
    const b = el('button', { type: 'button', 'aria-label': `explore around ${p.file}` }, img);
    b.addEventListener('click', () => onPick(card));
    card.append(b);
  } else card.append(img);
  card.append(top, dl);
  return card;
}

async function generate(e) {
  e?.preventDefault();
  const body = { count: Number($('count').value), seed: Number($('seed').value), ...condition() };
  $('gen-go').disabled = true;
  status('generating…');
  try {
    current = await postJson('/api/generate', body);
    const box = $('posters');
    box.replaceChildren(...current.posters.map((p, i) => posterCard(p, (card) => explore(i, card))));
    $('detail').hidden = true;
    status(`${current.posters.length} poster(s), seed ${current.seed}`);
  } catch (err) {
    status(err.message);
  } finally {
    $('gen-go').disabled = false;
  }
}

async function explore(i, card) {
  document.querySelectorAll('#posters .poster').forEach((c) => c.classList.remove('chosen'));
  card.classList.add('chosen');
  const p = current.posters[i];
  $('detail').hidden = false;
  $('detail-title').textContent = `Around ${p.file}`;
  const to = $('interp-to');
  to.replaceChildren(...current.posters.map((q, j) => el('option', { value: String(j), text: `#${j + 1}` })));
  to.value = String((i + 1) % current.posters.length);
  to.onchange = () => interpolate(i);
  status('exploring…');
  try {
    const near = await postJson('/api/neighbours', {
      seed: p.seed,
      index: p.index,
      genres: current.genres,
      decade: current.decade,
    });
    $('neighbours').replaceChildren(...near.posters.map((q) => posterCard(q)));
    await interpolate(i);
    status('');
  } catch (err) {
    status(err.message);
  }
}

async function interpolate(i) {
  const a = current.posters[i];
  const b = current.posters[Number($('interp-to').value)];
  try {
    const r = await postJson('/api/interpolate', {
      from: { seed: a.seed, index: a.index },
      to: { seed: b.seed, index: b.index },
      genres: current.genres,
      decade: current.decade,
      steps: 8,
    });
    $('interp').replaceChildren(...r.posters.map((q) => posterCard(q)));
  } catch (err) {
    status(err.message);
  }
}

function setupGenerate() {
  const g = info.generator;
  if (!g) return off('generate', 'No generator loaded: start serve with --checkpoint <dcgan train output>.');
  $('count').max = String(g.maxCount);
  if (g.condition) {
    $('genres').replaceChildren(
      el('legend', { text: 'Genres' }),
      ...g.condition.genres.map((name) => el('label', {}, el('input', { type: 'checkbox', value: name }), name)),
    );
    $('decade').append(...g.condition.decades.map((d) => el('option', { value: String(d), text: `${d}s` })));
  } else {
    $('genres').replaceChildren(
      el('legend', { text: 'Genres' }),
      el('span', { class: 'note', text: 'this generator is not conditional' }),
    );
    $('decade').disabled = true;
  }
  $('gen-form').addEventListener('submit', generate);
  $('surprise').addEventListener('click', () => {
    $('seed').value = String(crypto.getRandomValues(new Uint32Array(1))[0] % 2147483647);
    generate();
  });
}

// Classify: the file itself is the request body; the preview is the browser's own copy (blob:).
let upload = null;
async function classify(file) {
  upload = file;
  $('preview').src = URL.createObjectURL(file);
  $('preview-name').textContent = file.name;
  $('preview-fig').hidden = false;
  status('classifying…');
  try {
    const r = await api('/api/classify', { method: 'POST', body: file });
    const rows = [...r.genres]
      .sort((a, b) => b.score - a.score)
      .map((g) => {
        const track = el(
          'div',
          { class: 'track', role: 'img', 'aria-label': `${g.genre} ${pct(g.score)}, threshold ${pct(g.threshold)}` },
          el('div', { class: 'fill' }),
          el('div', { class: 'thr' }),
        );
        track.firstChild.style.width = pct(g.score);
        track.lastChild.style.left = pct(g.threshold);
        return el(
          'div',
          { class: `bar${g.predicted ? ' yes' : ''}` },
          el('span', { class: 'name', text: g.genre }),
          track,
          el('span', { text: pct(g.score) }),
        );
      });
    $('bars').replaceChildren(
      el('p', { class: 'note', text: "bar: score; orange line: the genre's tuned threshold; green: over it" }),
      ...rows,
    );
    const heads = [];
    if (r.year)
      heads.push(`year ≈ ${Math.round(r.year.value)} (mean error on validation: ${r.year.mae.toFixed(1)} years)`);
    if (r.imdb)
      heads.push(`IMDB score ≈ ${r.imdb.value.toFixed(1)} (mean error on validation: ${r.imdb.mae.toFixed(2)})`);
    $('heads').textContent = heads.length ? heads.join('; ') : 'this classifier has no year / IMDB-score heads';
    const sel = $('sal-genre');
    sel.replaceChildren(
      ...[...r.genres].sort((a, b) => b.score - a.score).map((g) => el('option', { value: g.genre, text: g.genre })),
    );
    await saliency();
    status('');
  } catch (err) {
    $('bars').replaceChildren();
    status(err.message);
  }
}

async function saliency() {
  if (!upload) return;
  try {
    const r = await api(`/api/saliency?genre=${encodeURIComponent($('sal-genre').value)}`, {
      method: 'POST',
      body: upload,
    });
    $('saliency').src = r.png;
    $('saliency').alt = `what the classifier looks at for ${r.genre}`;
    $('sal-fig').hidden = false;
  } catch (err) {
    status(err.message);
  }
}

function setupClassify() {
  if (!info.classifier)
    return off('classify', 'No classifier loaded: start serve with --model <classifier train output>.');
  const drop = $('drop');
  $('file').addEventListener('change', () => $('file').files[0] && classify($('file').files[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) classify(e.dataTransfer.files[0]);
  });
  $('sal-genre').addEventListener('change', saliency);
}

let runLoaded = false;
async function loadRun() {
  if (runLoaded || !info) return;
  if (!info.run) return off('runs', 'No run folder: start serve with --samples <dcgan train output>.');
  runLoaded = true;
  try {
    const r = await api('/api/run');
    $('run-dir').textContent =
      `${r.dir}: ${r.grids.length} grid(s)${r.problems.length ? `; ${r.problems.join('; ')}` : ''}`;
    if (r.grids.length) {
      const s = $('grid-slider');
      s.max = String(r.grids.length - 1);
      const show = () => {
        const g = r.grids[Number(s.value)];
        $('grid-img').src = g.url;
        $('grid-label').textContent = g.iteration === null ? `#${Number(s.value) + 1}` : `iteration ${g.iteration}`;
      };
      s.value = s.max;
      s.addEventListener('input', show);
      show();
      $('run-grids').hidden = false;
    }
    // Built by the report's chart code on the server, with every label escaped there.
    $('run-losses').innerHTML = r.losses ?? '<p class="note">no losses.csv yet</p>';
    $('run-fid').innerHTML = r.fid ?? '<p class="note">no fid.json yet: run poster-studio fid</p>';
    $('run-quality').innerHTML =
      r.quality ?? '<p class="note">no eval.json or kid.csv yet: run dcgan eval --checkpoint &lt;run folder&gt;</p>';
    if (r.video) {
      $('run-video').src = r.video;
      $('run-video').hidden = false;
    }
  } catch (err) {
    runLoaded = false;
    status(err.message);
  }
}

(async () => {
  try {
    info = await api('/api/info');
  } catch (err) {
    return status(`cannot reach the studio: ${err.message}`);
  }
  const m = [];
  const g = info.generator;
  const c = info.classifier;
  if (g)
    m.push(
      `generator: ${g.condition ? 'conditional ' : ''}${g.width}x${g.height}, iteration ${g.iteration} (${g.name})`,
    );
  if (c) m.push(`classifier: ${c.name} (${c.genres.length} genres)`);
  $('models').textContent = m.join(' · ');
  setupGenerate();
  setupClassify();
  document.body.dataset.ready = 'true';
})();
