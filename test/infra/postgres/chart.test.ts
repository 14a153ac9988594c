import { expect } from "chai";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import {
  CHART_DIR,
  chartNames,
  chartValues,
  hashFolder,
  MAJOR_LABEL,
  minKubernetes,
  POD_SECURITY,
  postgresMajor,
  POSTGRES_PORT,
} from "../../../infra/postgres/chart";
import { scratch } from "../../support/files";
import { haveHelm, helm, HELM, type KubeObject, renderChart } from "../../support/helm";

const INPUTS = {
  image: { repository: "postgres", tag: "17.6" },
  dbName: "sales_db",
  dbUser: "sales",
  secretName: "postgres-auth",
  storageSize: "1Gi",
  storageClass: "",
  pvcRetention: "Delete" as const,
  resources: { cpuRequest: "100m", memoryRequest: "256Mi", cpuLimit: "1", memoryLimit: "512Mi" },
  backup: { schedule: "", keep: 7 },
  chartHash: "abc",
};

/** What keeps a pod from the restricted Pod Security Standard, as `container: reason` lines. */
// The rendered spec is read path by path, its shape differing per kind.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function restrictedViolations(spec: any): string[] {
  const violations: string[] = [];
  for (const key of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[key]) violations.push(key);
  const seccomp = (spec.securityContext?.seccompProfile?.type ?? "") as string;
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) violations.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) violations.push(`${c.name}: allowPrivilegeEscalation`);
    const drops = (sc.capabilities?.drop ?? []) as string[];
    if (!drops.includes("ALL")) violations.push(`${c.name}: capabilities not dropped`);
    const adds = (sc.capabilities?.add ?? []) as string[];
    if (adds.some((cap) => cap !== "NET_BIND_SERVICE")) violations.push(`${c.name}: capabilities added`);
    if ((sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot) !== true) violations.push(`${c.name}: root`);
    if (sc.runAsUser === 0 || spec.securityContext?.runAsUser === 0) violations.push(`${c.name}: uid 0`);
    const own = (sc.seccompProfile?.type ?? seccomp) as string;
    if (!["RuntimeDefault", "Localhost"].includes(own))
      violations.push(`${c.name}: seccomp ${own || "unset"}`);
    if (c.ports?.some((p: { hostPort?: number }) => p.hostPort)) violations.push(`${c.name}: hostPort`);
  }
  const allowed = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
  ];
  for (const volume of spec.volumes ?? []) {
    const kind = Object.keys(volume).find((key) => key !== "name");
    if (!allowed.includes(kind ?? "")) violations.push(`volume ${volume.name}: ${kind}`);
  }
  return violations;
}

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
    const backupOnly = chartValues({
      ...INPUTS,
      server: { service: "postgres-rw", caSecret: "postgres-ca" },
    });
    expect(Object.keys(backupOnly).sort()).to.deep.equal(Object.keys(schema.properties).sort());
    expect(Object.keys(chartValues(INPUTS)), "the chart's own server: no server values").to.not.include(
      "server",
    );
    const defaults = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    expect(Object.keys(defaults).sort()).to.deep.equal(Object.keys(schema.properties).sort());
  });

  it("the hash changes when a template is edited", async () => {
    const files = await scratch();
    try {
      const copy = join(files.dir, "postgres");
      cpSync(CHART_DIR, copy, { recursive: true });
      const before = hashFolder(copy);
      writeFileSync(
        join(copy, "templates", "service.yaml"),
        `${readFileSync(join(copy, "templates", "service.yaml"), "utf8")}# edit\n`,
      );
      expect(hashFolder(copy)).to.not.equal(before);
    } finally {
      await files.cleanup();
    }
  });

  it("names objects the way the outputs say (no chart rendering: see the rendered tests)", () => {
    expect(chartNames("postgres", "sales-db-dev")).to.deep.include({
      pod: "postgres-0",
      pvc: "postgres-data-postgres-0",
      serviceHost: "postgres.sales-db-dev.svc.cluster.local",
    });
  });
});

