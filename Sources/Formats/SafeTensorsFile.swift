import Foundation
import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// A read-only, memory-mapped safetensors file: `u64` little-endian header length N, N bytes of JSON
/// (`{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end)}}`), then the
/// tensor data (little-endian, C order, offsets relative to the end of the header).
/// The header is fully validated on open. CLIP checkpoints, prompt checkpoints and test fixtures are
/// all read through it; tensors are converted to Float32 `Tensor`s on request (F32/F16/BF16/F64).
/// Little-endian host assumed (x86-64, arm64).
public final class SafeTensorsFile {
    /// Where one tensor lives and what it is.
    public struct TensorInfo: Equatable, Sendable {
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        /// Byte range relative to the start of the data region.
        public let byteRange: Range<Int>
        /// Number of elements (product of `shape`; 1 for a scalar).
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The file this was opened from.
    public let url: URL
    /// Tensor names in data-offset order (the order the writer stored them).
    public let names: [String]
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    /// Total file size in bytes.
    public let fileSize: Int

    private let entries: [String: TensorInfo]
    private let base: UnsafeRawPointer      // the mapping, `fileSize` bytes
    private let dataStart: Int              // 8 + header length

    /// Maps `url` and validates its header; throws a `FormatError` naming the file (and key).
    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError("\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw FormatError("\(path): cannot stat (\(String(cString: strerror(errno))))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw FormatError("\(path): not a regular file; give the path of a .safetensors file")
        }
        let size = Int(status.st_size)
        guard size >= 8 else {
            throw FormatError("\(path): truncated safetensors file (\(size) bytes, the 8-byte header length alone needs 8)")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw FormatError("\(path): cannot mmap \(size) bytes (\(String(cString: strerror(errno))))")
        }
        self.base = UnsafeRawPointer(mapped)
        self.fileSize = size
        do {
            let parsed = try SafeTensorsFile.parseHeader(base: base, fileSize: size, path: path)
            self.dataStart = parsed.dataStart
            self.entries = parsed.entries
            self.metadata = parsed.metadata
            self.names = parsed.entries.sorted { ($0.value.byteRange.lowerBound, $0.key) < ($1.value.byteRange.lowerBound, $1.key) }
                .map(\.key)
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }

    /// dtype, shape and byte range of `name`, or nil if the file has no such tensor.
    public func info(_ name: String) -> TensorInfo? { entries[name] }

