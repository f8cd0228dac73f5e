// The Chromium baseline of the benchmark: two RTCPeerConnections in one headless Chromium page
// (Debian's /usr/bin/chromium, fake camera and microphone), offer, answer and ICE candidates handed
// over directly in the page. Prints one JSON object on stdout.
//
//   node tools/bench/chromium_bench.mjs --calls N --latency-seconds S
//
// Set-up: each call is a new pair of peer connections, both sending the fake camera (640x480,
// 30 fps asked) and microphone; the time is from the caller's createOffer() to the first frame
// of the callee's video decoded at the caller (requestVideoFrameCallback on a playing video
// element). The first call of the page is reported apart, like the first call of a process.
//
// Latency: the callee sends a canvas (captureStream at 30 fps) on which every frame carries the
// time it was drawn, as black and white blocks (the same layout calling-bench uses); the caller
// draws each decoded frame back into a canvas and reads the time. Capture (drawing) to decoded
// frame, in the page's clock. Chromium's audio mouth-to-ear is not measured.
//
// playwright-core comes from tests/browser's node_modules, which tools/setup.sh installs.
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const calls = option('calls', 20);
const latencySeconds = option('latency-seconds', 10);

// The page: helpers the benchmark calls through page.evaluate.
const page_html = `<!doctype html><html><body>
<video id="remote" autoplay muted playsinline width="640" height="480"></video>
<script>
const BITS = 32, BLOCK_W = 20, BLOCK_H = 16;

function wire(a, b) {
  a.onicecandidate = (e) => { if (e.candidate) b.addIceCandidate(e.candidate); };
  b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate); };
}

// The caller's first decoded frame of the callee's video, as a promise of performance.now().
function firstFrame(pc, video) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no frame within 45 s')), 45000);
    pc.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      video.srcObject = new MediaStream([e.track]);
      video.requestVideoFrameCallback((now) => { clearTimeout(timer); resolve(now); });
      video.play().catch(() => {});
    };
  });
}

async function negotiate(caller, callee) {
  const offer = await caller.createOffer();
  await caller.setLocalDescription(offer);
  await callee.setRemoteDescription(offer);
  const answer = await callee.createAnswer();
  await callee.setLocalDescription(answer);
  await caller.setRemoteDescription(answer);
}

let media = null;
window.oneCall = async () => {
  if (!media)
    media = await navigator.mediaDevices.getUserMedia(
      { audio: true, video: { width: 640, height: 480, frameRate: 30 } });
  const caller = new RTCPeerConnection(), callee = new RTCPeerConnection();
  wire(caller, callee);
  for (const track of media.getTracks()) {
    caller.addTrack(track, media);
    callee.addTrack(track, media);
  }
  const video = document.getElementById('remote');
  const frame = firstFrame(caller, video);
  const started = performance.now();
  await negotiate(caller, callee);
  const decoded = await frame;
  caller.close(); callee.close();
  video.srcObject = null;
  return decoded - started;
};

function drawStamp(context, stamp) {
  for (let bit = 0; bit < BITS; bit++) {
    const one = (stamp >>> (BITS - 1 - bit)) & 1;
    context.fillStyle = one ? '#fff' : '#000';
    context.fillRect(bit * BLOCK_W, 0, BLOCK_W, BLOCK_H);
    context.fillStyle = one ? '#000' : '#fff';
    context.fillRect(bit * BLOCK_W, BLOCK_H, BLOCK_W, BLOCK_H);
  }
}

function readStamp(pixels, width) {
  const white = (x, y) => {
    const i = (y * width + x) * 4;
    return pixels[i] + pixels[i + 1] + pixels[i + 2] > 3 * 128;
  };
  let stamp = 0;
  for (let bit = 0; bit < BITS; bit++) {
    const x = bit * BLOCK_W + BLOCK_W / 2;
    const one = white(x, BLOCK_H / 2);
    if (one === white(x, BLOCK_H + BLOCK_H / 2)) return null;
    stamp = ((stamp << 1) | (one ? 1 : 0)) >>> 0;
  }
  return stamp;
}

// 100 us units, 32 bits, like calling-bench's stamps.
const stampNow = () => Math.floor(performance.now() * 10) >>> 0;

window.latency = async (seconds) => {
  const canvas = document.createElement('canvas');
  canvas.width = 640; canvas.height = 480;
  const context = canvas.getContext('2d');
  let x = 0;
  const draw = () => {
    context.fillStyle = '#000';
    context.fillRect(0, 0, 640, 480);
    context.fillStyle = '#fff';
    context.beginPath();
    context.arc(40 + (x = (x + 8) % 560), 240, 40, 0, 2 * Math.PI);
    context.fill();
    drawStamp(context, stampNow());
  };
  draw();
  const stream = canvas.captureStream(30);
  const drawing = setInterval(draw, 1000 / 30);
  const caller = new RTCPeerConnection(), callee = new RTCPeerConnection();
  wire(caller, callee);
  callee.addTrack(stream.getVideoTracks()[0], stream);
  caller.addTransceiver('video', { direction: 'recvonly' });
  const video = document.getElementById('remote');
  const frame = firstFrame(caller, video);
  await negotiate(caller, callee);
  await frame;
  const reading = document.createElement('canvas');
  reading.width = 640; reading.height = 480;
  const readContext = reading.getContext('2d', { willReadFrequently: true });
  const samples = [];
  let warmUntil = performance.now() + 1000;
  const end = performance.now() + 1000 + seconds * 1000;
  await new Promise((resolve) => {
    const onFrame = () => {
      const now = stampNow();
      if (performance.now() >= end) return resolve();
      readContext.drawImage(video, 0, 0, 640, 480);
      const stamp = readStamp(readContext.getImageData(0, 0, 640, 2 * BLOCK_H).data, 640);
      if (stamp !== null && performance.now() >= warmUntil) {
        const elapsed = ((now - stamp) >>> 0) / 10;
        if (elapsed < 10000) samples.push(elapsed);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
  clearInterval(drawing);
  caller.close(); callee.close();
  video.srcObject = null;
  return samples;
};
</script></body></html>`;

const server = createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/html' });
  response.end(page_html);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required'],
  // Chromium refuses to run as root (as in CI containers) with its sandbox on.
  chromiumSandbox: process.getuid?.() !== 0,
});
let status = 0;
try {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (error) => process.stderr.write(`chromium page: ${error.message}\n`));
  await page.goto(url);
  const times = [];
  for (let i = 0; i < calls; i++) times.push(await page.evaluate(() => window.oneCall()));
  const latency = latencySeconds > 0 ? await page.evaluate((s) => window.latency(s), latencySeconds) : [];
  if (latencySeconds > 0 && latency.length === 0) throw new Error('no latency read back from the page');
  process.stdout.write(`${JSON.stringify({
    stack: 'chromium',
    version: browser.version(),
    first_call_ms: times[0],
    warm_ms: times.slice(1),
    video_ms: latency,
  })}\n`);
} catch (error) {
  process.stderr.write(`chromium-bench: ${error.message}\n`);
  status = 1;
} finally {
  await browser.close();
  server.close();
}
process.exit(status);
