import BatonControl

/// Everything an export needs to know about one app, gathered by the caller from the daemon
/// (or an apply file) and the artifact's image config. Pure data: the generators read nothing
/// else, so the same input always gives the same bytes.
///
/// Only secret names are here, never values: whatever this holds may end up in a file.
public struct ExportApp: Sendable, Equatable {
    public var name: String
    public var image: ExportImage
    /// Host names the proxy routes to the app (`*.example.com` patterns allowed).
    public var hosts: [String]
    /// The port the app listens on inside its sandbox (`PORT`).
    public var port: Int
    public var health: ExportHealth
    public var replicas: Int
    /// Bytes (`--memory`).
    public var memory: Int64?
    /// Cores (`--cpus`).
    public var cpus: Double?
    /// `--pids`: Kubernetes has no per-container equivalent; said in a comment.
    public var pids: Int?
    /// The app's own variables, KEY=VALUE, in order (not the artifact's: those are in the image).
    public var env: [String]
    /// Names of the app's secrets.
    public var secretNames: [String]
    public var volumes: [AppVolume]
    /// The numeric uid (and gid) the artifact runs as; nil: root.
    public var user: ExportUser?
    /// Seconds in-flight requests may finish when a sandbox stops (`--drain-timeout`).
    public var drainTimeout: Double
    /// Stop-first apps never run twice at once.
    public var stopFirst: Bool
    /// Hosts that have a certificate in Baton, and the app's HTTPS settings.
    public var tls: ExportTLS
    /// `--network none`: the app reaches nothing.
    public var networkNone: Bool
    /// `--egress-allow`: the only destinations an egress app reaches; empty: anywhere.
    public var egressAllow: [ExportEgress]

    public init(name: String, image: ExportImage, hosts: [String], port: Int, health: ExportHealth, replicas: Int = 1,
                memory: Int64? = nil, cpus: Double? = nil, pids: Int? = nil, env: [String] = [], secretNames: [String] = [],
                volumes: [AppVolume] = [], user: ExportUser? = nil, drainTimeout: Double = 30, stopFirst: Bool = false,
                tls: ExportTLS = ExportTLS(), networkNone: Bool = false, egressAllow: [ExportEgress] = []) {
        self.name = name
        self.image = image
        self.hosts = hosts
        self.port = port
        self.health = health
        self.replicas = replicas
        self.memory = memory
        self.cpus = cpus
        self.pids = pids
        self.env = env
        self.secretNames = secretNames
        self.volumes = volumes
        self.user = user
        self.drainTimeout = drainTimeout
        self.stopFirst = stopFirst
        self.tls = tls
        self.networkNone = networkNone
        self.egressAllow = egressAllow
    }
}

/// The image a cluster pulls: `repository@digest`.
public struct ExportImage: Sendable, Equatable {
    /// `REGISTRY/REPO`.
    public var repository: String
    /// The manifest digest, `sha256:<hex>`: the artifact's own.
    public var digest: String
    /// False when the caller did not push it: the user must, and a comment says how.
    public var pushed: Bool
    /// The artifact's local `NAME:VERSION` (or digest), for that comment.
    public var source: String

    public init(repository: String, digest: String, pushed: Bool, source: String) {
        self.repository = repository
        self.digest = digest
        self.pushed = pushed
        self.source = source
    }

    public var reference: String { repository + "@" + digest }
}

/// The app's health check as Baton runs it before a flip.
public struct ExportHealth: Sendable, Equatable {
    public var path: String
    /// The status that means healthy.
    public var status: Int
    /// Seconds a new sandbox may take to become healthy.
    public var timeout: Double

    public init(path: String, status: Int, timeout: Double) {
        self.path = path
        self.status = status
        self.timeout = timeout
    }
}

/// One `--egress-allow` destination: an IPv4 network, and a port (TCP and UDP) or every port.
public struct ExportEgress: Sendable, Equatable {
    /// `a.b.c.d/n`.
    public var cidr: String
    public var port: Int?

    public init(cidr: String, port: Int? = nil) {
        self.cidr = cidr
        self.port = port
    }
}

public struct ExportUser: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
}

public struct ExportTLS: Sendable, Equatable {
    /// The app's hosts Baton holds a certificate for (or issues one from its local CA).
    public var certificateHosts: [String]
    public var httpsRedirect: Bool
    public var hsts: Bool

    public init(certificateHosts: [String] = [], httpsRedirect: Bool = false, hsts: Bool = false) {
        self.certificateHosts = certificateHosts
        self.httpsRedirect = httpsRedirect
        self.hsts = hsts
    }

    /// The Ingress gets a TLS section.
    public var enabled: Bool { !certificateHosts.isEmpty || httpsRedirect || hsts }
}
