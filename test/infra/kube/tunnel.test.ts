import { expect } from "chai";
import { connect, createServer, type Server } from "node:net";
import { openPortForward } from "../../../infra/kube/tunnel";
import { startFakeKubeApi, type FakeKubeApi } from "../../support/stand-ins/kube-api";
import { setEnv } from "../../support/env";
import { waitFor } from "../../support/wait";

const TARGET = { namespace: "sales-db-test", pod: "postgres-0", port: 5432 };
const LIMITS = { requestMs: 1_000, podReadyMs: 2_000, heartbeatMs: 100, silenceMs: 60_000 };
const FLOOD_BYTES = 64 << 20;

/** A pod's port that sends FLOOD_BYTES to each connection as fast as it is taken, then idles. */
async function startFlood(): Promise<Server> {
  const chunk = Buffer.alloc(64 << 10, "x");
  const flood = createServer((socket) => {
    socket.on("error", () => undefined);
    let left = FLOOD_BYTES;
    const write = () => {
      while (left > 0) {
        left -= chunk.length;
        if (!socket.write(chunk)) return;
      }
    };
    socket.on("drain", write);
    write();
  });
  await new Promise<void>((resolve) => flood.listen(0, "127.0.0.1", resolve));
  return flood;
}

describe("tunnel through the Kubernetes API (stand-in API, a pod's port that floods)", () => {
  let flood: Server;
  let api: FakeKubeApi;
  let restoreKubeconfig: () => void;
  beforeEach(async () => {
    flood = await startFlood();
    const address = flood.address();
    if (!address || typeof address === "string") throw new Error("flood has no TCP address");
    api = await startFakeKubeApi({ host: "127.0.0.1", port: address.port });
    restoreKubeconfig = setEnv("KUBECONFIG", api.kubeconfig);
  });
  afterEach(async () => {
    restoreKubeconfig();
    await api.close();
    await new Promise((resolve) => flood.close(resolve));
  });

  it("a client that leaves while the API holds bytes for it closes its forward within seconds, not after ws's 30 s close timeout", async function () {
    this.timeout(60_000);
    const tunnel = await openPortForward(TARGET, LIMITS);
    try {
      const client = connect(tunnel.port, tunnel.host);
      client.on("error", () => undefined);
      client.pause();
      // The client reads nothing: the tunnel pauses its websocket, and the API holds the rest (the kernels take
      // a few MB of the 64). Held and unchanged: nothing reads it any more.
      let held = -1;
      await waitFor(async () => {
        const before = held;
        held = api.heldForClients;
        await new Promise((resolve) => setTimeout(resolve, 300));
        return held >= 16 << 20 && api.heldForClients === held && before === held;
      }, 30_000);
      const left = Date.now();
      client.destroy();
      await waitFor(async () => api.openForwards === 0, 30_000);
      expect((Date.now() - left) / 1000).to.be.lessThan(10);
    } finally {
      await tunnel.close();
    }
  });
});
