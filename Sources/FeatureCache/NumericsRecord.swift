import Foundation

/// What decides the bits of an extractor's features beyond the model and the image: the BLAS
/// library and the kernel family it loaded (OpenBLAS sums a product in an order of the family's
/// own; batch size, lanes, threads and shards do not change the bits). Kept in the `meta`
/// sub-database under `numerics/<ext id>`, written by the first indexing run of an extractor;
/// a later run or a merge with other numerics is refused, so a store never mixes bits that a
/// single run would not have produced.
public struct NumericsRecord: Equatable {
    /// E.g. "OpenBLAS 0.3.21".
    public var library: String
    /// The kernel family, e.g. "Haswell", "SkylakeX" (`OPENBLAS_CORETYPE` names).
    public var kernels: String

    public init(library: String, kernels: String) { self.library = library; self.kernels = kernels }

    static let prefix = Array("numerics/".utf8)
    static func key(_ ext: ExtractorID) -> [UInt8] { prefix + Array(ext.description.utf8) }

    var json: JSON { .object(["library": .string(library), "kernels": .string(kernels)]) }

    init(json: JSON, what: String) throws {
        guard let library = json["library"]?.string, let kernels = json["kernels"]?.string else {
            throw StoreError("\(what): numerics record lacks library or kernels; run `cocoon store verify`")
        }
        self.init(library: library, kernels: kernels)
    }

    var summary: String { "\(library) \(kernels) kernels" }
}

extension FeatureStore {
    /// The numerics that computed `ext`'s features here (nil before its first indexing run).
    public func numerics(_ ext: ExtractorID) throws -> NumericsRecord? {
        try environment.read { t in
            guard let bytes = try t.get(.meta, NumericsRecord.key(ext)) else { return nil }
            return try NumericsRecord(json: try parse(bytes, "meta/numerics/\(ext)"), what: "\(path) meta/numerics/\(ext)")
        }
    }

    /// Records `numerics` for `ext`, or refuses when the store already holds `ext`'s features
    /// computed with other numerics (their bits would not match this run's).
    public func recordNumerics(_ numerics: NumericsRecord, for ext: ExtractorID) throws {
        try environment.write { t in
            if let bytes = try t.get(.meta, NumericsRecord.key(ext)) {
                let stored = try NumericsRecord(json: try parse(bytes, "meta/numerics/\(ext)"), what: "\(path) meta/numerics/\(ext)")
                guard stored == numerics else {
                    throw StoreError("\(path): extractor \(ext) was indexed here with \(stored.summary) but this run loaded \(numerics.summary), whose bits differ; run with OPENBLAS_CORETYPE=\(stored.kernels) or index into a new store")
                }
                return
            }
            try t.put(.meta, NumericsRecord.key(ext), numerics.json.canonical)
        }
    }
}
