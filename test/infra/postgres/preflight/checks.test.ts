import { expect } from "chai";
import { DEV_SETTINGS } from "./settings";
import type { ClusterFacts, Sizes } from "../../../../infra/postgres/preflight/cluster-facts";
import {
  describePlan,
  refusals as refusalsOf,
  tagOf,
  topologyRefusal,
  volumePlan,
} from "../../../../infra/postgres/preflight/checks";

const GI = 1024 ** 3;

/** A cluster that can run the stack: a recent Kubernetes, a default class, and the stack's own volume at 1Gi. */
function facts(change: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    server: "https://10.0.0.1:6443",
    context: "dev",
    kubernetesVersion: "v1.34.4",
    storageClasses: [
      { name: "standard", isDefault: true, allowVolumeExpansion: false },
      { name: "expandable", isDefault: false, allowVolumeExpansion: true },
    ],
    namespace: { labels: {} },
    denied: [],
    volume: { name: "postgres-data-postgres-0", size: "1Gi", storageClass: "standard", major: "17" },
    statefulSet: {
      name: "postgres",
      image: "postgres:17.6",
      claimSize: "1Gi",
      claimStorageClass: undefined,
      claimMajor: "17",
    },
    ...change,
  };
}

const SETTINGS = DEV_SETTINGS;
const SAME: Sizes = { wanted: GI, volume: GI, claimTemplate: GI };

/** The refusals' lines, each prefixed with the setting it blames. */
const refusals = (...args: Parameters<typeof refusalsOf>) =>
  refusalsOf(...args).map((refusal) => `${refusal.property}: ${refusal.reason}`);

