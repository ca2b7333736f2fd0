import CZlib

/// Whole-buffer gzip/zlib decompression with zlib (`inflateInit2` windowBits 15+32 detects the header).
/// Used by `BPETokenizer` to read `bpe_simple_vocab_16e6.txt.gz`.
enum GzipReader {
    /// Decompresses `data`; `path` only names the file in errors.
    static func decompress(_ data: [UInt8], path: String) throws -> [UInt8] {
        var stream = z_stream()
        var status = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw TokenizerError.unreadableFile(path: path, reason: "zlib inflateInit2 failed (\(status))")
        }
        defer { inflateEnd(&stream) }

        var output = [UInt8]()
        output.reserveCapacity(data.count * 4)
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        try data.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_STREAM_END { return }
                if status == Z_BUF_ERROR || (status == Z_OK && produced == 0 && stream.avail_in == 0) {
                    throw TokenizerError.corruptFile(path: path, reason: "gzip stream is truncated")
                }
                guard status == Z_OK else {
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    throw TokenizerError.corruptFile(path: path, reason: "not valid gzip data (\(message))")
                }
            }
        }
        return output
    }
}
