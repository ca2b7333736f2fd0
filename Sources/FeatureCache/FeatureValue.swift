import Formats
import Foundation
import Hashing

/// Element type of stored feature vectors: f16 (default, half the bytes, cosine error ≈1e-3) or
/// f32 (exact; 512-d and up spill into LMDB overflow pages, about 2× the space).
public enum FeatureDType: UInt8, CaseIterable, CustomStringConvertible {
    case f16 = 1, f32 = 2
    public var bytes: Int { self == .f16 ? 2 : 4 }
    public var description: String { self == .f16 ? "f16" : "f32" }
    public init?(name: String) {
        guard let d = FeatureDType.allCases.first(where: { $0.description == name }) else { return nil }
        self = d
    }
}

/// The `feat` value: a 16-byte little-endian header, then `dim` elements little-endian.
///
///     0  u8[2] magic "CF"       6  u16 flags (bit 0: vector was L2-normalised before storing)
///     2  u8    value version 1  8  f32 L2 norm of the f32 vector as given to the writer
///     3  u8    dtype (1 f16, 2 f32)
///     4  u16   dim              12 u32 CRC-32C over bytes 0..<12 followed by the payload
///
/// LMDB hands out values with 2-byte alignment only, so every read below is `loadUnaligned`.
enum FeatureValue {
    static let headerSize = 16
    static let magic0: UInt8 = 0x43, magic1: UInt8 = 0x46  // "CF"
    static let flagNormalized: UInt16 = 1

    static func size(dim: Int, dtype: FeatureDType) -> Int { headerSize + dim * dtype.bytes }

    /// Encodes `x` ([dim]) into `out` (`size(dim:dtype:)` bytes). Returns false when an element
    /// is not finite or does not fit in f16 (|x| > 65504).
    static func encode(_ x: UnsafePointer<Float>, dim: Int, dtype: FeatureDType, normalized: Bool,
                       into out: UnsafeMutableRawPointer) -> Bool {
        var sumSquares = 0.0
        let payload = out + headerSize
        switch dtype {
        case .f16:
            var finite = true
            for i in 0..<dim {
                let h = HalfPrecision.f16Bits(x[i])
                finite = finite && (h & 0x7c00) != 0x7c00  // exponent all ones: inf or NaN
                payload.storeBytes(of: h.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                sumSquares += Double(x[i]) * Double(x[i])
            }
            guard finite else { return false }
        case .f32:
            for i in 0..<dim {
                guard x[i].isFinite else { return false }
                payload.storeBytes(of: x[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                sumSquares += Double(x[i]) * Double(x[i])
            }
        }
        out.storeBytes(of: magic0, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: magic1, toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: StoreSchema.valueVersion, toByteOffset: 2, as: UInt8.self)
        out.storeBytes(of: dtype.rawValue, toByteOffset: 3, as: UInt8.self)
        out.storeBytes(of: UInt16(dim).littleEndian, toByteOffset: 4, as: UInt16.self)
        out.storeBytes(of: (normalized ? flagNormalized : 0).littleEndian, toByteOffset: 6, as: UInt16.self)
        out.storeBytes(of: Float(sumSquares.squareRoot()).bitPattern.littleEndian, toByteOffset: 8, as: UInt32.self)
        let crc = checksum(UnsafeRawPointer(out), payloadBytes: dim * dtype.bytes)
        out.storeBytes(of: crc.littleEndian, toByteOffset: 12, as: UInt32.self)
        return true
    }

    /// CRC-32C over header bytes 0..<12 and the payload (the CRC field itself excluded).
    static func checksum(_ value: UnsafeRawPointer, payloadBytes: Int) -> UInt32 {
        let head = CRC32C.checksum(value, count: 12)
        return CRC32C.checksum(value + headerSize, count: payloadBytes, continuing: head)
    }

    /// The parsed header of a stored value.
    struct Header {
        let dtype: FeatureDType
        let dim: Int
        let flags: UInt16
        let norm: Float
        let crc: UInt32
    }

    /// Why a stored value is unusable; nil when the value is well formed and its CRC matches.
    static func problem(_ v: UnsafeRawBufferPointer, checkCRC: Bool = true) -> String? {
        guard v.count >= headerSize else { return "value of \(v.count) bytes is shorter than the 16-byte header" }
        guard v[0] == magic0, v[1] == magic1 else { return "bad magic" }
        guard v[2] == StoreSchema.valueVersion else { return "value version \(v[2]), expected \(StoreSchema.valueVersion)" }
        guard let h = header(v) else { return "unknown dtype \(v[3])" }
        guard v.count == size(dim: h.dim, dtype: h.dtype) else {
            return "value of \(v.count) bytes does not match dim \(h.dim) \(h.dtype)"
        }
        if checkCRC, checksum(v.baseAddress!, payloadBytes: h.dim * h.dtype.bytes) != h.crc { return "checksum mismatch" }
        return nil
    }

    /// The header fields (no validation beyond the dtype byte).
    static func header(_ v: UnsafeRawBufferPointer) -> Header? {
        guard v.count >= headerSize, let dtype = FeatureDType(rawValue: v[3]) else { return nil }
        return Header(dtype: dtype,
                      dim: Int(UInt16(littleEndian: v.loadUnaligned(fromByteOffset: 4, as: UInt16.self))),
                      flags: UInt16(littleEndian: v.loadUnaligned(fromByteOffset: 6, as: UInt16.self)),
                      norm: Float(bitPattern: UInt32(littleEndian: v.loadUnaligned(fromByteOffset: 8, as: UInt32.self))),
                      crc: UInt32(littleEndian: v.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
    }

    /// Decodes the payload into `out` ([dim] Float32), optionally L2-normalised (by the norm of
    /// the decoded values, so the result has unit norm exactly up to f32 rounding).
    static func decode(_ v: UnsafeRawBufferPointer, dim: Int, dtype: FeatureDType, normalize: Bool,
                       into out: UnsafeMutablePointer<Float>) {
        precondition(v.count >= headerSize + dim * dtype.bytes, "feature value shorter than its header says")
        let payload = v.baseAddress! + headerSize
        // Wrapping offsets (`&*`): the precondition bounds them, and checked ones keep this hot
        // loop from vectorising (store rescans measured 30% slower).
        switch dtype {
        case .f16:
            HalfPrecision.decodeF16(payload, into: out, count: dim)
        case .f32:
            for i in 0..<dim {
                out[i] = Float(bitPattern: UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self)))
            }
        }
        if normalize {
            var s: Float = 0
            for i in 0..<dim { s += out[i] * out[i] }
            if s > 0 {
                let inv = 1 / s.squareRoot()
                for i in 0..<dim { out[i] *= inv }
            }
        }
    }
}
