import BatonControl
import BatonNetwork
import BatonOS
import BatonSandbox
import Glibc
import Synchronization

/// The daemon's side of sandbox networking: the root's bridge, made at start (or on the first
/// egress sandbox, when it could not be then), an address and firewall elements per egress sandbox, given back when the sandbox ends.
final class SandboxNetworkService: Sendable {
    let root: String
    /// `baton daemon --bridge/--subnet`; nil keeps what the root has, or chooses.
    let requestedBridge: String?
    let requestedSubnet: IPv4Network?
    private let networking = Mutex<SandboxNetworking?>(nil)

    init(root: String, bridge: String?, subnet: IPv4Network?) {
        self.root = root
        requestedBridge = bridge
        requestedSubnet = subnet
    }

    /// At start: settles the settings (refusing a `--subnet` that overlaps the host's routes),
    /// makes the bridge and rewrites its firewall whole, with the elements of the sandboxes
    /// still running and the stale leases taken back. Idempotent: a daemon killed with -9 and
    /// started again leaves no duplicate rule. A fresh root that cannot have a network (no
    /// nftables, say) still serves its other apps: the failure is returned as a warning, and
    /// egress sandboxes fail with it until the network can be made.
    func prepare() throws -> Result<NetworkSettings, BatonError> {
        let explicit = requestedBridge != nil || requestedSubnet != nil || access("\(root)/network/settings", F_OK) == 0
        do {
            return .success(try ready(firewall: true).bridge.settings)
        } catch let error as BatonError where !explicit {
            return .failure(error)
        }
    }

    /// An address and its rules for sandbox `id` of `app`, with the spec fields to give it.
    func attach(app: AppInfo, id: String) throws -> SandboxNetworking.Attachment? {
        guard app.network == "egress" else { return nil }
        let rules = app.egressAllow.compactMap { EgressRule(parsing: $0) }
        return try ready(firewall: false).attach(id: id, hostname: id, egress: rules)
    }

    /// Gives back what sandbox `id` held, if anything; it has ended.
    func detach(id: String) {
        guard let networking = networking.withLock({ $0 }) else { return }
        if let lease = AddressLeases(root: root, settings: networking.bridge.settings).all().first(where: { $0.sandbox == id }) {
            networking.detach(lease)
        }
    }

    private func ready(firewall: Bool) throws -> SandboxNetworking {
        if !firewall, let made = networking.withLock({ $0 }) { return made }
        let settings = try NetworkSettings.load(root: root, bridge: requestedBridge, subnet: requestedSubnet)
        let made = SandboxNetworking(bridge: try Bridge.ensure(root: root, settings: settings, firewall: firewall))
        networking.withLock { $0 = made }
        return made
    }
}
