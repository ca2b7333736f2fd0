import Foundation
import Kernels
import XCTest
@testable import Formats

/// safetensors reader/writer and F16/BF16 conversion, against files and roundings made by the
/// reference (`safetensors` + torch, Tests/Fixtures/loader/reference_tensors.safetensors) and known bits.
final class SafeTensorsTests: XCTestCase {
    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/loader")

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    // MARK: Half precision

    func testF16DecodeMatchesSwiftFloat16ForAllBitPatterns() {
        for bits in 0...UInt16.max {
            let ours = HalfPrecision.float(f16Bits: bits)
            let swift = Float(Float16(bitPattern: bits))
            if swift.isNaN { XCTAssertTrue(ours.isNaN, "bits \(bits)"); continue }
            XCTAssertEqual(ours.bitPattern, swift.bitPattern, "bits \(String(bits, radix: 16))")
            XCTAssertEqual(HalfPrecision.f16Bits(ours), bits, "round trip of \(String(bits, radix: 16))")
        }
    }

    func testF16RoundsToNearestEvenOnKnownValues() {
        let cases: [(Float, UInt16)] = [
            (1 + 0x1p-11, 0x3c00),            // halfway 1 .. 1+2^-10 -> even (1)
            (1 + 3 * 0x1p-11, 0x3c02),        // halfway 1+2^-10 .. 1+2^-9 -> even (1+2^-9)
            (1 + 0x1p-11 + 0x1p-20, 0x3c01),  // just above halfway -> up
            (65504, 0x7bff), (65519, 0x7bff), // largest finite; below the overflow midpoint
            (65520, 0x7c00), (1e6, 0x7c00), (-1e6, 0xfc00),
            (0x1p-14, 0x0400),                // smallest normal
            (0x1p-24, 0x0001),                // smallest subnormal
            (0x1p-25, 0x0000),                // halfway 0 .. 2^-24 -> even (0)
            (3 * 0x1p-25, 0x0002),            // halfway 2^-24 .. 2^-23 -> even (2^-23)
            (-0.0, 0x8000), (-2, 0xc000), (.infinity, 0x7c00),
        ]
        for (value, bits) in cases {
            XCTAssertEqual(HalfPrecision.f16Bits(value), bits, "\(value)")
        }
        XCTAssertEqual(HalfPrecision.f16Bits(.nan) & 0x7e00, 0x7e00)
        // Swift's own Float16(Float) rounds to nearest even too: agree on many random values.
        // Magnitudes 2^-30 ..< 2^21 cover zero-flush, subnormals, normals and overflow.
        var state: UInt32 = 12345
        for _ in 0..<100_000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            let signAndExponent = (state & 0x8000_0000) | ((97 + (state >> 8) % 51) << 23)
            state = state &* 1_664_525 &+ 1_013_904_223
            let value = Float(bitPattern: signAndExponent | (state >> 9))
            XCTAssertEqual(HalfPrecision.f16Bits(value), Float16(value).bitPattern, "\(value)")
        }
    }

    func testBF16RoundsToNearestEvenOnKnownValues() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3f80), (1 + 0x1p-8, 0x3f80), (1 + 3 * 0x1p-8, 0x3f82), (1 + 0x1p-8 + 0x1p-20, 0x3f81),
            (-2, 0xc000), (Float.greatestFiniteMagnitude, 0x7f80), (-.infinity, 0xff80), (0x1p-130, 0x0008),
        ]
        for (value, bits) in cases {
            XCTAssertEqual(HalfPrecision.bf16Bits(value), bits, "\(value)")
            XCTAssertEqual(HalfPrecision.float(bf16Bits: HalfPrecision.bf16Bits(value)), Float(bitPattern: UInt32(bits) << 16))
        }
        let nan = HalfPrecision.bf16Bits(Float(bitPattern: 0x7f80_0001))  // signalling NaN stays NaN
        XCTAssertTrue(HalfPrecision.float(bf16Bits: nan).isNaN)
    }

    // MARK: Reading the reference's file

    func testReadsFileWrittenBySafetensorsLibrary() throws {
        let file = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("reference_tensors.safetensors"))
        let expected = try referenceJSON()
        XCTAssertEqual(file.metadata, expected["metadata"] as? [String: String])
        XCTAssertEqual(Set(file.names), ["inputs", "inputs_as_f16", "inputs_as_bf16", "ids", "ids32", "scalar", "empty", "matrix_f16"])
        XCTAssertEqual(file.info("inputs_as_bf16")?.dtype, .bf16)
        XCTAssertEqual(file.info("scalar")?.shape, [])
        XCTAssertNil(file.info("nope"))

        let inputs = try file.tensor("inputs")
        let reference = (expected["inputs_bits"] as! [Any]).map { UInt32(bitPattern: Int32(($0 as! NSNumber).int64Value)) }
        XCTAssertEqual(inputs.toArray().map(\.bitPattern), reference)

        // torch's F16/BF16 roundings of the same values equal ours bit for bit.
        let asF16 = try file.tensor("inputs_as_f16"), asBF16 = try file.tensor("inputs_as_bf16")
        for i in 0..<inputs.count {
            XCTAssertEqual(HalfPrecision.f16Bits(inputs[i]), HalfPrecision.f16Bits(asF16[i]), "F16 of \(inputs[i])")
            XCTAssertEqual(HalfPrecision.bf16Bits(inputs[i]), HalfPrecision.bf16Bits(asBF16[i]), "BF16 of \(inputs[i])")
        }
        XCTAssertEqual(try file.tensor("matrix_f16", expectedShape: [2, 3]).toArray(), [0, 0.25, 0.5, 0.75, 1, 1.25])
        XCTAssertEqual(try file.tensor("scalar").toArray(), [2.5])
        XCTAssertEqual(try file.tensor("empty").shape, [0, 3])
        XCTAssertEqual(try file.int64s("ids"), [49406, 320, 49407, 5, -1, 1 << 40])
        XCTAssertEqual(try file.int32s("ids32"), [7, -8, Int32.max])
        XCTAssertEqual(try file.int64s("ids32"), [7, -8, Int64(Int32.max)])
        XCTAssertThrowsError(try file.int32s("ids")) { assertMessage($0, contains: ["'ids'", "1099511627776", "Int32"]) }
        XCTAssertThrowsError(try file.tensor("ids")) { assertMessage($0, contains: ["'ids'", "I64"]) }
    }

    // MARK: Writer

    func testWriterRoundTripIsExactAndAligned() throws {
        var writer = SafeTensorsWriter()
        writer.metadata = ["format": "pt", "quote\"and\\slash": "line\nbreak \u{1}"]
        let f32: [Float] = [1, -2.5, .infinity, -0.0, 0x1p-149, 3.4e38, 0.1, 1 / 3]
        let representableF16: [Float] = [1, -2.5, 65504, 0x1p-24, -0x1p-14, 0.099975586, 1000.5, 0]
        let representableBF16: [Float] = [1, -2.5, Float(bitPattern: 0x7f7f_0000), 0x1p-133, 0.099609375, 1.0078125]
        try writer.add("c.f32", Tensor(shape: [2, 4], values: f32))
        try writer.add("b.f16", shape: [8], values: representableF16, storedAs: .f16)
        try writer.add("a.bf16", shape: [2, 3], values: representableBF16, storedAs: .bf16)
        try writer.add("rounded.f16", shape: [2], values: [1 + 0x1p-11, 1 + 3 * 0x1p-11], storedAs: .f16)
        try writer.add("ids", shape: [3], int64s: [49406, -1, 1 << 50])
        try writer.add("ids32", shape: [1, 2], int32s: [Int32.min, 5])
        try writer.add("scalar", shape: [], values: [4])
        try writer.add("odd", shape: [3], values: [1, 2, 3], storedAs: .f16)
        let url = scratch.appendingPathComponent("round.safetensors")
        try writer.write(to: url)

        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(file.metadata, writer.metadata)
        XCTAssertEqual(try file.tensor("c.f32", expectedShape: [2, 4]).toArray().map(\.bitPattern), f32.map(\.bitPattern))
        XCTAssertEqual(try file.tensor("b.f16").toArray(), representableF16)
        XCTAssertEqual(try file.tensor("a.bf16", expectedShape: [2, 3]).toArray(), representableBF16)
        XCTAssertEqual(try file.tensor("rounded.f16").toArray(), [1, 1 + 0x1p-9])
        XCTAssertEqual(try file.int64s("ids"), [49406, -1, 1 << 50])
        XCTAssertEqual(try file.int32s("ids32"), [Int32.min, 5])
        XCTAssertEqual(try file.tensor("scalar").toArray(), [4])
        XCTAssertEqual(file.info("b.f16")?.dtype, .f16)
        XCTAssertEqual(file.names.first, "ids")   // 8-byte elements come first

        // Header padded to 8; every tensor starts at a multiple of its element size.
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual((8 + Int(headerLength)) % 8, 0)
        for name in file.names {
            let info = file.info(name)!
            XCTAssertEqual(info.byteRange.lowerBound % info.dtype.byteSize, 0, name)
        }
        // Deterministic bytes: writing again gives the same file.
        XCTAssertEqual(writer.serialized(), Array(bytes))
        // No temp files left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), ["round.safetensors"])
    }

    func testWriterKnownBytes() {
        var writer = SafeTensorsWriter()
        try! writer.add("a", shape: [2], values: [1, 2])
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#   // 54 bytes, padded to 56
        var expected: [UInt8] = [56, 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8) + [0x20, 0x20]
        expected += [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]
        XCTAssertEqual(writer.serialized(), expected)
    }

    func testWriterRejectsBadInput() {
        var writer = SafeTensorsWriter()
        XCTAssertNoThrow(try writer.add("x", shape: [2], values: [1, 2]))
        XCTAssertThrowsError(try writer.add("x", shape: [2], values: [1, 2])) { assertMessage($0, contains: ["'x'", "twice"]) }
        XCTAssertThrowsError(try writer.add("y", shape: [3], values: [1, 2])) { assertMessage($0, contains: ["'y'", "[3]", "2 values"]) }
        XCTAssertThrowsError(try writer.add("z", shape: [1], values: [1], storedAs: .i64)) { assertMessage($0, contains: ["'z'", "I64"]) }
        XCTAssertNoThrow(try writer.add("z", shape: [1], values: [1], storedAs: .bf16))   // the failed add reserved nothing
        XCTAssertThrowsError(try writer.add("__metadata__", shape: [1], values: [1]))
        XCTAssertThrowsError(try writer.write(to: URL(fileURLWithPath: "/nonexistent-dir/x.safetensors"))) {
            assertMessage($0, contains: ["/nonexistent-dir/x.safetensors", "cannot create"])
        }
    }

    // MARK: Malformed files

    func testMalformedFilesGiveOneLineErrorsNamingFileAndKey() throws {
        let good = #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#
        let sixteen = [UInt8](repeating: 0, count: 16)

        try expectOpenError(raw: [1, 2, 3], contains: ["truncated", "3 bytes"])
        try expectOpenError(raw: [0xff, 0, 0, 0, 0, 0, 0, 0, 0x7b], contains: ["header length 255", "exceeds the 1 bytes"])
        try expectOpenError(header: #"{"w": {"dtype": "F32", "#, data: sixteen, contains: ["not valid JSON"])
        try expectOpenError(header: "[1, 2]", data: [], contains: ["not an object"])
        try expectOpenError(header: #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 12),
                            contains: ["'w'", "[0, 16]", "12-byte data region"])
        try expectOpenError(header: #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,4]}}"#, data: sixteen,
                            contains: ["'w'", "[8, 4]"])
        try expectOpenError(header: #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
                            data: sixteen, contains: ["'a'", "'b'", "overlap"])
        try expectOpenError(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, data: sixteen,
                            contains: ["'w'", "16 bytes", "F32 [3] needs 12"])
        try expectOpenError(header: #"{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,16]}}"#, data: sixteen,
                            contains: ["'w'", "unknown dtype 'Q4'"])
        try expectOpenError(header: #"{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,16]}}"#, data: sixteen,
                            contains: ["'w'", "shape"])
        try expectOpenError(header: #"{"__metadata__":{"k":1}}"#, data: [], contains: ["__metadata__", "'k'"])

        let url = try write(header: good, data: sixteen, name: "ok.safetensors")
        let file = try SafeTensorsFile(url: url)
        XCTAssertThrowsError(try file.tensor("w", expectedShape: [4])) {
            assertMessage($0, contains: [url.path, "'w'", "shape [2, 2]", "expected [4]"])
        }
        XCTAssertThrowsError(try file.tensor("missing")) { assertMessage($0, contains: [url.path, "'missing'"]) }
        XCTAssertThrowsError(try SafeTensorsFile(url: scratch)) { assertMessage($0, contains: [scratch.path, "not a regular file"]) }
        XCTAssertThrowsError(try SafeTensorsFile(url: scratch.appendingPathComponent("absent.safetensors"))) {
            assertMessage($0, contains: ["absent.safetensors", "cannot open"])
        }
    }

    // MARK: Helpers

    private func referenceJSON() throws -> [String: Any] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("expected.json"))
        let all = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return all["reference_tensors"] as! [String: Any]
    }

    private var fileCounter = 0

    private func write(header: String, data: [UInt8], name: String? = nil) throws -> URL {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
        bytes += json + data
        return try write(raw: bytes, name: name)
    }

    private func write(raw: [UInt8], name: String? = nil) throws -> URL {
        fileCounter += 1
        let url = scratch.appendingPathComponent(name ?? "bad\(fileCounter).safetensors")
        try Data(raw).write(to: url)
        return url
    }

    private func expectOpenError(header: String, data: [UInt8], contains parts: [String], line: UInt = #line) throws {
        let url = try write(header: header, data: data)
        XCTAssertThrowsError(try SafeTensorsFile(url: url), line: line) { assertMessage($0, contains: [url.path] + parts, line: line) }
    }

    private func expectOpenError(raw: [UInt8], contains parts: [String], line: UInt = #line) throws {
        let url = try write(raw: raw)
        XCTAssertThrowsError(try SafeTensorsFile(url: url), line: line) { assertMessage($0, contains: [url.path] + parts, line: line) }
    }
}

/// The error is a `FormatError` whose single-line message contains every part.
private func assertMessage(_ error: Error, contains parts: [String], line: UInt = #line) {
    guard let e = error as? FormatError else { return XCTFail("unexpected error \(error)", line: line) }
    XCTAssertFalse(e.message.contains("\n"), "multi-line message: \(e.message)", line: line)
    for part in parts { XCTAssertTrue(e.message.contains(part), "'\(e.message)' lacks '\(part)'", line: line) }
}
