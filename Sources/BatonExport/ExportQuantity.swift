/// Kubernetes resource quantities for Baton's limits.
enum ExportQuantity {
    /// Bytes in the largest binary unit that divides them exactly (`512Mi`), else bytes.
    static func memory(_ bytes: Int64) -> String {
        for (suffix, unit) in [("Gi", Int64(1) << 30), ("Mi", Int64(1) << 20), ("Ki", Int64(1) << 10)] where bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return String(bytes)
    }

    /// Cores in millicores (`500m`), rounded up so a limit is never tighter than Baton's; whole
    /// cores plain.
    static func cpu(_ cores: Double) -> String {
        let milli = max(1, Int((cores * 1000).rounded(.up)))
        return milli % 1000 == 0 ? String(milli / 1000) : "\(milli)m"
    }

    /// Whole seconds, rounded up, at least `minimum`.
    static func seconds(_ value: Double, minimum: Int = 1) -> Int {
        max(minimum, Int(value.rounded(.up)))
    }
}
