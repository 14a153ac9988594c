// One forwarded connection: a local socket joined to one port-forward websocket of the Kubernetes API, with
// backpressure both ways, a heartbeat that finds a dead path, and both sides closed when either one ends.
import type { Socket } from "node:net";
import WebSocket from "ws";
import { describeKubeError, statusMessage } from "./api";
import type { TunnelLimits } from "./target";

// Bytes the API has not yet taken from one connection before we stop reading from the local side.
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 << 10;
// The port-forward subprotocol of the kubelet's streaming server (channel byte, then data; each channel's first
// frame starts with the port number).
const PROTOCOL = "v4.channel.k8s.io";

export interface ForwardEvents {
  /** The API or the pod reported an error on this connection (the next attempt may fare better). */
  onError(message: string): void;
  /** The path through the API is dead or refused: no attempt can succeed. */
  onBroken(message: string): void;
  onClosed(): void;
}

/**
 * Joins one local socket to a new port-forward websocket at `url`, with backpressure both ways. Returns a function
 * that closes both. Whichever side closes or fails first, the other is closed too: nothing waits on a dead stream.
 */
export function forwardConnection(
  socket: Socket,
  url: string,
  options: WebSocket.ClientOptions,
  limits: Pick<TunnelLimits, "heartbeatMs" | "silenceMs">,
  events: ForwardEvents,
): () => void {
  const ws = new WebSocket(url, [PROTOCOL], options);
  let closed = false;
  let abandoned = false; // we terminated the websocket ourselves: what it reports next is not news
  let opened = false;
  let pending = 0; // bytes handed to the websocket, not yet written to its TCP connection
  let lastSign = Date.now(); // the last time the API answered a ping, sent bytes or took ours
  // Silence proves a dead path only when something was owed: bytes of ours the API has not taken, or a pong from
  // an API that answered pings before (not every API server's port-forward does).
  let answersPings = false;
  const portHeader = [true, true]; // the first frame of each channel starts with the 2-byte port number

  const close = (graceful: boolean) => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    if (graceful) {
      // What the pod sent still reaches the client, then our FIN. What the client still sends has nowhere to go:
      // it is read and dropped, so that a client blocked writing into a paused socket (a COPY) drains, sees the
      // FIN and closes. A client that never does is cut off after the silence bound.
      socket.resume();
      socket.end();
      setTimeout(() => socket.destroy(), limits.silenceMs).unref();
    } else socket.destroy();
    // A websocket paused for the local side's backpressure would not read the API's answer to our close frame,
    // and would linger (with the pod's connection) until ws's 30 s close timeout.
    if (ws.isPaused) ws.resume();
    if (ws.readyState === WebSocket.OPEN) ws.close();
    else if (ws.readyState === WebSocket.CONNECTING) {
      // Let the handshake finish or time out: its outcome says whether the API is there at all.
      ws.once("open", () => ws.close());
    }
    events.onClosed();
  };
  const abandon = () => {
    abandoned = true;
    ws.terminate();
    close(false);
  };

  const heartbeat = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN || ws.isPaused) return;
    const silent = Date.now() - lastSign;
    if ((pending > 0 || answersPings) && silent > limits.silenceMs) {
      events.onBroken(
        `stopped answering: no reply to pings and no bytes moved for ${Math.round(silent / 1000)}s ` +
          "(is the API server or the node down?)",
      );
      abandon();
      return;
    }
    ws.ping();
  }, limits.heartbeatMs);
  heartbeat.unref();

  socket.on("error", () => close(false));
  socket.on("end", () => close(true));
  socket.on("close", () => close(false));

  ws.on("unexpected-response", (_request, response) => {
    const status = response.statusCode ?? 0;
    let body = "";
    response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    response.on("end", () => {
      const message = `HTTP ${status}: ${statusMessage(body) ?? response.statusMessage ?? "no reason given"}`;
      // A missing pod may come back (a restart); a refusal or an unknown path will not.
      if (status === 404 || status >= 500) events.onError(message);
      else {
        events.onBroken(
          `was refused (${message}): check the kubeconfig's credentials and RBAC (get and create pods/portforward)`,
        );
      }
      abandon();
    });
  });
  ws.on("error", (error) => {
    if (abandoned) return;
    // Before the handshake completed, the API is unreachable or stalled (a handshake timeout): fail now.
    if (opened) events.onError(describeKubeError(error));
    else events.onBroken(`could not be opened: ${describeKubeError(error)}`);
    close(false);
  });
  ws.on("open", () => {
    opened = true;
    lastSign = Date.now();
    socket.on("data", (chunk: Buffer) => {
      if (closed) return;
      if (pending === 0) lastSign = Date.now(); // an idle connection owed nothing: the wait starts now
      const frame = Buffer.allocUnsafe(chunk.length + 1);
      frame[0] = 0;
      chunk.copy(frame, 1);
      pending += frame.length;
      if (pending > HIGH_WATER) socket.pause();
      ws.send(frame, (error) => {
        pending -= frame.length;
        if (error) return;
        lastSign = Date.now();
        if (pending < LOW_WATER && socket.isPaused() && !closed) socket.resume();
      });
    });
  });
  ws.on("pong", () => {
    answersPings = true;
    lastSign = Date.now();
  });
  ws.on("message", (data: Buffer, isBinary) => {
    lastSign = Date.now();
    if (!isBinary || data.length < 1) return;
    const channel = data[0] as number;
    let payload = data.subarray(1);
    if (portHeader[channel]) {
      portHeader[channel] = false;
      payload = payload.subarray(2);
    }
    if (payload.length === 0 || closed) return;
    if (channel === 0) {
      if (!socket.write(payload)) {
        ws.pause();
        socket.once("drain", () => {
          lastSign = Date.now(); // the wait was ours, not the API's
          ws.resume();
        });
      }
    } else if (channel === 1) {
      events.onError(payload.toString("utf8").trim());
    }
  });
  ws.on("close", (code) => {
    if (code === 1006 && !closed && !abandoned)
      events.onError("the connection to the Kubernetes API dropped");
    close(true);
  });
  return abandon;
}
