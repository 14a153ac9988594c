import { expect } from "chai";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { CHART_DIR, chartNames, chartValues, hashFolder } from "../../infra/chart";
import { scratch } from "../support/files";

const INPUTS = {
  image: { repository: "postgres", tag: "17.6" },
  dbName: "sales_db",
  dbUser: "sales",
  secretName: "postgres-auth",
  storageSize: "1Gi",
  storageClass: "",
  pvcRetention: "Delete" as const,
  resources: { cpuRequest: "100m", memoryRequest: "256Mi", cpuLimit: "1", memoryLimit: "512Mi" },
  chartHash: "abc",
};
const template = (name: string) => readFileSync(join(CHART_DIR, "templates", name), "utf8");

describe("chart", () => {
  it("values name the Secret and hold no password", () => {
    const values = chartValues(INPUTS);
    expect(values.auth).to.deep.equal({
      database: "sales_db",
      username: "sales",
      existingSecret: "postgres-auth",
      secretKey: "postgres-password",
    });
    expect(JSON.stringify(values)).to.not.match(/password"?\s*:\s*"(?!postgres-password)/i);
  });

  it("values match the chart's schema, which forbids unknown keys such as a password", () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8"));
    expect(schema.additionalProperties).to.equal(false);
    expect(schema.properties.auth.additionalProperties).to.equal(false);
    expect(Object.keys(chartValues(INPUTS)).sort()).to.deep.equal(Object.keys(schema.properties).sort());
    const defaults = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    expect(Object.keys(defaults).sort()).to.deep.equal(Object.keys(schema.properties).sort());
  });

  it("the hash changes when a template is edited, and only then", async () => {
    const files = await scratch();
    try {
      const copy = join(files.dir, "postgres");
      cpSync(CHART_DIR, copy, { recursive: true });
      const before = hashFolder(copy);
      expect(hashFolder(copy)).to.equal(before);
      writeFileSync(
        join(copy, "templates", "service.yaml"),
        `${readFileSync(join(copy, "templates", "service.yaml"), "utf8")}# edit\n`,
      );
      expect(hashFolder(copy)).to.not.equal(before);
    } finally {
      await files.cleanup();
    }
  });

  it("the StatefulSet takes the password from the Secret, keeps PGDATA in a subfolder and runs as 999 without privileges", () => {
    const statefulSet = template("statefulset.yaml");
    expect(statefulSet).to.match(/name: POSTGRES_PASSWORD\n\s+valueFrom:\n\s+secretKeyRef:/);
    expect(statefulSet).to.contain("value: /var/lib/postgresql/data/pgdata");
    expect(statefulSet).to.match(/runAsUser: 999\n\s+runAsGroup: 999\n\s+fsGroup: 999/);
    expect(statefulSet).to.match(/allowPrivilegeEscalation: false\n\s+capabilities:\n\s+drop: \["ALL"\]/);
    expect(statefulSet).to.contain('"pg_isready", "-h", "127.0.0.1"');
    expect(statefulSet).to.contain("whenDeleted: {{ .Values.persistence.retentionPolicy }}");
  });

  it("names objects the way the outputs say", () => {
    expect(chartNames("postgres", "sales-db-dev")).to.deep.include({
      pod: "postgres-0",
      pvc: "postgres-data-postgres-0",
      serviceHost: "postgres.sales-db-dev.svc.cluster.local",
    });
    expect(template("statefulset.yaml")).to.contain("- metadata:\n        name: postgres-data");
  });
});
