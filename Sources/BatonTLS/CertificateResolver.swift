import BatonOS
import BatonProxy
import FoundationEssentials
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import X509

/// The certificates the daemon's HTTPS listener serves, chosen by SNI for each client hello:
///
/// 1. an added certificate (`baton cert add`) for the exact name, then the wildcard one label
///    up (`*.example.com` for `a.example.com`);
/// 2. with a local CA (`--local-ca`), the one it issued for the name's route, issued now when
///    there is none, or none still valid (`ServedNames` says which name: never one that no
///    route serves);
/// 3. else nothing, and the handshake is refused.
///
/// A hello without SNI is answered as one naming `defaultServerName` (`--default-sni`), else
/// refused: an IP-only client cannot be told which of many certificates is meant.
///
/// Contexts are made once, when a certificate is loaded, added or issued, and replaced whole
/// under the lock: a handshake takes the context there is when it starts, and connections
/// already open keep theirs. Issuing runs on a thread pool, never on an event loop, and once
/// per name however many hellos ask at the same moment.
public final class CertificateResolver: ServerCertificates {
    public struct Configuration: Sendable {
        public var store: CertificateStore
        /// The local CA when `--local-ca` is on.
        public var issuer: (any CertificateIssuer)?
        public var servedNames: ServedNames
        /// The proxy's route table now (`Proxy.routeTable`).
        public var routes: @Sendable () -> RouteTable
        /// The name a hello without SNI is answered for (`--default-sni`); nil refuses it.
        public var defaultServerName: String?
        public var threadPool: NIOThreadPool = .singleton
        public var now: @Sendable () -> Date = { Date() }
        /// Where a certificate that cannot be loaded or issued is reported.
        public var report: @Sendable (String) -> Void = { _ in }

        public init(store: CertificateStore, issuer: (any CertificateIssuer)?, servedNames: ServedNames,
                    routes: @escaping @Sendable () -> RouteTable, defaultServerName: String?) {
            self.store = store
            self.issuer = issuer
            self.servedNames = servedNames
            self.routes = routes
            self.defaultServerName = defaultServerName
        }
    }

    /// A certificate ready to serve.
    struct Entry: Sendable {
        let record: CertificateRecord
        let context: NIOSSLContext
        /// When an issued certificate's successor is due; nil for added ones.
        let renewAt: Date?
    }

    private struct State {
        var added: [String: Entry] = [:]
        var issued: [String: Entry] = [:]
        /// Issues under way, by name: a hello for the same name waits for the same one.
        var issuing: [String: EventLoopFuture<Entry?>] = [:]
        /// The daemon is stopping: no issue starts.
        var stopped = false
    }

    private let configuration: Configuration
    private let state = Mutex(State())

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Loads the store: the added certificates, and the issuer's own while they are still
    /// usable. Returns a line for each file left out.
    @discardableResult
    public func load() -> [String] {
        var problems: [String] = []
        var added: [String: Entry] = [:]
        var issued: [String: Entry] = [:]
        let (files, fileProblems) = configuration.store.load(.file)
        problems += fileProblems
        for (host, material) in files {
            do {
                added[host] = try Self.entry(material, host: host, source: .file, renewAt: nil)
            } catch {
                problems.append("\(configuration.store.path(host: host, source: .file)): \(error.message); ignored")
            }
        }
        if let issuer = configuration.issuer {
            let now = configuration.now()
            let (stored, issuedProblems) = configuration.store.load(issuer.source)
            problems += issuedProblems
            for (host, material) in stored where issuer.issued(material) && now < material.leaf.notValidAfter {
                issued[host] = try? Self.entry(material, host: host, source: issuer.source, renewAt: issuer.renewalDate(of: material))
            }
        }
        state.withLock { state in
            state.added = added
            state.issued = issued
        }
        problems.forEach(configuration.report)
        return problems
    }

    /// Stores a checked certificate for `accepted.host` and serves it from the next handshake
    /// on, replacing any added before it.
    public func add(_ accepted: CertificateCheck.Accepted) throws(BatonError) -> CertificateRecord {
        let entry = try Self.entry(accepted.material, host: accepted.host, source: .file, renewAt: nil)
        try configuration.store.save(accepted.material, host: accepted.host, source: .file)
        state.withLock { $0.added[accepted.host] = entry }
        return entry.record
    }

