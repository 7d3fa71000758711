import Yams

/// The Deployment: the artifact by digest, Baton's swap as a rolling update that never goes
/// below the replicas asked for, and the sandbox's confinement as the pod's security context.
extension KubernetesNames {
    func deployment() -> YAMLDocument {
        var comments = header
        if !app.image.pushed {
            comments += ["",
                         "The image is not pushed: push the artifact, then apply:",
                         "  baton artifact push \(app.image.source) \(app.image.repository)",
                         "(or export again with --registry \(app.image.repository), which pushes it and keeps the digest)."]
        }
        comments += ["", "The digest pins the bytes Baton serves; 'kubectl rollout history deployment/\(app.name)\(namespaceFlag)'",
                     "lists the ones deployed since, and 'kubectl rollout undo' goes back one."]
        if app.stopFirst {
            comments += ["Strategy Recreate: the app is stop-first in Baton (never two pods at once)."]
        }
        comments += probeNotes
        if let pids = app.pids {
            comments += ["Baton's --pids \(pids) has no per-pod field here: the kubelet's podPidsLimit caps pids per node."]
        }
        if app.user == nil {
            comments += ["The artifact runs as root (uid 0, no capabilities), as in Baton: set runAsUser/runAsNonRoot once it need not."]
        }
        if app.volumes.contains(where: { !$0.shared }) && app.replicas > 1 {
            comments += ["Volumes with several replicas: a ReadWriteOnce claim binds pods to one node; see the claims."]
        }
        let change = "baton export: \(app.image.source) \(app.image.digest)"
        let node = YAMLValue.map { map in
            map.set("apiVersion", YAMLValue.string("apps/v1"))
            map.set("kind", YAMLValue.string("Deployment"))
            map.set("metadata", metadata(app.name, annotations: [("kubernetes.io/change-cause", change)]))
            map.set("spec", YAMLValue.map { spec in
                spec.set("replicas", YAMLValue.int(app.replicas))
                spec.set("revisionHistoryLimit", YAMLValue.int(10))
                spec.set("selector", YAMLValue.map { $0.set("matchLabels", labels) })
                spec.set("strategy", strategy)
                spec.set("template", YAMLValue.map { template in
                    template.set("metadata", YAMLValue.map { $0.set("labels", labels) })
                    template.set("spec", podSpec)
                })
            })
        }
        return YAMLDocument(comments: comments, node)
    }

    /// Blue-green as a rolling update: every new pod starts and turns ready before an old one
    /// is taken away (maxUnavailable 0), all of them at once (maxSurge 100%), as Baton swaps
    /// all replicas in one flip.
    private var strategy: Node {
        YAMLValue.map { map in
            if app.stopFirst {
                map.set("type", YAMLValue.string("Recreate"))
                return
            }
            map.set("type", YAMLValue.string("RollingUpdate"))
            map.set("rollingUpdate", YAMLValue.map { rolling in
                rolling.set("maxUnavailable", YAMLValue.int(0))
                rolling.set("maxSurge", YAMLValue.string("100%"))
            })
        }
    }

    private var podSpec: Node {
        YAMLValue.map { spec in
            // The sandbox has no API credentials and sees no other service's variables.
            spec.set("automountServiceAccountToken", YAMLValue.bool(false))
            spec.set("enableServiceLinks", YAMLValue.bool(false))
            spec.set("terminationGracePeriodSeconds", YAMLValue.int(ExportQuantity.seconds(app.drainTimeout)))
            spec.set("securityContext", YAMLValue.map { context in
                if let user = app.user {
                    if user.uid != 0 { context.set("runAsNonRoot", YAMLValue.bool(true)) }
                    context.set("runAsUser", YAMLValue.int(Int(user.uid)))
                    context.set("runAsGroup", YAMLValue.int(Int(user.gid)))
                    // Baton makes volumes the app user's own; fsGroup does so on a cluster.
                    if !app.volumes.isEmpty { context.set("fsGroup", YAMLValue.int(Int(user.gid))) }
                }
                context.set("seccompProfile", YAMLValue.map { $0.set("type", YAMLValue.string("RuntimeDefault")) })
            })
            spec.set("containers", YAMLValue.list([container]))
            spec.set("volumes", YAMLValue.list(podVolumes))
        }
    }

    private var podVolumes: [Node] {
        // Baton's sandbox has a writable tmpfs at /tmp over a read-only root.
        var volumes = [YAMLValue.map { tmp in
            tmp.set("name", YAMLValue.string("tmp"))
            tmp.set("emptyDir", YAMLValue.map { $0.set("medium", YAMLValue.string("Memory")) })
        }]
        for volume in app.volumes {
            volumes.append(YAMLValue.map { map in
                map.set("name", YAMLValue.string(podVolumeName(volume)))
                map.set("persistentVolumeClaim", YAMLValue.map { $0.set("claimName", YAMLValue.string(claimName(volume))) })
            })
        }
        return volumes
    }
}
