import NIOCore
import NIOHTTP1

/// The header fields of a message as the proxy handles them: bytes, and where each name and
/// value lies in them.
///
/// NIO's `HTTPHeaders` keeps each name and value as a String: made from the received bytes,
/// read back field by field (a retain and release of two Strings per field, per pass) and
/// copied out again, several passes per head. Here the fields of a received head stay in the
/// bytes they arrived in (a slice of the read buffer, no copy); the proxy's passes compare
/// bytes in place, removing a field drops its offsets, adding one appends its bytes, and a
/// head is written out with a copy per name and value. Strings are made only where someone
/// asks for one (`first(name:)`, iteration), on paths that are not every request's.
///
/// Field names are matched ASCII-case-insensitively. Order is kept, duplicates too.
struct HeaderFields: Sequence, Equatable {
    /// Where a field's name and value lie in `storage`, from its reader index.
    struct Field {
        var nameStart: Int32
        var nameCount: Int32
        var valueStart: Int32
        var valueCount: Int32
    }

    private(set) var storage: ByteBuffer
    private(set) var fields: [Field]

    init() {
        storage = ByteBuffer()
        fields = []
    }

    /// Fields lying in `storage` (a received head: a slice of the bytes read).
    init(storage: ByteBuffer, fields: [Field]) {
        self.storage = storage
        self.fields = fields
    }

    init(_ pairs: some Sequence<(String, String)>) {
        self.init()
        for (name, value) in pairs { add(name: name, value: value) }
    }

    init(_ headers: HTTPHeaders) {
        self.init(headers.lazy.map { ($0.name, $0.value) })
    }

    /// The fields as NIO's type, for the HTTP/2 codecs.
    var httpHeaders: HTTPHeaders { HTTPHeaders(Array(self)) }

    var count: Int { fields.count }
    var isEmpty: Bool { fields.isEmpty }

    // MARK: reading

    /// Calls `body` with each field's name and value bytes, in order. The pointers are valid
    /// only during the call.
    func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard !fields.isEmpty else { return }
        try storage.withUnsafeReadableBytes { raw in
            for field in fields { try body(Self.name(of: field, in: raw), Self.value(of: field, in: raw)) }
        }
    }

    /// The first value of the field called `name`.
    func first(name: String) -> String? {
        var found: String?
        withFirst(name) { found = String(decoding: $0, as: UTF8.self) }
        return found
    }

    func contains(name: String) -> Bool {
        var found = false
        withFirst(name) { _ in found = true }
        return found
    }

    /// Every value of the field called `name`, in order.
    subscript(name: String) -> [String] {
        var values: [String] = []
        forEachField { fieldName, value in
            if equalsIgnoringCase(fieldName, name.utf8) { values.append(String(decoding: value, as: UTF8.self)) }
        }
        return values
    }

    /// Calls `body` with the value bytes of the first field called `name`, if there is one.
    func withFirst(_ name: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard !fields.isEmpty else { return }
        let length = Int32(name.utf8.count)
        storage.withUnsafeReadableBytes { raw in
            for field in fields where field.nameCount == length && equalsIgnoringCase(Self.name(of: field, in: raw), name.utf8) {
                body(Self.value(of: field, in: raw))
                return
            }
        }
    }

    // MARK: changing

    mutating func add(name: String, value: String) {
        let nameStart = Int32(storage.readableBytes)
        let nameCount = Int32(storage.writeString(name))
        let valueCount = Int32(storage.writeString(value))
        fields.append(Field(nameStart: nameStart, nameCount: nameCount, valueStart: nameStart + nameCount, valueCount: valueCount))
    }

    /// Appends `other`'s fields, in one copy of their bytes; `reservingExtra` makes room for
    /// bytes added after them.
    mutating func add(contentsOf other: HeaderFields, reservingExtra extra: Int = 0) {
        guard !other.isEmpty else { return }
        let shift = Int32(storage.readableBytes)
        storage.reserveCapacity(minimumWritableBytes: other.storage.readableBytes + extra)
        var bytes = other.storage
        storage.writeBuffer(&bytes)
        fields.reserveCapacity(fields.count + other.fields.count + 1)
        for field in other.fields {
            fields.append(Field(
                nameStart: field.nameStart + shift, nameCount: field.nameCount,
                valueStart: field.valueStart + shift, valueCount: field.valueCount))
        }
    }

    mutating func remove(name: String) {
        removeAll { fieldName, _ in equalsIgnoringCase(fieldName, name.utf8) }
    }

    mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    /// Drops the fields for which `shouldRemove` is true. The bytes stay; only their offsets go.
    mutating func removeAll(where shouldRemove: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) {
        guard !fields.isEmpty else { return }
        let storage = self.storage
        storage.withUnsafeReadableBytes { raw in
            fields.removeAll { shouldRemove(Self.name(of: $0, in: raw), Self.value(of: $0, in: raw)) }
        }
    }

    mutating func reserveCapacity(_ count: Int) { fields.reserveCapacity(count) }

    // MARK: bytes

    /// Bytes of the header lines (`name: value` and CRLF each) and the blank line after them.
    var serializedCount: Int {
        var size = 2
        for field in fields { size += Int(field.nameCount + field.valueCount) + 4 }
        return size
    }

    static func name(of field: Field, in raw: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: raw[Int(field.nameStart)..<Int(field.nameStart + field.nameCount)])
    }

    static func value(of field: Field, in raw: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: raw[Int(field.valueStart)..<Int(field.valueStart + field.valueCount)])
    }

    // MARK: Sequence, Equatable

    /// Names and values as Strings: for the paths that are not every request's.
    func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(fields.count)
        forEachField { name, value in
            pairs.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return pairs.makeIterator()
    }

    /// The same fields, in the same order, byte for byte.
    static func == (lhs: HeaderFields, rhs: HeaderFields) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}
