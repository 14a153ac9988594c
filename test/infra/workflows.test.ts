import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

// The GitHub workflows, read the way the runner reads them: each job's steps in order, with local composite
// actions expanded into their own steps (their `${{ inputs.x }}` replaced by the caller's `with`), and each
// step's environment merged from the workflow, the job and the step.

type Env = Record<string, string>;
interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Env;
}
interface Job {
  if?: string;
  env?: Env;
  steps: Step[];
  permissions?: unknown;
  concurrency?: string | { group: string; "cancel-in-progress"?: boolean | string };
  strategy?: { matrix?: Record<string, unknown[]> };
}
interface Workflow {
  file: string;
  on: Record<string, { types?: string[]; branches?: string[] } | null>;
  permissions?: unknown;
  env?: Env;
  concurrency?: Job["concurrency"];
  jobs: Record<string, Job>;
}
/** A step as it runs: its run script and its whole environment. */
interface RunStep {
  run?: string;
  uses?: string;
  env: Env;
  with: Record<string, unknown>;
  if?: string;
}
/** One invocation of scripts/stack.sh, with the stack it acts on, per matrix value. */
interface StackCommand {
  workflow: Workflow;
  job: Job;
  jobName: string;
  command: string;
  stack: string;
  step: number;
  group?: string;
  cancelInProgress?: boolean | string;
}

const WORKFLOWS = ".github/workflows";
const read = (path: string) => parse(readFileSync(path, "utf8")) as Record<string, unknown>;
const workflows: Workflow[] = readdirSync(WORKFLOWS)
  .filter((file) => /\.ya?ml$/.test(file))
  .map((file) => ({ ...(read(join(WORKFLOWS, file)) as unknown as Workflow), file }));
const workflow = (file: string) => workflows.find((w) => w.file === file)!;

/** A job's steps as they run, composite actions expanded. */
function runSteps(w: Workflow, job: Job): RunStep[] {
  return job.steps.flatMap((step): RunStep[] => {
    const env = { ...w.env, ...job.env, ...step.env };
    if (!step.uses?.startsWith("./")) return [{ ...step, env, with: step.with ?? {} }];
    const action = read(join(step.uses, "action.yml")) as { runs: { steps: Step[] } };
    const input = (text: string) =>
      text.replace(/\$\{\{ *inputs\.([\w-]+) *\}\}/g, (_, name: string) => String(step.with?.[name] ?? ""));
    return action.runs.steps.map((inner) => ({
      ...inner,
      env: { ...env, ...Object.fromEntries(Object.entries(inner.env ?? {}).map(([k, v]) => [k, input(v)])) },
      with: inner.with ?? {},
    }));
  });
}

/** Replaces `${{ matrix.x }}` by the value of this matrix combination. */
const withMatrix = (text: string, matrix: Record<string, string>) =>
  text.replace(/\$\{\{ *matrix\.(\w+) *\}\}/g, (_, key: string) => matrix[key] ?? "");
const matrixCombinations = (job: Job): Record<string, string>[] => {
  const stacks = job.strategy?.matrix?.stack;
  return stacks ? stacks.map((stack) => ({ stack: String(stack) })) : [{}];
};

/** Every `scripts/stack.sh COMMAND ARG` the workflows run, with the stack it names. */
const stackCommands: StackCommand[] = workflows.flatMap((w) =>
  Object.entries(w.jobs).flatMap(([jobName, job]) =>
    matrixCombinations(job).flatMap((matrix) =>
      runSteps(w, job).flatMap((step, index) => {
        const call = /scripts\/stack\.sh +([\w-]+) +("?\$?\w+"?)/.exec(step.run ?? "");
        if (!call) return [];
        const [, command = "", rawArg = ""] = call;
        const name = rawArg.replace(/^"?\$?|"$/g, "");
        const arg = withMatrix(
          rawArg.startsWith('"$') || rawArg.startsWith("$") ? (step.env[name] ?? "") : name,
          matrix,
        );
        const concurrency = job.concurrency ?? w.concurrency;
        const group = typeof concurrency === "string" ? concurrency : concurrency?.group;
        return [
          {
            workflow: w,
            job,
            jobName,
            command,
            stack: command.startsWith("review-") ? `pr-${arg}` : arg,
            step: index,
            group: group && withMatrix(group, matrix),
            cancelInProgress: typeof concurrency === "object" ? concurrency["cancel-in-progress"] : undefined,
          },
        ];
      }),
    ),
  ),
);
const SECRET = /^\$\{\{ *secrets\.[A-Z][A-Z0-9_]* *\}\}$/;

