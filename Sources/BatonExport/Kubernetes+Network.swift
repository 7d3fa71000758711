import Yams

/// The Service in front of the pods and the Ingress for the app's host names: Baton's proxy
/// route. With `--network none`, a policy that lets the pods reach nothing.
extension KubernetesNames {
    func service() -> YAMLDocument {
        let node = YAMLValue.map { map in
            map.set("apiVersion", YAMLValue.string("v1"))
            map.set("kind", YAMLValue.string("Service"))
            map.set("metadata", metadata(app.name))
            map.set("spec", YAMLValue.map { spec in
                spec.set("type", YAMLValue.string("ClusterIP"))
                spec.set("selector", labels)
                spec.set("ports", YAMLValue.list([YAMLValue.map { port in
                    port.set("name", YAMLValue.string("http"))
                    port.set("port", YAMLValue.int(80))
                    port.set("targetPort", YAMLValue.string("http"))
                    port.set("protocol", YAMLValue.string("TCP"))
                }]))
            })
        }
        return YAMLDocument(comments: ["The app's port (\(app.port)) on port 80 inside the cluster."], node)
    }

    func ingress() -> YAMLDocument {
        var comments = ["Baton's proxy route: the app's host names to the Service. No ingressClassName: the cluster's",
                        "default IngressClass serves it; set one if the cluster has several."]
        if app.tls.enabled {
            comments += ["TLS: create the Secret \(tlsSecretName) from the certificate and key first:",
                         "  kubectl create secret tls \(tlsSecretName)\(namespaceFlag) --cert=FULLCHAIN.pem --key=KEY.pem",
                         "(or let cert-manager issue it). Baton's own local CA does not carry over."]
            if app.tls.httpsRedirect || app.tls.hsts {
                comments += ["Baton redirects plain HTTP to https\(app.tls.hsts ? " and sends HSTS" : ""): most ingress controllers do so for TLS hosts;",
                             "check yours (ingress-nginx: ssl-redirect, hsts in its ConfigMap)."]
            }
        }
        let node = YAMLValue.map { map in
            map.set("apiVersion", YAMLValue.string("networking.k8s.io/v1"))
            map.set("kind", YAMLValue.string("Ingress"))
            map.set("metadata", metadata(app.name))
            map.set("spec", YAMLValue.map { spec in
                if app.tls.enabled {
                    let hosts = app.tls.certificateHosts.isEmpty ? app.hosts : app.tls.certificateHosts
                    spec.set("tls", YAMLValue.list([YAMLValue.map { tls in
                        tls.set("hosts", YAMLValue.strings(hosts))
                        tls.set("secretName", YAMLValue.string(tlsSecretName))
                    }]))
                }
                spec.set("rules", YAMLValue.list(app.hosts.map(rule)))
            })
        }
        return YAMLDocument(comments: comments, node)
    }

    private func rule(_ host: String) -> Node {
        YAMLValue.map { rule in
            rule.set("host", YAMLValue.string(host))
            rule.set("http", YAMLValue.map { http in
                http.set("paths", YAMLValue.list([YAMLValue.map { path in
                    path.set("path", YAMLValue.string("/"))
                    path.set("pathType", YAMLValue.string("Prefix"))
                    path.set("backend", YAMLValue.map { backend in
                        backend.set("service", YAMLValue.map { service in
                            service.set("name", YAMLValue.string(app.name))
                            service.set("port", YAMLValue.map { $0.set("name", YAMLValue.string("http")) })
                        })
                    })
                }]))
            })
        }
    }

    /// `--network none`: an Egress policy with no rule denies every destination. `--egress-allow`:
    /// one rule per destination, its port for TCP and UDP as Baton's firewall matches it.
    func egressPolicy() -> YAMLDocument {
        let comments: [String]
        if app.networkNone {
            comments = ["--network none in Baton: the pods reach nothing (enforced only by a network plugin with policies)."]
        } else {
            comments = ["--egress-allow in Baton: the pods reach only these (enforced only by a network plugin with policies).",
                        "Add the cluster's DNS service if the app resolves names."]
        }
        let node = YAMLValue.map { map in
            map.set("apiVersion", YAMLValue.string("networking.k8s.io/v1"))
            map.set("kind", YAMLValue.string("NetworkPolicy"))
            map.set("metadata", metadata(app.name + "-egress"))
            map.set("spec", YAMLValue.map { spec in
                spec.set("podSelector", YAMLValue.map { $0.set("matchLabels", labels) })
                spec.set("policyTypes", YAMLValue.strings(["Egress"]))
                if !app.networkNone { spec.set("egress", YAMLValue.list(app.egressAllow.map(egressRule))) }
            })
        }
        return YAMLDocument(comments: comments, node)
    }

    private func egressRule(_ rule: ExportEgress) -> Node {
        YAMLValue.map { map in
            map.set("to", YAMLValue.list([YAMLValue.map { to in
                to.set("ipBlock", YAMLValue.map { $0.set("cidr", YAMLValue.string(rule.cidr)) })
            }]))
            if let port = rule.port {
                map.set("ports", YAMLValue.list(["TCP", "UDP"].map { proto in
                    YAMLValue.map { entry in
                        entry.set("protocol", YAMLValue.string(proto))
                        entry.set("port", YAMLValue.int(port))
                    }
                }))
            }
        }
    }
}
