import Foundation
import XCTest
@testable import Imaging

/// Decoding parity with Pillow's `Image.open(f).convert("RGB")` and bad-input handling.
final class DecodeTests: XCTestCase {
    func testEveryFixtureDecodesExactlyAsPillow() throws {
        let fixtures = try ImagingFixtures.load()
        XCTAssertEqual(fixtures.images.count, 23)
        for entry in fixtures.images {
            let image = try ImagingFixtures.decode(entry.file)
            XCTAssertEqual(image.width, entry.width, entry.file)
            XCTAssertEqual(image.height, entry.height, entry.file)
            if let raw = entry.decoded_raw {
                let expected = [UInt8](try Data(contentsOf: ImagingFixtures.url(raw)))
                let mismatches = zip(image.pixels, expected).filter { $0 != $1 }.count
                XCTAssertEqual(mismatches, 0, "\(entry.file) (\(entry.covers)): \(mismatches) bytes differ from Pillow")
            }
            XCTAssertEqual(sha256Hex(image.pixels), entry.decoded_sha256, "\(entry.file) (\(entry.covers))")
        }
    }

    func testFormatComesFromMagicBytesNotExtension() throws {
        let data = try Data(contentsOf: ImagingFixtures.url("rgb_37x23.png"))
        let url = temporaryFile("really_a_png.jpg", data)
        let image = try ImageDecoder.decode(file: url)
        XCTAssertEqual(image, try ImagingFixtures.decode("rgb_37x23.png"))
    }

    func testBadInputsThrowOneLineErrorsNamingTheFileAndDecodingContinues() throws {
        let jpeg = try Data(contentsOf: ImagingFixtures.url("baseline_q90_300x199.jpg"))
        let progressive = try Data(contentsOf: ImagingFixtures.url("progressive_64x250.jpg"))
        let png = try Data(contentsOf: ImagingFixtures.url("rgb_37x23.png"))
        var badCRC = png
        badCRC[29] ^= 0xFF                                    // first byte of the IHDR CRC
        var badIDAT = png
        badIDAT[png.count - 20] ^= 0x55                       // inside the IDAT payload/CRC
        let good = try ImagingFixtures.decode("rgb_5x5.png")

        let cases: [(name: String, data: Data, expect: (ImageDecodeError.Reason) -> Bool, words: String)] = [
            ("truncated.jpg", jpeg.prefix(jpeg.count - 100), { if case .truncated = $0 { true } else { false } },
             "truncated JPEG (premature end of data); re-export or remove the file"),
            ("no_eoi.jpg", jpeg.prefix(jpeg.count - 2), { if case .truncated = $0 { true } else { false } }, "truncated JPEG"),
            ("truncated_progressive.jpg", progressive.prefix(progressive.count / 2),
             { if case .truncated = $0 { true } else { false } }, "truncated JPEG"),
            ("header_only.jpg", jpeg.prefix(3), { if case .truncated = $0 { true } else { false } }, "truncated JPEG"),
            ("empty.jpg", Data(), { $0 == .empty }, "empty file"),
            ("notes.jpg", Data("this is not an image\n".utf8), { if case .unrecognisedFormat = $0 { true } else { false } },
             "not a JPEG or PNG file (starts with 74 68 69 73"),
            ("bad_crc.png", badCRC, { if case .corrupt = $0 { true } else { false } }, "corrupt PNG"),
            ("bad_idat.png", badIDAT, { if case .corrupt = $0 { true } else { false } }, "corrupt PNG"),
            ("truncated.png", png.prefix(png.count / 2), { if case .truncated = $0 { true } else { false } }, "truncated PNG"),
            ("bomb.png", pngWithSize(png, width: 100_000, height: 100_000), { if case .tooLarge = $0 { true } else { false } },
             "image too large (100000x100000 = 10000000000 pixels, limit 178956970)"),
            ("bomb.jpg", jpegWithSize(jpeg, width: 60_000, height: 50_000), { if case .tooLarge = $0 { true } else { false } },
             "image too large (60000x50000"),
        ]
        for bad in cases {
            let url = temporaryFile(bad.name, bad.data)
            do {
                _ = try ImageDecoder.decode(file: url)
                XCTFail("\(bad.name) decoded without error")
            } catch let error as ImageDecodeError {
                XCTAssertTrue(bad.expect(error.reason), "\(bad.name): unexpected reason \(error.reason)")
                XCTAssertTrue(error.description.hasPrefix(url.path + ": "), error.description)
                XCTAssertTrue(error.description.contains(bad.words), error.description)
                XCTAssertFalse(error.description.contains("\n"), error.description)
            }
            XCTAssertEqual(try ImagingFixtures.decode("rgb_5x5.png"), good, "decoding after \(bad.name)")
        }
    }

    func testMissingFileIsUnreadable() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-imaging-missing-\(UUID()).png")
        XCTAssertThrowsError(try ImageDecoder.decode(file: url)) { error in
            guard let error = error as? ImageDecodeError, case .unreadable = error.reason else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(error.description.hasPrefix(url.path + ": cannot read the file"), error.description)
        }
    }

    func testPixelLimitIsConfigurable() throws {
        let data = try Data(contentsOf: ImagingFixtures.url("baseline_444_37x23.jpg"))
        XCTAssertNoThrow(try ImageDecoder.decode(data: data, maxPixels: 37 * 23))
        XCTAssertThrowsError(try ImageDecoder.decode(data: data, name: "small.jpg", maxPixels: 37 * 23 - 1)) { error in
            XCTAssertEqual("\(error)", "small.jpg: image too large (37x23 = 851 pixels, limit 850); downscale the file or raise the pixel limit")
        }
        let png = try Data(contentsOf: ImagingFixtures.url("rgb_37x23.png"))
        XCTAssertThrowsError(try ImageDecoder.decode(data: png, maxPixels: 100))
    }

    // MARK: helpers

    private func temporaryFile(_ name: String, _ data: Data) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-imaging-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try! data.write(to: url)
        return url
    }

    /// `png` with its IHDR width/height replaced (and the IHDR CRC recomputed, so only the size is wrong).
    private func pngWithSize(_ png: Data, width: UInt32, height: UInt32) -> Data {
        var bytes = [UInt8](png)
        for (i, v) in [width, height].enumerated() {
            for b in 0..<4 { bytes[16 + 4 * i + b] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(b))) }
        }
        let crc = crc32(Array(bytes[12..<29]))                 // "IHDR" + 13 data bytes
        for b in 0..<4 { bytes[29 + b] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(b))) }
        return Data(bytes)
    }

    /// `jpeg` with its SOF0 frame size replaced.
    private func jpegWithSize(_ jpeg: Data, width: UInt16, height: UInt16) -> Data {
        var bytes = [UInt8](jpeg)
        var i = 2
        while i + 9 < bytes.count {
            precondition(bytes[i] == 0xFF)
            let marker = bytes[i + 1], length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if marker == 0xC0 {
                bytes[i + 5] = UInt8(height >> 8); bytes[i + 6] = UInt8(height & 0xFF)
                bytes[i + 7] = UInt8(width >> 8); bytes[i + 8] = UInt8(width & 0xFF)
                return Data(bytes)
            }
            i += 2 + length
        }
        preconditionFailure("no SOF0 marker")
    }

    /// CRC-32 (PNG / zlib polynomial 0xEDB88320), bitwise.
    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