describe("preflight refusals (one line each: what is wrong, what to do)", () => {
  it("refuses nothing, and plans nothing, for a cluster that runs the stack as it is", () => {
    expect(refusals(facts(), SETTINGS, SAME)).to.deep.equal([]);
    expect(volumePlan(facts(), SETTINGS, SAME)).to.deep.equal({});
    expect(describePlan({}, "postgres")).to.equal("");
  });

  it("a Kubernetes older than the chart's kubeVersion", () => {
    expect(refusals(facts({ kubernetesVersion: "v1.26.9+k3s1" }), SETTINGS, SAME)).to.deep.equal([
      "minKubernetes: Kubernetes v1.26.9+k3s1 at https://10.0.0.1:6443 is older than the chart supports (1.27.0 or newer): " +
        "upgrade the cluster, or point kubernetes:context at a newer one",
    ]);
    expect(refusals(facts({ kubernetesVersion: "v1.27.0" }), SETTINGS, SAME)).to.deep.equal([]);
    expect(refusals(facts({ kubernetesVersion: "v2.0.0" }), SETTINGS, SAME)).to.deep.equal([]);
  });

  it("no default StorageClass and none set, before the first volume", () => {
    const noDefault = facts({
      volume: null,
      statefulSet: null,
      storageClasses: [{ name: "fast", isDefault: false, allowVolumeExpansion: true }],
    });
    expect(refusals(noDefault, SETTINGS, { wanted: GI })).to.deep.equal([
      "storageClass: the cluster has no default StorageClass and storageClass is not set, so the volume would never bind: " +
        "pulumi config set storageClass to one of the cluster's (fast), or mark one as the default",
    ]);
    expect(refusals(noDefault, { ...SETTINGS, storageClass: "fast" }, { wanted: GI })).to.deep.equal([]);
    // Where the user may not list classes, nothing is said about them.
    expect(
      refusals(facts({ volume: null, storageClasses: undefined }), SETTINGS, { wanted: GI }),
    ).to.deep.equal([]);
  });

  it("a storageClass the cluster does not have", () => {
    expect(
      refusals(facts({ volume: null }), { ...SETTINGS, storageClass: "ssd" }, { wanted: GI }),
    ).to.deep.equal([
      "storageClass: StorageClass ssd does not exist in the cluster (it has: standard, expandable): " +
        "pulumi config set storageClass to one of them",
    ]);
  });

  it("a namespace that does not exist when the stack may not create it", () => {
    const reasons = refusals(facts({ namespace: null }), { ...SETTINGS, createNamespace: false }, SAME);
    expect(reasons).to.deep.equal([
      "namespace: namespace sales-db-dev does not exist and createNamespace is false: create it " +
        "(kubectl create namespace sales-db-dev), or pulumi config set createNamespace true",
    ]);
    expect(refusals(facts({ namespace: null }), SETTINGS, SAME)).to.deep.equal([]);
  });

  it("a kubeconfig whose user may not read Secrets or port-forward", () => {
    const denied = ["get secrets (to read the password)", "create pods/portforward (to reach PostgreSQL)"];
    expect(refusals(facts({ denied }), SETTINGS, SAME)).to.deep.equal([
      "namespace: the kubeconfig's user (context dev) may not get secrets (to read the password), create " +
        "pods/portforward (to reach PostgreSQL) in namespace sales-db-dev: ask for a Role that allows it " +
        "(README, Permissions the kubeconfig needs)",
    ]);
  });

  it("a volume the user may not read is judged by nothing, and is not taken for a first up", () => {
    const unreadable = facts({ volume: undefined, statefulSet: undefined, storageClasses: [] });
    expect(refusals(unreadable, { ...SETTINGS, image: "postgres:18.1" }, { wanted: GI })).to.deep.equal([]);
  });

  it("a namespace whose admission refuses the pod, its own words kept on one line", () => {
    const refusal =
      'pods "postgres-preflight" is forbidden: violates PodSecurity "restricted:latest":\n  runAsNonRoot';
    expect(refusals(facts({ podRefusal: refusal }), SETTINGS, SAME)).to.deep.equal([
      'namespace: namespace sales-db-dev refuses the PostgreSQL pod (pods "postgres-preflight" is forbidden: violates ' +
        'PodSecurity "restricted:latest": runAsNonRoot): ask the cluster\'s admin to admit it, or deploy to another namespace',
    ]);
  });

  it("a smaller volume: nothing shrinks", () => {
    const reasons = refusals(facts({ volume: { ...facts().volume!, size: "2Gi" } }), SETTINGS, {
      ...SAME,
      volume: 2 * GI,
    });
    expect(reasons).to.deep.equal([
      "storageSize: storageSize 1Gi is smaller than the volume postgres-data-postgres-0 (2Gi): a volume never shrinks; " +
        "set storageSize back to 2Gi",
    ]);
  });

  it("a larger volume on a class that does not allow expansion", () => {
    expect(refusals(facts(), { ...SETTINGS, storageSize: "2Gi" }, { ...SAME, wanted: 2 * GI })).to.deep.equal(
      [
        "storageSize: storageSize 2Gi would grow the volume postgres-data-postgres-0 (1Gi), but its StorageClass standard does " +
          "not allow volume expansion: set storageSize back to 1Gi, or have allowVolumeExpansion: true set on " +
          "standard (where its provisioner can resize)",
      ],
    );
  });

  it("another class for an existing volume", () => {
    expect(refusals(facts(), { ...SETTINGS, storageClass: "expandable" }, SAME)).to.deep.equal([
      "storageClass: storageClass expandable differs from the class of the volume postgres-data-postgres-0 (standard): a volume " +
        "cannot move to another class; set storageClass back to standard (to move the data: a backup, then a " +
        "restore into a new stack)",
    ]);
  });

  it("another PostgreSQL major on an existing data directory, recorded on the volume or read from the image", () => {
    const upgrade = { ...SETTINGS, image: "registry.local:5000/postgres:18.1-bookworm" };
    expect(refusals(facts(), upgrade, SAME)).to.deep.equal([
      "image: image registry.local:5000/postgres:18.1-bookworm is PostgreSQL 18, but the volume postgres-data-postgres-0 " +
        "holds a PostgreSQL 17 data directory (recorded on the volume when it was created): a data directory starts " +
        "only under its own major version; keep a 17.x tag, or move the data with a backup and a restore into a " +
        "stack on 18 (README, Day-two operations)",
    ]);
    // A volume from before the label: the image the StatefulSet runs on it tells.
    const unlabelled = facts({ volume: { ...facts().volume!, major: undefined } });
    expect(refusals(unlabelled, upgrade, SAME)[0]).to.contain(
      "holds a PostgreSQL 17 data directory (the image the StatefulSet runs, postgres:17.6)",
    );
    // A new minor, or no volume yet, is no refusal.
    expect(refusals(facts(), { ...SETTINGS, image: "postgres:17.7" }, SAME)).to.deep.equal([]);
    expect(refusals(facts({ volume: null }), upgrade, { wanted: GI })).to.deep.equal([]);
  });
});

