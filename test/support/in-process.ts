import { Writable } from "node:stream";
import { main } from "../../loader/cli/main";

/** A stream that keeps what is written to it, or throws `failure` on every write. */
function sink(failure?: Error) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (failure) throw failure;
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

/**
 * Runs the `sales-db` command in this process, with `env` as its whole environment; stdout throws `failure` on
 * every write when given. Faster than spawning the launcher, for tests of what the command prints.
 */
export async function runMain(argv: readonly string[], env: NodeJS.ProcessEnv = {}, failure?: Error) {
  const stdout = sink(failure);
  const stderr = sink();
  const code = await main(argv, { stdout: stdout.stream, stderr: stderr.stream, env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
