import NIOCore
import Prometheus
import Synchronization

/// The proxy's Prometheus metrics: requests by app and status, latency histogram, in-flight
/// requests and upstream errors, all labelled by app. Every family is declared even before a
/// request, and an app's series go when the app does (`keep(apps:)`).
public final class ProxyMetrics: Sendable {
    /// The registry the daemon's /metrics endpoint renders.
    public let registry: PrometheusCollectorRegistry
    /// Each app's series, to unregister when it goes; its leases retire the event loops'
    /// cached handles, which would otherwise count into series nobody renders.
    private let series = Mutex<[String: AppSeries]>([:])
    private let apps: Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        apps = registry.makeGauge(descriptor: Self.name("apps", unit: "", help: "Apps (previews included) the proxy routes."))
    }

    /// Prometheus text exposition of every metric; a family without series yet is declared
    /// (HELP and TYPE) all the same, so a scraper sees every name from the first scrape.
    public func render() -> String {
        var text = registry.emitToString()
        for family in Self.families where !text.contains("# TYPE \(family.name) ") {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
        }
        return text
    }

    /// The apps routed now: each gets its zero-valued latency and in-flight series, and every
    /// other app's series are dropped.
    public func keep(apps names: Set<String>) {
        apps.set(Double(names.count))
        let known = series.withLock { Set($0.keys) }
        for name in names where !known.contains(name) { _ = appMetrics(app: name) }
        let gone = series.withLock { series in
            let gone = series.filter { !names.contains($0.key) }
            for name in gone.keys { series[name] = nil }
            return Array(gone.values)
        }
        for app in gone { app.retire(from: registry) }
    }

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "baton", subsystem: "proxy", metricName: metric, unitName: unit, helpText: help)
    }

    static let requestsHelp = "Requests answered, by app and status."
    static let durationHelp = "Time from request head to response end."
    static let inFlightHelp = "Requests being proxied now."
    static let upstreamErrorsHelp = "Upstream connections refused, reset or timed out."

    private static let families: [(name: String, type: String, help: String)] = [
        ("baton_proxy_requests_total", "counter", requestsHelp),
        ("baton_proxy_request_duration_seconds", "histogram", durationHelp),
        ("baton_proxy_in_flight_requests", "gauge", inFlightHelp),
        ("baton_proxy_upstream_errors_total", "counter", upstreamErrorsHelp),
    ]

    func appMetrics(app: String) -> AppMetrics {
        let lease = MetricsLease()
        let metrics = AppMetrics(
            app: app,
            owner: self,
            lease: lease,
            latency: registry.makeDurationHistogram(
                descriptor: Self.name("request_duration", unit: "seconds", help: Self.durationHelp),
                labels: [("app", app)], buckets: Self.latencyBuckets),
            inFlight: registry.makeGauge(
                descriptor: Self.name("in_flight_requests", unit: "", help: Self.inFlightHelp),
                labels: [("app", app)])
        )
        series.withLock { series in
            series[app, default: AppSeries()].leases.append(lease)
            series[app]!.histograms = [metrics.latency]
            series[app]!.gauges = [metrics.inFlight]
        }
        return metrics
    }

    /// A counter an event loop made for `app`; unregistered at once when the app went meanwhile.
    func track(_ counter: Counter, app: String, lease: MetricsLease) {
        let kept = series.withLock { series in
            guard !lease.isRetired, series[app] != nil else { return false }
            series[app]!.counters.append(counter)
            return true
        }
        if !kept { registry.unregisterCounter(counter) }
    }
}

/// Whether an event loop's cached handles of an app still count into rendered series.
final class MetricsLease: Sendable {
    private let retired = Atomic(false)
    var isRetired: Bool { retired.load(ordering: .relaxed) }
    func retire() { retired.store(true, ordering: .relaxed) }
}

/// One app's registered series and the leases handed out with them.
private struct AppSeries {
    var leases: [MetricsLease] = []
    var counters: [Counter] = []
    var gauges: [Gauge] = []
    var histograms: [DurationHistogram] = []

    func retire(from registry: PrometheusCollectorRegistry) {
        for lease in leases { lease.retire() }
        for counter in counters { registry.unregisterCounter(counter) }
        for gauge in gauges { registry.unregisterGauge(gauge) }
        for histogram in histograms { registry.unregisterDurationHistogram(histogram) }
    }
}

/// One app's metric handles, cached per event loop so the request path does no registry lookups.
final class AppMetrics {
    let app: String
    let owner: ProxyMetrics
    let lease: MetricsLease
    let latency: DurationHistogram
    let inFlight: Gauge
    private var byStatus: [UInt: Counter] = [:]
    private var errors: [String: Counter] = [:]

    init(app: String, owner: ProxyMetrics, lease: MetricsLease, latency: DurationHistogram, inFlight: Gauge) {
        self.app = app
        self.owner = owner
        self.lease = lease
        self.latency = latency
        self.inFlight = inFlight
    }

    func countRequest(status: UInt) {
        if let counter = byStatus[status] {
            counter.increment()
            return
        }
        let counter = owner.registry.makeCounter(
            descriptor: ProxyMetrics.name("requests", unit: "total", help: ProxyMetrics.requestsHelp),
            labels: [("app", app), ("status", String(status))])
        byStatus[status] = counter
        owner.track(counter, app: app, lease: lease)
        counter.increment()
    }

    func countUpstreamError(_ kind: String) {
        if let counter = errors[kind] {
            counter.increment()
            return
        }
        let counter = owner.registry.makeCounter(
            descriptor: ProxyMetrics.name("upstream_errors", unit: "total", help: ProxyMetrics.upstreamErrorsHelp),
            labels: [("app", app), ("kind", kind)])
        errors[kind] = counter
        owner.track(counter, app: app, lease: lease)
        counter.increment()
    }
}