describe("GitHub workflows", () => {
  it("run pulumi only through scripts/stack.sh, the commands the e2e rehearses", () => {
    expect(stackCommands.map((c) => c.command)).to.include.members([
      "preview",
      "deploy",
      "review-up",
      "review-down",
    ]);
    for (const w of workflows) {
      for (const job of Object.values(w.jobs)) {
        for (const step of runSteps(w, job)) {
          expect(step.run ?? "", `${w.file}: pulumi outside scripts/stack.sh`).to.not.match(
            /(^|[;&|\s])pulumi /,
          );
          if (step.uses?.startsWith("pulumi/actions@")) {
            expect(step.with, `${w.file}: pulumi/actions only installs the CLI`).to.not.have.property(
              "command",
            );
          }
        }
      }
    }
  });

  it("write the kubeconfig from the KUBECONFIG secret to a file, before every step that runs pulumi", () => {
    expect(stackCommands).to.have.length.greaterThan(0);
    for (const { workflow: w, job, jobName, step } of stackCommands) {
      const before = runSteps(w, job).slice(0, step);
      const writes = before.find(
        (s) =>
          /KUBECONFIG=.*>> *"?\$GITHUB_ENV"?/.test(s.run ?? "") &&
          Object.values(s.env).some((value) => /^\$\{\{ *secrets\.KUBECONFIG *\}\}$/.test(value)),
      );
      expect(writes, `${w.file} ${jobName}: no kubeconfig written before pulumi runs`).to.not.equal(
        undefined,
      );
      const variable = Object.keys(writes!.env).find((k) => /secrets\.KUBECONFIG/.test(writes!.env[k]!));
      expect(writes!.run, "the secret's variable is written to a file").to.match(
        new RegExp(`"\\$${variable}" *>`),
      );
    }
  });

  it("destroy only stacks that a workflow creates, on the pull-request events that bracket them", () => {
    const created = stackCommands.filter((c) => c.command === "review-up" || c.command === "deploy");
    const destroyed = stackCommands.filter((c) => c.command === "review-down");
    expect(destroyed).to.have.length.greaterThan(0);
    for (const down of destroyed) {
      const up = created.find((c) => c.stack === down.stack);
      expect(up, `${down.workflow.file} destroys ${down.stack}, which no workflow creates`).to.not.equal(
        undefined,
      );
      expect(up!.workflow.on.pull_request?.types).to.include.members(["opened", "synchronize", "reopened"]);
      expect(down.workflow.on.pull_request?.types).to.include("closed");
      // The deploy skips closed pull requests and the destroy runs only for them.
      expect(up!.job.if).to.match(/github\.event\.action != 'closed'/);
      expect(down.job.if).to.match(/github\.event\.action == 'closed'/);
    }
  });

  it("give each stack one concurrency group, which never cancels a run in progress", () => {
    const groups = new Map<string, Set<string>>();
    for (const c of stackCommands) {
      expect(c.group, `${c.workflow.file} ${c.jobName}: no concurrency group`).to.be.a("string");
      expect(c.group, `${c.workflow.file}: the group names the stack`).to.contain(c.stack);
      expect(
        c.cancelInProgress,
        `${c.workflow.file}: a cancelled pulumi run leaves its stack locked`,
      ).to.not.equal(true);
      groups.set(c.stack, (groups.get(c.stack) ?? new Set()).add(c.group!));
    }
    for (const [stack, names] of groups) expect([...names], `groups of stack ${stack}`).to.have.length(1);
    expect(groups.get("dev")?.size, "the preview and the deploy of dev share a group").to.equal(1);
    expect(stackCommands.filter((c) => c.stack === "dev").map((c) => c.command)).to.include.members([
      "preview",
      "deploy",
    ]);
  });

  it("set least-privilege permissions: read only, except the pull-request comment of the preview", () => {
    for (const w of workflows) {
      expect(w.permissions, `${w.file}: permissions`).to.be.an("object");
      for (const job of Object.values(w.jobs))
        expect(job.permissions, `${w.file}: job permissions`).to.equal(undefined);
      const writes = Object.entries(w.permissions as Record<string, string>).filter(([, v]) => v === "write");
      const comments = Object.values(w.jobs).some((job) =>
        job.steps.some((step) => /createComment/.test(String(step.with?.script ?? ""))),
      );
      expect(
        writes.map(([scope]) => scope),
        w.file,
      ).to.deep.equal(comments ? ["pull-requests"] : []);
    }
  });

  it("take the backend, the passphrase and the kubeconfig from repository secrets, and docs/github-actions.md, where the README sends users, names each", () => {
    const guide = readFileSync("docs/github-actions.md", "utf8");
    const used = new Set<string>();
    for (const w of workflows) {
      for (const job of Object.values(w.jobs)) {
        for (const step of runSteps(w, job)) {
          for (const [key, value] of Object.entries(step.env)) {
            if (/^PULUMI_(ACCESS_TOKEN|BACKEND_URL|CONFIG_PASSPHRASE)$|^KUBECONFIG_DATA$/.test(key)) {
              expect(value, `${w.file}: ${key}`).to.match(SECRET);
            }
            for (const [, name] of value.matchAll(/secrets\.([A-Z][A-Z0-9_]*)/g)) used.add(name!);
          }
        }
      }
    }
    expect([...used]).to.include.members(["KUBECONFIG", "PULUMI_ACCESS_TOKEN"]);
    for (const name of used)
      expect(guide, `docs/github-actions.md names the secret ${name}`).to.contain(`\`${name}\``);
  });

  it("preview every stack the repository has a file for, and comment even when a preview fails", () => {
    const stacks = readdirSync(".")
      .map((file) => /^Pulumi\.(\w+)\.yaml$/.exec(file)?.[1])
      .filter((stack): stack is string => stack !== undefined);
    const previewed = stackCommands.filter((c) => c.command === "preview");
    expect(previewed.map((c) => c.stack)).to.have.members(stacks);
    for (const { workflow: w, job } of previewed) {
      expect(w.on).to.have.property("pull_request");
      const comment = job.steps.find((step) => /createComment/.test(String(step.with?.script ?? "")));
      expect(comment?.if, "the comment step runs after a failed preview").to.match(/always\(\)/);
    }
  });

  it("deploy dev on pushes to main, and run what .ci/run runs on every push and pull request", () => {
    const deploys = stackCommands.filter((c) => c.command === "deploy");
    expect(deploys.map((c) => c.stack)).to.deep.equal(["dev"]);
    expect(deploys[0]!.workflow.on).to.deep.equal({ push: { branches: ["main"] } });
    const ci = workflow("ci.yml");
    expect(ci.on).to.have.keys("push", "pull_request");
    expect(Object.values(ci.jobs).flatMap((job) => runSteps(ci, job).map((s) => s.run ?? ""))).to.satisfy(
      (runs: string[]) => runs.some((run) => /(^|\s)\.ci\/run$/.test(run)),
    );
  });
});
