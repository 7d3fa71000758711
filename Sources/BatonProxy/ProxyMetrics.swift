import NIOCore
import Prometheus

/// The proxy's Prometheus metrics: requests by app and status, latency histogram, in-flight
/// requests and upstream errors, all labelled by app.
public final class ProxyMetrics: Sendable {
    /// The registry the daemon's /metrics endpoint renders.
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Prometheus text exposition of every metric.
    public func render() -> String { registry.emitToString() }

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "baton", subsystem: "proxy", metricName: metric, unitName: unit, helpText: help)
    }

    func appMetrics(app: String) -> AppMetrics {
        AppMetrics(
            app: app,
            registry: registry,
            latency: registry.makeDurationHistogram(
                descriptor: Self.name("request_duration", unit: "seconds", help: "Time from request head to response end."),
                labels: [("app", app)], buckets: Self.latencyBuckets),
            inFlight: registry.makeGauge(
                descriptor: Self.name("in_flight_requests", unit: "", help: "Requests being proxied now."),
                labels: [("app", app)])
        )
    }
}

/// One app's metric handles, cached per event loop so the request path does no registry lookups.
final class AppMetrics {
    let app: String
    let registry: PrometheusCollectorRegistry
    let latency: DurationHistogram
    let inFlight: Gauge
    private var byStatus: [UInt: Counter] = [:]
    private var errors: [String: Counter] = [:]

    init(app: String, registry: PrometheusCollectorRegistry, latency: DurationHistogram, inFlight: Gauge) {
        self.app = app
        self.registry = registry
        self.latency = latency
        self.inFlight = inFlight
    }

    func countRequest(status: UInt) {
        if let counter = byStatus[status] {
            counter.increment()
            return
        }
        let counter = registry.makeCounter(
            descriptor: ProxyMetrics.name("requests", unit: "total", help: "Requests answered, by app and status."),
            labels: [("app", app), ("status", String(status))])
        byStatus[status] = counter
        counter.increment()
    }

    func countUpstreamError(_ kind: String) {
        if let counter = errors[kind] {
            counter.increment()
            return
        }
        let counter = registry.makeCounter(
            descriptor: ProxyMetrics.name("upstream_errors", unit: "total", help: "Upstream connections refused, reset or timed out."),
            labels: [("app", app), ("kind", kind)])
        errors[kind] = counter
        counter.increment()
    }
}
