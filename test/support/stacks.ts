import { readFileSync } from "node:fs";
import { parse } from "yaml";

/** The password the program tests set, as a user does with `pulumi config set --secret dbPassword`. */
export const PASSWORD = "s3cret-Password-for-tests";

/** The stack file's config plus the secret a user sets with `pulumi config set --secret`. */
export function stackConfig(stack: string, overrides: Record<string, string> = {}): Record<string, string> {
  const file = parse(readFileSync(`Pulumi.${stack}.yaml`, "utf8")) as { config: Record<string, string> };
  return { ...file.config, "sales-db:dbPassword": PASSWORD, ...overrides };
}
