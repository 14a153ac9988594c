// The bound on a COPY whose server stopped taking its bytes: TCP alone waits forever on a peer that keeps its
// receive window shut (a frozen server, or a relay that stopped reading), and some 15 minutes on a network that
// went silent.
import type { Client } from "pg";
import { SalesDbError } from "../errors";
import { destroySocket, socketOf } from "./connection/connect";

/** How long the server may take none of the bytes waiting for it before the load fails. */
export const COPY_STALL_MS = 60_000;

export interface CopyWatch {
  /** Why the COPY was cut off, once it was. */
  readonly stalled: () => SalesDbError | undefined;
  readonly stop: () => void;
}

/**
 * Watches `client`'s socket while a COPY streams through it. Once bytes have waited in it for `stallMs` with none
 * taken, the socket is destroyed (whatever waits on it fails at once, and the server rolls back when it notices)
 * and `stalled()` says why, for the load to report instead of the lost connection.
 */
export function watchCopy(client: Client, table: string, stallMs = COPY_STALL_MS): CopyWatch {
  const socket = socketOf(client);
  if (!socket) throw new Error("watchCopy needs a connected client");
  let stalled: SalesDbError | undefined;
  let waiting = 0; // bytes waiting in the socket at the last look
  let since = Date.now();
  let drained = false;
  const onDrain = () => (drained = true);
  socket.on("drain", onDrain);
  const timer = setInterval(
    () => {
      const length = socket.writableLength;
      // Any change is progress: the kernel took bytes, or the COPY wrote more after a drain.
      if (length === 0 || length !== waiting || drained) {
        waiting = length;
        since = Date.now();
        drained = false;
        return;
      }
      if (Date.now() - since < stallMs) return;
      stalled = new SalesDbError(
        "db_error",
        `loading ${table} failed: the server took none of the rows sent for ${Math.round(stallMs / 1000)}s (it, ` +
          "or the network to it, stopped answering); nothing written: check the server and load again",
      );
      stop();
      destroySocket(client);
    },
    Math.min(1_000, stallMs / 4),
  );
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    socket.removeListener("drain", onDrain);
  };
  return { stalled: () => stalled, stop };
}
