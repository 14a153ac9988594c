import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { resolve } from "node:path";
import { scratch } from "../support/files";

// scripts/stack.sh with a stand-in `pulumi` on PATH that records each call and answers `stack ls` and `preview`
// from files: which pulumi commands each workflow step runs, without a backend or a cluster (the e2e runs them
// for real).
const FAKE_PULUMI = `#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$FAKE_DIR/calls"
echo "fallback=$PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER passphrase=\${PULUMI_CONFIG_PASSPHRASE-unset}" >>"$FAKE_DIR/env"
case "$*" in
  *"stack ls --json"*) cat "$FAKE_DIR/stacks" ;;
  *" preview "*) cat "$FAKE_DIR/preview-output"; exit "$(cat "$FAKE_DIR/preview-status")" ;;
esac
`;
const PREFIX = `--cwd ${resolve(".")} --non-interactive --color never`;
const PREVIEW_OUTPUT = `Previewing update (dev):
 +  pulumi-nodejs:dynamic/seed:SalesSeed sales-seed create
Diagnostics:
  pulumi-nodejs:dynamic/seed:SalesSeed (sales-seed):
    data/sales.csv: 3 valid, 3 rejected (required_fields 1, product_prefix 2)
    warning: Invalid sale: line 5 [required_fields]
    warning: Invalid sale: line 7 [product_prefix, min_price, max_quantity]
`;

describe("scripts/stack.sh (the workflows' pulumi commands)", () => {
  let files: Awaited<ReturnType<typeof scratch>>;
  let dir: string;
  beforeEach(async () => {
    files = await scratch();
    dir = files.dir;
    await chmod(await files.write("pulumi", FAKE_PULUMI), 0o755);
    await files.write("stacks", "[]");
    await files.write("preview-output", PREVIEW_OUTPUT);
    await files.write("preview-status", "0");
  });
  afterEach(() => files.cleanup());

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = spawnSync("bash", ["scripts/stack.sh", ...args], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_DIR: dir, ...env },
      encoding: "utf8",
      timeout: 20_000,
    });
    let calls: string[] = [];
    try {
      calls = readFileSync(resolve(dir, "calls"), "utf8").trim().split("\n");
    } catch {
      // no pulumi call at all
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
  };
  const stacks = (...names: string[]) =>
    files.write("stacks", JSON.stringify(names.map((name) => ({ name, current: false }))));

  it("review-up creates pr-N in namespace sales-db-pr-N, with nothing retained, then updates it", () => {
    // A secret the repository lacks arrives empty.
    const { status, calls } = run(["review-up", "7"], { PULUMI_CONFIG_PASSPHRASE: "" });
    expect(status).to.equal(0);
    expect(calls).to.deep.equal([
      `${PREFIX} stack ls --json`,
      `${PREFIX} stack init pr-7`,
      `${PREFIX} config set --stack pr-7 namespace sales-db-pr-7`,
      `${PREFIX} config set --stack pr-7 pvcRetention Delete`,
      `${PREFIX} config set --stack pr-7 protect false`,
      `${PREFIX} up --stack pr-7 --yes --skip-preview`,
    ]);
    // A fresh runner has no stack file: the secrets provider comes from the state. An empty passphrase is no
    // passphrase, so that pulumi says it is missing rather than encrypting with "".
    expect(readFileSync(resolve(dir, "env"), "utf8")).to.match(/^(fallback=true passphrase=unset\n)+$/);
  });

  it("review-up of an existing stack does not create it again", async () => {
    await stacks("dev", "pr-7");
    const { calls } = run(["review-up", "7"]);
    expect(calls.filter((call) => call.includes("stack init"))).to.deep.equal([]);
    expect(calls.at(-1)).to.equal(`${PREFIX} up --stack pr-7 --yes --skip-preview`);
  });

  it("review-down destroys pr-N and then removes it", async () => {
    await stacks("pr-7");
    const { status, calls } = run(["review-down", "7"]);
    expect(status).to.equal(0);
    expect(calls).to.deep.equal([
      `${PREFIX} stack ls --json`,
      `${PREFIX} destroy --stack pr-7 --yes --skip-preview`,
      `${PREFIX} stack rm --stack pr-7 --yes`,
    ]);
  });

  it("review-down of a pull request without a stack (pr-70 is another one) does nothing, successfully", async () => {
    await stacks("pr-70", "org/pr-77");
    const { status, stdout, calls } = run(["review-down", "7"]);
    expect(status).to.equal(0);
    expect(stdout).to.contain("no review stack pr-7: nothing to destroy");
    expect(calls).to.deep.equal([`${PREFIX} stack ls --json`]);
  });

  it("refuses a pull-request number that is not one (exit 2), before any pulumi call", () => {
    const { status, stderr, calls } = run(["review-up", "7; rm -rf ~"]);
    expect(status).to.equal(2);
    expect(stderr).to.contain("not a pull-request number: 7; rm -rf ~");
    expect(calls).to.deep.equal([]);
    expect(run(["deploy"]).status, "missing stack").to.equal(2);
  });

  it("preview writes the comment: the result, the seed's data-quality lines once each, and the output", async () => {
    const report = resolve(dir, "preview.md");
    const committed = readFileSync("Pulumi.staging.yaml", "utf8");
    const { status, calls } = run(["preview", "staging", report], { STACK_CONFIG_DIR: dir });
    expect(status).to.equal(0);
    expect(calls.slice(1)).to.deep.equal([
      `${PREFIX} stack init staging`,
      `${PREFIX} preview --stack staging --config-file ${dir}/Pulumi.staging.yaml --diff`,
    ]);
    expect(readFileSync("Pulumi.staging.yaml", "utf8"), "the repository's stack file stays").to.equal(
      committed,
    );
    const comment = readFileSync(report, "utf8");
    expect(comment).to.match(/^### pulumi preview of staging: succeeded\n/);
    const quality = comment.split("**Seed data quality**")[1]!.split("<details>")[0]!;
    expect(quality.trim().split("\n")).to.deep.equal([
      "```",
      "data/sales.csv: 3 valid, 3 rejected (required_fields 1, product_prefix 2)",
      "Invalid sale: line 5 [required_fields]",
      "Invalid sale: line 7 [product_prefix, min_price, max_quantity]",
      "```",
    ]);
    expect(comment).to.contain(PREVIEW_OUTPUT.trim()).and.contain("<!-- sales-db-preview:staging -->");
  });

  it("a failed preview still writes its comment, saying so, and fails with pulumi's status", async () => {
    await files.write("preview-output", "error: config sales-db:storageSize must be a storage quantity\n");
    await files.write("preview-status", "255");
    const report = resolve(dir, "preview.md");
    const { status } = run(["preview", "prod", report]);
    expect(status).to.equal(255);
    const comment = readFileSync(report, "utf8");
    expect(comment).to.match(/^### pulumi preview of prod: FAILED \(exit 255\)/);
    expect(comment).to.contain("no validation: see the output").and.contain("must be a storage quantity");
  });
});
