// The page: signs in, places and answers calls, and shows them, with CallingClient doing the
// protocol (calling-client.js). Everything the user can do is a button; every state and error is
// shown in words. `window.calling` exposes the client and the current call for debugging (and for
// the browser tests, which read getStats() through it).
import { CallingClient, describeEndReason } from './calling-client.js';

const $ = (id) => document.getElementById(id);
const page = { client: null, call: null, statsTimer: null, speaking: { remote: 0, local: 0 } };
window.calling = page;

function status(text) {
  $('status').textContent = text;
}

function showError(error) {
  if (error) console.error(String(error.message ?? error));
  const code = error?.code !== undefined && error.code !== 0 ? ` (${error.code}/${error.subCode})` : '';
  $('error').textContent = error ? `${error.message ?? error}${code}` : '';
}

// Runs a button's action, showing its error; the button is disabled while it runs.
function action(button, run) {
  $(button).addEventListener('click', async () => {
    $(button).disabled = true;
    showError(null);
    try {
      await run();
    } catch (error) {
      showError(error);
    } finally {
      $(button).disabled = false;
    }
  });
}

// A demo identity is offered only when the server was started with --demo-tokens (loopback only):
// its route then answers a GET with 405 (it takes POST), and is absent (404) otherwise.
fetch('/demo/identities').then((response) => { $('demo-button').hidden = response.status !== 405; });

action('demo-button', async () => {
  const response = await fetch('/demo/identities', { method: 'POST' });
  const body = await response.json();
  if (!response.ok) throw new Error(`the server gave no demo identity: ${body.error?.message ?? response.status}`);
  $('token').value = body.accessToken.token;
  status(`New identity ${body.identity.id}: sign in to use it.`);
});

action('sign-in-button', async () => {
  const token = $('token').value.trim();
  if (!token) throw new Error('paste an access token first');
  page.client?.close();
  const client = new CallingClient({ displayName: $('display-name').value.trim() });
  status('Signing in…');
  await client.connect(token);
  page.client = client;
  client.addEventListener('incomingcall', ({ detail }) => incoming(detail));
  client.addEventListener('closed', ({ detail }) => {
    status('');
    showError(new Error(detail.code === 4401 ? 'signed out: the access token expired or was revoked'
      : `the connection to calling-server was lost (${detail.code})`));
    $('identity').textContent = 'Not signed in';
    $('dial').hidden = true;
  });
  client.addEventListener('protocolerror', ({ detail }) => showError(detail));
  $('identity').textContent = `Signed in as ${client.identity}`;
  $('sign-in').hidden = true;
  $('dial').hidden = false;
  status('Ready: call someone, or wait for a call.');
});

action('call-button', async () => {
  const target = $('target').value.trim();
  if (!target) throw new Error('type the user id to call (8:acs:…)');
  if (page.call) throw new Error('hang up the current call first');
  // The call is on the stage at once (Connecting) while the devices open and the invite goes.
  const call = page.client.newCall(target);
  show(call);
  await call.place({ video: $('start-with-video').checked });
});

function incoming(call) {
  if (page.call) {
    status(`${call.remote.displayName || call.remote.rawId} called while you were in a call.`);
    return;
  }
  page.incoming = call;
  $('incoming-caller').textContent = `${call.remote.displayName || 'Someone'} (${call.remote.rawId}) is calling.`;
  $('incoming').hidden = false;
  status('Ringing…');
  call.addEventListener('ended', ({ detail }) => {
    if (page.call === call) return;
    $('incoming').hidden = true;
    page.incoming = null;
    status(`Missed call: ${describeEndReason(detail)}.`);
  });
}

async function answer(video) {
  const call = page.incoming;
  if (!call) return;
  $('incoming').hidden = true;
  page.incoming = null;
  show(call);
  await call.accept({ video });
}

action('accept-button', () => answer(true));
action('accept-audio-button', () => answer(false));
action('reject-button', async () => {
  const call = page.incoming;
  $('incoming').hidden = true;
  page.incoming = null;
  await call?.reject();
});

action('mute-button', async () => {
  const call = page.call;
  await (call.isMuted ? call.unmute() : call.mute());
});
action('camera-button', async () => {
  const call = page.call;
  await (call.isCameraOn ? call.stopVideo() : call.startVideo());
});
action('screen-button', async () => {
  const call = page.call;
  await (call.isSharingScreen ? call.stopScreenSharing() : call.startScreenSharing());
});
action('hang-up-button', () => page.call?.hangUp());

