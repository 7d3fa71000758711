import Yams

/// Baton's health check: a GET of the path that must answer one status, each attempt at most
/// 2 s, green given `--health-timeout` to pass. Kubernetes' HTTP probe passes on any status
/// from 200 to 399, so an expected status there becomes one; another cannot be expressed and
/// becomes a TCP probe, said in a comment.
struct ProbeAction {
    let action: (String, Node)

    func with(period: Int, failures: Int) -> Node {
        YAMLValue.map { map in
            map.set(action.0, action.1)
            map.set("periodSeconds", YAMLValue.int(period))
            map.set("timeoutSeconds", YAMLValue.int(2))
            map.set("failureThreshold", YAMLValue.int(failures))
        }
    }
}

extension KubernetesNames {
    var httpProbe: Bool { (200..<400).contains(app.health.status) }

    var probeAction: ProbeAction? {
        if httpProbe {
            return ProbeAction(action: ("httpGet", YAMLValue.map { get in
                get.set("path", YAMLValue.string(app.health.path))
                get.set("port", YAMLValue.string("http"))
            }))
        }
        return ProbeAction(action: ("tcpSocket", YAMLValue.map { $0.set("port", YAMLValue.string("http")) }))
    }

    var probeNotes: [String] {
        let seconds = ExportQuantity.seconds(app.health.timeout)
        if httpProbe {
            var notes = ["Probes: GET \(app.health.path) as Baton's health check; the startup probe gives a new pod \(seconds) s",
                         "(--health-timeout) to pass, as Baton gives green before the flip."]
            if app.health.status != 200 {
                notes.append("Baton expects status \(app.health.status) exactly; Kubernetes accepts any of 200-399.")
            }
            return notes
        }
        return ["Probes: Baton expects status \(app.health.status) from GET \(app.health.path), which an HTTP probe cannot",
                "check (it passes on 200-399 only): these probes only check that the port accepts connections."]
    }
}
