import CShims

/// This process's malloc heap. Unlike the resident set, which keeps pages malloc has been
/// given back, it falls as soon as memory is freed: what memory tests that check that
/// something is let go measure.
public enum ProcessHeap {
    /// Bytes malloc has handed out and not had back, over every arena.
    public static var bytesInUse: Int { Int(bt_heap_bytes_in_use()) }
}