// Shows a call on the stage and follows it until it ends.
function show(call) {
  page.call = call;
  $('call').hidden = false;
  $('dial').hidden = true;
  $('remote-video').srcObject = call.remoteStream;
  $('remote-audio').srcObject = call.remoteStream;
  call.addEventListener('statechanged', render);
  call.addEventListener('remoteupdated', render);
  call.addEventListener('localupdated', render);
  call.addEventListener('localstream', () => {
    $('local-video').srcObject = call.localStream;
    render();
  });
  call.addEventListener('remotetrack', () => {
    // A new track in the same MediaStream: the elements pick it up when reassigned.
    $('remote-video').srcObject = call.remoteStream;
    $('remote-audio').srcObject = call.remoteStream;
    render();
  });
  call.addEventListener('mediaerror', ({ detail }) => showError(new Error(detail)));
  call.addEventListener('ended', ({ detail }) => {
    clearInterval(page.statsTimer);
    render();
    status(`Call ended: ${describeEndReason(detail)}.`);
    page.call = null;
    $('dial').hidden = false;
  });
  clearInterval(page.statsTimer);
  page.decodingVideo = false;
  page.statsTimer = setInterval(() => updateSpeaking(call), 250);
  render();
}

// Who is speaking, from the audio levels WebRTC measures (getStats): on above 0.03, off after
// a second below 0.01, so that pauses between words do not flicker. Also whether video decodes.
async function updateSpeaking(call) {
  const stats = await call.mediaStats();
  const decoding = (stats.video?.framesDecoded ?? 0) > 0;
  if (decoding !== page.decodingVideo) {
    page.decodingVideo = decoding;
    render();
  }
  for (const [who, level] of [['remote', stats.audio?.audioLevel ?? 0], ['local', call.isMuted ? 0 : stats.localAudioLevel]]) {
    if (level > 0.03) page.speaking[who] = 4;
    else if (level < 0.01 && page.speaking[who] > 0) page.speaking[who] -= 1;
    $(`${who}-speaking`).hidden = page.speaking[who] === 0;
  }
}

function describeStreams(streams) {
  if (!streams.length) return 'no video published';
  return streams.map((s) => `${s.type === 'Video' ? 'camera' : 'screen'} ${s.available ? 'on' : 'off'}`).join(', ');
}

function render() {
  const call = page.call;
  if (!call) return;
  const remote = call.remote;
  const inCall = call.state !== 'Disconnected';
  $('call-state').textContent = call.state === 'Disconnected' && call.endReason
    ? `Disconnected: ${describeEndReason(call.endReason)}` : call.state;
  $('remote-name').textContent = `${remote.displayName || remote.rawId} (${remote.state})`;
  $('remote-muted').hidden = !remote.isMuted;
  $('remote-streams').textContent = describeStreams(remote.streams);
  // The far end's published streams say whether its video is on; one that publishes none (callbin
  // in a launch line) is shown as soon as its video decodes.
  const videoAvailable = call.remoteStream.getVideoTracks().length > 0 &&
    (remote.streams.length ? remote.streams.some((s) => s.available) : page.decodingVideo);
  $('remote-video').hidden = !videoAvailable;
  $('remote-video-off').hidden = videoAvailable;
  $('remote-video-off').textContent = remote.streams.length ? 'Camera off' : 'No video';
  $('mute-button').textContent = call.isMuted ? 'Unmute' : 'Mute';
  $('mute-button').setAttribute('aria-pressed', String(call.isMuted));
  $('camera-button').textContent = call.isCameraOn ? 'Turn camera off' : 'Turn camera on';
  $('screen-button').textContent = call.isSharingScreen ? 'Stop sharing' : 'Share screen';
  for (const id of ['mute-button', 'camera-button', 'screen-button', 'hang-up-button']) $(id).disabled = !inCall;
  if (call.state === 'Connecting') status(call.direction === 'Outgoing' ? 'Calling…' : 'Answering…');
  if (call.state === 'Ringing' && call.direction === 'Outgoing') status('Ringing…');
  if (call.state === 'Connected') status(`In a call with ${remote.displayName || remote.rawId}.`);
}
