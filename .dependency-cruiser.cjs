// The import rules `npm run lint` enforces (dependency-cruiser): no cycles, type-only imports included, and the
// layers of docs/decisions.md, "Layers": infra/ on top of loader/; in loader/, the command line on top of the
// database, the database on top of the COPY stream, and that on top of reading, rules and input.
/** Folders of loader/ below the database layer: they know nothing of connections, transactions or the CLI. */
const LOW = "^loader/(csv|rules|input|copy)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycle",
      severity: "error",
      comment: "An import cycle, type-only imports included: move the shared part below both modules.",
      from: {},
      to: { circular: true },
    },
    {
      name: "loader-knows-no-infra",
      severity: "error",
      comment: "The loader is the lower layer: it knows nothing of Pulumi or Kubernetes.",
      from: { path: "^loader/" },
      to: { path: "^infra/" },
    },
    {
      name: "low-layers-know-no-db-or-cli",
      severity: "error",
      comment:
        "Reading, rules, input and the COPY stream take no connection and know nothing of the command line.",
      from: { path: LOW },
      to: { path: "^loader/(db|cli|embedded)/" },
    },
    {
      name: "reading-and-rules-know-no-copy",
      severity: "error",
      comment: "The COPY stream is built on the reader and the rules, not the other way round.",
      from: { path: "^loader/(csv|rules|input)/" },
      to: { path: "^loader/copy/" },
    },
    {
      name: "db-knows-no-cli",
      severity: "error",
      comment: "The database layer serves the CLI and the seed alike: it imports neither.",
      from: { path: "^loader/(db|embedded)/" },
      to: { path: "^loader/cli/" },
    },
    {
      name: "foundation-imports-nothing-of-ours",
      severity: "error",
      comment: "errors, log and project sit under every layer.",
      from: { path: "^loader/[^/]+\\.ts$" },
      to: { path: "^(loader|infra)/.+/" },
    },
    {
      name: "kube-access-knows-no-seed-or-release",
      severity: "error",
      comment: "Reaching the cluster (API client, tunnel) is generic: it knows nothing of what it reaches.",
      from: { path: "^infra/kube/" },
      to: { path: "^infra/(seed|postgres)/|^infra/[^/]+\\.ts$" },
    },
    {
      name: "kube-access-uses-loader-errors-and-root",
      severity: "error",
      comment:
        "Reaching the cluster needs the loader's error type and the project root (where the client's bundle is), nothing else of it.",
      from: { path: "^infra/kube/" },
      to: { path: "^loader/", pathNot: "^loader/(errors|project)\\.ts$" },
    },
    {
      name: "components-are-independent",
      severity: "error",
      comment:
        "The release, the seed and the restore meet only in the program, which wires one's outputs to another.",
      from: { path: "^infra/(postgres|seed|backup)/" },
      to: { path: "^infra/(postgres|seed|backup)/", pathNot: "$1" },
    },
    {
      name: "components-know-no-program",
      severity: "error",
      comment: "The program (index, stack, config) composes the components; they do not import it.",
      from: { path: "^infra/.+/" },
      to: { path: "^infra/(index|stack|config)\\.ts$" },
    },
    {
      name: "production-knows-no-tests",
      severity: "error",
      from: { path: "^(loader|infra|bin|bench)/" },
      to: { path: "^test/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a cycle through types still ties the modules' designs together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(dist|node_modules|test/e2e)/" },
  },
};
