// Drives Debian's Chromium for the browser interop tests, as a person would use the page: one
// headless Chromium with fake camera and microphone, commands on stdin and answers on stdout, one
// JSON object a line, so that the test (browser_test.cpp) decides what happens when while it
// watches the GStreamer side.
//
//   → {"id": 1, "op": "open", "url": "http://127.0.0.1:PORT/"}
//   ← {"id": 1, "ok": true}
//   → {"id": 2, "op": "waitFor", "expression": "…", "timeout": 15000}
//   ← {"id": 2, "ok": false, "error": "…"}
//
// ops: open {url}; fill {selector, value}; click {selector}; text {selector}; visible {selector};
// evaluate {expression} (awaited in the page, its JSON value returned); waitFor {expression,
// timeout} (until it is truthy in the page); screenshot {path}; quit.
// The page's console and errors come as {"event": "console", "text": "…"} lines.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const args = [
  // Fake devices, and their permission granted without a prompt: Chromium's fake camera is a
  // moving pattern at 640x480, its fake microphone a beep.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Remote audio plays without a click (the test measures it).
  '--autoplay-policy=no-user-gesture-required',
  // getDisplayMedia picks the whole screen without a picker.
  '--auto-select-desktop-capture-source=Entire screen',
];
if (process.env.CHROMIUM_FAKE_AUDIO) args.push(`--use-file-for-fake-audio-capture=${process.env.CHROMIUM_FAKE_AUDIO}`);
// Chromium refuses to run as root (as in CI containers) with its sandbox on.
const sandbox = process.getuid?.() !== 0;

function emit(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

const browser = await chromium.launch({ executablePath, headless: true, args, chromiumSandbox: sandbox });
const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
let page = null;

const ops = {
  async open({ url }) {
    page = await context.newPage();
    page.on('console', (message) => emit({ event: 'console', text: `${message.type()}: ${message.text()}` }));
    page.on('pageerror', (error) => emit({ event: 'console', text: `pageerror: ${error.message}` }));
    await page.goto(url);
  },
  fill: ({ selector, value }) => page.fill(selector, value),
  click: ({ selector }) => page.click(selector),
  text: ({ selector }) => page.textContent(selector),
  visible: ({ selector }) => page.isVisible(selector),
  evaluate: ({ expression }) => page.evaluate(`(async () => (${expression}))()`),
  // Polled here rather than with page.waitForFunction, which takes a pending promise for true.
  async waitFor({ expression, timeout = 15000 }) {
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
      last = await page.evaluate(`(async () => (${expression}))()`);
      if (last) return last;
      if (Date.now() >= deadline) throw new Error(`not true within ${timeout} ms: ${expression}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  },
  screenshot: ({ path }) => page.screenshot({ path }),
};

const lines = createInterface({ input: process.stdin });
emit({ event: 'ready', version: browser.version() });
for await (const line of lines) {
  let command;
  try {
    command = JSON.parse(line);
  } catch {
    continue;
  }
  if (command.op === 'quit') break;
  try {
    const value = await ops[command.op](command);
    emit({ id: command.id, ok: true, value: value ?? null });
  } catch (error) {
    emit({ id: command.id, ok: false, error: String(error.message ?? error).split('\n')[0] });
  }
}
await browser.close();