// Rendered by the helm binary the e2e toolchain builds (`test/e2e/toolchain/build.sh helm`). A developer without it
// sees these skipped, with the reason; CI (where CI is set) builds it first, and a missing helm fails there.
const renderTests = haveHelm || process.env.CI ? describe : describe.skip;
renderTests(
  `chart rendered by helm template${renderTests === describe ? "" : ` (skipped: no helm at ${HELM}; build it with test/e2e/toolchain/build.sh helm)`}`,
  () => {
    let objects: Map<string, KubeObject>;
    let files: Awaited<ReturnType<typeof scratch>>;
    let valuesFile: string;
    const statefulSet = () => objects.get("StatefulSet/postgres") as KubeObject;
    const pod = () => statefulSet().spec.template.spec;
    const container = () => pod().containers[0];

    before(async () => {
      files = await scratch();
      valuesFile = await files.write("values.json", JSON.stringify(chartValues(INPUTS)));
      objects = await renderChart(CHART_DIR, valuesFile);
    });
    after(() => files.cleanup());

    it("passes helm lint --strict with the values sales-db sets", async () => {
      await helm("lint", "--strict", CHART_DIR, "-f", valuesFile);
    });

    it("renders exactly the StatefulSet and the two Services chartNames predicts", () => {
      const names = chartNames("postgres", "sales-db-dev");
      expect([...objects.keys()].sort()).to.deep.equal(
        [
          `Service/${names.headlessService}`,
          `Service/${names.service}`,
          `StatefulSet/${names.statefulSet}`,
        ].sort(),
      );
      expect(statefulSet().spec.serviceName).to.equal(names.headlessService);
      const claim = statefulSet().spec.volumeClaimTemplates[0].metadata.name;
      expect(`${claim}-${names.pod}`).to.equal(names.pvc);
    });

    it("listens and serves on the one port the program forwards to and reports (POSTGRES_PORT)", () => {
      const names = chartNames("postgres", "sales-db-dev");
      expect(container().ports).to.deep.equal([
        { name: "postgres", containerPort: POSTGRES_PORT, protocol: "TCP" },
      ]);
      for (const service of [names.service, names.headlessService]) {
        expect(objects.get(`Service/${service}`)?.spec.ports).to.deep.equal([
          { name: "postgres", port: POSTGRES_PORT, targetPort: "postgres", protocol: "TCP" },
        ]);
      }
    });

    it("takes the password from the named Secret and puts it in no env value", () => {
      const env: { name: string; value?: string; valueFrom?: unknown }[] = container().env;
      expect(env.find((e) => e.name === "POSTGRES_PASSWORD")).to.deep.equal({
        name: "POSTGRES_PASSWORD",
        valueFrom: { secretKeyRef: { name: "postgres-auth", key: "postgres-password" } },
      });
      expect(env.find((e) => e.name === "PGDATA")?.value).to.equal("/var/lib/postgresql/data/pgdata");
    });

    it("runs as 999 without privileges, capabilities or a service-account token", () => {
      expect(pod().automountServiceAccountToken).to.equal(false);
      expect(pod().securityContext).to.deep.equal({
        runAsNonRoot: true,
        runAsUser: 999,
        runAsGroup: 999,
        fsGroup: 999,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(container().securityContext).to.deep.equal({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
    });

    it("has the security contexts the preflight's dry run asks the namespace about (POD_SECURITY)", () => {
      expect(pod().securityContext).to.deep.equal(POD_SECURITY.pod);
      expect(container().securityContext).to.deep.equal(POD_SECURITY.container);
    });

    it("records the image's PostgreSQL major on the volume it creates, which the preflight reads", async () => {
      const claim = statefulSet().spec.volumeClaimTemplates[0].metadata;
      expect(claim.labels[MAJOR_LABEL]).to.equal("17");
      const other = await files.write(
        "values-16.json",
        JSON.stringify(chartValues({ ...INPUTS, image: { repository: "postgres", tag: "16.4-bookworm" } })),
      );
      const rendered = await renderChart(CHART_DIR, other);
      const claim16 = (rendered.get("StatefulSet/postgres") as KubeObject).spec.volumeClaimTemplates[0]
        .metadata;
      expect(claim16.labels[MAJOR_LABEL]).to.equal(postgresMajor("16.4-bookworm"));
    });

    it("meets the restricted Pod Security Standard, which the namespace the program creates enforces", () => {
      expect(restrictedViolations(pod())).to.deep.equal([]);
    });

    it("probes readiness over TCP on 127.0.0.1 and carries the values' resources and retention policy", () => {
      expect(container().readinessProbe.exec.command.slice(0, 3)).to.deep.equal([
        "pg_isready",
        "-h",
        "127.0.0.1",
      ]);
      expect(container().resources).to.deep.equal(chartValues(INPUTS).resources);
      expect(statefulSet().spec.persistentVolumeClaimRetentionPolicy.whenDeleted).to.equal("Delete");
      expect(statefulSet().metadata.annotations?.["sales-db/chart-hash"]).to.equal("abc");
    });

    it("labels the version from the chart's appVersion", () => {
      const chart = parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8"));
      for (const object of objects.values()) {
        expect(object.metadata.labels?.["app.kubernetes.io/version"]).to.equal(chart.appVersion);
      }
    });

    it("refuses a cluster older than 1.27, which would drop the PVC retention policy", async () => {
      let failure = "";
      await helm("template", "postgres", CHART_DIR, "-f", valuesFile, "--kube-version", "1.26.0").catch(
        (error: Error & { stderr?: string }) => (failure = error.stderr ?? error.message),
      );
      expect(failure).to.match(/kubeVersion/i);
      await helm("template", "postgres", CHART_DIR, "-f", valuesFile, "--kube-version", "1.27.0");
      // The preflight refuses the same clusters, before Helm runs.
      expect(minKubernetes()).to.equal("1.27.0");
    });

    it("refuses an image tag that does not start with the PostgreSQL major", async () => {
      const values = await files.write(
        "values-bookworm.json",
        JSON.stringify(chartValues({ ...INPUTS, image: { repository: "postgres", tag: "bookworm" } })),
      );
      let failure = "";
      await helm("template", "postgres", CHART_DIR, "-f", values).catch(
        (error: Error & { stderr?: string }) => (failure = error.stderr ?? error.message),
      );
      expect(failure).to.contain("image.tag must start with the PostgreSQL major version");
    });

    it("refuses a password value and a missing Secret name", async () => {
      const rejected = (args: string[]) =>
        helm("template", "postgres", CHART_DIR, ...args).then(
          () => "",
          (error: Error & { stderr?: string }) => error.stderr ?? error.message,
        );
      expect(await rejected(["-f", valuesFile, "--set", "auth.password=leak"])).to.match(/password/);
      expect(await rejected([])).to.match(/existingSecret/);
    });

    describe("with backups", () => {
      const names = chartNames("postgres", "sales-db-dev");
      const render = async (pvcRetention: "Delete" | "Retain") => {
        const values = await files.write(
          `values-backup-${pvcRetention}.json`,
          JSON.stringify(
            chartValues({ ...INPUTS, pvcRetention, backup: { schedule: "0 3 * * *", keep: 4 } }),
          ),
        );
        return renderChart(CHART_DIR, values);
      };
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const jobPod = (rendered: Map<string, KubeObject>): any =>
        rendered.get(`CronJob/${names.backupCronJob}`)?.spec.jobTemplate.spec.template.spec;

      it("renders the scripts, the backup volume and the CronJob chartNames predicts, only with a schedule", async () => {
        const rendered = await render("Delete");
        const backupObjects = [
          `ConfigMap/${names.backupCronJob}-scripts`,
          `PersistentVolumeClaim/${names.backupVolume}`,
          `CronJob/${names.backupCronJob}`,
        ];
        expect([...rendered.keys()].filter((key) => !objects.has(key)).sort()).to.deep.equal(
          backupObjects.sort(),
        );
        const cronJob = rendered.get(`CronJob/${names.backupCronJob}`) as KubeObject;
        expect(cronJob.spec.schedule).to.equal("0 3 * * *");
        expect(cronJob.spec.concurrencyPolicy).to.equal("Forbid");
        const volumes = jobPod(rendered).volumes;
        expect(
          volumes.map(
            (volume: { persistentVolumeClaim?: { claimName: string } }) =>
              volume.persistentVolumeClaim?.claimName,
          ),
        ).to.include(names.backupVolume);
        const scripts = rendered.get(`ConfigMap/${names.backupCronJob}-scripts`) as unknown as {
          data: Record<string, string>;
        };
        for (const script of ["backup.sh", "restore.sh"]) {
          expect(scripts.data[script]).to.equal(readFileSync(join(CHART_DIR, "scripts", script), "utf8"));
        }
      });

      it("binds the backup volume with the database's (its pod mounts it read-only), and backs up on that node", async () => {
        const rendered = await render("Delete");
        const database = (rendered.get(`StatefulSet/${names.statefulSet}`) as KubeObject).spec.template.spec;
        expect(database.volumes).to.deep.include({
          name: "backups",
          persistentVolumeClaim: { claimName: names.backupVolume },
        });
        expect(database.containers[0].volumeMounts).to.deep.include({
          name: "backups",
          mountPath: "/backups",
          readOnly: true,
        });
        const affinity = jobPod(rendered).affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution;
        expect(affinity).to.deep.equal([
          {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: {
              matchLabels: (statefulSet().spec.selector as { matchLabels: object }).matchLabels,
            },
          },
        ]);
        expect(pod().volumes, "without backups, the database mounts no backup volume").to.equal(undefined);
      });

      it("keeps the backup volume on uninstall exactly when the data volume is retained", async () => {
        const policy = (rendered: Map<string, KubeObject>) =>
          rendered.get(`PersistentVolumeClaim/${names.backupVolume}`)?.metadata.annotations?.[
            "helm.sh/resource-policy"
          ];
        expect(policy(await render("Retain"))).to.equal("keep");
        expect(policy(await render("Delete"))).to.equal(undefined);
      });

      it("runs the job pod like the database's: restricted, no token, the password only from the Secret", async () => {
        const spec = jobPod(await render("Delete"));
        expect(restrictedViolations(spec)).to.deep.equal([]);
        expect(spec.securityContext).to.deep.equal(POD_SECURITY.pod);
        expect(spec.containers[0].securityContext).to.deep.equal(POD_SECURITY.container);
        expect(spec.automountServiceAccountToken).to.equal(false);
        const env: { name: string; value?: string; valueFrom?: unknown }[] = spec.containers[0].env;
        expect(env.find((e) => e.name === "PGPASSWORD")).to.deep.equal({
          name: "PGPASSWORD",
          valueFrom: { secretKeyRef: { name: "postgres-auth", key: "postgres-password" } },
        });
        // The Service's own environment variables (Kubernetes derives their names from the Service's).
        const variable = names.service.toUpperCase().replace(/-/g, "_");
        expect(env.find((e) => e.name === "PGHOST")?.value).to.equal(`$(${variable}_SERVICE_HOST)`);
        expect(env.find((e) => e.name === "BACKUP_KEEP")?.value).to.equal("4");
      });
    });

    describe("backups only (server.enabled false): of a CloudNativePG Cluster's primary", () => {
      const names = chartNames("postgres", "sales-db-prod");
      const backupOnly = (overrides: Partial<typeof INPUTS> = {}) =>
        chartValues({
          ...INPUTS,
          pvcRetention: "Retain",
          backup: { schedule: "0 3 * * *", keep: 7 },
          secretKey: "password",
          server: { service: "postgres-rw", caSecret: "postgres-ca" },
          ...overrides,
        });
      let rendered: Map<string, KubeObject>;
      let valuesOnly: string;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const jobPod = (): any =>
        rendered.get(`CronJob/${names.backupCronJob}`)?.spec.jobTemplate.spec.template.spec;
      const env = () =>
        Object.fromEntries(
          (jobPod().containers[0].env as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [
            e.name,
            e.value ?? e.valueFrom,
          ]),
        );
      const rejected = (values: object) =>
        files
          .write(`values-rejected-${Date.now()}-${Math.random()}.json`, JSON.stringify(values))
          .then((file) => helm("template", "postgres", CHART_DIR, "-f", file))
          .then(
            () => "",
            (error: Error & { stderr?: string }) => error.stderr ?? error.message,
          );

      before(async () => {
        valuesOnly = await files.write("values-backup-only.json", JSON.stringify(backupOnly()));
        rendered = await renderChart(CHART_DIR, valuesOnly);
      });

      it("passes helm lint --strict", async () => {
        await helm("lint", "--strict", CHART_DIR, "-f", valuesOnly);
      });

      it("renders the scripts, the backup volume and the CronJob only: no StatefulSet, no Service", () => {
        expect([...rendered.keys()].sort()).to.deep.equal(
          [
            `ConfigMap/${names.backupCronJob}-scripts`,
            `CronJob/${names.backupCronJob}`,
            `PersistentVolumeClaim/${names.backupVolume}`,
          ].sort(),
        );
      });

      it("dumps the Service named (postgres-rw) at its address, verifying its certificate for that name", () => {
        expect(env()).to.deep.include({
          PGHOST: "postgres-rw",
          PGHOSTADDR: "$(POSTGRES_RW_SERVICE_HOST)",
          PGPORT: "5432",
          PGSSLMODE: "verify-full",
          PGSSLROOTCERT: "/tls/ca.crt",
          PGDATABASE: "sales_db",
          PGUSER: "sales",
        });
        expect(jobPod().enableServiceLinks).to.equal(true);
        expect(jobPod().volumes).to.deep.include({
          name: "tls",
          secret: { secretName: "postgres-ca", items: [{ key: "ca.crt", path: "ca.crt" }] },
        });
        expect(jobPod().containers[0].volumeMounts).to.deep.include({
          name: "tls",
          mountPath: "/tls",
          readOnly: true,
        });
      });

      it("takes the password from the Cluster's basic-auth Secret, never a value", () => {
        expect(env().PGPASSWORD).to.deep.equal({ secretKeyRef: { name: "postgres-auth", key: "password" } });
      });

      it("sets no affinity: the primary moves on a failover, and a node-local volume places the pod itself", () => {
        expect(jobPod().affinity).to.equal(undefined);
      });

      it("stays restricted, and keeps the backup volume on uninstall with Retain", () => {
        expect(restrictedViolations(jobPod())).to.deep.equal([]);
        expect(
          rendered.get(`PersistentVolumeClaim/${names.backupVolume}`)?.metadata.annotations?.[
            "helm.sh/resource-policy"
          ],
        ).to.equal("keep");
      });

      it("refuses to render without a schedule, a Service or a CA Secret", async () => {
        expect(await rejected(backupOnly({ backup: { schedule: "", keep: 7 } }))).to.contain(
          "backup.schedule is required",
        );
        expect(
          await rejected({
            ...backupOnly(),
            server: { enabled: false, service: "", caSecret: "postgres-ca" },
          }),
        ).to.contain("server.service is required");
        expect(
          await rejected({
            ...backupOnly(),
            server: { enabled: false, service: "postgres-rw", caSecret: "" },
          }),
        ).to.contain("server.caSecret is required");
      });
    });
  },
);
