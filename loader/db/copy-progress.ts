// The bound on a COPY whose server stopped answering: TCP alone waits forever on a peer that keeps its receive
// window shut (a frozen server, or a relay that stopped reading) or that never replies, and some 15 minutes on a
// network that went silent; keepalives are not sent while bytes are owed.
import type { Writable } from "node:stream";
import type { Client } from "pg";
import { SalesDbError } from "../errors";
import { destroySocket, socketOf } from "./connection/connect";

/** How long the server may take none of the bytes waiting for it, or leave the end of the COPY unanswered. */
export const COPY_STALL_MS = 60_000;

export interface CopyWatch {
  /** Why the COPY was cut off, once it was. */
  readonly stalled: () => SalesDbError | undefined;
  readonly stop: () => void;
}

/**
 * Watches `client`'s socket while `copy` streams through it. The server owes us progress while rows wait for it (in
 * the socket, or in `copy` until the server accepts the COPY) and once every row is sent (it must answer the end of
 * the COPY); a wait for the input owes nothing. After `stallMs` owed with no byte taken or received, the socket is destroyed (whatever waits on it
 * fails at once, and the server rolls back when it notices) and `stalled()` says why, for the load to report
 * instead of the lost connection.
 */
export function watchCopy(client: Client, copy: Writable, table: string, stallMs = COPY_STALL_MS): CopyWatch {
  const socket = socketOf(client);
  if (!socket) throw new Error("watchCopy needs a connected client");
  let stalled: SalesDbError | undefined;
  let waiting = socket.writableLength;
  let read = socket.bytesRead;
  let since = Date.now();
  let drained = false;
  const onDrain = () => (drained = true);
  socket.on("drain", onDrain);
  const timer = setInterval(
    () => {
      const owed = socket.writableLength > 0 || copy.writableLength > 0 || copy.writableEnded;
      // Any change is progress: the kernel took bytes, the COPY wrote more after a drain, the server answered.
      const moved = socket.writableLength !== waiting || drained || socket.bytesRead !== read;
      waiting = socket.writableLength;
      read = socket.bytesRead;
      drained = false;
      if (!owed || moved) since = Date.now();
      if (Date.now() - since < stallMs) return;
      stalled = new SalesDbError(
        "db_error",
        `loading ${table} failed: the server stopped answering mid-COPY (no byte taken or answered for ` +
          `${Math.round(stallMs / 1000)}s: it, or the network to it, is down or frozen); nothing written: ` +
          "check the server and load again",
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
