// The signalling protocol v1 (docs/protocol.md) and one call's WebRTC, for browsers: the same
// messages the native agents send, over the same WebSocket (/signalling/v1), authenticated with an
// `auth` first message because browsers cannot set headers on a WebSocket.
//
// Media rules, shared with callbin (docs/elements.md): one RTCPeerConnection per call, max-bundle,
// only the caller offers (once the callee is Connected), and no renegotiation ever (webrtcbin 1.22
// cannot): an audio and a video transceiver exist from the start, and turning the camera off or on,
// muting and sharing the screen only change what the senders send (replaceTrack, track.enabled)
// and what this participant publishes (`muteState`, `streams`).

/** An `error` from calling-server (or a failure of this client), with the protocol's code/subCode. */
export class CallingError extends Error {
  constructor(code, subCode, message) {
    super(message);
    this.code = code;
    this.subCode = subCode;
  }
}

// The documented end reasons (docs/protocol.md, "End reasons"), in words for people.
const END_REASONS = {
  '0/0': 'the call was hung up',
  '0/4097': 'the call was ended for everyone',
  '603/0': 'the call was declined',
  '487/0': 'the caller hung up before an answer',
  '487/10003': 'the call was answered on another device',
  '487/10004': 'nobody answered',
  '480/10037': 'the person is not available (not signed in)',
  '410/301005': 'the connection was lost',
  '495/4507': 'the access token expired',
};

export function describeEndReason(reason) {
  const key = `${reason.code}/${reason.subCode}`;
  return `${END_REASONS[key] ?? reason.message ?? 'the call ended'} (${key})`;
}

// Stream ids this client publishes (docs/protocol.md, "Streams").
const CAMERA_STREAM = 1;
const SCREEN_STREAM = 2;

/**
 * One connection to calling-server. Events: `incomingcall` (detail: IncomingCall), `closed`
 * (detail: {code, reason}), `protocolerror` (detail: CallingError, an error not tied to a request).
 */
export class CallingClient extends EventTarget {
  constructor({ serverUrl = location.href, displayName = '' } = {}) {
    super();
    const url = new URL('/signalling/v1', serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.url = url.href;
    this.displayName = displayName;
    this.identity = null;
    this.endpointId = null;
    this.calls = new Map();
    this.nextRequestId = 1;
    this.pending = new Map();
  }

  /** Opens the WebSocket and authenticates; resolves with the `welcome` message. */
  connect(token) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let welcomed = false;
      ws.onopen = () => this.sendRaw({ type: 'auth', token });
      ws.onerror = () => {
        if (!welcomed) reject(new CallingError(408, 40104, 'cannot reach calling-server'));
      };
      ws.onclose = (event) => {
        this.failPending(new CallingError(408, 40104, 'the connection to calling-server closed'));
        if (!welcomed) {
          reject(new CallingError(401, 4507, event.code === 4401
            ? 'calling-server refused the access token' : `calling-server closed the connection (${event.code})`));
          return;
        }
        for (const call of this.calls.values()) call.lost();
        this.dispatchEvent(new CustomEvent('closed', { detail: { code: event.code, reason: event.reason } }));
      };
      ws.onmessage = (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return;
        }
        if (!welcomed) {
          if (message.type === 'welcome') {
            welcomed = true;
            this.identity = message.identity;
            this.endpointId = message.endpointId;
            resolve(message);
          } else if (message.type === 'error') {
            reject(new CallingError(message.code, message.subCode, message.message));
          }
          return;
        }
        this.received(message);
      };
    });
  }

  close() {
    this.ws?.close(1000);
  }

  sendRaw(message) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** Sends a request with a requestId; resolves on its `ack`, rejects with its `error`. */
  request(message) {
    const requestId = String(this.nextRequestId++);
    return new Promise((resolve, reject) => {
      if (this.ws?.readyState !== WebSocket.OPEN) {
        reject(new CallingError(408, 40104, 'not connected to calling-server'));
        return;
      }
      this.pending.set(requestId, { resolve, reject });
      this.sendRaw({ ...message, requestId });
    });
  }

  failPending(error) {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  received(message) {
    if (message.type === 'ack' || (message.type === 'error' && message.requestId)) {
      const pending = this.pending.get(message.requestId);
      if (!pending) return;
      this.pending.delete(message.requestId);
      if (message.type === 'ack') pending.resolve();
      else pending.reject(new CallingError(message.code, message.subCode, message.message));
      return;
    }
    if (message.type === 'incomingCall') {
      const call = new Call(this, message.callId, 'Incoming', message.caller.rawId, message.caller.displayName);
      this.calls.set(call.id, call);
      this.dispatchEvent(new CustomEvent('incomingcall', { detail: call }));
      return;
    }
    if (message.type === 'error') {
      this.dispatchEvent(new CustomEvent('protocolerror',
        { detail: new CallingError(message.code, message.subCode, message.message) }));
      return;
    }
    const call = this.calls.get(message.callId);
    if (call) call.received(message);
  }

  /** A call to a raw id (8:acs:…), placed with its place(). */
  newCall(target) {
    const call = new Call(this, crypto.randomUUID(), 'Outgoing', target, '');
    this.calls.set(call.id, call);
    return call;
  }
}