    /// Stops serving and removes the added certificate of `host`, or when there is none the
    /// one the local CA issued (which it issues again at the next hello). False: there was none.
    public func remove(host: String) throws(BatonError) -> Bool {
        for source in [CertificateSource.file] + [configuration.issuer?.source].compactMap({ $0 }) {
            let removed = try configuration.store.remove(host: host, source: source)
            let held = state.withLock { state in
                source == .file ? state.added.removeValue(forKey: host) : state.issued.removeValue(forKey: host)
            }
            if removed || held != nil { return true }
        }
        return false
    }

    /// What is served, by host, added ones before issued ones.
    public var records: [CertificateRecord] {
        let (added, issued) = state.withLock { ($0.added, $0.issued) }
        return added.values.map(\.record).sorted { $0.host < $1.host } + issued.values.map(\.record).sorted { $0.host < $1.host }
    }

    public func context(forServerName serverName: String?, eventLoop: any EventLoop) -> EventLoopFuture<NIOSSLContext?> {
        guard let name = serverName ?? configuration.defaultServerName, !CertificateName.isWildcard(name),
            HostName.isValidPattern(name)
        else { return eventLoop.makeSucceededFuture(nil) }
        let above = CertificateName.wildcard(above: name)
        if let entry = state.withLock({ state in state.added[name] ?? above.flatMap { state.added[$0] } }) {
            return eventLoop.makeSucceededFuture(entry.context)
        }
        guard let issuer = configuration.issuer,
            let target = configuration.servedNames.issuingName(for: name, routes: configuration.routes())
        else { return eventLoop.makeSucceededFuture(nil) }
        let now = configuration.now()
        let (entry, renewing) = state.withLock { state -> (Entry?, Bool) in
            guard let entry = state.issued[target], now < entry.record.notAfter else { return (nil, false) }
            return (entry, entry.renewAt.map { now >= $0 } == true && state.issuing[target] == nil)
        }
        if let entry {
            if renewing { _ = issue(target, by: issuer, on: eventLoop) }
            return eventLoop.makeSucceededFuture(entry.context)
        }
        return issue(target, by: issuer, on: eventLoop).map { $0?.context }
    }

    /// The issue of `name` under way, or a new one started on the thread pool.
    private func issue(_ name: String, by issuer: any CertificateIssuer, on eventLoop: any EventLoop) -> EventLoopFuture<Entry?> {
        enum Start { case refused, running(EventLoopFuture<Entry?>), new(EventLoopPromise<Entry?>) }
        let start = state.withLock { state -> Start in
            if state.stopped { return .refused }
            if let running = state.issuing[name] { return .running(running) }
            let promise = eventLoop.makePromise(of: Entry?.self)
            state.issuing[name] = promise.futureResult
            return .new(promise)
        }
        let promise: EventLoopPromise<Entry?>
        switch start {
        case .refused: return eventLoop.makeSucceededFuture(nil)
        case .running(let running): return running.hop(to: eventLoop)
        case .new(let new): promise = new
        }
        let configuration = self.configuration
        configuration.threadPool.submit { [self] work in
            var entry: Entry?
            if case .active = work {
                do {
                    let material = try issuer.issue(for: name, now: configuration.now())
                    let made = try Self.entry(material, host: name, source: issuer.source, renewAt: issuer.renewalDate(of: material))
                    try configuration.store.save(material, host: name, source: issuer.source)
                    entry = made
                } catch {
                    configuration.report("cannot issue a certificate for \(name): \(error)")
                }
            }
            // Served before the waiters hear of it; taken off the list only once they have, so
            // `stopIssuing` returns after the last reply went to its event loop.
            if let entry { state.withLock { $0.issued[name] = entry } }
            promise.succeed(entry)
            state.withLock { _ = $0.issuing.removeValue(forKey: name) }
        }
        return promise.futureResult
    }

    /// Starts no more issues and waits for those under way, whose replies go to event loops:
    /// the daemon calls this before it shuts its loops down.
    public func stopIssuing() async {
        state.withLock { $0.stopped = true }
        while state.withLock({ !$0.issuing.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private static func entry(_ material: CertificateMaterial, host: String, source: CertificateSource, renewAt: Date?) throws(BatonError) -> Entry {
        Entry(record: material.record(host: host, source: source), context: try material.serverContext(), renewAt: renewAt)
    }
}
