import Yams

/// The one container: the image by digest, the environment Baton gives a sandbox, limits,
/// the health check as probes, and the sandbox's confinement.
extension KubernetesNames {
    var container: Node {
        YAMLValue.map { map in
            map.set("name", YAMLValue.string(app.name))
            map.set("image", YAMLValue.string(app.image.reference))
            map.set("imagePullPolicy", YAMLValue.string("IfNotPresent"))
            map.set("ports", YAMLValue.list([YAMLValue.map { port in
                port.set("name", YAMLValue.string("http"))
                port.set("containerPort", YAMLValue.int(app.port))
                port.set("protocol", YAMLValue.string("TCP"))
            }]))
            map.set("env", YAMLValue.list(environment))
            if let resources { map.set("resources", resources) }
            if let probe = probeAction {
                map.set("startupProbe", probe.with(period: 1, failures: ExportQuantity.seconds(app.health.timeout)))
                map.set("readinessProbe", probe.with(period: 5, failures: 3))
                map.set("livenessProbe", probe.with(period: 10, failures: 3))
            }
            map.set("securityContext", YAMLValue.map { context in
                context.set("allowPrivilegeEscalation", YAMLValue.bool(false))
                context.set("privileged", YAMLValue.bool(false))
                context.set("readOnlyRootFilesystem", YAMLValue.bool(true))
                // Baton's app sandboxes keep no capability at all.
                context.set("capabilities", YAMLValue.map { $0.set("drop", YAMLValue.strings(["ALL"])) })
            })
            map.set("volumeMounts", YAMLValue.list(mounts))
        }
    }

    /// What Baton sets in every sandbox (its own names last, as there), then the app's variables,
    /// then its secrets from the Secret. `$` is doubled: Kubernetes expands `$(NAME)` in values,
    /// which Baton never does, so a value means the same bytes on both.
    private var environment: [Node] {
        func variable(_ name: String, _ value: Node) -> Node {
            YAMLValue.map { entry in
                entry.set("name", YAMLValue.string(name))
                entry.set("value", value)
            }
        }
        var entries: [Node] = []
        for entry in app.env {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? String(parts[1]) : ""
            entries.append(variable(String(parts[0]), YAMLValue.string(Self.literal(value))))
        }
        for secret in app.secretNames {
            entries.append(YAMLValue.map { entry in
                entry.set("name", YAMLValue.string(secret))
                entry.set("valueFrom", YAMLValue.map { from in
                    from.set("secretKeyRef", YAMLValue.map { ref in
                        ref.set("name", YAMLValue.string(secretName))
                        ref.set("key", YAMLValue.string(secret))
                    })
                })
            })
        }
        entries.append(variable("PORT", YAMLValue.string(String(app.port))))
        entries.append(variable("BATON_APP", YAMLValue.string(app.name)))
        entries.append(variable("BATON_DIGEST", YAMLValue.string(app.image.digest)))
        // Baton's sandbox id; here the pod's name.
        entries.append(YAMLValue.map { entry in
            entry.set("name", YAMLValue.string("BATON_SANDBOX"))
            entry.set("valueFrom", YAMLValue.map { from in
                from.set("fieldRef", YAMLValue.map { $0.set("fieldPath", YAMLValue.string("metadata.name")) })
            })
        })
        return entries
    }

    /// `value` with every `$` doubled: Kubernetes reads `$$` as one `$` and expands nothing.
    static func literal(_ value: String) -> String {
        guard value.contains("$") else { return value }
        return value.split(separator: "$", omittingEmptySubsequences: false).joined(separator: "$$")
    }

    /// Limits as Baton's cgroup sets them, requests equal (so the scheduler reserves them).
    private var resources: Node? {
        guard app.memory != nil || app.cpus != nil else { return nil }
        let amounts = YAMLValue.map { map in
            map.set("cpu", app.cpus.map { YAMLValue.string(ExportQuantity.cpu($0)) })
            map.set("memory", app.memory.map { YAMLValue.string(ExportQuantity.memory($0)) })
        }
        return YAMLValue.map { map in
            map.set("limits", amounts)
            map.set("requests", amounts)
        }
    }

    private var mounts: [Node] {
        var mounts = [YAMLValue.map { tmp in
            tmp.set("name", YAMLValue.string("tmp"))
            tmp.set("mountPath", YAMLValue.string("/tmp"))
        }]
        for volume in app.volumes {
            mounts.append(YAMLValue.map { map in
                map.set("name", YAMLValue.string(podVolumeName(volume)))
                map.set("mountPath", YAMLValue.string(volume.path))
                if volume.readOnly { map.set("readOnly", YAMLValue.bool(true)) }
            })
        }
        return mounts
    }
}