describe("preflight volume plan", () => {
  it("grows the volume in place and recreates the StatefulSet, whose claim template is immutable", () => {
    const expandable = facts({ volume: { ...facts().volume!, storageClass: "expandable" } });
    const plan = volumePlan(expandable, { ...SETTINGS, storageSize: "2Gi" }, { ...SAME, wanted: 2 * GI });
    expect(plan).to.deep.equal({
      grow: { claim: "postgres-data-postgres-0", from: "1Gi", to: "2Gi", storageClass: "expandable" },
      recreate: "its volumeClaimTemplate's size changes",
    });
    expect(describePlan(plan, "postgres")).to.equal(
      "grows the volume postgres-data-postgres-0 from 1Gi to 2Gi in place (StorageClass expandable allows " +
        "expansion); then recreates the StatefulSet postgres without deleting its pod, which keeps running (its " +
        "volumeClaimTemplate's size changes: the field is immutable)",
    );
  });

  it("recreates a StatefulSet whose claim template predates the recorded major, and leaves the volume", () => {
    const old = facts({ statefulSet: { ...facts().statefulSet!, claimMajor: undefined } });
    expect(volumePlan(old, SETTINGS, SAME)).to.deep.equal({
      recreate: "its volumeClaimTemplate's recorded major changes",
    });
  });

  it("an equal size in other units is no change", () => {
    expect(volumePlan(facts(), { ...SETTINGS, storageSize: "1024Mi" }, SAME)).to.deep.equal({});
  });

  it("reads the tag of an image, not a registry's port", () => {
    expect(tagOf("registry.local:5000/postgres:17.6")).to.equal("17.6");
    expect(tagOf("registry.local:5000/postgres")).to.equal("");
  });
});

describe("preflight: instances", () => {
  it("refuses two or more instances where the cluster lacks CloudNativePG's CRD, naming the add-ons command", () => {
    expect(refusals(facts({ clusterCrd: false }), { ...SETTINGS, instances: 3 }, SAME)).to.deep.equal([
      "instances: instances 3 needs the CloudNativePG operator, whose CRD clusters.postgresql.cnpg.io the " +
        "cluster at https://10.0.0.1:6443 lacks: install it once per cluster (cd addons && pulumi up; README, " +
        "High availability), or pulumi config set instances 1",
    ]);
    expect(refusals(facts({ clusterCrd: true }), { ...SETTINGS, instances: 3 }, SAME)).to.deep.equal([]);
    expect(refusals(facts({ clusterCrd: undefined }), { ...SETTINGS, instances: 3 }, SAME)).to.deep.equal([]);
  });

  it("refuses a move between one instance and more, either way, saying how to move the data", () => {
    const up = topologyRefusal(SETTINGS, { ...SETTINGS, instances: 3 });
    expect(up?.property).to.equal("instances");
    expect(up?.reason).to.equal(
      "instances 1 → 3 would move the database from the chart's single pod to a CloudNativePG cluster, a new and " +
        "empty one: set instances back to 1, or move the data with a backup and a restore into a new stack " +
        "(README, High availability)",
    );
    expect(topologyRefusal({ ...SETTINGS, instances: 2 }, SETTINGS)?.reason).to.match(
      /^instances 2 → 1 would move the database from a CloudNativePG cluster to the chart's single pod/,
    );
  });

  it("lets a cluster scale (2 → 3 → 2), and a new stack start at any size", () => {
    expect(topologyRefusal({ ...SETTINGS, instances: 2 }, { ...SETTINGS, instances: 3 })).to.equal(undefined);
    expect(topologyRefusal({ ...SETTINGS, instances: 3 }, { ...SETTINGS, instances: 2 })).to.equal(undefined);
    expect(topologyRefusal({}, { ...SETTINGS, instances: 3 })).to.equal(undefined);
    expect(topologyRefusal(SETTINGS, SETTINGS)).to.equal(undefined);
  });
});
