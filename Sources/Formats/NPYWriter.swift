import Foundation

/// Writes NumPy `.npy` files (format version 1.0) byte-identical to `numpy.save`: magic
/// `\x93NUMPY`, version 1.0, u16 header length, the header dict (keys sorted, spare spaces for
/// growing the first axis, padded with spaces to a multiple of 64 bytes, ending in `\n`), then
/// the C-order little-endian data. Used by `cocoon query export --format npy`.
public enum NPYWriter {
    /// The complete header (magic through the final `\n`) for `descr` ("<f4", "<i8") and `shape`.
    public static func header(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // numpy leaves room to rewrite the first axis in place with up to 21 digits.
        if let first = shape.first { dict += String(repeating: " ", count: max(0, 21 - String(first).count)) }
        let prefix = 10  // magic (6) + version (2) + header length (2)
        let padding = 64 - (prefix + dict.utf8.count + 1) % 64
        let text = Array((dict + String(repeating: " ", count: padding) + "\n").utf8)
        let length = UInt16(text.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xff), UInt8(length >> 8)] + text
    }

    /// Writes a Float32 array of `shape` ('<f4').
    public static func write(_ values: UnsafeBufferPointer<Float>, shape: [Int], to path: String) throws {
        try write(UnsafeRawBufferPointer(values), count: values.count, descr: "<f4", shape: shape, to: path)
    }

    /// Writes an Int64 array of `shape` ('<i8').
    public static func write(_ values: [Int64], shape: [Int], to path: String) throws {
        try values.withUnsafeBytes { try write($0, count: values.count, descr: "<i8", shape: shape, to: path) }
    }

    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try values.withUnsafeBufferPointer { try write($0, shape: shape, to: path) }
    }

    /// Data bytes are written as they are in memory: the host is little-endian (x86-64, arm64).
    private static func write(_ data: UnsafeRawBufferPointer, count: Int, descr: String, shape: [Int], to path: String) throws {
        guard shape.reduce(1, *) == count else {
            throw FormatError("\(path): shape \(shape) needs \(shape.reduce(1, *)) values, got \(count)")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FormatError("\(path): cannot create (\(String(cString: strerror(errno)))); check the directory") }
        defer { close(fd) }
        let head = header(descr: descr, shape: shape)
        try head.withUnsafeBytes { try writeAll(fd, $0, path) }
        try writeAll(fd, data, path)
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw FormatError("\(path): write failed (\(String(cString: strerror(errno)))); disk full?") }
            done += n
        }
    }
}
