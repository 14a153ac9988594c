import { POD_SECURITY } from "./chart";

/**
 * A `kubectl run` of a pod that lists the chart's backup volume and is removed when done; it meets the restricted
 * Pod Security Standard, as the namespace enforces. For sh: sh -c "$(pulumi stack output listBackups)".
 */
export function listBackupsCommand(namespace: string, volume: string, image: string): string {
  const pod = {
    spec: {
      securityContext: POD_SECURITY.pod,
      automountServiceAccountToken: false,
      containers: [
        {
          name: "list",
          image,
          command: ["ls", "-l", "/backups"],
          securityContext: POD_SECURITY.container,
          volumeMounts: [{ name: "backups", mountPath: "/backups", readOnly: true }],
        },
      ],
      volumes: [{ name: "backups", persistentVolumeClaim: { claimName: volume, readOnly: true } }],
    },
  };
  return (
    `kubectl -n ${namespace} run list-backups-$(date +%s) --rm -i --quiet --restart=Never --image=${image} ` +
    `--overrides='${JSON.stringify(pod)}'`
  );
}
