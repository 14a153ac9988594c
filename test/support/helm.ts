import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

/** The helm binary the e2e toolchain builds (test/e2e/toolchain/versions.sh names the same cache). */
export const HELM = join(
  process.env.SALES_DB_E2E_CACHE ?? join(homedir(), ".cache", "sales-db-e2e"),
  "bin",
  "helm",
);
export const haveHelm = existsSync(HELM);

/** A Kubernetes object as `helm template` renders it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // The tests read into the spec path by path; the shape differs per kind.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec: any;
}

/** Runs `helm` with a bounded wait and returns its stdout. */
export async function helm(...args: string[]): Promise<string> {
  const { stdout } = await run(HELM, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Renders a chart with a values file and returns the objects, keyed by `Kind/name`. */
export async function renderChart(
  chart: string,
  valuesFile: string,
  ...extra: string[]
): Promise<Map<string, KubeObject>> {
  const out = await helm(
    "template",
    "postgres",
    chart,
    "--namespace",
    "sales-db-dev",
    "-f",
    valuesFile,
    ...extra,
  );
  const objects = new Map<string, KubeObject>();
  for (const doc of parseAllDocuments(out)) {
    const object = doc.toJS() as KubeObject | null;
    if (object) objects.set(`${object.kind}/${object.metadata.name}`, object);
  }
  return objects;
}
