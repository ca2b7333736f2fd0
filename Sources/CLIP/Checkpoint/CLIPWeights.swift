import Formats
import Kernels

/// A CLIP checkpoint seen through OpenAI key names: name → tensor (materialised as Float32 on request
/// from the memory-mapped safetensors file, whatever its stored dtype), plus each tensor's original
/// dtype and shape for `inspect`. Hugging Face names are mapped on the fly (q/k/v concatenated,
/// projections transposed; see `HuggingFaceNames`), open_clip's `text.` prefix is stripped.
/// The encoders take their weights from here with `tensor(_:shape:)`.
public final class CLIPWeights {
    /// How one OpenAI-named tensor is made from stored tensors.
    public enum Source: Equatable, Sendable {
        /// The stored tensor as is.
        case stored(String)
        /// A stored 2-D tensor, transposed ([D, W] on disk → [W, D]).
        case transposed(String)
        /// Stored tensors stacked along the first axis (HF q, k, v → in_proj).
        case concatenated([String])
    }

    /// One OpenAI-named tensor: where it comes from, its shape in OpenAI layout, its stored dtype.
    public struct Entry: Equatable, Sendable {
        public let source: Source
        public let shape: [Int]
        public let storedDType: SafeTensorsDType
    }

    /// The safetensors file the tensors are read from.
    public let file: SafeTensorsFile
    /// OpenAI names, sorted.
    public let names: [String]
    private let entries: [String: Entry]

    /// Wraps `file` with the given OpenAI-name → source table.
    public init(file: SafeTensorsFile, entries: [String: Entry]) {
        self.file = file
        self.entries = entries
        self.names = entries.keys.sorted()
    }

    /// The entry for an OpenAI name, or nil.
    public func entry(_ name: String) -> Entry? { entries[name] }

    /// Shape of `name` in OpenAI layout, or nil if absent.
    public func shape(of name: String) -> [Int]? { entries[name]?.shape }

    /// The tensor `name` (OpenAI naming) as Float32 after checking its shape.
    public func tensor(_ name: String, shape expected: [Int]) throws -> Tensor {
        let entry = try lookup(name)
        guard entry.shape == expected else {
            throw CheckpointError("\(file.url.path): tensor '\(name)'\(storedNote(entry.source, name)) has shape \(entry.shape), expected \(expected)")
        }
        return try materialize(name, entry)
    }

    /// The tensor `name` (OpenAI naming) as Float32, whatever its shape.
    public func tensor(_ name: String) throws -> Tensor { try materialize(name, try lookup(name)) }

    private func lookup(_ name: String) throws -> Entry {
        guard let entry = entries[name] else {
            throw CheckpointError("\(file.url.path): missing tensor '\(name)' (OpenAI naming); the checkpoint does not match the architecture")
        }
        return entry
    }

    private func storedNote(_ source: Source, _ name: String) -> String {
        switch source {
        case .stored(let key): return key == name ? "" : " (stored as '\(key)')"
        case .transposed(let key): return " (stored transposed as '\(key)')"
        case .concatenated(let keys): return " (stored as \(keys.map { "'\($0)'" }.joined(separator: " + ")))"
        }
    }

    private func materialize(_ name: String, _ entry: Entry) throws -> Tensor {
        do {
            switch entry.source {
            case .stored(let key):
                return try file.tensor(key)
            case .transposed(let key):
                let stored = try file.tensor(key)                  // [rows, cols]
                let rows = stored.shape[0], cols = stored.shape[1]
                let out = Tensor(shape: [cols, rows])              // [cols, rows]
                for r in 0..<rows {
                    for c in 0..<cols { out.data[c * rows + r] = stored.data[r * cols + c] }
                }
                return out
            case .concatenated(let keys):
                let out = Tensor(shape: entry.shape)               // [Σ rows, …]
                var offset = 0
                for key in keys {
                    let part = try file.tensor(key)
                    (out.data + offset).update(from: part.data, count: part.count)
                    offset += part.count
                }
                return out
            }
        } catch let error as FormatError {
            throw CheckpointError("\(error.message) (building '\(name)')")
        }
    }
}
