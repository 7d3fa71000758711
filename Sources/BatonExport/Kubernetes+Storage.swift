import BatonControl
import Yams

/// Volumes as claims, secrets as a Secret holding only their keys.
extension KubernetesNames {
    func claims() -> [YAMLDocument] {
        app.volumes.map { volume in
            // Several pods of one app, or several apps, write a shared one.
            let many = volume.shared || app.replicas > 1
            var comments = ["Baton volume \(volume.description) of \(app.name). Baton volumes have no size: 1Gi is a guess;",
                            "'baton volume ls' shows what it holds now. Copy its files in before the first rollout."]
            if many {
                comments.append("ReadWriteMany: \(volume.shared ? "apps share it" : "replicas share it"); the storage class must support it.")
            }
            let node = YAMLValue.map { map in
                map.set("apiVersion", YAMLValue.string("v1"))
                map.set("kind", YAMLValue.string("PersistentVolumeClaim"))
                map.set("metadata", metadata(claimName(volume)))
                map.set("spec", YAMLValue.map { spec in
                    spec.set("accessModes", YAMLValue.strings([many ? "ReadWriteMany" : "ReadWriteOnce"]))
                    spec.set("resources", YAMLValue.map { resources in
                        resources.set("requests", YAMLValue.map { $0.set("storage", YAMLValue.string("1Gi")) })
                    })
                })
            }
            return YAMLDocument(comments: comments, node)
        }
    }

    /// The Secret the Deployment reads its secrets from, with placeholders: Baton never lets a
    /// secret's value out of its daemon, so the operator fills them in on the cluster.
    func secret() -> YAMLDocument? {
        guard !app.secretNames.isEmpty else { return nil }
        let literals = app.secretNames.map { " --from-literal=\($0)=..." }.joined()
        let comments = header + ["",
            "Placeholders only: Baton never writes a secret's value. Create the Secret with the real values:",
            "  kubectl create secret generic \(secretName)\(namespaceFlag)\(literals)",
            "(--from-file=KEY=PATH reads one from a file). 'kubectl apply -f' of the directory above",
            "leaves this file alone; apply it only after putting the values in."]
        let node = YAMLValue.map { map in
            map.set("apiVersion", YAMLValue.string("v1"))
            map.set("kind", YAMLValue.string("Secret"))
            map.set("metadata", metadata(secretName))
            map.set("type", YAMLValue.string("Opaque"))
            map.set("stringData", YAMLValue.map { data in
                for name in app.secretNames { data.set(name, YAMLValue.string(Self.placeholder)) }
            })
        }
        return YAMLDocument(comments: comments, node)
    }

    static let placeholder = "REPLACE-ME"
}

extension AppVolume {
    /// As `--volume` writes it.
    var description: String { (shared ? "shared:" : "") + name + ":" + path + (readOnly ? ":ro" : "") }
}
