import Foundation
import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// Collects named tensors (Float32 stored as F32, F16 or BF16; I64/I32 arrays) and string metadata,
/// then writes one safetensors file atomically (temp file in the same directory, fsync, rename).
/// Used for prompt checkpoints, exported features and test fixtures. The output is deterministic:
/// header keys sorted by name, data ordered by element size (8-byte types first) then name, so every
/// tensor starts at a multiple of its element size; the header is space-padded to a multiple of 8.
public struct SafeTensorsWriter {
    private struct Entry {
        let name: String
        let dtype: SafeTensorsDType
        let shape: [Int]
        let bytes: [UInt8]
    }

    /// The `__metadata__` map written to the header.
    public var metadata: [String: String] = [:]
    private var entries: [Entry] = []
    private var taken: Set<String> = []

    public init() {}

    /// Adds `tensor` under `name`, stored as F32 (exact), F16 or BF16 (rounded to nearest even).
    public mutating func add(_ name: String, _ tensor: Tensor, storedAs dtype: SafeTensorsDType = .f32) throws {
        try add(name, shape: tensor.shape, floats: UnsafeBufferPointer(tensor.buffer), storedAs: dtype)
    }

    /// Adds row-major `values` of the given shape under `name`, stored as F32, F16 or BF16.
    public mutating func add(_ name: String, shape: [Int], values: [Float], storedAs dtype: SafeTensorsDType = .f32) throws {
        try values.withUnsafeBufferPointer { try add(name, shape: shape, floats: $0, storedAs: dtype) }
    }

    /// Adds an I64 tensor (e.g. token ids) under `name`.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) throws {
        try checkNew(name, shape: shape, count: int64s.count)
        let bytes = int64s.withUnsafeBytes { Array($0) }
        entries.append(Entry(name: name, dtype: .i64, shape: shape, bytes: bytes))
    }

    /// Adds an I32 tensor under `name`.
    public mutating func add(_ name: String, shape: [Int], int32s: [Int32]) throws {
        try checkNew(name, shape: shape, count: int32s.count)
        let bytes = int32s.withUnsafeBytes { Array($0) }
        entries.append(Entry(name: name, dtype: .i32, shape: shape, bytes: bytes))
    }

    private mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>, storedAs dtype: SafeTensorsDType) throws {
        guard dtype == .f32 || dtype == .f16 || dtype == .bf16 else {
            throw FormatError("safetensors writer: tensor '\(name)' cannot store floats as \(dtype.rawValue); use F32, F16 or BF16")
        }
        try checkNew(name, shape: shape, count: floats.count)
        let count = floats.count
        var bytes = [UInt8](repeating: 0, count: count * dtype.byteSize)
        bytes.withUnsafeMutableBytes { out in
            guard let dst = out.baseAddress, let src = floats.baseAddress else { return }
            switch dtype {
            case .f16: HalfPrecision.encodeF16(src, into: dst, count: count)
            case .bf16: HalfPrecision.encodeBF16(src, into: dst, count: count)
            default: dst.copyMemory(from: src, byteCount: 4 * count)   // .f32
            }
        }
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    private mutating func checkNew(_ name: String, shape: [Int], count: Int) throws {
        guard !name.isEmpty, name != "__metadata__" else {
            throw FormatError("safetensors writer: '\(name)' is not a usable tensor name")
        }
        guard !taken.contains(name) else {
            throw FormatError("safetensors writer: tensor '\(name)' added twice")
        }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw FormatError("safetensors writer: tensor '\(name)' has shape \(shape) but \(count) values")
        }
        taken.insert(name)
    }

    /// The complete file contents: length, padded JSON header, data.
    public func serialized() -> [UInt8] {
        let ordered = entries.sorted { ($1.dtype.byteSize, $0.name) < ($0.dtype.byteSize, $1.name) }
        var offsets: [String: (Int, Int)] = [:]
        var position = 0
        for e in ordered {
            offsets[e.name] = (position, position + e.bytes.count)
            position += e.bytes.count
        }
        var json = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(JSONString.quoted($0)):\(JSONString.quoted(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        for e in entries.sorted(by: { $0.name < $1.name }) {
            let (begin, end) = offsets[e.name]!
            let shape = e.shape.map(String.init).joined(separator: ",")
            fields.append("\(JSONString.quoted(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(end)]}")
        }
        json += fields.joined(separator: ",") + "}"
        var header = Array(json.utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }

        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + position)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for e in ordered { out.append(contentsOf: e.bytes) }
        return out
    }

    /// Writes the file atomically: a temp file next to `url` is written, fsync'ed and renamed over it.
    public func write(to url: URL) throws {
        let bytes = serialized()
        let path = url.path
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        func failure(_ what: String) -> FormatError {
            FormatError("\(path): cannot \(what) (\(String(cString: strerror(errno))))")
        }
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create temp file \(temp)") }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let error = failure("write")
        close(fd)
        guard ok else { unlink(temp); throw error }
        guard rename(temp, path) == 0 else {
            let renameError = failure("rename \(temp) into place")
            unlink(temp)
            throw renameError
        }
        let dir = open(url.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }
}
