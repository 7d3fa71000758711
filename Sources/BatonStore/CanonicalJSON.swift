import BatonOS
import FoundationEssentials

/// JSON for blobs: sorted keys and no insignificant whitespace, so a value has one byte form
/// and so one digest.
enum CanonicalJSON {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw BatonError(.internal, "cannot encode JSON: \(error)")
        }
    }

    /// Decodes `bytes`, naming `what` in the error a user sees if they are not valid.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as BatonError {
            throw BatonError(.corrupt, "\(what) is invalid: \(error.message)", cause: error)
        } catch {
            throw BatonError(.corrupt, "\(what) is not valid JSON of the expected shape (\(describe(error)))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        default: return "\(error)"
        }
    }
}
