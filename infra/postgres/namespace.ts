import * as core from "@pulumi/kubernetes/core/v1";
import type * as pulumi from "@pulumi/pulumi";

/**
 * The stack's namespace, when it creates one: labelled to enforce the restricted Pod Security Standard, which both
 * topologies' pods meet. With Retain, destroy keeps it: deleting it would delete the retained volumes with it.
 */
export function stackNamespace(
  name: string,
  args: {
    readonly namespace: string;
    readonly pvcRetention: "Delete" | "Retain";
    readonly after: pulumi.Resource[];
  },
  parent: pulumi.Resource,
): core.Namespace {
  return new core.Namespace(
    name,
    {
      metadata: {
        name: args.namespace,
        labels: { "pod-security.kubernetes.io/enforce": "restricted" },
      },
    },
    { parent, retainOnDelete: args.pvcRetention === "Retain", dependsOn: args.after },
  );
}
