// The vendored CloudNativePG release manifest, checked against its recorded sha256 before anything is applied.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../loader/project";

export interface VendoredManifest {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  readonly operatorDeployment: string;
  readonly operatorContainer: string;
}

export const MANIFEST_DIR = join(projectRoot(), "addons", "cnpg");

/** The manifest's facts and text; throws one line when the file is not the one recorded. */
export function readVendoredManifest(dir = MANIFEST_DIR): { facts: VendoredManifest; yaml: string } {
  const facts = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as VendoredManifest;
  const yaml = readFileSync(join(dir, facts.file), "utf8");
  const sha256 = createHash("sha256").update(yaml).digest("hex");
  if (sha256 !== facts.sha256) {
    throw new Error(
      `addons/cnpg/${facts.file} has sha256 ${sha256}, not the ${facts.sha256} recorded in addons/cnpg/manifest.json: ` +
        `restore the file from the ${facts.name} ${facts.version} release (git checkout addons/cnpg)`,
    );
  }
  return { facts, yaml };
}

interface Container {
  name?: string;
  image?: string;
  imagePullPolicy?: string;
  env?: { name: string; value?: string }[];
}

/**
 * Points the operator's Deployment at `image` with `pullPolicy`, in place. OPERATOR_IMAGE_NAME follows: the
 * operator gives that image to every instance (its instance manager), which must exist on the node too.
 */
export function overrideOperator(
  object: { kind?: string; metadata?: { name?: string }; spec?: unknown },
  facts: Pick<VendoredManifest, "operatorDeployment" | "operatorContainer">,
  override: { readonly image?: string; readonly pullPolicy: string },
): void {
  if (object.kind !== "Deployment" || object.metadata?.name !== facts.operatorDeployment) return;
  const spec = object.spec as { template?: { spec?: { containers?: Container[] } } } | undefined;
  const container = spec?.template?.spec?.containers?.find((c) => c.name === facts.operatorContainer);
  if (!container)
    throw new Error(`the ${facts.operatorDeployment} Deployment has no container ${facts.operatorContainer}`);
  container.imagePullPolicy = override.pullPolicy;
  if (!override.image) return;
  container.image = override.image;
  for (const variable of container.env ?? []) {
    if (variable.name === "OPERATOR_IMAGE_NAME") variable.value = override.image;
  }
}