/**
 * A call, placed or incoming. Events: `statechanged`, `remoteupdated` (the other participant's
 * state, isMuted or streams changed), `remotetrack`, `localstream`, `ended` (detail: endReason).
 *
 * state: Ringing (incoming, not answered yet), Connecting, Connected, Disconnected.
 * remote: {rawId, displayName, state, isMuted, streams}.
 */
export class Call extends EventTarget {
  constructor(client, id, direction, peerId, peerName) {
    super();
    this.client = client;
    this.id = id;
    this.direction = direction;
    this.state = direction === 'Incoming' ? 'Ringing' : 'None';
    // The caller's state reaches a callee with its accept (participantUpdated, Connected).
    this.remote = { rawId: peerId, displayName: peerName, state: 'None', isMuted: false, streams: [] };
    this.endReason = null;
    this.isMuted = false;
    this.isCameraOn = false;
    this.isSharingScreen = false;
    this.cameraPublished = false;
    this.localStream = new MediaStream();
    this.remoteStream = new MediaStream();
    this.pc = null;
    this.pendingCandidates = [];
    this.remoteDescriptionSet = false;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new Event('statechanged'));
  }

  /** What this participant publishes: its camera (once it was on) and its screen, if shared. */
  streams() {
    const streams = [];
    // A browser cannot choose its msids: each stream names the one its m-line carries (the local
    // MediaStream's id), so that receivers find its media (docs/protocol.md, Streams).
    const msid = this.localStream.id;
    if (this.cameraPublished)
      streams.push({ id: CAMERA_STREAM, type: 'Video', available: this.isCameraOn && !this.isSharingScreen, msid });
    if (this.isSharingScreen) streams.push({ id: SCREEN_STREAM, type: 'ScreenSharing', available: true, msid });
    return streams;
  }

  async publishStreams() {
    if (this.state === 'Connected' || (this.direction === 'Outgoing' && this.state !== 'Disconnected'))
      await this.client.request({ type: 'streams', callId: this.id, streams: this.streams() });
  }

  // The microphone always; the camera when asked for. Errors say which device failed.
  async openDevices(video) {
    let media;
    try {
      media = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    } catch (error) {
      throw new CallingError(0, 0, `cannot open the ${video ? 'microphone or camera' : 'microphone'}: ${error.message}`);
    }
    for (const track of media.getTracks()) this.localStream.addTrack(track);
    this.isCameraOn = media.getVideoTracks().length > 0;
    this.cameraPublished = this.isCameraOn;
    this.dispatchEvent(new Event('localstream'));
  }

  createPeerConnection() {
    // One transport for everything, as callbin's webrtcbin (max-bundle) expects.
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    pc.onicecandidate = ({ candidate }) => {
      // webrtcbin 1.22 has no end-of-candidates: the last (null) one is not sent.
      if (candidate?.candidate)
        this.client.sendRaw({ type: 'ice', callId: this.id, to: this.remote.rawId,
          candidate: { sdpMLineIndex: candidate.sdpMLineIndex ?? 0, candidate: candidate.candidate } });
    };
    pc.ontrack = ({ track }) => {
      this.remoteStream.addTrack(track);
      this.dispatchEvent(new CustomEvent('remotetrack', { detail: track }));
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && this.state !== 'Disconnected')
        this.dispatchEvent(new CustomEvent('mediaerror', { detail: 'the media connection failed' }));
    };
    return pc;
  }

  audioSender() {
    return this.pc?.getTransceivers().find((t) => t.receiver.track.kind === 'audio')?.sender;
  }

  videoSender() {
    return this.pc?.getTransceivers().find((t) => t.receiver.track.kind === 'video')?.sender;
  }

  /** Opens the devices and invites the callee; `video`: with the camera on. */
  async place({ video = true } = {}) {
    this.setState('Connecting');
    try {
      await this.openDevices(video);
      const pc = this.createPeerConnection();
      // Both transceivers now: the camera can be turned on later without renegotiating.
      pc.addTransceiver(this.localStream.getAudioTracks()[0], { direction: 'sendrecv', streams: [this.localStream] });
      pc.addTransceiver(this.localStream.getVideoTracks()[0] ?? 'video',
        { direction: 'sendrecv', streams: [this.localStream] });
      await this.client.request({ type: 'invite', callId: this.id, targets: [this.remote.rawId],
        displayName: this.client.displayName, media: { audio: true, video: this.isCameraOn },
        streams: this.streams() });
    } catch (error) {
      // Never placed (no devices, or refused): it ends here with the reason.
      this.ended({ code: error.code ?? 0, subCode: error.subCode ?? 0, message: error.message });
      throw error;
    }
  }

  /** Answers an incoming call; `video`: with the camera on. */
  async accept({ video = true } = {}) {
    if (this.state !== 'Ringing') throw new CallingError(400, 41006, 'this call is not ringing');
    this.setState('Connecting');
    try {
      await this.openDevices(video);
      this.createPeerConnection();
      await this.client.request({ type: 'accept', callId: this.id, displayName: this.client.displayName,
        streams: this.streams() });
    } catch (error) {
      // Without devices the call cannot go on: do not leave the caller waiting for an offer.
      if (this.state !== 'Disconnected') this.client.request({ type: 'reject', callId: this.id }).catch(() => {});
      throw error;
    }
  }

  async reject() {
    await this.client.request({ type: 'reject', callId: this.id });
  }

  async hangUp({ forEveryone = false } = {}) {
    if (this.state === 'Disconnected') return;
    await this.client.request({ type: 'hangUp', callId: this.id, forEveryone });
  }

  async mute() {
    await this.setMuted(true);
  }

  async unmute() {
    await this.setMuted(false);
  }

  async setMuted(muted) {
    // A disabled track sends silence: nothing to renegotiate.
    for (const track of this.localStream.getAudioTracks()) track.enabled = !muted;
    this.isMuted = muted;
    this.dispatchEvent(new Event('localupdated'));
    await this.client.request({ type: 'muteState', callId: this.id, muted });
  }

  async startVideo() {
    const sender = this.videoSender();
    if (!sender) throw new CallingError(400, 0, 'this call has no video: the other side offered none');
    if (this.isCameraOn) return;
    const media = await navigator.mediaDevices.getUserMedia({ video: true });
    const [track] = media.getVideoTracks();
    for (const old of this.localStream.getVideoTracks()) this.localStream.removeTrack(old);
    this.localStream.addTrack(track);
    if (!this.isSharingScreen) await sender.replaceTrack(track);
    this.isCameraOn = true;
    this.cameraPublished = true;
    this.dispatchEvent(new Event('localstream'));
    await this.publishStreams();
  }

  async stopVideo() {
    if (!this.isCameraOn) return;
    // The camera's light goes off; the sender sends nothing until the camera is back.
    for (const track of this.localStream.getVideoTracks()) {
      track.stop();
      this.localStream.removeTrack(track);
    }
    if (!this.isSharingScreen) await this.videoSender()?.replaceTrack(null);
    this.isCameraOn = false;
    this.dispatchEvent(new Event('localstream'));
    await this.publishStreams();
  }

  /** The screen replaces the camera on the one video transceiver (no renegotiation, see above). */
  async startScreenSharing() {
    const sender = this.videoSender();
    if (!sender) throw new CallingError(400, 0, 'this call has no video: the other side offered none');
    if (this.isSharingScreen) return;
    let media;
    try {
      media = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (error) {
      throw new CallingError(0, 0, `cannot share the screen: ${error.message}`);
    }
    const [track] = media.getVideoTracks();
    this.screenTrack = track;
    // The browser's own "stop sharing" button ends the track.
    track.onended = () => this.stopScreenSharing().catch(() => {});
    await sender.replaceTrack(track);
    this.isSharingScreen = true;
    this.dispatchEvent(new Event('localstream'));
    await this.publishStreams();
  }

  async stopScreenSharing() {
    if (!this.isSharingScreen) return;
    this.screenTrack.onended = null;
    this.screenTrack.stop();
    this.screenTrack = null;
    this.isSharingScreen = false;
    await this.videoSender()?.replaceTrack(this.localStream.getVideoTracks()[0] ?? null);
    this.dispatchEvent(new Event('localstream'));
    await this.publishStreams();
  }

  received(message) {
    switch (message.type) {
      case 'participantUpdated':
        this.participantUpdated(message.participant);
        break;
      case 'sdp':
        this.remoteDescription(message.description).catch((error) =>
          this.dispatchEvent(new CustomEvent('mediaerror', { detail: `negotiation failed: ${error.message}` })));
        break;
      case 'ice':
        this.remoteCandidate(message.candidate);
        break;
      case 'callEnded':
        this.ended(message.reason);
        break;
    }
  }

  participantUpdated(participant) {
    if (participant.rawId === this.client.identity) return;
    const wasConnected = this.remote.state === 'Connected' || this.remote.state === 'Hold';
    this.remote = { ...participant, streams: participant.streams ?? [] };
    this.dispatchEvent(new Event('remoteupdated'));
    if (participant.state === 'Ringing' && this.state === 'Connecting') this.setState('Ringing');
    if ((participant.state === 'Connected' || participant.state === 'Hold') && !wasConnected) {
      this.setState('Connected');
      // The caller offers, once the callee is Connected.
      if (this.direction === 'Outgoing') this.offer();
    }
  }

  async offer() {
    try {
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this.client.sendRaw({ type: 'sdp', callId: this.id, to: this.remote.rawId,
        description: { type: 'offer', sdp: this.pc.localDescription.sdp } });
    } catch (error) {
      this.dispatchEvent(new CustomEvent('mediaerror', { detail: `cannot make an offer: ${error.message}` }));
    }
  }

  async remoteDescription(description) {
    if (!this.pc) return;
    await this.pc.setRemoteDescription(description);
    this.remoteDescriptionSet = true;
    for (const candidate of this.pendingCandidates.splice(0)) await this.addCandidate(candidate);
    if (description.type !== 'offer') return;
    // The offer made the transceivers: send the microphone and camera on them.
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      const track = kind === 'audio' ? this.localStream.getAudioTracks()[0] : this.localStream.getVideoTracks()[0];
      transceiver.direction = 'sendrecv';
      transceiver.sender.setStreams(this.localStream);
      await transceiver.sender.replaceTrack(track ?? null);
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.client.sendRaw({ type: 'sdp', callId: this.id, to: this.remote.rawId,
      description: { type: 'answer', sdp: this.pc.localDescription.sdp } });
  }

  remoteCandidate(candidate) {
    if (!this.remoteDescriptionSet) this.pendingCandidates.push(candidate);
    else this.addCandidate(candidate);
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate({ candidate: candidate.candidate, sdpMLineIndex: candidate.sdpMLineIndex });
    } catch (error) {
      console.warn('a remote candidate was refused', error);
    }
  }

  lost() {
    this.ended({ code: 408, subCode: 40104, message: 'the connection to calling-server closed' });
  }

  ended(reason) {
    if (this.state === 'Disconnected') return;
    this.endReason = reason;
    this.pc?.close();
    this.screenTrack?.stop();
    for (const track of this.localStream.getTracks()) track.stop();
    this.client.calls.delete(this.id);
    this.setState('Disconnected');
    this.dispatchEvent(new CustomEvent('ended', { detail: reason }));
  }

  /** What getStats() says about the media, for the page and for tests. */
  async mediaStats() {
    const result = { audio: null, video: null, localAudioLevel: 0 };
    if (!this.pc) return result;
    const report = await this.pc.getStats();
    report.forEach((stat) => {
      if (stat.type === 'inbound-rtp' && stat.kind === 'audio')
        result.audio = { packetsReceived: stat.packetsReceived, audioLevel: stat.audioLevel ?? 0,
          totalAudioEnergy: stat.totalAudioEnergy ?? 0 };
      if (stat.type === 'inbound-rtp' && stat.kind === 'video')
        result.video = { framesDecoded: stat.framesDecoded ?? 0, frameWidth: stat.frameWidth ?? 0,
          frameHeight: stat.frameHeight ?? 0, codec: report.get(stat.codecId)?.mimeType ?? '' };
      if (stat.type === 'media-source' && stat.kind === 'audio') result.localAudioLevel = stat.audioLevel ?? 0;
    });
    return result;
  }
}