    /// The whole file's bytes (valid while this object lives); used for fingerprints.
    public func withFileBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: fileSize))
    }

    /// The tensor `name` converted to Float32 (F32, F16, BF16 or F64 on disk).
    public func tensor(_ name: String) throws -> Tensor {
        let entry = try lookup(name)
        guard entry.dtype.isReadableAsFloat else {
            throw FormatError("\(url.path): tensor '\(name)' has dtype \(entry.dtype.rawValue); a float tensor needs F32, F16, BF16 or F64")
        }
        let result = Tensor(shape: entry.shape)
        let source = base + dataStart + entry.byteRange.lowerBound
        let count = entry.elementCount
        switch entry.dtype {
        case .f32: UnsafeMutableRawPointer(result.data).copyMemory(from: source, byteCount: 4 * count)
        case .f16: HalfPrecision.decodeF16(source, into: result.data, count: count)
        case .bf16: HalfPrecision.decodeBF16(source, into: result.data, count: count)
        default:   // .f64
            for i in 0..<count { result.data[i] = Float(source.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        }
        return result
    }

    /// The tensor `name` as Float32, after checking that its shape is `expectedShape`.
    public func tensor(_ name: String, expectedShape: [Int]) throws -> Tensor {
        let entry = try lookup(name)
        guard entry.shape == expectedShape else {
            throw FormatError("\(url.path): tensor '\(name)' has shape \(entry.shape), expected \(expectedShape)")
        }
        return try tensor(name)
    }

    /// The integer tensor `name` (I64, or I32 widened) as a flat row-major array.
    public func int64s(_ name: String) throws -> [Int64] {
        let entry = try lookup(name)
        let source = base + dataStart + entry.byteRange.lowerBound
        switch entry.dtype {
        case .i64: return (0..<entry.elementCount).map { source.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) }
        case .i32: return (0..<entry.elementCount).map { Int64(source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        default:
            throw FormatError("\(url.path): tensor '\(name)' has dtype \(entry.dtype.rawValue); int64s needs I64 or I32")
        }
    }

    /// The integer tensor `name` (I32, or I64 whose values fit in 32 bits) as a flat row-major array.
    public func int32s(_ name: String) throws -> [Int32] {
        let entry = try lookup(name)
        if entry.dtype == .i32 {
            let source = base + dataStart + entry.byteRange.lowerBound
            return (0..<entry.elementCount).map { source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
        }
        guard entry.dtype == .i64 else {
            throw FormatError("\(url.path): tensor '\(name)' has dtype \(entry.dtype.rawValue); int32s needs I32 or I64")
        }
        return try int64s(name).map { value in
            guard let narrow = Int32(exactly: value) else {
                throw FormatError("\(url.path): tensor '\(name)' holds \(value), which does not fit in Int32")
            }
            return narrow
        }
    }

    private func lookup(_ name: String) throws -> TensorInfo {
        guard let entry = entries[name] else {
            throw FormatError("\(url.path): no tensor named '\(name)' (the file has \(entries.count) tensors)")
        }
        return entry
    }

    // MARK: Header

    private static func parseHeader(base: UnsafeRawPointer, fileSize: Int, path: String) throws
        -> (dataStart: Int, entries: [String: TensorInfo], metadata: [String: String]) {
        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(fileSize - 8) else {
            throw FormatError("\(path): header length \(headerLength) exceeds the \(fileSize - 8) bytes after it; the file is truncated or not safetensors")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = fileSize - dataStart
        let json = Data(bytes: base + 8, count: Int(headerLength))
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw FormatError("\(path): header is not valid JSON (\(headerLength) bytes); the file is corrupt or not safetensors")
        }
        guard let object = parsed as? [String: Any] else {
            throw FormatError("\(path): header JSON is not an object; the file is not safetensors")
        }

        var metadata: [String: String] = [:]
        var entries: [String: TensorInfo] = [:]
        for (key, value) in object {
            if key == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw FormatError("\(path): __metadata__ is not an object of strings")
                }
                for (k, v) in map {
                    guard let s = v as? String else {
                        throw FormatError("\(path): __metadata__ value for '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries[key] = try parseEntry(key: key, value: value, dataSize: dataSize, path: path)
        }

        // No two non-empty tensors may share bytes.
        let spans = entries.filter { !$0.value.byteRange.isEmpty }
            .sorted { ($0.value.byteRange.lowerBound, $0.key) < ($1.value.byteRange.lowerBound, $1.key) }
        for i in spans.indices.dropFirst() where spans[i].value.byteRange.lowerBound < spans[i - 1].value.byteRange.upperBound {
            throw FormatError("\(path): tensors '\(spans[i - 1].key)' \(spans[i - 1].value.byteRange) and '\(spans[i].key)' \(spans[i].value.byteRange) overlap; the file is corrupt")
        }
        return (dataStart, entries, metadata)
    }

    private static func parseEntry(key: String, value: Any, dataSize: Int, path: String) throws -> TensorInfo {
        guard let fields = value as? [String: Any] else {
            throw FormatError("\(path): header entry '\(key)' is not an object with dtype, shape and data_offsets")
        }
        guard let dtypeName = fields["dtype"] as? String else {
            throw FormatError("\(path): tensor '\(key)' has no dtype string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw FormatError("\(path): tensor '\(key)' has unknown dtype '\(dtypeName)'")
        }
        guard let shapeValues = fields["shape"] as? [Any], let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
            throw FormatError("\(path): tensor '\(key)' shape is not a list of non-negative integers")
        }
        guard let offsetValues = fields["data_offsets"] as? [Any], let offsets = integers(offsetValues), offsets.count == 2 else {
            throw FormatError("\(path): tensor '\(key)' data_offsets is not a pair of integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw FormatError("\(path): tensor '\(key)' data_offsets [\(begin), \(end)] lie outside the \(dataSize)-byte data region; the file is truncated or corrupt")
        }
        var bytes = dtype.byteSize
        for d in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow else { throw FormatError("\(path): tensor '\(key)' shape \(shape) is too large") }
            bytes = product
        }
        guard end - begin == bytes else {
            throw FormatError("\(path): tensor '\(key)' spans \(end - begin) bytes but \(dtypeName) \(shape) needs \(bytes)")
        }
        return TensorInfo(dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// JSON numbers that are exact integers, or nil.
    private static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            if let n = v as? NSNumber {
                let d = n.doubleValue
                guard d == d.rounded(), abs(d) < 9.0e15 else { return nil }
                out.append(Int(n.int64Value))
            } else if let i = v as? Int {
                out.append(i)
            } else {
                return nil
            }
        }
        return out
    }
}
