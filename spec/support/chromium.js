// spec/support/chromium.js: opens a page in the Debian chromium (headless, DevTools over a pipe) and reports it as JSON.
// Usage: node spec/support/chromium.js URL SCREENSHOT.png TIMEOUT_SECONDS
// Waits until every <model-viewer> card of a hy3d gallery has settled (data-state loaded or error),
// then prints one JSON object: the cards' states, the console errors and uncaught exceptions, the
// page's window.pwned (set only if a hostile prompt ran), the prompts' text, each preview image's
// state and how many of its pixels in the screenshot differ from the page's backgrounds.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [url, shotPath, timeoutArg] = process.argv.slice(2);
const timeoutMs = Number(timeoutArg || 60) * 1000;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hy3d-chromium-'));
const chrome = spawn(process.env.CHROMIUM || 'chromium', [
  '--headless', '--no-sandbox', '--remote-debugging-pipe', '--user-data-dir=' + profile, '--no-first-run',
  '--no-default-browser-check', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--mute-audio',
  '--window-size=1280,1000', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });

let stderr = '';
chrome.stdio[2].on('data', (d) => { stderr += d; });
const toChrome = chrome.stdio[3];
const fromChrome = chrome.stdio[4];
let nextId = 1;
const waiting = new Map();
const listeners = [];
let buffer = Buffer.alloc(0);
fromChrome.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  let end;
  while ((end = buffer.indexOf(0)) >= 0) {
    const msg = JSON.parse(buffer.subarray(0, end).toString('utf8'));
    buffer = buffer.subarray(end + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
    } else if (msg.method) {
      listeners.forEach((fn) => fn(msg));
    }
  }
});

function send(method, params, sessionId) {
  const id = nextId++;
  const msg = { id, method, params: params || {} };
  if (sessionId) msg.sessionId = sessionId;
  toChrome.write(JSON.stringify(msg) + '\0');
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

// Reports once, then stops chromium and removes its profile when it has exited (it writes there until then).
let finished = false;
function finish(code, report) {
  if (finished) return;
  finished = true;
  process.stdout.write(JSON.stringify(report) + '\n');
  const done = () => {
    try { fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 }); } catch (e) { /* left in tmp */ }
    process.exit(code);
  };
  if (chrome.exitCode !== null || chrome.signalCode !== null) return done();
  chrome.once('exit', done);
  try { chrome.kill('SIGKILL'); } catch (e) { done(); }
}

const timer = setTimeout(() => finish(1, { error: 'timed out', stderr: stderr.slice(-2000) }), timeoutMs + 15000);

async function main() {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const s = (method, params) => send(method, params, sessionId);
  const consoleErrors = [];
  const exceptions = [];
  listeners.push((msg) => {
    if (msg.sessionId !== sessionId) return;
    if (msg.method === 'Runtime.consoleAPICalled' && (msg.params.type === 'error' || msg.params.type === 'assert')) {
      consoleErrors.push(msg.params.args.map((a) => a.value !== undefined ? String(a.value) : a.description).join(' '));
    } else if (msg.method === 'Runtime.exceptionThrown') {
      const d = msg.params.exceptionDetails;
      exceptions.push((d.exception && d.exception.description) || d.text);
    } else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') {
      consoleErrors.push(msg.params.entry.text + (msg.params.entry.url ? ' ' + msg.params.entry.url : ''));
    }
  });
  await s('Runtime.enable');
  await s('Log.enable');
  await s('Page.enable');
  await s('Emulation.setDeviceMetricsOverride', { width: 1280, height: 1000, deviceScaleFactor: 1, mobile: false });
  await s('Page.navigate', { url });
  // the cards' states, awaited in the page: every card with a 3D view loaded or failed
  const settle = `new Promise((resolve) => {
    const deadline = Date.now() + ${timeoutMs};
    (function poll() {
      const cards = Array.from(document.querySelectorAll('.card'));
      const busy = cards.some((c) => c.querySelector('model-viewer') &&
        !['loaded', 'error'].includes(c.getAttribute('data-state')));
      const imgs = Array.from(document.querySelectorAll('img.preview'));
      if (document.readyState === 'complete' && cards.length && !busy && imgs.every((i) => i.complete)) resolve(true);
      else if (Date.now() > deadline) resolve(false);
      else setTimeout(poll, 100);
    })();
  })`;
  const settled = (await s('Runtime.evaluate', { expression: settle, awaitPromise: true, returnByValue: true }))
    .result.value;
  const shot = await s('Page.captureScreenshot', { format: 'png' });
  fs.writeFileSync(shotPath, Buffer.from(shot.data, 'base64'));
  // what the page shows, the screenshot's pixels counted in each preview's box
  const facts = `(async (shot) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + shot;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width; canvas.height = img.height;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    const backgrounds = [[0xe8, 0xe8, 0xe4], [0xff, 0xff, 0xff], [0xf4, 0xf4, 0xf2]];
    const previews = Array.from(document.querySelectorAll('img.preview')).map((p) => {
      const r = p.getBoundingClientRect();
      const x = Math.max(0, Math.floor(r.left)), y = Math.max(0, Math.floor(r.top));
      const w = Math.max(1, Math.min(canvas.width - x, Math.floor(r.width)));
      const h = Math.max(1, Math.min(canvas.height - y, Math.floor(r.height)));
      const data = g.getImageData(x, y, w, h).data;
      let other = 0;
      for (let i = 0; i < data.length; i += 4) {
        const near = backgrounds.some((b) => Math.abs(data[i] - b[0]) + Math.abs(data[i + 1] - b[1]) +
          Math.abs(data[i + 2] - b[2]) < 24);
        if (!near) other++;
      }
      return { src: p.getAttribute('src'), complete: p.complete, naturalWidth: p.naturalWidth,
               box: [x, y, w, h], pixels: w * h, nonBackground: other };
    });
    return {
      title: document.title,
      states: Array.from(document.querySelectorAll('.card')).map((c) => c.getAttribute('data-state')),
      viewers: document.querySelectorAll('model-viewer').length,
      viewerDefined: !!(window.customElements && customElements.get('model-viewer')),
      loadedSrc: Array.from(document.querySelectorAll('model-viewer')).map((m) => (m.src || '').slice(0, 5)),
      pwned: window.pwned === undefined ? null : String(window.pwned),
      injected: document.querySelectorAll('.prompt script, .prompt img, h2 script, h2 img').length,
      prompts: Array.from(document.querySelectorAll('.prompt')).map((p) => p.textContent),
      links: Array.from(document.querySelectorAll('.files a')).map((a) => a.getAttribute('href')),
      previews,
      width: canvas.width, height: canvas.height,
    };
  })(${JSON.stringify(shot.data)})`;
  const page = (await s('Runtime.evaluate', { expression: facts, awaitPromise: true, returnByValue: true }));
  if (page.exceptionDetails) throw new Error(JSON.stringify(page.exceptionDetails));
  clearTimeout(timer);
  await send('Browser.close').catch(() => {});
  finish(0, Object.assign({ settled, consoleErrors, exceptions }, page.result.value));
}

chrome.on('error', (e) => finish(1, { error: 'cannot start chromium: ' + e.message }));
main().catch((e) => finish(1, { error: String(e && e.stack || e), stderr: stderr.slice(-2000) }));
