import { expect } from "chai";
import { readFileSync } from "node:fs";
import { parse } from "yaml";

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { steps: Step[]; strategy?: { matrix?: Record<string, unknown> } }>;
}
const workflow = (name: string) => parse(readFileSync(`.github/workflows/${name}.yml`, "utf8")) as Workflow;
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((job) => job.steps);
const pulumiStep = (w: Workflow) => steps(w).find((step) => step.uses?.startsWith("pulumi/actions@"));

describe("GitHub workflows", () => {
  it("ci runs npm ci && npm test", () => {
    expect(steps(workflow("ci")).map((s) => s.run)).to.include("npm ci && npm test");
  });

  it("pull requests preview every stack with the Pulumi action and comment on the PR", () => {
    const preview = workflow("preview");
    expect(preview.on).to.have.property("pull_request");
    expect(Object.values(preview.jobs)[0]?.strategy?.matrix?.stack).to.deep.equal(["dev", "staging", "prod"]);
    expect(pulumiStep(preview)?.with).to.deep.include({ command: "preview", "comment-on-pr": true });
  });

  it("pushes to main deploy dev", () => {
    const deploy = workflow("deploy-dev");
    expect(deploy.on).to.deep.equal({ push: { branches: ["main"] } });
    expect(pulumiStep(deploy)?.with).to.deep.include({ command: "up", "stack-name": "dev" });
  });

  it("closing a PR destroys its review stack", () => {
    const destroy = workflow("review-stack-destroy");
    expect(destroy.on).to.deep.equal({ pull_request: { types: ["closed"] } });
    expect(pulumiStep(destroy)?.with).to.deep.include({ command: "destroy", remove: true });
    expect(String(pulumiStep(destroy)?.with?.["stack-name"])).to.match(
      /^pr-\$\{\{ github\.event\.number \}\}$/,
    );
  });
});
