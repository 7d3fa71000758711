import BatonControl

/// Where an app answers, with the port the daemon really listens on (`http://web.localhost:8080/`,
/// and `https://…` when it serves HTTPS): what `deploy`, `app create`, `app ls` and
/// `preview create` print.
struct AppURLs {
    private let daemon: DaemonInfo?

    /// Asks the daemon where it listens; a daemon too old to say gives port-less URLs.
    init(client: ControlClient) {
        daemon = try? client.daemonInfo()
    }

    func urls(_ hosts: [String]) -> [String] {
        hosts.flatMap { host in daemon.map { $0.urls(host: host) }.flatMap { $0.isEmpty ? nil : $0 } ?? ["http://\(host)/"] }
    }

    /// `http://a:8080/, http://b:8080/`, or nil for none.
    func joined(_ hosts: [String]) -> String? {
        let all = urls(hosts)
        return all.isEmpty ? nil : all.joined(separator: ", ")
    }
}
