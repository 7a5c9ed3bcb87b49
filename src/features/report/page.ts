/**
 * The page frame: one HTML file with its style inline and no scripts, so it opens from disk,
 * offline, in any browser, and can be mailed as one attachment.
 */
import { escapeHtml } from '../../core/escape.js';

export interface SectionHtml {
  id: string;
  title: string;
  /** HTML body, or null when the inputs are missing. */
  body: string | null;
  /** Shown when body is null: what to run to fill the section. */
  missing?: string;
  intro?: string;
}

const CSS = `
:root { --ink:#1d2330; --muted:#6b7385; --line:#e3e6ee; --bg:#f6f7fb; --card:#fff; --accent:#3b5bdb; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { background:#141a2a; color:#fff; padding:28px 40px 22px; }
header h1 { margin:0 0 4px; font-size:26px; letter-spacing:.2px; }
header p { margin:2px 0; color:#b9c0d4; font-size:13px; }
header code { background:#2a3350; color:#dfe5ff; padding:1px 5px; border-radius:4px; }
nav { display:flex; flex-wrap:wrap; gap:6px; margin-top:14px; }
nav a { color:#dfe5ff; text-decoration:none; font-size:13px; padding:3px 10px; border:1px solid #3a4464; border-radius:14px; }
nav a.na { color:#7f89a6; border-style:dashed; }
main { max-width:1200px; margin:0 auto; padding:24px 24px 60px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:18px 22px 22px; margin:0 0 22px; }
section h2 { margin:0 0 4px; font-size:19px; }
section .intro { margin:0 0 14px; color:var(--muted); font-size:13.5px; }
.na-line { margin:6px 0 12px; color:#8a5a00; background:#fff8e6; border:1px solid #f2dfb0; border-radius:6px; padding:8px 12px; font-size:14px; }
.na-line code, code { background:#eef1f8; padding:1px 5px; border-radius:4px; font-size:13px; }
.timeline { display:flex; gap:14px; overflow-x:auto; padding-bottom:8px; }
.timeline figure { margin:0; flex:0 0 auto; width:min-content; }
.timeline img { height:230px; border-radius:4px; border:1px solid var(--line); image-rendering:auto; }
figure figcaption { font-size:12.5px; color:var(--muted); margin-top:4px; }
.latest img.big { max-width:100%; border-radius:6px; border:1px solid var(--line); }
video { width:min(720px, 100%); max-height:560px; border-radius:6px; background:#000; display:block; }
.chart { max-width:100%; height:auto; }
.chart .grid { stroke:#edf0f6; } .chart .axis { stroke:#9aa3b5; }
.chart .tick { font-size:11px; fill:#6b7385; } .chart .label { font-size:12px; fill:#3d4457; }
.chart .chart-title { font-size:14px; font-weight:600; fill:#1d2330; } .chart .legend { font-size:12px; fill:#3d4457; }
.charts { display:flex; flex-wrap:wrap; gap:18px; }
.posters { display:grid; grid-template-columns:repeat(auto-fill, minmax(100px, 1fr)); gap:10px 12px; }
.poster { font-size:11.5px; }
.poster img { width:100%; border-radius:4px; border:1px solid var(--line); image-rendering:pixelated; display:block; }
.poster .cell { color:var(--muted); margin:3px 0 2px; }
.bar { position:relative; display:flex; justify-content:space-between; font-size:11px; line-height:15px; padding:0 4px; margin-top:2px; border-radius:3px;
  background:linear-gradient(to right, #c5d3ff var(--v), #f1f3f8 var(--v)); }
.bar span { color:#4a5266; }
table.metrics { border-collapse:collapse; font-size:13.5px; margin:6px 0 12px; }
table.metrics th, table.metrics td { border-bottom:1px solid var(--line); padding:4px 12px; text-align:right; }
table.metrics th:first-child, table.metrics td:first-child { text-align:left; }
table.metrics thead th { background:#f2f4f9; }
.kv { display:flex; flex-wrap:wrap; gap:10px; margin:6px 0 12px; }
.kv div { background:#f2f4f9; border-radius:6px; padding:6px 12px; font-size:13px; }
.kv b { display:block; font-size:17px; }
.saliency { display:grid; gap:10px; }
.saliency .row { display:flex; gap:8px; align-items:flex-start; overflow-x:auto; }
.saliency figure { margin:0; text-align:center; max-width:110px; font-size:12px; }
.saliency img { width:110px; border-radius:4px; border:1px solid var(--line); display:block; }
.note { color:var(--muted); font-size:12.5px; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:10px; }
`;

export function renderPage(title: string, subtitle: string[], sections: readonly SectionHtml[]): string {
  const nav = sections
    .map((s) => `<a href="#${s.id}"${s.body === null ? ' class="na"' : ''}>${escapeHtml(s.title)}</a>`)
    .join('');
  const body = sections
    .map((s) => {
      const content = s.body ?? `<p class="na-line">not available: ${s.missing ?? 'no input'}</p>`;
      return `<section id="${s.id}" data-available="${s.body !== null}"><h2>${escapeHtml(s.title)}</h2>${s.intro ? `<p class="intro">${s.intro}</p>` : ''}${content}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><header><h1>${escapeHtml(title)}</h1>${subtitle.map((l) => `<p>${l}</p>`).join('')}<nav>${nav}</nav></header>
<main>
${body}
</main><footer>Generated by poster-studio report. Self-contained: every image is embedded; open it offline.</footer></body></html>
`;
}
