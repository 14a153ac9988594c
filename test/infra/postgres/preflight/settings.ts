import type { PreflightSettings } from "../../../../infra/postgres/preflight/checks";

/** The dev stack's settings as the preflight sees them: what the preflight's tests start from. */
export const DEV_SETTINGS: PreflightSettings = {
  namespace: "sales-db-dev",
  createNamespace: true,
  releaseName: "postgres",
  storageSize: "1Gi",
  storageClass: "",
  image: "postgres:17.6",
  minKubernetes: "1.27.0",
};
